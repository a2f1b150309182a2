"""The WAF sample digest: WAF answered by botocore's Stubber, SNS by a moto server.

moto 5.2.5 does not implement wafv2 GetSampledRequests, so each web ACL's client is a stubbed
boto3 client (requests are still validated against AWS's API model, offline). The digest is
published to a real (moto) SNS topic and read back from an SQS queue subscribed to it, so the
tests look at the message Slack would receive.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from functions.waf_samples import handler
from tests.aws_samples import load_sample
from tests.conftest import topic_with_queue

ACCOUNT = "123456789012"
REGIONAL_ARN = (
    "arn:aws:wafv2:ap-northeast-1:123456789012:regional/webacl/guard-prod-shop-alb/"
    "11111111-2222-4333-8444-555555555555"
)
CLOUDFRONT_ARN = (
    "arn:aws:wafv2:us-east-1:123456789012:global/webacl/guard-prod-shop-cf/"
    "66666666-7777-4888-8999-000000000000"
)
SCHEDULED = {"time": "2026-11-25T14:05:00Z"}
START = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)
END = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)

pytestmark = pytest.mark.usefixtures("aws_env")


# --- WAF, stubbed ----------------------------------------------------------------------------


def rule(name: str, statement: dict[str, Any], **action: Any) -> dict[str, Any]:
    return {
        "Name": name,
        "Priority": 0,
        "Statement": statement,
        **(action or {"Action": {"Block": {}}}),
        "VisibilityConfig": {
            "SampledRequestsEnabled": True,
            "CloudWatchMetricsEnabled": True,
            "MetricName": f"shop-{name}",
        },
    }


RATE = {"RateBasedStatement": {"Limit": 100, "AggregateKeyType": "IP"}}
COMMON = {
    "ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": "AWSManagedRulesCommonRuleSet"}
}


def sample(
    action: str,
    uri: str,
    ip: str = "203.0.113.7",
    method: str = "GET",
    inner: str | None = None,
    weight: int | None = 1,
) -> dict[str, Any]:
    found: dict[str, Any] = {
        "Request": {
            "ClientIP": ip,
            "Country": "JP",
            "URI": uri,
            "Method": method,
            "HTTPVersion": "HTTP/2.0",
            "Headers": [{"Name": "Authorization", "Value": "Bearer secret-token"}],
        },
        "Timestamp": datetime(2026, 11, 25, 13, 30, tzinfo=UTC),
        "Action": action,
    }
    if weight is not None:
        found["Weight"] = weight
    if inner is not None:
        found["RuleNameWithinRuleGroup"] = inner
    return found


class Waf:
    """Stubbed WAF clients by region, with the expected calls queued in order."""

    def __init__(self) -> None:
        self.clients: dict[str, Any] = {}
        self.stubs: dict[str, Stubber] = {}

    def client(self, region: str) -> Any:
        if region not in self.clients:
            self.clients[region] = boto3.client("wafv2", region_name=region)
            self.stubs[region] = Stubber(self.clients[region])
            self.stubs[region].activate()
        return self.clients[region]

    def web_acl(
        self, arn: str, scope: str, rules: list[tuple[dict[str, Any], list[dict[str, Any]], int]]
    ) -> None:
        """Expect GetWebACL, then GetSampledRequests per rule over the scheduled hour."""
        region = arn.split(":")[3]
        name, acl_id = arn.split("/")[-2:]
        stub = self.stubs[region] if region in self.stubs else self._new(region)
        stub.add_response(
            "get_web_acl",
            {
                "WebACL": {
                    "Name": name,
                    "Id": acl_id,
                    "ARN": arn,
                    "DefaultAction": {"Allow": {}},
                    "Rules": [r for r, _, _ in rules],
                    "VisibilityConfig": {
                        "SampledRequestsEnabled": True,
                        "CloudWatchMetricsEnabled": True,
                        "MetricName": name,
                    },
                },
                "LockToken": "token",
            },
            {"Name": name, "Scope": scope, "Id": acl_id},
        )
        for found_rule, samples, population in rules:
            stub.add_response(
                "get_sampled_requests",
                {
                    "SampledRequests": samples,
                    "PopulationSize": population,
                    "TimeWindow": {"StartTime": START, "EndTime": END},
                },
                {
                    "WebAclArn": arn,
                    "RuleMetricName": found_rule["VisibilityConfig"]["MetricName"],
                    "Scope": scope,
                    "TimeWindow": {"StartTime": START, "EndTime": END},
                    "MaxItems": 100,
                },
            )

    def refuse(self, arn: str, scope: str, code: str) -> None:
        region = arn.split(":")[3]
        stub = self.stubs[region] if region in self.stubs else self._new(region)
        stub.add_client_error("get_web_acl", service_error_code=code, service_message="denied")

    def _new(self, region: str) -> Stubber:
        self.client(region)
        return self.stubs[region]

    def assert_all_called(self) -> None:
        for stub in self.stubs.values():
            stub.assert_no_pending_responses()


@pytest.fixture
def waf(monkeypatch: pytest.MonkeyPatch) -> Iterator[Waf]:
    fake = Waf()
    monkeypatch.setattr(handler, "waf_client", fake.client)
    yield fake
    for stub in fake.stubs.values():
        stub.deactivate()


# --- SNS, on moto ----------------------------------------------------------------------------


@pytest.fixture
def topic(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The normal alert topic, with a raw-delivery SQS queue to read what was published."""
    arn, queue_url = topic_with_queue(
        boto3.client("sns", region_name="ap-northeast-1"),
        boto3.client("sqs", region_name="ap-northeast-1"),
        "guard-prod-alerts-normal",
    )
    monkeypatch.setenv("TOPIC_ARN", arn)
    monkeypatch.setenv("STACK", "prod")
    monkeypatch.setenv("ATHENA_WORKGROUP", "guard-prod-waf-logs")
    monkeypatch.setenv(
        "WEB_ACLS",
        json.dumps(
            [
                {"name": "guard-prod-shop-alb", "scope": "REGIONAL", "arn": REGIONAL_ARN},
                {"name": "guard-prod-shop-cf", "scope": "CLOUDFRONT", "arn": CLOUDFRONT_ARN},
            ]
        ),
    )
    yield queue_url


def posted(queue_url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs", region_name="ap-northeast-1")
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def busy_hour(waf: Waf) -> None:
    waf.web_acl(
        REGIONAL_ARN,
        "REGIONAL",
        [
            (
                rule("rate-login", RATE),
                [
                    sample("BLOCK", "/login", method="POST"),
                    sample("BLOCK", "/login", method="POST"),
                ],
                1234,
            ),
            (
                rule("aws-common", COMMON, OverrideAction={"None": {}}),
                [
                    sample("COUNT", "/search", ip="198.51.100.2", inner="CrossSiteScripting_BODY"),
                    sample("ALLOW", "/allowed-and-not-shown"),
                ],
                15,
            ),
            (rule("allow-office", RATE, Action={"Allow": {}}), [sample("ALLOW", "/office")], 3),
        ],
    )
    waf.web_acl(
        CLOUDFRONT_ARN,
        "CLOUDFRONT",
        [
            (
                rule("aws-ip-reputation", COMMON, OverrideAction={"None": {}}),
                [sample("BLOCK", "/", ip="192.0.2.1", inner="AWSManagedIPReputationList")],
                40,
            )
        ],
    )


# --- tests -----------------------------------------------------------------------------------


def test_blocked_and_counted_samples_are_posted_as_one_digest(waf: Waf, topic: str) -> None:
    busy_hour(waf)

    summary = handler.lambda_handler(SCHEDULED, None)

    waf.assert_all_called()  # each rule of both web ACLs, over 13:00 to 14:00 UTC
    assert summary["posted"] is True and summary["failed"] == []
    assert summary["samples"] == {"guard-prod-shop-alb": 3, "guard-prod-shop-cf": 1}
    (message,) = posted(topic)
    assert message["version"] == "1.0" and message["source"] == "custom"
    content = message["content"]
    assert content["textType"] == "client-markdown"
    assert content["title"] == (
        "WAF prod: 3 blocked, 1 counted in sampled requests, 2026-11-25 13:00 to 14:00 UTC"
    )
    text = content["description"]
    assert (
        "*guard-prod-shop-alb* (REGIONAL)" in text and "*guard-prod-shop-cf* (CLOUDFRONT)" in text
    )
    assert "• `rate-login`: 2 blocked of ≈1,234 matched" in text
    assert "• `aws-common`: 1 counted (CrossSiteScripting_BODY 1) of ≈15 matched" in text
    assert "• BLOCK `POST /login` from 203.0.113.7 (JP) by `rate-login`" in text
    assert "by `aws-ip-reputation / AWSManagedIPReputationList`" in text
    assert "Top clients: 203.0.113.7 (JP) 2, 198.51.100.2 (JP) 1" in text
    # Allowed requests are not the digest's business; credentials never leave WAF's sample.
    assert "/allowed-and-not-shown" not in text and "/office" not in text
    assert "secret-token" not in json.dumps(message)
    assert any("guard-prod-waf-logs" in step for step in content["nextSteps"])
    assert message["metadata"]["threadId"] == "guard-prod-waf-samples-2026-11-25"


SQLI_METRIC = "AWS-AWSManagedRulesSQLiRuleSet"
SQLI_RULE = {
    "Name": SQLI_METRIC,
    "Priority": 1,
    "Statement": {
        "ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": "AWSManagedRulesSQLiRuleSet"}
    },
    "OverrideAction": {"None": {}},
    "VisibilityConfig": {
        "SampledRequestsEnabled": True,
        "CloudWatchMetricsEnabled": True,
        "MetricName": SQLI_METRIC,
    },
}


def aws_sampled_requests() -> tuple[list[dict[str, Any]], int]:
    """The AWS CLI reference's GetSampledRequests output: four samples of one client that WAF
    weights 1, 3, 1 and 1, as ``AWS#AWSManagedRulesSQLiRuleSet#SQLi_BODY``. Its epoch-second
    timestamps become datetimes, the type botocore hands the handler."""
    response = load_sample("waf_get_sampled_requests_sqli")
    samples = response["SampledRequests"]
    for found in samples:
        found["Timestamp"] = datetime.fromtimestamp(found["Timestamp"], UTC)
    return samples, response["PopulationSize"]


def test_aws_sample_is_counted_by_weight_and_names_the_inner_rule(waf: Waf, topic: str) -> None:
    samples, population = aws_sampled_requests()
    waf.web_acl(REGIONAL_ARN, "REGIONAL", [(SQLI_RULE, samples, population)])
    waf.web_acl(CLOUDFRONT_ARN, "CLOUDFRONT", [])

    handler.lambda_handler(SCHEDULED, None)

    (message,) = posted(topic)
    assert message["content"]["title"] == (
        "WAF prod: 6 blocked in sampled requests, 2026-11-25 13:00 to 14:00 UTC"
    )
    lines = message["content"]["description"].split("\n")
    assert lines == [
        "*guard-prod-shop-alb* (REGIONAL)",
        "• `AWS-AWSManagedRulesSQLiRuleSet`: 6 blocked (SQLi_BODY 6) of ≈4 matched",
        "Top clients: 198.51.100.08 (US) 6",
        "Examples:",
        "• BLOCK `POST /` from 198.51.100.08 (US) by `AWS-AWSManagedRulesSQLiRuleSet / SQLi_BODY`",
    ]


def test_every_count_is_of_requests_not_samples(waf: Waf, topic: str) -> None:
    waf.web_acl(
        REGIONAL_ARN,
        "REGIONAL",
        [
            (
                rule("rate-login", RATE),
                [sample("BLOCK", "/login", ip="203.0.113.9", weight=1) for _ in range(3)],
                3,
            ),
            (
                rule("aws-common", COMMON, OverrideAction={"None": {}}),
                [
                    sample(
                        "COUNT",
                        "/a",
                        ip="198.51.100.2",
                        weight=5,
                        inner="AWS#G#SizeRestrictions_BODY",
                    ),
                    sample(
                        "BLOCK", "/b", ip="198.51.100.3", weight=2, inner="AWS#G#GenericLFI_BODY"
                    ),
                    sample(
                        "BLOCK", "/c", ip="198.51.100.3", weight=2, inner="AWS#G#GenericLFI_BODY"
                    ),
                ],
                9,
            ),
        ],
    )
    waf.web_acl(CLOUDFRONT_ARN, "CLOUDFRONT", [])

    handler.lambda_handler(SCHEDULED, None)

    (message,) = posted(topic)
    assert message["content"]["title"].startswith("WAF prod: 7 blocked, 5 counted in sampled")
    text = message["content"]["description"]
    rule_lines = [line for line in text.split("\n") if line.startswith("• `")]
    # The rule that stands for more requests comes first, though it has fewer samples.
    assert rule_lines == [
        "• `aws-common`: 4 blocked, 5 counted (SizeRestrictions_BODY 5, GenericLFI_BODY 4) of ≈9 matched",
        "• `rate-login`: 3 blocked of ≈3 matched",
    ]
    assert "Top clients: 198.51.100.2 (JP) 5, 198.51.100.3 (JP) 4, 203.0.113.9 (JP) 3" in text


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("AWS#AWSManagedRulesSQLiRuleSet#SQLi_BODY", "SQLi_BODY"),
        ("AWS#AWSManagedRulesKnownBadInputsRuleSet#Log4JRCE_QUERYSTRING", "Log4JRCE_QUERYSTRING"),
        ("CrossSiteScripting_BODY", "CrossSiteScripting_BODY"),
        ("", ""),
    ],
)
def test_inner_rule_names_drop_vendor_and_group(raw: str, shown: str) -> None:
    assert handler.inner_rule_name(raw) == shown


def test_a_sample_without_weight_stands_for_one_request() -> None:
    found = sample("BLOCK", "/", weight=None)
    parsed = handler._sample(found, "rate-login")
    assert parsed is not None and parsed.weight == 1
    assert handler._sample(sample("BLOCK", "/", weight=4), "rate-login").weight == 4  # type: ignore[union-attr]


def test_a_quiet_hour_posts_nothing(waf: Waf, topic: str) -> None:
    waf.web_acl(REGIONAL_ARN, "REGIONAL", [(rule("rate-login", RATE), [], 0)])
    waf.web_acl(
        CLOUDFRONT_ARN,
        "CLOUDFRONT",
        [(rule("allow-office", RATE, Action={"Allow": {}}), [sample("ALLOW", "/")], 1)],
    )

    summary = handler.lambda_handler(SCHEDULED, None)

    waf.assert_all_called()
    assert summary["posted"] is False
    assert posted(topic) == []


def test_request_data_cannot_ping_the_channel_or_break_out_of_code(waf: Waf, topic: str) -> None:
    hostile = "/search<!channel>`*bold*`\n<https://evil.example|click>"
    waf.web_acl(
        REGIONAL_ARN, "REGIONAL", [(rule("rate-login", RATE), [sample("BLOCK", hostile)], 1)]
    )
    waf.web_acl(CLOUDFRONT_ARN, "CLOUDFRONT", [])

    handler.lambda_handler(SCHEDULED, None)

    (message,) = posted(topic)
    text = message["content"]["description"]
    assert "<!channel>" not in text and "<https://" not in text
    assert "&lt;!channel&gt;" in text
    (line,) = [line for line in text.splitlines() if line.startswith("• BLOCK")]
    # Exactly the backticks the digest opened and closed: the path stays inside its code span.
    assert line.count("`") == 4


def test_an_unreadable_web_acl_is_reported_then_the_run_fails(waf: Waf, topic: str) -> None:
    waf.refuse(REGIONAL_ARN, "REGIONAL", "WAFNonexistentItemException")
    waf.web_acl(
        CLOUDFRONT_ARN,
        "CLOUDFRONT",
        [(rule("rate-login", RATE), [sample("BLOCK", "/login")], 5)],
    )

    with pytest.raises(handler.SamplingFailed, match="guard-prod-shop-alb"):
        handler.lambda_handler(SCHEDULED, None)

    # What could be read is still posted, with the gap spelled out.
    (message,) = posted(topic)
    text = message["content"]["description"]
    assert "could not be sampled: WAFNonexistentItemException: denied" in text
    assert "• `rate-login`: 1 blocked of ≈5 matched" in text


def test_a_long_digest_is_shortened_to_what_slack_shows(waf: Waf, topic: str) -> None:
    rules = [
        (
            rule(f"rule-{n}", RATE),
            [sample("BLOCK", f"/{'x' * 200}/{n}", ip=f"203.0.113.{n}", inner="y" * 200)],
            n,
        )
        for n in range(12)
    ]
    waf.web_acl(REGIONAL_ARN, "REGIONAL", rules)
    waf.web_acl(CLOUDFRONT_ARN, "CLOUDFRONT", rules)

    handler.lambda_handler(SCHEDULED, None)

    (message,) = posted(topic)
    text = message["content"]["description"]
    assert len(text) <= handler.MAX_DESCRIPTION
    assert "… and 4 more rules" in text


def test_without_a_scheduled_time_the_previous_full_hour_is_sampled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(handler, "utcnow", lambda: datetime(2026, 11, 25, 14, 37, 12, tzinfo=UTC))
    assert handler.window_end({}) == END
    assert handler.window_end({"time": "not a time"}) == END
    assert handler.window_end({"time": "2026-11-25T09:05:00Z"}) == END.replace(hour=9)


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [
        ("WEB_ACLS", "not json", "WEB_ACLS must be a JSON list"),
        ("WEB_ACLS", '[{"name": "x", "scope": "GLOBAL", "arn": "arn:aws:wafv2:x"}]', "bad scope"),
        ("TOPIC_ARN", "guard-prod-alerts-normal", "not an SNS topic ARN"),
        ("WINDOW_MINUTES", "240", "1 to 180"),
        ("MAX_SAMPLES", "many", "not an integer"),
    ],
)
def test_a_misconfigured_function_fails_loudly(
    topic: str, monkeypatch: pytest.MonkeyPatch, key: str, value: str, says: str
) -> None:
    monkeypatch.setenv(key, value)
    with pytest.raises(handler.SettingsError, match=says):
        handler.lambda_handler(SCHEDULED, None)
