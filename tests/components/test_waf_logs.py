"""WAF logs, run through the real program under Pulumi mocks on the example stacks."""

from __future__ import annotations

import fnmatch
import importlib
import json
from collections.abc import Callable
from typing import Any

import pytest

from components.waf_samples import DIGEST_CODE, DIGEST_HANDLER, DIGEST_RUNTIME
from guard.config import load_stack_config
from guard.logs_athena import saved_queries
from guard.logs_layout import KEPT_ACTIONS, LOG_PREFIX, RESULTS_PREFIX, stream_name
from guard.plan import PlanResult, ResourceRecord, run_program
from guard.policy_run import load_pack, run_policies
from tests.conftest import ROOT, TODAY, minimal_product, of_type, raw_config

ACCOUNT = "111111111111"
REGION = "ap-northeast-1"
BUCKET = "aws:s3/bucket:Bucket"
KEY = "aws:kms/key:Key"
STREAM = "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream"
LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
NOTIFICATION = "aws:s3/bucketNotification:BucketNotification"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
TABLE = "aws:glue/catalogTable:CatalogTable"
WORKGROUP = "aws:athena/workgroup:Workgroup"
QUERY = "aws:athena/namedQuery:NamedQuery"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
FUNCTION = "aws:lambda/function:Function"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
INVOKE_CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
ALERTS = {
    "slack": {
        "workspace_id": "T0EXAMPLE1",
        "normal_channel": "C0NORMAL01",
        "urgent_channel": "C0URGENT01",
    }
}
QUEUE = "arn:aws:sqs:ap-northeast-1:111111111111:siem-waf-loader"
READER = "arn:aws:iam::111111111111:role/siem-es-loader"


def mine(plan: PlanResult, type_token: str) -> list[ResourceRecord]:
    """Records of one type declared by the WAF logs component (other areas may declare more)."""
    return [r for r in of_type(plan, type_token) if "guard:logs:" in r.urn]


def by_urn(plan: PlanResult, urn: str) -> ResourceRecord:
    return next(r for r in plan.resources if r.urn == urn)


def dependency(plan: PlanResult, record: ResourceRecord, key: str) -> ResourceRecord:
    (urn,) = record.property_dependencies[key]
    return by_urn(plan, urn)


def statements(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in document["Statement"]}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def plan_with(stack: str = "test", alerts: Any = ALERTS, **logs: Any) -> PlanResult:
    raw = raw_config(
        logs={"bucket": "example-test-waf-logs", **logs},
        alerts=alerts,
        products=[minimal_product()],
    )
    return run_program(load_stack_config(raw, "test.yaml", today=TODAY), stack)


# --- delivery --------------------------------------------------------------------------------


def test_one_stream_per_region_with_web_acls(example_plan: Callable[[str], PlanResult]) -> None:
    plan = example_plan("prod")
    streams = {s.region: s for s in mine(plan, STREAM)}
    # ALB web ACLs in the stack's region, the CloudFront one in us-east-1.
    assert set(streams) == {w.region for w in of_type(plan, WEB_ACL)} == {REGION, "us-east-1"}
    (bucket,) = mine(plan, BUCKET)
    for region, stream in streams.items():
        assert stream.inputs["name"] == f"aws-waf-logs-guard-prod-{region}"
        s3 = stream.inputs["extendedS3Configuration"]
        # Both regions write into the one bucket, each under its own region prefix.
        assert s3["bucketArn"] == bucket.state["arn"]
        assert s3["prefix"] == f"waf/region={region}/!{{timestamp:yyyy/MM/dd/HH}}/"
        assert s3["errorOutputPrefix"].startswith(f"errors/region={region}/")
        assert "!{firehose:error-output-type}" in s3["errorOutputPrefix"]
        assert s3["compressionFormat"] == "GZIP"
        assert "dynamicPartitioningConfiguration" not in s3
        assert stream.inputs["serverSideEncryption"]["enabled"] is True


def test_every_web_acl_logs_to_the_stream_of_its_region(
    example_plan: Callable[[str], PlanResult],
) -> None:
    plan = example_plan("prod")
    configs = {dependency(plan, c, "resourceArn").urn: c for c in mine(plan, LOGGING)}
    web_acls = of_type(plan, WEB_ACL)
    assert set(configs) == {w.urn for w in web_acls}
    assert len(mine(plan, LOGGING)) == len(web_acls) == 5
    for web_acl in web_acls:
        config = configs[web_acl.urn]
        assert config.region == web_acl.region
        assert config.inputs["resourceArn"] == web_acl.state["arn"]
        stream = dependency(plan, config, "logDestinationConfigs")
        assert stream.type == STREAM and stream.region == web_acl.region
        assert config.inputs["logDestinationConfigs"] == [stream.state["arn"]]
        assert config.inputs["redactedFields"] == [
            {"singleHeader": {"name": h}} for h in ("authorization", "cookie", "x-api-key")
        ]
        # prod keeps every request (filter: all).
        assert "loggingFilter" not in config.inputs


def test_blocked_and_counted_keeps_only_what_a_rule_acted_on() -> None:
    plan = plan_with(filter="blocked-and-counted")
    (config,) = mine(plan, LOGGING)
    logging_filter = config.inputs["loggingFilter"]
    assert logging_filter["defaultBehavior"] == "DROP"
    (keep,) = logging_filter["filters"]
    assert keep["behavior"] == "KEEP" and keep["requirement"] == "MEETS_ANY"
    kept = {c["actionCondition"]["action"] for c in keep["conditions"]}
    assert kept == set(KEPT_ACTIONS)
    assert "ALLOW" not in kept and {"BLOCK", "COUNT"} <= kept


def test_stream_names_longer_than_firehose_allows_are_refused() -> None:
    assert stream_name("prod", "us-east-1") == "aws-waf-logs-guard-prod-us-east-1"
    with pytest.raises(ValueError, match="longer than 64"):
        stream_name("x" * 40, "ap-northeast-1")


# --- the bucket and who may use it -----------------------------------------------------------


def test_bucket_and_key_are_protected_and_pass_the_bucket_baseline(
    example_plan: Callable[[str], PlanResult],
) -> None:
    plan = example_plan("prod")
    (bucket,) = mine(plan, BUCKET)
    (key,) = mine(plan, KEY)
    assert bucket.inputs["bucket"] == "example-prod-waf-logs" and bucket.region == REGION
    assert bucket.protect is True and key.protect is True
    assert key.inputs["enableKeyRotation"] is True
    pack = [
        p
        for p in load_pack(ROOT / "policies")
        if p.name in ("s3-bucket-baseline", "waf-logging-enabled")
    ]
    assert len(pack) == 2
    assert run_policies(plan, pack, today=TODAY).violations == []


def test_lifecycle_expires_logs_after_retention_and_archives_first(
    example_plan: Callable[[str], PlanResult],
) -> None:
    plan = example_plan("prod")
    (lifecycle,) = mine(plan, LIFECYCLE)
    rules = {r["filter"]["prefix"]: r for r in lifecycle.inputs["rules"]}
    assert set(rules) == {"waf/", "errors/", "athena-results/"}
    assert rules["waf/"]["expiration"]["days"] == 400
    assert rules["waf/"]["transitions"] == [{"days": 90, "storageClass": "GLACIER_IR"}]
    assert rules["errors/"]["expiration"]["days"] == 400
    assert rules["athena-results/"]["expiration"]["days"] == 30
    for rule in rules.values():
        assert rule["status"] == "Enabled"
        assert rule["noncurrentVersionExpiration"]["noncurrentDays"] > 0


def test_firehose_role_is_least_privilege(example_plan: Callable[[str], PlanResult]) -> None:
    plan = example_plan("prod")
    (stream, *_) = mine(plan, STREAM)
    role_arn = stream.inputs["extendedS3Configuration"]["roleArn"]
    role = next(r for r in mine(plan, ROLE) if r.state["arn"] == role_arn)
    trust = json.loads(role.inputs["assumeRolePolicy"])
    (assume,) = trust["Statement"]
    assert assume["Principal"] == {"Service": "firehose.amazonaws.com"}
    assert assume["Condition"] == {"StringEquals": {"sts:ExternalId": ACCOUNT}}
    (policy,) = [p for p in mine(plan, ROLE_POLICY) if p.inputs["role"] == role.inputs["name"]]
    granted = statements(json.loads(policy.inputs["policy"]))
    bucket = "arn:aws:s3:::example-prod-waf-logs"
    assert set(granted) == {
        "FindTheBucket",
        "WriteLogsAndErrors",
        "EncryptThroughS3",
        "ReportDeliveryErrors",
    }
    assert all(s["Effect"] == "Allow" for s in granted.values())
    assert granted["FindTheBucket"]["Resource"] == [bucket]
    # Objects only under the log and error prefixes: not Athena results, not the whole bucket.
    assert granted["WriteLogsAndErrors"]["Resource"] == [f"{bucket}/waf/*", f"{bucket}/errors/*"]
    assert "s3:DeleteObject" not in granted["WriteLogsAndErrors"]["Action"]
    # KMS only as S3 encrypts this bucket's objects.
    kms = granted["EncryptThroughS3"]
    assert kms["Condition"]["StringEquals"] == {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}
    assert kms["Condition"]["StringLike"]["kms:EncryptionContext:aws:s3:arn"] == [
        bucket,
        f"{bucket}/*",
    ]
    # Its error log in each region with a stream, nothing else.
    assert sorted(granted["ReportDeliveryErrors"]["Resource"]) == sorted(
        f"arn:aws:logs:{s.region}:{ACCOUNT}:log-group:guard-prod-waf-logs-delivery:log-stream:*"
        for s in mine(plan, STREAM)
    )
    for statement in granted.values():
        assert not any(a == "*" or a.endswith(":*") for a in as_list(statement["Action"]))


def test_bucket_policy_lets_only_the_delivery_role_write_and_requires_tls(
    example_plan: Callable[[str], PlanResult],
) -> None:
    plan = example_plan("prod")
    (policy,) = mine(plan, BUCKET_POLICY)
    document = json.loads(policy.inputs["policy"])
    allowed = [s for s in document["Statement"] if s["Effect"] == "Allow"]
    role = "arn:aws:iam::111111111111:role/guard-prod-waf-logs-firehose"
    assert [s["Principal"] for s in allowed] == [{"AWS": role}]
    by_sid = statements(document)
    assert by_sid["OnlyDeliveryWritesLogs"]["Condition"] == {
        "ArnNotEquals": {"aws:PrincipalArn": role}
    }
    assert by_sid["TlsOnly"]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    # S3 refuses a policy naming a role that does not exist yet.
    (firehose_role,) = [r for r in mine(plan, ROLE) if r.inputs["name"] == role.split("/")[-1]]
    assert firehose_role.state["arn"] == role


def test_a_siem_loader_is_notified_and_may_read_and_decrypt() -> None:
    plan = plan_with(opensearch={"queue_arn": QUEUE, "reader_role_arn": READER})
    (notification,) = mine(plan, NOTIFICATION)
    assert notification.inputs["queues"] == [
        {"queueArn": QUEUE, "events": ["s3:ObjectCreated:*"], "filterPrefix": LOG_PREFIX}
    ]
    bucket_policy = statements(json.loads(mine(plan, BUCKET_POLICY)[0].inputs["policy"]))
    reads = bucket_policy["SiemLoaderReads"]
    assert reads["Principal"] == {"AWS": READER} and reads["Action"] == "s3:GetObject"
    assert reads["Resource"] == "arn:aws:s3:::example-test-waf-logs/waf/*"
    key_policy = statements(json.loads(mine(plan, KEY)[0].inputs["policy"]))
    decrypt = key_policy["SiemLoaderDecryptsThroughS3"]
    assert decrypt["Principal"] == {"AWS": READER} and decrypt["Action"] == "kms:Decrypt"
    assert mine(plan_with(), NOTIFICATION) == []


# --- Athena ----------------------------------------------------------------------------------


def test_table_partitions_are_exactly_where_firehose_writes(
    example_plan: Callable[[str], PlanResult],
) -> None:
    plan = example_plan("prod")
    (table,) = mine(plan, TABLE)
    params = table.inputs["parameters"]
    assert params["projection.enabled"] == "true"
    # Every region that can have web ACLs, so logs outlive the last web ACL of a region.
    assert params["projection.region.values"].split(",") == ["ap-northeast-1", "us-east-1"]
    assert params["projection.day.range"] == "NOW-400DAYS,NOW"
    template = params["storage.location.template"]
    for stream in mine(plan, STREAM):
        # An object Firehose writes on 2026-11-25 at 13:00 UTC...
        prefix = stream.inputs["extendedS3Configuration"]["prefix"]
        key = prefix.replace("!{timestamp:yyyy/MM/dd/HH}", "2026/11/25/13") + "x.gz"
        # ...lies under the partition Athena projects for that region and day.
        location = template.replace("${region}", stream.region).replace("${day}", "2026/11/25")
        assert f"s3://example-prod-waf-logs/{key}".startswith(location)
    descriptor = table.inputs["storageDescriptor"]
    assert descriptor["location"] == "s3://example-prod-waf-logs/waf/"
    assert descriptor["serDeInfo"]["serializationLibrary"] == "org.openx.data.jsonserde.JsonSerDe"
    columns = {c["name"]: c["type"] for c in descriptor["columns"]}
    assert columns["timestamp"] == "bigint" and columns["action"] == "string"
    assert columns["httprequest"].startswith("struct<clientip:string,country:string,")
    assert "terminatingruleid" in columns and "rulegrouplist" in columns
    assert [k["name"] for k in table.inputs["partitionKeys"]] == ["region", "day"]


def test_workgroup_encrypts_results_and_caps_scans(
    example_plan: Callable[[str], PlanResult],
) -> None:
    plan = example_plan("prod")
    (workgroup,) = mine(plan, WORKGROUP)
    (key,) = mine(plan, KEY)
    config = workgroup.inputs["configuration"]
    assert workgroup.inputs["name"] == "guard-prod-waf-logs"
    assert config["enforceWorkgroupConfiguration"] is True
    assert config["bytesScannedCutoffPerQuery"] == 10 * 1024**3
    results = config["resultConfiguration"]
    assert results["outputLocation"] == f"s3://example-prod-waf-logs/{RESULTS_PREFIX}"
    assert results["encryptionConfiguration"] == {
        "encryptionOption": "SSE_KMS",
        "kmsKeyArn": key.state["arn"],
    }


def test_saved_queries_answer_the_sre_questions_cheaply(
    example_plan: Callable[[str], PlanResult],
) -> None:
    plan = example_plan("prod")
    queries = {q.inputs["name"]: q for q in mine(plan, QUERY)}
    assert set(queries) == {q.name for q in saved_queries("guard_prod_waf_logs")}
    assert {
        "WAF: top blocked client IPs, last 24 h",
        "WAF: top terminating rules, last 24 h",
        "WAF: requests counted by rules in count mode, last 7 days",
        "WAF: blocked requests on a path, last 24 h",
    } <= set(queries)
    for query in queries.values():
        sql = query.inputs["query"]
        assert query.inputs["database"] == "guard_prod_waf_logs"
        assert query.inputs["workgroup"] == "guard-prod-waf-logs"
        assert '"guard_prod_waf_logs"."waf_logs"' in sql
        # Every query prunes by the day partition: Athena bills the bytes it scans.
        assert "day >= date_format(" in sql
    assert "action = 'BLOCK'" in queries["WAF: top blocked client IPs, last 24 h"].inputs["query"]
    counted = queries["WAF: requests counted by rules in count mode, last 7 days"].inputs["query"]
    assert "r.action = 'COUNT'" in counted and "rulegrouplist" in counted


# --- alarms and the digest -------------------------------------------------------------------


def test_a_stalled_stream_alarms_on_the_normal_route_of_its_region(
    example_plan: Callable[[str], PlanResult],
) -> None:
    plan = example_plan("prod")
    alarms = {
        a.inputs["dimensions"]["DeliveryStreamName"]: a
        for a in mine(plan, ALARM)
        if a.inputs["namespace"] == "AWS/Firehose"
    }
    assert set(alarms) == {s.inputs["name"] for s in mine(plan, STREAM)}
    for stream in mine(plan, STREAM):
        alarm = alarms[stream.inputs["name"]]
        assert alarm.region == stream.region
        assert alarm.inputs["metricName"] == "DeliveryToS3.DataFreshness"
        topic = f"arn:aws:sns:{stream.region}:{ACCOUNT}:guard-prod-alerts-normal"
        assert alarm.inputs["alarmActions"] == [topic]


def test_the_digest_samples_every_web_acl_and_posts_to_the_normal_route(
    example_plan: Callable[[str], PlanResult],
) -> None:
    plan = example_plan("prod")
    (function,) = mine(plan, FUNCTION)
    env = function.inputs["environment"]["variables"]
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:guard-prod-alerts-normal"
    assert function.region == REGION and function.inputs["runtime"] == DIGEST_RUNTIME
    assert env["TOPIC_ARN"] == topic
    web_acls = {w.state["arn"]: w for w in of_type(plan, WEB_ACL)}
    listed = json.loads(env["WEB_ACLS"])
    assert {a["arn"] for a in listed} == set(web_acls)
    for entry in listed:
        assert entry["scope"] == web_acls[entry["arn"]].inputs["scope"]
        assert entry["name"] == web_acls[entry["arn"]].inputs["name"]
    # The role may read exactly these web ACLs' samples and publish to that topic.
    role = next(r for r in mine(plan, ROLE) if r.state["arn"] == function.inputs["role"])
    (policy,) = [p for p in mine(plan, ROLE_POLICY) if p.inputs["role"] == role.inputs["name"]]
    granted = statements(json.loads(policy.inputs["policy"]))
    patterns = granted["ReadSamples"]["Resource"]
    assert all(any(fnmatch.fnmatchcase(arn, p) for p in patterns) for arn in web_acls)
    assert len(patterns) == len(web_acls)
    assert granted["ReadSamples"]["Action"] == ["wafv2:GetWebACL", "wafv2:GetSampledRequests"]
    assert granted["PublishDigest"]["Resource"] == [topic]
    assert granted["EncryptThroughSns"]["Condition"] == {
        "StringEquals": {"kms:ViaService": f"sns.{REGION}.amazonaws.com"}
    }


def test_the_digest_runs_hourly_once_and_its_failures_alarm(
    example_plan: Callable[[str], PlanResult],
) -> None:
    plan = example_plan("prod")
    (rule,) = mine(plan, RULE)
    (target,) = mine(plan, TARGET)
    (function,) = mine(plan, FUNCTION)
    assert rule.inputs["scheduleExpression"] == "cron(5 * * * ? *)"
    assert dependency(plan, target, "rule").urn == rule.urn
    assert target.inputs["arn"] == function.state["arn"]
    # A retry would post the same hour twice.
    (invoke,) = mine(plan, INVOKE_CONFIG)
    assert invoke.inputs["maximumRetryAttempts"] == 0
    (failed,) = [a for a in mine(plan, ALARM) if a.inputs["namespace"] == "AWS/Lambda"]
    assert failed.inputs["dimensions"] == {"FunctionName": function.inputs["name"]}
    assert failed.inputs["alarmActions"] == [
        f"arn:aws:sns:{REGION}:{ACCOUNT}:guard-prod-alerts-normal"
    ]


def test_handler_setting_names_a_function_of_the_packaged_module() -> None:
    module_name, function_name = DIGEST_HANDLER.split(".")
    assert (ROOT / DIGEST_CODE / f"{module_name}.py").is_file()
    module = importlib.import_module(f"functions.waf_samples.{module_name}")
    assert callable(getattr(module, function_name))


def test_without_alerts_logs_still_flow_but_nothing_alarms_or_posts() -> None:
    plan = plan_with(alerts=None)
    # An ALB-only stack: one stream, in its region; the table still projects us-east-1.
    assert [s.region for s in mine(plan, STREAM)] == [REGION]
    assert len(mine(plan, LOGGING)) == 1
    (table,) = mine(plan, TABLE)
    assert table.inputs["parameters"]["projection.region.values"] == f"{REGION},us-east-1"
    assert mine(plan, ALARM) == [] and mine(plan, FUNCTION) == []
