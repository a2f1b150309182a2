"""Every Shield protection has a DDoSDetected alarm on its resource that notifies someone."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, PolicyResource, Severity, StackValidationArgs

from guard.shield_alarms import watched_resource
from policies.framework import Meta, Report, as_list, stack_policy

META = Meta(
    name="shield-ddos-alarm",
    description="Every aws.shield.Protection has a CloudWatch alarm on AWS/DDoSProtection "
    "DDoSDetected with dimension ResourceArn equal to the protected resource and at least one "
    "alarm action.",
    severity=Severity.HIGH,
    enforcement=EnforcementLevel.MANDATORY,
    remediation="declare the protection through components.shield.ShieldAdvanced, which adds the "
    "alarm with the urgent alert route as its action.",
)
PROTECTION = "aws:shield/protection:Protection"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def _has_action(alarm: PolicyResource) -> bool:
    # Counting never reads a topic ARN, which may be unknown until its topic exists.
    return len(as_list(alarm.props.get("alarmActions"))) > 0


def check(args: StackValidationArgs, report: Report) -> None:
    alarms: dict[str, list[PolicyResource]] = {}
    for resource in args.resources:
        if resource.resource_type == ALARM:
            arn = watched_resource(resource.props)
            if arn is not None:
                alarms.setdefault(arn, []).append(resource)
    for protection in (r for r in args.resources if r.resource_type == PROTECTION):
        arn = protection.props.get("resourceArn")
        watching = alarms.get(arn, []) if isinstance(arn, str) else []
        if not watching:
            report(
                f"protection {protection.name} ({arn}) has no DDoSDetected alarm.", protection.urn
            )
        elif not any(_has_action(a) for a in watching):
            names = ", ".join(a.props.get("name") or a.name for a in watching)
            report(
                f"protection {protection.name} ({arn}): its DDoSDetected alarm {names} has no "
                "alarm action, so nobody hears of the attack.",
                protection.urn,
            )


POLICY = stack_policy(META, check)
