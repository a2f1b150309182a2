"""``guard:alerts`` and ``guard:detection``: defaults, and one clear error per kind of bad input.

Each error names the key path, the bad value and what is allowed, as the engine's raw config
(objects as JSON text) goes through the same loader as ``pulumi up`` and ``guard plan``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from guard.config import ConfigError, load_stack_config
from guard.config.errors import Problem
from tests.conftest import ROOT, STACKS, TODAY, minimal_product

SLACK = {
    "workspace_id": "T0EXAMPLE1",
    "normal_channel": "C0NORMAL01",
    "urgent_channel": "C0URGENT01",
}


def engine_config(alerts: Any = None, detection: Any = None) -> dict[str, str]:
    raw = {
        "aws:region": "ap-northeast-1",
        "guard:account_id": "111111111111",
        "guard:products": json.dumps([minimal_product()]),
    }
    if alerts is not None:
        raw["guard:alerts"] = json.dumps(alerts)
    if detection is not None:
        raw["guard:detection"] = json.dumps(detection)
    return raw


def load(alerts: Any = None, detection: Any = None) -> Any:
    return load_stack_config(engine_config(alerts, detection), "test.yaml", today=TODAY)


def only_problem(alerts: Any = None, detection: Any = None) -> Problem:
    with pytest.raises(ConfigError) as caught:
        load(alerts, detection)
    found = list(caught.value.problems)
    assert len(found) == 1, [p.render("test.yaml") for p in found]
    return found[0]


def alerts(**changes: Any) -> dict[str, Any]:
    return {"slack": {**SLACK, **changes.pop("slack", {})}, **changes}


def hub(**security_hub: Any) -> dict[str, Any]:
    return {"security_hub": security_hub}


# --- valid input -------------------------------------------------------------------------------


def test_the_issue_example_loads() -> None:
    config = load(
        alerts(emails=["secops@example.com"]),
        {
            "guardduty": {"features": ["s3-data-events", "runtime-monitoring"]},
            "security_hub": {
                "standards": ["aws-foundational", "cis-3.0"],
                "disabled_controls": [
                    {"control": "IAM.6", "reason": "hardware MFA for root is held by the org"}
                ],
                "notify": ["CRITICAL", "HIGH"],
            },
            "trusted_advisor": {"notify": ["ERROR", "WARN"]},
        },
    ).config
    assert config.alerts.slack.urgent_channel == "C0URGENT01"
    assert config.alerts.emails == ["secops@example.com"]
    assert config.detection.security_hub.disabled_controls[0].control == "IAM.6"


def test_empty_detection_gets_every_guardduty_feature_and_the_foundational_standard() -> None:
    detection = load(alerts(), {}).config.detection
    assert detection.guardduty.features == [
        "s3-data-events",
        "eks-audit-logs",
        "ebs-malware-protection",
        "rds-login-events",
        "lambda-network-logs",
        "runtime-monitoring",
    ]
    assert detection.guardduty.publishing_frequency == "FIFTEEN_MINUTES"
    assert detection.security_hub.standards == ["aws-foundational"]
    assert detection.security_hub.notify == ["CRITICAL", "HIGH"]
    assert detection.trusted_advisor.notify == ["ERROR", "WARN"]


def test_private_channels_are_accepted() -> None:
    assert load(alerts(slack={"urgent_channel": "G0PRIVATE1"})).config.alerts is not None


# --- alerts -----------------------------------------------------------------------------------


def test_unknown_key_lists_the_allowed_keys() -> None:
    problem = only_problem(alerts(slack={"webhook_url": "https://hooks.slack.com/x"}))
    assert problem.path == ("guard:alerts", "slack", "webhook_url")
    assert "unknown key" in problem.message
    assert "workspace_id, normal_channel, urgent_channel" in problem.message


@pytest.mark.parametrize("bad", ["t0example1", "W0EXAMPLE1", "T0-EXAMPLE", "T"])
def test_malformed_workspace_id(bad: str) -> None:
    problem = only_problem(alerts(slack={"workspace_id": bad}))
    assert problem.path == ("guard:alerts", "slack", "workspace_id")
    assert problem.value == bad
    assert "'T' then uppercase letters and digits" in problem.message


@pytest.mark.parametrize("bad", ["#security-alerts", "c0normal01", "D0DIRECT01", "C0 NORMAL"])
def test_malformed_channel_id(bad: str) -> None:
    problem = only_problem(alerts(slack={"normal_channel": bad}))
    assert problem.path == ("guard:alerts", "slack", "normal_channel")
    assert problem.value == bad
    assert "'C' (public) or 'G' (private)" in problem.message


def test_missing_channel_is_named() -> None:
    slack = {k: v for k, v in SLACK.items() if k != "urgent_channel"}
    problem = only_problem({"slack": slack})
    assert problem.path == ("guard:alerts", "slack", "urgent_channel")
    assert problem.message == "required key is missing"


def test_urgent_and_normal_must_be_different_channels() -> None:
    problem = only_problem(alerts(slack={"urgent_channel": "C0NORMAL01"}))
    assert problem.path == ("guard:alerts", "slack", "urgent_channel")
    assert "must differ from slack.normal_channel" in problem.message


@pytest.mark.parametrize("bad", ["secops", "secops@example", "sec ops@example.com", "@example.com"])
def test_malformed_email(bad: str) -> None:
    problem = only_problem(alerts(emails=["ok@example.com", bad]))
    assert problem.path == ("guard:alerts", "emails", 1)
    assert problem.value == bad
    assert "e-mail address such as secops@example.com" in problem.message


def test_duplicate_email_ignoring_case() -> None:
    problem = only_problem(alerts(emails=["secops@example.com", "SecOps@example.com"]))
    assert problem.path == ("guard:alerts", "emails", 1)
    assert "duplicate e-mail address" in problem.message


# --- detection --------------------------------------------------------------------------------


def test_detection_without_alerts_is_a_config_error() -> None:
    problem = only_problem(None, {})
    assert problem.path == ("guard:detection",)
    assert "needs guard:alerts" in problem.message


def test_unknown_detection_key_lists_the_allowed_keys() -> None:
    problem = only_problem(alerts(), {"inspector": {}})
    assert problem.path == ("guard:detection", "inspector")
    assert "guardduty, security_hub, trusted_advisor" in problem.message


def test_unknown_guardduty_feature_lists_the_aliases() -> None:
    problem = only_problem(alerts(), {"guardduty": {"features": ["s3-data-events", "S3_DATA"]}})
    assert problem.path == ("guard:detection", "guardduty", "features", 1)
    assert problem.value == "S3_DATA"
    assert "unknown GuardDuty feature; allowed: s3-data-events, eks-audit-logs" in problem.message
    assert "runtime-monitoring" in problem.message


def test_duplicate_guardduty_feature() -> None:
    features = ["rds-login-events", "rds-login-events"]
    problem = only_problem(alerts(), {"guardduty": {"features": features}})
    assert problem.path == ("guard:detection", "guardduty", "features", 1)
    assert "duplicate GuardDuty feature" in problem.message


def test_unknown_publishing_frequency() -> None:
    problem = only_problem(alerts(), {"guardduty": {"publishing_frequency": "5m"}})
    assert problem.path == ("guard:detection", "guardduty", "publishing_frequency")
    assert "FIFTEEN_MINUTES, ONE_HOUR, SIX_HOURS" in problem.message


def test_unknown_standard_lists_the_aliases() -> None:
    problem = only_problem(alerts(), hub(standards=["aws-foundational", "cis-2.0"]))
    assert problem.path == ("guard:detection", "security_hub", "standards", 1)
    assert problem.value == "cis-2.0"
    assert "unknown Security Hub standard; allowed: aws-foundational, cis-1.2" in problem.message


def test_no_standard_at_all() -> None:
    problem = only_problem(alerts(), hub(standards=[]))
    assert problem.path == ("guard:detection", "security_hub", "standards")
    assert "list at least one standard; allowed: aws-foundational" in problem.message


def test_disabled_control_without_reason() -> None:
    problem = only_problem(alerts(), hub(disabled_controls=[{"control": "IAM.6"}]))
    assert problem.path == ("guard:detection", "security_hub", "disabled_controls", 0, "reason")
    assert problem.message == "required key is missing"


@pytest.mark.parametrize("reason", ["  ", "no", "x" * 257])
def test_disabled_control_with_a_blank_or_overlong_reason(reason: str) -> None:
    problem = only_problem(
        alerts(), hub(disabled_controls=[{"control": "IAM.6", "reason": reason}])
    )
    assert problem.path == ("guard:detection", "security_hub", "disabled_controls", 0, "reason")
    assert "must say why the control is disabled" in problem.message


@pytest.mark.parametrize("bad", ["IAM6", "iam.6", "IAM.06", "1.14"])
def test_malformed_control_id(bad: str) -> None:
    control = {"control": bad, "reason": "not applicable"}
    problem = only_problem(alerts(), hub(disabled_controls=[control]))
    assert problem.path == ("guard:detection", "security_hub", "disabled_controls", 0, "control")
    assert problem.value == bad
    assert "e.g. IAM.6 or EC2.19" in problem.message


def test_control_disabled_in_a_standard_the_stack_does_not_subscribe_to() -> None:
    control = {"control": "IAM.6", "reason": "held by the org", "standards": ["cis-3.0"]}
    problem = only_problem(
        alerts(), hub(standards=["aws-foundational"], disabled_controls=[control])
    )
    assert problem.path == (
        "guard:detection",
        "security_hub",
        "disabled_controls",
        0,
        "standards",
        0,
    )
    assert "allowed: aws-foundational (security_hub.standards)" in problem.message


def test_control_disabled_twice() -> None:
    control = {"control": "IAM.6", "reason": "held by the org"}
    problem = only_problem(alerts(), hub(disabled_controls=[control, control]))
    assert problem.path == ("guard:detection", "security_hub", "disabled_controls", 1)
    assert "duplicate disabled control" in problem.message


def test_unknown_severity_label_lists_the_labels() -> None:
    problem = only_problem(alerts(), hub(notify=["CRITICAL", "SEVERE"]))
    assert problem.path == ("guard:detection", "security_hub", "notify", 1)
    assert problem.value == "SEVERE"
    assert "allowed: CRITICAL, HIGH, MEDIUM, LOW, INFORMATIONAL" in problem.message


def test_empty_notify_would_silence_security_hub() -> None:
    problem = only_problem(alerts(), hub(notify=[]))
    assert problem.path == ("guard:detection", "security_hub", "notify")
    assert "list at least one severity label" in problem.message


def test_unknown_trusted_advisor_status_lists_the_statuses() -> None:
    problem = only_problem(alerts(), {"trusted_advisor": {"notify": ["ERROR", "warn"]}})
    assert problem.path == ("guard:detection", "trusted_advisor", "notify", 1)
    assert "unknown Trusted Advisor status; allowed: ERROR, WARN, OK" in problem.message


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        load(
            alerts(slack={"workspace_id": "x"}, emails=["nope"]),
            {"guardduty": {"features": ["nope"]}, "security_hub": {"notify": ["nope"]}},
        )
    paths = {p.path for p in caught.value.problems}
    assert paths == {
        ("guard:alerts", "slack", "workspace_id"),
        ("guard:alerts", "emails", 0),
        ("guard:detection", "guardduty", "features", 0),
        ("guard:detection", "security_hub", "notify", 0),
    }


def test_guard_plan_exits_2_with_the_line_and_no_traceback(tmp_path: Path) -> None:
    text = (STACKS / "Pulumi.prod.yaml").read_text()
    assert "workspace_id: T0EXAMPLE1" in text
    bad = tmp_path / "Pulumi.prod.yaml"
    bad.write_text(text.replace("workspace_id: T0EXAMPLE1", "workspace_id: my-workspace", 1))
    result = subprocess.run(
        [sys.executable, "-m", "guard", "plan", "--stack", "prod", "--config-file", str(bad)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    line = text.splitlines().index("      workspace_id: T0EXAMPLE1") + 1
    assert f"{bad}:{line}: guard:alerts.slack.workspace_id = 'my-workspace'" in result.stderr
