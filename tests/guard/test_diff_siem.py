"""``guard diff``'s SIEM area, and the logs area's ALB bucket: plans of the real program that
differ in one thing."""

from __future__ import annotations

from typing import Any

from tests.guard.diff_plans import ALERTS, changes, only, plan

ENDPOINT = "https://vpc-aes-siem-abcdefghijklmnopqrstuvwxyz.ap-northeast-1.es.amazonaws.com"
LOADER = {
    "loader_queue_arn": "arn:aws:sqs:ap-northeast-1:111111111111:siem-loader",
    "loader_role_arn": "arn:aws:iam::111111111111:role/siem-es-loader",
}
LOGS = {"bucket": "aws-waf-logs-example-test", "delivery": "s3"}


def stack(retention: dict[str, Any] | None = None, **logs: Any) -> Any:
    siem: dict[str, Any] = dict(LOADER)
    if retention is not None:
        siem |= {"domain_endpoint": ENDPOINT, "retention": {"index_rotation": "daily", **retention}}
    return plan(alerts=ALERTS, logs={**LOGS, **logs}, siem=siem)


def test_identical_plans_have_no_siem_change() -> None:
    assert changes(stack({"hot_days": 7}), stack({"hot_days": 7}), "siem") == []


def test_retention_managed_by_guard_strengthens() -> None:
    change = only(changes(stack(), stack({"hot_days": 7}), "siem"), kind="added")
    assert change.effect == "strengthens"
    assert "7 days hot" in change.reason and "log-aws-waf-*" in change.reason


def test_fewer_days_weakens_and_more_strengthens() -> None:
    shorter = changes(stack({"hot_days": 14}), stack({"hot_days": 3}), "siem")
    hot = only(shorter, path="retention.hot_days")
    assert (hot.before, hot.after, hot.effect) == (14, 3, "weakens")
    longer = changes(stack({"hot_days": 3}), stack({"hot_days": 14}), "siem")
    assert only(longer, path="retention.hot_days").effect == "strengthens"


def test_warm_days_count_in_the_deletion_age() -> None:
    found = changes(stack({"hot_days": 7}), stack({"hot_days": 7, "warm_days": 30}), "siem")
    deletion = only(found, path="retention.delete_after_days")
    assert (deletion.before, deletion.after, deletion.effect) == (7, 37, "strengthens")


def test_an_index_pattern_leaving_the_policy_is_reported() -> None:
    base = stack({"hot_days": 7})
    head = stack({"hot_days": 7, "indices": ["log-aws-waf-*"]})
    gone = only(changes(base, head, "siem"), path="retention.indices[log-aws-elb-*]")
    assert gone.kind == "removed"


def test_the_alb_bucket_is_reported_as_alb_logs_not_waf_logs() -> None:
    alb = {"bucket": "example-test-alb-logs", "retention_days": 90}
    found = changes(stack(), stack(alb=alb), "logs")
    assert {c.subject for c in found if "bucket" in c.reason} == {"ALB logs"}
    assert only(found, subject="SIEM").reason == "new ALB logs now reach the SIEM"
    # The WAF log bucket did not change: nothing is said about it.
    assert not [c for c in found if c.subject == "WAF logs"]
