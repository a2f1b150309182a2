"""guard:logs: each bad input gets one error naming the key path, the bad value and what is
allowed; valid input gets the defaults users rely on."""

from __future__ import annotations

from typing import Any

import pytest

from guard.config import ConfigError, LoadedConfig, load_stack_config
from guard.config.errors import MISSING, Problem
from tests.conftest import TODAY, raw_config

ALERTS = {
    "slack": {
        "workspace_id": "T0EXAMPLE1",
        "normal_channel": "C0NORMAL01",
        "urgent_channel": "C0URGENT01",
    }
}
LOGS: dict[str, Any] = {"bucket": "example-test-waf-logs"}
QUEUE = "arn:aws:sqs:ap-northeast-1:111111111111:siem-waf-loader"
READER = "arn:aws:iam::111111111111:role/siem-es-loader"
L = "guard:logs"


def load(logs: Any = None, **sections: Any) -> LoadedConfig:
    return load_stack_config(
        raw_config(logs={**LOGS, **(logs or {})}, **sections), "test.yaml", today=TODAY
    )


def only_problem(logs: Any = None, **sections: Any) -> Problem:
    with pytest.raises(ConfigError) as caught:
        load(logs, **sections)
    problems = list(caught.value.problems)
    assert len(problems) == 1, [p.render("test.yaml") for p in problems]
    return problems[0]


def test_a_bucket_alone_gets_safe_defaults() -> None:
    loaded = load()
    logs = loaded.config.logs
    assert logs is not None
    assert logs.retention_days == 365
    assert logs.archive_after_days is None
    # Credentials stay out of the logs unless someone decides otherwise.
    assert logs.redact_fields == ["authorization", "cookie"]
    assert logs.filter == "all"
    assert logs.samples_to_slack is False
    assert logs.athena.workgroup is None and logs.athena.scan_limit_gb == 10
    assert loaded.warnings == ()


def test_the_prod_example_section_is_valid() -> None:
    loaded = load(
        {
            "retention_days": 400,
            "archive_after_days": 90,
            "redact_fields": ["Authorization", "cookie", "x-api-key"],
            "filter": "blocked-and-counted",
            "athena": {"workgroup": "waf-team", "scan_limit_gb": 5},
            "opensearch": {"queue_arn": QUEUE, "reader_role_arn": READER},
            "samples_to_slack": True,
        },
        alerts=ALERTS,
    )
    logs = loaded.config.logs
    assert logs is not None and logs.opensearch is not None
    # Header names are case-insensitive: one spelling.
    assert logs.redact_fields == ["authorization", "cookie", "x-api-key"]


def test_bucket_is_required() -> None:
    with pytest.raises(ConfigError) as caught:
        load_stack_config(raw_config(logs={"retention_days": 30}), "test.yaml", today=TODAY)
    (problem,) = caught.value.problems
    assert problem.path == (L, "bucket")
    assert problem.message == "required key is missing"


@pytest.mark.parametrize(
    "bucket",
    [
        "Example-Logs",  # uppercase
        "ex",  # too short
        "example.waf.logs",  # dots break TLS to the bucket
        "-example-logs",
        "xn--example-logs",
        "example-logs-s3alias",
        "a" * 64,
    ],
)
def test_bad_bucket_names_say_what_s3_allows(bucket: str) -> None:
    problem = only_problem({"bucket": bucket})
    assert problem.path == (L, "bucket")
    assert problem.value == bucket
    assert "3 to 63 lowercase letters" in problem.message and "no dots" in problem.message


@pytest.mark.parametrize("days", [0, 6, 3651])
def test_retention_outside_a_week_to_ten_years(days: int) -> None:
    problem = only_problem({"retention_days": days})
    assert problem.path == (L, "retention_days")
    assert problem.value == days
    assert "7 to 3650 days" in problem.message


def test_retention_must_be_a_number_not_text() -> None:
    problem = only_problem({"retention_days": "400"})
    assert problem.path == (L, "retention_days")
    assert "integer" in problem.message


def test_archiving_before_30_days_is_refused() -> None:
    problem = only_problem({"archive_after_days": 10})
    assert problem.path == (L, "archive_after_days")
    assert "at least 30 days" in problem.message


def test_archiving_too_close_to_deletion_costs_more_than_it_saves() -> None:
    problem = only_problem({"retention_days": 200, "archive_after_days": 150})
    assert problem.path == (L, "archive_after_days")
    assert problem.value == 150
    assert "90 days" in problem.message and "use at most 110" in problem.message
    # When no archive day can pay off, the fix is not "at most" a day below the minimum.
    short = only_problem({"retention_days": 100, "archive_after_days": 30})
    assert "leave it out, or keep logs at least 120 days" in short.message


def test_unknown_filter_lists_the_allowed_ones() -> None:
    problem = only_problem({"filter": "blocked"})
    assert problem.path == (L, "filter")
    assert problem.value == "blocked"
    assert "'all'" in problem.message and "'blocked-and-counted'" in problem.message


def test_bad_header_name_is_named_by_its_index() -> None:
    problem = only_problem({"redact_fields": ["authorization", "x api key"]})
    assert problem.path == (L, "redact_fields", 1)
    assert problem.value == "x api key"
    assert "HTTP header name" in problem.message


def test_a_header_listed_twice_in_two_spellings() -> None:
    problem = only_problem({"redact_fields": ["Cookie", "cookie"]})
    assert problem.path == (L, "redact_fields")
    assert "cookie is listed twice" in problem.message


def test_unknown_keys_are_errors_with_the_allowed_keys() -> None:
    problem = only_problem({"retention": 30})
    assert problem.path == (L, "retention")
    assert problem.value is MISSING
    assert "unknown key" in problem.message and "retention_days" in problem.message
    nested = only_problem({"athena": {"work_group": "x"}})
    assert nested.path == (L, "athena", "work_group")
    assert "workgroup" in nested.message


def test_primary_workgroup_is_refused() -> None:
    problem = only_problem({"athena": {"workgroup": "primary"}})
    assert problem.path == (L, "athena", "workgroup")
    assert "every account already has" in problem.message


@pytest.mark.parametrize("limit", [0, 2048])
def test_scan_limit_bounds(limit: int) -> None:
    problem = only_problem({"athena": {"scan_limit_gb": limit}})
    assert problem.path == (L, "athena", "scan_limit_gb")
    assert "1 to 1024 GB" in problem.message


def test_samples_to_slack_needs_an_alert_route() -> None:
    problem = only_problem({"samples_to_slack": True})
    assert problem.path == (L, "samples_to_slack")
    assert "guard:alerts" in problem.message


def test_siem_queue_in_another_region_is_refused() -> None:
    queue = QUEUE.replace("ap-northeast-1", "eu-west-1")
    problem = only_problem({"opensearch": {"queue_arn": queue, "reader_role_arn": READER}})
    assert problem.path == (L, "opensearch", "queue_arn")
    assert problem.value == queue
    assert "only to a queue in the bucket's region" in problem.message


def test_siem_fifo_queue_and_bad_role_are_each_reported() -> None:
    with pytest.raises(ConfigError) as caught:
        load({"opensearch": {"queue_arn": QUEUE + ".fifo", "reader_role_arn": "aes-siem"}})
    by_path = {p.path: p for p in caught.value.problems}
    assert set(by_path) == {
        (L, "opensearch", "queue_arn"),
        (L, "opensearch", "reader_role_arn"),
    }
    assert "FIFO" in by_path[(L, "opensearch", "queue_arn")].message
    assert "IAM role ARN" in by_path[(L, "opensearch", "reader_role_arn")].message


def test_logging_credentials_is_allowed_but_warned() -> None:
    loaded = load({"redact_fields": ["x-api-key"]})
    (warning,) = loaded.warnings
    assert "authorization and cookie" in warning


def test_sharing_the_encrypted_bucket_with_the_srt_is_warned() -> None:
    shield = {"subscription": "existing", "srt_access": {"log_buckets": [LOGS["bucket"]]}}
    loaded = load(shield=shield, alerts=ALERTS)
    assert any("AccessDenied" in w and LOGS["bucket"] in w for w in loaded.warnings)
