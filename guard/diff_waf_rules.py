"""The rules of one web ACL in ``guard diff``: added, removed, moved in the evaluation order,
and changed (action, rate limit, managed group version, configuration, the rules it counts and
the paths its exclusions leave unblocked), each with its effect on protection.

Plain functions over AWS's JSON rules (``Name``, ``Priority``, ``Action``, ``Statement``), as
``guard.waf_rule_form.rules_by_web_acl`` reads them from a plan.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from guard.diff_model import Change, Effect, PlanDocument
from guard.waf_catalog import load_catalog
from guard.waf_words import action_of, describe

Rule = Mapping[str, Any]

#: How hard an action stops a matching request; a move down the scale weakens.
STRENGTH = {"allow": -1, "count": 0, "challenge": 1, "captcha": 2, "block": 3, "group actions": 3}
_EXCLUSION = re.compile(r"^(?P<group>.+)-exclusion-\d+$")


def waf_change(
    subject: str, kind: Any, path: str, before: Any, after: Any, effect: Effect, reason: str
) -> Change:
    """A change of the WAF area."""
    return Change("waf", subject, kind, path, before, after, effect, reason)


def _group_of_exclusion(name: str, names: Mapping[str, Rule]) -> str | None:
    """The managed group rule an exclusion rule belongs to (``aws-sqli-exclusion-0``)."""
    match = _EXCLUSION.match(name)
    if match and match["group"] in names and _managed(names[match["group"]]) is not None:
        return match["group"]
    return None


def _managed(rule: Rule) -> Mapping[str, Any] | None:
    found: Mapping[str, Any] | None = rule["Statement"].get("ManagedRuleGroupStatement")
    return found


def _ip_set_rule(rule: Rule) -> bool:
    return "IPSetReferenceStatement" in rule["Statement"]


def rule_changes(
    subject: str, old: Sequence[Rule], new: Sequence[Rule], base: PlanDocument, head: PlanDocument
) -> list[Change]:
    """Rules added, removed, moved and changed between two rule lists of one web ACL."""
    before = {str(r["Name"]): r for r in old}
    after = {str(r["Name"]): r for r in new}
    out: list[Change] = []
    for name in sorted(set(before) | set(after)):
        if name in before and name in after:
            out += _rule_changed(subject, name, before, after)
            continue
        names = after if name in after else before
        if _group_of_exclusion(name, names) is not None or _ip_set_rule(names[name]):
            continue  # the group's rule states and the IP lists say what these do
        out.append(_rule_added_or_removed(subject, name, before.get(name), after.get(name)))
    out += _moves(subject, old, new)
    return out


def _rule_added_or_removed(subject: str, name: str, old: Rule | None, new: Rule | None) -> Change:
    rule = new if new is not None else old
    assert rule is not None
    action, what = action_of(rule), describe(rule["Statement"])
    path = f"rules[{name}]"
    if new is not None:
        if action == "allow":
            effect: Effect = "weakens"
            reason = f"new rule {name} lets {what} through before every later rule"
        elif action == "count":
            effect, reason = "neutral", f"new rule {name} counts {what} (it stops nothing yet)"
        else:
            effect, reason = "strengthens", f"new rule {name}: {what} → {action}"
        return waf_change(subject, "added", path, None, dict(rule), effect, reason)
    if action == "allow":
        effect, reason = "strengthens", f"rule {name} no longer lets {what} through"
    elif action == "count":
        effect, reason = "neutral", f"rule {name} is removed (it only counted {what})"
    else:
        effect, reason = (
            "weakens",
            f"rule {name} is removed: {what} is no longer stopped ({action})",
        )
    return waf_change(subject, "removed", path, dict(rule), None, effect, reason)


def _rule_changed(
    subject: str, name: str, before: Mapping[str, Rule], after: Mapping[str, Rule]
) -> list[Change]:
    old, new = before[name], after[name]
    out = _action_change(subject, name, old, new)
    old_statement, new_statement = old["Statement"], new["Statement"]
    if "RateBasedStatement" in old_statement and "RateBasedStatement" in new_statement:
        out += _rate_changes(
            subject, name, old_statement["RateBasedStatement"], new_statement["RateBasedStatement"]
        )
    elif _managed(old) is not None and _managed(new) is not None:
        out += _managed_changes(subject, name, old, new, before, after)
    elif _group_of_exclusion(name, after) is not None:
        pass  # read with its group's rule states
    elif old_statement != new_statement:
        out.append(
            waf_change(
                subject,
                "changed",
                f"rules[{name}].statement",
                dict(old_statement),
                dict(new_statement),
                "weakens",
                f"rule {name} now matches {describe(new_statement)} "
                f"(was {describe(old_statement)}): review it",
            )
        )
    return out


def _action_change(subject: str, name: str, old: Rule, new: Rule) -> list[Change]:
    old_action, new_action = action_of(old), action_of(new)
    if old_action == new_action:
        return []
    weakens = STRENGTH.get(new_action, -1) < STRENGTH.get(old_action, -1)
    what = describe(new["Statement"])
    if new_action == "count":
        reason = f"{name} now only counts {what}"
    elif new_action == "allow":
        reason = f"{name} now lets {what} through"
    else:
        reason = f"{name} now answers {what} with {new_action} (was {old_action})"
    return [
        waf_change(
            subject,
            "changed",
            f"rules[{name}].action",
            old_action,
            new_action,
            "weakens" if weakens else "strengthens",
            reason,
        )
    ]


def _rate_changes(subject: str, name: str, old: Rule, new: Rule) -> list[Change]:
    out = []
    old_rate = old["Limit"] / old.get("EvaluationWindowSec", 300)
    new_rate = new["Limit"] / new.get("EvaluationWindowSec", 300)
    window_of = "{Limit} requests / {window} s"
    if old_rate != new_rate or old.get("EvaluationWindowSec") != new.get("EvaluationWindowSec"):
        before = window_of.format(Limit=old["Limit"], window=old.get("EvaluationWindowSec", 300))
        after = window_of.format(Limit=new["Limit"], window=new.get("EvaluationWindowSec", 300))
        effect: Effect = (
            "weakens"
            if new_rate > old_rate
            else "strengthens"
            if new_rate < old_rate
            else "neutral"
        )
        verb = {
            "weakens": "allows more",
            "strengthens": "allows fewer",
            "neutral": "keeps the rate",
        }
        out.append(
            waf_change(
                subject,
                "changed",
                f"rules[{name}].limit",
                before,
                after,
                effect,
                f"{name} {verb[effect]}: {after} per client (was {before})",
            )
        )
    old_key = old.get("ForwardedIPConfig", {}).get("HeaderName") or old["AggregateKeyType"]
    new_key = new.get("ForwardedIPConfig", {}).get("HeaderName") or new["AggregateKeyType"]
    if old_key != new_key:
        reason = (
            f"{name} now counts per {new_key} header value (was per {old_key}): a client that "
            "sets the header picks its own key"
            if new["AggregateKeyType"] == "FORWARDED_IP"
            else f"{name} now counts per {new_key} (was per {old_key} header)"
        )
        out.append(
            waf_change(
                subject, "changed", f"rules[{name}].key", old_key, new_key, "weakens", reason
            )
        )
    old_scope, new_scope = old.get("ScopeDownStatement"), new.get("ScopeDownStatement")
    if old_scope != new_scope:
        old_text = describe(old_scope) if old_scope else "every request"
        new_text = describe(new_scope) if new_scope else "every request"
        effect = "strengthens" if new_scope is None else "weakens"
        out.append(
            waf_change(
                subject,
                "changed",
                f"rules[{name}].scope",
                old_text,
                new_text,
                effect,
                f"{name} now limits {new_text} (was {old_text})",
            )
        )
    return out


def _managed_changes(
    subject: str,
    name: str,
    old: Rule,
    new: Rule,
    before: Mapping[str, Rule],
    after: Mapping[str, Rule],
) -> list[Change]:
    old_body, new_body = _managed(old) or {}, _managed(new) or {}
    group = f"{new_body.get('VendorName')} {new_body.get('Name')}"
    out = []
    old_version, new_version = old_body.get("Version"), new_body.get("Version")
    if old_version != new_version:
        older = bool(old_version and new_version and _version(new_version) < _version(old_version))
        out.append(
            waf_change(
                subject,
                "changed",
                f"rules[{name}].version",
                old_version,
                new_version,
                "weakens" if older else "neutral",
                f"{group} goes back to {new_version}: rules AWS added since are lost"
                if older
                else f"{group} version {old_version or 'default'} → {new_version or 'default'}",
            )
        )
    old_configs = old_body.get("ManagedRuleGroupConfigs")
    new_configs = new_body.get("ManagedRuleGroupConfigs")
    if old_configs != new_configs:
        out.append(
            waf_change(
                subject,
                "changed",
                f"rules[{name}].config",
                old_configs,
                new_configs,
                "weakens",
                f"{group}'s configuration changes (what it inspects): review it",
            )
        )
    # A group that counts as a whole counts every rule: its rules' own states do not matter.
    if action_of(old) == action_of(new) == "group actions":
        old_states = rule_states(name, old_body, before)
        new_states = rule_states(name, new_body, after)
        for rule in sorted(set(old_states) | set(new_states)):
            change = _state_change(
                subject, name, rule, old_states.get(rule, BLOCKS), new_states.get(rule, BLOCKS)
            )
            if change is not None:
                out.append(change)
    return out


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", text))


#: A managed rule left to its own action (it blocks).
BLOCKS: tuple[str, ...] = ()
#: A managed rule that only counts, everywhere.
COUNTS: tuple[str, ...] = ("*",)


def rule_states(
    group_rule: str, body: Mapping[str, Any], rules: Mapping[str, Rule]
) -> dict[str, tuple[str, ...]]:
    """Each overridden rule of a managed group: :data:`COUNTS`, or the paths it does not block
    on (an exclusion: counted in the group, blocked on its label except on those paths)."""
    counted = {
        o["Name"] for o in body.get("RuleActionOverrides", []) if "Count" in o["ActionToUse"]
    }
    excepted: dict[str, set[str]] = {}
    for name, rule in rules.items():
        if _group_of_exclusion(name, rules) != group_rule or action_of(rule) == "count":
            continue
        labels, paths = _labels_and_paths(rule["Statement"])
        for label in labels:
            excepted.setdefault(_rule_for_label(body, label, counted), set()).update(paths)
    return {rule: tuple(sorted(excepted[rule])) if rule in excepted else COUNTS for rule in counted}


def _labels_and_paths(statement: Rule, negated: bool = False) -> tuple[set[str], set[str]]:
    """The labels an exclusion rule blocks on and the paths it does not block on."""
    ((kind, body),) = statement.items()
    if kind == "LabelMatchStatement":
        return {str(body["Key"])}, set()
    if kind == "ByteMatchStatement" and negated:
        return set(), {str(body["SearchString"])}
    labels: set[str] = set()
    paths: set[str] = set()
    children = [body["Statement"]] if kind == "NotStatement" else body.get("Statements", [])
    for child in children:
        found = _labels_and_paths(child, negated or kind == "NotStatement")
        labels |= found[0]
        paths |= found[1]
    return labels, paths


def _rule_for_label(body: Mapping[str, Any], label: str, counted: set[str]) -> str:
    """AWS's name of the managed rule that adds ``label`` (the catalog knows; else its tail)."""
    for group in load_catalog().values():
        if group.vendor == body.get("VendorName") and group.name == body.get("Name"):
            found = group.lookup(label)
            if found is not None:
                return found.name
    tail = label.rsplit(":", 1)[-1]
    return next((c for c in counted if c.casefold() == tail.casefold()), tail)


def _state_change(
    subject: str, group: str, rule: str, old: tuple[str, ...], new: tuple[str, ...]
) -> Change | None:
    if old == new:
        return None
    excluded = old not in (BLOCKS, COUNTS) or new not in (BLOCKS, COUNTS)
    path = f"rules[{group}].{'exclusions' if excluded else 'count_rules'}[{rule}]"

    def words(state: tuple[str, ...]) -> Any:
        return "blocks" if state == BLOCKS else "counts" if state == COUNTS else list(state)

    if new == COUNTS:
        effect: Effect = "weakens"
        reason = f"{rule} now only counts (it no longer blocks anywhere)"
    elif new == BLOCKS:
        effect = "strengthens"
        reason = f"{rule} blocks everywhere again" + (
            f" (was excepted on {', '.join(old)})" if old != COUNTS else ""
        )
    elif old in (BLOCKS, COUNTS):
        effect = "weakens" if old == BLOCKS else "strengthens"
        reason = (
            f"{rule} no longer blocks on {', '.join(new)}"
            if old == BLOCKS
            else f"{rule} blocks again except on {', '.join(new)}"
        )
    else:
        gained = sorted(set(new) - set(old))
        lost = sorted(set(old) - set(new))
        effect = "weakens" if gained else "strengthens"
        parts = [f"no longer blocks on {', '.join(gained)}"] if gained else []
        parts += [f"blocks on {', '.join(lost)} again"] if lost else []
        reason = f"{rule} " + "; ".join(parts)
    return waf_change(subject, "changed", path, words(old), words(new), effect, reason)


def _moves(subject: str, old: Sequence[Rule], new: Sequence[Rule]) -> list[Change]:
    """Rules whose place in the evaluation order changes (renumbering alone is no move)."""
    old_order = [str(r["Name"]) for r in old]
    common = [str(r["Name"]) for r in new if str(r["Name"]) in old_order]
    old_common = [n for n in old_order if n in common]
    if common == old_common:
        return []
    index = {n: i for i, n in enumerate(old_common)}
    kept = set(_longest_increasing([index[n] for n in common]))
    moved = [n for n in common if index[n] not in kept]
    actions = {str(r["Name"]): action_of(r) for r in new}
    priorities = (
        {str(r["Name"]): r.get("Priority") for r in old},
        {str(r["Name"]): r.get("Priority") for r in new},
    )
    out = []
    for name in moved:
        now_before = set(common[: common.index(name)])
        was_before = set(old_common[: old_common.index(name)])
        overtaken = now_before - was_before  # rules that now run first
        passed = was_before - now_before  # rules this one now runs before
        stops = lambda n: actions[n] not in ("allow", "count")  # noqa: E731
        weakens = (actions[name] == "allow" and any(stops(n) for n in passed)) or (
            stops(name) and any(actions[n] == "allow" for n in overtaken)
        )
        strengthens = (stops(name) and any(actions[n] == "allow" for n in passed)) or (
            actions[name] == "allow" and any(stops(n) for n in overtaken)
        )
        order = (
            f"before {', '.join(sorted(passed))}"
            if passed
            else f"after {', '.join(sorted(overtaken))}"
        )
        reason = f"{name} is now evaluated {order}"
        if weakens:
            reason += ": an allow rule now decides first for the requests both match"
        elif strengthens:
            reason += ": a rule that stops requests now decides before an allow rule"
        out.append(
            waf_change(
                subject,
                "moved",
                f"rules[{name}].priority",
                priorities[0][name],
                priorities[1][name],
                "weakens" if weakens else "strengthens" if strengthens else "neutral",
                reason,
            )
        )
    return out


def _longest_increasing(values: list[int]) -> list[int]:
    """The values of one longest strictly increasing subsequence (patience sorting)."""
    tails: list[int] = []
    links: dict[int, int | None] = {}
    for value in values:
        low, high = 0, len(tails)
        while low < high:
            middle = (low + high) // 2
            if tails[middle] < value:
                low = middle + 1
            else:
                high = middle
        links[value] = tails[low - 1] if low > 0 else None
        if low == len(tails):
            tails.append(value)
        else:
            tails[low] = value
    out: list[int] = []
    current = tails[-1] if tails else None
    while current is not None:
        out.append(current)
        current = links[current]
    return out[::-1]
