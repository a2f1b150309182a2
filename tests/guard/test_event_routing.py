"""Which Slack channel each finding reaches, end to end on what the plan records.

The patterns are the EventRule ``eventPattern`` inputs as the engine receives them, followed
through each rule's target to its SNS topic and from the topic to the Chatbot channel that
subscribes to it. They are evaluated by LocalStack's port of AWS event-ruler (moto's EventBridge
does not match inside arrays of objects, where Security Hub puts its findings). The sample events
are the detection catalog's (tests/guard/events/).
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


def channels_reached(plan: PlanResult, event: dict[str, Any]) -> set[str]:
    """The Slack channels ``event`` is posted to, following the plan's records."""
    by_urn = {r.urn: r for r in plan.resources}
    compiler, engine = EventPatternCompiler(), EventRuleEngine()
    reached = set()
    for target in finding_rules(plan, "aws:cloudwatch/eventTarget:EventTarget"):
        (rule_urn,) = target.property_dependencies["rule"]
        rule = by_urn[rule_urn]
        if rule.region != event["region"]:
            continue  # a rule only sees its own region's bus
        pattern = compiler.compile_event_pattern(json.loads(rule.inputs["eventPattern"]))
        if not engine.evaluate_pattern_on_event(pattern, event):
            continue
        for channel in of_type(plan, CHATBOT):
            if target.inputs["arn"] in channel.inputs["snsTopicArns"]:
                reached.add(channel.inputs["slackChannelId"])
    return reached


STACK_REGION = "ap-northeast-1"
GUARDDUTY_PRODUCT = {"ProductName": "GuardDuty", "Severity": {"Label": "HIGH", "Normalized": 70}}
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
    # GuardDuty's copy in Security Hub: already posted by the GuardDuty rule, not twice.
    "Security Hub HIGH NEW from GuardDuty": (
        sample("securityhub_critical_new", STACK_REGION, **GUARDDUTY_PRODUCT),
        set(),
        set(),
    ),
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
