"""alerting-targets: every alarm has an action, every event rule a target."""

from __future__ import annotations

from policies.rules.alerting_targets import POLICY, RULE, TARGET
from tests.policies.support import resource, violations_of

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TOPIC = "aws:sns/topic:Topic"


def test_alarm_publishing_to_a_topic_passes_and_one_without_actions_fails() -> None:
    topic = resource(TOPIC, {"name": "alerts"}, "alerts")
    acting = resource(
        ALARM, {"alarmActions": ["arn"]}, "ddos", depends_on={"alarmActions": [topic]}
    )
    assert violations_of(POLICY, [topic, acting]) == []
    silent = resource(ALARM, {"alarmActions": []}, "ddos")
    (message,) = violations_of(POLICY, [topic, silent])
    assert message.startswith("alarm ddos has no alarm action")


def test_alarm_with_actions_disabled_fails() -> None:
    muted = resource(ALARM, {"alarmActions": ["arn:aws:sns:x"], "actionsEnabled": False}, "ddos")
    (message,) = violations_of(POLICY, [muted])
    assert message.startswith("alarm ddos has its actions disabled")


def test_rule_with_a_target_passes_by_dependency_or_by_name() -> None:
    rule = resource(
        RULE, {"name": "guard-prod-guardduty-urgent-instance"}, "guardduty-urgent-instance"
    )
    by_dependency = resource(TARGET, {}, "t", depends_on={"rule": [rule]})
    assert violations_of(POLICY, [rule, by_dependency]) == []
    by_name = resource(TARGET, {"rule": "guard-prod-guardduty-urgent-instance"}, "t")
    assert violations_of(POLICY, [rule, by_name]) == []


def test_rule_without_target_fails() -> None:
    rule = resource(
        RULE, {"name": "guard-prod-guardduty-urgent-instance"}, "guardduty-urgent-instance"
    )
    elsewhere = resource(TARGET, {"rule": "another-rule"}, "t")
    (message,) = violations_of(POLICY, [rule, elsewhere])
    assert message.startswith("event rule guardduty-urgent-instance has no target")
