"""Tests of the detection catalog: names against botocore's models, event patterns against a real
EventBridge pattern engine (the messages: test_detection_messages.py).

Sample events (tests/guard/events/):
- GuardDuty: the envelope documented in the GuardDuty User Guide ("detail" is the complete
  finding JSON) around findings in the API's Finding shape; every key is checked against
  botocore's guardduty model below, so a misspelt field cannot hide a broken input path.
- Security Hub: the envelope of "EventBridge event formats for Security Hub CSPM" around the
  consolidated control finding sample of the Security Hub User Guide ("Sample control
  findings", CloudTrail.2; its typos fixed: a missing and a trailing comma, Normalized as a
  number). Only Id, Severity, Workflow and RecordState vary between the files.
- Trusted Advisor: the event captured in the tests of AWS's Limit Monitor solution; the WARN
  file differs only in its status, id, time and uuid.

AWS-published samples (tests/data/aws-samples/, with their provenance): GuardDuty sample
findings from aws-samples (CreateSampleFindings output: every resource block filled), the
GuardDuty-in-ASFF example of the GuardDuty User Guide (no top-level ProductName) and the FSBP
control finding of the Security Hub User Guide.

Patterns are evaluated by LocalStack's port of AWS event-ruler, which, unlike moto, matches
fields nested in arrays of objects (Security Hub's detail.findings[]).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.validate import ParamValidator
from localstack.services.events.event_rule_engine import EventPatternCompiler, EventRuleEngine

from guard.detection_catalog import (
    DEFAULT_GUARDDUTY_FEATURES,
    GUARDDUTY_FEATURES,
    GUARDDUTY_PUBLISHING_FREQUENCIES,
    GUARDDUTY_RESOURCES,
    SECURITY_HUB_CONTROL_ID,
    SECURITY_HUB_LABELS,
    SECURITY_HUB_STANDARDS,
    TRUSTED_ADVISOR_STATUSES,
    guardduty_features,
    guardduty_pattern,
    guardduty_routes,
    guardduty_rules,
    route_securityhub,
    securityhub_pattern,
    standard_arn,
    trusted_advisor_pattern,
)
from tests.aws_samples import guardduty_event, load_sample, securityhub_event

EVENTS = Path(__file__).parent / "events"


def load(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / f"{name}.json").read_text())


def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    compiled = EventPatternCompiler().compile_event_pattern(pattern)
    return bool(EventRuleEngine().evaluate_pattern_on_event(compiled, event))


@cache
def model(service: str) -> Any:
    return botocore.session.get_session().get_service_model(service)


# --------------------------------------------------------------------------------------------
# GuardDuty names against botocore's model
# --------------------------------------------------------------------------------------------


def _create_detector() -> Any:
    return model("guardduty").operation_model("CreateDetector").input_shape


def test_feature_names_are_guardduty_api_enums() -> None:
    feature = _create_detector().members["Features"].member
    names = set(feature.members["Name"].enum)
    extra = set(feature.members["AdditionalConfiguration"].member.members["Name"].enum)
    for alias, spec in GUARDDUTY_FEATURES.items():
        assert spec.name in names, alias
        assert set(spec.additional_configuration) <= extra, alias


def test_feature_aliases_and_runtime_monitoring_agents() -> None:
    assert {alias: f.name for alias, f in GUARDDUTY_FEATURES.items()} == {
        "s3-data-events": "S3_DATA_EVENTS",
        "eks-audit-logs": "EKS_AUDIT_LOGS",
        "ebs-malware-protection": "EBS_MALWARE_PROTECTION",
        "rds-login-events": "RDS_LOGIN_EVENTS",
        "lambda-network-logs": "LAMBDA_NETWORK_LOGS",
        "runtime-monitoring": "RUNTIME_MONITORING",
    }
    assert GUARDDUTY_FEATURES["runtime-monitoring"].additional_configuration == (
        "EKS_ADDON_MANAGEMENT",
        "ECS_FARGATE_AGENT_MANAGEMENT",
        "EC2_AGENT_MANAGEMENT",
    )
    assert set(DEFAULT_GUARDDUTY_FEATURES) == set(GUARDDUTY_FEATURES)
    assert len(DEFAULT_GUARDDUTY_FEATURES) == 6


def test_publishing_frequencies_match_the_model() -> None:
    shape = _create_detector().members["FindingPublishingFrequency"]
    assert list(GUARDDUTY_PUBLISHING_FREQUENCIES) == shape.enum


def test_feature_configurations_are_a_valid_create_detector_request() -> None:
    features = guardduty_features(DEFAULT_GUARDDUTY_FEATURES)
    params = {
        "Enable": True,
        "FindingPublishingFrequency": "FIFTEEN_MINUTES",
        "Features": [f.configuration() for f in features],
    }
    report = ParamValidator().validate(params, _create_detector())
    assert not report.has_errors(), report.generate_report()
    runtime = GUARDDUTY_FEATURES["runtime-monitoring"].configuration()
    assert runtime["AdditionalConfiguration"] == [
        {"Name": "EKS_ADDON_MANAGEMENT", "Status": "ENABLED"},
        {"Name": "ECS_FARGATE_AGENT_MANAGEMENT", "Status": "ENABLED"},
        {"Name": "EC2_AGENT_MANAGEMENT", "Status": "ENABLED"},
    ]
    assert GUARDDUTY_FEATURES["s3-data-events"].configuration(enabled=False) == {
        "Name": "S3_DATA_EVENTS",
        "Status": "DISABLED",
    }


def test_unknown_feature_alias_is_an_error() -> None:
    with pytest.raises(ValueError, match="malware"):
        guardduty_features(["s3-data-events", "malware"])
    assert [f.name for f in guardduty_features(["eks-audit-logs", "eks-audit-logs"])] == [
        "EKS_AUDIT_LOGS"
    ]


# --------------------------------------------------------------------------------------------
# Security Hub standards and control IDs
# --------------------------------------------------------------------------------------------

EXPECTED_ARNS = {
    "aws-foundational": "arn:aws:securityhub:{r}::standards/aws-foundational-security-best-practices/v/1.0.0",
    "cis-1.2": "arn:aws:securityhub:::ruleset/cis-aws-foundations-benchmark/v/1.2.0",
    "cis-1.4": "arn:aws:securityhub:{r}::standards/cis-aws-foundations-benchmark/v/1.4.0",
    "cis-3.0": "arn:aws:securityhub:{r}::standards/cis-aws-foundations-benchmark/v/3.0.0",
    "pci-dss": "arn:aws:securityhub:{r}::standards/pci-dss/v/3.2.1",
    "nist-800-53": "arn:aws:securityhub:{r}::standards/nist-800-53/v/5.0.0",
    "aws-resource-tagging": "arn:aws:securityhub:{r}::standards/aws-resource-tagging-standard/v/1.0.0",
}


@pytest.mark.parametrize("region", ["ap-northeast-1", "us-east-1"])
@pytest.mark.parametrize("alias", sorted(EXPECTED_ARNS))
def test_standard_arns_are_aws_format(alias: str, region: str) -> None:
    assert standard_arn(alias, region) == EXPECTED_ARNS[alias].format(r=region)


def test_every_standard_is_covered_and_only_cis_1_2_is_global() -> None:
    assert set(SECURITY_HUB_STANDARDS) == set(EXPECTED_ARNS)
    assert [a for a, s in SECURITY_HUB_STANDARDS.items() if not s.regional] == ["cis-1.2"]


def test_standard_arns_are_valid_batch_enable_standards_input() -> None:
    shape = model("securityhub").operation_model("BatchEnableStandards").input_shape
    params = {
        "StandardsSubscriptionRequests": [
            {"StandardsArn": standard_arn(alias, "ap-northeast-1")}
            for alias in SECURITY_HUB_STANDARDS
        ]
    }
    report = ParamValidator().validate(params, shape)
    assert not report.has_errors(), report.generate_report()


def test_standard_arn_partition_comes_from_the_region() -> None:
    assert standard_arn("pci-dss", "cn-north-1").startswith("arn:aws-cn:securityhub:cn-north-1::")
    assert standard_arn("cis-1.2", "us-gov-west-1").startswith("arn:aws-us-gov:securityhub:::")


def test_standard_arn_errors() -> None:
    with pytest.raises(ValueError, match="unknown Security Hub standard"):
        standard_arn("cis-9.9", "us-east-1")
    with pytest.raises(ValueError, match="unknown AWS region"):
        standard_arn("pci-dss", "moon-base-1")


@pytest.mark.parametrize(
    "control", ["IAM.6", "EC2.19", "CloudFront.1", "S3.1", "Route53.2", "ElasticBeanstalk.12"]
)
def test_control_id_accepts(control: str) -> None:
    assert SECURITY_HUB_CONTROL_ID.match(control)


@pytest.mark.parametrize(
    "control", ["iam.6", "IAM6", "IAM.", "IAM.06", ".6", "IAM.6 ", "PCI.CloudTrail.1", "IAM-6"]
)
def test_control_id_rejects(control: str) -> None:
    assert not SECURITY_HUB_CONTROL_ID.match(control)


def test_control_id_of_the_sample_finding() -> None:
    finding = load("securityhub_critical_new")["detail"]["findings"][0]
    assert SECURITY_HUB_CONTROL_ID.match(finding["Compliance"]["SecurityControlId"])


def test_label_enums_match_the_model() -> None:
    assert set(SECURITY_HUB_LABELS) == set(model("securityhub").shape_for("SeverityLabel").enum)


# --------------------------------------------------------------------------------------------
# Sample events are real shapes: every key exists in botocore's model
# --------------------------------------------------------------------------------------------


def _unknown_keys(value: Any, shape: Any, where: str) -> list[str]:
    """Keys in ``value`` that the botocore shape does not define, by wire (JSON) name."""
    if shape.type_name == "structure" and isinstance(value, dict):
        by_wire = {m.serialization.get("name", n): m for n, m in shape.members.items()}
        unknown: list[str] = []
        for key, item in value.items():
            if key not in by_wire:
                unknown.append(f"{where}.{key}")
            elif item is not None:
                unknown += _unknown_keys(item, by_wire[key], f"{where}.{key}")
        return unknown
    if shape.type_name == "list" and isinstance(value, list):
        return [
            u for i, v in enumerate(value) for u in _unknown_keys(v, shape.member, f"{where}[{i}]")
        ]
    return []


GUARDDUTY_SAMPLES = ["guardduty_high_8.0", "guardduty_medium_5.5", "guardduty_low_2.0"]
SECURITYHUB_SAMPLES = [
    "securityhub_critical_new",
    "securityhub_high_resolved",
    "securityhub_low_new",
    "securityhub_critical_archived",
]


@pytest.mark.parametrize("name", GUARDDUTY_SAMPLES)
def test_guardduty_samples_use_only_finding_fields(name: str) -> None:
    event = load(name)
    assert event["detail-type"] == "GuardDuty Finding"
    finding = model("guardduty").shape_for("Finding")
    assert _unknown_keys(event["detail"], finding, "detail") == []


@pytest.mark.parametrize("name", SECURITYHUB_SAMPLES)
def test_securityhub_samples_use_only_asff_fields(name: str) -> None:
    (finding,) = load(name)["detail"]["findings"]
    shape = model("securityhub").shape_for("AwsSecurityFinding")
    assert _unknown_keys(finding, shape, "finding") == []
    report = ParamValidator().validate(
        {"Findings": [finding]},
        model("securityhub").operation_model("BatchImportFindings").input_shape,
    )
    assert not report.has_errors(), report.generate_report()


# --------------------------------------------------------------------------------------------
# Event patterns on a real EventBridge matcher
# --------------------------------------------------------------------------------------------


def _guardduty(severity: float) -> dict[str, Any]:
    event = load("guardduty_high_8.0")
    event["detail"]["severity"] = severity
    return event


def _routes(event: dict[str, Any], routes: dict[str, dict[str, Any]]) -> list[str]:
    return [name for name, pattern in routes.items() if matches(pattern, event)]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("guardduty_high_8.0", ["urgent"]),
        ("guardduty_medium_5.5", ["normal"]),
        ("guardduty_low_2.0", []),
    ],
)
def test_guardduty_routes_on_samples(name: str, expected: list[str]) -> None:
    assert _routes(load(name), guardduty_routes()) == expected


@pytest.mark.parametrize(
    ("severity", "expected"),
    [
        (10.0, ["urgent"]),
        (7.0, ["urgent"]),
        (6.9, ["normal"]),
        (4.0, ["normal"]),
        (3.9, []),
        (1.0, []),
    ],
)
def test_guardduty_route_boundaries(severity: float, expected: list[str]) -> None:
    assert _routes(_guardduty(severity), guardduty_routes()) == expected


def test_guardduty_pattern_shape() -> None:
    assert guardduty_pattern(7.0) == {
        "source": ["aws.guardduty"],
        "detail-type": ["GuardDuty Finding"],
        "detail": {"severity": [{"numeric": [">=", 7.0]}]},
    }
    assert guardduty_pattern(4, 7)["detail"] == {"severity": [{"numeric": [">=", 4.0, "<", 7.0]}]}


def test_guardduty_pattern_ignores_other_sources() -> None:
    event = _guardduty(8.0)
    event["source"] = "aws.securityhub"
    assert not matches(guardduty_pattern(7.0), event)


@pytest.mark.parametrize(("low", "below"), [(7.0, 7.0), (7.0, 4.0), (-1.0, None), (11.0, None)])
def test_guardduty_pattern_rejects_empty_or_impossible_ranges(
    low: float, below: float | None
) -> None:
    with pytest.raises(ValueError):
        guardduty_pattern(low, below)


NOTIFY_WITHOUT_LOW = ["CRITICAL", "HIGH", "MEDIUM"]
NOTIFY_WITH_LOW = ["CRITICAL", "HIGH", "MEDIUM", "LOW"]


def _securityhub_routes(notify: list[str]) -> dict[str, dict[str, Any]]:
    return {
        route: securityhub_pattern(labels) for route, labels in route_securityhub(notify).items()
    }


@pytest.mark.parametrize(
    ("name", "without_low", "with_low"),
    [
        ("securityhub_critical_new", ["urgent"], ["urgent"]),
        ("securityhub_high_resolved", [], []),
        ("securityhub_low_new", [], ["normal"]),
        ("securityhub_critical_archived", [], []),
    ],
)
def test_securityhub_routes_on_samples(
    name: str, without_low: list[str], with_low: list[str]
) -> None:
    event = load(name)
    assert _routes(event, _securityhub_routes(NOTIFY_WITHOUT_LOW)) == without_low
    assert _routes(event, _securityhub_routes(NOTIFY_WITH_LOW)) == with_low


def test_securityhub_pattern_shape() -> None:
    assert securityhub_pattern(["CRITICAL", "HIGH"]) == {
        "source": ["aws.securityhub"],
        "detail-type": ["Security Hub Findings - Imported"],
        "detail": {
            "findings": {
                "Severity": {"Label": ["CRITICAL", "HIGH"]},
                "Workflow": {"Status": ["NEW"]},
                "RecordState": ["ACTIVE"],
            }
        },
    }


def _asff(name: str, **finding: Any) -> dict[str, Any]:
    sample = load_sample(name)
    sample.update(finding)
    return securityhub_event(sample)


HIGH = {"Severity": {"Label": "HIGH", "Normalized": 70}}


def test_securityhub_pattern_excludes_guardduty_by_product_arn() -> None:
    pattern = securityhub_pattern(["HIGH"], exclude_products=["GuardDuty"])
    assert pattern["detail"]["findings"]["ProductArn"] == [
        {"anything-but": {"suffix": "::product/aws/guardduty"}}
    ]
    # AWS's GuardDuty-in-ASFF example has no top-level ProductName: still left out.
    guardduty = _asff("securityhub_finding_from_guardduty", **HIGH)
    assert "ProductName" not in guardduty["detail"]["findings"][0]
    assert not matches(pattern, guardduty)
    assert matches(securityhub_pattern(["HIGH"]), guardduty)
    # Security Hub's own control finding (with ProductName) passes, and so does one without it:
    # anything-but on ProductName would have dropped that one silently.
    control = _asff("securityhub_control_finding_fsbp", **HIGH)
    assert matches(pattern, control)
    del control["detail"]["findings"][0]["ProductName"]
    assert matches(pattern, control)


def test_securityhub_pattern_product_exclusions_are_known_products() -> None:
    with pytest.raises(ValueError, match="unknown Security Hub product"):
        securityhub_pattern(["HIGH"], exclude_products=["Macie"])


def test_route_securityhub_splits_and_omits_empty_routes() -> None:
    assert route_securityhub(["LOW", "CRITICAL", "HIGH", "MEDIUM"]) == {
        "urgent": ["CRITICAL", "HIGH"],
        "normal": ["MEDIUM", "LOW"],
    }
    assert route_securityhub(["HIGH"]) == {"urgent": ["HIGH"]}
    assert route_securityhub(["MEDIUM", "INFORMATIONAL"]) == {"normal": ["MEDIUM", "INFORMATIONAL"]}


@pytest.mark.parametrize("bad", [["SEVERE"], ["high"], [], "HIGH"])
def test_securityhub_labels_are_validated(bad: Any) -> None:
    with pytest.raises((ValueError, TypeError)):
        route_securityhub(bad)
    with pytest.raises((ValueError, TypeError)):
        securityhub_pattern(bad)


def test_trusted_advisor_pattern_matches_warn_not_ok() -> None:
    pattern = trusted_advisor_pattern(["ERROR", "WARN"])
    assert pattern == {
        "source": ["aws.trustedadvisor"],
        "detail-type": ["Trusted Advisor Check Item Refresh Notification"],
        "detail": {"status": ["ERROR", "WARN"]},
    }
    assert matches(pattern, load("trusted_advisor_warn"))
    assert not matches(pattern, load("trusted_advisor_ok"))
    assert matches(trusted_advisor_pattern(["OK"]), load("trusted_advisor_ok"))


@pytest.mark.parametrize("bad", [["WARNING"], ["warn"], [], "WARN"])
def test_trusted_advisor_statuses_are_validated(bad: Any) -> None:
    assert set(TRUSTED_ADVISOR_STATUSES) == {"ERROR", "WARN", "OK", "INFO"}
    with pytest.raises((ValueError, TypeError)):
        trusted_advisor_pattern(bad)


def test_info_is_a_trusted_advisor_status_the_pattern_takes() -> None:
    event = load("trusted_advisor_ok")
    event["detail"]["status"] = "INFO"
    assert matches(trusted_advisor_pattern(["INFO"]), event)
    assert not matches(trusted_advisor_pattern(["ERROR", "WARN"]), event)


# --------------------------------------------------------------------------------------------
# GuardDuty: one rule per route and resource type, on AWS's sample findings
# --------------------------------------------------------------------------------------------

GUARDDUTY_AWS_SAMPLES = ["guardduty_finding_iam", "guardduty_finding_s3", "guardduty_finding_ec2"]


def _sample_finding(name: str, severity: float) -> dict[str, Any]:
    event = guardduty_event(load_sample(name))
    event["detail"]["severity"] = severity
    return event


def _matching_rules(event: dict[str, Any]) -> list[str]:
    return [rule.name for rule in guardduty_rules() if matches(rule.pattern, event)]


def test_the_rules_are_named_by_route_and_resource_type() -> None:
    names = [rule.name for rule in guardduty_rules()]
    slugs = [r.slug for r in GUARDDUTY_RESOURCES] + ["other"]
    assert names == [
        f"guardduty-{route}-{slug}" for route in ("urgent", "normal") for slug in slugs
    ]
    assert "guardduty-urgent-instance" in names and "guardduty-normal-other" in names
    assert len(set(names)) == len(names)


def test_every_rule_keeps_its_routes_severity_bounds() -> None:
    routes = guardduty_routes()
    for rule in guardduty_rules():
        assert rule.pattern["detail"]["severity"] == routes[rule.route]["detail"]["severity"]


@pytest.mark.parametrize("name", GUARDDUTY_AWS_SAMPLES)
@pytest.mark.parametrize(
    ("severity", "route"), [(8.0, "urgent"), (7.0, "urgent"), (6.9, "normal"), (4.0, "normal")]
)
def test_each_aws_sample_finding_reaches_exactly_one_rule(
    name: str, severity: float, route: str
) -> None:
    event = _sample_finding(name, severity)
    slug = {"AccessKey": "access-key", "S3Bucket": "s3-bucket", "Instance": "instance"}[
        event["detail"]["resource"]["resourceType"]
    ]
    assert _matching_rules(event) == [f"guardduty-{route}-{slug}"]


def test_a_low_sample_finding_reaches_no_rule() -> None:
    assert _matching_rules(_sample_finding("guardduty_finding_iam", 3.9)) == []


@pytest.mark.parametrize("resource_type", [r.resource_type for r in GUARDDUTY_RESOURCES])
def test_each_known_resource_type_has_its_own_rule(resource_type: str) -> None:
    event = _sample_finding("guardduty_finding_iam", 8.0)  # amended: another resource type
    event["detail"]["resource"]["resourceType"] = resource_type
    (rule,) = _matching_rules(event)
    assert rule != "guardduty-urgent-other"


@pytest.mark.parametrize("resource_type", ["S3Object", "RDSLimitlessDB", None])
def test_other_and_absent_resource_types_reach_the_fallback(resource_type: str | None) -> None:
    event = _sample_finding("guardduty_finding_s3", 5.0)  # amended: another or no resource type
    if resource_type is None:
        del event["detail"]["resource"]["resourceType"]
    else:
        event["detail"]["resource"]["resourceType"] = resource_type
    assert _matching_rules(event) == ["guardduty-normal-other"]
    del event["detail"]["resource"]
    assert _matching_rules(event) == ["guardduty-normal-other"]


def test_guardduty_pattern_takes_a_type_or_types_to_leave_out() -> None:
    assert guardduty_pattern(7.0, resource_type="Lambda")["detail"]["resource"] == {
        "resourceType": ["Lambda"]
    }
    assert guardduty_pattern(7.0, other_than=["Lambda", "Lambda"])["detail"]["resource"] == {
        "resourceType": [{"anything-but": ["Lambda"]}, {"exists": False}]
    }
    with pytest.raises(ValueError, match="not both"):
        guardduty_pattern(7.0, resource_type="Lambda", other_than=["Instance"])


@pytest.mark.parametrize("name", GUARDDUTY_AWS_SAMPLES)
def test_aws_sample_findings_are_the_api_finding_shape(name: str) -> None:
    unknown = _unknown_keys(load_sample(name), model("guardduty").shape_for("Finding"), "detail")
    # additionalInfo is free-form in the events; the API models it as an opaque value.
    assert [key for key in unknown if ".additionalInfo." not in key] == []


@pytest.mark.parametrize(
    "name", ["securityhub_control_finding_fsbp", "securityhub_finding_from_guardduty"]
)
def test_aws_asff_examples_are_the_asff_shape(name: str) -> None:
    finding = load_sample(name)
    assert _unknown_keys(finding, model("securityhub").shape_for("AwsSecurityFinding"), "f") == []
    assert finding["ProductArn"]  # required in ASFF, so the exclusion can rely on it
