"""guard:siem: the SIEM's loader and its domain's retention. Valid input loads with the domain
read from its endpoint and the defaults users rely on; each bad input gets an error naming the
key path and what is allowed, every error of the section in one run; the deprecated
guard:logs.opensearch still works, with a warning, and the checks that need the stack's region
or other sections run too."""

from __future__ import annotations

from typing import Any

import pytest

from guard.config import ConfigError, LoadedConfig, load_stack_config
from guard.config.errors import KeyPath, Problem
from guard.siem_ism import DEFAULT_INDICES
from tests.conftest import TODAY, raw_config

S, L = "guard:siem", "guard:logs"
REGION = "ap-northeast-1"
ENDPOINT = "https://vpc-aes-siem-abcdefghijklmnopqrstuvwxyz.ap-northeast-1.es.amazonaws.com"
QUEUE = "arn:aws:sqs:ap-northeast-1:111111111111:aes-siem-sqs-splitted-logs"
ROLE = "arn:aws:iam::111111111111:role/aes-siem-LambdaEsLoaderServiceRole"
SUBNETS = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
GROUPS = ["sg-0123456789abcdef0"]
LOADER = {"loader_queue_arn": QUEUE, "loader_role_arn": ROLE}
#: The section of the example stack (stacks/Pulumi.prod.yaml).
EXAMPLE: dict[str, Any] = {
    "domain_endpoint": ENDPOINT,
    **LOADER,
    "retention": {
        "hot_days": 7,
        "indices": ["log-aws-waf-*", "log-aws-elb-*"],
        "index_rotation": "daily",
    },
    "network": {"subnet_ids": SUBNETS, "security_group_ids": GROUPS},
}
WAF_BUCKET = "example-test-waf-logs"


def load(siem: Any = None, logs: Any = None) -> LoadedConfig:
    """``siem`` and ``logs`` as sections; a stack with a SIEM gets a WAF log bucket unless
    ``logs`` is False (none)."""
    if logs is None and siem is not None:
        logs = {"bucket": WAF_BUCKET}
    return load_stack_config(raw_config(siem=siem, logs=logs or None), "test.yaml", today=TODAY)


def problems(siem: Any = None, logs: Any = None) -> dict[KeyPath, Problem]:
    with pytest.raises(ConfigError) as caught:
        load(siem, logs)
    found = {p.path: p for p in caught.value.problems}
    assert len(found) == len(caught.value.problems), "one problem per key path"
    return found


def only_problem(siem: Any = None, logs: Any = None) -> Problem:
    (problem,) = problems(siem, logs).values()
    return problem


def retention(**fields: Any) -> dict[str, Any]:
    """A valid section with a domain and the loader, and these retention fields."""
    return {"domain_endpoint": ENDPOINT, **LOADER, "retention": {"hot_days": 7, **fields}}


# --- valid input -----------------------------------------------------------------------------


def test_the_example_section_loads_without_warnings() -> None:
    loaded = load(EXAMPLE)
    siem = loaded.config.siem
    assert siem is not None and siem.retention is not None and siem.network is not None
    assert siem.domain == "aes-siem"  # read from the endpoint AWS generated
    assert siem.endpoint_region == REGION
    assert siem.host == ENDPOINT.removeprefix("https://")
    assert siem.feeds_loader
    assert (siem.loader_queue_arn, siem.loader_role_arn) == (QUEUE, ROLE)
    assert siem.retention.hot_days == siem.retention.delete_after_days == 7
    assert siem.retention.rotation_days == 1
    assert siem.network.subnet_ids == SUBNETS
    assert siem.network.security_group_ids == GROUPS
    assert loaded.warnings == ()


@pytest.mark.parametrize(
    ("endpoint", "domain"),
    [
        (ENDPOINT, "aes-siem"),
        ("https://search-aes-siem-4kq7zmb2xw.ap-northeast-1.es.amazonaws.com", "aes-siem"),
        ("https://vpc-siem-prod-2-a1b2c3d4e5.ap-northeast-1.es.amazonaws.com/", "siem-prod-2"),
    ],
)
def test_the_domain_name_and_region_come_from_a_generated_endpoint(
    endpoint: str, domain: str
) -> None:
    siem = load({"domain_endpoint": endpoint, **LOADER}).config.siem
    assert siem is not None
    assert siem.domain == domain
    assert siem.endpoint_region == REGION


def test_a_pasted_trailing_slash_is_dropped() -> None:
    siem = load({"domain_endpoint": ENDPOINT + "/", **LOADER}).config.siem
    assert siem is not None and siem.domain_endpoint == ENDPOINT


def test_retention_defaults_to_the_siems_waf_and_elb_indices_rotated_monthly() -> None:
    loaded = load(retention(hot_days=31))
    siem = loaded.config.siem
    assert siem is not None and siem.retention is not None
    assert siem.retention.indices == list(DEFAULT_INDICES)
    assert siem.retention.index_rotation == "monthly"
    assert siem.retention.warm_days is None
    assert siem.retention.delete_after_days == 31
    assert siem.network is None
    assert loaded.warnings == ()


def test_warm_days_add_to_the_age_at_which_indices_are_deleted() -> None:
    siem = load(retention(hot_days=7, warm_days=30, index_rotation="daily")).config.siem
    assert siem is not None and siem.retention is not None
    assert siem.retention.delete_after_days == 37


def test_the_loader_alone_is_enough() -> None:
    loaded = load(LOADER)
    siem = loaded.config.siem
    assert siem is not None and siem.feeds_loader
    assert siem.domain_endpoint is None and siem.retention is None and siem.domain is None
    assert loaded.warnings == ()


def test_a_custom_endpoint_needs_the_domain_name() -> None:
    custom = {
        "domain_endpoint": "https://siem.example.com",
        **LOADER,
        "retention": {"hot_days": 31},
    }
    problem = only_problem(custom)
    assert problem.path == (S,)
    assert "https://siem.example.com is not one AWS generated" in problem.message
    assert "add domain_name" in problem.message
    siem = load({**custom, "domain_name": "aes-siem"}).config.siem
    assert siem is not None
    assert siem.domain == "aes-siem"
    assert siem.endpoint_region is None  # no region to compare with the stack's


def test_domain_name_wins_over_the_endpoint() -> None:
    siem = load({**EXAMPLE, "domain_name": "siem-prod"}).config.siem
    assert siem is not None and siem.domain == "siem-prod"


# --- one error per bad input, at its key path ------------------------------------------------


@pytest.mark.parametrize(
    "endpoint",
    [
        ENDPOINT.replace("https://", "http://"),
        ENDPOINT + "/_dashboards",
        ENDPOINT + "/?pretty",
        ENDPOINT.removeprefix("https://"),
        "https://user@" + ENDPOINT.removeprefix("https://"),
    ],
)
def test_the_endpoint_must_be_https_without_a_path(endpoint: str) -> None:
    problem = only_problem({"domain_endpoint": endpoint, **LOADER})
    assert problem.path == (S, "domain_endpoint")
    assert problem.value == endpoint
    assert "must be the domain's HTTPS endpoint, https://<host> with no path" in problem.message


@pytest.mark.parametrize(
    ("siem", "says"),
    [
        ({"loader_queue_arn": QUEUE}, "loader_queue_arn and loader_role_arn go together"),
        ({"loader_role_arn": ROLE}, "loader_queue_arn and loader_role_arn go together"),
        ({**LOADER, "retention": {"hot_days": 7}}, "retention needs domain_endpoint"),
        ({**LOADER, "domain_name": "aes-siem"}, "domain_name needs domain_endpoint"),
        (
            {"domain_endpoint": ENDPOINT, **LOADER, "network": EXAMPLE["network"]},
            "network is where the retention Lambda runs: it needs retention",
        ),
        ({}, "set loader_queue_arn and loader_role_arn"),
    ],
    ids=[
        "queue-without-role",
        "role-without-queue",
        "retention-without-endpoint",
        "domain-name-without-endpoint",
        "network-without-retention",
        "empty",
    ],
)
def test_keys_that_go_together(siem: dict[str, Any], says: str) -> None:
    problem = only_problem(siem)
    assert problem.path == (S,)
    assert says in problem.message


@pytest.mark.parametrize(("key", "days"), [("hot_days", 0), ("hot_days", 3651), ("warm_days", 0)])
def test_days_outside_one_to_ten_years(key: str, days: int) -> None:
    problem = only_problem(retention(**{key: days}))
    assert problem.path == (S, "retention", key)
    assert problem.value == days
    assert "must be 1 to 3650 days" in problem.message


@pytest.mark.parametrize(
    "pattern", ["Log-aws-waf-*", "_internal-*", "-log-*", "log waf", "log/waf"]
)
def test_index_patterns_must_be_lowercase_opensearch_names(pattern: str) -> None:
    problem = only_problem(retention(indices=["log-aws-waf-*", pattern]))
    assert problem.path == (S, "retention", "indices", 1)
    assert problem.value == pattern
    assert "must be an OpenSearch index name or pattern: lowercase" in problem.message
    assert "not starting with _ or -" in problem.message


def test_an_index_pattern_listed_twice_is_named() -> None:
    indices = ["log-aws-waf-*", "log-aws-elb-*", "log-aws-waf-*"]
    problem = only_problem(retention(indices=indices))
    assert problem.path == (S, "retention", "indices")
    assert problem.message == "each entry once: log-aws-waf-* is listed twice"


def test_an_empty_index_list_is_refused() -> None:
    assert only_problem(retention(indices=[])).path == (S, "retention", "indices")


def test_an_unknown_rotation_lists_the_allowed_ones() -> None:
    problem = only_problem(retention(index_rotation="hourly"))
    assert problem.path == (S, "retention", "index_rotation")
    assert all(r in problem.message for r in ("daily", "weekly", "monthly"))


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [
        ("subnet_ids", "subnet-123", "must be a subnet ID, subnet-<8 or 17 hex digits>"),
        ("subnet_ids", "sg-0123456789abcdef0", "must be a subnet ID"),
        ("security_group_ids", "sg-xyz", "must be a security group ID, sg-<8 or 17 hex digits>"),
        ("security_group_ids", "subnet-0123456789abcdef0", "must be a security group ID"),
    ],
)
def test_network_ids_are_checked_one_by_one(key: str, value: str, says: str) -> None:
    network = {"subnet_ids": SUBNETS, "security_group_ids": GROUPS}
    network[key] = [*network[key], value]
    problem = only_problem({**EXAMPLE, "network": network})
    assert problem.path == (S, "network", key, len(network[key]) - 1)
    assert problem.value == value
    assert says in problem.message


def test_a_fifo_queue_is_refused() -> None:
    problem = only_problem({**LOADER, "loader_queue_arn": QUEUE + ".fifo"})
    assert problem.path == (S, "loader_queue_arn")
    assert "standard queue" in problem.message and "FIFO" in problem.message


def test_an_unknown_key_lists_the_allowed_ones() -> None:
    problem = only_problem({**EXAMPLE, "hot_days": 7})
    assert problem.path == (S, "hot_days")
    assert problem.message.startswith("unknown key")
    assert "retention" in problem.message and "loader_queue_arn" in problem.message


def test_every_error_of_the_section_in_one_run() -> None:
    found = problems(
        {
            "domain_endpoint": ENDPOINT.replace("https://", "http://"),
            "loader_queue_arn": QUEUE + ".fifo",
            "loader_role_arn": ROLE,
            "retention": {"hot_days": 0, "indices": ["LOG-*", "_x"]},
            "network": {"subnet_ids": ["subnet-1"], "security_group_ids": ["sg-1"]},
            "color": "blue",
        },
        # Another section's cross check still runs beside the schema errors.
        logs={"bucket": WAF_BUCKET, "alb": {"bucket": WAF_BUCKET}},
    )
    assert set(found) == {
        (S, "domain_endpoint"),
        (S, "loader_queue_arn"),
        (S, "retention", "hot_days"),
        (S, "retention", "indices", 0),
        (S, "retention", "indices", 1),
        (S, "network", "subnet_ids", 0),
        (S, "network", "security_group_ids", 0),
        (S, "color"),
        (L, "alb", "bucket"),
    }


# --- the deprecated guard:logs.opensearch ----------------------------------------------------


def test_the_deprecated_logs_opensearch_becomes_the_siems_loader_with_a_warning() -> None:
    loaded = load(
        logs={"bucket": WAF_BUCKET, "opensearch": {"queue_arn": QUEUE, "reader_role_arn": ROLE}}
    )
    siem = loaded.config.siem
    assert siem is not None
    assert (siem.loader_queue_arn, siem.loader_role_arn) == (QUEUE, ROLE)
    assert siem.domain_endpoint is None and siem.retention is None
    (warning,) = loaded.warnings
    assert warning.startswith("guard:logs.opensearch is deprecated")
    assert "queue_arn to guard:siem.loader_queue_arn" in warning
    assert "reader_role_arn to guard:siem.loader_role_arn" in warning


def test_the_deprecated_key_and_guard_siem_together_are_refused() -> None:
    logs = {"bucket": WAF_BUCKET, "opensearch": {"queue_arn": QUEUE, "reader_role_arn": ROLE}}
    problem = only_problem(EXAMPLE, logs=logs)
    assert problem.path == (L, "opensearch")
    assert "guard:siem is set too: remove guard:logs.opensearch" in problem.message
    # Even when guard:siem does not set the loader itself: one place for it.
    problem = only_problem({"domain_endpoint": ENDPOINT, "retention": {"hot_days": 31}}, logs=logs)
    assert problem.path == (L, "opensearch")


def test_without_either_there_is_no_siem() -> None:
    assert load(logs={"bucket": WAF_BUCKET}).config.siem is None


# --- checks against the stack's region and other sections ------------------------------------


def test_a_loader_queue_in_another_region_is_refused() -> None:
    queue = QUEUE.replace(REGION, "us-east-1")
    problem = only_problem({**EXAMPLE, "loader_queue_arn": queue})
    assert problem.path == (S, "loader_queue_arn")
    assert problem.value == queue
    assert "the queue is in us-east-1, but the log buckets are in ap-northeast-1" in problem.message
    assert "only to a queue in the bucket's region" in problem.message


def test_a_deprecated_queue_in_another_region_is_refused_where_it_is_written() -> None:
    queue = QUEUE.replace(REGION, "us-east-1")
    problem = only_problem(
        logs={"bucket": WAF_BUCKET, "opensearch": {"queue_arn": queue, "reader_role_arn": ROLE}}
    )
    assert problem.path == (L, "opensearch", "queue_arn")
    assert problem.value == queue
    assert "the queue is in us-east-1" in problem.message


def test_a_domain_in_another_region_is_refused() -> None:
    endpoint = ENDPOINT.replace(REGION, "eu-west-1")
    problem = only_problem({**EXAMPLE, "domain_endpoint": endpoint})
    assert problem.path == (S, "domain_endpoint")
    assert problem.value == endpoint
    assert "the domain is in eu-west-1, but the retention Lambda runs in ap-northeast-1" in (
        problem.message
    )


def test_region_errors_come_together() -> None:
    found = problems(
        {
            **EXAMPLE,
            "domain_endpoint": ENDPOINT.replace(REGION, "eu-west-1"),
            "loader_queue_arn": QUEUE.replace(REGION, "eu-west-1"),
        },
        logs={"bucket": WAF_BUCKET, "alb": {"bucket": WAF_BUCKET}},
    )
    assert set(found) == {(S, "domain_endpoint"), (S, "loader_queue_arn"), (L, "alb", "bucket")}


@pytest.mark.parametrize(
    ("rotation", "hot_days", "warned"),
    [
        ("monthly", 7, True),
        ("monthly", 30, True),
        ("monthly", 31, False),
        ("weekly", 6, True),
        ("weekly", 7, False),
        ("daily", 1, False),
    ],
)
def test_hot_days_shorter_than_the_index_rotation_warn(
    rotation: str, hot_days: int, warned: bool
) -> None:
    loaded = load(retention(hot_days=hot_days, index_rotation=rotation))
    if not warned:
        assert loaded.warnings == ()
        return
    (warning,) = loaded.warnings
    assert warning.startswith(
        f"guard:siem: retention.hot_days {hot_days} is shorter than the SIEM's {rotation} "
        "index rotation"
    )
    assert "user.ini" in warning and "index_rotation: daily" in warning


def test_retention_without_the_loader_warns_that_nothing_feeds_the_domain() -> None:
    loaded = load({"domain_endpoint": ENDPOINT, "retention": {"hot_days": 31}})
    (warning,) = loaded.warnings
    assert "retention without loader_queue_arn" in warning
    assert "31 days" in warning


def test_the_alb_bucket_must_not_be_the_waf_bucket() -> None:
    problem = only_problem(EXAMPLE, logs={"bucket": WAF_BUCKET, "alb": {"bucket": WAF_BUCKET}})
    assert problem.path == (L, "alb", "bucket")
    assert problem.value == WAF_BUCKET
    assert "ALB access logs need a bucket of their own" in problem.message


def test_a_loader_without_log_buckets_warns() -> None:
    warnings = load(LOADER, logs=False).warnings
    assert any("no log bucket of this stack notifies the queue" in w for w in warnings)
    assert not any("notifies the queue" in w for w in load(LOADER).warnings)
