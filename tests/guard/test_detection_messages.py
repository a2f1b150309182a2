"""The Slack messages of GuardDuty and Security Hub findings, rendered the way EventBridge fills an
input template (tests/eventbridge_render.py) from AWS-published samples (tests/data/aws-samples/)
and the catalog's hand-made events (tests/guard/events/).

Each message must come out as one JSON document in AWS Chatbot's custom notification schema,
whose description lines read as a person expects: the resource of the finding's own type, no
identifier of another block, no trailing blank, whatever path a sample lacks.
"""

from __future__ import annotations

import copy
import itertools
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from localstack.services.events.event_rule_engine import EventPatternCompiler, EventRuleEngine

from guard.detection_catalog import GUARDDUTY_RESOURCES, GuardDutyResource, guardduty_rules
from guard.detection_messages import (
    INPUT_PATH_KEY,
    MAX_INPUT_PATH_LENGTH,
    MAX_INPUT_PATHS,
    MAX_INPUT_TEMPLATE_LENGTH,
    InputTransformer,
    guardduty_transformer,
    securityhub_transformer,
)
from tests.aws_samples import guardduty_event, load_sample, securityhub_event
from tests.eventbridge_render import SEGMENT, placeholders, render, render_text

EVENTS = Path(__file__).parent / "events"
GUARDDUTY_VARIANTS: list[GuardDutyResource | None] = [*GUARDDUTY_RESOURCES, None]
ALL_TRANSFORMERS = {
    **{
        f"guardduty-{r.slug if r else 'other'}": guardduty_transformer(r)
        for r in GUARDDUTY_VARIANTS
    },
    "securityhub": securityhub_transformer(),
}
#: Free text goes in only as a whole JSON value, which EventBridge escapes; identifiers may be
#: embedded in strings, where EventBridge pastes them raw.
FREE_TEXT = {"title"}


def load(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / f"{name}.json").read_text())


@cache
def model(service: str) -> Any:
    return botocore.session.get_session().get_service_model(service)


def sample_finding(name: str, severity: float = 8.0) -> dict[str, Any]:
    event = guardduty_event(load_sample(name))
    event["detail"]["severity"] = severity
    return event


def assert_chatbot_custom_notification(message: Any) -> None:
    """The documented custom notification schema, keys and types, nothing more."""
    assert isinstance(message, dict)
    assert set(message) <= {"version", "source", "id", "content", "metadata"}
    assert message["version"] == "1.0" and message["source"] == "custom"
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
    assert all(isinstance(v, str) for v in metadata.get("additionalContext", {}).values())


def lines(message: dict[str, Any]) -> list[str]:
    found: list[str] = message["content"]["description"].split("\n")
    return found


def description_fields(message: dict[str, Any]) -> dict[str, str]:
    """The "*Name:* value" lines of a rendered description."""
    return {
        m.group(1): m.group(2)
        for line in lines(message)
        if (m := re.match(r"\*([^*]+):\* (.*)$", line))
    }


def assert_reads_well(message: dict[str, Any]) -> None:
    assert_chatbot_custom_notification(message)
    for line in lines(message):
        assert line == line.rstrip(), f"trailing blank in {line!r}"
        assert "<" not in line.replace("<https", ""), f"unfilled placeholder in {line!r}"


# --- shape and limits --------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(ALL_TRANSFORMERS))
def test_transformer_respects_eventbridge_limits(name: str) -> None:
    transformer: InputTransformer = ALL_TRANSFORMERS[name]
    paths, template = transformer["input_paths"], transformer["input_template"]
    assert 0 < len(paths) <= MAX_INPUT_PATHS
    assert len(template) <= MAX_INPUT_TEMPLATE_LENGTH
    for key, path in paths.items():
        assert INPUT_PATH_KEY.match(key) and not key.lower().startswith("aws"), key
        assert len(path) <= MAX_INPUT_PATH_LENGTH and "[" not in path.replace("[0]", ""), path
    where = placeholders(template)
    assert set(where) == set(paths)  # every placeholder is defined and every path is used
    assert not any("key" in places for places in where.values())  # never an object key
    # Free text stands alone (EventBridge escapes it there) and nowhere else.
    assert {p for p, places in where.items() if "value" in places} == FREE_TEXT
    assert all(where[p] == {"value"} for p in FREE_TEXT)
    # Static text is written by json.dumps: no raw newline or unescaped quote can slip in.
    assert "\n" not in template and template.startswith("{") and template.endswith("}")


def _missing_from_model(paths: dict[str, str], prefix: str, shape: Any) -> list[str]:
    """Paths under ``prefix`` that do not exist in the botocore shape (by wire names)."""
    missing = []
    for path in paths.values():
        if not path.startswith(prefix):
            continue
        current = shape
        for step in SEGMENT.finditer(path[len(prefix) :]):
            if step.group(2) is not None:
                current = current.member
                continue
            if current.type_name == "map":  # ProductFields: any key
                break
            by_wire = {m.serialization.get("name", n): m for n, m in current.members.items()}
            if step.group(1) not in by_wire:
                missing.append(path)
                break
            current = by_wire[step.group(1)]
    return missing


@pytest.mark.parametrize("resource", GUARDDUTY_VARIANTS, ids=lambda r: r.slug if r else "other")
def test_guardduty_paths_exist_in_the_finding_model(resource: GuardDutyResource | None) -> None:
    paths = guardduty_transformer(resource)["input_paths"]
    assert _missing_from_model(paths, "$.detail", model("guardduty").shape_for("Finding")) == []
    assert all(p in ("$.id", "$.region") or p.startswith("$.detail.") for p in paths.values())


def test_securityhub_paths_exist_in_the_asff_model() -> None:
    paths = securityhub_transformer()["input_paths"]
    finding = model("securityhub").shape_for("AwsSecurityFinding")
    assert _missing_from_model(paths, "$.detail.findings[0]", finding) == []


# --- GuardDuty, on AWS's sample findings ---------------------------------------------------------


def _message_of_the_matching_rule(event: dict[str, Any]) -> dict[str, Any]:
    compiler, engine = EventPatternCompiler(), EventRuleEngine()
    (rule,) = [
        r
        for r in guardduty_rules()
        if engine.evaluate_pattern_on_event(compiler.compile_event_pattern(r.pattern), event)
    ]
    message: dict[str, Any] = render(guardduty_transformer(rule.resource), event)
    return message


CONSOLE = "https://us-east-1.console.aws.amazon.com/guardduty/home?region=us-east-1#/findings?macros=current&fId="


def test_sample_iam_finding_shows_the_user_and_key_not_the_instance() -> None:
    message = _message_of_the_matching_rule(sample_finding("guardduty_finding_iam", 5.0))
    assert_reads_well(message)
    assert message["content"]["title"] == (
        "Reconnaissance API GeneratedFindingAPIName was invoked from an IP address on a custom "
        "threat list."
    )
    assert lines(message) == [
        ":rotating_light: *GuardDuty finding*",
        "*Severity:* 5.0 (of 10)",
        "*Account:* `123456789012`",
        "*Region:* `us-east-1`",
        "*IAM user:* `GeneratedFindingUserName`",
        "*Access key:* `GeneratedFindingAccessKeyId`",
        "*Type:* `Recon:IAMUser/MaliciousIPCaller.Custom`",
        f"*Console:* {CONSOLE}30bf285e52a1e405084ff6ec28e06e17",
    ]
    assert "i-99999999" not in json.dumps(message)
    assert message["metadata"]["threadId"] == "guardduty-30bf285e52a1e405084ff6ec28e06e17"


def test_sample_s3_finding_shows_the_bucket_only() -> None:
    message = _message_of_the_matching_rule(sample_finding("guardduty_finding_s3", 8.0))
    assert_reads_well(message)
    assert description_fields(message)["S3 bucket"] == "`bucketName`"
    assert "i-99999999" not in json.dumps(message)
    assert "GeneratedFindingUserName" not in message["content"]["description"]


def test_sample_ec2_finding_shows_the_instance() -> None:
    message = _message_of_the_matching_rule(sample_finding("guardduty_finding_ec2", 5.0))
    assert_reads_well(message)
    assert description_fields(message)["Instance"] == "`i-05746eb48123455e0`"
    assert description_fields(message)["Severity"] == "5.0 (of 10)"


def _set(document: dict[str, Any], path: str, value: str) -> None:
    steps = [
        m.group(1) if m.group(1) is not None else int(m.group(2))
        for m in SEGMENT.finditer(path[1:])
    ]
    node: Any = document
    for step, following in itertools.pairwise(steps):
        if isinstance(step, int):
            while len(node) <= step:
                node.append({} if isinstance(following, str) else [])
            node = node[step]
        else:
            node = node.setdefault(step, [] if isinstance(following, int) else {})
    node[steps[-1]] = value


@pytest.mark.parametrize("resource", GUARDDUTY_RESOURCES, ids=lambda r: r.slug)
def test_each_resource_type_shows_its_own_block(resource: GuardDutyResource) -> None:
    event = sample_finding("guardduty_finding_iam")  # amended to the type, its block filled
    event["detail"]["resource"]["resourceType"] = resource.resource_type
    for _, placeholder, path in resource.fields:
        _set(event, path, f"value-of-{placeholder}")
    message = _message_of_the_matching_rule(event)
    assert_reads_well(message)
    fields = description_fields(message)
    for label, placeholder, _ in resource.fields:
        assert fields[label] == f"`value-of-{placeholder}`"
    others = {label for r in GUARDDUTY_RESOURCES if r is not resource for label, _, _ in r.fields}
    assert not others & set(fields)


@pytest.mark.parametrize("resource", GUARDDUTY_RESOURCES, ids=lambda r: r.slug)
def test_a_block_the_finding_lacks_leaves_no_trailing_blank(resource: GuardDutyResource) -> None:
    event = sample_finding("guardduty_finding_ec2")  # amended: the type without its block
    event["detail"]["resource"] = {"resourceType": resource.resource_type}
    message = _message_of_the_matching_rule(event)
    assert_reads_well(message)
    assert all(description_fields(message)[label] == "``" for label, _, _ in resource.fields)


@pytest.mark.parametrize("resource_type", ["S3Object", None])
def test_the_fallback_names_the_resource_type_only(resource_type: str | None) -> None:
    event = sample_finding("guardduty_finding_s3", 8.0)  # amended: another or no resource type
    if resource_type is None:
        del event["detail"]["resource"]["resourceType"]
    else:
        event["detail"]["resource"]["resourceType"] = resource_type
    message = _message_of_the_matching_rule(event)
    assert_reads_well(message)
    fields = description_fields(message)
    assert fields["Resource type"] == f"`{resource_type or ''}`"
    assert not {"S3 bucket", "Instance", "IAM user"} & set(fields)


def test_guardduty_message_for_a_member_access_key() -> None:
    event = load("guardduty_medium_5.5")
    fields = description_fields(_message_of_the_matching_rule(event))
    assert fields["Account"] == "`444455556666`"  # the member account, not the admin's
    assert fields["Region"] == "`ap-northeast-1`"
    assert fields["IAM user"] == "`ci-deploy`"
    assert fields["Console"].startswith(
        "https://ap-northeast-1.console.aws.amazon.com/guardduty/home?region=ap-northeast-1#"
    )


# --- Security Hub, on AWS's ASFF examples --------------------------------------------------------


def test_securityhub_message_of_the_fsbp_control_finding() -> None:
    finding = load_sample("securityhub_control_finding_fsbp")
    message = render(securityhub_transformer(), securityhub_event(finding, region="us-east-2"))
    assert_reads_well(message)
    assert message["content"]["title"] == finding["Title"]
    assert lines(message)[:2] == [":warning: *Security Hub finding*", "*Product:* `Security Hub`"]
    fields = description_fields(message)
    assert fields["Severity"] == "MEDIUM"
    assert fields["Account"] == "`123456789012`" and fields["Region"] == "`us-east-2`"
    assert fields["Resource"] == f"AwsCloudTrailTrail `{finding['Resources'][0]['Id']}`"
    assert fields["Generator"] == "`aws-foundational-security-best-practices/v/1.0.0/CloudTrail.2`"
    assert fields["Console"] == (
        "https://us-east-2.console.aws.amazon.com/securityhub/home?region=us-east-2"
        "#/findings?search=Id%3D%255Coperator%255C%253AEQUALS%255C%253A" + finding["Id"]
    )


def test_securityhub_message_of_a_finding_without_product_name_or_region() -> None:
    finding = load_sample("securityhub_finding_from_guardduty")
    message = render(securityhub_transformer(), securityhub_event(finding, region="us-east-1"))
    assert_reads_well(message)
    fields = description_fields(message)
    assert fields["Product"] == "`GuardDuty`"  # from ProductFields, present when ProductName is not
    assert fields["Region"] == "``"  # the example has no Region: an empty span, no blank


# --- hostile text ----------------------------------------------------------------------------------

HOSTILE = 'Say "hi" to C:\\temp\nthen </b> & {"x": 1}, <title>'


@pytest.mark.parametrize("name", sorted(ALL_TRANSFORMERS))
def test_quotes_backslashes_and_newlines_in_titles_keep_valid_json(name: str) -> None:
    if name == "securityhub":
        event = securityhub_event(load_sample("securityhub_control_finding_fsbp"))
        event["detail"]["findings"][0]["Title"] = HOSTILE
    else:
        event = copy.deepcopy(sample_finding("guardduty_finding_iam"))
        event["detail"]["title"] = HOSTILE
    message = render(ALL_TRANSFORMERS[name], event)
    assert_chatbot_custom_notification(message)
    assert message["content"]["title"] == HOSTILE


def _aws_sample_events(service: str) -> list[dict[str, Any]]:
    if service == "guardduty":
        return [
            sample_finding(n)
            for n in ("guardduty_finding_iam", "guardduty_finding_s3", "guardduty_finding_ec2")
        ]
    return [
        securityhub_event(load_sample(n))
        for n in ("securityhub_control_finding_fsbp", "securityhub_finding_from_guardduty")
    ]


@pytest.mark.parametrize("name", sorted(ALL_TRANSFORMERS))
def test_every_template_on_every_aws_sample_is_one_readable_document(name: str) -> None:
    """Whatever rule a sample meets, and whatever paths it lacks (a sample of another type has
    none of the block a rule reads), the message is one JSON document that reads well."""
    for event in _aws_sample_events(name.split("-")[0]):
        message = render(ALL_TRANSFORMERS[name], event)
        assert_reads_well(message)
        assert all(re.match(r"(:\w+: )?\*[^*]+\*( |$)", line) for line in lines(message))


@pytest.mark.parametrize("name", sorted(ALL_TRANSFORMERS))
def test_line_breaks_survive_an_implementation_that_rewrites_backslash_n(name: str) -> None:
    """LocalStack's EventBridge emulation (localstack/services/events/target.py,
    replace_template_placeholders) rewrites the two characters backslash-n of a filled template
    into a raw newline before parsing it, which makes a JSON template that writes its line
    breaks as ``\\n`` invalid. AWS documents no such step, but the templates must not depend on
    which reading is right: their line breaks are ``\\u000a``, untouched by that rewrite."""
    for event in _aws_sample_events(name.split("-")[0]):
        text = render_text(ALL_TRANSFORMERS[name], event)
        assert json.loads(text.replace("\\n", "\n")) == render(ALL_TRANSFORMERS[name], event)


def test_templates_write_line_breaks_that_survive_a_newline_rewrite() -> None:
    for transformer in ALL_TRANSFORMERS.values():
        template = transformer["input_template"]
        assert "\\n" not in template.replace("\\\\", "")
        assert "\\u000a" in template  # the description's line breaks
