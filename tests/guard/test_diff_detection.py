"""``guard diff``'s detection and alerts areas: plans of the real program differing in one thing.

Where the program cannot produce a variation (a feature disabled in place, a threshold raised,
a rule pointed at another route), the head is the base's JSON with one resource edited, as the
test's docstring says.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from guard import resource_types as rt
from guard.diff_model import Change, PlanDocument
from tests.guard.diff_plans import ALERTS, changes, edited, only, plan, without

FEATURES = [
    "s3-data-events",
    "eks-audit-logs",
    "ebs-malware-protection",
    "rds-login-events",
    "lambda-network-logs",
    "runtime-monitoring",
]
CONTROL = {"control": "IAM.6", "reason": "hardware MFA for root is held by the organisation"}
NORMAL = "arn:aws:sns:ap-northeast-1:111111111111:guard-test-alerts-normal"


def stack(alerts: Any = ALERTS, **detection: Any) -> PlanDocument:
    """A stack with alerts and detection (``detection`` overrides its sections)."""
    settings = {
        "guardduty": {"features": FEATURES},
        "security_hub": {"standards": ["aws-foundational"], "disabled_controls": [CONTROL]},
        **detection,
    }
    return plan(alerts=alerts, detection=settings)


def detection_changes(base: PlanDocument, head: PlanDocument) -> list[Change]:
    return changes(base, head, "detection")


def alert_changes(base: PlanDocument, head: PlanDocument) -> list[Change]:
    return changes(base, head, "alerts")


def hub(**settings: Any) -> dict[str, Any]:
    return {"standards": ["aws-foundational"], "disabled_controls": [CONTROL], **settings}


def test_identical_plans_have_no_change() -> None:
    assert changes(stack(), stack(), "detection", "alerts", "other") == []


def test_detection_added_and_removed() -> None:
    alone = plan(alerts=ALERTS)
    added = detection_changes(alone, stack())
    detector = only(added, subject="GuardDuty", path="detector")
    assert (detector.kind, detector.effect) == ("added", "strengthens")
    only(added, path="features[RUNTIME_MONITORING]", effect="strengthens")
    urgent = only(added, path="rules[guardduty-urgent-instance]")
    assert urgent.reason == (
        "GuardDuty findings (severity >= 7.0, resourceType Instance) now reach the urgent channel"
    )
    other = only(added, path="rules[guardduty-normal-other]")
    assert other.reason == (
        "GuardDuty findings (severity >= 4.0 and < 7.0, resourceType anything but Instance, "
        "AccessKey, S3Bucket, EKSCluster, ECSCluster, Container, RDSDBInstance, Lambda or absent) "
        "now reach the normal channel"
    )
    # Declaring a disabled control turns a check off, even as part of a new area.
    control = only(added, path="controls[aws-foundational/IAM.6]")
    assert control.effect == "weakens" and "held by the organisation" in control.reason
    removed = detection_changes(stack(), alone)
    assert only(removed, subject="GuardDuty", path="detector").effect == "weakens"
    assert only(removed, path="standards[aws-foundational]").effect == "weakens"
    assert only(removed, path="controls[aws-foundational/IAM.6]").effect == "strengthens"
    # A rule's target goes with it: no line of its own.
    assert not [c for c in removed if c.path.endswith(".target")]


def test_feature_removed_weakens_and_added_strengthens() -> None:
    fewer = stack(guardduty={"features": FEATURES[:-1]})
    change = only(detection_changes(stack(), fewer))
    assert (change.subject, change.kind, change.path, change.effect) == (
        "GuardDuty",
        "removed",
        "features[RUNTIME_MONITORING]",
        "weakens",
    )
    assert change.reason == "GuardDuty stops RUNTIME_MONITORING"
    back = only(detection_changes(fewer, stack()))
    assert (back.kind, back.effect, back.reason) == (
        "added",
        "strengthens",
        "GuardDuty starts RUNTIME_MONITORING",
    )


def test_feature_disabled_in_place_weakens() -> None:
    """Edited JSON: the program declares only enabled features."""
    base = stack()
    head = edited(
        base,
        rt.DETECTOR_FEATURE,
        "guardduty-s3-data-events",
        lambda i: i.update(status="DISABLED"),
    )
    change = only(detection_changes(base, head))
    assert (change.path, change.effect) == ("features[S3_DATA_EVENTS].status", "weakens")
    assert change.reason == "GuardDuty stops S3_DATA_EVENTS"
    assert only(detection_changes(head, base)).effect == "strengthens"


def test_runtime_monitoring_agent_management_turned_off_weakens() -> None:
    """Edited JSON: the program enables every additional configuration."""
    base = stack()

    def off(inputs: dict[str, Any]) -> None:
        inputs["additionalConfigurations"][0]["status"] = "DISABLED"

    head = edited(base, rt.DETECTOR_FEATURE, "guardduty-runtime-monitoring", off)
    change = only(detection_changes(base, head))
    assert change.path == (
        "features[RUNTIME_MONITORING].additionalConfigurations[EKS_ADDON_MANAGEMENT]"
    )
    assert (change.kind, change.effect) == ("removed", "weakens")
    assert "stops RUNTIME_MONITORING's EKS_ADDON_MANAGEMENT" in change.reason


def test_detector_disabled_weakens() -> None:
    """Edited JSON: the program always enables its detector."""
    base = stack()
    head = edited(base, rt.DETECTOR, "guardduty", lambda i: i.update(enable=False))
    change = only(detection_changes(base, head))
    assert (change.subject, change.path, change.effect) == (
        "GuardDuty",
        "detector.enable",
        "weakens",
    )
    assert "GuardDuty stops" in change.reason


@pytest.mark.parametrize(
    ("before", "after", "effect"),
    [("FIFTEEN_MINUTES", "SIX_HOURS", "weakens"), ("SIX_HOURS", "ONE_HOUR", "strengthens")],
)
def test_publishing_frequency(before: str, after: str, effect: str) -> None:
    base = stack(guardduty={"features": FEATURES, "publishing_frequency": before})
    head = stack(guardduty={"features": FEATURES, "publishing_frequency": after})
    change = only(detection_changes(base, head))
    assert (change.path, change.effect) == ("detector.findingPublishingFrequency", effect)
    assert (
        change.reason
        == f"updated GuardDuty findings now reach Slack after up to {after} (was {before})"
    )


def test_auto_enabled_controls_turned_off_weakens() -> None:
    """Edited JSON: the program always enables new controls automatically."""
    base = stack()
    head = edited(base, rt.HUB, "securityhub", lambda i: i.update(autoEnableControls=False))
    change = only(detection_changes(base, head))
    assert (change.subject, change.path, change.effect) == (
        "Security Hub",
        "account.autoEnableControls",
        "weakens",
    )
    assert "are no longer enabled automatically" in change.reason


def test_standard_added_and_removed_are_named() -> None:
    more = stack(security_hub=hub(standards=["aws-foundational", "cis-3.0"]))
    found = detection_changes(stack(), more)
    standard = only(found, path="standards[cis-3.0]")
    assert (standard.kind, standard.effect) == ("added", "strengthens")
    assert standard.reason == "Security Hub now checks CIS AWS Foundations Benchmark v3.0.0"
    # The disabled control applies to every standard: one more control switched off.
    assert only(found, path="controls[cis-3.0/IAM.6]").effect == "weakens"
    gone = only(detection_changes(more, stack()), path="standards[cis-3.0]")
    assert (gone.kind, gone.effect) == ("removed", "weakens")
    assert gone.reason == "Security Hub stops checking CIS AWS Foundations Benchmark v3.0.0"


def test_disabled_control_added_weakens_with_its_reason_and_removed_strengthens() -> None:
    none = stack(security_hub=hub(disabled_controls=[]))
    added = only(detection_changes(none, stack()))
    assert (added.subject, added.kind, added.path, added.effect) == (
        "Security Hub",
        "added",
        "controls[aws-foundational/IAM.6]",
        "weakens",
    )
    assert added.reason == (
        "IAM.6 is no longer checked in AWS Foundational Security Best Practices v1.0.0: "
        "hardware MFA for root is held by the organisation"
    )
    removed = only(detection_changes(stack(), none))
    assert (removed.kind, removed.effect) == ("removed", "strengthens")
    assert removed.reason.startswith("IAM.6 is checked again")


def test_disabled_control_reason_changed_is_neutral() -> None:
    other = stack(security_hub=hub(disabled_controls=[{**CONTROL, "reason": "root has no keys"}]))
    change = only(detection_changes(stack(), other))
    assert (change.path, change.effect) == (
        "controls[aws-foundational/IAM.6].updatedReason",
        "neutral",
    )
    assert "root has no keys" in change.reason


def test_severity_label_dropped_from_the_urgent_route_weakens() -> None:
    critical = stack(security_hub=hub(notify=["CRITICAL"]))
    found = detection_changes(stack(), critical)
    change = only(found, effect="weakens")
    assert change.path == "rules[securityhub-urgent].eventPattern.detail.findings.Severity.Label"
    assert (change.subject, change.before, change.after) == (
        "Security Hub",
        ["CRITICAL", "HIGH"],
        ["CRITICAL"],
    )
    assert (
        change.reason == "Security Hub findings with Label HIGH no longer reach the urgent channel"
    )
    back = only(detection_changes(critical, stack()), effect="strengthens")
    assert "with Label HIGH now reach the urgent channel" in back.reason


def test_new_route_strengthens_and_its_removal_weakens() -> None:
    medium = stack(security_hub=hub(notify=["CRITICAL", "HIGH", "MEDIUM"]))
    added = only(detection_changes(stack(), medium))
    assert (added.path, added.kind, added.effect) == (
        "rules[securityhub-normal]",
        "added",
        "strengthens",
    )
    assert added.reason == "Security Hub findings (Label MEDIUM) now reach the normal channel"
    removed = only(detection_changes(medium, stack()))
    assert (removed.kind, removed.effect) == ("removed", "weakens")
    assert "no longer reach the normal channel" in removed.reason


def test_trusted_advisor_status_dropped_weakens() -> None:
    errors = stack(trusted_advisor={"notify": ["ERROR"]})
    change = only(detection_changes(stack(), errors), effect="weakens")
    assert (change.subject, change.path) == (
        "Trusted Advisor",
        "rules[trusted-advisor].eventPattern.detail.status",
    )
    assert "with status WARN no longer reach the normal channel" in change.reason


def _threshold(low: float) -> Any:
    def change(inputs: dict[str, Any]) -> None:
        pattern = json.loads(inputs["eventPattern"])
        pattern["detail"]["severity"] = [{"numeric": [">=", low]}]
        inputs["eventPattern"] = json.dumps(pattern)

    return change


@pytest.mark.parametrize(
    ("low", "effect", "how"), [(8.0, "weakens", "fewer"), (6.0, "strengthens", "more")]
)
def test_guardduty_threshold_moved(low: float, effect: str, how: str) -> None:
    """Edited JSON: the catalog fixes GuardDuty's thresholds."""
    base = stack()
    head = edited(base, rt.EVENT_RULE, "guardduty-urgent-instance", _threshold(low))
    change = only(detection_changes(base, head))
    assert change.path == "rules[guardduty-urgent-instance].eventPattern.detail.severity"
    assert change.effect == effect
    assert change.reason == (
        f"{how} GuardDuty findings reach the urgent channel: severity >= {low} (was >= 7.0)"
    )


def test_rule_pointed_at_the_normal_route_weakens() -> None:
    """Edited JSON: the program sends high GuardDuty findings to the urgent route."""
    base = stack()
    head = edited(
        base, rt.EVENT_TARGET, "guardduty-urgent-instance", lambda i: i.update(arn=NORMAL)
    )
    change = only(detection_changes(base, head))
    assert (change.kind, change.path, change.effect) == (
        "moved",
        "rules[guardduty-urgent-instance].target.arn",
        "weakens",
    )
    assert "now go to the normal route in ap-northeast-1 (was the urgent route" in change.reason
    assert only(detection_changes(head, base)).effect == "strengthens"


# --- alerts --------------------------------------------------------------------------------------


def test_alerts_removed_weakens() -> None:
    found = alert_changes(plan(alerts=ALERTS), plan())
    slack = only(found, subject="urgent route", path="slack")
    assert (slack.kind, slack.effect) == ("removed", "weakens")
    assert slack.reason == "urgent alerts no longer reach Slack channel C0URGENT01"
    topic = only(found, subject="normal route", path="topics[us-east-1]")
    assert topic.effect == "weakens" and "have nowhere to go" in topic.reason
    assert only(alert_changes(plan(), plan(alerts=ALERTS)), path="slack", subject="normal route")


def test_channel_changed_is_neutral() -> None:
    moved = {"slack": {**ALERTS["slack"], "urgent_channel": "C0URGENT02"}}
    change = only(alert_changes(stack(), stack(alerts=moved)))
    assert (change.subject, change.kind, change.path, change.effect) == (
        "urgent route",
        "moved",
        "slack.slackChannelId",
        "neutral",
    )
    assert change.reason == "urgent alerts move to Slack channel C0URGENT02 (was C0URGENT01)"


def test_email_subscriber_removed_weakens_and_added_strengthens() -> None:
    mailed = stack(alerts={**ALERTS, "emails": ["secops@example.com"]})
    removed = alert_changes(mailed, stack())
    change = only(removed, path="emails[secops@example.com].us-east-1")
    assert (change.subject, change.kind, change.effect) == ("urgent route", "removed", "weakens")
    assert (
        change.reason == "secops@example.com no longer receives urgent alerts raised in us-east-1"
    )
    assert {c.effect for c in removed} == {"weakens"} and len(removed) == 2
    added = only(alert_changes(stack(), mailed), path="emails[secops@example.com].ap-northeast-1")
    assert (added.kind, added.effect) == ("added", "strengthens")


def test_slack_losing_a_topic_weakens() -> None:
    """Edited JSON: the program feeds both regions' topics of a route to its channel."""
    base = stack()
    head = edited(base, rt.CHATBOT, "alerts-normal", lambda i: i.update(snsTopicArns=[NORMAL]))
    change = only(alert_changes(base, head))
    assert (change.subject, change.kind, change.path, change.effect) == (
        "normal route",
        "removed",
        "slack.snsTopicArns[us-east-1]",
        "weakens",
    )
    assert change.reason == "normal alerts raised in us-east-1 no longer reach Slack"


def test_topic_deleted_weakens() -> None:
    """Edited JSON: the program declares every route's topic in every alert region."""
    base = stack()
    change = only(alert_changes(base, without(base, rt.TOPIC, "alerts-urgent-ap-northeast-1")))
    assert (change.subject, change.path, change.effect) == (
        "urgent route",
        "topics[ap-northeast-1]",
        "weakens",
    )
    assert change.reason == (
        "urgent alerts raised in ap-northeast-1 have nowhere to go: their topic is deleted"
    )


def test_security_hub_product_exclusion_changed_weakens() -> None:
    """Edited JSON: the catalog fixes the exclusion; another one must still be read."""

    def other_product(inputs: dict[str, Any]) -> None:
        pattern = json.loads(inputs["eventPattern"])
        pattern["detail"]["findings"]["ProductArn"] = [
            {"anything-but": {"suffix": "::product/aws/inspector"}}
        ]
        inputs["eventPattern"] = json.dumps(pattern)

    base = stack()
    head = edited(base, rt.EVENT_RULE, "securityhub-urgent", other_product)
    change = only(detection_changes(base, head))
    assert change.path == "rules[securityhub-urgent].eventPattern.detail.findings.ProductArn"
    assert change.effect == "weakens"
    assert change.reason.endswith(
        "ProductArn anything but suffix ::product/aws/inspector "
        "(was anything but suffix ::product/aws/guardduty)"
    )
