"""guard:logs.delivery: S3 delivery needs an aws-waf-logs- bucket; WafCharm on Firehose warns."""

from __future__ import annotations

from typing import Any

import pytest

from guard.config import ConfigError, LoadedConfig
from guard.config.errors import Problem
from tests.conftest import load, minimal_product

ACCESS = {"principal": "arn:aws:iam::123456789012:root", "external_id": {"secure": "v1:x"}}
WAFCHARM_WARNING = (
    "guard:logs: WafCharm Advanced reads WAF logs only when WAF logs directly to S3; "
    "set guard:logs.delivery: s3 (docs/wafcharm.md)"
)


TUNERS: dict[str, dict[str, Any]] = {
    "wafcharm": {"service": "wafcharm"},
    "other": {"service": "other", "rule_prefix": "tuned-", "wcu": 500},
}


def with_logs(tuner: str | None = None, **logs: Any) -> LoadedConfig:
    product = minimal_product() if tuner is None else minimal_product(tuner=TUNERS[tuner])
    return load(
        logs={"bucket": "example-test-waf-logs", **logs},
        products=[product],
        tuners={tuner: ACCESS} if tuner else None,
    )


def only_problem(**logs: Any) -> Problem:
    with pytest.raises(ConfigError) as caught:
        with_logs(**logs)
    (problem,) = caught.value.problems
    return problem


def test_firehose_is_the_default_and_takes_any_bucket_name() -> None:
    logs = with_logs().config.logs
    assert logs is not None and logs.delivery == "firehose"
    named = with_logs(bucket="aws-waf-logs-example-test", delivery="firehose").config.logs
    assert named is not None and named.delivery == "firehose"


def test_s3_delivery_takes_a_bucket_named_aws_waf_logs() -> None:
    logs = with_logs(bucket="aws-waf-logs-example-test", delivery="s3").config.logs
    assert logs is not None and logs.delivery == "s3"


def test_s3_delivery_refuses_a_bucket_waf_cannot_log_to() -> None:
    problem = only_problem(delivery="s3")
    assert problem.path == ("guard:logs",)
    rendered = problem.render("test.yaml")
    assert "delivery: s3 needs a bucket whose name starts with aws-waf-logs-" in rendered
    assert "example-test-waf-logs does not" in rendered
    # What to do instead.
    assert "aws-waf-logs-example-prod" in rendered and "delivery: firehose" in rendered


def test_an_unknown_delivery_is_refused() -> None:
    problem = only_problem(delivery="cloudwatch")
    assert problem.path == ("guard:logs", "delivery")
    assert "'firehose' or 's3'" in problem.message


def test_wafcharm_on_firehose_warns_to_deliver_straight_to_s3() -> None:
    assert WAFCHARM_WARNING in with_logs(tuner="wafcharm").warnings
    direct = with_logs(tuner="wafcharm", bucket="aws-waf-logs-example-test", delivery="s3")
    assert WAFCHARM_WARNING not in direct.warnings
    # Other tuners do not need direct delivery; without a tuner there is nothing to say.
    assert WAFCHARM_WARNING not in with_logs(tuner="other").warnings
    assert with_logs().warnings == ()
