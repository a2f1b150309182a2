"""securityhub-standard: Security Hub enabled and protected, with every configured standard."""

from __future__ import annotations

from typing import Any

from policies.rules.securityhub_standard import ACCOUNT, POLICY, SUBSCRIPTION
from tests.policies.support import resource, violations_of

SLACK = {
    "workspace_id": "T0EXAMPLE1",
    "normal_channel": "C0NORMAL01",
    "urgent_channel": "C0URGENT01",
}
CONFIGURED = {
    "alerts": {"slack": SLACK},
    "detection": {"security_hub": {"standards": ["aws-foundational", "cis-3.0"]}},
}
FOUNDATIONAL = (
    "arn:aws:securityhub:ap-northeast-1::standards/aws-foundational-security-best-practices/v/1.0.0"
)
CIS_3 = "arn:aws:securityhub:ap-northeast-1::standards/cis-aws-foundations-benchmark/v/3.0.0"


def stack(*arns: str, protect: bool = True) -> list[Any]:
    return [
        resource(ACCOUNT, {"enableDefaultStandards": False}, "securityhub", protect=protect),
        *(resource(SUBSCRIPTION, {"standardsArn": arn}, f"sub-{i}") for i, arn in enumerate(arns)),
    ]


def test_every_configured_standard_subscribed_passes() -> None:
    assert violations_of(POLICY, stack(FOUNDATIONAL, CIS_3), **CONFIGURED) == []


def test_stack_without_detection_config_is_reported() -> None:
    (message,) = violations_of(POLICY, [])
    assert message.startswith("guard:detection is not configured, so Security Hub is not enabled.")


def test_security_hub_without_any_standard_is_reported() -> None:
    (message,) = violations_of(POLICY, stack(), **CONFIGURED)
    assert message.startswith("Security Hub has no standard subscription")


def test_configured_standard_missing_is_reported() -> None:
    (message,) = violations_of(POLICY, stack(FOUNDATIONAL), **CONFIGURED)
    assert message.startswith("Security Hub standard cis-3.0 is configured but not subscribed to.")


def test_unprotected_account_is_reported() -> None:
    (message,) = violations_of(POLICY, stack(FOUNDATIONAL, CIS_3, protect=False), **CONFIGURED)
    assert "is not protected from deletion" in message
