"""The DDoS drill end to end: its own moto server, the real handler, state kept between runs."""

from __future__ import annotations

import io
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from functions.srt_escalation import handler
from guard import drill
from guard.drill import build_alarm_event, run_ddos_drill

ACCOUNT = "111122223333"
WWW_ARN = f"arn:aws:cloudfront::{ACCOUNT}:distribution/E1WWWEXAMPLE"
API_ARN = (
    f"arn:aws:elasticloadbalancing:eu-west-1:{ACCOUNT}:loadbalancer/app/shop-api/50dc6c495c0c9188"
)


def run(
    state: Path, *, endpoint: str = "www", arn: str = WWW_ARN, **overrides: Any
) -> tuple[int, str]:
    out = io.StringIO()
    kwargs: dict[str, Any] = {
        "stack": "prod",
        "product": "shop",
        "endpoint": endpoint,
        "resource_arn": arn,
        "alarm_region": "us-east-1",
        "account_id": ACCOUNT,
        "severity": "urgent",
        "dedupe_hours": 24,
        "cc_emails": ["secops@example.com", "oncall@example.com"],
        "state_path": state,
        "out": out,
    }
    kwargs.update(overrides)
    code = run_ddos_drill(**kwargs)
    return code, out.getvalue()


def state_cases(state: Path) -> list[dict[str, Any]]:
    return json.loads(state.read_text())["cases"]


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / ".guard" / "drill" / "prod.json"


def test_second_run_shows_the_dedupe(state: Path) -> None:
    code, first = run(state)
    assert code == 0, first
    assert "Result: support case OPENED" in first
    (case,) = state_cases(state)
    assert f"case id    {case['caseId']}" in first
    assert "subject    [guard] DDoS attack detected on " + WWW_ARN in first
    assert "severity   urgent" in first
    assert "service    distributed-denial-of-service / category inbound-to-aws" in first
    assert "cc         secops@example.com, oncall@example.com" in first
    assert "    | Alarm: guard-prod-shop-www-ddos" in first
    assert f"    | Resource ARN: {WWW_ARN}" in first
    assert "Attack details unavailable" in first  # moto has no Shield ListAttacks
    assert '"level": "INFO"' in first  # the Lambda's JSON log lines are shown

    code, second = run(state)
    assert code == 0, second
    assert f"Result: DEDUPLICATED - case {case['caseId']}" in second
    assert "OPENED" not in second
    assert "1 earlier drill case(s) re-seeded" in second
    assert len(state_cases(state)) == 1


def test_another_endpoint_opens_its_own_case(state: Path) -> None:
    assert run(state)[0] == 0
    code, out = run(state, endpoint="api", arn=API_ARN)
    assert code == 0, out
    assert "Result: support case OPENED" in out
    assert "guard-prod-shop-api-ddos" in out
    assert [c["resourceArn"] for c in state_cases(state)] == [WWW_ARN, API_ARN]


def test_after_the_window_a_new_case_is_opened(state: Path) -> None:
    t0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    assert run(state, now=t0)[0] == 0
    code, within = run(state, now=t0 + timedelta(hours=23, minutes=59))
    assert code == 0 and "opened 23 h 59 min ago, within the 24 h window" in within
    code, after = run(state, now=t0 + timedelta(hours=24, minutes=1))
    assert code == 0 and "Result: support case OPENED" in after, after
    cases = state_cases(state)
    assert [c["timeCreated"] for c in cases] == [
        "2026-03-01T09:00:00.000Z",
        "2026-03-02T09:01:00.000Z",
    ]


def test_handler_failure_prints_the_error_and_returns_1(state: Path) -> None:
    code, out = run(state, severity="sev1")
    assert code == 1
    assert "Result: FAILED - the handler raised ConfigError" in out
    assert "SUPPORT_SEVERITY" in out
    assert '"message": "invalid configuration: SUPPORT_SEVERITY=' in out  # the Lambda's log line
    assert not state.exists()


def test_environment_and_boto3_session_are_restored(
    state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Settings that would steer boto3 away from the sandbox are hidden during the drill.
    monkeypatch.setenv(
        "AWS_ENDPOINT_URL_SUPPORT", "https://support.us-east-1.amazonaws.com.invalid"
    )
    monkeypatch.setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
    monkeypatch.setenv("AWS_PROFILE", "production-admin")
    monkeypatch.setenv("SUPPORT_SEVERITY", "low")
    session = boto3.DEFAULT_SESSION
    before = dict(os.environ)

    code, out = run(state)

    assert code == 0, out
    assert "severity   urgent" in out
    assert dict(os.environ) == before
    assert boto3.DEFAULT_SESSION is session


def test_refuses_when_the_handler_would_reach_a_real_endpoint(
    state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = boto3.client(
        "support",
        region_name="us-east-1",
        endpoint_url="https://support.us-east-1.amazonaws.com.invalid",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    monkeypatch.setattr(handler, "support_client", lambda: real)
    code, out = run(state)
    assert code == 1
    assert "drill refused" in out and "https://support.us-east-1.amazonaws.com.invalid" in out
    assert not state.exists()


def test_corrupt_state_is_reported(state: Path) -> None:
    state.parent.mkdir(parents=True)
    state.write_text("{not json")
    code, out = run(state)
    assert code == 1 and "cannot read drill state" in out and "--fresh" in out


def test_event_is_the_alarm_notification_for_the_endpoint() -> None:
    event = build_alarm_event(
        stack="prod",
        product="shop",
        endpoint="www",
        resource_arn=WWW_ARN,
        alarm_region="us-east-1",
        account_id=ACCOUNT,
        when=datetime(2026, 3, 1, 9, 0, tzinfo=UTC),
    )
    (record,) = event["Records"]
    assert record["EventSource"] == "aws:sns"
    message = json.loads(record["Sns"]["Message"])
    assert message["AlarmName"] == "guard-prod-shop-www-ddos"
    assert (
        message["AlarmArn"]
        == f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:guard-prod-shop-www-ddos"
    )
    assert (message["OldStateValue"], message["NewStateValue"]) == ("OK", "ALARM")
    assert message["Region"] == "US East (N. Virginia)"
    assert message["StateChangeTime"] == "2026-03-01T09:00:00.000+0000"
    trigger = message["Trigger"]
    assert (trigger["Namespace"], trigger["MetricName"]) == ("AWS/DDoSProtection", "DDoSDetected")
    assert trigger["Dimensions"] == [{"value": WWW_ARN, "name": "ResourceArn"}]


def test_loopback_check() -> None:
    assert drill._is_loopback_url("http://127.0.0.1:5000")
    assert drill._is_loopback_url("http://[::1]:5000")
    assert not drill._is_loopback_url("https://support.us-east-1.amazonaws.com.invalid")
    assert not drill._is_loopback_url("http://127.0.0.1.example.com")
    assert not drill._is_loopback_url(None)
