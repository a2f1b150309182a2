"""WAF logs delivered straight to S3 (``guard:logs.delivery: s3``), and the tuners' read access
(both deliveries): the real program under Pulumi mocks, and the bucket and key policies judged
by guard's IAM evaluator."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest

from guard.config import load_stack_config
from guard.iam_eval import Decision, Request, evaluate
from guard.logs_athena import saved_queries
from guard.plan import PlanResult, ResourceRecord, run_program
from guard.policy_run import load_pack, run_policies
from tests.conftest import ROOT, TODAY, alb_arn, minimal_product, of_type, raw_config

ACCOUNT = "111111111111"
OTHER_ACCOUNT = "222222222222"
REGION = "ap-northeast-1"
BUCKET_NAME = "aws-waf-logs-example-test"
BUCKET_ARN = f"arn:aws:s3:::{BUCKET_NAME}"
DELIVERY = "delivery.logs.amazonaws.com"
TUNER = f"arn:aws:iam::{ACCOUNT}:role/guard-test-wafcharm"
READER = f"arn:aws:iam::{ACCOUNT}:role/siem-es-loader"
QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:siem-waf-loader"
ALERTS = {
    "slack": {
        "workspace_id": "T0EXAMPLE1",
        "normal_channel": "C0NORMAL01",
        "urgent_channel": "C0URGENT01",
    }
}
ACCESS = {"principal": "arn:aws:iam::123456789012:root", "external_id": {"secure": "v1:x"}}
#: A product behind an ALB and a CloudFront distribution: one regional and one CloudFront web ACL.
EBOOK = {
    "name": "ebook",
    "owner": "team-ebook",
    "endpoints": [
        {"name": "web", "kind": "alb", "arn": alb_arn("ebook-web")},
        {
            "name": "cdn",
            "kind": "cloudfront",
            "arn": f"arn:aws:cloudfront::{ACCOUNT}:distribution/E2EXAMPLE1",
        },
    ],
}
BUCKET = "aws:s3/bucket:Bucket"
KEY = "aws:kms/key:Key"
STREAM = "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream"
LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
ROLE = "aws:iam/role:Role"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
LOG_STREAM = "aws:cloudwatch/logStream:LogStream"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
NOTIFICATION = "aws:s3/bucketNotification:BucketNotification"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
TABLE = "aws:glue/catalogTable:CatalogTable"
QUERY = "aws:athena/namedQuery:NamedQuery"
FUNCTION = "aws:lambda/function:Function"


def plan_of(delivery: str = "s3", *, tuners: bool = True, **logs: Any) -> PlanResult:
    bucket = BUCKET_NAME if delivery == "s3" else "example-test-waf-logs"
    raw = raw_config(
        logs={"bucket": bucket, "delivery": delivery, "retention_days": 400, **logs},
        alerts=ALERTS,
        products=[minimal_product(tuner={"service": "wafcharm"}), EBOOK],
        tuners={"wafcharm": ACCESS} if tuners else None,
    )
    return run_program(load_stack_config(raw, "test.yaml", today=TODAY), "test")


@pytest.fixture(scope="module")
def s3_plan() -> PlanResult:
    return plan_of(
        archive_after_days=90,
        opensearch={"queue_arn": QUEUE, "reader_role_arn": READER},
        samples_to_slack=True,
    )


def mine(plan: PlanResult, type_token: str) -> list[ResourceRecord]:
    """Records of one type declared by the WAF logs component (other areas may declare more)."""
    return [r for r in of_type(plan, type_token) if "guard:logs:" in r.urn]


def document(plan: PlanResult, type_token: str) -> dict[str, Any]:
    (record,) = mine(plan, type_token)
    parsed: dict[str, Any] = json.loads(record.inputs["policy"])
    return parsed


def by_sid(policy: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in policy["Statement"]}


def source_arns(*accounts_regions: tuple[str, str]) -> list[str]:
    return [f"arn:aws:logs:{region}:{account}:*" for account, region in accounts_regions]


# --- delivery --------------------------------------------------------------------------------


def test_every_web_acl_logs_straight_to_the_bucket_cloudfront_included(
    s3_plan: PlanResult,
) -> None:
    (bucket,) = mine(s3_plan, BUCKET)
    web_acls = {w.urn: w for w in of_type(s3_plan, WEB_ACL)}
    assert {w.inputs["scope"] for w in web_acls.values()} == {"REGIONAL", "CLOUDFRONT"}
    configs = mine(s3_plan, LOGGING)
    assert len(configs) == len(web_acls) == 3
    for config in configs:
        (web_acl_urn,) = config.property_dependencies["resourceArn"]
        web_acl = web_acls.pop(web_acl_urn)
        # In the web ACL's region (us-east-1 for CloudFront), to the one bucket's ARN.
        assert config.region == web_acl.region
        assert config.inputs["logDestinationConfigs"] == [bucket.state["arn"]] == [BUCKET_ARN]
        assert config.property_dependencies["logDestinationConfigs"] == [bucket.urn]
        assert config.inputs["redactedFields"] == [
            {"singleHeader": {"name": h}} for h in ("authorization", "cookie")
        ]
    assert web_acls == {}


def test_s3_delivery_declares_no_firehose_resources(s3_plan: PlanResult) -> None:
    assert mine(s3_plan, STREAM) == [] and mine(s3_plan, LOG_STREAM) == []
    roles = [r.inputs["name"] for r in mine(s3_plan, ROLE)]
    assert roles == ["guard-test-waf-samples"]  # the digest's role, no Firehose role
    groups = [g.inputs["name"] for g in mine(s3_plan, LOG_GROUP)]
    assert groups == ["/aws/lambda/guard-test-waf-samples"]
    namespaces = {a.inputs["namespace"] for a in mine(s3_plan, ALARM)}
    assert namespaces == {"AWS/Lambda"}  # no Firehose stall alarm
    # The digest still samples every web ACL.
    (function,) = mine(s3_plan, FUNCTION)
    listed = json.loads(function.inputs["environment"]["variables"]["WEB_ACLS"])
    assert len(listed) == 3


def test_the_policy_pack_passes_an_s3_delivery_stack(s3_plan: PlanResult) -> None:
    wanted = ("s3-bucket-baseline", "waf-logging-enabled", "iam-no-wildcard-principal")
    pack = [p for p in load_pack(ROOT / "policies") if p.name in wanted]
    assert len(pack) == len(wanted)
    assert run_policies(s3_plan, pack, today=TODAY).violations == []


# --- bucket and key policies -----------------------------------------------------------------


def test_bucket_policy_has_aws_documented_log_delivery_statements(s3_plan: PlanResult) -> None:
    statements = by_sid(document(s3_plan, BUCKET_POLICY))
    sources = source_arns((ACCOUNT, REGION), (ACCOUNT, "us-east-1"))
    assert statements["AWSLogDeliveryWrite"] == {
        "Sid": "AWSLogDeliveryWrite",
        "Effect": "Allow",
        "Principal": {"Service": DELIVERY},
        "Action": "s3:PutObject",
        "Resource": f"{BUCKET_ARN}/AWSLogs/{ACCOUNT}/*",
        "Condition": {
            "StringEquals": {
                "s3:x-amz-acl": "bucket-owner-full-control",
                "aws:SourceAccount": [ACCOUNT],
            },
            "ArnLike": {"aws:SourceArn": sources},
        },
    }
    assert statements["AWSLogDeliveryAclCheck"] == {
        "Sid": "AWSLogDeliveryAclCheck",
        "Effect": "Allow",
        "Principal": {"Service": DELIVERY},
        "Action": "s3:GetBucketAcl",
        "Resource": BUCKET_ARN,
        "Condition": {
            "StringEquals": {"aws:SourceAccount": [ACCOUNT]},
            "ArnLike": {"aws:SourceArn": sources},
        },
    }
    # Logs stay evidence and TLS stays required.
    assert statements["OnlyDeliveryWritesLogs"]["Effect"] == "Deny"
    assert statements["OnlyDeliveryWritesLogs"]["Resource"] == [f"{BUCKET_ARN}/AWSLogs/*"]
    assert statements["TlsOnly"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_key_policy_lets_the_log_delivery_service_of_this_account_encrypt(
    s3_plan: PlanResult,
) -> None:
    statements = by_sid(document(s3_plan, KEY))
    delivery = statements["Allow Logs Delivery to use the key"]
    assert delivery["Principal"] == {"Service": [DELIVERY]}
    assert delivery["Action"] == [
        "kms:Encrypt",
        "kms:Decrypt",
        "kms:ReEncrypt*",
        "kms:GenerateDataKey*",
        "kms:DescribeKey",
    ]
    assert delivery["Condition"] == {
        "StringEquals": {"aws:SourceAccount": [ACCOUNT]},
        "ArnLike": {"aws:SourceArn": source_arns((ACCOUNT, REGION), (ACCOUNT, "us-east-1"))},
    }
    through_s3 = {"StringEquals": {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}}
    assert statements["SiemLoaderDecryptsThroughS3"]["Condition"] == through_s3
    # The tuner decrypts through its own policy (via S3 only): the key names no tuner.
    assert TUNER not in json.dumps(statements)


@pytest.mark.parametrize("delivery", ["s3", "firehose"])
def test_the_bucket_only_limits_tuner_roles_to_reading_with_either_delivery(
    delivery: str,
) -> None:
    plan = plan_of(delivery)
    bucket = f"arn:aws:s3:::{BUCKET_NAME if delivery == 's3' else 'example-test-waf-logs'}"
    statements = by_sid(document(plan, BUCKET_POLICY))
    # No Allow for the tuner here: its own policy grants its web ACLs' prefixes, and an Allow
    # in the bucket would widen that to every log of the stack.
    assert [s["Sid"] for s in statements.values() if TUNER in json.dumps(s)] == ["TunersOnlyRead"]
    assert statements["TunersOnlyRead"] == {
        "Sid": "TunersOnlyRead",
        "Effect": "Deny",
        "Principal": {"AWS": [TUNER]},
        "NotAction": ["s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation"],
        "Resource": [bucket, f"{bucket}/*"],
    }


def test_without_guard_tuners_no_one_else_is_named() -> None:
    plan = plan_of("s3", tuners=False)
    principals = json.dumps(
        [s["Principal"] for s in document(plan, BUCKET_POLICY)["Statement"]]
        + [s["Principal"] for s in document(plan, KEY)["Statement"]]
    )
    assert "wafcharm" not in principals and ":role/" not in principals


# --- the bucket policy, evaluated ------------------------------------------------------------

ADMIN = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


@dataclass(frozen=True)
class Caller:
    """Who calls S3: an IAM principal of this account (with its IAM policy) or a service."""

    arn: str | None = None
    service: str | None = None
    identity: Mapping[str, Any] | None = None
    context: Mapping[str, str] = field(default_factory=dict)

    def request_context(self, extra: Mapping[str, str]) -> dict[str, str]:
        # What IAM puts into every signed request over TLS, by kind of principal.
        context = {"aws:SecureTransport": "true", **self.context, **extra}
        if self.service is not None:
            return {
                "aws:PrincipalIsAWSService": "true",
                "aws:PrincipalServiceName": self.service,
                **context,
            }
        assert self.arn is not None
        return {
            "aws:PrincipalIsAWSService": "false",
            "aws:PrincipalArn": self.arn,
            "aws:PrincipalAccount": self.arn.split(":")[4],
            **context,
        }


def delivery_service(account: str = ACCOUNT, region: str = REGION) -> Caller:
    """The log delivery service, writing for a web ACL of ``account`` in ``region``."""
    return Caller(
        service=DELIVERY,
        context={
            "aws:SourceAccount": account,
            "aws:SourceArn": f"arn:aws:logs:{region}:{account}:delivery-source:waf-abc",
        },
    )


def _principal_matches(principal: Any, caller: Caller) -> bool:
    if principal == "*":
        return True
    names = principal.get("Service") if caller.service is not None else principal.get("AWS")
    names = names if isinstance(names, list) else [names]
    if caller.service is not None:
        return caller.service in names
    # The account's root ("arn:aws:iam::<account>:root") names no one in particular: it hands
    # the decision to the account's IAM policies, which Caller.identity is.
    return caller.arn in names


def decide(
    policy: Mapping[str, Any], caller: Caller, action: str, resource: str, **context: str
) -> Decision:
    """S3's decision for a caller of the bucket's account, or a service principal.

    The statements whose Principal names the caller are handed, without Principal, to
    :func:`guard.iam_eval.evaluate` beside the caller's own IAM policy: within one account an
    explicit Deny in either refuses and an Allow in either permits, which is what ``evaluate``
    does over several policies. A service principal has no IAM policy: only the bucket's counts.
    """
    statements = [
        {k: v for k, v in s.items() if k != "Principal"}
        for s in policy["Statement"]
        if _principal_matches(s["Principal"], caller)
    ]
    policies: dict[str, Mapping[str, Any]] = {}
    if statements:
        policies["bucket"] = {"Version": "2012-10-17", "Statement": statements}
    if caller.identity is not None:
        policies["identity"] = caller.identity
    if not policies:
        return Decision(False, "nothing names the caller (implicit deny)")
    request = Request(action, resource, caller.request_context(context))
    return evaluate(request, policies)


def log_key(account: str = ACCOUNT, region: str = REGION) -> str:
    return f"{BUCKET_ARN}/AWSLogs/{account}/WAFLogs/{region}/guard-test-store-alb/2026/11/25/13/05/x.log.gz"


ACL = {"s3:x-amz-acl": "bucket-owner-full-control"}


def test_the_log_delivery_service_writes_only_for_this_account(s3_plan: PlanResult) -> None:
    policy = document(s3_plan, BUCKET_POLICY)
    for region, segment in ((REGION, REGION), ("us-east-1", "cloudfront")):
        ours = delivery_service(region=region)
        assert decide(policy, ours, "s3:PutObject", log_key(region=segment), **ACL)
        assert decide(policy, ours, "s3:GetBucketAcl", BUCKET_ARN)
    # Another account's WAF cannot log into this bucket, under its own prefix or ours.
    theirs = delivery_service(OTHER_ACCOUNT)
    assert not decide(policy, theirs, "s3:PutObject", log_key(OTHER_ACCOUNT), **ACL)
    assert not decide(policy, theirs, "s3:PutObject", log_key(), **ACL)
    assert not decide(policy, theirs, "s3:GetBucketAcl", BUCKET_ARN)
    # Only logs, only handed to the bucket owner, only over TLS.
    ours = delivery_service()
    assert not decide(policy, ours, "s3:PutObject", log_key())
    assert not decide(policy, ours, "s3:PutObject", f"{BUCKET_ARN}/athena-results/x", **ACL)
    assert not decide(policy, ours, "s3:GetObject", log_key())
    insecure = {**ACL, "aws:SecureTransport": "false"}
    assert not decide(policy, ours, "s3:PutObject", log_key(), **insecure)


def test_no_principal_of_the_account_can_add_or_replace_logs(s3_plan: PlanResult) -> None:
    policy = document(s3_plan, BUCKET_POLICY)
    admin = Caller(arn=f"arn:aws:iam::{ACCOUNT}:role/admin", identity=ADMIN)
    assert not decide(policy, admin, "s3:PutObject", log_key(), **ACL)
    assert not decide(policy, admin, "s3:PutObject", f"{BUCKET_ARN}/AWSLogs/anything")
    # The Deny is scoped to the logs: Athena results are written as the querying user.
    assert decide(policy, admin, "s3:PutObject", f"{BUCKET_ARN}/athena-results/q.csv")
    assert decide(policy, admin, "s3:GetObject", log_key())


def tuner_policy(plan: PlanResult) -> dict[str, Any]:
    """The tuner role's own inline policy, as the plan declares it."""
    (record,) = [
        r
        for r in of_type(plan, "aws:iam/rolePolicy:RolePolicy")
        if r.inputs.get("name") == "guard-test-wafcharm"
    ]
    parsed: dict[str, Any] = json.loads(record.inputs["policy"])
    return parsed


def test_the_tuner_role_reads_logs_but_cannot_write_or_delete_them(s3_plan: PlanResult) -> None:
    policy = document(s3_plan, BUCKET_POLICY)
    own = tuner_policy(s3_plan)
    tuner = Caller(arn=TUNER, identity=own)
    assert decide(policy, tuner, "s3:GetObject", log_key())
    prefix = f"AWSLogs/{ACCOUNT}/WAFLogs/{REGION}/guard-test-store-alb/"
    assert decide(policy, tuner, "s3:ListBucket", BUCKET_ARN, **{"s3:prefix": prefix})
    # Logs only: not the Athena results (other people's queries), not a listing of them.
    assert not decide(policy, tuner, "s3:GetObject", f"{BUCKET_ARN}/athena-results/q.csv")
    assert not decide(policy, tuner, "s3:ListBucket", BUCKET_ARN, **{"s3:prefix": "athena-"})
    assert not decide(policy, tuner, "s3:ListBucket", BUCKET_ARN)
    # Never a write, even were its own IAM policy to allow everything.
    for identity in (own, ADMIN):
        tuner = Caller(arn=TUNER, identity=identity)
        for action in ("s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"):
            assert not decide(policy, tuner, action, log_key(), **ACL)
        for action in ("s3:PutBucketPolicy", "s3:PutLifecycleConfiguration"):
            assert not decide(policy, tuner, action, BUCKET_ARN)


def test_the_key_serves_the_delivery_of_this_account_and_tuners_only_through_s3(
    s3_plan: PlanResult,
) -> None:
    policy = document(s3_plan, KEY)
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234"
    assert decide(policy, delivery_service(region="us-east-1"), "kms:GenerateDataKey", key)
    assert not decide(policy, delivery_service(OTHER_ACCOUNT), "kms:GenerateDataKey", key)
    # The tuner: its own policy, which the key's account statement lets IAM grant.
    tuner = Caller(arn=TUNER, identity=tuner_policy(s3_plan))
    via_s3 = {
        "kms:ViaService": f"s3.{REGION}.amazonaws.com",
        "kms:EncryptionContext:aws:s3:arn": BUCKET_ARN,
    }
    assert decide(policy, tuner, "kms:Decrypt", key, **via_s3)
    assert not decide(policy, tuner, "kms:Decrypt", key)
    assert not decide(policy, tuner, "kms:Encrypt", key, **via_s3)


# --- where the logs are, for Athena, lifecycle and the SIEM ----------------------------------


def documented_key(account: str, segment: str, web_acl: str) -> str:
    """An object key of the layout in the AWS WAF Developer Guide (logging-s3)."""
    return (
        f"AWSLogs/{account}/WAFLogs/{segment}/{web_acl}/2026/11/25/13/05/"
        f"{account}_waflogs_{segment}_{web_acl}_20261125T1305Z_3a4b5c6d.log.gz"
    )


#: Athena's date projection format (Java DateTimeFormatter letters) in Python's strptime.
JAVA_TO_STRPTIME = {"yyyy": "%Y", "MM": "%m", "dd": "%d"}


def test_the_table_projects_the_partitions_waf_writes_to(s3_plan: PlanResult) -> None:
    (table,) = mine(s3_plan, TABLE)
    params = table.inputs["parameters"]
    assert [k["name"] for k in table.inputs["partitionKeys"]] == ["region", "web_acl", "day"]
    assert table.inputs["storageDescriptor"]["location"] == (
        f"s3://{BUCKET_NAME}/AWSLogs/{ACCOUNT}/WAFLogs/"
    )
    template = params["storage.location.template"]
    assert template == (
        f"s3://{BUCKET_NAME}/AWSLogs/{ACCOUNT}/WAFLogs/${{region}}/${{web_acl}}/${{day}}/"
    )
    # The template as a pattern: each ${key} one path segment (day: three).
    pattern = re.escape(template)
    for key, segment in (("region", "[^/]+"), ("web_acl", "[^/]+"), ("day", "[^/]+/[^/]+/[^/]+")):
        pattern = pattern.replace(re.escape(f"${{{key}}}"), f"(?P<{key}>{segment})")
    day_format = params["projection.day.format"]
    for name, fmt in JAVA_TO_STRPTIME.items():
        day_format = day_format.replace(name, fmt)
    web_acls = {w.inputs["name"]: w.inputs["scope"] for w in of_type(s3_plan, WEB_ACL)}
    assert web_acls["guard-test-ebook-cf"] == "CLOUDFRONT"
    for name, scope in web_acls.items():
        segment = "cloudfront" if scope == "CLOUDFRONT" else REGION
        key = f"s3://{BUCKET_NAME}/{documented_key(ACCOUNT, segment, name)}"
        match = re.match(pattern, key)
        assert match is not None, key
        # The partition Athena projects for this file holds it, with these values...
        assert match["region"] in params["projection.region.values"].split(",")
        assert match["web_acl"] in params["projection.web_acl.values"].split(",")
        assert datetime.strptime(match["day"], day_format).date().isoformat() == "2026-11-25"
        # ...and the saved queries' day filter (date_format(..., '%Y/%m/%d')) names that day.
        assert match["day"] == datetime(2026, 11, 25).strftime("%Y/%m/%d")
    assert params["projection.region.values"].split(",") == [REGION, "cloudfront"]
    assert params["projection.day.range"] == "NOW-400DAYS,NOW"


def test_saved_queries_are_the_same_for_both_deliveries(s3_plan: PlanResult) -> None:
    firehose = plan_of("firehose")
    for plan in (s3_plan, firehose):
        queries = {q.inputs["name"]: q.inputs["query"] for q in mine(plan, QUERY)}
        assert queries == {q.name: q.sql for q in saved_queries("guard_test_waf_logs")}
        (table,) = mine(plan, TABLE)
        # Every query prunes on day, which both tables project the same way.
        assert table.inputs["parameters"]["projection.day.format"] == "yyyy/MM/dd"
        assert "day" in [k["name"] for k in table.inputs["partitionKeys"]]


def test_lifecycle_keeps_and_archives_the_logs_under_awslogs(s3_plan: PlanResult) -> None:
    (lifecycle,) = mine(s3_plan, LIFECYCLE)
    rules = {r["filter"]["prefix"]: r for r in lifecycle.inputs["rules"]}
    assert rules["AWSLogs/"]["id"] == "waf-logs"
    assert rules["AWSLogs/"]["expiration"]["days"] == 400
    assert rules["AWSLogs/"]["transitions"] == [{"days": 90, "storageClass": "GLACIER_IR"}]
    # Logs written through Firehose before a switch still expire on the same schedule.
    assert rules["waf/"]["expiration"]["days"] == rules["errors/"]["expiration"]["days"] == 400
    assert rules["athena-results/"]["expiration"]["days"] == 30


def test_the_siem_is_notified_of_and_reads_the_s3_delivered_logs(s3_plan: PlanResult) -> None:
    (notification,) = mine(s3_plan, NOTIFICATION)
    assert notification.inputs["queues"] == [
        {"queueArn": QUEUE, "events": ["s3:ObjectCreated:*"], "filterPrefix": "AWSLogs/"}
    ]
    reads = by_sid(document(s3_plan, BUCKET_POLICY))["SiemLoaderReads"]
    assert reads["Principal"] == {"AWS": READER}
    assert reads["Resource"] == f"{BUCKET_ARN}/AWSLogs/*"
    # The SIEM's loader recognises WAF logs by "_waflogs_" in the key.
    assert "_waflogs_" in documented_key(ACCOUNT, REGION, "guard-test-store-alb")


# --- Firehose stays as it was ----------------------------------------------------------------


def test_firehose_without_tuners_names_no_log_delivery_service() -> None:
    plan = plan_of("firehose", tuners=False)
    assert len(mine(plan, STREAM)) == 2  # ap-northeast-1 and us-east-1 (CloudFront)
    bucket_policy = by_sid(document(plan, BUCKET_POLICY))
    assert list(bucket_policy) == ["DeliveryRoleWrites", "OnlyDeliveryWritesLogs", "TlsOnly"]
    assert list(by_sid(document(plan, KEY))) == ["AccountAdministers"]
    assert DELIVERY not in json.dumps(bucket_policy)
    (table,) = mine(plan, TABLE)
    assert table.inputs["parameters"]["storage.location.template"] == (
        "s3://example-test-waf-logs/waf/region=${region}/${day}/"
    )
    assert [k["name"] for k in table.inputs["partitionKeys"]] == ["region", "day"]
