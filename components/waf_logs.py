"""WAF logs: Firehose to an encrypted S3 bucket, Athena over it, and a sample digest in Slack.

Data path: each web ACL logs to the Firehose stream of its own region (WAF requires that: the
CloudFront scope lives in us-east-1), and every stream writes GZIP'd JSON lines into the one log
bucket in the stack's region under ``waf/region=<region>/<yyyy>/<MM>/<dd>/<HH>/``. A Glue table
with partition projection (region, day) makes the prefix queryable in Athena without crawlers or
``MSCK REPAIR``; saved queries answer what an SRE asks first. The bucket can also notify a SIEM's
loader queue (SIEM on Amazon OpenSearch Service reads S3 event notifications from SQS).

Everything IAM or the policies judge (bucket, key and role policies) is built from plain data
(names, account, regions), so ``pulumi preview`` and ``guard plan`` can decide them up front.
The bucket and its key are protected: losing either loses the logs, and logs cannot be redone.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
from pulumi_aws.s3 import BucketLifecycleConfigurationRuleArgsDict
from pulumi_aws.wafv2 import (
    WebAclLoggingConfigurationLoggingFilterArgsDict,
    WebAclLoggingConfigurationRedactedFieldArgsDict,
)

from components.iam import PermissionsBoundary, bounded_role, service_trust_policy
from components.product import ProductProtection
from components.providers import GLOBAL_REGION, Providers, opts
from components.routes import AlertRoutes
from components.tags import guard_tags
from guard.config.errors import StackNameError
from guard.config.logs import LogsConfig
from guard.config.stack import StackConfig
from guard.waf_rules import Scope

#: WAF delivers only to a Firehose stream (or log group, or bucket) whose name starts so.
STREAM_PREFIX = "aws-waf-logs-"
#: Firehose stream names: 1 to 64 characters.
MAX_STREAM_NAME = 64
#: Key prefixes inside the log bucket: logs, Firehose's failed records, Athena's results.
LOG_PREFIX = "waf/"
ERROR_PREFIX = "errors/"
RESULTS_PREFIX = "athena-results/"
#: Five minutes keeps logs close to real time during an incident; 64 MB (before compression)
#: makes few, large objects, which is what S3 PUT pricing and Athena scans both prefer.
BUFFER_SECONDS = 300
BUFFER_MB = 64
#: Versioning keeps a deleted or overwritten log for this long, then S3 removes it for good.
NONCURRENT_DAYS = 30
#: Athena results are copies of what the logs already hold: a month is enough to re-read them.
RESULTS_DAYS = 30
ABORT_MULTIPART_DAYS = 7
#: Firehose's own delivery errors (permissions, throttling): read when logs stop arriving.
FIREHOSE_LOG_DAYS = 30
#: Firehose's freshness metric is the age of the oldest record not yet in S3; normally below
#: the buffer interval, so 15 minutes for 15 minutes means delivery is stuck.
FRESHNESS_ALARM_SECONDS = 900
TABLE = "waf_logs"
#: The WAF actions kept by ``filter: blocked-and-counted``. COUNT covers rules in count mode and
#: EXCLUDED_AS_COUNT rules of managed groups overridden to count: the count-to-block evidence.
KEPT_ACTIONS = ("BLOCK", "COUNT", "CAPTCHA", "CHALLENGE", "EXCLUDED_AS_COUNT")
#: The saved queries use lambda functions (filter, transform) of Athena's Trino engine.
ATHENA_ENGINE = "Athena engine version 3"


# --- names -----------------------------------------------------------------------------------


def stream_name(stack: str, region: str) -> str:
    """``aws-waf-logs-guard-<stack>-<region>``: one stream per region that has web ACLs."""
    name = f"{STREAM_PREFIX}guard-{stack}-{region}"
    if len(name) > MAX_STREAM_NAME:
        raise StackNameError(
            f"Firehose stream name {name} is longer than {MAX_STREAM_NAME} characters: "
            "use a shorter stack name"
        )
    return name


def firehose_role_name(stack: str) -> str:
    return f"guard-{stack}-waf-logs-firehose"


def firehose_log_group(stack: str) -> str:
    """Firehose's delivery errors, one group of this name in each region with a stream."""
    return f"guard-{stack}-waf-logs-delivery"


def database_name(stack: str) -> str:
    """Glue names allow lowercase letters, digits and underscores only."""
    return f"guard_{stack.lower().replace('-', '_')}_waf_logs"


def workgroup_name(stack: str, logs: LogsConfig) -> str:
    return logs.athena.workgroup or f"guard-{stack}-waf-logs"


@dataclass(frozen=True)
class LoggedWebAcl:
    """A web ACL of the stack, as the logging resources need it."""

    name: str
    scope: Scope
    region: str
    web_acl: aws.wafv2.WebAcl


def logged_web_acls(
    products: Sequence[ProductProtection], stack: str, stack_region: str
) -> list[LoggedWebAcl]:
    """Every web ACL of the stack; a CloudFront one lives (and logs) in us-east-1."""
    found = []
    for entry in products:
        for spec in entry.waf.specs:
            found.append(
                LoggedWebAcl(
                    name=spec.name,
                    scope=spec.scope,
                    region=GLOBAL_REGION if spec.scope == "CLOUDFRONT" else stack_region,
                    web_acl=entry.waf.web_acls[spec.name],
                )
            )
    return found


def web_acl_arn_pattern(acl: LoggedWebAcl, account_id: str) -> str:
    """The web ACL's ARN with its ID as a wildcard: known before the web ACL exists."""
    kind = "global" if acl.scope == "CLOUDFRONT" else "regional"
    return f"arn:aws:wafv2:{acl.region}:{account_id}:{kind}/webacl/{acl.name}/*"


# --- policy documents (plain data) -----------------------------------------------------------


def _bucket_arn(bucket: str) -> str:
    return f"arn:aws:s3:::{bucket}"


def _statement(sid: str, actions: Sequence[str], resources: Sequence[str]) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": list(actions), "Resource": list(resources)}


def firehose_trust_policy(account_id: str) -> dict[str, Any]:
    """Firehose of this account only: it passes the account as the external ID."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "firehose.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": account_id}},
            }
        ],
    }


def firehose_role_policy(
    *, stack: str, bucket: str, stack_region: str, account_id: str, regions: Sequence[str]
) -> dict[str, Any]:
    """What the delivery role may do: write its two prefixes, encrypt through S3, log errors.

    The S3 actions are the set the Firehose developer guide lists for an S3 destination, on this
    bucket's log and error prefixes only. KMS is reachable only as S3 encrypts objects of this
    bucket (the bucket's default key; with an S3 Bucket Key the context is the bucket's ARN).
    """
    arn = _bucket_arn(bucket)
    return {
        "Version": "2012-10-17",
        "Statement": [
            _statement(
                "FindTheBucket",
                ["s3:GetBucketLocation", "s3:ListBucket", "s3:ListBucketMultipartUploads"],
                [arn],
            ),
            _statement(
                "WriteLogsAndErrors",
                ["s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject"],
                [f"{arn}/{LOG_PREFIX}*", f"{arn}/{ERROR_PREFIX}*"],
            ),
            {
                **_statement(
                    "EncryptThroughS3",
                    ["kms:GenerateDataKey", "kms:Decrypt"],
                    [f"arn:aws:kms:{stack_region}:{account_id}:key/*"],
                ),
                "Condition": {
                    "StringEquals": {"kms:ViaService": f"s3.{stack_region}.amazonaws.com"},
                    "StringLike": {"kms:EncryptionContext:aws:s3:arn": [arn, f"{arn}/*"]},
                },
            },
            _statement(
                "ReportDeliveryErrors",
                ["logs:PutLogEvents"],
                [
                    f"arn:aws:logs:{region}:{account_id}:log-group:"
                    f"{firehose_log_group(stack)}:log-stream:*"
                    for region in regions
                ],
            ),
        ],
    }


def bucket_policy(
    *, bucket: str, delivery_role_arn: str, reader_role_arn: str | None
) -> dict[str, Any]:
    """The log bucket's policy: only the delivery role writes logs, nothing without TLS.

    Everyone else in the account reads through their own IAM permissions (Athena users); the
    one principal named outside the account is the SIEM's loader, if configured.
    """
    arn = _bucket_arn(bucket)
    log_objects = [f"{arn}/{LOG_PREFIX}*", f"{arn}/{ERROR_PREFIX}*"]
    statements: list[dict[str, Any]] = [
        {
            "Sid": "DeliveryRoleWrites",
            "Effect": "Allow",
            "Principal": {"AWS": delivery_role_arn},
            "Action": ["s3:PutObject", "s3:AbortMultipartUpload"],
            "Resource": log_objects,
        },
        {
            # Logs are evidence: no one but the delivery role adds or replaces them.
            "Sid": "OnlyDeliveryWritesLogs",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": log_objects,
            "Condition": {"ArnNotEquals": {"aws:PrincipalArn": delivery_role_arn}},
        },
        {
            "Sid": "TlsOnly",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [arn, f"{arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        },
    ]
    if reader_role_arn is not None:
        statements.insert(
            1,
            {
                "Sid": "SiemLoaderReads",
                "Effect": "Allow",
                "Principal": {"AWS": reader_role_arn},
                "Action": "s3:GetObject",
                "Resource": f"{arn}/{LOG_PREFIX}*",
            },
        )
    return {"Version": "2012-10-17", "Statement": statements}


def key_policy(*, account_id: str, region: str, reader_role_arn: str | None) -> dict[str, Any]:
    """The log key: the account administers it through IAM; a SIEM loader may decrypt via S3."""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "AccountAdministers",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]
    if reader_role_arn is not None:
        statements.append(
            {
                "Sid": "SiemLoaderDecryptsThroughS3",
                "Effect": "Allow",
                "Principal": {"AWS": reader_role_arn},
                "Action": "kms:Decrypt",
                "Resource": "*",
                "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}},
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


# --- WAF logging configuration ---------------------------------------------------------------


def redacted_fields(
    headers: Sequence[str],
) -> list[WebAclLoggingConfigurationRedactedFieldArgsDict]:
    """WAF replaces these headers' values with REDACTED before the log leaves WAF."""
    return [{"single_header": {"name": header}} for header in headers]


def logging_filter(mode: str) -> WebAclLoggingConfigurationLoggingFilterArgsDict | None:
    """``blocked-and-counted``: keep a record if any rule blocked, counted or challenged it."""
    if mode == "all":
        return None
    return {
        "default_behavior": "DROP",
        "filters": [
            {
                "behavior": "KEEP",
                "requirement": "MEETS_ANY",
                "conditions": [{"action_condition": {"action": a}} for a in KEPT_ACTIONS],
            }
        ],
    }


# --- Glue table ------------------------------------------------------------------------------

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


# --- the component ---------------------------------------------------------------------------


class WafLogs(pulumi.ComponentResource):
    """WAF logging for every web ACL of the stack, and what reads the logs.

    Children: the log bucket (protected) with its public access block, encryption, versioning,
    lifecycle and policy; its KMS key (protected); the Firehose delivery role; per region with
    web ACLs a delivery stream, its error log and a freshness alarm; a logging configuration per
    web ACL; the Glue database and table; the Athena workgroup and saved queries; optionally the
    SIEM notification and the :class:`WafSampleDigest`.
    """

    bucket_name: str
    stream_arns: dict[str, pulumi.Output[str]]

    def __init__(
        self,
        config: StackConfig,
        *,
        stack: str,
        providers: Providers,
        routes: AlertRoutes | None,
        products: Sequence[ProductProtection],
        boundary: PermissionsBoundary,
        opts_: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("guard:logs:WafLogs", "waf-logs", None, opts_)
        logs = config.logs
        if logs is None:
            raise ValueError("WafLogs needs guard:logs")
        account, region = config.account_id, config.region
        tags = guard_tags(stack)
        regional = providers.regional
        acls = logged_web_acls(products, stack, region)
        regions = sorted({acl.region for acl in acls})
        reader = logs.opensearch.reader_role_arn if logs.opensearch is not None else None
        self.bucket_name = logs.bucket
        role_name = firehose_role_name(stack)
        role_arn = f"arn:aws:iam::{account}:role/{role_name}"

        key = aws.kms.Key(
            "key",
            description=f"guard {stack}: encrypts the WAF logs and Athena results",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=json.dumps(
                key_policy(account_id=account, region=region, reader_role_arn=reader)
            ),
            tags=tags,
            opts=opts(self, regional, protect=True),
        )
        aws.kms.Alias(
            "key",
            name=f"alias/guard-{stack}-waf-logs",
            target_key_id=key.key_id,
            opts=opts(self, regional),
        )
        bucket = aws.s3.Bucket(
            "bucket",
            bucket=logs.bucket,
            tags=tags,
            opts=opts(self, regional, protect=True),
        )
        aws.s3.BucketPublicAccessBlock(
            "bucket",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=opts(self, regional),
        )
        encryption = aws.s3.BucketServerSideEncryptionConfiguration(
            "bucket",
            bucket=bucket.id,
            rules=[
                {
                    "apply_server_side_encryption_by_default": {
                        "sse_algorithm": "aws:kms",
                        "kms_master_key_id": key.arn,
                    },
                    # One data key per bucket instead of per object: far fewer KMS requests.
                    "bucket_key_enabled": True,
                }
            ],
            opts=opts(self, regional),
        )
        aws.s3.BucketVersioning(
            "bucket",
            bucket=bucket.id,
            versioning_configuration={"status": "Enabled"},
            opts=opts(self, regional),
        )
        aws.s3.BucketLifecycleConfiguration(
            "bucket",
            bucket=bucket.id,
            rules=self._lifecycle_rules(logs),
            opts=opts(self, regional),
        )
        role = bounded_role(
            "firehose-role",
            name=role_name,
            description="Firehose: delivers guard's WAF logs to the log bucket",
            trust=firehose_trust_policy(account),
            boundary=boundary,
            tags=tags,
            opts_=opts(self, regional),
        )
        role_policy = aws.iam.RolePolicy(
            "firehose-role",
            role=role.name,
            policy=json.dumps(
                firehose_role_policy(
                    stack=stack,
                    bucket=logs.bucket,
                    stack_region=region,
                    account_id=account,
                    regions=regions,
                )
            ),
            opts=opts(self, regional),
        )
        # S3 refuses a policy naming a role that does not exist yet.
        bucket_policy_resource = aws.s3.BucketPolicy(
            "bucket",
            bucket=bucket.id,
            policy=json.dumps(
                bucket_policy(
                    bucket=logs.bucket, delivery_role_arn=role_arn, reader_role_arn=reader
                )
            ),
            opts=opts(self, regional, depends_on=[role]),
        )
        if logs.opensearch is not None:
            # The SIEM's loader learns of each new log object from its queue.
            aws.s3.BucketNotification(
                "bucket",
                bucket=bucket.id,
                queues=[
                    {
                        "queue_arn": logs.opensearch.queue_arn,
                        "events": ["s3:ObjectCreated:*"],
                        "filter_prefix": LOG_PREFIX,
                    }
                ],
                opts=opts(self, regional),
            )

        self.stream_arns = {}
        streams: dict[str, aws.kinesis.FirehoseDeliveryStream] = {}
        for log_region in regions:
            streams[log_region] = self._stream(
                stack=stack,
                region=log_region,
                providers=providers,
                bucket=bucket,
                bucket_name=logs.bucket,
                role_arn=role.arn,
                routes=routes,
                tags=tags,
                # Delivery fails until the role may write and the bucket lets it; the first
                # objects are encrypted with the log key only once the default is set.
                depends_on=[role_policy, bucket_policy_resource, encryption],
            )
            self.stream_arns[log_region] = streams[log_region].arn

        for acl in acls:
            # In the web ACL's region: WAF logs only to a stream of its own region.
            aws.wafv2.WebAclLoggingConfiguration(
                acl.name,
                resource_arn=acl.web_acl.arn,
                log_destination_configs=[streams[acl.region].arn],
                redacted_fields=redacted_fields(logs.redact_fields),
                logging_filter=logging_filter(logs.filter),
                opts=opts(self, providers.for_region(acl.region)),
            )

        database = aws.glue.CatalogDatabase(
            "database",
            name=database_name(stack),
            description=f"guard {stack}: WAF logs in s3://{logs.bucket}/{LOG_PREFIX}",
            opts=opts(self, regional),
        )
        aws.glue.CatalogTable(
            "table",
            name=TABLE,
            database_name=database.name,
            description="WAF log records, one JSON object per line, GZIP; partitions projected",
            table_type="EXTERNAL_TABLE",
            # Both possible regions, streams or not: logs of a region whose last web ACL went
            # away stay queryable until they expire, and an empty prefix costs nothing.
            parameters=table_parameters(
                logs.bucket, sorted({region, GLOBAL_REGION}), logs.retention_days
            ),
            partition_keys=[{"name": n, "type": t, "comment": c} for n, t, c in PARTITION_KEYS],
            storage_descriptor={
                "location": f"s3://{logs.bucket}/{LOG_PREFIX}",
                "input_format": "org.apache.hadoop.mapred.TextInputFormat",
                "output_format": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
                "ser_de_info": {
                    "serialization_library": "org.openx.data.jsonserde.JsonSerDe",
                    # A truncated line reads as NULLs instead of failing the whole query.
                    "parameters": {"ignore.malformed.json": "true"},
                },
                "columns": [{"name": n, "type": t, "comment": c} for n, t, c in COLUMNS],
            },
            opts=opts(self, regional),
        )
        workgroup = aws.athena.Workgroup(
            "workgroup",
            name=workgroup_name(stack, logs),
            description=f"guard {stack}: WAF log queries; results encrypted, scans capped",
            configuration={
                # Users cannot point results elsewhere or unencrypted, nor lift the scan cap.
                "enforce_workgroup_configuration": True,
                "publish_cloudwatch_metrics_enabled": True,
                "bytes_scanned_cutoff_per_query": logs.athena.scan_limit_gb * 1024**3,
                "engine_version": {"selected_engine_version": ATHENA_ENGINE},
                "result_configuration": {
                    "output_location": f"s3://{logs.bucket}/{RESULTS_PREFIX}",
                    "encryption_configuration": {
                        "encryption_option": "SSE_KMS",
                        "kms_key_arn": key.arn,
                    },
                },
            },
            tags=tags,
            opts=opts(self, regional),
        )
        for query in saved_queries(database_name(stack)):
            aws.athena.NamedQuery(
                f"query-{query.key}",
                name=query.name,
                description=query.description,
                database=database.name,
                workgroup=workgroup.name,
                query=query.sql,
                opts=opts(self, regional),
            )

        self.digest: WafSampleDigest | None = None
        if logs.samples_to_slack:
            if routes is None:
                # Config validation refuses this; kept so a wiring mistake fails loudly.
                raise ValueError("samples_to_slack needs guard:alerts (the normal route)")
            self.digest = WafSampleDigest(
                config,
                stack=stack,
                providers=providers,
                topic_arn=routes.topic_arn("normal", region),
                web_acls=acls,
                workgroup=workgroup_name(stack, logs),
                boundary=boundary,
                opts_=pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs(
            {
                "bucket": logs.bucket,
                "stream_arns": self.stream_arns,
                "database": database.name,
                "workgroup": workgroup.name,
            }
        )

    @staticmethod
    def _lifecycle_rules(logs: LogsConfig) -> list[BucketLifecycleConfigurationRuleArgsDict]:
        """Logs and delivery errors expire after retention_days; Athena results after a month."""

        def rule(rule_id: str, prefix: str, days: int) -> BucketLifecycleConfigurationRuleArgsDict:
            return {
                "id": rule_id,
                "status": "Enabled",
                "filter": {"prefix": prefix},
                "expiration": {"days": days},
                # Versioning makes a deletion recoverable for a while, not forever.
                "noncurrent_version_expiration": {"noncurrent_days": NONCURRENT_DAYS},
                "abort_incomplete_multipart_upload": {
                    "days_after_initiation": ABORT_MULTIPART_DAYS
                },
            }

        logs_rule = rule("waf-logs", LOG_PREFIX, logs.retention_days)
        if logs.archive_after_days is not None:
            # Glacier Instant Retrieval: a fraction of the storage price, still readable by
            # Athena at once; objects under 128 KB stay in Standard (S3's default).
            logs_rule["transitions"] = [
                {"days": logs.archive_after_days, "storage_class": "GLACIER_IR"}
            ]
        return [
            logs_rule,
            rule("delivery-errors", ERROR_PREFIX, logs.retention_days),
            rule("athena-results", RESULTS_PREFIX, RESULTS_DAYS),
        ]

    def _stream(
        self,
        *,
        stack: str,
        region: str,
        providers: Providers,
        bucket: aws.s3.Bucket,
        bucket_name: str,
        role_arn: pulumi.Input[str],
        routes: AlertRoutes | None,
        tags: Mapping[str, str],
        depends_on: Sequence[pulumi.Resource],
    ) -> aws.kinesis.FirehoseDeliveryStream:
        """One region's delivery stream, its error log, and an alarm when delivery stalls."""
        provider = providers.for_region(region)
        name = stream_name(stack, region)
        log_group = aws.cloudwatch.LogGroup(
            f"firehose-{region}",
            name=firehose_log_group(stack),
            retention_in_days=FIREHOSE_LOG_DAYS,
            tags=dict(tags),
            opts=opts(self, provider),
        )
        log_stream = aws.cloudwatch.LogStream(
            f"firehose-{region}",
            name="DestinationDelivery",
            log_group_name=log_group.name,
            opts=opts(self, provider),
        )
        stream = aws.kinesis.FirehoseDeliveryStream(
            f"stream-{region}",
            name=name,
            destination="extended_s3",
            # WAF writes with PutRecordBatch (direct put): encrypt what Firehose holds at rest.
            server_side_encryption={"enabled": True, "key_type": "AWS_OWNED_CMK"},
            extended_s3_configuration={
                "bucket_arn": bucket.arn,
                "role_arn": role_arn,
                # Static partitions by region and hour; dynamic partitioning stays off (it
                # bills per GB and per object and buys nothing for a day-partitioned table).
                "prefix": f"{LOG_PREFIX}region={region}/!{{timestamp:yyyy/MM/dd/HH}}/",
                # Firehose requires the error type in the error prefix when the prefix has
                # expressions.
                "error_output_prefix": (
                    f"{ERROR_PREFIX}region={region}/!{{firehose:error-output-type}}/"
                    "!{timestamp:yyyy/MM/dd}/"
                ),
                "compression_format": "GZIP",
                "buffering_interval": BUFFER_SECONDS,
                "buffering_size": BUFFER_MB,
                # The bucket's default encryption (the log key) applies to every object.
                "cloudwatch_logging_options": {
                    "enabled": True,
                    "log_group_name": log_group.name,
                    "log_stream_name": log_stream.name,
                },
            },
            tags={**tags, "region-of-logs": region},
            opts=opts(self, provider, depends_on=list(depends_on)),
        )
        if routes is not None:
            # Logs that stop arriving are noticed at the next incident, when they are needed.
            aws.cloudwatch.MetricAlarm(
                f"stream-{region}-stalled",
                name=f"guard-{stack}-waf-logs-stalled-{region}",
                alarm_description=(
                    f"WAF logs of {region} are not reaching s3://{bucket_name}: read "
                    f"the {firehose_log_group(stack)} log group in {region} (docs/logs.md)."
                ),
                namespace="AWS/Firehose",
                metric_name="DeliveryToS3.DataFreshness",
                dimensions={"DeliveryStreamName": name},
                statistic="Maximum",
                period=300,
                evaluation_periods=3,
                threshold=FRESHNESS_ALARM_SECONDS,
                comparison_operator="GreaterThanThreshold",
                # No traffic means no records and no metric: that is not a stall.
                treat_missing_data="notBreaching",
                alarm_actions=[routes.topic_arn("normal", region)],
                ok_actions=[routes.topic_arn("normal", region)],
                tags=dict(tags),
                opts=opts(self, provider, depends_on=[stream]),
            )
        return stream


# --- the sample digest -----------------------------------------------------------------------

#: The digest function's code: the folder, relative to the repository root where Pulumi runs.
DIGEST_CODE = "functions/waf_samples"
DIGEST_HANDLER = "handler.lambda_handler"
DIGEST_RUNTIME = "python3.12"
#: Minute 5 of every hour, for the previous full hour: hours tile without gaps or overlaps, and
#: WAF has settled the last minutes' samples. (GetSampledRequests reaches back 3 hours.)
DIGEST_SCHEDULE = "cron(5 * * * ? *)"
DIGEST_WINDOW_MINUTES = 60
#: WAF keeps at most 100 samples per rule and window in its console; the API allows up to 500.
DIGEST_MAX_SAMPLES = 100
#: Up to a dozen rules in each of a handful of web ACLs, each a GetSampledRequests call.
DIGEST_TIMEOUT_SECONDS = 120
DIGEST_LOG_DAYS = 30


def digest_function_name(stack: str) -> str:
    return f"guard-{stack}-waf-samples"


def digest_policy(
    *,
    stack: str,
    region: str,
    account_id: str,
    topic_arn: str,
    web_acls: Sequence[LoggedWebAcl],
) -> dict[str, Any]:
    """The digest function's permissions: read its web ACLs' samples, publish one topic."""
    name = digest_function_name(stack)
    return {
        "Version": "2012-10-17",
        "Statement": [
            _statement(
                "ReadSamples",
                ["wafv2:GetWebACL", "wafv2:GetSampledRequests"],
                sorted(web_acl_arn_pattern(acl, account_id) for acl in web_acls),
            ),
            _statement("PublishDigest", ["sns:Publish"], [topic_arn]),
            {
                # The alert topics are encrypted: SNS asks KMS for a data key as the publisher.
                # AlertRoutes exposes topics, not their key, so the grant is "any key of this
                # region, only through SNS".
                **_statement(
                    "EncryptThroughSns",
                    ["kms:GenerateDataKey*", "kms:Decrypt"],
                    [f"arn:aws:kms:{region}:{account_id}:key/*"],
                ),
                "Condition": {"StringEquals": {"kms:ViaService": f"sns.{region}.amazonaws.com"}},
            },
            _statement(
                "WriteOwnLogs",
                ["logs:CreateLogStream", "logs:PutLogEvents"],
                [f"arn:aws:logs:{region}:{account_id}:log-group:/aws/lambda/{name}:*"],
            ),
        ],
    }


class WafSampleDigest(pulumi.ComponentResource):
    """An hourly Slack digest of the requests WAF blocked or counted, from its sampled requests.

    One function in the stack's region reads every web ACL's samples (CloudFront's through
    us-east-1) and publishes one AWS Chatbot custom notification to the normal route, only when
    something was blocked or counted. Sampled requests are WAF's own sample (up to 100 per rule
    and hour), not the logs: the digest is a nudge to look, Athena has the whole picture.
    """

    function: aws.lambda_.Function

    def __init__(
        self,
        config: StackConfig,
        *,
        stack: str,
        providers: Providers,
        topic_arn: pulumi.Input[str],
        web_acls: Sequence[LoggedWebAcl],
        workgroup: str,
        boundary: PermissionsBoundary,
        opts_: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("guard:logs:WafSampleDigest", "waf-samples", None, opts_)
        from components.alerts import topic_arn as alert_topic_arn

        provider = providers.regional
        region, account = config.region, config.account_id
        tags = guard_tags(stack)
        name = digest_function_name(stack)

        log_group = aws.cloudwatch.LogGroup(
            "logs",
            name=f"/aws/lambda/{name}",
            retention_in_days=DIGEST_LOG_DAYS,
            tags=tags,
            opts=opts(self, provider),
        )
        role = bounded_role(
            "role",
            name=name,
            description="guard WAF sample digest: read sampled requests, post to the normal route",
            trust=service_trust_policy("lambda.amazonaws.com"),
            boundary=boundary,
            tags=tags,
            opts_=opts(self, provider),
        )
        policy = aws.iam.RolePolicy(
            "role",
            role=role.name,
            policy=json.dumps(
                digest_policy(
                    stack=stack,
                    region=region,
                    account_id=account,
                    # The same ARN AlertRoutes hands out, as plain text for the policy pack.
                    topic_arn=alert_topic_arn(stack, "normal", region, account),
                    web_acls=web_acls,
                )
            ),
            opts=opts(self, provider),
        )

        # Names and scopes are plain; the ARNs carry the IDs WAF assigns on creation.
        def render(arns: list[str]) -> str:
            return json.dumps(
                [
                    {"name": acl.name, "scope": acl.scope, "arn": arn}
                    for acl, arn in zip(web_acls, arns, strict=True)
                ]
            )

        web_acls_json = pulumi.Output.all(*[acl.web_acl.arn for acl in web_acls]).apply(render)
        self.function = aws.lambda_.Function(
            "function",
            name=name,
            description="Posts an hourly digest of WAF's blocked and counted sampled requests",
            runtime=DIGEST_RUNTIME,
            handler=DIGEST_HANDLER,
            code=pulumi.FileArchive(DIGEST_CODE),
            role=role.arn,
            timeout=DIGEST_TIMEOUT_SECONDS,
            memory_size=256,
            environment={
                "variables": {
                    "WEB_ACLS": web_acls_json,
                    "TOPIC_ARN": topic_arn,
                    "STACK": stack,
                    "WINDOW_MINUTES": str(DIGEST_WINDOW_MINUTES),
                    "MAX_SAMPLES": str(DIGEST_MAX_SAMPLES),
                    "ATHENA_WORKGROUP": workgroup,
                }
            },
            logging_config={"log_format": "Text", "log_group": log_group.name},
            tags=tags,
            opts=opts(self, provider, depends_on=[policy, log_group]),
        )
        aws.lambda_.FunctionEventInvokeConfig(
            "async",
            function_name=self.function.name,
            # A retry after a partial failure would post the same hour twice; the failure
            # alarm below reports the lost digest instead.
            maximum_retry_attempts=0,
            opts=opts(self, provider),
        )
        schedule = aws.cloudwatch.EventRule(
            "schedule",
            name=name,
            description="Hourly WAF sample digest",
            schedule_expression=DIGEST_SCHEDULE,
            tags=tags,
            opts=opts(self, provider),
        )
        permission = aws.lambda_.Permission(
            "schedule",
            action="lambda:InvokeFunction",
            function=self.function.name,
            principal="events.amazonaws.com",
            source_arn=schedule.arn,
            opts=opts(self, provider),
        )
        aws.cloudwatch.EventTarget(
            "schedule",
            rule=schedule.name,
            arn=self.function.arn,
            opts=opts(self, provider, depends_on=[permission]),
        )
        aws.cloudwatch.MetricAlarm(
            "failed",
            name=f"{name}-failed",
            alarm_description="The WAF sample digest failed (an hour's digest is missing or "
            f"partial): read the /aws/lambda/{name} log group (docs/logs.md).",
            namespace="AWS/Lambda",
            metric_name="Errors",
            dimensions={"FunctionName": name},
            statistic="Sum",
            period=3600,
            evaluation_periods=1,
            threshold=1,
            comparison_operator="GreaterThanOrEqualToThreshold",
            treat_missing_data="notBreaching",
            alarm_actions=[topic_arn],
            tags=tags,
            opts=opts(self, provider, depends_on=[self.function]),
        )
        self.register_outputs({"function_arn": self.function.arn})
