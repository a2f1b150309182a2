"""Which Slack channel each finding reaches, end to end on what the plan records.

The patterns are the EventRule ``eventPattern`` inputs as the engine receives them, followed
through each rule's target to its SNS topic and from the topic to the Chatbot channel that
subscribes to it. They are evaluated by LocalStack's port of AWS event-ruler (moto's EventBridge
does not match inside arrays of objects, where Security Hub puts its findings). The sample events
are the detection catalog's (tests/guard/events/) and AWS-published ones (tests/data/aws-samples/):
GuardDuty sample findings, which fill every resource block, and the GuardDuty finding in ASFF.
A Trusted Advisor rule invokes a formatter function; the event then reaches the topic that
function publishes to (its TOPIC_ARN).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from localstack.services.events.event_rule_engine import EventPatternCompiler, EventRuleEngine

from guard.plan import PlanResult
from tests.aws_samples import (
    guardduty_event,
    load_sample,
    securityhub_event,
    trusted_advisor_events,
)
from tests.conftest import of_type, within

# The WAF digest has a scheduled rule of its own; these tests mean the finding rules.
finding_rules = within("guard:detection:ThreatDetection")

EVENTS = Path(__file__).parent / "events"
CHATBOT = "aws:chatbot/slackChannelConfiguration:SlackChannelConfiguration"


def sample(name: str, region: str, **finding: Any) -> dict[str, Any]:
    """A catalog sample event as EventBridge delivers it in ``region``, findings amended."""
    event = json.loads((EVENTS / f"{name}.json").read_text())
    event["region"] = region
    for finding_record in event["detail"].get("findings", []):
        for key, value in finding.items():
            finding_record[key] = copy.deepcopy(value)
    return event


def rules_matched(plan: PlanResult, event: dict[str, Any]) -> list[Any]:
    """The targets of the finding rules whose pattern matches ``event`` in its region."""
    by_urn = {r.urn: r for r in plan.resources}
    compiler, engine = EventPatternCompiler(), EventRuleEngine()
    matched = []
    for target in finding_rules(plan, "aws:cloudwatch/eventTarget:EventTarget"):
        (rule_urn,) = target.property_dependencies["rule"]
        rule = by_urn[rule_urn]
        if rule.region != event["region"]:
            continue  # a rule only sees its own region's bus
        pattern = compiler.compile_event_pattern(json.loads(rule.inputs["eventPattern"]))
        if engine.evaluate_pattern_on_event(pattern, event):
            matched.append(target)
    return matched


def topic_of(plan: PlanResult, target: Any) -> str:
    """The topic a target publishes to: its own ARN, or its function's TOPIC_ARN."""
    functions = [
        f
        for f in of_type(plan, "aws:lambda/function:Function")
        if f.state.get("arn") == target.inputs["arn"]
    ]
    if functions:
        (function,) = functions
        return str(function.inputs["environment"]["variables"]["TOPIC_ARN"])
    return str(target.inputs["arn"])


def channels_reached(plan: PlanResult, event: dict[str, Any]) -> set[str]:
    """The Slack channels ``event`` is posted to, following the plan's records."""
    reached = set()
    for target in rules_matched(plan, event):
        for channel in of_type(plan, CHATBOT):
            if topic_of(plan, target) in channel.inputs["snsTopicArns"]:
                reached.add(channel.inputs["slackChannelId"])
    return reached


STACK_REGION = "ap-northeast-1"
HIGH = {"Severity": {"Label": "HIGH", "Normalized": 70}}


def asff(name: str, **finding: Any) -> dict[str, Any]:
    """An AWS ASFF example as the stack region's Security Hub delivers it, amended (a field
    given as None is removed)."""
    sample = load_sample(name)
    sample.update(copy.deepcopy(finding))
    return securityhub_event({k: v for k, v in sample.items() if v is not None}, STACK_REGION)


def sample_finding(name: str, severity: float) -> dict[str, Any]:
    """An AWS sample finding in the stack region, at ``severity`` (amended)."""
    event = guardduty_event(load_sample(name))
    event["region"] = event["detail"]["region"] = STACK_REGION
    event["detail"]["severity"] = severity
    return event


(TA_EXPOSED_KEYS,) = trusted_advisor_events("trusted_advisor_exposed_access_keys")
MEDIUM = {"Severity": {"Label": "MEDIUM", "Normalized": 40}}

# name: (event, channels in prod, channels in staging)
CASES: dict[str, tuple[dict[str, Any], set[str], set[str]]] = {
    "GuardDuty 8.0": (sample("guardduty_high_8.0", STACK_REGION), {"C0URGENT01"}, {"C0STGURGE1"}),
    "GuardDuty 5.5": (sample("guardduty_medium_5.5", STACK_REGION), {"C0NORMAL01"}, {"C0STGNORM1"}),
    "GuardDuty 2.0": (sample("guardduty_low_2.0", STACK_REGION), set(), set()),
    "Security Hub CRITICAL NEW": (
        sample("securityhub_critical_new", STACK_REGION),
        {"C0URGENT01"},
        {"C0STGURGE1"},
    ),
    "Security Hub HIGH RESOLVED": (sample("securityhub_high_resolved", STACK_REGION), set(), set()),
    "Security Hub LOW NEW": (sample("securityhub_low_new", STACK_REGION), set(), set()),
    "Security Hub CRITICAL NEW, archived": (
        sample("securityhub_critical_archived", STACK_REGION),
        set(),
        set(),
    ),
    # prod notifies CRITICAL and HIGH; staging adds MEDIUM, which goes to the normal channel.
    "Security Hub MEDIUM NEW": (
        sample("securityhub_critical_new", STACK_REGION, **MEDIUM),
        set(),
        {"C0STGNORM1"},
    ),
    # GuardDuty's copy in Security Hub (AWS's example, no top-level ProductName): already
    # posted by the GuardDuty rule, not twice.
    "Security Hub HIGH NEW from GuardDuty": (
        asff("securityhub_finding_from_guardduty", **HIGH),
        set(),
        set(),
    ),
    # AWS's FSBP control finding: with or without ProductName, it is posted.
    "Security Hub HIGH NEW control finding": (
        asff("securityhub_control_finding_fsbp", **HIGH),
        {"C0URGENT01"},
        {"C0STGURGE1"},
    ),
    "Security Hub HIGH NEW without ProductName": (
        asff("securityhub_control_finding_fsbp", **HIGH, ProductName=None),
        {"C0URGENT01"},
        {"C0STGURGE1"},
    ),
    # AWS's sample findings fill every resource block; they still reach one channel.
    "GuardDuty sample IAM finding 8.0": (
        sample_finding("guardduty_finding_iam", 8.0),
        {"C0URGENT01"},
        {"C0STGURGE1"},
    ),
    "GuardDuty sample S3 finding 5.0": (
        sample_finding("guardduty_finding_s3", 5.0),
        {"C0NORMAL01"},
        {"C0STGNORM1"},
    ),
    "Trusted Advisor ERROR, Exposed Access Keys": (TA_EXPOSED_KEYS, {"C0NORMAL01"}, {"C0STGNORM1"}),
    "Trusted Advisor WARN": (
        sample("trusted_advisor_warn", "us-east-1"),
        {"C0NORMAL01"},
        {"C0STGNORM1"},
    ),
    "Trusted Advisor OK": (sample("trusted_advisor_ok", "us-east-1"), set(), set()),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_finding_reaches_its_channel(
    case: str, example_plan: Callable[[str], PlanResult]
) -> None:
    event, prod, staging = CASES[case]
    assert channels_reached(example_plan("prod"), event) == prod
    assert channels_reached(example_plan("staging"), event) == staging


def test_a_finding_raised_in_another_region_is_not_routed_by_this_stack(
    example_plan: Callable[[str], PlanResult],
) -> None:
    # GuardDuty runs in the stack region only; us-east-1 holds just the Trusted Advisor rule.
    event = sample("guardduty_high_8.0", "us-east-1")
    assert channels_reached(example_plan("prod"), event) == set()


def test_the_samples_are_the_kind_the_issue_names() -> None:
    # Guards the table above against a sample file changing under it.
    assert CASES["GuardDuty 8.0"][0]["detail"]["severity"] == 8.0
    assert CASES["GuardDuty 5.5"][0]["detail"]["severity"] == 5.5
    assert CASES["GuardDuty 2.0"][0]["detail"]["severity"] == 2.0
    finding = CASES["Security Hub HIGH RESOLVED"][0]["detail"]["findings"][0]
    assert (finding["Severity"]["Label"], finding["Workflow"]["Status"]) == ("HIGH", "RESOLVED")
    finding = CASES["Security Hub LOW NEW"][0]["detail"]["findings"][0]
    assert (finding["Severity"]["Label"], finding["Workflow"]["Status"]) == ("LOW", "NEW")
    assert CASES["Trusted Advisor WARN"][0]["detail"]["status"] == "WARN"
    assert CASES["Trusted Advisor OK"][0]["detail"]["status"] == "OK"
    for case in (
        "Security Hub HIGH NEW from GuardDuty",
        "Security Hub HIGH NEW without ProductName",
    ):
        assert "ProductName" not in CASES[case][0]["detail"]["findings"][0]
    assert CASES["Trusted Advisor ERROR, Exposed Access Keys"][0]["detail"]["status"] == "ERROR"


@pytest.mark.parametrize(
    "name", ["guardduty_finding_iam", "guardduty_finding_s3", "guardduty_finding_ec2"]
)
@pytest.mark.parametrize("severity", [8.0, 7.0, 6.9, 4.0, 3.9])
def test_each_sample_finding_reaches_exactly_one_rule_of_its_route(
    name: str, severity: float, example_plan: Callable[[str], PlanResult]
) -> None:
    event = sample_finding(name, severity)
    for stack in ("prod", "staging"):
        matched = [t.name for t in rules_matched(example_plan(stack), event)]
        if severity < 4.0:
            assert matched == []
        else:
            route = "urgent" if severity >= 7.0 else "normal"
            (only,) = matched
            assert only.startswith(f"guardduty-{route}-") and not only.endswith("-other")
