"""guardduty-enabled: an enabled, protected detector with the configured features, in every stack."""

from __future__ import annotations

from typing import Any

from policies.rules.guardduty_enabled import DETECTOR, FEATURE, POLICY
from tests.policies.support import resource, violations_of

SLACK = {
    "workspace_id": "T0EXAMPLE1",
    "normal_channel": "C0NORMAL01",
    "urgent_channel": "C0URGENT01",
}
CONFIGURED = {
    "alerts": {"slack": SLACK},
    "detection": {"guardduty": {"features": ["s3-data-events", "runtime-monitoring"]}},
}


def stack(
    *, enable: bool = True, protect: bool = True, features: tuple[str, ...] = ()
) -> list[Any]:
    detector = resource(DETECTOR, {"enable": enable}, "guardduty", protect=protect)
    return [
        detector,
        *(
            resource(
                FEATURE,
                {"name": name, "status": "ENABLED"},
                f"guardduty-{name}",
                depends_on={"detectorId": [detector]},
            )
            for name in features
        ),
    ]


def test_enabled_protected_detector_with_every_feature_passes() -> None:
    resources = stack(features=("S3_DATA_EVENTS", "RUNTIME_MONITORING"))
    assert violations_of(POLICY, resources, **CONFIGURED) == []


def test_stack_without_detection_config_is_reported() -> None:
    (message,) = violations_of(POLICY, [])
    assert message.startswith("guard:detection is not configured, so the stack has no GuardDuty")


def test_configured_stack_without_detector_is_reported() -> None:
    (message,) = violations_of(POLICY, [], **CONFIGURED)
    assert message.startswith("the stack declares no GuardDuty detector.")


def test_disabled_or_unprotected_detector_is_reported() -> None:
    features = ("S3_DATA_EVENTS", "RUNTIME_MONITORING")
    (disabled,) = violations_of(POLICY, stack(enable=False, features=features), **CONFIGURED)
    assert "GuardDuty detector guardduty is disabled." in disabled
    (unprotected,) = violations_of(POLICY, stack(protect=False, features=features), **CONFIGURED)
    assert "is not protected from deletion" in unprotected


def test_configured_feature_without_its_detector_feature_is_reported() -> None:
    (message,) = violations_of(POLICY, stack(features=("S3_DATA_EVENTS",)), **CONFIGURED)
    assert "GuardDuty feature runtime-monitoring (RUNTIME_MONITORING)" in message
