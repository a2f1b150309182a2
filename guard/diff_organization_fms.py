"""``guard diff``'s organization area, Firewall Manager: its policies (the WAF baseline's managed
rule groups, rate limit and logging, Shield Advanced's automatic mitigation, the accounts, OUs
and tagged resources in scope) and the rate-based rule group the baseline runs last.

Read by :mod:`guard.diff_organization`, which runs it with the area's other parts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from guard.diff_model import Change, Effect, Kind, PlanDocument, PlanResource, compact
from guard.diff_organization_parts import (
    changed,
    ours,
    region_of,
    target_words,
    together,
)
from guard.diff_parts import (
    Handler,
    Report,
    appears,
    both,
    came_went,
    nested,
    note,
    ordered,
    pairs,
    review,
    side,
    toggle,
)
from guard.organization import ALB_RESOURCE_TYPE, CLOUDFRONT_RESOURCE_TYPE
from guard.organization_fms import parse_managed_service_data
from guard.resource_types import FMS_POLICY, RULE_GROUP

#: The types this part reads (under the organization components).
TYPES = (FMS_POLICY, RULE_GROUP)
#: Shield's automatic application-layer mitigation (status, action): how strongly it acts.
L7_LEVELS = {("ENABLED", "BLOCK"): 2, ("ENABLED", "COUNT"): 1}
L7_WORDS = {
    ("ENABLED", "BLOCK"): "blocks attack requests",
    ("ENABLED", "COUNT"): "only counts attack requests",
    ("DISABLED", None): "is turned off in every account",
    ("IGNORED", None): "is left to each account",
    (None, None): "is not set by the policy",
}
#: Pre- and post-process rule groups of a WAFV2 policy's ManagedServiceData.
PRE, POST = "preProcessRuleGroups", "postProcessRuleGroups"


# --- Firewall Manager --------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """What a Firewall Manager policy covers, in words (``ALB``, ``ALBs in us-east-1``)."""

    noun: str
    nouns: str
    where: str

    @classmethod
    def of(cls, policy: PlanResource | None) -> Scope:
        if policy is None:  # a rule group no policy uses
            return cls("resource", "resources", "resources")
        kind, region = policy.inputs.get("resourceType"), region_of(policy)
        if kind == CLOUDFRONT_RESOURCE_TYPE:
            plural = "CloudFront distributions"
            return cls("CloudFront distribution", plural, plural)
        if kind == ALB_RESOURCE_TYPE:
            return cls("ALB", "ALBs", f"ALBs in {region}")
        return cls(str(kind), f"{kind} resources", f"{kind} resources in {region}")


def _service_data(policy: PlanResource) -> tuple[Any, dict[str, Any] | None]:
    """A policy's type, and its ManagedServiceData as a document (None if it is not one)."""
    data = policy.inputs.get("securityServicePolicyData") or {}
    return data.get("type"), parse_managed_service_data(data.get("managedServiceData"))[0]


def _label(entry: Mapping[str, Any]) -> str:
    """A rule group entry: a managed group by name (vendor-prefixed unless AWS), else its ARN."""
    identifier = entry.get("managedRuleGroupIdentifier")
    if isinstance(identifier, Mapping) and identifier.get("managedRuleGroupName"):
        vendor, name = identifier.get("vendorName"), str(identifier["managedRuleGroupName"])
        return name if vendor in (None, "AWS") else f"{vendor}/{name}"
    return str(entry.get("ruleGroupArn"))


def _entries(value: Any) -> dict[str, Mapping[str, Any]]:
    return {_label(e): e for e in value or [] if isinstance(e, Mapping)}


def _override(entry: Mapping[str, Any]) -> Any:
    return (entry.get("overrideAction") or {}).get("type")


def _excluded(entry: Mapping[str, Any]) -> list[str]:
    return [str(r.get("name")) for r in entry.get("excludeRules") or [] if isinstance(r, Mapping)]


def _group_of(arn: str, groups: Sequence[PlanResource]) -> PlanResource | None:
    """The rule group an ARN names (its ``name`` is one of the ARN's segments)."""
    segments = set(re.split(r"[:/]", arn))
    return next((g for g in groups if str(g.inputs.get("name")) in segments), None)


def _limit(rule: Mapping[str, Any]) -> tuple[Any, Any] | None:
    """A rate-based rule's (limit, window in seconds); None for another rule."""
    rate = (rule.get("statement") or {}).get("rateBasedStatement")
    if not isinstance(rate, Mapping):
        return None
    return rate.get("limit"), rate.get("evaluationWindowSec", 300)


def _rates(group: PlanResource | None) -> list[tuple[Any, Any]]:
    """A rule group's rate-based rules: (limit, window in seconds)."""
    rules = (group.inputs.get("rules") if group else None) or []
    return [limit for rule in rules if (limit := _limit(rule or {})) is not None]


def _rate_words(limit: Any, window: Any) -> str:
    return f"{limit} requests per IP per {window} s"


def _group_words(arn: str, groups: Sequence[PlanResource]) -> str:
    """A post-process entry: the rate limit its group holds, else the group's name or ARN."""
    group = _group_of(arn, groups)
    rates = _rates(group)
    if rates:
        return "rate limit " + ", ".join(_rate_words(*r) for r in rates)
    return f"rule group {group.inputs.get('name') if group else arn}"


def _per_second(limit: Any, window: Any) -> float | None:
    if isinstance(limit, int | float) and isinstance(window, int | float) and window > 0:
        return float(limit) / float(window)
    return None


@dataclass(frozen=True)
class Baseline:
    """The handlers of one Firewall Manager policy: its scope and each side's rule groups."""

    scope: Scope
    groups: tuple[Sequence[PlanResource], Sequence[PlanResource]]

    def summary(self, data: Mapping[str, Any], index: int) -> str:
        """A WAFV2 document in words: its groups, rate limit and logging."""
        parts = list(_entries(data.get(PRE)))
        parts += [_group_words(arn, self.groups[index]) for arn in _entries(data.get(POST))]
        logging = data.get("loggingConfiguration")
        logs = logging.get("logDestinationConfigs") if isinstance(logging, Mapping) else None
        parts.append(f"logs to {', '.join(map(str, logs))}" if logs else "no logging")
        return ", ".join(parts)

    def rule_groups(self, post: bool) -> Handler:
        """Pre- or post-process rule groups, by group: gone, come, counted, rules excluded."""
        nouns = f"{self.scope.nouns} in scope"

        def handler(report: Report, path: str, old: Any, new: Any) -> None:
            a, b = _entries(old), _entries(new)
            for label in sorted(a.keys() | b.keys()):
                x, y, where = a.get(label), b.get(label), f"{path}[{label}]"
                if x is None or y is None:
                    self._entry_appears(report, where, label, x, y, post)
                    continue
                was, now = _override(x), _override(y)
                if was != now:
                    text = (
                        f"{label} only counts now (overrideAction {now}, was {was}): it blocks "
                        f"nothing on {nouns}"
                        if now == "COUNT"
                        else f"{label} blocks again on {nouns} (overrideAction {now}, was {was})"
                    )
                    effect: Effect = "strengthens" if now == "NONE" else "weakens"
                    report.add("changed", f"{where}.overrideAction", was, now, effect, text)
                texts = (
                    f"{label}'s rule {{}} is excluded (counted, not blocked) on {nouns}",
                    f"{label}'s rule {{}} blocks again on {nouns}",
                )
                effects: tuple[Effect, Effect] = ("weakens", "strengthens")
                came_went(
                    report, f"{where}.excludeRules", _excluded(x), _excluded(y), texts, effects
                )
                rest = [
                    {k: v for k, v in e.items() if k not in ("overrideAction", "excludeRules")}
                    for e in (x, y)
                ]
                if rest[0] != rest[1]:
                    review(report, where, rest[0], rest[1])
            order = [[k for k in a if k in b], [k for k in b if k in a]]
            if order[0] != order[1]:
                text = (
                    f"the groups run in the order {', '.join(order[1])} (was {', '.join(order[0])})"
                )
                report.add("moved", f"{path}.order", order[0], order[1], "neutral", text)

        return handler

    def _entry_appears(
        self,
        report: Report,
        path: str,
        label: str,
        old: Mapping[str, Any] | None,
        new: Mapping[str, Any] | None,
        post: bool,
    ) -> None:
        kind: Kind = "added" if old is None else "removed"
        entry = new if old is None else old
        assert entry is not None
        index = 1 if kind == "added" else 0
        name = _group_words(label, self.groups[index]) if post else label
        every = f"every {self.scope.noun} in scope"
        effect: Effect
        if kind == "added":
            text, effect = f"{name} added ({every} gets it)", "strengthens"
        elif post and name.startswith("rate limit "):
            text = f"{name} removed: {self.scope.nouns} in scope lose the baseline's rate limit"
            effect = "weakens"
        else:
            text, effect = f"{name} removed ({every} loses it)", "weakens"
        if _override(entry) == "COUNT":  # a group that only counts blocks nothing either way
            text, effect = text + " (in count mode: overrideAction COUNT)", "neutral"
        report.add(kind, path, old, new, effect, text)

    def logging(self, report: Report, path: str, old: Any, new: Any) -> None:
        """The baseline web ACLs' logging: gone weakens; a destination moved is reviewed."""
        acls = f"the baseline web ACLs of {self.scope.nouns} in scope"
        a, b = (v if isinstance(v, Mapping) else None for v in (old, new))
        if a is None or b is None:
            logs = ", ".join(map(str, (b or a or {}).get("logDestinationConfigs") or []))
            text = (
                f"{acls} now log to {logs}"
                if a is None
                else f"{acls} no longer log (was to {logs})"
            )
            kind: Kind = "added" if a is None else "removed"
            report.add(kind, path, old, new, "strengthens" if a is None else "weakens", text)
            return
        for key in sorted(set(a) | set(b)):
            x, y, where = a.get(key), b.get(key), f"{path}.{key}"
            if x == y:
                continue
            if key == "logDestinationConfigs":
                to, was = (", ".join(map(str, v or [])) or "nowhere" for v in (y, x))
                text = f"{acls} now log to {to} (was {was}): check who reads it and for how long"
                report.add("moved", where, x, y, "weakens", text)
            elif key == "redactedFields":
                texts = (f"{acls} now redact {{}} in their logs", f"{acls} no longer redact {{}}")
                fields = [[compact(f) for f in v or []] for v in (x, y)]
                came_went(report, where, fields[0], fields[1], texts, ("neutral", "weakens"))
            else:
                review(report, where, x, y)

    def waf(
        self, report: Report, path: str, old: Mapping[str, Any], new: Mapping[str, Any]
    ) -> None:
        acl = f"the baseline web ACL of {self.scope.nouns} in scope"
        noun = self.scope.noun
        handlers: dict[str, Handler] = {
            PRE: self.rule_groups(post=False),
            POST: self.rule_groups(post=True),
            "loggingConfiguration": self.logging,
            "defaultAction": _default_action(acl),
            "overrideCustomerWebACLAssociation": toggle(
                f"Firewall Manager [now replaces a web ACL already associated with an {noun} in "
                "scope (a product stack's own rules give way to the baseline)|no longer replaces "
                f"a web ACL already associated with an {noun} (it is reported non-compliant)]"
            ),
            "optimizeUnassociatedWebACL": note("web ACLs are created only where used:"),
            "sampledRequestsEnabledForDefaultActions": note(f"{acl} samples default actions:"),
        }
        nested(handlers)(report, path, old, new)

    def shield(
        self, report: Report, path: str, old: Mapping[str, Any], new: Mapping[str, Any]
    ) -> None:
        handlers: dict[str, Handler] = {
            "automaticResponseConfiguration": _l7(self.scope),
            "optimizeUnassociatedWebACL": note("web ACLs are created only where used:"),
        }
        nested(handlers)(report, path, old, new)


def _default_action(acl: str) -> Handler:
    def handler(report: Report, path: str, old: Any, new: Any) -> None:
        a, b = ((v or {}).get("type") if isinstance(v, Mapping) else v for v in (old, new))
        ordered(("ALLOW", "BLOCK"), f"{acl}'s default action:")(report, path, a, b)

    return handler


def _l7(scope: Scope) -> Handler:
    """Shield's automatic L7 mitigation: ENABLED/BLOCK > ENABLED/COUNT > off, left or unset;
    the last three cannot be ordered (each account's own setting may be anything)."""

    def handler(report: Report, path: str, old: Any, new: Any) -> None:
        def state(value: Any) -> tuple[Any, Any]:
            if not isinstance(value, Mapping):
                return None, None
            status = value.get("automaticResponseStatus")
            return status, value.get("automaticResponseAction") if status == "ENABLED" else None

        a, b = state(old), state(new)
        if a == b:
            return
        x, y = L7_LEVELS.get(a, 0), L7_LEVELS.get(b, 0)
        now, was = ("/".join(str(v) for v in s if v) or "not set" for s in (b, a))
        words = L7_WORDS.get(b, f"is {now}")
        text = f"Shield's automatic L7 mitigation on {scope.nouns} in scope {words} "
        text += f"({now}; was {was})" + (": guard cannot order these, review it" if x == y else "")
        report.add("changed", path, old, new, "strengthens" if y > x else "weakens", text)

    return handler


Tags = tuple[str, str, frozenset[tuple[str, str]]]


def _tag_filter(inputs: Mapping[str, Any]) -> Tags:
    """(exclude|include|none, AND|OR, tags): which resources the policy's tags leave out or in."""
    tags = inputs.get("resourceTags") or {}
    operator = str(inputs.get("resourceTagLogicalOperator") or "AND").upper()
    if not tags:
        return "none", operator, frozenset()
    mode = "exclude" if inputs.get("excludeResourceTags") else "include"
    return mode, operator, frozenset((str(k), str(v)) for k, v in tags.items())


def _tag_words(tags: Tags) -> str:
    return f" {tags[1].lower()} ".join(f"{k}={v}" for k, v in sorted(tags[2])) or "nothing"


def _matches(a: Tags, b: Tags) -> str:
    """Whether tag filter ``b`` matches ``fewer``, ``more`` or the ``same`` resources as ``a``
    (same mode), or ``unknown``. AND (Firewall Manager's default): a resource must carry every
    tag; OR: any of them."""
    (_, op_a, tags_a), (_, op_b, tags_b) = a, b
    if tags_a == tags_b:
        if op_a == op_b or len(tags_a) < 2:
            return "same"
        return "more" if op_b == "OR" else "fewer"
    if op_a != op_b or not (tags_a < tags_b or tags_b < tags_a):
        return "unknown"
    more_tags = tags_b > tags_a
    return "fewer" if more_tags == (op_b == "AND") else "more"


def _tags(report: Report, scope: Scope, before: PlanResource, after: PlanResource) -> None:
    """excludeResourceTags, resourceTags and their operator, read together."""
    a, b = _tag_filter(before.inputs), _tag_filter(after.inputs)
    if a == b:
        return
    keys = ("excludeResourceTags", "resourceTags", "resourceTagLogicalOperator")
    old, new = ({k: r.inputs[k] for k in keys if k in r.inputs} for r in (before, after))
    nouns, was, now = scope.nouns, _tag_words(a), _tag_words(b)
    effect: Effect
    if a[0] == "none":
        effect = "weakens"
        text = (
            f"{nouns} tagged {now} are now left out of the policy (fewer {nouns} covered)"
            if b[0] == "exclude"
            else f"only {nouns} tagged {now} are in scope now (was every one)"
        )
    elif b[0] == "none":
        effect = "strengthens"
        text = (
            f"{nouns} tagged {was} are no longer left out of the policy"
            if a[0] == "exclude"
            else f"every {scope.noun} is in scope again, tagged or not (was only {was})"
        )
    elif a[0] != b[0]:
        effect = "weakens"
        text = f"the policy now {'leaves out' if b[0] == 'exclude' else 'covers only'} {nouns} "
        text += f"tagged {now} (it {'left out' if a[0] == 'exclude' else 'covered only'} {was}): "
        text += "review it"
    else:
        relation = _matches(a, b)
        verb = "are left out" if b[0] == "exclude" else "are the only ones in scope"
        text = f"{nouns} tagged {now} {verb} (was tagged {was})"
        if relation in ("same", "unknown"):
            effect = "neutral" if relation == "same" else "weakens"
            text += ": the same resources" if relation == "same" else ": review it"
        else:
            fewer_covered = (relation == "more") == (b[0] == "exclude")
            effect = "weakens" if fewer_covered else "strengthens"
            text += f": {'fewer' if fewer_covered else 'more'} {nouns} covered"
    report.add("changed", "resourceTags", old, new, effect, text)


def _scope_map(scope: Scope, include: bool) -> Handler:
    """includeMap (the accounts and OUs in scope; absent: every account) or excludeMap."""

    def handler(report: Report, path: str, old: Any, new: Any) -> None:
        def targets(value: Any) -> frozenset[str] | None:
            if not isinstance(value, Mapping):
                return None
            keys = ("accounts", "orgunits")
            return frozenset(str(t) for k in keys for t in value.get(k) or []) or None

        a, b = targets(old), targets(new)
        them = scope.nouns
        if a is not None and b is not None:
            texts = (f"{them} in {{}} are now in scope", f"{them} in {{}} are no longer in scope")
            effects: tuple[Effect, Effect] = ("strengthens", "weakens")
            if not include:
                texts = (
                    f"{them} in {{}} are now left out",
                    f"{them} in {{}} are no longer left out",
                )
                effects = ("weakens", "strengthens")
            came_went(report, path, a, b, texts, effects, target_words)
            return
        if a == b:
            return
        named = ", ".join(target_words(t) for t in sorted(b or a or ()))
        narrower = (a is None) == include
        if include:
            text = (
                f"{them} are now in scope in {named} only (was every account of the organization)"
                if a is None
                else f"{them} are in scope in every account of the organization (was only {named})"
            )
        else:
            text = f"{them} in {named} are {'now' if a is None else 'no longer'} left out"
        report.add("changed", path, old, new, "weakens" if narrower else "strengthens", text)

    return handler


def _policy_data(baseline: Baseline) -> Handler:
    """securityServicePolicyData: its type, and its ManagedServiceData read as a document."""

    def handler(report: Report, path: str, old: Any, new: Any) -> None:
        a, b = (dict(v) if isinstance(v, Mapping) else {} for v in (old, new))
        kind = a.pop("type", None)
        if kind != b.pop("type", None):
            review(report, path, old, new)  # another kind of policy altogether
            return
        texts = a.pop("managedServiceData", None), b.pop("managedServiceData", None)
        where = f"{path}.managedServiceData"
        if texts[0] != texts[1]:
            # No document at all (Shield on ALBs) reads as an empty one.
            x, y = (parse_managed_service_data(t)[0] if t is not None else {} for t in texts)
            if x is None or y is None:
                review(report, where, texts[0], texts[1])
            elif kind == "WAFV2":
                baseline.waf(report, where, x, y)
            elif kind == "SHIELD_ADVANCED":
                baseline.shield(report, where, x, y)
            else:
                review(report, where, x, y)
        if a != b:
            review(report, path, a, b)

    return handler


def _subject(policy: PlanResource) -> str:
    kind, _ = _service_data(policy)
    label = {"WAFV2": "FMS baseline", "SHIELD_ADVANCED": "FMS Shield"}.get(str(kind), "FMS policy")
    return f"{label} {policy.inputs.get('name', policy.name)}"


def firewall_manager(base: PlanDocument, head: PlanDocument, out: list[Change]) -> None:
    groups = (ours(base, RULE_GROUP), ours(head, RULE_GROUP))
    # Each rule group's policies, per side (0: base, 1: head), by the ARN their data names.
    users: dict[str, dict[int, list[PlanResource]]] = {}
    for index, document in enumerate((base, head)):
        for policy in ours(document, FMS_POLICY):
            for arn in _entries((_service_data(policy)[1] or {}).get(POST)):
                group = _group_of(arn, groups[index])
                if group is not None:
                    users.setdefault(group.urn, {}).setdefault(index, []).append(policy)
    for pair in pairs(ours(base, FMS_POLICY), ours(head, FMS_POLICY)):
        resource, kind = side(pair)
        scope, baseline = Scope.of(resource), Baseline(Scope.of(resource), groups)
        report = Report("organization", _subject(resource), out)
        if kind is None:
            handlers: dict[str, Handler] = {
                "securityServicePolicyData": _policy_data(baseline),
                **dict.fromkeys(
                    ("excludeResourceTags", "resourceTags", "resourceTagLogicalOperator"),
                    together,
                ),
                "includeMap": _scope_map(scope, include=True),
                "excludeMap": _scope_map(scope, include=False),
                "remediationEnabled": toggle(
                    "Firewall Manager [now fixes|only reports, no longer fixes,] non-compliant "
                    f"{scope.nouns} in scope"
                ),
                "deleteAllPolicyResources": note("deleting the policy cleans up what it made:"),
                "name": note("the policy is renamed"),
            }
            changed(report, "policy", pair, f"the policy {resource.inputs.get('name')}", handlers)
            _tags(report, scope, *both(pair))
            continue
        policy_type, data = _service_data(resource)
        if policy_type == "WAFV2":
            what = f"its web ACL ({baseline.summary(data or {}, 1 if kind == 'added' else 0)})"
        else:
            what = "Shield Advanced" if policy_type == "SHIELD_ADVANCED" else f"{policy_type}"
        texts = (
            f"Firewall Manager now enforces {what} on {scope.where} in scope",
            f"the policy is deleted: Firewall Manager no longer enforces {what} on {scope.where}",
        )
        appears(report, kind, "policy", pair, texts)
    for pair in pairs(*groups):
        resource, kind = side(pair)
        using = users.get(resource.urn, {})
        if kind is not None and using.get(1 if kind == "added" else 0):
            continue  # said with the policies that use it
        policies = using.get(1) or using.get(0) or []
        name = resource.inputs.get("name", resource.name)
        report = Report(
            "organization", _subject(policies[0]) if policies else f"rule group {name}", out
        )
        path = f"rule_groups[{name}]"
        if kind is not None:
            texts = (f"rule group {name} is created", f"rule group {name} is deleted")
            texts = (texts[0] + " (no policy uses it)", texts[1] + " (no policy used it)")
            appears(report, kind, path, pair, texts, ("neutral", "neutral"))
            continue
        handlers = {
            "rules": _rules(Scope.of(policies[0] if policies else None)),
            "capacity": note("the rule group's capacity (WCUs):"),
            "name": note("the rule group is renamed"),
        }
        changed(report, path, pair, f"the rule group {name}", handlers)


def _rules(scope: Scope) -> Handler:
    """A rule group's rules, by name: a rate limit compared as requests per second."""

    def handler(report: Report, path: str, old: Any, new: Any) -> None:
        a, b = (
            {str(r.get("name")): r for r in v or [] if isinstance(r, Mapping)} for v in (old, new)
        )
        for name in sorted(a.keys() | b.keys()):
            x, y, where = a.get(name), b.get(name), f"{path}[{name}]"
            if x is None or y is None:
                kind: Kind = "added" if x is None else "removed"
                text = (
                    f"rule {name} is {'added to' if x is None else 'removed from'} the baseline's "
                )
                text += f"rule group of {scope.nouns} in scope"
                report.add(kind, where, x, y, "strengthens" if x is None else "weakens", text)
                continue
            limits = [_limit(r) for r in (x, y)]
            if limits[0] != limits[1]:
                _rate_changed(report, f"{where}.rateBasedStatement", scope, *limits)
            review(report, where, _without_limit(x), _without_limit(y))

    return handler


def _rate_changed(
    report: Report,
    path: str,
    scope: Scope,
    old: tuple[Any, Any] | None,
    new: tuple[Any, Any] | None,
) -> None:
    """A rate limit: more requests per second pass (weakens) or fewer (strengthens)."""
    what = f"the baseline's rate limit on {scope.nouns} in scope"
    if old is None or new is None:
        limit, window = new or old or (None, None)
        text = f"{what} is {'added' if old is None else 'removed'}: " + _rate_words(limit, window)
        report.add("changed", path, old, new, "strengthens" if old is None else "weakens", text)
        return
    a, b = _per_second(*old), _per_second(*new)
    text = f"{what} is {_rate_words(*new)} (was {_rate_words(*old)}): "
    effect: Effect
    if a is None or b is None:
        effect, text = "weakens", text + "review it"
    elif a == b:
        effect, text = "neutral", text + "the same rate over another window"
    else:
        effect = "weakens" if b > a else "strengthens"
        text += f"{'more' if b > a else 'fewer'} requests pass before the block"
    report.add("changed", path, list(old), list(new), effect, text)


def _without_limit(rule: Mapping[str, Any]) -> dict[str, Any]:
    """A rule without its rate-based statement's limit and window (compared on their own)."""
    out = dict(rule)
    statement = dict(out.get("statement") or {})
    rate = statement.get("rateBasedStatement")
    if isinstance(rate, Mapping):
        keep = {k: v for k, v in rate.items() if k not in ("limit", "evaluationWindowSec")}
        out["statement"] = {**statement, "rateBasedStatement": keep}
    return out
