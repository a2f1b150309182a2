"""sns-encrypted: topics use a rotating KMS key that their publishing services may use."""

from __future__ import annotations

import json
from typing import Any

from components.alerts import key_policy
from policies.rules.sns_encrypted import KEY, POLICY, TARGET, TOPIC
from tests.policies.support import resource, violations_of

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"


def key(policy: dict[str, Any], rotation: bool = True) -> Any:
    return resource(
        KEY, {"enableKeyRotation": rotation, "policy": json.dumps(policy)}, "alerts-key"
    )


def topic_with(alert_key: Any) -> Any:
    return resource(
        TOPIC,
        {"kmsMasterKeyId": "arn:aws:kms:x"},
        "alerts",
        depends_on={"kmsMasterKeyId": [alert_key]},
    )


def published_by_rule_and_alarm(topic: Any) -> list[Any]:
    return [
        resource(TARGET, {}, "rule-target", depends_on={"arn": [topic]}),
        resource(ALARM, {}, "ddos", depends_on={"alarmActions": [topic]}),
    ]


def test_guards_own_key_policy_passes_for_eventbridge_and_cloudwatch() -> None:
    alert_key = key(key_policy("111111111111"))
    topic = topic_with(alert_key)
    assert violations_of(POLICY, [alert_key, topic, *published_by_rule_and_alarm(topic)]) == []


def test_key_without_the_publishers_is_reported_for_each_service() -> None:
    admin_only = key_policy("111111111111")
    admin_only["Statement"] = admin_only["Statement"][:1]
    alert_key = key(admin_only)
    topic = topic_with(alert_key)
    found = violations_of(POLICY, [alert_key, topic, *published_by_rule_and_alarm(topic)])
    assert len(found) == 2
    assert found[0].startswith("cloudwatch.amazonaws.com publishes to topic alerts")
    assert found[1].startswith("events.amazonaws.com publishes to topic alerts")
    assert "kms:GenerateDataKey and kms:Decrypt" in found[1]


def test_key_without_rotation_is_reported() -> None:
    alert_key = key(key_policy("111111111111"), rotation=False)
    (message,) = violations_of(POLICY, [alert_key, topic_with(alert_key)])
    assert message.startswith("the key alerts-key of topic alerts does not rotate.")


def test_unencrypted_topic_is_reported() -> None:
    (message,) = violations_of(POLICY, [resource(TOPIC, {"name": "plain"}, "plain")])
    assert message.startswith("topic plain is not encrypted")


def test_aws_managed_key_is_fine_alone_but_not_for_service_publishers() -> None:
    topic = resource(TOPIC, {"kmsMasterKeyId": "alias/aws/sns"}, "managed")
    assert violations_of(POLICY, [topic]) == []
    (message,) = violations_of(POLICY, [topic, *published_by_rule_and_alarm(topic)[:1]])
    assert (
        "uses the AWS managed key alias/aws/sns, which events.amazonaws.com cannot use" in message
    )
