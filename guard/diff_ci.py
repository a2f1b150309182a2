"""The ci and iam areas of ``guard diff``: who may assume each role, and what it may then do.

Roles are compared by IAM name (a renamed role is one removed and one added), each as its side
declares it: its trust (principals, and per principal the condition values: OIDC ``sub``
subjects and ``aud`` audiences, an external ID), session length, permissions boundary, and
grants: every statement of its inline policies and of the customer-managed policies of the plan
attached to it, expanded to ``(effect, action, resource, condition)``, plus the ARNs of other
managed policies (AWS's: their documents are not in the plan). A grant is new only when no grant
of the other side covers it (same or wider action and resource globs, same or fewer condition
tests), so widening ``repository/marketplace-*`` to ``*`` is one weakening line; changes are
grouped back per statement (``grants[<Sid>]``), so a new statement is one line of its actions.

Roles under a ``guard:ci:*`` component are area ``ci``; other roles, the permissions boundary,
managed policies no role of the plan attaches and the OIDC providers are ``iam``. More
principals let in, or more a role may do, weakens; the opposite strengthens. Except: a role a
protection service assumes (the Shield Response Team's, AWS Chatbot's) losing trust or grants,
or being deleted, weakens: that protection stops working. Tags and descriptions are left to the
engine (neutral).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from guard.diff_model import (
    ALL_INPUTS,
    Area,
    AreaDiffer,
    Change,
    Effect,
    Kind,
    PlanDocument,
    PlanResource,
    compact,
    parse_json_text,
)
from guard.diff_parts import Report
from guard.iam_eval import as_list, statements_in
from guard.iam_grants import (
    Conditions,
    Grant,
    canonical_condition,
    conditions_of,
    covered,
    glob_covers,
    grants_of,
    grouped_statements,
    parsed_conditions,
)
from guard.resource_types import ROLE, ROLE_ATTACHMENT, ROLE_POLICY

POLICY = "aws:iam/policy:Policy"
OIDC_PROVIDER = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
BOUNDARY_COMPONENT = "guard:iam:PermissionsBoundary"
AWS_MANAGED = "arn:aws:iam::aws:policy/"
#: IAM's session length for a role that does not set one.
DEFAULT_SESSION = 3600
#: Services whose role is a protection: losing the role (or what it may do) switches it off.
PROTECTION_SERVICES = {
    "drt.shield.amazonaws.com": "the Shield Response Team can no longer act in a DDoS attack",
    "chatbot.amazonaws.com": "AWS Chatbot can no longer post guard's alerts to Slack",
}
_ACCOUNT = re.compile(r"arn:aws[\w-]*:iam::(\d{12}):")

#: (effect, principal kind, principal): ("Allow", "Federated", "arn:...:oidc-provider/...").
Principal = tuple[str, str, str]
Phrases = dict[tuple[bool, bool], str]


@dataclass
class RoleView:
    """A role as one side declares it (``exists`` False: only policies name it)."""

    name: str
    area: Area
    exists: bool = False
    kind: str = "role"
    trust_document: Any = None
    trust: dict[Principal, Conditions] = field(default_factory=dict)
    boundary: str | None = None
    session: int = DEFAULT_SESSION
    grants: dict[Grant, str] = field(default_factory=dict)
    managed: set[str] = field(default_factory=set)


def _listing(items: list[str], limit: int = 6) -> str:
    shown = [f"every action but {i[1:]}" if i.startswith("!") else i for i in items[:limit]]
    return ", ".join(shown) + (f" (+{len(items) - limit} more)" if len(items) > limit else "")


def _phrases(who: str, allow: str, deny: str) -> Phrases:
    """``{(allow, gained): start of the reason}``, from templates taking who and now/no longer."""
    return {
        (a, g): (allow if a else deny).format(who, "now" if g else "no longer")
        for a in (True, False)
        for g in (True, False)
    }


def _narrower(statement: Mapping[str, Any], others: Mapping[Grant, str]) -> list[str]:
    """The actions of ``others`` on the statement's resources that its actions cover."""
    effect, actions, resources = statement["Effect"], statement["Action"], statement["Resource"]
    return sorted(
        {
            o.action
            for o in others
            if o.effect == effect
            and o.resource in resources
            and o.action not in actions
            and any(glob_covers(a, o.action, ignore_case=True) for a in actions)
        }
    )


def _test(op: str, key: str) -> str:
    """A condition test by its key, with its operator unless it is the plain positive one."""
    return key if op in ("StringLike", "ArnLike") else f"{op} {key}"


def _delta(before: str, after: str) -> str:
    """How a statement's condition changed (canonical JSON texts), for its reason."""
    old, new = parsed_conditions(before), parsed_conditions(after)
    parts = []
    for op, key in sorted(set(old) | set(new)):
        if (op, key) not in new or (op, key) not in old:
            parts.append(f"{'no' if (op, key) in old else 'a new'} {_test(op, key)} test")
            continue
        parts += [f"{_test(op, key)} +{v}" for v in sorted(new[(op, key)] - old[(op, key)])]
        parts += [f"{_test(op, key)} -{v}" for v in sorted(old[(op, key)] - new[(op, key)])]
    return f" (condition: {', '.join(parts)})" if parts else ""


def grant_changes(
    report: Report,
    before: dict[Grant, str],
    after: dict[Grant, str],
    phrases: Phrases,
    protects: str | None = None,
) -> Report:
    """Grants gained and lost, a line per statement; ``protects`` (what stops working) makes a
    lost Allow weaken."""
    if before == after:
        return report
    gained = [g for g in after if g not in before and not covered(g, before)]
    lost = [g for g in before if g not in after and not covered(g, after)]
    for grants, labels, other, is_gain in (
        (gained, after, before, True),
        (lost, before, after, False),
    ):
        known = set(other.values())
        for label, st in grouped_statements(grants, labels):
            allow = st["Effect"] == "Allow"
            effect: Effect = "weakens" if is_gain == allow else "strengthens"
            when = f" when {compact(st['Condition'], 80)}" if "Condition" in st else ""
            # The same statement on the other side with one other condition: what changed in it.
            there = {
                g.condition for g, k in other.items() if k == label and g.effect == st["Effect"]
            }
            if len(there) == 1:
                here, that = canonical_condition(st.get("Condition")), there.pop()
                when = _delta(*((that, here) if is_gain else (here, that))) or when
            reason = (
                f"{phrases[(allow, is_gain)]} {_listing(st['Action'])} on "
                f"{_listing(st['Resource'], 3)}{when}"
            )
            # A glob replaced by narrower actions (or the reverse) is only partly gained or lost.
            narrower = _narrower(st, other)
            if narrower:
                what = "allowed" if allow else "denied"
                reason += (
                    f" ({'before, only' if is_gain else 'still'} {what}: {_listing(narrower, 4)})"
                )
            if protects and allow and not is_gain:
                effect, reason = "weakens", f"{reason}: {protects}"
            kind: Kind = "changed" if label in known else "added" if is_gain else "removed"
            old, new = (None, st) if is_gain else (st, None)
            report.add(kind, f"grants[{label}]", old, new, effect, reason)
    return report


def trust_of(document: Any) -> dict[Principal, Conditions]:
    """A trust policy as ``{principal: conditions}`` (an unreadable one: one unknown principal)."""
    document = parse_json_text(document)
    if not isinstance(document, Mapping):
        return {} if document is None else {("Allow", "unreadable", compact(document, 60)): {}}
    out: dict[Principal, Conditions] = {}
    for st in statements_in(document):
        principal = st.get("Principal", st.get("NotPrincipal"))
        pairs = [("*", "*")] if principal == "*" else [("unreadable", compact(principal, 60))]
        if isinstance(principal, Mapping):
            pairs = [(str(k), str(v)) for k, values in principal.items() for v in as_list(values)]
        if "NotPrincipal" in st:
            pairs = [(f"NotPrincipal {kind}", value) for kind, value in pairs]
        for kind, value in pairs:
            slot = out.setdefault((str(st.get("Effect")), kind, value), {})
            for key, values in conditions_of(st.get("Condition")).items():
                slot[key] = slot.get(key, frozenset()) | values
    return out


def _principal_text(principal: Principal) -> str:
    _, kind, value = principal
    if kind == "Federated" and "oidc-provider/" in value:
        return f"tokens from {value.split('oidc-provider/', 1)[1]}"
    return "anyone (*)" if kind == "*" else f"{kind} {value}"


def _subjects(conditions: Conditions) -> list[str]:
    return sorted(
        v
        for (op, key), vs in conditions.items()
        if key.endswith(":sub") and "Not" not in op
        for v in vs
    )


def _requiring(conditions: Conditions) -> str:
    if _subjects(conditions):
        return f" as {_listing(_subjects(conditions), 4)}"
    keys = sorted({key for _, key in conditions})
    return f" with {', '.join(keys)}" if keys else " without any condition"


def _external(principal: Principal, account: str | None) -> bool:
    """Whether the principal is outside the account (an AWS service is not)."""
    _, kind, value = principal
    own = kind == "AWS" and account is not None and account in (value, *_ACCOUNT.findall(value))
    return kind != "Service" and not own


def _protects(role: RoleView) -> str | None:
    found = [PROTECTION_SERVICES.get(p[2]) for p in role.trust if p[1] == "Service"]
    return next((f for f in found if f), None)


def _value_change(kind: str, op: str, key: str, value: str, gained: bool) -> tuple[str, str]:
    """The path and reason of one condition value gained or lost by a role's trust."""
    now = "now" if gained else "no longer"
    if "Not" in op.split(":")[-1]:
        return f"trust.conditions[{op} {key}]", f"{kind} {now} refuses {key} like {value}"
    if key.endswith(":sub"):
        wildcard = " (a wildcard)" if gained and value.endswith("*") else ""
        return f"trust.subjects[{value}]", f"{kind} {now} trusts {value}{wildcard}"
    if key.endswith(":aud"):
        return f"trust.audiences[{value}]", f"{kind} {now} accepts tokens for audience {value}"
    return f"trust.conditions[{key}]", f"{kind} {now} accepts {key} {value}"


def _flip(effect: Effect, deny: bool) -> Effect:
    """A Deny statement's change has the opposite effect of an Allow's."""
    if not deny or effect == "neutral":
        return effect
    return "strengthens" if effect == "weakens" else "weakens"


def trust_changes(report: Report, role: RoleView, before: RoleView) -> None:
    """Principals let in or out, and per principal each condition value (subjects, audiences,
    external IDs): a value more for a positive operator widens, for a negated one narrows."""
    k, b_all, a_all = role.kind, before.trust, role.trust
    for p in sorted(set(b_all) | set(a_all)):
        deny, path = p[0] == "Deny", f"trust.principals[{p[1]}:{p[2]}]"
        if p not in b_all:
            reason = f"{k} now trusts {_principal_text(p)}{_requiring(a_all[p])}"
            report.gain(path, _subjects(a_all[p]) or None, _flip("weakens", deny), reason)
            continue
        if p not in a_all:
            protects = PROTECTION_SERVICES.get(p[2]) if p[1] == "Service" else None
            effect = "weakens" if protects else _flip("strengthens", deny)
            reason = f"{k} no longer trusts {_principal_text(p)}"
            reason += f": {protects}" if protects else ""
            report.loss(path, _subjects(b_all[p]) or None, effect, reason)
            continue
        b, a = b_all[p], a_all[p]
        for op, key in sorted(set(b) | set(a)):
            test = _test(op, key)
            where = f"trust.conditions[{test}]"
            if (op, key) not in b:
                values = sorted(a[(op, key)])
                reason = f"{k} now requires {test} {_listing(values, 3)}"
                report.gain(where, values, _flip("strengthens", deny), reason)
            elif (op, key) not in a:
                reason = f"{k} no longer requires {test}"
                report.loss(where, sorted(b[(op, key)]), _flip("weakens", deny), reason)
            else:
                negated = "Not" in op.split(":")[-1]
                for values_of, others, gained in ((a, b, True), (b, a, False)):
                    rest = others[(op, key)]
                    for value in sorted(values_of[(op, key)] - rest):
                        # A value another pattern of the other side matches changes nothing.
                        likes = rest if "Like" in op and not negated else ()
                        cover = next((o for o in sorted(likes) if glob_covers(o, value)), None)
                        widens = gained != negated
                        effect = "neutral" if cover else "weakens" if widens else "strengthens"
                        path, reason = _value_change(k, op, key, value, gained)
                        if cover:
                            matches = "already matched" if gained else "still matches"
                            reason += f" by name ({cover} {matches} it)"
                        add = report.gain if gained else report.loss
                        add(path, value, _flip(effect, deny), reason)


@dataclass
class Side:
    """One plan's IAM: roles and policies by name, the policies attached, the boundaries."""

    roles: dict[str, RoleView] = field(default_factory=dict)
    policies: dict[str, PlanResource] = field(default_factory=dict)
    attached: set[str] = field(default_factory=set)
    boundaries: set[str] = field(default_factory=set)
    account: str | None = None

    @classmethod
    def of(cls, doc: PlanDocument) -> Side:
        side = cls(policies={_name(p): p for p in doc.of_type(POLICY)})
        side.boundaries = {_name(p) for p in doc.within(BOUNDARY_COMPONENT, POLICY)}
        for r in doc.of_type(ROLE):
            view = side.view(doc, _name(r), r)
            view.exists = True
            view.trust_document = parse_json_text(r.inputs.get("assumeRolePolicy"))
            view.trust = trust_of(view.trust_document)
            view.boundary = r.inputs.get("permissionsBoundary") or None
            view.session = int(r.inputs.get("maxSessionDuration") or DEFAULT_SESSION)
            tags = r.inputs.get("tags") or {}
            view.kind = f"{tags['guard:role']} role" if "guard:role" in tags else "role"
            if view.boundary:
                side.boundaries.add(str(view.boundary).rsplit("/", 1)[-1])
                side.account = side.account or next(iter(_ACCOUNT.findall(view.boundary)), None)
        for r in doc.of_type(ROLE_POLICY):
            view = side.view(doc, str(r.inputs.get("role")), r)
            _merge(view.grants, grants_of(r.inputs.get("policy"), _name(r)))
        for r in doc.of_type(ROLE_ATTACHMENT):
            view = side.view(doc, str(r.inputs.get("role")), r)
            side.attach(view, str(r.inputs.get("policyArn")))
        return side

    def view(self, doc: PlanDocument, name: str, resource: PlanResource) -> RoleView:
        if name not in self.roles:
            ci = any(t.startswith("guard:ci:") for t in doc.ancestor_types(resource))
            self.roles[name] = RoleView(name, "ci" if ci else "iam")
        return self.roles[name]

    def attach(self, view: RoleView, arn: str) -> None:
        """A customer-managed policy of the plan adds its grants; any other, its ARN."""
        name = arn.rsplit("/", 1)[-1]
        if name in self.policies and not arn.startswith(AWS_MANAGED):
            self.attached.add(name)
            _merge(view.grants, grants_of(self.policies[name].inputs.get("policy"), name))
        else:
            view.managed.add(arn)


def _name(resource: PlanResource) -> str:
    return str(resource.inputs.get("name") or resource.name)


def _merge(into: dict[Grant, str], grants: dict[Grant, str]) -> None:
    for grant, label in grants.items():
        into.setdefault(grant, label)


def _managed_name(arn: str) -> str:
    who = "AWS managed policy" if arn.startswith(AWS_MANAGED) else "managed policy"
    return f"{who} {arn.rsplit('/', 1)[-1]}"


def _can_do(role: RoleView) -> str:
    actions = sorted({g.action for g in role.grants if g.effect == "Allow"})
    parts = [f"may call {_listing(actions)}"] if actions else []
    return "; ".join(parts + [_managed_name(arn) for arn in sorted(role.managed)]) or "no grants"


def _summary(role: RoleView) -> dict[str, Any]:
    return {
        "assumeRolePolicy": role.trust_document,
        "permissionsBoundary": role.boundary,
        "maxSessionDuration": role.session,
        "grants": [st for _, st in grouped_statements(sorted(role.grants), role.grants)],
        "managed_policies": sorted(role.managed),
    }


def role_changes(old: RoleView | None, new: RoleView | None, account: str | None) -> list[Change]:
    """One role: added or removed as a whole, else its trust, session, boundary and grants."""
    role = new or old
    assert role is not None
    report = Report(role.area, role.name)
    if (old is None or not old.exists) and new is not None and new.exists:
        trusted = "; ".join(f"{_principal_text(p)}{_requiring(c)}" for p, c in new.trust.items())
        outside = any(_external(p, account) for p in new.trust if p[0] == "Allow")
        reason = f"new role assumable by {trusted or 'nobody'}; {_can_do(new)}"
        report.gain("role", _summary(new), "weakens" if outside else "neutral", reason)
        return report.out
    if old is not None and old.exists and (new is None or not new.exists):
        protects = _protects(old)
        reason = f"role deleted: {protects}" if protects else f"role deleted ({_can_do(old)})"
        report.loss("role", _summary(old), "weakens" if protects else "strengthens", reason)
        return report.out
    old, new = old or RoleView(role.name, role.area), new or RoleView(role.name, role.area)
    trust_changes(report, new, old)
    if old.session != new.session:
        effect: Effect = "weakens" if new.session > old.session else "strengthens"
        reason = f"sessions may last {new.session} s (was {old.session} s)"
        report.add("changed", "maxSessionDuration", old.session, new.session, effect, reason)
    if old.boundary != new.boundary:
        effect = "strengthens" if not old.boundary else "weakens"
        reason = (
            f"no longer has a permissions boundary (was {old.boundary})"
            if not new.boundary
            else f"now bounded by {new.boundary}"
            if not old.boundary
            else f"permissions boundary is now {new.boundary} (was {old.boundary})"
        )
        report.add("changed", "permissionsBoundary", old.boundary, new.boundary, effect, reason)
    phrases = _phrases(role.name, "{} may {} call", "{} is {} denied")
    protects = _protects(old)
    grant_changes(report, old.grants, new.grants, phrases, protects)
    for arn in sorted(new.managed - old.managed):
        report.gain(f"managed_policies[{arn}]", arn, "weakens", f"{_managed_name(arn)} attached")
    for arn in sorted(old.managed - new.managed):
        reason = f"{_managed_name(arn)} detached" + (f": {protects}" if protects else "")
        effect = "weakens" if protects else "strengthens"
        report.loss(f"managed_policies[{arn}]", arn, effect, reason)
    return report.out


def policy_changes(base: Side, head: Side) -> list[Change]:
    """The boundary's document, and any customer-managed policy no role of the plan attaches
    (the others are reported with the roles that carry them)."""
    out: list[Change] = []
    for name in sorted(set(base.policies) | set(head.policies)):
        boundary = name in base.boundaries or name in head.boundaries
        if not boundary and (name in base.attached or name in head.attached):
            continue
        report = Report("iam", f"boundary {name}" if boundary else f"policy {name}")
        old, new = base.policies.get(name), head.policies.get(name)
        what = "permissions boundary" if boundary else "managed policy (attached to no role)"
        if old is None and new is not None:
            document = parse_json_text(new.inputs.get("policy"))
            report.gain("policy", document, "neutral", f"new {what}")
        elif new is None and old is not None:
            # A role keeping it as its boundary is reported with the role; unsure here: weakens.
            document = parse_json_text(old.inputs.get("policy"))
            report.loss("policy", document, "weakens" if boundary else "neutral", f"{what} deleted")
        elif old is not None and new is not None:
            who = "the boundary" if boundary else "the policy"
            phrases = _phrases(who, "{} {} allows", "{} {} denies")
            before, after = (grants_of(p.inputs.get("policy"), name) for p in (old, new))
            grant_changes(report, before, after, phrases)
        out += report.out
    return out


def _values(resource: PlanResource, key: str) -> set[str]:
    return {str(v) for v in as_list(resource.inputs.get(key))}


def provider_changes(base: PlanDocument, head: PlanDocument) -> list[Change]:
    """OIDC providers: the issuers the account takes tokens from, their audiences, thumbprints."""
    olds, news = (
        {_values(r, "url").pop(): r for r in d.of_type(OIDC_PROVIDER)} for d in (base, head)
    )
    out: list[Change] = []
    for url in sorted(set(olds) | set(news)):
        host, old, new = url.removeprefix("https://"), olds.get(url), news.get(url)
        report = Report("iam", f"OIDC provider {host}")
        if old is None or new is None:
            if new is not None:
                reason = (
                    f"the account now accepts OIDC tokens from {host} (for any role trusting it)"
                )
                report.gain("provider", dict(new.inputs), "weakens", reason)
            elif old is not None:
                reason = f"no role can be assumed with tokens from {host} any more"
                report.loss("provider", dict(old.inputs), "strengthens", reason)
            out += report.out
            continue
        for key, what in (("clientIdLists", "audience"), ("thumbprintLists", "thumbprint")):
            for value in sorted(_values(new, key) - _values(old, key)):
                reason = f"now accepts tokens with {what} {value}"
                report.gain(f"{key}[{value}]", value, "weakens", reason)
            for value in sorted(_values(old, key) - _values(new, key)):
                reason = f"no longer accepts tokens with {what} {value}"
                report.loss(f"{key}[{value}]", value, "strengthens", reason)
        out += report.out
    return out


def compare(base: PlanDocument, head: PlanDocument) -> list[Change]:
    """Every ci and iam change from ``base`` to ``head``."""
    old, new = Side.of(base), Side.of(head)
    out: list[Change] = []
    for name in sorted(set(old.roles) | set(new.roles)):
        out += role_changes(old.roles.get(name), new.roles.get(name), new.account or old.account)
    return out + policy_changes(old, new) + provider_changes(base, head)


#: Role tags and descriptions (and the policies') are left to the engine: neutral there.
ROLE_INPUTS = ("assumeRolePolicy", "permissionsBoundary", "maxSessionDuration", "name")
DIFFER = AreaDiffer(
    "ci",
    {
        ROLE: frozenset(ROLE_INPUTS),
        ROLE_POLICY: ALL_INPUTS,
        ROLE_ATTACHMENT: ALL_INPUTS,
        POLICY: frozenset({"policy", "name"}),
        OIDC_PROVIDER: frozenset({"url", "clientIdLists", "thumbprintLists"}),
    },
    compare,
)
