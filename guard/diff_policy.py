"""The policy area of ``guard diff``: what the policy pack finds on each side, and what it waives.

A plan document carries the pack's findings (``policies``: policy, severity, enforcement_level,
urn, message) and the findings a reviewed exception waived (``policy_exceptions_applied``:
policy, urn, message, resource, reason, expires). Both are keyed by policy and resource (URN);
one resource may have several findings of a policy, matched by message first. A finding whose
message alone changed (it often holds numbers: "uses 2290 WCU") is one changed finding.

Effects: a new finding weakens (an advisory one too: the reason says it does not block the
deploy); a resolved one strengthens; a finding newly waived weakens (with the waiver's reason and
expiry); a waiver gone with its finding is neutral, and one gone while the finding is back
weakens (one line, the waiver's, naming the finding's level). A finding that turns mandatory
weakens (the head has a blocking finding), and so does one that turns advisory (it no longer
blocks deploys: when unsure, weakens). A waiver extended weakens, shortened strengthens.

Waivers close to expiry (:data:`EXPIRY_NOTICE_DAYS`) get a neutral notice, judged against a
``today`` the caller passes: the plan documents do not say on which day their waivers were
judged, and ``date.today()`` would make the diff change with the calendar. The engine builds the
differ with :func:`make_differ` for the day ``guard diff --today`` names (default: today);
:data:`DIFFER` skips the notice.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import date
from typing import Any

from guard.diff_model import AreaDiffer, Change, Effect, Kind, PlanDocument, compact

#: A waiver this close to its expiry gets a notice: the day after, its finding is back (and a
#: mandatory one blocks deploys).
EXPIRY_NOTICE_DAYS = 30

Key = tuple[str, str]
Record = Mapping[str, Any]


def where(urn: str) -> str:
    """The resource a finding is on, by name, or "stack" for the stack as a whole."""
    if not urn or urn.endswith("pulumi:pulumi:Stack") or "::pulumi:pulumi:Stack::" in urn:
        return "stack"
    return urn.rsplit("::", 1)[-1]


def gist(message: Any) -> str:
    """A finding's message without its remediation ("Fix: ..."), cut to fit a reason."""
    return compact(str(message).split(" Fix: ", 1)[0], 160)


def _level(finding: Record) -> str:
    level = str(finding.get("enforcement_level", "mandatory"))
    return f"{level} ({finding['severity']})" if finding.get("severity") else level


def _expires(waiver: Record) -> date | None:
    try:
        return date.fromisoformat(str(waiver.get("expires")))
    except ValueError:
        return None


def _index(doc: PlanDocument) -> tuple[dict[Key, list[Record]], dict[Key, Record]]:
    """Findings and waivers by (policy, urn)."""
    found: dict[Key, list[Record]] = defaultdict(list)
    for finding in doc.policies:
        found[(str(finding.get("policy")), str(finding.get("urn") or ""))].append(finding)
    waived = {(str(w.get("policy")), str(w.get("urn") or "")): w for w in doc.exceptions_applied}
    return found, waived


def _pairs(was: list[Record], now: list[Record]) -> list[tuple[Record | None, Record | None]]:
    """The findings of one policy on one resource, matched: the same message first, then the
    remaining ones in message order (a changed message), then the new and the resolved."""
    now_left = list(now)
    unmatched: list[Record] = []
    paired: list[tuple[Record | None, Record | None]] = []
    for finding in was:
        same = next((n for n in now_left if n.get("message") == finding.get("message")), None)
        if same is None:
            unmatched.append(finding)
        else:
            now_left.remove(same)
            paired.append((finding, same))
    old = sorted(unmatched, key=lambda f: str(f.get("message")))
    new = sorted(now_left, key=lambda f: str(f.get("message")))
    paired += zip(old, new, strict=False)
    return paired + [(None, n) for n in new[len(old) :]] + [(o, None) for o in old[len(new) :]]


def _finding_change(policy: str, path: str, old: Record | None, new: Record | None) -> Change:
    """One finding new, resolved, or changed (its message, its enforcement level)."""
    place = where(str((new or old or {}).get("urn") or ""))
    kind: Kind
    effect: Effect
    if old is None and new is not None:
        kind, effect = "added", "weakens"
        blocks = "" if new.get("enforcement_level") == "mandatory" else " (does not block deploys)"
        reason = f"new {_level(new)} finding on {place}{blocks}: {gist(new.get('message'))}"
    elif new is None and old is not None:
        kind, effect = "removed", "strengthens"
        reason = f"finding on {place} resolved: {gist(old.get('message'))}"
    else:
        assert old is not None and new is not None
        kind, effect, reason = "changed", "neutral", f"finding on {place} now reads: "
        was, now = old.get("enforcement_level"), new.get("enforcement_level")
        if was != now:
            effect = "weakens"
            change = "blocks deploys" if now == "mandatory" else "no longer blocks deploys"
            reason = f"finding on {place} is now {now} ({change}): "
        elif old.get("severity") != new.get("severity"):
            reason = f"finding on {place} is now of {new.get('severity')} severity: "
        reason += gist(new.get("message"))
    return Change(
        "policy", policy, kind, path, old and dict(old), new and dict(new), effect, reason
    )


def _waiver_changes(
    policy: str, place: str, old: Record | None, new: Record | None, back: list[Record]
) -> list[Change]:
    """A waiver applied, gone (``back``: the findings reported instead) or changed."""
    path, of = f"waivers[{place}]", f"waiver of {policy} on {place}"
    if old is None and new is not None:
        reason = (
            f"{policy} on {place} now waived until {new.get('expires')} "
            f"({new.get('reason')}): {gist(new.get('message'))}"
        )
        return [Change("policy", policy, "added", path, None, dict(new), "weakens", reason)]
    if new is None and old is not None:
        if back:
            levels = ", ".join(sorted({_level(f) for f in back}))
            reason = f"{of} no longer applies: the finding is reported again, {levels}"
            return [Change("policy", policy, "removed", path, dict(old), None, "weakens", reason)]
        reason = f"{of} no longer applies: the finding is gone"
        return [Change("policy", policy, "removed", path, dict(old), None, "neutral", reason)]
    if old is None or new is None or old == new:
        return []
    was, now = _expires(old), _expires(new)
    effect: Effect = "neutral"
    if was != now:
        later = was is None or (now is not None and now > was)
        effect = "weakens" if later else "strengthens"
        reason = f"{of} now expires {new.get('expires')} (was {old.get('expires')})"
    elif old.get("reason") != new.get("reason"):
        reason = f"{of} now gives the reason: {new.get('reason')}"
    else:
        reason = f"{of} now waives: {gist(new.get('message'))}"
    return [Change("policy", policy, "changed", path, dict(old), dict(new), effect, reason)]


def expiry_notice(policy: str, place: str, waiver: Record, today: date) -> Change | None:
    """A neutral notice for a waiver that expires within :data:`EXPIRY_NOTICE_DAYS` of today."""
    expires = _expires(waiver)
    if expires is None or (expires - today).days > EXPIRY_NOTICE_DAYS:
        return None
    days = (expires - today).days
    count = f"{abs(days)} day{'' if abs(days) == 1 else 's'}"
    when = (
        f"expired {expires} ({count} ago)"
        if days < 0
        else f"expires {expires} ({'today' if days == 0 else f'in {count}'})"
    )
    value = waiver.get("expires")
    path = f"waivers[{place}].expires"
    reason = f"waiver of {policy} on {place} {when}"
    return Change("policy", policy, "changed", path, value, value, "neutral", reason)


def policy_changes(base: PlanDocument, head: PlanDocument, today: date | None) -> list[Change]:
    """Every finding and waiver change from ``base`` to ``head``; with ``today``, the notices
    of waivers about to expire too."""
    old_found, old_waived = _index(base)
    new_found, new_waived = _index(head)
    keys = set(old_found) | set(new_found) | set(old_waived) | set(new_waived)
    out: list[Change] = []
    for policy, urn in sorted(keys):
        key, place = (policy, urn), where(urn)
        was, now = old_found.get(key, []), new_found.get(key, [])
        old_waiver, new_waiver = old_waived.get(key), new_waived.get(key)
        # A finding that moved into a waiver, or back out of one, is the waiver's line alone.
        if new_waiver is not None and old_waiver is None:
            was = []
        back = now if old_waiver is not None and new_waiver is None else []
        now = [] if back else now
        out += _waiver_changes(policy, place, old_waiver, new_waiver, back)
        for old, new in _pairs(was, now):
            if old != new:
                out.append(_finding_change(policy, f"findings[{place}]", old, new))
        notice = expiry_notice(policy, place, new_waiver, today) if new_waiver and today else None
        out += [notice] if notice else []
    return out


def make_differ(today: date | None) -> AreaDiffer:
    """The policy area's differ, judging waivers' expiry against ``today`` (None: no notices)."""

    def compare(base: PlanDocument, head: PlanDocument) -> list[Change]:
        return policy_changes(base, head, today)

    return AreaDiffer("policy", {}, compare)


#: Without a day to judge expiry against: the engine's default, byte-stable across days.
DIFFER = make_differ(None)
