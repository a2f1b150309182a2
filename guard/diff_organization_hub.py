"""``guard diff``'s organization area, Security Hub: the administrator account's own Security
Hub, central configuration, the finding aggregator's linked regions, the configuration
policy's standards and controls with the OUs and accounts it is associated with, and the rule
that announces every account's findings.

Read by :mod:`guard.diff_organization`, which runs it with the area's other parts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from guard import resource_types as rt
from guard.diff_detection import (
    describe,
    flat,
    pattern,
    rerouted,
    route_of,
    slack_message,
    standard_name,
)
from guard.diff_model import Change, Effect, Kind, PlanDocument, PlanResource, parse_json_text
from guard.diff_organization_parts import (
    HELD,
    changed,
    ours,
    region_of,
    target_words,
    together,
)
from guard.diff_parts import (
    Handler,
    Pair,
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
    target_name,
    toggle,
)

AGGREGATOR = "aws:securityhub/findingAggregator:FindingAggregator"
HUB_CONFIGURATION = "aws:securityhub/organizationConfiguration:OrganizationConfiguration"
HUB_POLICY = "aws:securityhub/configurationPolicy:ConfigurationPolicy"
HUB_ASSOCIATION = "aws:securityhub/configurationPolicyAssociation:ConfigurationPolicyAssociation"
#: The types this part reads (under the organization components).
TYPES = (
    rt.HUB,
    AGGREGATOR,
    HUB_CONFIGURATION,
    HUB_POLICY,
    HUB_ASSOCIATION,
    rt.EVENT_RULE,
    rt.EVENT_TARGET,
)
#: Whose findings the organization rule announces.
EVERY = "findings of every account"


# --- Security Hub ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Linking:
    """The regions a finding aggregator links: ``only`` these, or every one except these."""

    only: bool
    regions: frozenset[str]

    @classmethod
    def of(cls, inputs: Mapping[str, Any]) -> Linking:
        mode = str(inputs.get("linkingMode"))
        regions = frozenset(str(r) for r in inputs.get("specifiedRegions") or [])
        if mode in ("ALL_REGIONS", "ALL_REGIONS_EXCEPT_SPECIFIED"):
            return cls(False, regions if mode != "ALL_REGIONS" else frozenset())
        return cls(True, regions if mode == "SPECIFIED_REGIONS" else frozenset())

    def words(self) -> str:
        if self.only:
            return ", ".join(sorted(self.regions)) or "no other region"
        if not self.regions:
            return "every region"
        return f"every region except {', '.join(sorted(self.regions))}"


def _aggregator(report: Report, pair: Pair) -> None:
    """Which regions' findings reach the aggregation region: one lost weakens."""
    resource, kind = side(pair)
    home = region_of(resource)
    if kind is not None:
        linked = Linking.of(resource.inputs).words()
        texts = (
            f"findings of {linked} are now aggregated in {home}",
            f"the finding aggregator in {home} is deleted: findings of {linked} are no longer "
            "aggregated there",
        )
        appears(report, kind, "aggregator", pair, texts)
        return
    keys = ("linkingMode", "specifiedRegions")
    changed(report, "aggregator", pair, f"the aggregator in {home}", dict.fromkeys(keys, together))
    before, after = both(pair)
    a, b = Linking.of(before.inputs), Linking.of(after.inputs)
    if a == b:
        return
    if a.only == b.only:
        # Listed regions are linked (only) or not (except): the same list change, both ways.
        effects: tuple[Effect, Effect] = ("strengthens", "weakens")
        texts = (
            f"findings of {{}} are now aggregated in {home}",
            f"findings of {{}} are no longer aggregated in {home}",
        )
        if not a.only:
            texts, effects = (texts[1], texts[0]), (effects[1], effects[0])
        came_went(report, "aggregator.regions", a.regions, b.regions, texts, effects)
        return
    # Only some to all but some is wider when none of the old ones is now excluded.
    wider = a.only and not a.regions & b.regions
    old, new = ([r.inputs.get(k) for k in keys] for r in (before, after))
    text = f"the aggregator in {home} links {b.words()} (was {a.words()})"
    effect: Effect = "strengthens" if wider else "weakens"
    report.add("changed", "aggregator.linking", old, new, effect, text)


def _central(report: Report, path: str, old: Any, new: Any) -> None:
    """organizationConfiguration: CENTRAL (the policy decides) is stronger than LOCAL."""
    a, b = (dict(v) if isinstance(v, Mapping) else {} for v in (old, new))
    mode_a, mode_b = a.pop("configurationType", None), b.pop("configurationType", None)
    if mode_a != mode_b:
        central = mode_b == "CENTRAL"
        text = f"Security Hub's organization configuration is {mode_b} (was {mode_a}): the "
        text += "configuration policy " + ("decides" if central else "no longer decides")
        text += " what every account it reaches runs"
        effect: Effect = "strengthens" if central else "weakens"
        report.add("changed", f"{path}.configurationType", mode_a, mode_b, effect, text)
    if a != b:
        review(report, path, a, b)


def _policy_body(name: str) -> Handler:
    """A configuration policy's document: the service, its standards and its controls."""
    reaches = f"in every account the configuration policy {name} reaches"

    def standards(report: Report, path: str, old: Any, new: Any) -> None:
        a, b = ({standard_name(s)[0]: s for s in v or []} for v in (old, new))
        for alias in sorted(a.keys() ^ b.keys()):
            title = standard_name((a | b)[alias])[1]
            named = f"{title} ({alias})" if title != alias else alias
            if alias in b:
                text = f"{named} is now enabled {reaches}"
                report.add("added", f"{path}[{alias}]", None, b[alias], "strengthens", text)
            else:
                text = f"{named} is no longer enabled {reaches}"
                report.add("removed", f"{path}[{alias}]", a[alias], None, "weakens", text)

    def controls(disabling: bool) -> Handler:
        def handler(report: Report, path: str, old: Any, new: Any) -> None:
            checked = "checked again" if disabling else "now checked"
            texts = (f"{{}} is disabled {reaches}", f"{{}} is {checked} {reaches}")
            effects: tuple[Effect, Effect] = ("weakens", "strengthens")
            if not disabling:  # the list of enabled controls: one leaving is turned off
                texts, effects = (texts[1], texts[0]), (effects[1], effects[0])
            a, b = ([str(c) for c in v or ()] for v in (old, new))
            came_went(report, path, a, b, texts, effects)

        return handler

    return nested(
        {
            "serviceEnabled": toggle(f"Security Hub is [enabled|DISABLED] {reaches}"),
            "enabledStandardArns": standards,
            "securityControlsConfiguration": nested(
                {
                    "disabledControlIdentifiers": controls(disabling=True),
                    "enabledControlIdentifiers": controls(disabling=False),
                }
            ),
        }
    )


def _policy_words(resource: PlanResource) -> str:
    body = resource.inputs.get("configurationPolicy") or {}
    if body.get("serviceEnabled") is False:
        return "Security Hub DISABLED"
    standards = [standard_name(s)[0] for s in body.get("enabledStandardArns") or []]
    controls = body.get("securityControlsConfiguration") or {}
    disabled = [str(c) for c in controls.get("disabledControlIdentifiers") or []]
    words = f"standards {', '.join(standards) or 'none'}"
    return words + (f"; controls disabled: {', '.join(disabled)}" if disabled else "")


def security_hub(base: PlanDocument, head: PlanDocument, out: list[Change]) -> None:
    report = Report("organization", "Security Hub", out)
    for pair in pairs(ours(base, rt.HUB), ours(head, rt.HUB)):
        resource, kind = side(pair)
        what = f"Security Hub in the administrator account ({region_of(resource)})"
        if kind is None:
            handlers = {
                "autoEnableControls": toggle(
                    "new controls of subscribed standards [are|are no longer] enabled "
                    "automatically in the administrator account"
                ),
                "enableDefaultStandards": toggle(
                    "Security Hub [also|no longer] enables its default standards in the "
                    "administrator account"
                ),
                "controlFindingGenerator": note("Security Hub generates control findings as"),
            }
            changed(report, "account", pair, what, handlers)
            continue
        gone = f"{what} is disabled: central configuration and the aggregated findings need it"
        gone += HELD if resource.protect else ""
        appears(report, kind, "account", pair, (f"{what} is enabled", gone))
    for pair in pairs(ours(base, AGGREGATOR), ours(head, AGGREGATOR)):
        _aggregator(report, pair)
    for pair in pairs(ours(base, HUB_CONFIGURATION), ours(head, HUB_CONFIGURATION)):
        resource, kind = side(pair)
        what, path = "Security Hub's organization configuration", "organization_configuration"
        if kind is None:
            handlers = {
                "organizationConfiguration": _central,
                "autoEnable": toggle(
                    "new member accounts [get|no longer get] Security Hub enabled automatically"
                ),
                "autoEnableStandards": ordered(
                    ("NONE", "DEFAULT"), "new member accounts get the default standards:"
                ),
            }
            changed(report, path, pair, what, handlers)
            continue
        mode = (resource.inputs.get("organizationConfiguration") or {}).get("configurationType")
        texts = (
            f"{what} is now declared ({mode})",
            f"{what} leaves the stack (was {mode}): nothing in the stack keeps every account on "
            "central configuration",
        )
        effects: tuple[Effect, Effect] = (
            ("strengthens", "weakens") if mode == "CENTRAL" else ("neutral", "neutral")
        )
        appears(report, kind, path, pair, texts, effects)
    policies = pairs(ours(base, HUB_POLICY), ours(head, HUB_POLICY))
    associations = pairs(ours(base, HUB_ASSOCIATION), ours(head, HUB_ASSOCIATION))
    whole = {side(p)[1] for p in policies} - {None}
    for pair in policies:
        resource, kind = side(pair)
        name = str(resource.inputs.get("name", resource.name))
        path = f"configuration_policy[{name}]"
        if kind is None:
            handlers = {
                "configurationPolicy": _policy_body(name),
                "name": note("the configuration policy is renamed"),
            }
            changed(report, path, pair, f"the configuration policy {name}", handlers)
            continue
        # The targets it had (removed) or gets (added): its associations on the same side.
        document = head if kind == "added" else base
        reach = ", ".join(
            sorted(target_words(a.inputs.get("targetId")) for a in ours(document, HUB_ASSOCIATION))
        )
        words = _policy_words(resource)
        texts = (
            f"the configuration policy {name} ({words}) now applies to {reach or 'no target'}",
            f"the configuration policy {name} ({words}) is deleted: "
            f"{reach or 'no target'} no longer get it",
        )
        on = (resource.inputs.get("configurationPolicy") or {}).get("serviceEnabled") is not False
        appears(
            report,
            kind,
            path,
            pair,
            texts,
            ("strengthens", "weakens") if on else ("weakens", "strengthens"),
        )
    for pair in associations:
        resource, kind = side(pair)
        if kind is not None and kind in whole:
            continue  # said with its policy
        target = resource.inputs.get("targetId")
        path = f"configuration_policy.targets[{target}]"
        if kind is None:
            changed(report, path, pair, f"the association with {target}", {})
            continue
        texts = (
            f"Security Hub's configuration policy now applies to {target_words(target)}",
            f"Security Hub's configuration policy no longer applies to {target_words(target)}",
        )
        appears(report, kind, path, pair, texts)


# --- the organization findings rule ------------------------------------------------------------


def _rule_words(rule: PlanResource | None, target: PlanResource | None) -> tuple[str, str]:
    """What a rule announces, and the channel it goes to (its target's route, or its tag)."""
    fields = flat(parse_json_text(rule.inputs.get("eventPattern"))) if rule else {}
    labels = fields.get("detail.findings.Severity.Label")
    return (
        f"Security Hub {describe(labels) + ' ' if labels else ''}findings of every account",
        f"the {route_of(rule, target)} channel",
    )


def routing(base: PlanDocument, head: PlanDocument, out: list[Change]) -> None:
    report = Report("organization", "organization findings", out)
    targets = [{t.inputs.get("rule"): t for t in ours(d, rt.EVENT_TARGET)} for d in (base, head)]
    rules = {r.inputs.get("name"): r for d in (base, head) for r in ours(d, rt.EVENT_RULE)}
    whole: dict[Any, Kind] = {}
    for pair in pairs(ours(base, rt.EVENT_RULE), ours(head, rt.EVENT_RULE)):
        resource, kind = side(pair)
        name = resource.inputs.get("name")
        what, channel = _rule_words(resource, targets[1].get(name) or targets[0].get(name))
        path = f"rules[{resource.name}]"
        if kind is None:
            handlers = {
                "eventPattern": pattern(EVERY, channel, judge_matchers=False),
                "name": note("the rule is renamed"),
                "state": toggle(f"the rule [announces|no longer announces] {what}"),
            }
            changed(report, path, pair, f"the rule {name}", handlers)
            continue
        whole[name] = kind  # its target comes and goes with it
        texts = (
            f"{what} now reach {channel} (rule {name})",
            f"{what} no longer reach {channel}: rule {name} is deleted",
        )
        appears(report, kind, path, pair, texts)
    for pair in pairs(ours(base, rt.EVENT_TARGET), ours(head, rt.EVENT_TARGET)):
        resource, kind = side(pair)
        name = resource.inputs.get("rule")
        if kind is not None and whole.get(name) == kind:
            continue
        rule = rules.get(name)
        what, _ = _rule_words(rule, resource)
        path = f"rules[{rule.name if rule else name}].target"
        if kind is None:
            handlers = {"arn": rerouted(what), "inputTransformer": slack_message("finding")}
            changed(report, path, pair, f"the target of {name}", handlers)
            continue
        where = target_name(str(resource.inputs.get("arn")))
        texts = (f"{what} now also go to {where}", f"{what} no longer go to {where}")
        appears(report, kind, path, pair, texts)
