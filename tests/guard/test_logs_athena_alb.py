"""The ALB access log table: AWS's regex reads AWS's sample entries into the right columns;
partitions are where ELB writes; saved queries prune on day."""

from __future__ import annotations

import re

import pytest

from guard.logs_athena_alb import (
    ALB_TABLE,
    COLUMNS,
    INPUT_REGEX,
    PARTITION_KEYS,
    SERDE,
    SERDE_PARAMETERS,
    WAF_BLOCKED,
    alb_database_name,
    alb_saved_queries,
    alb_table_location,
    alb_table_parameters,
)
from guard.logs_layout import alb_log_prefix
from tests.aws_samples import load_sample

#: The regex as the Athena User Guide prints it inside its CREATE TABLE statement ("Create the
#: table for ALB access logs", docs.aws.amazon.com/athena/latest/ug/
#: create-alb-access-logs-table.html), character for character: a SQL string literal.
GUIDE_DDL_REGEX = (
    r"""([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*):([0-9]*) ([^ ]*)[:-]([0-9]*) ([-.0-9]*) ([-.0-9]*) """
    r"""([-.0-9]*) (|[-0-9]*) (-|[-0-9]*) ([-0-9]*) ([-0-9]*) \"([^ ]*) (.*) (- |[^ ]*)\" """
    r"""\"([^\"]*)\" ([A-Z0-9-_]+) ([A-Za-z0-9.-]*) ([^ ]*) \"([^\"]*)\" \"([^\"]*)\" """
    r"""\"([^\"]*)\" ([-.0-9]*) ([^ ]*) \"([^\"]*)\" \"([^\"]*)\" \"([^ ]*)\" """
    r"""\"([^\\s]+?)\" \"([^\\s]+)\" \"([^ ]*)\" \"([^ ]*)\" ?([^ ]*)? ?( .*)?"""
)
ACCOUNT = "111111111111"
REGION = "ap-northeast-1"
BUCKET = "example-prod-alb-logs"
#: The Athena guide's column list, in order.
GUIDE_COLUMNS = [
    "type",
    "time",
    "elb",
    "client_ip",
    "client_port",
    "target_ip",
    "target_port",
    "request_processing_time",
    "target_processing_time",
    "response_processing_time",
    "elb_status_code",
    "target_status_code",
    "received_bytes",
    "sent_bytes",
    "request_verb",
    "request_url",
    "request_proto",
    "user_agent",
    "ssl_cipher",
    "ssl_protocol",
    "target_group_arn",
    "trace_id",
    "domain_name",
    "chosen_cert_arn",
    "matched_rule_priority",
    "request_creation_time",
    "actions_executed",
    "redirect_url",
    "lambda_error_reason",
    "target_port_list",
    "target_status_code_list",
    "classification",
    "classification_reason",
    "conn_trace_id",
]


def sql_unescape(literal: str) -> str:
    """What Hive makes of a backslash escape in a DDL string literal (\\" and \\\\)."""
    return re.sub(r"\\(.)", lambda m: m.group(1), literal)


def parse(entry: str) -> dict[str, str]:
    """One log entry through the table's regex, as Hive's RegexSerDe reads it: the whole line
    must match (Java's ``Matcher.matches``, Python's ``fullmatch``). The regex needs no
    translation: it uses nothing Java and Python read differently."""
    match = re.fullmatch(INPUT_REGEX, entry)
    assert match is not None, entry
    return dict(zip([name for name, _, _ in COLUMNS], match.groups(), strict=False))


# --- the table -------------------------------------------------------------------------------


def test_the_table_is_the_athena_guides() -> None:
    assert [name for name, _, _ in COLUMNS] == GUIDE_COLUMNS
    types = {name: kind for name, kind, _ in COLUMNS}
    assert types["elb_status_code"] == "int" and types["target_status_code"] == "string"
    assert types["received_bytes"] == types["sent_bytes"] == "bigint"
    assert types["target_processing_time"] == "double"
    # Through the Glue API the regex is what the guide's SQL literal stands for.
    assert sql_unescape(GUIDE_DDL_REGEX) == INPUT_REGEX
    assert SERDE == "org.apache.hadoop.hive.serde2.RegexSerDe"
    assert SERDE_PARAMETERS == {"serialization.format": "1", "input.regex": INPUT_REGEX}
    # One group per column, then the tail that swallows fields ELB adds later.
    assert re.compile(INPUT_REGEX).groups == len(COLUMNS) + 1
    assert INPUT_REGEX.endswith(" ?( .*)?")
    assert ALB_TABLE == "alb_logs"
    assert [name for name, _, _ in PARTITION_KEYS] == ["product", "endpoint", "day"]


@pytest.mark.parametrize(
    ("stack", "database"),
    [("prod", "guard_prod_alb_logs"), ("Stage-Tokyo", "guard_stage_tokyo_alb_logs")],
)
def test_database_names_are_glue_names(stack: str, database: str) -> None:
    assert alb_database_name(stack) == database
    assert re.fullmatch(r"[a-z0-9_]+", database)


# --- AWS's sample entries through the regex --------------------------------------------------


def test_every_documented_entry_parses() -> None:
    entries = load_sample("alb_access_log_entries")
    assert len(entries) == 7
    kinds = [parse(entry)["type"] for entry in entries]
    assert kinds == ["http", "https", "h2", "ws", "wss", "http", "http"]


def test_an_https_entry_lands_in_the_right_columns() -> None:
    row = parse(load_sample("alb_access_log_entries")[1])
    assert row == {
        "type": "https",
        "time": "2018-07-02T22:23:00.186641Z",
        "elb": "app/my-loadbalancer/50dc6c495c0c9188",
        "client_ip": "192.168.131.39",
        "client_port": "2817",
        "target_ip": "10.0.0.1",
        "target_port": "80",
        "request_processing_time": "0.086",
        "target_processing_time": "0.048",
        "response_processing_time": "0.037",
        "elb_status_code": "200",
        "target_status_code": "200",
        "received_bytes": "0",
        "sent_bytes": "57",
        "request_verb": "GET",
        "request_url": "https://www.example.com:443/",
        "request_proto": "HTTP/1.1",
        "user_agent": "curl/7.46.0",
        "ssl_cipher": "ECDHE-RSA-AES128-GCM-SHA256",
        "ssl_protocol": "TLSv1.2",
        "target_group_arn": (
            "arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/"
            "73e2d6bc24d8a067"
        ),
        "trace_id": "Root=1-58337281-1d84f3d73c47ec4e58577259",
        "domain_name": "www.example.com",
        "chosen_cert_arn": (
            "arn:aws:acm:us-east-2:123456789012:certificate/12345678-1234-1234-1234-123456789012"
        ),
        "matched_rule_priority": "1",
        "request_creation_time": "2018-07-02T22:22:48.364000Z",
        "actions_executed": "authenticate,forward",
        "redirect_url": "-",
        "lambda_error_reason": "-",
        "target_port_list": "10.0.0.1:80",
        "target_status_code_list": "200",
        "classification": "-",
        "classification_reason": "-",
        "conn_trace_id": "",  # the 2023 sample predates the TID field
    }


def test_redirects_and_failed_lambda_calls_land_in_their_columns() -> None:
    entries = load_sample("alb_access_log_entries")
    h2 = parse(entries[2])
    assert (h2["request_proto"], h2["actions_executed"], h2["redirect_url"]) == (
        "HTTP/2.0",
        "redirect",
        "https://example.com:80/",
    )
    failed = parse(entries[6])
    # No target ("-"): the guide's regex leaves target_ip empty (target_port reads as NULL).
    assert (failed["target_ip"], failed["target_port"]) == ("", "")
    assert (failed["elb_status_code"], failed["target_status_code"]) == ("502", "-")
    assert failed["lambda_error_reason"] == "LambdaInvalidResponse"


def test_the_trace_id_and_fields_added_later_still_parse() -> None:
    http = load_sample("alb_access_log_entries")[0]
    # Newer entries end with the traceability ID (TID_...), and fields after it have been
    # reported since 2025. The guide's tail keeps both parsing, the columns where they were.
    with_tid = parse(f"{http} TID_1234abcd5678ef90")
    assert with_tid["conn_trace_id"] == "TID_1234abcd5678ef90"
    later = parse(f'{http} TID_1234abcd5678ef90 "-" "-" "-"')
    assert later == with_tid
    assert later["classification"] == "-" and later["actions_executed"] == "forward"


def test_a_request_waf_blocked_is_what_the_saved_query_selects() -> None:
    # The ELB guide: when WAF blocks, target:port and target:port_list are "-", elb_status_code
    # 403, and "waf" is the last action (a test's own variation of the documented HTTP entry).
    http = load_sample("alb_access_log_entries")[0]
    blocked = (
        http.replace("10.0.0.1:80 0.000 0.001 0.000 200 200", "- 0.000 -1 -1 403 -")
        .replace('"forward" "-" "-" "10.0.0.1:80" "200"', '"waf" "-" "-" "-" "-"')
        .replace("Root=1-58337262", "Root=1-58337263")
    )
    assert blocked != http
    rows = [parse(blocked), parse(http), parse(http.replace('"forward"', '"waf,forward"'))]
    assert [r["elb_status_code"] for r in rows] == ["403", "200", "200"]
    # Athena's element_at(split(actions_executed, ','), -1) = 'waf', in Python.
    assert WAF_BLOCKED == "element_at(split(actions_executed, ','), -1) = 'waf'"
    assert [r["actions_executed"].split(",")[-1] == "waf" for r in rows] == [True, False, False]


# --- partitions ------------------------------------------------------------------------------


def test_partitions_are_exactly_where_elb_writes() -> None:
    endpoints = [("shop", "web"), ("shop", "api"), ("energy", "partner-api")]
    params = alb_table_parameters(BUCKET, ACCOUNT, REGION, endpoints, 90)
    assert params["projection.enabled"] == "true"
    assert params["projection.product.type"] == params["projection.endpoint.type"] == "enum"
    assert params["projection.product.values"] == "energy,shop"
    assert params["projection.endpoint.values"] == "api,partner-api,web"
    assert params["projection.day.type"] == "date"
    assert params["projection.day.format"] == "yyyy/MM/dd"
    assert params["projection.day.range"] == "NOW-90DAYS,NOW"
    template = params["storage.location.template"]
    assert template == (
        f"s3://{BUCKET}/alb/${{product}}/${{endpoint}}/AWSLogs/{ACCOUNT}/elasticloadbalancing/"
        f"{REGION}/${{day}}"
    )
    for product, endpoint in endpoints:
        # A file ELB delivers on 2026-11-25 for this endpoint (the guide's name format)...
        key = (
            f"{alb_log_prefix(product, endpoint)}/AWSLogs/{ACCOUNT}/elasticloadbalancing/{REGION}"
            f"/2026/11/25/{ACCOUNT}_elasticloadbalancing_{REGION}_app.x.0123456789abcdef_"
            "20261125T0005Z_10.0.0.1_2ab3c4d5.log.gz"
        )
        # ...lies under the partition Athena projects for it, and under the table's root.
        location = (
            template.replace("${product}", product)
            .replace("${endpoint}", endpoint)
            .replace("${day}", "2026/11/25")
        )
        assert f"s3://{BUCKET}/{key}".startswith(location + "/")
        assert location.startswith(alb_table_location(BUCKET))


def test_projection_needs_an_endpoint() -> None:
    with pytest.raises(ValueError, match="at least one ALB endpoint"):
        alb_table_parameters(BUCKET, ACCOUNT, REGION, [], 90)


# --- saved queries ---------------------------------------------------------------------------


def test_saved_queries_answer_the_questions_and_prune_by_day() -> None:
    queries = {q.key: q for q in alb_saved_queries("guard_prod_alb_logs")}
    assert set(queries) == {"alb-waf-blocked", "alb-top-error-clients", "alb-slowest-targets"}
    assert [q.name for q in queries.values()] == [
        "ALB: requests WAF blocked, last 24 h",
        "ALB: top clients by 4xx/5xx, last 24 h",
        "ALB: slowest targets, last 24 h",
    ]
    for query in queries.values():
        assert 'FROM "guard_prod_alb_logs"."alb_logs"' in query.sql
        # The day partition first (Athena bills bytes scanned), then the entry's own time.
        assert "day >= date_format(current_timestamp - interval '24' hour, '%Y/%m/%d')" in query.sql
        assert "from_iso8601_timestamp(\"time\") > current_timestamp - interval '24' hour" in (
            query.sql
        )
        assert query.description
    assert f"AND {WAF_BLOCKED}" in queries["alb-waf-blocked"].sql
    errors = queries["alb-top-error-clients"].sql
    assert "elb_status_code >= 400" in errors and "GROUP BY client_ip" in errors
    slow = queries["alb-slowest-targets"].sql
    assert "approx_percentile(target_processing_time, 0.99)" in slow
    # -1: the request never reached a target; it would drag every percentile down.
    assert "target_processing_time >= 0" in slow
