"""siem-retention-within-logs, on stacks planned through the real program: every log bucket that
feeds the SIEM's loader keeps its logs at least as long as the domain keeps their indices (hot
plus warm days), so any day still in OpenSearch can be re-indexed from S3."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from pulumi_policy import Policy

from guard.config import load_stack_config
from guard.plan import PlanResult, run_program
from guard.policy_run import PolicyOutcome, load_pack, run_policies
from policies.rules.siem_retention_within_logs import INVOCATION, META, NOTIFICATION
from tests.conftest import ROOT, TODAY, raw_config

ENDPOINT = "https://vpc-aes-siem-abcdefghijklmnopqrstuvwxyz.ap-northeast-1.es.amazonaws.com"
QUEUE = "arn:aws:sqs:ap-northeast-1:111111111111:aes-siem-sqs-splitted-logs"
ROLE = "arn:aws:iam::111111111111:role/aes-siem-LambdaEsLoaderServiceRole"
WAF_BUCKET, ALB_BUCKET = "example-test-waf-logs", "example-test-alb-logs"
S3_DELIVERY_BUCKET = "aws-waf-logs-example-test"


@cache
def plan_of(
    *,
    hot: int = 7,
    warm: int | None = None,
    waf_days: int = 400,
    alb_days: int = 90,
    delivery: str = "firehose",
    managed: bool = True,
) -> PlanResult:
    """The example stack's logs and SIEM (stacks/Pulumi.prod.yaml) with these numbers."""
    retention: dict[str, Any] = {"hot_days": hot, "index_rotation": "daily"}
    if warm is not None:
        retention["warm_days"] = warm
    siem: dict[str, Any] = {"loader_queue_arn": QUEUE, "loader_role_arn": ROLE}
    if managed:
        siem |= {"domain_endpoint": ENDPOINT, "retention": retention}
    logs = {
        "bucket": S3_DELIVERY_BUCKET if delivery == "s3" else WAF_BUCKET,
        "delivery": delivery,
        "retention_days": waf_days,
        "alb": {"bucket": ALB_BUCKET, "retention_days": alb_days},
    }
    loaded = load_stack_config(raw_config(siem=siem, logs=logs), "test.yaml", today=TODAY)
    return run_program(loaded, "test")


@cache
def policy() -> Policy:
    (found,) = [p for p in load_pack(ROOT / "policies") if p.name == META.name]
    return found


def outcome(plan: PlanResult) -> PolicyOutcome:
    return run_policies(plan, [policy()], today=TODAY)


def messages(plan: PlanResult) -> list[str]:
    return [v.message for v in outcome(plan).violations]


def test_the_example_setup_passes_with_both_buckets_feeding_the_loader() -> None:
    plan = plan_of()
    # What the policy judges is there: one retention invocation, a notification per bucket.
    assert len([r for r in plan.resources if r.type == INVOCATION]) == 1
    assert len([r for r in plan.resources if r.type == NOTIFICATION]) == 2
    assert outcome(plan).violations == []


def test_alb_logs_kept_shorter_than_hot_plus_warm_days_fail_the_plan() -> None:
    plan = plan_of(warm=30, alb_days=7)
    result = outcome(plan)
    (violation,) = result.violations
    assert result.failed
    assert violation.policy == "siem-retention-within-logs"
    assert violation.mandatory and violation.severity == "medium"
    (invocation,) = [r for r in plan.resources if r.type == INVOCATION]
    assert violation.urn == invocation.urn
    assert violation.message.startswith(
        f"s3://{ALB_BUCKET}/alb/ keeps logs 7 days, but ISM policy guard-test-retention keeps "
        "their indices 37 days"
    )


def test_waf_logs_kept_shorter_than_the_domain_fail_the_plan() -> None:
    (message,) = messages(plan_of(warm=30, waf_days=30))
    assert message.startswith(
        f"s3://{WAF_BUCKET}/waf/ keeps logs 30 days, but ISM policy guard-test-retention keeps "
        "their indices 37 days"
    )


def test_both_buckets_short_give_one_violation_each() -> None:
    found = messages(plan_of(hot=100, waf_days=30, alb_days=60))
    assert sorted(m.split(" keeps", 1)[0] for m in found) == [
        f"s3://{ALB_BUCKET}/alb/",
        f"s3://{WAF_BUCKET}/waf/",
    ]
    assert all("100 days" in m for m in found)


def test_s3_keeping_exactly_as_long_as_the_domain_passes() -> None:
    assert messages(plan_of(warm=30, alb_days=37, waf_days=37)) == []
    (message,) = messages(plan_of(warm=30, alb_days=36, waf_days=37))
    assert "keeps logs 36 days" in message and "37 days" in message


def test_with_s3_delivery_the_aws_logs_prefix_is_judged() -> None:
    # The bucket also has a Firehose rule (waf/): the notified prefix's own rule counts.
    (message,) = messages(plan_of(warm=30, waf_days=30, delivery="s3"))
    assert message.startswith(f"s3://{S3_DELIVERY_BUCKET}/AWSLogs/ keeps logs 30 days")
    assert messages(plan_of(warm=30, delivery="s3")) == []


def test_without_guard_managed_retention_nothing_is_judged() -> None:
    plan = plan_of(alb_days=7, managed=False)
    assert [r for r in plan.resources if r.type == INVOCATION] == []
    assert outcome(plan).violations == []


def test_a_policy_keeping_indices_less_than_a_day_fails() -> None:
    """The program cannot declare it (the config refuses hot_days 0): an invocation edited by
    hand, as a resource the pack would see, with ``min_index_age`` "0d"."""
    from policies.rules.siem_retention_within_logs import POLICY
    from tests.policies.support import resource, violations_of

    def invocation(age: str) -> Any:
        body = {
            "policy": {
                "default_state": "hot",
                "states": [
                    {
                        "name": "hot",
                        "actions": [],
                        "transitions": [
                            {"state_name": "delete", "conditions": {"min_index_age": age}}
                        ],
                    },
                    {"name": "delete", "actions": [{"delete": {}}], "transitions": []},
                ],
                "ism_template": [{"index_patterns": ["log-aws-waf-*"], "priority": 10}],
            }
        }
        event = {"endpoint": ENDPOINT, "region": "ap-northeast-1", "policy_id": "p", "policy": body}
        return resource(INVOCATION, {"input": json.dumps(event)}, name="apply")

    (message,) = violations_of(POLICY, [invocation("0d")])
    assert message.startswith("ISM policy p keeps indices less than a day")
    assert violations_of(POLICY, [invocation("1d")]) == []
    # An invocation of another function (not a retention event) is not judged.
    other = resource(INVOCATION, {"input": json.dumps({"hello": 1})}, name="other")
    assert violations_of(POLICY, [other]) == []
