"""The Athena side of WAF logs, as plain data: the Glue table's columns, partitions and
properties for each delivery, and the saved queries an SRE runs first.

Partition projection (Athena computes the partitions from the table's properties, nothing is
registered, no crawler or ``MSCK REPAIR``) maps each delivery's key layout
(:mod:`guard.logs_layout`) onto the same columns, so the saved queries, which prune on ``day``,
read either:

* ``firehose``: ``s3://<bucket>/waf/region=${region}/${day}/``, ``region`` the web ACL's region
  (us-east-1 for CloudFront).
* ``s3``: ``s3://<bucket>/AWSLogs/<account>/WAFLogs/${region}/${web_acl}/${day}/``, ``region``
  the web ACL's region or ``cloudfront``, ``web_acl`` the web ACL's name (AWS WAF Developer
  Guide, logging-s3.html). Objects lie in ``HH/mm/`` folders under the day; Athena reads a
  partition's folder with everything below it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from guard.config.logs import LogsConfig
from guard.logs_layout import LOG_PREFIX, Delivery, waf_logs_prefix

TABLE = "waf_logs"
#: The saved queries use lambda functions (filter, transform) of Athena's Trino engine.
ATHENA_ENGINE = "Athena engine version 3"


def database_name(stack: str) -> str:
    """Glue names allow lowercase letters, digits and underscores only."""
    return f"guard_{stack.lower().replace('-', '_')}_waf_logs"


def workgroup_name(stack: str, logs: LogsConfig) -> str:
    return logs.athena.workgroup or f"guard-{stack}-waf-logs"


# --- the Glue table ------------------------------------------------------------------------------

_MATCH = (
    "array<struct<conditiontype:string,sensitivitylevel:string,location:string,"
    "matcheddata:array<string>>>"
)
_RULE = f"struct<ruleid:string,action:string,overriddenaction:string,rulematchdetails:{_MATCH}>"
_RESPONSE = "struct<responsecode:string,solvetimestamp:string,failurereason:string>"
_HEADERS = "array<struct<name:string,value:string>>"

#: The WAF log record (AWS WAF Developer Guide, "Log fields"), in the Hive types the OpenX JSON
#: SerDe maps camelCase keys onto (it lowercases them). Fields left out are ignored on read.
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("timestamp", "bigint", "when WAF received the request, epoch milliseconds UTC"),
    ("formatversion", "int", "log format version"),
    ("webaclid", "string", "the web ACL's ARN; its name is split_part(webaclid, '/', 3)"),
    ("terminatingruleid", "string", "the rule that decided; Default_Action when none matched"),
    ("terminatingruletype", "string", "REGULAR, RATE_BASED, GROUP or MANAGED_RULE_GROUP"),
    ("action", "string", "ALLOW, BLOCK, CAPTCHA or CHALLENGE"),
    ("terminatingrulematchdetails", _MATCH, "what matched (SQLi and XSS statements)"),
    ("httpsourcename", "string", "ALB, CF, APIGW, APPSYNC, ..."),
    ("httpsourceid", "string", "the protected resource"),
    (
        "rulegrouplist",
        f"array<struct<rulegroupid:string,terminatingrule:{_RULE},"
        f"nonterminatingmatchingrules:array<{_RULE}>,excludedrules:string>>",
        "per rule group: the rule inside it that blocked, and the rules that counted",
    ),
    (
        "ratebasedrulelist",
        "array<struct<ratebasedruleid:string,ratebasedrulename:string,limitkey:string,"
        "maxrateallowed:int>>",
        "rate-based rules that were over their limit",
    ),
    (
        "nonterminatingmatchingrules",
        f"array<struct<ruleid:string,action:string,rulematchdetails:{_MATCH},"
        f"captcharesponse:{_RESPONSE},challengeresponse:{_RESPONSE}>>",
        "web ACL rules that matched without deciding (count mode)",
    ),
    ("requestheadersinserted", _HEADERS, "headers a rule inserted"),
    ("responsecodesent", "string", "custom response code, if a rule sent one"),
    (
        "httprequest",
        "struct<clientip:string,country:string,headers:array<struct<name:string,value:string>>,"
        "uri:string,args:string,httpversion:string,httpmethod:string,requestid:string,"
        "fragment:string,scheme:string,host:string>",
        "the request; redacted headers read REDACTED",
    ),
    ("labels", "array<struct<name:string>>", "labels rules added"),
    ("captcharesponse", _RESPONSE, "CAPTCHA outcome"),
    ("challengeresponse", _RESPONSE, "challenge outcome"),
    ("ja3fingerprint", "string", "TLS client fingerprint (JA3), CloudFront and ALB"),
    ("ja4fingerprint", "string", "TLS client fingerprint (JA4), CloudFront and ALB"),
)
PARTITION_KEYS = (
    ("region", "string", "the web ACL's region (us-east-1 for CloudFront)"),
    ("day", "string", "UTC day the record reached Firehose, yyyy/MM/dd"),
)
#: With S3 delivery: the key's region segment, the web ACL's name, the day of the file's folder.
S3_PARTITION_KEYS = (
    ("region", "string", "the web ACL's region, or cloudfront for a CloudFront web ACL"),
    ("web_acl", "string", "the web ACL's name"),
    ("day", "string", "UTC day WAF delivered the file, yyyy/MM/dd"),
)


def partition_keys(delivery: Delivery) -> tuple[tuple[str, str, str], ...]:
    return S3_PARTITION_KEYS if delivery == "s3" else PARTITION_KEYS


def table_location(bucket: str, delivery: Delivery, account_id: str) -> str:
    """The table's root: every partition's location is below it."""
    prefix = waf_logs_prefix(account_id) if delivery == "s3" else LOG_PREFIX
    return f"s3://{bucket}/{prefix}"


def table_parameters(bucket: str, regions: Sequence[str], retention_days: int) -> dict[str, str]:
    """Partition projection: Athena computes partitions from these, nothing is registered."""
    return {
        "EXTERNAL": "TRUE",
        "classification": "json",
        "compressionType": "gzip",
        "projection.enabled": "true",
        "projection.region.type": "enum",
        "projection.region.values": ",".join(regions),
        "projection.day.type": "date",
        "projection.day.format": "yyyy/MM/dd",
        # Relative to today: the range follows the bucket's retention without updates.
        "projection.day.range": f"NOW-{retention_days}DAYS,NOW",
        "projection.day.interval": "1",
        "projection.day.interval.unit": "DAYS",
        "storage.location.template": f"s3://{bucket}/{LOG_PREFIX}region=${{region}}/${{day}}/",
    }


def s3_table_parameters(
    *,
    bucket: str,
    account_id: str,
    regions: Sequence[str],
    web_acls: Sequence[str],
    retention_days: int,
) -> dict[str, str]:
    """Partition projection over the keys WAF writes when it logs straight to S3.

    ``regions`` are key region segments (the stack's region, ``cloudfront``); ``web_acls`` the
    names of the stack's web ACLs. Athena projects every combination: one that has no objects
    costs a LIST request and reads nothing. A web ACL no longer in the stack is no longer
    projected (its logs stay in the bucket until they expire; add it back to query them).
    """
    if not regions or not web_acls:
        raise ValueError("partition projection needs at least one region and one web ACL")
    location = f"s3://{bucket}/{waf_logs_prefix(account_id)}${{region}}/${{web_acl}}/${{day}}/"
    return {
        "EXTERNAL": "TRUE",
        "classification": "json",
        "compressionType": "gzip",
        "projection.enabled": "true",
        "projection.region.type": "enum",
        "projection.region.values": ",".join(regions),
        "projection.web_acl.type": "enum",
        "projection.web_acl.values": ",".join(web_acls),
        "projection.day.type": "date",
        "projection.day.format": "yyyy/MM/dd",
        "projection.day.range": f"NOW-{retention_days}DAYS,NOW",
        "projection.day.interval": "1",
        "projection.day.interval.unit": "DAYS",
        "storage.location.template": location,
    }


# --- saved queries ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SavedQuery:
    key: str
    name: str
    description: str
    sql: str


def _since(hours: int) -> str:
    """Prune by the day partitions first (cost), then filter exactly on the record's time."""
    return (
        f"day >= date_format(current_timestamp - interval '{hours}' hour, '%Y/%m/%d')\n"
        f"  AND from_unixtime(\"timestamp\" / 1000) > current_timestamp - interval '{hours}' hour"
    )


#: The rule inside a managed (or other) rule group that decided, when a group decided.
_GROUP_RULE = (
    "coalesce(element_at(filter(rulegrouplist, g -> g.terminatingrule IS NOT NULL), 1)"
    ".terminatingrule.ruleid, '')"
)
_NO_RULES = "CAST(ARRAY[] AS array(varchar))"


def saved_queries(database: str) -> list[SavedQuery]:
    """The questions an SRE asks of WAF logs, as Athena saved queries (edit the quoted values)."""
    table = f'"{database}"."{TABLE}"'
    return [
        SavedQuery(
            "top-blocked-ips",
            "WAF: top blocked client IPs, last 24 h",
            "Who is being blocked, from where, by which rules: the first look in an attack.",
            f"""-- Top 50 client IPs by blocked requests over the last 24 hours.
SELECT httprequest.clientip AS client_ip,
       httprequest.country AS country,
       count(*) AS blocked_requests,
       approx_distinct(httprequest.uri) AS distinct_paths,
       array_join(slice(array_agg(DISTINCT terminatingruleid), 1, 5), ', ') AS blocking_rules,
       array_join(slice(array_agg(DISTINCT split_part(webaclid, '/', 3)), 1, 5), ', ') AS web_acls
FROM {table}
WHERE {_since(24)}
  AND action = 'BLOCK'
GROUP BY httprequest.clientip, httprequest.country
ORDER BY blocked_requests DESC
LIMIT 50
""",  # noqa: S608 - constants only: no request or user input reaches the text
        ),
        SavedQuery(
            "top-terminating-rules",
            "WAF: top terminating rules, last 24 h",
            "Which rules decide most requests (and which rule inside a managed group).",
            f"""-- Rules that ended evaluation (block, CAPTCHA, challenge, explicit allow) over the
-- last 24 hours, with the rule inside a managed rule group when a group decided.
SELECT split_part(webaclid, '/', 3) AS web_acl,
       terminatingruleid AS rule,
       {_GROUP_RULE} AS rule_in_group,
       action,
       count(*) AS requests,
       approx_distinct(httprequest.clientip) AS client_ips
FROM {table}
WHERE {_since(24)}
  AND terminatingruleid <> 'Default_Action'
GROUP BY 1, 2, 3, 4
ORDER BY requests DESC
LIMIT 50
""",  # noqa: S608 - constants only: no request or user input reaches the text
        ),
        SavedQuery(
            "counted-by-rule",
            "WAF: requests counted by rules in count mode, last 7 days",
            "What each counting rule would block: the evidence for moving it from count to "
            "block (few distinct paths and clients, none of them legitimate).",
            f"""-- Every rule that counted requests over the last 7 days: web ACL rules in count mode
-- and rules inside managed groups overridden to count ("group / rule"). Before switching
-- a rule to block, check its sample paths and client count for legitimate traffic.
WITH counted AS (
  SELECT split_part(webaclid, '/', 3) AS web_acl,
         httprequest.clientip AS client_ip,
         httprequest.uri AS uri,
         concat(
           coalesce(transform(filter(nonterminatingmatchingrules, r -> r.action = 'COUNT'),
                              r -> r.ruleid), {_NO_RULES}),
           coalesce(flatten(transform(rulegrouplist, g -> coalesce(
             transform(filter(g.nonterminatingmatchingrules, r -> r.action = 'COUNT'),
                       r -> g.rulegroupid || ' / ' || r.ruleid), {_NO_RULES}))), {_NO_RULES})
         ) AS rules
  FROM {table}
  WHERE {_since(7 * 24)}
)
SELECT web_acl,
       rule,
       count(*) AS counted_requests,
       approx_distinct(client_ip) AS client_ips,
       approx_distinct(uri) AS distinct_paths,
       array_join(slice(array_agg(DISTINCT uri), 1, 10), ' ') AS sample_paths
FROM counted
CROSS JOIN UNNEST(rules) AS t(rule)
GROUP BY web_acl, rule
ORDER BY counted_requests DESC
""",  # noqa: S608 - constants only: no request or user input reaches the text
        ),
        SavedQuery(
            "blocked-on-path",
            "WAF: blocked requests on a path, last 24 h",
            "False positives: what blocked real users on one path (e.g. /search), and what "
            "matched. Edit the path.",
            f"""-- Blocked requests on one path over the last 24 hours: the rule (and the rule inside
-- a managed group), the matched data and the labels, which is what an exclusion needs.
-- Change '/search' to the path users report.
SELECT to_iso8601(from_unixtime("timestamp" / 1000)) AS time_utc,
       split_part(webaclid, '/', 3) AS web_acl,
       terminatingruleid AS rule,
       {_GROUP_RULE} AS rule_in_group,
       httprequest.httpmethod AS method,
       httprequest.uri AS uri,
       httprequest.args AS query_string,
       httprequest.clientip AS client_ip,
       httprequest.country AS country,
       transform(terminatingrulematchdetails,
                 d -> d.conditiontype || ' in ' || d.location || ': '
                      || array_join(d.matcheddata, ' ')) AS matched,
       array_join(transform(labels, l -> l.name), ' ') AS labels
FROM {table}
WHERE {_since(24)}
  AND action = 'BLOCK'
  AND httprequest.uri LIKE '/search%'
ORDER BY "timestamp" DESC
LIMIT 200
""",  # noqa: S608 - constants only: no request or user input reaches the text
        ),
        SavedQuery(
            "requests-from-ip",
            "WAF: everything one client IP did, last 24 h",
            "An IP's requests, allowed and blocked, in order (with filter: all). Edit the IP.",
            f"""-- Every logged request from one client IP over the last 24 hours, oldest first.
-- Change '203.0.113.7' to the IP under investigation.
SELECT to_iso8601(from_unixtime("timestamp" / 1000)) AS time_utc,
       split_part(webaclid, '/', 3) AS web_acl,
       action,
       terminatingruleid AS rule,
       httprequest.httpmethod AS method,
       httprequest.uri AS uri,
       httprequest.args AS query_string,
       array_join(transform(labels, l -> l.name), ' ') AS labels
FROM {table}
WHERE {_since(24)}
  AND httprequest.clientip = '203.0.113.7'
ORDER BY "timestamp"
LIMIT 1000
""",  # noqa: S608 - constants only: no request or user input reaches the text
        ),
    ]
