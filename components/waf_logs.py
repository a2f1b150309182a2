"""WAF logs: every web ACL logs into one encrypted S3 bucket; Athena over it; a digest in Slack.

Two deliveries (``guard:logs.delivery``; the key layouts are in :mod:`guard.logs_layout`):

* ``firehose`` (default): each web ACL logs to the Firehose stream of its own region (WAF
  requires that: the CloudFront scope lives in us-east-1), and every stream writes GZIP'd JSON
  lines into the log bucket in the stack's region under ``waf/region=<region>/<yyyy>/<MM>/<dd>/
  <HH>/``. Firehose's own errors go to a log group per region; a stalled stream alarms.
* ``s3``: each web ACL logs straight to the bucket (what WafCharm Advanced reads), which WAF
  writes as the CloudWatch Logs delivery service under ``AWSLogs/<account>/WAFLogs/<region>/
  <web-acl>/``. No Firehose, no delivery role: the bucket and key policies let the delivery
  service of this account's log sources write (:mod:`guard.logs_policies` has AWS's sources).

A Glue table with partition projection makes either layout queryable in Athena without crawlers
or ``MSCK REPAIR`` (:mod:`guard.logs_athena`); saved queries answer what an SRE asks first. The
bucket can notify a SIEM's loader queue (SIEM on Amazon OpenSearch Service reads S3 event
notifications from SQS), and a SIEM loader and the WAF tuning services' roles may read the logs.

Everything IAM or the policies judge (bucket, key and role policies) is built from plain data
(names, account, regions), so ``pulumi preview`` and ``guard plan`` can decide them up front.
The bucket and its key are protected: losing either loses the logs, and logs cannot be redone.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import pulumi
import pulumi_aws as aws
from pulumi_aws.s3 import BucketLifecycleConfigurationRuleArgsDict
from pulumi_aws.wafv2 import (
    WebAclLoggingConfigurationLoggingFilterArgsDict,
    WebAclLoggingConfigurationRedactedFieldArgsDict,
)

from components.iam import PermissionsBoundary, bounded_role
from components.log_bucket import loader_notification, log_bucket
from components.product import ProductProtection, StackWebAcl, stack_web_acls
from components.providers import GLOBAL_REGION, Providers, opts
from components.routes import AlertRoutes
from components.tags import guard_tags
from components.waf_samples import WafSampleDigest
from guard.config.logs import LogsConfig
from guard.config.stack import StackConfig
from guard.logs_athena import (
    ATHENA_ENGINE,
    COLUMNS,
    TABLE,
    database_name,
    partition_keys,
    s3_table_parameters,
    saved_queries,
    table_location,
    table_parameters,
    workgroup_name,
)
from guard.logs_layout import (
    CLOUDFRONT_SEGMENT,
    ERROR_PREFIX,
    KEPT_ACTIONS,
    LOG_PREFIX,
    RESULTS_PREFIX,
    firehose_log_group,
    firehose_role_name,
    log_prefix,
    stream_name,
)
from guard.logs_policies import (
    bucket_policy,
    firehose_role_policy,
    firehose_trust_policy,
    key_policy,
)
from guard.tuner import tuner_role_arns

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


def lifecycle_rules(logs: LogsConfig) -> list[BucketLifecycleConfigurationRuleArgsDict]:
    """Logs and delivery errors expire after retention_days; Athena results after a month.

    With S3 delivery the logs are under ``AWSLogs/``; the Firehose prefixes keep their rules, so
    logs written before a switch from Firehose still expire on schedule.
    """

    def rule(rule_id: str, prefix: str, days: int) -> BucketLifecycleConfigurationRuleArgsDict:
        return {
            "id": rule_id,
            "status": "Enabled",
            "filter": {"prefix": prefix},
            "expiration": {"days": days},
            # Versioning makes a deletion recoverable for a while, not forever.
            "noncurrent_version_expiration": {"noncurrent_days": NONCURRENT_DAYS},
            "abort_incomplete_multipart_upload": {"days_after_initiation": ABORT_MULTIPART_DAYS},
        }

    def logs_rule(rule_id: str, prefix: str) -> BucketLifecycleConfigurationRuleArgsDict:
        kept = rule(rule_id, prefix, logs.retention_days)
        if logs.archive_after_days is not None:
            # Glacier Instant Retrieval: a fraction of the storage price, still readable by
            # Athena at once; objects under 128 KB stay in Standard (S3's default).
            kept["transitions"] = [{"days": logs.archive_after_days, "storage_class": "GLACIER_IR"}]
        return kept

    rules = [logs_rule("waf-logs", log_prefix(logs.delivery))]
    if logs.delivery == "s3":
        rules.append(logs_rule("firehose-logs", LOG_PREFIX))
    return [
        *rules,
        rule("delivery-errors", ERROR_PREFIX, logs.retention_days),
        rule("athena-results", RESULTS_PREFIX, RESULTS_DAYS),
    ]


# --- the component ---------------------------------------------------------------------------


class WafLogs(pulumi.ComponentResource):
    """WAF logging for every web ACL of the stack, and what reads the logs.

    Children: the log bucket (protected) with its public access block, encryption, versioning,
    lifecycle and policy; its KMS key (protected); a logging configuration per web ACL; with
    Firehose delivery, the delivery role and, per region with web ACLs, a delivery stream, its
    error log and a freshness alarm; the Glue database and table; the Athena workgroup and saved
    queries; optionally the SIEM notification and the :class:`WafSampleDigest`.

    ``log_readers``: resources that must exist before the bucket policy names them (the tuning
    services' roles, which it limits to reading): S3 refuses a policy naming an unknown principal.
    """

    bucket_name: str
    #: The Athena workgroup of the saved queries (the ALB log queries join it).
    workgroup: pulumi.Output[str]
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
        log_readers: Sequence[pulumi.Resource] = (),
        opts_: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("guard:logs:WafLogs", "waf-logs", None, opts_)
        logs = config.logs
        if logs is None:
            raise ValueError("WafLogs needs guard:logs")
        account, region = config.account_id, config.region
        tags = guard_tags(stack)
        regional = providers.regional
        acls = stack_web_acls(products, region)
        regions = sorted({acl.region for acl in acls})
        # The regions a web ACL of this stack can log from. S3 delivery's bucket and key
        # policies name both whether or not a CloudFront web ACL exists yet, so adding one
        # changes no key policy (the deploy role may not: key policies are an administrator's).
        source_regions = sorted({region, GLOBAL_REGION})
        # The SIEM's loader (guard:siem, or the deprecated guard:logs.opensearch it replaces).
        siem = config.siem
        reader = siem.loader_role_arn if siem is not None else None
        tuners = tuner_role_arns(config, stack)
        firehose = logs.delivery == "firehose"
        self.bucket_name = logs.bucket
        role_name = firehose_role_name(stack)
        role_arn = f"arn:aws:iam::{account}:role/{role_name}"

        key = aws.kms.Key(
            "key",
            description=f"guard {stack}: encrypts the WAF logs and Athena results",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            policy=json.dumps(
                key_policy(
                    account_id=account,
                    region=region,
                    delivery=logs.delivery,
                    source_regions=source_regions,
                    reader_role_arn=reader,
                )
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
        created = log_bucket(
            self,
            name=logs.bucket,
            provider=regional,
            tags=tags,
            encryption={
                "apply_server_side_encryption_by_default": {
                    "sse_algorithm": "aws:kms",
                    "kms_master_key_id": key.arn,
                },
                # One data key per bucket instead of per object: far fewer KMS requests.
                "bucket_key_enabled": True,
            },
            lifecycle=lifecycle_rules(logs),
        )
        bucket, encryption = created.bucket, created.encryption
        role: aws.iam.Role | None = None
        role_policy: aws.iam.RolePolicy | None = None
        if firehose:
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
                    bucket=logs.bucket,
                    delivery=logs.delivery,
                    account_id=account,
                    delivery_role_arn=role_arn if firehose else None,
                    source_regions=source_regions,
                    reader_role_arn=reader,
                    tuner_role_arns=tuners,
                )
            ),
            opts=opts(
                self,
                regional,
                depends_on=[*([role] if role is not None else []), *log_readers],
            ),
        )
        loader_notification(
            self,
            bucket=bucket,
            queue_arn=siem.loader_queue_arn if siem is not None else None,
            prefix=log_prefix(logs.delivery),
            provider=regional,
        )

        self.stream_arns = {}
        destinations: dict[str, pulumi.Input[str]] = {}
        if role is not None and role_policy is not None:
            for log_region in regions:
                stream = self._stream(
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
                self.stream_arns[log_region] = stream.arn
                destinations[log_region] = stream.arn
        for acl in acls:
            # In the web ACL's region: WAF logs only to a stream of its own region; a bucket in
            # the stack's region takes both regions' direct deliveries.
            aws.wafv2.WebAclLoggingConfiguration(
                acl.name,
                resource_arn=acl.web_acl.arn,
                log_destination_configs=[destinations[acl.region] if firehose else bucket.arn],
                redacted_fields=redacted_fields(logs.redact_fields),
                logging_filter=logging_filter(logs.filter),
                opts=opts(
                    self,
                    providers.for_region(acl.region),
                    # Without guard's statements in place, WAF writes its own into the bucket
                    # policy (which the next deploy would undo); the first files are encrypted
                    # with the log key only once the default is set.
                    **({} if firehose else {"depends_on": [bucket_policy_resource, encryption]}),
                ),
            )

        database = aws.glue.CatalogDatabase(
            "database",
            name=database_name(stack),
            description=f"guard {stack}: WAF logs in s3://{logs.bucket}/{log_prefix(logs.delivery)}",
            opts=opts(self, regional),
        )
        self._table(logs, account, region, acls, database, regional)
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
        self.workgroup = workgroup.name
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

    def _table(
        self,
        logs: LogsConfig,
        account: str,
        region: str,
        acls: Sequence[StackWebAcl],
        database: aws.glue.CatalogDatabase,
        provider: aws.Provider,
    ) -> aws.glue.CatalogTable:
        """The Glue table over the delivery's key layout, partitions projected."""
        if logs.delivery == "s3":
            description = (
                "WAF log records, one JSON object per line, GZIP, written by WAF; "
                "partitions projected"
            )
            parameters = s3_table_parameters(
                bucket=logs.bucket,
                account_id=account,
                # Both possible segments, web ACLs there or not (as for Firehose below).
                regions=sorted({region, CLOUDFRONT_SEGMENT}),
                web_acls=sorted({acl.name for acl in acls}),
                retention_days=logs.retention_days,
            )
        else:
            description = "WAF log records, one JSON object per line, GZIP; partitions projected"
            # Both possible regions, streams or not: logs of a region whose last web ACL went
            # away stay queryable until they expire, and an empty prefix costs nothing.
            parameters = table_parameters(
                logs.bucket, sorted({region, GLOBAL_REGION}), logs.retention_days
            )
        return aws.glue.CatalogTable(
            "table",
            name=TABLE,
            database_name=database.name,
            description=description,
            table_type="EXTERNAL_TABLE",
            parameters=parameters,
            partition_keys=[
                {"name": n, "type": t, "comment": c} for n, t, c in partition_keys(logs.delivery)
            ],
            storage_descriptor={
                "location": table_location(logs.bucket, logs.delivery, account),
                "input_format": "org.apache.hadoop.mapred.TextInputFormat",
                "output_format": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
                "ser_de_info": {
                    "serialization_library": "org.openx.data.jsonserde.JsonSerDe",
                    # A truncated line reads as NULLs instead of failing the whole query.
                    "parameters": {"ignore.malformed.json": "true"},
                },
                "columns": [{"name": n, "type": t, "comment": c} for n, t, c in COLUMNS],
            },
            opts=opts(self, provider),
        )

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
