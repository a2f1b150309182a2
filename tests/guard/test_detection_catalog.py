"""Tests of the detection catalog: names against botocore's models, event patterns against a real
EventBridge pattern engine, input transformers against sample events.

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

Patterns are evaluated by LocalStack's port of AWS event-ruler, which, unlike moto, matches
fields nested in arrays of objects (Security Hub's detail.findings[]).
"""

from __future__ import annotations

import copy
import json
import re
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
    INPUT_PATH_KEY,
    MAX_INPUT_PATH_LENGTH,
    MAX_INPUT_PATHS,
    MAX_INPUT_TEMPLATE_LENGTH,
    SECURITY_HUB_CONTROL_ID,
    SECURITY_HUB_LABELS,
    SECURITY_HUB_STANDARDS,
    TRANSFORMERS,
    TRUSTED_ADVISOR_STATUSES,
    InputTransformer,
    guardduty_features,
    guardduty_pattern,
    guardduty_routes,
    guardduty_transformer,
    route_securityhub,
    securityhub_pattern,
    securityhub_transformer,
    standard_arn,
    trusted_advisor_pattern,
    trusted_advisor_transformer,
)

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


def test_securityhub_pattern_can_drop_findings_guardduty_already_routes() -> None:
    event = load("securityhub_critical_new")
    pattern = securityhub_pattern(["CRITICAL"], exclude_products=["GuardDuty"])
    assert matches(pattern, event)
    event["detail"]["findings"][0]["ProductName"] = "GuardDuty"
    assert not matches(pattern, event)
    assert matches(securityhub_pattern(["CRITICAL"]), event)


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
    assert set(TRUSTED_ADVISOR_STATUSES) == {"ERROR", "WARN", "OK"}
    with pytest.raises((ValueError, TypeError)):
        trusted_advisor_pattern(bad)


# --------------------------------------------------------------------------------------------
# Input transformers
#
# LocalStack's own transformer (localstack.services.events.target.replace_template_placeholders)
# cannot be imported here: its models module uses Python 3.12 syntax (PEP 695 "type" aliases)
# and this project runs 3.11; its JSONPath helper also needs jsonpath_rw, not a dependency.
# So the two steps are reimplemented minimally, following the EventBridge User Guide:
# - paths: the documented subset (dot notation, dashes, underscores, array indices);
# - template: a placeholder standing alone as a JSON value becomes the value as JSON; inside a
#   quoted string it is pasted raw ("EventBridge doesn't escape values extracted by Input Path");
#   a path missing from the event leaves an empty string.
# --------------------------------------------------------------------------------------------

_MISSING = object()
_SEGMENT = re.compile(r"\.([A-Za-z0-9_-]+)|\[(\d+)\]")
_PLACEHOLDER = re.compile(r"<([A-Za-z0-9_.-]+)>")


def extract(event: Any, path: str) -> Any:
    assert path.startswith("$"), path
    value, pos = event, 1
    while pos < len(path):
        step = _SEGMENT.match(path, pos)
        assert step, f"unsupported JSONPath {path!r} at {pos}"
        key, index = step.group(1), step.group(2)
        if key is not None:
            value = value.get(key, _MISSING) if isinstance(value, dict) else _MISSING
        else:
            i = int(index)
            value = value[i] if isinstance(value, list) and i < len(value) else _MISSING
        if value is _MISSING:
            return _MISSING
        pos = step.end()
    return value


def placeholders(template: str) -> dict[str, set[str]]:
    """Each placeholder and where it stands: "value" (a whole JSON value) or "string"."""
    where: dict[str, set[str]] = {}
    in_string, i = False, 0
    while i < len(template):
        char = template[i]
        if in_string and char == "\\":
            i += 2
            continue
        if char == '"':
            in_string = not in_string
        elif found := _PLACEHOLDER.match(template, i):
            where.setdefault(found.group(1), set()).add("string" if in_string else "value")
            i = found.end()
            continue
        i += 1
    return where


def render(transformer: InputTransformer, event: dict[str, Any]) -> Any:
    paths, template = transformer["input_paths"], transformer["input_template"]
    values = {name: extract(event, path) for name, path in paths.items()}
    out: list[str] = []
    in_string, i = False, 0
    while i < len(template):
        char = template[i]
        if in_string and char == "\\":
            out.append(template[i : i + 2])
            i += 2
            continue
        found = _PLACEHOLDER.match(template, i) if char == "<" else None
        if found:
            value = values[found.group(1)]
            if in_string:
                text = "" if value is _MISSING else value
                out.append(text if isinstance(text, str) else json.dumps(text))
            else:
                assert value is not _MISSING, f"{found.group(1)} is missing but stands alone"
                out.append(json.dumps(value))
            i = found.end()
            continue
        if char == '"':
            in_string = not in_string
        out.append(char)
        i += 1
    return json.loads("".join(out))


def assert_chatbot_custom_notification(message: Any) -> None:
    """The documented custom notification schema, keys and types, nothing more."""
    assert isinstance(message, dict)
    assert set(message) <= {"version", "source", "id", "content", "metadata"}
    assert message["version"] == "1.0"
    assert message["source"] == "custom"
    assert isinstance(message.get("id", ""), str)
    content = message["content"]
    assert set(content) <= {"textType", "title", "description", "nextSteps", "keywords"}
    assert content["textType"] == "client-markdown"
    assert isinstance(content["title"], str) and content["title"]
    assert isinstance(content["description"], str) and content["description"]
    for key in ("nextSteps", "keywords"):
        assert all(isinstance(item, str) for item in content.get(key, []))
    metadata = message.get("metadata", {})
    assert set(metadata) <= {
        "threadId",
        "summary",
        "eventType",
        "relatedResources",
        "additionalContext",
    }
    for key in ("threadId", "summary", "eventType"):
        assert isinstance(metadata.get(key, ""), str)
    assert all(isinstance(v, str) for v in metadata.get("additionalContext", {}).values())


def description_fields(message: dict[str, Any]) -> dict[str, str]:
    """The "*Name:* value" lines of a rendered description."""
    lines = message["content"]["description"].split("\n")
    return {m.group(1): m.group(2) for line in lines if (m := re.match(r"\*(\w+):\* (.*)$", line))}


@pytest.mark.parametrize("name", sorted(TRANSFORMERS))
def test_transformer_respects_eventbridge_limits(name: str) -> None:
    transformer: InputTransformer = TRANSFORMERS[name]()
    paths, template = transformer["input_paths"], transformer["input_template"]
    assert 0 < len(paths) <= MAX_INPUT_PATHS
    assert len(template) <= MAX_INPUT_TEMPLATE_LENGTH
    for key, path in paths.items():
        assert INPUT_PATH_KEY.match(key) and not key.lower().startswith("aws"), key
        assert len(path) <= MAX_INPUT_PATH_LENGTH and "[" not in path.replace("[0]", ""), path
    # Every placeholder is defined and every path is used.
    assert set(placeholders(template)) == set(paths)


# Free text goes in only as a whole JSON value, which EventBridge escapes; identifiers may be
# embedded in strings, where EventBridge pastes them raw.
FREE_TEXT = {"guardduty": {"title"}, "securityhub": {"title"}, "trusted-advisor": {"checkName"}}


@pytest.mark.parametrize("name", sorted(TRANSFORMERS))
def test_free_text_only_stands_alone(name: str) -> None:
    where = placeholders(TRANSFORMERS[name]()["input_template"])
    standalone = {p for p, places in where.items() if "value" in places}
    assert standalone == FREE_TEXT[name]
    assert all(where[p] == {"value"} for p in standalone)


def _paths_in_model(paths: dict[str, str], prefix: str, shape: Any) -> list[str]:
    """Paths under ``prefix`` that do not exist in the botocore shape (by wire names)."""
    missing = []
    for path in paths.values():
        if not path.startswith(prefix):
            continue
        current = shape
        for step in _SEGMENT.finditer(path[len(prefix) :]):
            if step.group(2) is not None:
                current = current.member
                continue
            by_wire = {m.serialization.get("name", n): m for n, m in current.members.items()}
            if step.group(1) not in by_wire:
                missing.append(path)
                break
            current = by_wire[step.group(1)]
    return missing


def test_transformer_paths_exist_in_the_api_models() -> None:
    gd = guardduty_transformer()["input_paths"]
    assert _paths_in_model(gd, "$.detail", model("guardduty").shape_for("Finding")) == []
    sh = securityhub_transformer()["input_paths"]
    finding = model("securityhub").shape_for("AwsSecurityFinding")
    assert _paths_in_model(sh, "$.detail.findings[0]", finding) == []
    # Every path is either the event envelope or under the modelled finding.
    envelope = {"$.id", "$.region", "$.account"}
    assert all(p in envelope or p.startswith("$.detail.") for p in gd.values())
    assert all(p in envelope or p.startswith("$.detail.findings[0].") for p in sh.values())


def test_guardduty_message() -> None:
    event = load("guardduty_high_8.0")
    message = render(guardduty_transformer(), event)
    assert_chatbot_custom_notification(message)
    detail = event["detail"]
    assert message["id"] == event["id"]
    assert message["content"]["title"] == detail["title"]
    fields = description_fields(message)
    assert fields["Severity"] == "8.0 (of 10)"
    assert fields["Account"] == "`111122223333`"
    assert fields["Region"] == "`us-east-1`"
    assert fields["Resource"].split() == ["Instance", "i-0a3f7c91e4b28d5a0"]
    assert fields["Type"] == "`CryptoCurrency:EC2/BitcoinTool.B!DNS`"
    assert fields["Console"] == (
        "https://us-east-1.console.aws.amazon.com/guardduty/home?region=us-east-1"
        "#/findings?macros=current&fId=16afba5c5c43e07c9e3e5e2e544e95df"
    )
    assert message["metadata"]["threadId"] == "guardduty-16afba5c5c43e07c9e3e5e2e544e95df"
    assert "severity 8.0" in message["content"]["keywords"]


def test_guardduty_message_for_a_member_access_key() -> None:
    event = load("guardduty_medium_5.5")
    fields = description_fields(render(guardduty_transformer(), event))
    assert fields["Account"] == "`444455556666`"  # the member account, not the admin's
    assert fields["Region"] == "`ap-northeast-1`"
    assert fields["Resource"].split() == ["AccessKey", "ci-deploy"]
    assert fields["Console"].startswith(
        "https://ap-northeast-1.console.aws.amazon.com/guardduty/home?region=ap-northeast-1#"
    )


def test_securityhub_message() -> None:
    event = load("securityhub_critical_new")
    message = render(securityhub_transformer(), event)
    assert_chatbot_custom_notification(message)
    (finding,) = event["detail"]["findings"]
    assert message["content"]["title"] == "CloudTrail should have encryption at-rest enabled"
    fields = description_fields(message)
    assert fields["Severity"] == "CRITICAL"
    assert fields["Account"] == "`123456789012`"
    assert fields["Region"] == "`us-east-2`"
    assert fields["Resource"] == (
        "AwsCloudTrailTrail `arn:aws:cloudtrail:us-east-2:123456789012:trail/AWSMacieTrail-DO-NOT-EDIT`"
    )
    assert fields["Generator"] == "`security-control/CloudTrail.2`"
    assert fields["Console"] == (
        "https://us-east-2.console.aws.amazon.com/securityhub/home?region=us-east-2"
        "#/findings?search=Id%3D%255Coperator%255C%253AEQUALS%255C%253A" + finding["Id"]
    )
    assert message["content"]["keywords"] == ["CRITICAL", "Security Hub"]


def test_trusted_advisor_message() -> None:
    event = load("trusted_advisor_warn")
    event["detail"]["resource_id"] = (
        "arn:aws:ec2:us-west-1:000099990000:instance/i-01234567890abcdef"
    )
    message = render(trusted_advisor_transformer(), event)
    assert_chatbot_custom_notification(message)
    assert message["content"]["title"] == "Auto Scaling Launch Configurations"
    fields = description_fields(message)
    assert fields["Status"] == "WARN"
    assert fields["Account"] == "`000099990000`"
    assert fields["Region"] == "us-west-1"
    assert fields["Resource"] == "arn:aws:ec2:us-west-1:000099990000:instance/i-01234567890abcdef"
    assert fields["Console"] == "https://console.aws.amazon.com/trustedadvisor/home#/dashboard"


def test_trusted_advisor_message_for_a_global_check_without_region() -> None:
    event = load("trusted_advisor_warn")
    del event["detail"]["check-item-detail"]["Region"]
    message = render(trusted_advisor_transformer(), event)
    assert_chatbot_custom_notification(message)
    assert description_fields(message)["Region"] == ""


HOSTILE = 'Say "hi" to C:\\temp\nthen </b> & {"x": 1}, <title>'


@pytest.mark.parametrize(
    ("name", "sample", "field"),
    [
        ("guardduty", "guardduty_high_8.0", ("detail", "title")),
        ("securityhub", "securityhub_critical_new", ("detail", "findings", 0, "Title")),
        ("trusted-advisor", "trusted_advisor_warn", ("detail", "check-name")),
    ],
)
def test_quotes_backslashes_and_newlines_in_titles_keep_valid_json(
    name: str, sample: str, field: tuple[Any, ...]
) -> None:
    event = copy.deepcopy(load(sample))
    parent: Any = event
    for step in field[:-1]:
        parent = parent[step]
    parent[field[-1]] = HOSTILE
    message = render(TRANSFORMERS[name](), event)
    assert_chatbot_custom_notification(message)
    assert message["content"]["title"] == HOSTILE


def test_templates_are_single_json_documents_once_filled() -> None:
    # Static text is written by json.dumps: no raw newline or unescaped quote can slip in.
    for factory in TRANSFORMERS.values():
        template = factory()["input_template"]
        assert "\n" not in template
        assert template.startswith("{") and template.endswith("}")
