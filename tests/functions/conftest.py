"""Shared fixtures for the Lambda function tests: one moto server per session, reset per test.

moto runs in server mode on 127.0.0.1 and the code under test reaches it through boto3's own
``AWS_ENDPOINT_URL`` support, the same way the drill does, so no client is patched to get there.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest

from functions.srt_escalation import handler
from tests.conftest import moto_api

MOTO_ACCOUNT = "123456789012"  # moto's default account for unknown access keys
RESOURCE_ARN = "arn:aws:cloudfront::123456789012:distribution/E2EXAMPLE1"
ALB_ARN = (
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/shop-www/50dc6c495c0c9188"
)


@pytest.fixture
def aws_env(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point boto3 at the moto server with dummy credentials and the handler's default env."""
    moto_api(moto_url, "/moto-api/reset")
    for key in list(os.environ):
        if key.startswith("AWS_") or key == "MOTO_ACCOUNT_ID":
            monkeypatch.delenv(key)
    env = {
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "SUPPORT_SEVERITY": "urgent",
        "DEDUPE_HOURS": "24",
        "CC_EMAILS": "secops@example.com, oncall@example.com",
        "SUPPORT_CASE_ENABLED": "true",
        "SUPPORT_LANGUAGE": "en",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    # A default session cached by an earlier test would keep its earlier view of the env.
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    return moto_url


@pytest.fixture(autouse=True)
def handler_logs_to_caplog(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let caplog see the handler's records (it stops propagation to avoid Lambda duplicates)."""
    monkeypatch.setattr(handler.logger, "propagate", True)


class Clock:
    """A settable clock installed as the handler's ``utcnow`` seam."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """Install a clock starting at the real current time (moto stamps cases with it)."""
    fake = Clock(datetime.now(UTC))
    monkeypatch.setattr(handler, "utcnow", fake)
    return fake


def recorded_cases() -> dict[str, Any]:
    """Return the cases as moto stored them from CreateCase.

    Read straight from moto's in-process backend because moto's DescribeCases advances each
    case's status and severity on every read (a fake lifecycle), so it would not show the
    severity the handler sent.
    """
    from moto.support.models import support_backends

    return dict(support_backends[MOTO_ACCOUNT]["us-east-1"].cases)


def alarm_message(
    *,
    state: str = "ALARM",
    old_state: str = "OK",
    resource_arn: str = RESOURCE_ARN,
    namespace: str = "AWS/DDoSProtection",
    metric: str = "DDoSDetected",
    alarm_name: str = "guard-prod-shop-www-ddos",
    region: str = "us-east-1",
) -> dict[str, Any]:
    """A CloudWatch alarm notification as published to SNS (shape from the AWS examples)."""
    dimensions = [{"value": resource_arn, "name": "ResourceArn"}] if resource_arn else []
    return {
        "AlarmName": alarm_name,
        "AlarmDescription": "DDoS detected on shop/www",
        "AWSAccountId": MOTO_ACCOUNT,
        "AlarmConfigurationUpdatedTimestamp": "2026-01-05T10:00:00.000+0000",
        "NewStateValue": state,
        "NewStateReason": (
            "Threshold Crossed: 1 out of the last 1 datapoints [1.0 (05/01/26 10:41:00)] was "
            "greater than or equal to the threshold (1.0) (minimum 1 datapoint for OK -> ALARM "
            "transition)."
        ),
        "StateChangeTime": "2026-01-05T10:42:17.302+0000",
        "Region": "US East (N. Virginia)",
        "AlarmArn": f"arn:aws:cloudwatch:{region}:{MOTO_ACCOUNT}:alarm:{alarm_name}",
        "OldStateValue": old_state,
        "OKActions": [],
        "AlarmActions": [f"arn:aws:sns:{region}:{MOTO_ACCOUNT}:guard-prod-urgent"],
        "InsufficientDataActions": [],
        "Trigger": {
            "MetricName": metric,
            "Namespace": namespace,
            "StatisticType": "Statistic",
            "Statistic": "SUM",
            "Unit": None,
            "Dimensions": dimensions,
            "Period": 60,
            "EvaluationPeriods": 1,
            "DatapointsToAlarm": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "Threshold": 1.0,
            "TreatMissingData": "notBreaching",
            "EvaluateLowSampleCountPercentile": "",
        },
    }


def sns_event(*messages: dict[str, Any] | str) -> dict[str, Any]:
    """Wrap messages (dicts are JSON-encoded, strings sent raw) in Lambda's SNS event shape."""
    records = []
    for i, message in enumerate(messages):
        body = message if isinstance(message, str) else json.dumps(message)
        records.append(
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"arn:aws:sns:us-east-1:{MOTO_ACCOUNT}:guard-prod-urgent:s",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": f"msg-{i}",
                    "TopicArn": f"arn:aws:sns:us-east-1:{MOTO_ACCOUNT}:guard-prod-urgent",
                    "Subject": "ALARM",
                    "Message": body,
                    "Timestamp": "2026-01-05T10:42:17.400Z",
                    "MessageAttributes": {},
                },
            }
        )
    return {"Records": records}


class FakeContext:
    """The attributes of the Lambda context the handler reads."""

    function_name = "guard-prod-srt-escalation"
    aws_request_id = "req-1"
