"""Shield Advanced, run through the real program under Pulumi mocks on the example stacks."""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from components.alerts import topic_arn
from components.shield import FUNCTION_CODE, HANDLER, RUNTIME, protection_group_id
from guard.config import load_stack_config
from guard.config.loader import read_stack_file
from guard.plan import PlanResult, RecordingMonitor, run_program
from guard.policy_run import load_pack, run_policies
from tests.conftest import ROOT, STACKS, TODAY, of_type, within

# The WAF digest has a Lambda, a log group and a queue too; these tests mean the escalation's.
escalation = within("guard:shield:ShieldAdvanced")

PROTECTION = "aws:shield/protection:Protection"
GROUP = "aws:shield/protectionGroup:ProtectionGroup"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
SUBSCRIPTION = "aws:shield/subscription:Subscription"
HEALTH = "aws:shield/protectionHealthCheckAssociation:ProtectionHealthCheckAssociation"
L7 = "aws:shield/applicationLayerAutomaticResponse:ApplicationLayerAutomaticResponse"
FUNCTION = "aws:lambda/function:Function"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
QUEUE = "aws:sqs/queue:Queue"
INVOKE_CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
SNS_SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
PERMISSION = "aws:lambda/permission:Permission"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ACCOUNT = "111111111111"
REGION = "ap-northeast-1"


def endpoints(plan: PlanResult) -> list[tuple[str, Any]]:
    return [(p.name, e) for p in plan.loaded.config.products for e in p.endpoints]


def ddos_alarms(plan: PlanResult) -> list[Any]:
    return [a for a in of_type(plan, ALARM) if a.inputs.get("namespace") == "AWS/DDoSProtection"]


def escalation_role_policy(plan: PlanResult) -> dict[str, Any]:
    (function,) = escalation(plan, FUNCTION)
    role = next(r for r in of_type(plan, ROLE) if r.state["arn"] == function.inputs["role"])
    policies = [p for p in of_type(plan, ROLE_POLICY) if p.inputs["role"] == role.inputs["name"]]
    assert len(policies) == 1, "one inline policy, nothing attached elsewhere"
    return json.loads(policies[0].inputs["policy"])


def test_every_endpoint_of_prod_is_protected(example_plan: Callable[[str], PlanResult]) -> None:
    plan = example_plan("prod")
    protections = of_type(plan, PROTECTION)
    assert len(protections) == 7
    assert {p.inputs["resourceArn"] for p in protections} == {e.arn for _, e in endpoints(plan)}
    # Shield's API is global: every Shield resource goes through the us-east-1 provider.
    assert {p.region for p in protections} == {"us-east-1"}
    by_arn = {p.inputs["resourceArn"]: p for p in protections}
    for product, endpoint in endpoints(plan):
        tags = by_arn[endpoint.arn].inputs["tags"]
        assert tags["product"] == product and tags["managed-by"] == "guard"


def test_ddos_alarm_per_protection_in_the_metrics_region(
    example_plan: Callable[[str], PlanResult],
) -> None:
    plan = example_plan("prod")
    alarms = {a.inputs["dimensions"]["ResourceArn"]: a for a in ddos_alarms(plan)}
    assert len(alarms) == len(of_type(plan, PROTECTION)) == 7
    for product, endpoint in endpoints(plan):
        alarm = alarms[endpoint.arn]
        region = "us-east-1" if endpoint.kind == "cloudfront" else REGION
        assert alarm.region == region
        assert alarm.inputs["name"] == f"guard-prod-{product}-{endpoint.name}-ddos"
        assert alarm.inputs["metricName"] == "DDoSDetected"
        assert alarm.inputs["dimensions"] == {"ResourceArn": endpoint.arn}
        assert (alarm.inputs["statistic"], alarm.inputs["period"]) == ("Sum", 60)
        assert alarm.inputs["threshold"] == 1
        assert alarm.inputs["comparisonOperator"] == "GreaterThanOrEqualToThreshold"
        assert alarm.inputs["treatMissingData"] == "notBreaching"
        # The urgent route of the alarm's own region, for ALARM and for OK.
        urgent = topic_arn("prod", "urgent", region, ACCOUNT)
        assert alarm.inputs["alarmActions"] == [urgent]
        assert alarm.inputs["okActions"] == [urgent]


def test_one_group_per_product_with_its_endpoints(
    example_plan: Callable[[str], PlanResult],
) -> None:
    plan = example_plan("prod")
    groups = {g.inputs["protectionGroupId"]: g for g in of_type(plan, GROUP)}
    products = plan.loaded.config.products
    assert set(groups) == {protection_group_id("prod", p.name) for p in products}
    for product in products:
        group = groups[protection_group_id("prod", product.name)]
        assert group.inputs["pattern"] == "ARBITRARY"
        assert group.inputs["aggregation"] == "SUM"
        assert sorted(group.inputs["members"]) == sorted(e.arn for e in product.endpoints)


def test_protection_group_ids_fit_awss_limit() -> None:
    long = protection_group_id("production-tokyo", "a-very-long-product-name-here")
    assert len(long) <= 36 and long.startswith("guard-production-tokyo")
    assert long != protection_group_id("production-tokyo", "a-very-long-product-name-else")
    assert protection_group_id("prod", "ebook") == "guard-prod-ebook"


def test_health_check_and_l7_mitigation_where_asked(
    example_plan: Callable[[str], PlanResult],
) -> None:
    plan = example_plan("prod")
    asked = {e.arn: e.shield for _, e in endpoints(plan) if e.shield is not None}
    protections = {p.state["id"]: p.inputs["resourceArn"] for p in of_type(plan, PROTECTION)}
    health = {
        protections[h.inputs["shieldProtectionId"]]: h.inputs["healthCheckArn"]
        for h in of_type(plan, HEALTH)
    }
    assert health == {arn: s.health_check for arn, s in asked.items() if s.health_check}
    l7 = {r.inputs["resourceArn"]: r.inputs["action"] for r in of_type(plan, L7)}
    assert l7 == {
        arn: s.l7_mitigation.upper() for arn, s in asked.items() if s.l7_mitigation != "off"
    }
    assert l7, "the example stack shows automatic mitigation on at least one endpoint"


def test_escalation_role_is_least_privilege(example_plan: Callable[[str], PlanResult]) -> None:
    plan = example_plan("prod")
    document = escalation_role_policy(plan)
    (queue,) = escalation(plan, QUEUE)
    (function,) = escalation(plan, FUNCTION)
    granted = {
        (action, statement["Resource"])
        for statement in document["Statement"]
        for action in (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
    }
    log_group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{function.inputs['name']}:*"
    assert granted == {
        ("support:CreateCase", "*"),
        ("support:DescribeCases", "*"),
        ("shield:ListAttacks", "*"),
        ("shield:DescribeAttack", "*"),
        ("logs:CreateLogStream", log_group),
        ("logs:PutLogEvents", log_group),
        ("sqs:SendMessage", queue.state["arn"]),
    }
    assert all(s["Effect"] == "Allow" for s in document["Statement"])
    role = next(r for r in of_type(plan, ROLE) if r.state["arn"] == function.inputs["role"])
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "lambda.amazonaws.com"}]


def test_staging_without_support_cases_grants_no_support_actions(
    example_plan: Callable[[str], PlanResult],
) -> None:
    plan = example_plan("staging")
    actions = {
        a
        for s in escalation_role_policy(plan)["Statement"]
        for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    }
    assert not any(a.startswith(("support:", "shield:")) for a in actions)
    (function,) = escalation(plan, FUNCTION)
    assert function.inputs["environment"]["variables"]["SUPPORT_CASE_ENABLED"] == "false"


def test_escalation_function_settings(example_plan: Callable[[str], PlanResult]) -> None:
    plan = example_plan("prod")
    (function,) = escalation(plan, FUNCTION)
    shield = plan.loaded.config.shield
    assert shield is not None and shield.escalation is not None
    assert function.region == REGION
    assert function.inputs["runtime"] == RUNTIME == "python3.12"
    assert function.inputs["reservedConcurrentExecutions"] > 0
    assert function.inputs["environment"]["variables"] == {
        "SUPPORT_SEVERITY": "urgent",
        "DEDUPE_HOURS": "6",
        "CC_EMAILS": "oncall@example.com,secops@example.com",
        "SUPPORT_CASE_ENABLED": "true",
        "SUPPORT_LANGUAGE": "en",
    }
    (log_group,) = escalation(plan, LOG_GROUP)
    assert function.inputs["loggingConfig"]["logGroup"] == log_group.inputs["name"]
    assert log_group.inputs["retentionInDays"] > 0


def test_handler_setting_names_a_function_of_the_packaged_module() -> None:
    module_name, function_name = HANDLER.split(".")
    assert (ROOT / FUNCTION_CODE / f"{module_name}.py").is_file()
    module = importlib.import_module(f"functions.srt_escalation.{module_name}")
    assert callable(getattr(module, function_name))


def test_failed_escalations_land_in_an_encrypted_queue_that_pages(
    example_plan: Callable[[str], PlanResult],
) -> None:
    plan = example_plan("prod")
    (queue,) = escalation(plan, QUEUE)
    assert queue.inputs["sqsManagedSseEnabled"] is True
    (config,) = escalation(plan, INVOKE_CONFIG)
    assert config.inputs["destinationConfig"]["onFailure"]["destination"] == queue.state["arn"]
    assert config.inputs["maximumRetryAttempts"] == 2
    depth = [a for a in of_type(plan, ALARM) if a.inputs.get("namespace") == "AWS/SQS"]
    assert [a.inputs["dimensions"]["QueueName"] for a in depth] == [queue.inputs["name"]]
    assert depth[0].inputs["alarmActions"] == [topic_arn("prod", "urgent", REGION, ACCOUNT)]


def test_function_subscribed_to_the_urgent_topic_of_each_alarm_region(
    example_plan: Callable[[str], PlanResult],
) -> None:
    plan = example_plan("prod")
    (function,) = escalation(plan, FUNCTION)
    wanted = {topic_arn("prod", "urgent", r, ACCOUNT) for r in (REGION, "us-east-1")}
    # The alert routing's own e-mail subscribers share the topics; only the function's count here.
    subscriptions = [s for s in of_type(plan, SNS_SUBSCRIPTION) if s.inputs["protocol"] == "lambda"]
    assert sorted((s.inputs["topic"], s.region) for s in subscriptions) == sorted(
        (t, t.split(":")[3]) for t in wanted
    )
    assert {s.inputs["endpoint"] for s in subscriptions} == {function.state["arn"]}
    permissions = escalation(plan, PERMISSION)
    assert {p.inputs["sourceArn"] for p in permissions} == wanted
    assert {p.inputs["principal"] for p in permissions} == {"sns.amazonaws.com"}


def test_existing_subscription_is_not_declared(example_plan: Callable[[str], PlanResult]) -> None:
    assert of_type(example_plan("prod"), SUBSCRIPTION) == []


@pytest.fixture(scope="module")
def created_subscription() -> tuple[PlanResult, dict[str, bool]]:
    """The prod stack with ``subscription: create``, and each resource's retain_on_delete flag."""
    stack_file = read_stack_file(STACKS / "Pulumi.prod.yaml")
    raw = dict(stack_file.raw)
    shield = json.loads(raw["guard:shield"])
    raw["guard:shield"] = json.dumps({**shield, "subscription": "create"})
    loaded = load_stack_config(raw, "prod-create.yaml", today=TODAY)
    retained: dict[str, bool] = {}
    original = RecordingMonitor.RegisterResource

    def register(self: RecordingMonitor, request: Any) -> Any:
        retained[request.name] = bool(request.retainOnDelete)
        return original(self, request)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(RecordingMonitor, "RegisterResource", register)
        plan = run_program(loaded, "prod")
    return plan, retained


def test_created_subscription_is_protected_and_retained(
    created_subscription: tuple[PlanResult, dict[str, bool]],
) -> None:
    plan, retained = created_subscription
    (subscription,) = of_type(plan, SUBSCRIPTION)
    assert subscription.protect is True
    assert retained[subscription.name] is True
    assert subscription.inputs["autoRenew"] == "ENABLED"
    assert subscription.inputs["skipDestroy"] is True
    assert subscription.region == "us-east-1"


def test_shield_policies_pass_on_the_example_stacks(
    example_plan: Callable[[str], PlanResult],
    created_subscription: tuple[PlanResult, dict[str, bool]],
) -> None:
    pack = [p for p in load_pack(Path(ROOT / "policies")) if p.name.startswith("shield-")]
    assert {p.name for p in pack} == {
        "shield-endpoint-protected",
        "shield-ddos-alarm",
        "shield-subscription-protected",
    }
    for plan in (example_plan("prod"), example_plan("staging"), created_subscription[0]):
        assert run_policies(plan, pack, today=TODAY).violations == []


@pytest.mark.parametrize(
    ("stack", "says"),
    [
        ("prod", "the SRT escalation opens a support case."),
        ("staging", "the SRT escalation logs the case it would open (support_case: false)."),
    ],
)
def test_the_alarm_description_says_what_the_escalation_does(
    example_plan: Callable[[str], PlanResult], stack: str, says: str
) -> None:
    alarms = [
        a
        for a in of_type(example_plan(stack), "aws:cloudwatch/metricAlarm:MetricAlarm")
        if a.inputs.get("namespace") == "AWS/DDoSProtection"
    ]
    assert alarms and all(a.inputs["alarmDescription"].endswith(says) for a in alarms)
