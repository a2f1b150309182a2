"""ALB access logs: one bucket beside the WAF logs, Athena over it, a SIEM notified of new logs.

guard does not turn access logs on: a load balancer belongs to its product's team. The stack
declares where the logs go and exports, per ALB endpoint, the bucket and prefix its owner sets
(``access_logs.s3.bucket`` and ``access_logs.s3.prefix``; :attr:`AlbLogs.handoffs`, the stack
output ``alb_access_logs``); ``guard audit`` reports load balancers whose logs are off or go
elsewhere. ELB then writes under ``alb/<product>/<endpoint>/AWSLogs/<account>/
elasticloadbalancing/<region>/<yyyy>/<mm>/<dd>/``.

The bucket is not the WAF log bucket, and not encrypted with guard's log key: ALB access logs
support only SSE-S3 (:mod:`guard.logs_alb` has AWS's words). Everything IAM and the policy pack
judge is plain data from :mod:`guard.logs_alb` and :mod:`guard.logs_athena_alb`. The bucket is
protected: logs cannot be redone.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from components.log_bucket import loader_notification, log_bucket
from components.product import ProductProtection
from components.providers import Providers, opts
from components.tags import guard_tags
from guard.config.stack import StackConfig
from guard.logs_alb import LOG_SUFFIX, SSE_ALGORITHM, alb_bucket_policy, alb_lifecycle_rules
from guard.logs_athena_alb import (
    ALB_TABLE,
    COLUMNS,
    INPUT_FORMAT,
    OUTPUT_FORMAT,
    PARTITION_KEYS,
    SERDE,
    SERDE_PARAMETERS,
    alb_database_name,
    alb_saved_queries,
    alb_table_location,
    alb_table_parameters,
)
from guard.logs_layout import ALB_PREFIX, alb_log_prefix


class AlbLogs(pulumi.ComponentResource):
    """The ALB access log bucket and what reads it.

    Children: the bucket (protected) with its public access block, SSE-S3 default encryption,
    versioning, ownership controls, lifecycle and policy; with a SIEM loader queue, the S3
    notification; the Glue database and table; a saved query per question in ``workgroup``
    (the WAF logs' workgroup: its results are encrypted and its scans capped).

    ``handoffs``: ``"<product>/<endpoint>"`` of every ALB endpoint -> the load balancer's ARN and
    the bucket and prefix its owner sets.
    """

    bucket_name: str
    handoffs: dict[str, dict[str, str]]

    def __init__(
        self,
        config: StackConfig,
        *,
        stack: str,
        providers: Providers,
        products: Sequence[ProductProtection],
        workgroup: pulumi.Input[str],
        opts_: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("guard:logs:AlbLogs", "alb-logs", None, opts_)
        alb = config.logs.alb if config.logs is not None else None
        if alb is None:
            raise ValueError("AlbLogs needs guard:logs.alb")
        account, region = config.account_id, config.region
        regional = providers.regional
        siem = config.siem
        self.bucket_name = alb.bucket
        endpoints = [
            (p.product.name, e.name, e.arn) for p in products for e in p.product.endpoints_of("alb")
        ]
        self.handoffs = {
            f"{product}/{name}": {
                "load_balancer": arn,
                "bucket": alb.bucket,
                "prefix": alb_log_prefix(product, name),
            }
            for product, name, arn in endpoints
        }

        # SSE-S3, not guard's KMS key: "The only server-side encryption option that's supported
        # is Amazon S3-managed keys (SSE-S3)" (ELB User Guide, "Enable access logs for your
        # Application Load Balancer", Step 1, docs.aws.amazon.com/elasticloadbalancing/latest/
        # application/enable-access-logging.html); with SSE-KMS, delivery fails.
        created = log_bucket(
            self,
            name=alb.bucket,
            provider=regional,
            tags=guard_tags(stack),
            encryption={
                "apply_server_side_encryption_by_default": {"sse_algorithm": SSE_ALGORITHM}
            },
            lifecycle=alb_lifecycle_rules(alb.retention_days),
        )
        bucket, encryption = created.bucket, created.encryption
        # ACLs disabled, every object the bucket owner's whoever wrote it: S3's default for new
        # buckets and its recommendation ("we recommend that you keep ACLs disabled", Amazon S3
        # User Guide, "Controlling ownership of objects and disabling ACLs for your bucket",
        # about-object-ownership.html). ELB's bucket policy needs no ACL; declaring it keeps a
        # console change from handing log objects to their writer.
        aws.s3.BucketOwnershipControls(
            "bucket",
            bucket=bucket.id,
            rule={"object_ownership": "BucketOwnerEnforced"},
            opts=opts(self, regional),
        )
        policy = aws.s3.BucketPolicy(
            "bucket",
            bucket=bucket.id,
            policy=json.dumps(
                alb_bucket_policy(
                    bucket=alb.bucket,
                    account_id=account,
                    region=region,
                    reader_role_arn=siem.loader_role_arn if siem is not None else None,
                )
            ),
            opts=opts(self, regional),
        )
        loader_notification(
            self,
            bucket=bucket,
            queue_arn=siem.loader_queue_arn if siem is not None else None,
            prefix=ALB_PREFIX,
            # Leaves out ELB's ELBAccessLogTestFile, written when an owner turns logs on.
            suffix=LOG_SUFFIX,
            provider=regional,
            # The loader reads what it is told of: only once the policy lets it, and only
            # objects encrypted the way ELB needs.
            depends_on=[policy, encryption],
        )

        database = aws.glue.CatalogDatabase(
            "database",
            name=alb_database_name(stack),
            description=f"guard {stack}: ALB access logs in s3://{alb.bucket}/{ALB_PREFIX}",
            opts=opts(self, regional),
        )
        if endpoints:
            # Partition projection enumerates the stack's ALB endpoints: none, no table.
            self._table(
                bucket_name=alb.bucket,
                account=account,
                region=region,
                endpoints=[(product, name) for product, name, _ in endpoints],
                retention_days=alb.retention_days,
                database=database,
                provider=regional,
            )
            for query in alb_saved_queries(alb_database_name(stack)):
                aws.athena.NamedQuery(
                    f"query-{query.key}",
                    name=query.name,
                    description=query.description,
                    database=database.name,
                    workgroup=workgroup,
                    query=query.sql,
                    opts=opts(self, regional),
                )
        self.register_outputs(
            {"bucket": alb.bucket, "database": database.name, "handoffs": self.handoffs}
        )

    def _table(
        self,
        *,
        bucket_name: str,
        account: str,
        region: str,
        endpoints: Sequence[tuple[str, str]],
        retention_days: int,
        database: aws.glue.CatalogDatabase,
        provider: aws.Provider,
    ) -> aws.glue.CatalogTable:
        """AWS's ALB access log table (RegexSerDe), partitions projected per endpoint and day."""
        return aws.glue.CatalogTable(
            "table",
            name=ALB_TABLE,
            database_name=database.name,
            description="ALB access log entries, one per line, GZIP; partitions projected",
            table_type="EXTERNAL_TABLE",
            parameters=alb_table_parameters(
                bucket_name, account, region, endpoints, retention_days
            ),
            partition_keys=[{"name": n, "type": t, "comment": c} for n, t, c in PARTITION_KEYS],
            storage_descriptor={
                "location": alb_table_location(bucket_name),
                "input_format": INPUT_FORMAT,
                "output_format": OUTPUT_FORMAT,
                "ser_de_info": {
                    "serialization_library": SERDE,
                    "parameters": dict(SERDE_PARAMETERS),
                },
                "columns": [{"name": n, "type": t, "comment": c} for n, t, c in COLUMNS],
            },
            opts=opts(self, provider),
        )
