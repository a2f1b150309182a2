"""Threat detection, run through the real program under Pulumi mocks on the example stacks."""

from __future__ import annotations

import json
from collections.abc import Callable

from guard.detection_catalog import GUARDDUTY_RESOURCES, guardduty_rules
from guard.detection_messages import guardduty_transformer, securityhub_transformer
from guard.plan import PlanResult, ResourceRecord
from tests.conftest import of_type, within

# The WAF digest has a scheduled rule of its own; these tests mean the finding rules.
finding_rules = within("guard:detection:ThreatDetection")

DETECTOR = "aws:guardduty/detector:Detector"
FEATURE = "aws:guardduty/detectorFeature:DetectorFeature"
HUB = "aws:securityhub/account:Account"
SUBSCRIPTION = "aws:securityhub/standardsSubscription:StandardsSubscription"
DISABLED = "aws:securityhub/standardsControlAssociation:StandardsControlAssociation"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
TOPIC = "aws:sns/topic:Topic"
FUNCTION = "aws:lambda/function:Function"
PERMISSION = "aws:lambda/permission:Permission"
INVOKE_CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
GUARDDUTY_SLUGS = [r.slug for r in GUARDDUTY_RESOURCES] + ["other"]
FOUNDATIONAL = (
    "arn:aws:securityhub:ap-northeast-1::standards/aws-foundational-security-best-practices/v/1.0.0"
)
CIS_3 = "arn:aws:securityhub:ap-northeast-1::standards/cis-aws-foundations-benchmark/v/3.0.0"


def detection(plan: PlanResult) -> ResourceRecord:
    (component,) = [r for r in plan.resources if r.type == "guard:detection:ThreatDetection"]
    return component


def one(plan: PlanResult, type_token: str, name: str) -> ResourceRecord:
    (found,) = [r for r in of_type(plan, type_token) if r.name == name]
    return found


def dependency(plan: PlanResult, record: ResourceRecord, key: str) -> ResourceRecord:
    (urn,) = record.property_dependencies[key]
    return next(r for r in plan.resources if r.urn == urn)


def routing(plan: PlanResult) -> dict[str, tuple[str | None, str, str | None]]:
    """Rule name -> (rule region, route of the topic it reaches, topic region); a rule that
    invokes a function reaches the topic the function publishes to."""
    result = {}
    for target in finding_rules(plan, TARGET):
        rule = dependency(plan, target, "rule")
        hop = dependency(plan, target, "arn")
        if hop.type == FUNCTION:
            (topic_urn,) = hop.property_dependencies["environment"]
            topic = next(r for r in plan.resources if r.urn == topic_urn)
        else:
            topic = hop
        assert topic.type == TOPIC
        assert target.inputs["rule"] == rule.inputs["name"] and target.region == rule.region
        result[rule.name] = (rule.region, topic.inputs["tags"]["route"], topic.region)
    return result


def test_guardduty_detector_is_enabled_protected_and_in_the_stack_region(
    example_plan: Callable[[str], PlanResult],
) -> None:
    plan = example_plan("prod")
    (detector,) = of_type(plan, DETECTOR)
    assert detector.inputs["enable"] is True
    assert detector.inputs["findingPublishingFrequency"] == "FIFTEEN_MINUTES"
    assert detector.protect is True
    assert detector.region == "ap-northeast-1"
    assert detector.parent == detection(plan).urn
    (staging,) = of_type(example_plan("staging"), DETECTOR)
    assert staging.inputs["findingPublishingFrequency"] == "ONE_HOUR" and staging.protect


def test_one_enabled_feature_per_configured_alias(
    example_plan: Callable[[str], PlanResult],
) -> None:
    plan = example_plan("prod")
    (detector,) = of_type(plan, DETECTOR)
    features = {f.inputs["name"]: f for f in of_type(plan, FEATURE)}
    assert set(features) == {
        "S3_DATA_EVENTS",
        "EKS_AUDIT_LOGS",
        "EBS_MALWARE_PROTECTION",
        "RDS_LOGIN_EVENTS",
        "LAMBDA_NETWORK_LOGS",
        "RUNTIME_MONITORING",
    }
    for feature in features.values():
        assert feature.inputs["status"] == "ENABLED"
        assert dependency(plan, feature, "detectorId").urn == detector.urn
        assert feature.region == "ap-northeast-1" and feature.parent == detection(plan).urn
    # Runtime Monitoring does nothing unless GuardDuty manages its agents.
    assert {
        (c["name"], c["status"])
        for c in features["RUNTIME_MONITORING"].inputs["additionalConfigurations"]
    } == {
        ("EKS_ADDON_MANAGEMENT", "ENABLED"),
        ("ECS_FARGATE_AGENT_MANAGEMENT", "ENABLED"),
        ("EC2_AGENT_MANAGEMENT", "ENABLED"),
    }
    assert "additionalConfigurations" not in features["S3_DATA_EVENTS"].inputs


def test_security_hub_without_default_standards_and_with_consolidated_findings(
    example_plan: Callable[[str], PlanResult],
) -> None:
    plan = example_plan("prod")
    (hub,) = of_type(plan, HUB)
    assert hub.inputs["enableDefaultStandards"] is False
    assert hub.inputs["controlFindingGenerator"] == "SECURITY_CONTROL"
    assert hub.protect is True and hub.region == "ap-northeast-1"
    subscribed = {s.inputs["standardsArn"] for s in of_type(plan, SUBSCRIPTION)}
    assert subscribed == {FOUNDATIONAL, CIS_3}
    assert {s.parent for s in of_type(plan, SUBSCRIPTION)} == {detection(plan).urn}


def test_disabled_control_is_disabled_with_its_reason_in_each_standard(
    example_plan: Callable[[str], PlanResult],
) -> None:
    plan = example_plan("prod")
    disabled = {
        (d.inputs["securityControlId"], d.inputs["standardsArn"]): d
        for d in of_type(plan, DISABLED)
    }
    assert set(disabled) == {("IAM.6", FOUNDATIONAL), ("IAM.6", CIS_3)}
    for association in disabled.values():
        assert association.inputs["associationStatus"] == "DISABLED"
        assert association.inputs["updatedReason"] == (
            "hardware MFA for root is held by the organisation"
        )
        assert association.region == "ap-northeast-1"


def test_each_rule_targets_the_topic_of_its_route_in_its_own_region(
    example_plan: Callable[[str], PlanResult],
) -> None:
    regional = ("ap-northeast-1", "urgent", "ap-northeast-1")
    assert routing(example_plan("prod")) == {
        **{f"guardduty-urgent-{slug}": regional for slug in GUARDDUTY_SLUGS},
        **{
            f"guardduty-normal-{slug}": ("ap-northeast-1", "normal", "ap-northeast-1")
            for slug in GUARDDUTY_SLUGS
        },
        # prod notifies CRITICAL and HIGH only: no normal Security Hub rule.
        "securityhub-urgent": regional,
        # Trusted Advisor emits its events in us-east-1 only; its formatter posts there.
        "trusted-advisor": ("us-east-1", "normal", "us-east-1"),
    }
    staging = routing(example_plan("staging"))
    assert staging["securityhub-normal"] == ("ap-northeast-1", "normal", "ap-northeast-1")
    assert len(staging) == 2 * len(GUARDDUTY_SLUGS) + 3


def test_patterns_as_recorded(example_plan: Callable[[str], PlanResult]) -> None:
    plan = example_plan("prod")
    patterns = {r.name: json.loads(r.inputs["eventPattern"]) for r in finding_rules(plan, RULE)}
    for rule in guardduty_rules():
        assert patterns[rule.name] == rule.pattern
    assert patterns["guardduty-urgent-instance"]["detail"] == {
        "severity": [{"numeric": [">=", 7.0]}],
        "resource": {"resourceType": ["Instance"]},
    }
    assert patterns["guardduty-normal-other"]["detail"]["severity"] == [
        {"numeric": [">=", 4.0, "<", 7.0]}
    ]
    findings = patterns["securityhub-urgent"]["detail"]["findings"]
    assert findings["Severity"] == {"Label": ["CRITICAL", "HIGH"]}
    assert findings["Workflow"] == {"Status": ["NEW"]} and findings["RecordState"] == ["ACTIVE"]
    # GuardDuty's own rules announce its findings; Security Hub's copies are left out.
    assert findings["ProductArn"] == [{"anything-but": {"suffix": "::product/aws/guardduty"}}]
    assert patterns["trusted-advisor"]["detail"] == {"status": ["ERROR", "WARN"]}


def test_every_finding_target_formats_its_event_for_slack(
    example_plan: Callable[[str], PlanResult],
) -> None:
    plan = example_plan("prod")
    expected = {rule.name: guardduty_transformer(rule.resource) for rule in guardduty_rules()}
    expected["securityhub-urgent"] = securityhub_transformer()
    targets = {t.name: t for t in finding_rules(plan, TARGET)}
    for name, transformer in expected.items():
        assert targets[name].inputs["inputTransformer"] == {
            "inputPaths": transformer["input_paths"],
            "inputTemplate": transformer["input_template"],
        }
    # Trusted Advisor's event goes to its formatter whole.
    assert "inputTransformer" not in targets["trusted-advisor"].inputs


def test_the_trusted_advisor_formatter(example_plan: Callable[[str], PlanResult]) -> None:
    plan = example_plan("prod")
    (function,) = finding_rules(plan, FUNCTION)
    assert function.inputs["name"] == "guard-prod-trusted-advisor"
    assert function.inputs["runtime"] == "python3.12" and function.region == "us-east-1"
    assert function.inputs["handler"] == "handler.lambda_handler"
    assert function.parent == detection(plan).urn
    target = one(plan, TARGET, "trusted-advisor")
    assert dependency(plan, target, "arn").urn == function.urn
    (permission,) = finding_rules(plan, PERMISSION)
    assert permission.inputs["principal"] == "events.amazonaws.com"
    assert dependency(plan, permission, "sourceArn").name == "trusted-advisor"
    (policy,) = finding_rules(plan, ROLE_POLICY)
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    assert statements["PublishAlerts"]["Resource"] == [
        "arn:aws:sns:us-east-1:111111111111:guard-prod-alerts-normal"
    ]
    assert statements["EncryptThroughSns"]["Condition"] == {
        "StringEquals": {"kms:ViaService": "sns.us-east-1.amazonaws.com"}
    }
    (alarm,) = finding_rules(plan, ALARM)
    assert alarm.inputs["dimensions"] == {"FunctionName": "guard-prod-trusted-advisor"}
    assert alarm.region == "us-east-1" and alarm.property_dependencies["alarmActions"]
    (retries,) = finding_rules(plan, INVOKE_CONFIG)
    assert retries.inputs["maximumRetryAttempts"] == 2


def test_everything_is_parented_and_tagged(example_plan: Callable[[str], PlanResult]) -> None:
    plan = example_plan("prod")
    component = detection(plan)
    mine = [r for r in plan.resources if r.parent == component.urn]
    assert {r.type for r in mine} == {
        DETECTOR,
        FEATURE,
        HUB,
        SUBSCRIPTION,
        DISABLED,
        RULE,
        TARGET,
        FUNCTION,
        PERMISSION,
        INVOKE_CONFIG,
        ALARM,
        ROLE,
        ROLE_POLICY,
        LOG_GROUP,
    }
    for record in (r for r in mine if r.type in (DETECTOR, RULE, FUNCTION)):
        assert record.inputs["tags"]["managed-by"] == "guard"
