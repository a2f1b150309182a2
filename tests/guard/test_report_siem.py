"""The plan's "SIEM on OpenSearch" section: what feeds the SIEM's loader, how long the domain keeps
its indices, who applies that, and how long S3 keeps each day for a reload; read from stacks
planned through the real program."""

from __future__ import annotations

from functools import cache
from typing import Any

from guard.config import load_stack_config
from guard.plan import PlanResult, run_program
from guard.report import render_text
from tests.conftest import TODAY, raw_config

TITLE = "SIEM on OpenSearch"
ENDPOINT = "https://vpc-aes-siem-abcdefghijklmnopqrstuvwxyz.ap-northeast-1.es.amazonaws.com"
QUEUE = "arn:aws:sqs:ap-northeast-1:111111111111:aes-siem-sqs-splitted-logs"
ROLE = "arn:aws:iam::111111111111:role/aes-siem-LambdaEsLoaderServiceRole"
LOADER = {"loader_queue_arn": QUEUE, "loader_role_arn": ROLE}
NETWORK = {
    "subnet_ids": ["subnet-0123456789abcdef0"],
    "security_group_ids": ["sg-0123456789abcdef0"],
}
WAF_BUCKET, ALB_BUCKET = "example-test-waf-logs", "example-test-alb-logs"


@cache
def plan_of(siem: str = "example", alb_days: int = 90) -> PlanResult:
    """``example``: the example stack's guard:siem (7 days hot, in the domain's VPC);
    ``warm``: 7 days hot then 30 warm, no network; ``loader``: the loader only; ``none``."""
    sections: dict[str, Any] = {
        "example": {
            "domain_endpoint": ENDPOINT,
            **LOADER,
            "retention": {"hot_days": 7, "index_rotation": "daily"},
            "network": NETWORK,
        },
        "warm": {
            "domain_endpoint": ENDPOINT,
            **LOADER,
            "retention": {"hot_days": 7, "warm_days": 30, "index_rotation": "daily"},
        },
        "loader": LOADER,
        "none": None,
    }
    logs = {
        "bucket": WAF_BUCKET,
        "retention_days": 400,
        "alb": {"bucket": ALB_BUCKET, "retention_days": alb_days},
    }
    raw = raw_config(siem=sections[siem], logs=logs)
    return run_program(load_stack_config(raw, "test.yaml", today=TODAY), "test")


def section(plan: PlanResult) -> str:
    """The SIEM section of the text plan, from its title line to the blank line that ends it."""
    output = render_text(plan)
    start = output.index(f"\n{TITLE}:\n") + 1
    return output[start:].split("\n\n", 1)[0]


def lines(plan: PlanResult) -> list[str]:
    return [line.strip() for line in section(plan).splitlines()]


def test_the_loader_is_notified_of_both_buckets_on_their_log_prefixes() -> None:
    found = lines(plan_of())
    queue = "new objects to queue aes-siem-sqs-splitted-logs"
    assert "loader notified of (2):" in found
    assert f"s3://{ALB_BUCKET}/alb/  {queue}" in found
    assert f"s3://{WAF_BUCKET}/waf/  {queue}" in found


def test_retention_says_the_policy_the_indices_and_the_hot_days() -> None:
    assert (
        "retention   ISM policy guard-test-retention on log-aws-elb-*, log-aws-waf-*: 7 days hot, "
        "then deleted (at 7 days)" in lines(plan_of())
    )


def test_the_function_runs_in_the_domains_vpc_with_a_network() -> None:
    (applied,) = [line for line in lines(plan_of()) if line.startswith("applied by")]
    assert applied == (
        "applied by  Lambda guard-test-siem-retention in the domain's VPC on deploy, to "
        f"{ENDPOINT}, whenever the policy changes"
    )
    (outside,) = [line for line in lines(plan_of("warm")) if line.startswith("applied by")]
    assert outside.startswith("applied by  Lambda guard-test-siem-retention on deploy, to ")
    assert "VPC" not in outside


def test_s3_keeps_each_notified_prefix_for_its_buckets_retention() -> None:
    found = lines(plan_of())
    assert "S3 keeps (2):" in found
    assert (
        f"s3://{ALB_BUCKET}/alb/  kept 90 days: guard siem reload re-indexes any of them" in found
    )
    assert (
        f"s3://{WAF_BUCKET}/waf/  kept 400 days: guard siem reload re-indexes any of them" in found
    )
    assert "FEWER" not in section(plan_of())


def test_warm_days_and_a_bucket_keeping_fewer_days_are_shown() -> None:
    found = lines(plan_of("warm", alb_days=7))
    assert (
        "retention   ISM policy guard-test-retention on log-aws-elb-*, log-aws-waf-*: 7 days hot, "
        "30 days warm, then deleted (at 37 days)" in found
    )
    assert (
        f"s3://{ALB_BUCKET}/alb/  kept only 7 days, FEWER than the domain keeps its indices"
        in found
    )
    assert (
        f"s3://{WAF_BUCKET}/waf/  kept 400 days: guard siem reload re-indexes any of them" in found
    )


def test_a_loader_without_retention_says_guard_does_not_manage_it() -> None:
    found = lines(plan_of("loader"))
    assert "loader notified of (2):" in found
    assert "retention  not managed by guard (no guard:siem.retention)" in found
    assert not any(line.startswith(("applied by", "S3 keeps")) for line in found)


def test_no_section_without_guard_siem() -> None:
    plan = plan_of("none")
    output = render_text(plan)
    assert "WAF logs:" in output  # the log buckets are there, nothing feeds a SIEM
    assert TITLE not in output
