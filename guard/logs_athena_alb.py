"""The Athena side of ALB access logs, as plain data: the Glue table (columns, RegexSerDe,
partition projection over every ALB endpoint of the stack) and the saved queries.

The table is AWS's own: the columns, their types and the SerDe's ``input.regex`` are those of the
Amazon Athena User Guide, "Create the table for ALB access logs"
(docs.aws.amazon.com/athena/latest/ug/create-alb-access-logs-table.html, the version with the
``classification``, ``classification_reason`` and ``conn_trace_id`` columns), with partition
projection as in "Create the table for ALB access logs in Athena using partition projection"
(create-alb-access-logs-table-partition-projection.html). The guide ends the regex with
``?( .*)?`` and asks that it stay, "to handle future log entries in case new ALB log fields are
added": ELB appends new fields at the end of an entry ("You should ignore any fields at the end
of the log entry that you were not expecting", ELB User Guide, "Access log entries"). Entries
with fields after ``conn_trace_id`` have been reported since August 2025; a regex without the
tail stops matching them, and the table reads them as NULLs.

Partitions follow the key layout (:func:`guard.logs_layout.alb_log_prefix`): ``product`` and
``endpoint`` are enums of the stack's ALB endpoints, ``day`` is ELB's ``yyyy/MM/dd`` folder (the
UTC day the file was delivered, at most ~5 minutes after its requests).
"""

from __future__ import annotations

from collections.abc import Sequence

from guard.logs_athena import SavedQuery
from guard.logs_layout import ALB_PREFIX

ALB_TABLE = "alb_logs"
SERDE = "org.apache.hadoop.hive.serde2.RegexSerDe"
INPUT_FORMAT = "org.apache.hadoop.mapred.TextInputFormat"
OUTPUT_FORMAT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"

#: The Athena User Guide's ``input.regex``, as the Glue table stores it: the guide's DDL writes it
#: inside a SQL string, where ``\"`` is an escaped quote and ``\\s`` an escaped ``\s``; through
#: the Glue API there is no SQL string, so the quotes are plain and ``\s`` has one backslash. One
#: group per column (34), then the unnamed tail ``( .*)?`` that swallows fields added later.
#: Java's RegexSerDe matches the whole line (``Matcher.matches``); a line that does not match
#: reads as a row of NULLs.
INPUT_REGEX = (
    r"([^ ]*) ([^ ]*) ([^ ]*) ([^ ]*):([0-9]*) ([^ ]*)[:-]([0-9]*) ([-.0-9]*) ([-.0-9]*) "
    r"([-.0-9]*) (|[-0-9]*) (-|[-0-9]*) ([-0-9]*) ([-0-9]*) "
    r'"([^ ]*) (.*) (- |[^ ]*)" "([^"]*)" ([A-Z0-9-_]+) ([A-Za-z0-9.-]*) ([^ ]*) '
    r'"([^"]*)" "([^"]*)" "([^"]*)" ([-.0-9]*) ([^ ]*) "([^"]*)" "([^"]*)" "([^ ]*)" '
    r'"([^\s]+?)" "([^\s]+)" "([^ ]*)" "([^ ]*)" ?([^ ]*)? ?( .*)?'
)
SERDE_PARAMETERS = {"serialization.format": "1", "input.regex": INPUT_REGEX}

#: The guide's columns and types, in log order; the comments are the ELB User Guide's field
#: descriptions ("Access log entries", Syntax), shortened.
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("type", "string", "http, https, h2, grpcs, ws or wss"),
    ("time", "string", "when the load balancer answered the client, ISO 8601 UTC"),
    ("elb", "string", "the load balancer's resource ID, app/<name>/<id>"),
    ("client_ip", "string", "the client (or the proxy in front of the load balancer)"),
    ("client_port", "int", "the client's port"),
    ("target_ip", "string", "the target that processed the request; - if none (WAF block)"),
    ("target_port", "int", "the target's port"),
    ("request_processing_time", "double", "seconds from request to dispatch; -1 if none"),
    ("target_processing_time", "double", "seconds the target took to start its response; -1"),
    ("response_processing_time", "double", "seconds from target response to client; -1"),
    ("elb_status_code", "int", "the status the load balancer sent (403 when WAF blocked)"),
    ("target_status_code", "string", "the target's status; - without a target response"),
    ("received_bytes", "bigint", "request size from the client, headers included"),
    ("sent_bytes", "bigint", "response size to the client, headers included"),
    ("request_verb", "string", "the request line's method"),
    ("request_url", "string", "the request line's URL as the client sent it"),
    ("request_proto", "string", "the request line's HTTP version"),
    ("user_agent", "string", "User-Agent (truncated beyond 8 KB)"),
    ("ssl_cipher", "string", "[HTTPS] TLS cipher; - otherwise"),
    ("ssl_protocol", "string", "[HTTPS] TLS protocol; - otherwise"),
    ("target_group_arn", "string", "the target group"),
    ("trace_id", "string", "X-Amzn-Trace-Id"),
    ("domain_name", "string", "[HTTPS] SNI host; - without SNI"),
    ("chosen_cert_arn", "string", "[HTTPS] certificate presented; session-reused"),
    ("matched_rule_priority", "string", "listener rule that matched; 0 the default action"),
    ("request_creation_time", "string", "when the load balancer received the request"),
    (
        "actions_executed",
        "string",
        "comma-separated: waf, waf-failed, authenticate, redirect, fixed-response, forward, ...; "
        "waf as the last action: WAF rejected the request",
    ),
    ("redirect_url", "string", "redirect target; - without a redirect"),
    ("lambda_error_reason", "string", "error reason code (authenticate, Lambda); -"),
    ("target_port_list", "string", "target ip:port list; - if not dispatched"),
    ("target_status_code_list", "string", "target status list; - without a response"),
    ("classification", "string", "desync mitigation: Acceptable, Ambiguous, Severe; -"),
    ("classification_reason", "string", "desync classification reason code; -"),
    ("conn_trace_id", "string", "traceability ID (TID_...), joins the connection log"),
)
PARTITION_KEYS: tuple[tuple[str, str, str], ...] = (
    ("product", "string", "the product of the ALB endpoint (guard:products)"),
    ("endpoint", "string", "the ALB endpoint's name in its product"),
    ("day", "string", "UTC day ELB delivered the file, yyyy/MM/dd"),
)


def alb_database_name(stack: str) -> str:
    """Glue names allow lowercase letters, digits and underscores only."""
    return f"guard_{stack.lower().replace('-', '_')}_alb_logs"


def alb_table_location(bucket: str) -> str:
    """The table's root: every partition's location is below it."""
    return f"s3://{bucket}/{ALB_PREFIX}"


def alb_table_parameters(
    bucket: str,
    account_id: str,
    region: str,
    endpoints: Sequence[tuple[str, str]],
    retention_days: int,
) -> dict[str, str]:
    """Partition projection over ``(product, endpoint)`` pairs of the stack's ALB endpoints.

    Athena projects every product x endpoint combination: one with no objects costs a LIST
    request and reads nothing. An endpoint removed from the stack is no longer projected (its
    logs stay until they expire; add it back to query them).
    """
    if not endpoints:
        raise ValueError("partition projection needs at least one ALB endpoint")
    products = sorted({product for product, _ in endpoints})
    names = sorted({endpoint for _, endpoint in endpoints})
    return {
        "EXTERNAL": "TRUE",
        "projection.enabled": "true",
        "projection.product.type": "enum",
        "projection.product.values": ",".join(products),
        "projection.endpoint.type": "enum",
        "projection.endpoint.values": ",".join(names),
        "projection.day.type": "date",
        "projection.day.format": "yyyy/MM/dd",
        # Relative to today: the range follows the bucket's retention without updates.
        "projection.day.range": f"NOW-{retention_days}DAYS,NOW",
        "projection.day.interval": "1",
        "projection.day.interval.unit": "DAYS",
        "storage.location.template": (
            f"s3://{bucket}/{ALB_PREFIX}${{product}}/${{endpoint}}/AWSLogs/{account_id}"
            f"/elasticloadbalancing/{region}/${{day}}"
        ),
    }


# --- saved queries ---------------------------------------------------------------------------


def _since(hours: int) -> str:
    """Prune by the day partitions first (cost), then filter exactly on the entry's time."""
    return (
        f"day >= date_format(current_timestamp - interval '{hours}' hour, '%Y/%m/%d')\n"
        f"  AND from_iso8601_timestamp(\"time\") > current_timestamp - interval '{hours}' hour"
    )


#: WAF rejected the request: ``waf`` is the last action ELB took (ELB User Guide, "Access log
#: entries", Actions taken: "If this is the final action, AWS WAF determined that the request
#: should be rejected"). ``waf,forward`` is a request WAF let through.
WAF_BLOCKED = "element_at(split(actions_executed, ','), -1) = 'waf'"


def alb_saved_queries(database: str) -> list[SavedQuery]:
    """The questions an SRE asks of ALB access logs, as Athena saved queries."""
    table = f'"{database}"."{ALB_TABLE}"'
    return [
        SavedQuery(
            "alb-waf-blocked",
            "ALB: requests WAF blocked, last 24 h",
            "Every request AWS WAF rejected at the load balancers, newest first: who, which "
            "endpoint, what they asked for (join to the WAF logs on time and client IP).",
            f"""-- Requests AWS WAF rejected over the last 24 hours, newest first. ELB lists "waf" in
-- actions_executed when it asked WAF; "waf" as the last action means WAF rejected the
-- request (403, no target). "waf-failed": the load balancer could not ask WAF.
SELECT "time" AS time_utc,
       product,
       endpoint,
       client_ip,
       request_verb,
       request_url,
       user_agent,
       elb_status_code,
       domain_name,
       actions_executed,
       trace_id
FROM {table}
WHERE {_since(24)}
  AND {WAF_BLOCKED}
ORDER BY "time" DESC
LIMIT 500
""",  # noqa: S608 - constants only: no request or user input reaches the text
        ),
        SavedQuery(
            "alb-top-error-clients",
            "ALB: top clients by 4xx/5xx, last 24 h",
            "Which clients get the most error responses: scanners and broken clients (4xx), "
            "or clients hit by an outage (5xx).",
            f"""-- Top 50 client IPs by error responses (4xx and 5xx from the load balancer) over the
-- last 24 hours, with how many of them WAF blocked and which endpoints they hit.
SELECT client_ip,
       count(*) AS error_responses,
       count_if(elb_status_code BETWEEN 400 AND 499) AS client_errors_4xx,
       count_if(elb_status_code >= 500) AS server_errors_5xx,
       count_if({WAF_BLOCKED}) AS blocked_by_waf,
       approx_distinct(request_url) AS distinct_urls,
       array_join(slice(array_agg(DISTINCT product || '/' || endpoint), 1, 5), ', ') AS endpoints
FROM {table}
WHERE {_since(24)}
  AND elb_status_code >= 400
GROUP BY client_ip
ORDER BY error_responses DESC
LIMIT 50
""",  # noqa: S608 - constants only: no request or user input reaches the text
        ),
        SavedQuery(
            "alb-slowest-targets",
            "ALB: slowest targets, last 24 h",
            "Which targets answer slowest (p99 of target_processing_time), with their 5xx: "
            "the first look when an endpoint is slow.",
            f"""-- Targets by 99th percentile of target_processing_time over the last 24 hours (seconds
-- from the load balancer sending the request to the target starting its response).
-- target_processing_time is -1 when the request never reached a target: left out.
SELECT product,
       endpoint,
       target_group_arn,
       target_ip,
       target_port,
       count(*) AS requests,
       round(approx_percentile(target_processing_time, 0.5), 3) AS p50_seconds,
       round(approx_percentile(target_processing_time, 0.99), 3) AS p99_seconds,
       round(max(target_processing_time), 3) AS max_seconds,
       count_if(target_status_code LIKE '5%') AS target_5xx
FROM {table}
WHERE {_since(24)}
  AND target_processing_time >= 0
GROUP BY product, endpoint, target_group_arn, target_ip, target_port
ORDER BY p99_seconds DESC
LIMIT 50
""",  # noqa: S608 - constants only: no request or user input reaches the text
        ),
    ]
