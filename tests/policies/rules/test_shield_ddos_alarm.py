"""shield-ddos-alarm: every protection has a DDoSDetected alarm on its resource, with an action."""

from __future__ import annotations

from typing import Any

from pulumi.runtime.rpc import UNKNOWN
from pulumi_policy.proxy import unknown_checking_proxy

from policies.rules import shield_ddos_alarm
from tests.policies.support import resource, violations_of

PROTECTION = "aws:shield/protection:Protection"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
ARN = "arn:aws:cloudfront::111111111111:distribution/E2EXAMPLE1"
TOPIC = "arn:aws:sns:us-east-1:111111111111:guard-prod-urgent"


def alarm(**overrides: Any) -> dict[str, Any]:
    props = {
        "name": "guard-prod-ebook-cdn-ddos",
        "namespace": "AWS/DDoSProtection",
        "metricName": "DDoSDetected",
        "dimensions": {"ResourceArn": ARN},
        "alarmActions": [TOPIC],
    }
    props.update(overrides)
    return props


def check(*alarms: dict[str, Any]) -> list[str]:
    resources = [resource(PROTECTION, {"resourceArn": ARN}, "ebook-cdn")]
    resources += [resource(ALARM, props, f"alarm-{i}") for i, props in enumerate(alarms)]
    return violations_of(shield_ddos_alarm.POLICY, resources)


def test_protection_with_its_alarm_passes() -> None:
    assert check(alarm()) == []


def test_protection_without_alarm() -> None:
    found = check()
    assert len(found) == 1 and "no DDoSDetected alarm" in found[0] and ARN in found[0]


def test_alarm_on_another_resource_does_not_count() -> None:
    other = "arn:aws:cloudfront::111111111111:distribution/E2EXAMPLE2"
    found = check(alarm(dimensions={"ResourceArn": other}))
    assert len(found) == 1 and "no DDoSDetected alarm" in found[0]


def test_alarm_on_another_metric_does_not_count() -> None:
    assert len(check(alarm(metricName="DDoSAttackBitsPerSecond"))) == 1


def test_alarm_without_action() -> None:
    found = check(alarm(alarmActions=[]))
    assert len(found) == 1 and "no alarm action" in found[0]


def test_topic_unknown_at_preview_still_counts_as_an_action() -> None:
    # The urgent topic may be created in the same update: its ARN is unknown during preview,
    # but the alarm visibly has one action; the policy must decide without reading it.
    props = unknown_checking_proxy(alarm(alarmActions=[UNKNOWN]))
    assert check(props) == []
