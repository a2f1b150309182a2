"""Alert routing, run through the real program under Pulumi mocks on the example stacks."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable
from typing import Any

import pulumi

from components.alerts import AlertRouting
from components.iam import PermissionsBoundary
from components.providers import Providers
from guard.ci_scope import PipelineScope
from guard.config import load_stack_config
from guard.plan import PlanResult, ResourceRecord, run_program
from tests.conftest import TODAY, alb_arn, minimal_product, of_type, raw_config, within

TOPIC = "aws:sns/topic:Topic"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
KEY = "aws:kms/key:Key"
CHATBOT = "aws:chatbot/slackChannelConfiguration:SlackChannelConfiguration"
ROLE = "aws:iam/role:Role"
REGIONS = {"ap-northeast-1", "us-east-1"}
SLACK = {
    "workspace_id": "T0EXAMPLE1",
    "normal_channel": "C0NORMAL01",
    "urgent_channel": "C0URGENT01",
}


def routing(plan: PlanResult) -> ResourceRecord:
    (component,) = [r for r in plan.resources if r.type == "guard:alerts:AlertRouting"]
    return component


def by_urn(plan: PlanResult) -> dict[str, ResourceRecord]:
    return {r.urn: r for r in plan.resources}


def depends_on(record: ResourceRecord, key: str, plan: PlanResult) -> list[ResourceRecord]:
    urns = by_urn(plan)
    return [urns[u] for u in record.property_dependencies.get(key, [])]


def topic(plan: PlanResult, route: str, region: str) -> ResourceRecord:
    (found,) = [
        t
        for t in of_type(plan, TOPIC)
        if t.inputs["tags"].get("route") == route and t.region == region
    ]
    return found


def allows(
    document: dict[str, Any], principal: dict[str, Any], action: str
) -> list[dict[str, Any]]:
    """The Allow statements of ``document`` that give ``principal`` the ``action``."""
    found = []
    for statement in document["Statement"]:
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        if statement["Effect"] != "Allow" or not any(
            fnmatch.fnmatchcase(action, a) for a in actions
        ):
            continue
        (kind, names), *_ = principal.items()
        granted = statement["Principal"].get(kind, [])
        if set(names) <= set(granted if isinstance(granted, list) else [granted]):
            found.append(statement)
    return found


def test_a_normal_and_an_urgent_topic_in_the_stack_region_and_us_east_1(
    example_plan: Callable[[str], PlanResult],
) -> None:
    plan = example_plan("prod")
    topics = {(t.inputs["tags"]["route"], t.region, t.inputs["name"]) for t in of_type(plan, TOPIC)}
    assert topics == {
        ("normal", "ap-northeast-1", "guard-prod-alerts-normal"),
        ("urgent", "ap-northeast-1", "guard-prod-alerts-urgent"),
        ("normal", "us-east-1", "guard-prod-alerts-normal"),
        ("urgent", "us-east-1", "guard-prod-alerts-urgent"),
    }
    # Only this component creates alert topics; Shield and detection publish to its routes.
    assert {t.parent for t in of_type(plan, TOPIC)} == {routing(plan).urn}


def test_each_topic_is_encrypted_with_its_regions_rotating_key(
    example_plan: Callable[[str], PlanResult],
) -> None:
    plan = example_plan("prod")
    for record in of_type(plan, TOPIC):
        (key,) = depends_on(record, "kmsMasterKeyId", plan)
        assert key.type == KEY and key.region == record.region
        assert record.inputs["kmsMasterKeyId"] == key.state["arn"]
        assert key.inputs["enableKeyRotation"] is True
        assert key.parent == routing(plan).urn


def test_key_policy_lets_eventbridge_and_cloudwatch_encrypt_and_the_account_administer(
    example_plan: Callable[[str], PlanResult],
) -> None:
    plan = example_plan("prod")
    keys = within("guard:alerts:AlertRouting")(plan, KEY)  # the log bucket has its own key
    assert {k.region for k in keys} == REGIONS
    for key in keys:
        document = json.loads(key.inputs["policy"])
        for service in ("events.amazonaws.com", "cloudwatch.amazonaws.com"):
            for action in ("kms:GenerateDataKey", "kms:Decrypt"):
                assert allows(document, {"Service": [service]}, action), (service, action)
        assert allows(document, {"AWS": ["arn:aws:iam::111111111111:root"]}, "kms:PutKeyPolicy")
        services = {s for st in document["Statement"] for s in st["Principal"].get("Service", [])}
        assert services == {"events.amazonaws.com", "cloudwatch.amazonaws.com"}


def test_topic_policy_admits_only_the_publishing_services_of_this_account_and_the_account(
    example_plan: Callable[[str], PlanResult],
) -> None:
    plan = example_plan("prod")
    policies = of_type(plan, TOPIC_POLICY)
    assert len(policies) == 4
    for record in policies:
        (target,) = depends_on(record, "arn", plan)
        assert target.type == TOPIC and target.region == record.region
        document = json.loads(record.inputs["policy"])
        for statement in document["Statement"]:
            assert statement["Resource"] == target.state["arn"]
        granted = [s for s in document["Statement"] if s["Effect"] == "Allow"]
        principals = [s["Principal"] for s in granted]
        assert principals == [
            {"AWS": "arn:aws:iam::111111111111:root"},
            {"Service": ["events.amazonaws.com", "cloudwatch.amazonaws.com"]},
        ]
        (services,) = [s for s in granted if "Service" in s["Principal"]]
        assert services["Action"] == "sns:Publish"
        assert services["Condition"] == {"StringEquals": {"aws:SourceAccount": "111111111111"}}


def test_each_route_reaches_its_slack_channel_from_both_regions(
    example_plan: Callable[[str], PlanResult],
) -> None:
    plan = example_plan("prod")
    channels = {c.inputs["tags"]["route"]: c for c in of_type(plan, CHATBOT)}
    assert set(channels) == {"normal", "urgent"}
    expected = {"normal": "C0NORMAL01", "urgent": "C0URGENT01"}
    (role,) = [r for r in of_type(plan, ROLE) if r.parent == routing(plan).urn]
    for route, channel in channels.items():
        assert channel.inputs["slackTeamId"] == "T0EXAMPLE1"
        assert channel.inputs["slackChannelId"] == expected[route]
        assert channel.inputs["configurationName"] == f"guard-prod-{route}"
        assert channel.inputs["snsTopicArns"] == [
            topic(plan, route, "ap-northeast-1").state["arn"],
            topic(plan, route, "us-east-1").state["arn"],
        ]
        assert channel.inputs["guardrailPolicyArns"] == ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
        assert channel.inputs["iamRoleArn"] == role.state["arn"]
        # Chatbot's API is not served in us-east-1; us-east-2 is where its console lives.
        assert channel.inputs["region"] == "us-east-2"
        assert channel.parent == routing(plan).urn


def test_chatbot_role_is_trusted_by_chatbot_only(example_plan: Callable[[str], PlanResult]) -> None:
    plan = example_plan("prod")
    (role,) = [r for r in of_type(plan, ROLE) if r.parent == routing(plan).urn]
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "chatbot.amazonaws.com"}]


def test_no_webhook_or_secret_anywhere_in_the_alert_resources(
    example_plan: Callable[[str], PlanResult],
) -> None:
    plan = example_plan("prod")
    mine = [r for r in plan.resources if r.parent == routing(plan).urn]
    text = json.dumps([r.inputs for r in mine])
    assert "hooks.slack.com" not in text and "[secret]" not in text


def test_emails_subscribe_to_the_urgent_topics_only(
    example_plan: Callable[[str], PlanResult],
) -> None:
    plan = example_plan("prod")
    subscriptions = [s for s in of_type(plan, SUBSCRIPTION) if s.parent == routing(plan).urn]
    subscribed = {
        (depends_on(s, "topic", plan)[0].inputs["tags"]["route"], s.region, s.inputs["endpoint"])
        for s in subscriptions
    }
    assert subscribed == {
        ("urgent", "ap-northeast-1", "secops@example.com"),
        ("urgent", "us-east-1", "secops@example.com"),
    }
    assert all(s.inputs["protocol"] == "email" for s in subscriptions)
    staging = example_plan("staging")
    assert [s for s in of_type(staging, SUBSCRIPTION) if s.parent == routing(staging).urn] == []


def test_staging_posts_to_its_own_channels(example_plan: Callable[[str], PlanResult]) -> None:
    prod = {c.inputs["slackChannelId"] for c in of_type(example_plan("prod"), CHATBOT)}
    staging = {c.inputs["slackChannelId"] for c in of_type(example_plan("staging"), CHATBOT)}
    assert len(staging) == 2 and not prod & staging


def routes_program(loaded: Any) -> Callable[[], None]:
    def program() -> None:
        config = loaded.config
        providers = Providers.create(config.region, config.account_id)
        boundary = PermissionsBoundary(PipelineScope.of(config, "test"), providers=providers)
        routes = AlertRouting(config, stack="test", providers=providers, boundary=boundary).routes
        pulumi.export(
            "routes", {f"{route}@{region}": arn for (route, region), arn in routes.topics.items()}
        )
        pulumi.export("urgent_us_east_1", routes.topic_arn("urgent", "us-east-1"))

    return program


def test_routes_give_other_components_each_topic_by_route_and_region() -> None:
    loaded = load_stack_config(raw_config(alerts={"slack": SLACK}), "test.yaml", today=TODAY)
    plan = run_program(loaded, "test", routes_program(loaded))
    assert plan.outputs["routes"] == {
        f"{route}@{region}": f"arn:aws:sns:{region}:111111111111:guard-test-alerts-{route}"
        for route in ("normal", "urgent")
        for region in ("ap-northeast-1", "us-east-1")
    }
    assert plan.outputs["urgent_us_east_1"] == (
        "arn:aws:sns:us-east-1:111111111111:guard-test-alerts-urgent"
    )


def test_a_us_east_1_stack_has_one_pair_of_topics() -> None:
    product = minimal_product()
    product["endpoints"][0]["arn"] = alb_arn("store-web", region="us-east-1")
    raw = {**raw_config(products=[product], alerts={"slack": SLACK}), "aws:region": "us-east-1"}
    loaded = load_stack_config(raw, "test.yaml", today=TODAY)
    plan = run_program(loaded, "test", routes_program(loaded))
    assert sorted((t.inputs["tags"]["route"], t.region) for t in of_type(plan, TOPIC)) == [
        ("normal", "us-east-1"),
        ("urgent", "us-east-1"),
    ]
    assert len(of_type(plan, KEY)) == 1
    for channel in of_type(plan, CHATBOT):
        assert len(channel.inputs["snsTopicArns"]) == 1
