"""The SRT escalation Lambda against a moto server (and botocore Stubber where moto falls short).

moto 5.2.5 facts these tests rely on or work around:
- support CreateCase/DescribeCases work; DescribeCases ignores afterTime, beforeTime, maxResults
  and language, echoes the nextToken it is given, and advances each case's status and severity
  on every read. Request shapes (afterTime, includeResolvedCases, pagination) are therefore
  checked with botocore's Stubber, and stored cases are read from moto's backend.
- shield ListAttacks/DescribeAttack are not implemented (HTTP 500).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import ANY, Stubber

from functions.srt_escalation import handler
from tests.functions.conftest import (
    ALB_ARN,
    RESOURCE_ARN,
    Clock,
    FakeContext,
    alarm_message,
    moto_api,
    recorded_cases,
    sns_event,
)

pytestmark = pytest.mark.usefixtures("aws_env")


def invoke(*messages: dict[str, Any] | str) -> dict[str, Any]:
    return handler.lambda_handler(sns_event(*messages), FakeContext())


def handler_messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == handler.LOGGER_NAME]


def stubbed(service: Literal["support", "shield"]) -> tuple[Any, Stubber]:
    """A client with an active Stubber: requests are checked offline, no server is called."""
    client: Any = (
        boto3.client("support", region_name="us-east-1")
        if service == "support"
        else boto3.client("shield", region_name="us-east-1")
    )
    stub = Stubber(client)
    stub.activate()
    return client, stub


# --------------------------------------------------------------------------------------------
# Opening and deduplicating cases (moto server).
# --------------------------------------------------------------------------------------------


def test_first_alarm_opens_exactly_one_case(clock: Clock, aws_env: str) -> None:
    summary = invoke(alarm_message())

    assert [o["resourceArn"] for o in summary["opened"]] == [RESOURCE_ARN]
    assert summary["deduplicated"] == [] and summary["ignored"] == []
    cases = recorded_cases()
    assert list(cases) == [summary["opened"][0]["caseId"]]
    case = next(iter(cases.values()))
    assert case.service_code == "distributed-denial-of-service"
    assert case.category_code == "inbound-to-aws"
    assert case.severity_code == "urgent"
    assert case.cc_email_addresses == ["secops@example.com", "oncall@example.com"]
    assert case.language == "en"
    assert RESOURCE_ARN in case.subject
    body = case.communication_body
    for expected in (
        RESOURCE_ARN,
        "guard-prod-shop-www-ddos",
        "Account: 123456789012",
        "Region: us-east-1 (US East (N. Virginia))",
        "Threshold Crossed",
        "2026-01-05T10:42:17.302+0000",
        "OK -> ALARM",
        # moto has no Shield ListAttacks: best effort, the case is still opened.
        "Attack details unavailable",
    ):
        assert expected in body, expected

    # The same case through the public API (what DescribeCases-based dedupe will see).
    api_cases = boto3.client("support", region_name="us-east-1").describe_cases(
        includeResolvedCases=True
    )["cases"]
    assert [c["subject"] for c in api_cases] == [handler.case_subject(RESOURCE_ARN)]


def test_severity_comes_from_the_environment(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPORT_SEVERITY", "critical")
    monkeypatch.setenv("CC_EMAILS", "")
    invoke(alarm_message())
    (case,) = recorded_cases().values()
    assert case.severity_code == "critical"
    assert case.cc_email_addresses == []


def test_same_alarm_within_window_opens_no_second_case(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    first = invoke(alarm_message())
    clock.now += timedelta(hours=23)
    with caplog.at_level(logging.INFO):
        second = invoke(alarm_message())

    assert second["opened"] == []
    assert [d["caseId"] for d in second["deduplicated"]] == [first["opened"][0]["caseId"]]
    assert len(recorded_cases()) == 1
    assert any(m.startswith("deduplicated: case ") for m in handler_messages(caplog))


def test_same_alarm_after_window_opens_a_new_case(clock: Clock) -> None:
    first = invoke(alarm_message())
    # moto ignores afterTime, so this exercises the handler's own timeCreated check.
    clock.now += timedelta(hours=24, minutes=1)
    second = invoke(alarm_message())

    assert len(second["opened"]) == 1
    assert second["opened"][0]["caseId"] != first["opened"][0]["caseId"]
    assert len(recorded_cases()) == 2


def test_dedupe_is_per_resource_and_exact(clock: Clock) -> None:
    # A case for ".../E2EXAMPLE12" must not count for ".../E2EXAMPLE1" (substring matching would).
    invoke(alarm_message(resource_arn=RESOURCE_ARN + "2"))
    summary = invoke(
        alarm_message(resource_arn=RESOURCE_ARN),
        alarm_message(resource_arn=ALB_ARN, region="eu-west-1"),
    )
    assert sorted(o["resourceArn"] for o in summary["opened"]) == sorted([RESOURCE_ARN, ALB_ARN])
    assert len(recorded_cases()) == 3


def test_two_records_for_one_resource_in_one_event_open_one_case(
    clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Stubbed so DescribeCases does not show the first case yet (AWS gives no read-after-write
    # promise; moto does): only one describe and one create are allowed.
    client, stub = stubbed("support")
    stub.add_response("describe_cases", {"cases": []})
    stub.add_response("create_case", {"caseId": "case-1"})
    monkeypatch.setattr(handler, "support_client", lambda: client)

    summary = invoke(alarm_message(), alarm_message())

    stub.assert_no_pending_responses()
    assert [o["caseId"] for o in summary["opened"]] == ["case-1"]
    assert [d["caseId"] for d in summary["deduplicated"]] == ["case-1"]


def test_resolved_cases_still_deduplicate(clock: Clock, aws_env: str) -> None:
    invoke(alarm_message())
    (case,) = recorded_cases().values()
    # Freeze moto's fake case lifecycle, then resolve the case: moto's DescribeCases drops
    # resolved cases unless includeResolvedCases is true, so this checks the flag end to end.
    moto_api(
        aws_env,
        "/moto-api/state-manager/set-transition",
        {"model_name": "support::case", "transition": {"progression": "manual", "times": 1000}},
    )
    try:
        case.status = "resolved"
        summary = invoke(alarm_message())
    finally:
        moto_api(
            aws_env, "/moto-api/state-manager/unset-transition", {"model_name": "support::case"}
        )
    assert summary["opened"] == [] and len(summary["deduplicated"]) == 1


def test_dedupe_hours_zero_always_opens(clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEDUPE_HOURS", "0")
    invoke(alarm_message())
    invoke(alarm_message())
    assert len(recorded_cases()) == 2


def test_case_disabled_opens_none_and_calls_nothing(
    clock: Clock, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("SUPPORT_CASE_ENABLED", "false")

    def no_client() -> Any:
        raise AssertionError("no Support API call expected when cases are disabled")

    monkeypatch.setattr(handler, "support_client", no_client)
    monkeypatch.setattr(handler, "shield_client", no_client)
    with caplog.at_level(logging.INFO):
        summary = invoke(alarm_message())

    assert summary["opened"] == [] and summary["would_open"][0]["resourceArn"] == RESOURCE_ARN
    assert recorded_cases() == {}
    assert any("would open a urgent DDoS case" in m for m in handler_messages(caplog))


# --------------------------------------------------------------------------------------------
# Messages that must be ignored.
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("state", "old"), [("OK", "ALARM"), ("INSUFFICIENT_DATA", "OK")])
def test_non_alarm_transitions_do_nothing(
    clock: Clock, caplog: pytest.LogCaptureFixture, state: str, old: str
) -> None:
    with caplog.at_level(logging.INFO):
        summary = invoke(alarm_message(state=state, old_state=old))
    assert summary["opened"] == [] and summary["ignored"][0]["reason"] == "not-alarm-state"
    assert recorded_cases() == {}
    assert any(
        f"went {old} -> {state}; only ALARM escalates" in m for m in handler_messages(caplog)
    )


def test_non_ddos_alarm_is_ignored(clock: Clock, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        summary = invoke(
            alarm_message(namespace="AWS/WAFV2", metric="BlockedRequests", alarm_name="waf-x")
        )
    assert summary["ignored"][0]["reason"] == "not-ddos-alarm"
    assert recorded_cases() == {}
    assert any(
        "alarm waf-x is not an AWS/DDoSProtection DDoSDetected" in m
        for m in handler_messages(caplog)
    )


def test_guardduty_chatbot_message_is_ignored(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    chatbot = {
        "version": "1.0",
        "source": "custom",
        "content": {
            "textType": "client-markdown",
            "title": "GuardDuty: UnauthorizedAccess:EC2/SSHBruteForce (severity 8)",
            "description": "Resource ARN " + RESOURCE_ARN,
        },
    }
    with caplog.at_level(logging.INFO):
        summary = invoke(chatbot)
    assert summary["ignored"] == [
        {"reason": "not-an-alarm", "message_id": "msg-0", "source": "custom"}
    ]
    assert recorded_cases() == {}
    assert any("is not a CloudWatch alarm notification" in m for m in handler_messages(caplog))


def test_malformed_json_is_logged_and_ignored(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        summary = invoke('{"AlarmName": "guard-prod-shop-www-ddos", ')
    assert summary["ignored"][0]["reason"] == "malformed-json"
    assert recorded_cases() == {}
    (record,) = [
        r for r in caplog.records if r.name == handler.LOGGER_NAME and r.levelno == logging.WARNING
    ]
    assert record.getMessage().startswith("ignored: SNS message msg-0 is not valid JSON")


def test_ddos_alarm_without_resource_dimension_is_an_error_not_a_retry(
    clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    summary = invoke(alarm_message(resource_arn=""))
    assert summary["ignored"][0]["reason"] == "no-resource-arn"
    assert any(
        r.levelno == logging.ERROR and "has no ResourceArn dimension" in r.getMessage()
        for r in caplog.records
    )


def test_ignored_messages_do_not_stop_the_alarm_in_the_same_event(clock: Clock) -> None:
    summary = invoke("not json", alarm_message(state="OK"), alarm_message())
    assert len(summary["ignored"]) == 2 and len(summary["opened"]) == 1


# --------------------------------------------------------------------------------------------
# Support API failures are logged with the remedy and re-raised.
# --------------------------------------------------------------------------------------------


def test_subscription_required_is_raised_with_the_remedy(
    clock: Clock, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    client, stub = stubbed("support")
    stub.add_client_error(
        "describe_cases",
        service_error_code="SubscriptionRequiredException",
        service_message="AWS Premium Support Subscription is required to use this service.",
        http_status_code=400,
    )
    monkeypatch.setattr(handler, "support_client", lambda: client)

    with pytest.raises(ClientError) as raised:
        invoke(alarm_message())

    assert raised.value.response["Error"]["Code"] == "SubscriptionRequiredException"
    (record,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    message = record.getMessage()
    assert "DescribeCases failed for " + RESOURCE_ARN in message
    assert "SubscriptionRequiredException" in message
    assert "enable Business support or set escalation.support_case: false" in message
    assert record.data["error_code"] == "SubscriptionRequiredException"  # type: ignore[attr-defined]
    stub.assert_no_pending_responses()


def test_create_case_throttling_is_raised(
    clock: Clock, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    client, stub = stubbed("support")
    stub.add_response("describe_cases", {"cases": []})
    stub.add_client_error(
        "create_case", service_error_code="ThrottlingException", http_status_code=400
    )
    monkeypatch.setattr(handler, "support_client", lambda: client)

    with pytest.raises(ClientError):
        invoke(alarm_message())
    assert any(
        r.levelno == logging.ERROR
        and "CreateCase failed" in r.getMessage()
        and "ThrottlingException" in r.getMessage()
        for r in caplog.records
    )


def test_invalid_configuration_is_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPORT_SEVERITY", "sev1")
    with pytest.raises(handler.ConfigError, match="SUPPORT_SEVERITY"):
        invoke(alarm_message())


# --------------------------------------------------------------------------------------------
# Request shapes moto does not check (Stubber).
# --------------------------------------------------------------------------------------------


def test_describe_cases_request_and_pagination(
    clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock.now = datetime(2026, 1, 5, 12, 0, 0, 250_000, tzinfo=UTC)
    subject = handler.case_subject(RESOURCE_ARN)
    expected = {
        "afterTime": "2026-01-04T12:00:00.250Z",
        "includeResolvedCases": True,
        "includeCommunications": False,
        "maxResults": 100,
        "language": "en",
    }
    client, stub = stubbed("support")
    other = {
        "caseId": "case-other",
        "subject": "something else",
        "timeCreated": "2026-01-05T11:00:00.000Z",
    }
    stale = {"caseId": "case-stale", "subject": subject, "timeCreated": "2026-01-03T11:00:00.000Z"}
    mine = {
        "caseId": "case-mine",
        "subject": subject,
        "status": "resolved",
        "timeCreated": "2026-01-05T09:00:00.000Z",
    }
    stub.add_response("describe_cases", {"cases": [other, stale], "nextToken": "t1"}, expected)
    stub.add_response(
        "describe_cases", {"cases": [mine], "nextToken": "t2"}, {**expected, "nextToken": "t1"}
    )
    # moto echoes the token it was given; a repeated token must end the loop, not spin.
    stub.add_response(
        "describe_cases", {"cases": [], "nextToken": "t2"}, {**expected, "nextToken": "t2"}
    )
    monkeypatch.setattr(handler, "support_client", lambda: client)

    summary = invoke(alarm_message())

    stub.assert_no_pending_responses()
    assert summary["opened"] == []
    assert summary["deduplicated"][0]["caseId"] == "case-mine"


def test_stale_case_returned_by_describe_does_not_deduplicate(
    clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock.now = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
    client, stub = stubbed("support")
    stale = {
        "caseId": "case-stale",
        "subject": handler.case_subject(RESOURCE_ARN),
        "timeCreated": "2026-01-04T11:59:59.000Z",
    }
    stub.add_response("describe_cases", {"cases": [stale]})
    stub.add_response(
        "create_case",
        {"caseId": "case-new"},
        {
            "subject": handler.case_subject(RESOURCE_ARN),
            "serviceCode": "distributed-denial-of-service",
            "categoryCode": "inbound-to-aws",
            "severityCode": "urgent",
            "communicationBody": ANY,
            "ccEmailAddresses": ["secops@example.com", "oncall@example.com"],
            "language": "en",
            "issueType": "technical",
        },
    )
    monkeypatch.setattr(handler, "support_client", lambda: client)
    summary = invoke(alarm_message())
    stub.assert_no_pending_responses()
    assert summary["opened"][0]["caseId"] == "case-new"


def test_attack_details_are_included_when_shield_answers(
    clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    shield, stub = stubbed("shield")
    start = clock.now - timedelta(minutes=10)
    stub.add_response(
        "list_attacks",
        {
            "AttackSummaries": [
                {
                    "AttackId": "att-1",
                    "ResourceArn": RESOURCE_ARN,
                    "StartTime": start,
                    "AttackVectors": [{"VectorType": "HTTP_REFLECTION"}],
                }
            ]
        },
        {"ResourceArns": [RESOURCE_ARN], "StartTime": ANY, "MaxResults": 20},
    )
    stub.add_response(
        "describe_attack",
        {
            "Attack": {
                "AttackId": "att-1",
                "ResourceArn": RESOURCE_ARN,
                "StartTime": start,
                "AttackProperties": [
                    {
                        "AttackLayer": "LAYER_7",
                        "AttackPropertyIdentifier": "SOURCE_IP_ADDRESS",
                        "TopContributors": [{"Name": "198.51.100.7", "Value": 91234}],
                        "Unit": "REQUESTS",
                        "Total": 1200000,
                    }
                ],
                "Mitigations": [{"MitigationName": "Layer7 rate limiting"}],
            }
        },
        {"AttackId": "att-1"},
    )
    monkeypatch.setattr(handler, "shield_client", lambda: shield)

    invoke(alarm_message())

    (case,) = recorded_cases().values()
    body = case.communication_body
    assert "Attack ID: att-1" in body and "End: ongoing" in body
    assert "Vectors: HTTP_REFLECTION" in body
    assert "LAYER_7 SOURCE_IP_ADDRESS: total 1200000 REQUESTS; top: 198.51.100.7=91234" in body
    assert "Mitigations: Layer7 rate limiting" in body
    assert "unavailable" not in body


# --------------------------------------------------------------------------------------------
# Logging format.
# --------------------------------------------------------------------------------------------


def test_logs_are_json_lines_on_stdout(clock: Clock, capsys: pytest.CaptureFixture[str]) -> None:
    invoke(alarm_message())
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    opened = [doc for doc in lines if doc["message"].startswith("support case ")]
    assert len(opened) == 1
    assert opened[0]["level"] == "INFO"
    assert opened[0]["resource_arn"] == RESOURCE_ARN
    assert opened[0]["request_id"] == "req-1"
    assert lines[-1]["message"] == "invocation summary" and lines[-1]["opened"] == 1
