"""waf-logging-enabled: with guard:logs, every web ACL logs to an aws-waf-logs- Firehose stream."""

from __future__ import annotations

from typing import Any

from pulumi_policy import PolicyResource

from policies.rules.waf_logging_enabled import LOGGING, POLICY, STREAM
from tests.policies.support import resource, violations_of

WEB_ACL = "aws:wafv2/webAcl:WebAcl"
LOGS = {"bucket": "example-test-waf-logs"}
ARN = "arn:aws:firehose:ap-northeast-1:111111111111:deliverystream/aws-waf-logs-guard-test"


def web_acl(name: str = "guard-test-store-alb") -> PolicyResource:
    return resource(WEB_ACL, {"name": name, "scope": "REGIONAL"}, name)


def stream(name: str = "aws-waf-logs-guard-test-ap-northeast-1") -> PolicyResource:
    return resource(STREAM, {"name": name}, f"stream-{name}")


def logging(acl: PolicyResource, *destinations: PolicyResource, **props: Any) -> PolicyResource:
    return resource(
        LOGGING,
        props,
        acl.name,
        depends_on={"resourceArn": [acl], "logDestinationConfigs": list(destinations)},
    )


def check(resources: list[Any], **config: Any) -> list[str]:
    return violations_of(POLICY, resources, **config)


def test_every_web_acl_logging_to_a_waf_stream_passes() -> None:
    first, second, destination = web_acl(), web_acl("guard-test-store-cf"), stream()
    resources = [
        first,
        second,
        destination,
        logging(first, destination),
        logging(second, destination),
    ]
    assert check(resources, logs=LOGS) == []


def test_a_web_acl_without_logging_is_reported_by_name() -> None:
    logged, silent, destination = web_acl(), web_acl("guard-test-shop-alb"), stream()
    messages = check([logged, silent, destination, logging(logged, destination)], logs=LOGS)
    assert len(messages) == 1
    assert "guard-test-shop-alb has no logging configuration" in messages[0]


def test_a_stream_waf_would_refuse_is_reported() -> None:
    acl, destination = web_acl(), stream("guard-test-logs")
    (message,) = check([acl, destination, logging(acl, destination)], logs=LOGS)
    assert "guard-test-logs is not named aws-waf-logs-*" in message


def test_a_known_destination_arn_is_judged_by_its_name() -> None:
    acl = web_acl()
    good = logging(acl, logDestinationConfigs=[ARN])
    assert check([acl, good], logs=LOGS) == []
    bad = logging(acl, logDestinationConfigs=[ARN.replace("aws-waf-logs-", "waf-")])
    (message,) = check([acl, bad], logs=LOGS)
    assert "no aws-waf-logs- destination" in message


def test_without_guard_logs_nothing_is_required() -> None:
    assert check([web_acl()]) == []


def test_waived_for_one_web_acl_by_a_policy_exception() -> None:
    exception = {
        "policy": "waf-logging-enabled",
        "resource": "guard-test-store-alb",
        "reason": "internal tool, logs in its own account, reviewed 2026-11",
        "expires": "2027-01-31",
    }
    assert check([web_acl()], logs=LOGS, policy_exceptions=[exception]) == []
