"""Every alarm acts and every event rule has a target: an alert that goes nowhere is no alert."""

from __future__ import annotations

from typing import Any

from pulumi_policy import EnforcementLevel, PolicyResource, Severity, StackValidationArgs
from pulumi_policy.proxy import UnknownValueError

from policies.framework import Meta, Report, stack_policy

META = Meta(
    name="alerting-targets",
    description="Every CloudWatch alarm has an alarm action (and actions enabled), and every "
    "EventBridge rule has at least one target.",
    severity=Severity.HIGH,
    enforcement=EnforcementLevel.MANDATORY,
    remediation="publish to an alert route (AlertRoutes.topic_arn(route, region)): set the "
    "alarm's alarm_actions, or declare an EventTarget whose rule is the rule's name output.",
    control="Security Hub CloudWatch.15",
)
ALARMS = {"aws:cloudwatch/metricAlarm:MetricAlarm", "aws:cloudwatch/compositeAlarm:CompositeAlarm"}
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
_UNKNOWN = object()


def _get(resource: PolicyResource, key: str) -> Any:
    """A property, or ``_UNKNOWN`` when it is an output not known until the update."""
    try:
        return resource.props.get(key)
    except UnknownValueError:
        return _UNKNOWN


def _has_actions(alarm: PolicyResource) -> bool:
    if alarm.property_dependencies.get("alarmActions"):
        return True
    actions = _get(alarm, "alarmActions")
    # Unknown at preview means computed from other resources' outputs: actions are declared.
    return actions is _UNKNOWN or bool(actions is not None and len(actions) > 0)


def _targets(rule: PolicyResource, resources: list[PolicyResource]) -> list[PolicyResource]:
    name = _get(rule, "name")

    def aims_at_rule(target: PolicyResource) -> bool:
        # The target's rule is usually the rule's name output: related by dependency at preview.
        if any(d.urn == rule.urn for d in target.property_dependencies.get("rule", [])):
            return True
        return name not in (None, _UNKNOWN) and _get(target, "rule") == name

    return [r for r in resources if r.resource_type == TARGET and aims_at_rule(r)]


def check(args: StackValidationArgs, report: Report) -> None:
    for alarm in (r for r in args.resources if r.resource_type in ALARMS):
        if not _has_actions(alarm):
            report(f"alarm {alarm.name} has no alarm action: nobody hears it.", alarm.urn)
        elif _get(alarm, "actionsEnabled") is False:
            report(f"alarm {alarm.name} has its actions disabled: nobody hears it.", alarm.urn)
    for rule in (r for r in args.resources if r.resource_type == RULE):
        if not _targets(rule, args.resources):
            report(f"event rule {rule.name} has no target: its events go nowhere.", rule.urn)


POLICY = stack_policy(META, check)
