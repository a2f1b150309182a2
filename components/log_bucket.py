"""guard's log bucket building block: a protected bucket with all public access blocked, default
encryption, versioning and lifecycle rules, as children of the component that owns it.

The WAF log bucket (``components/waf_logs.py``, SSE-KMS with guard's key) and the ALB access log
bucket (``components/alb_logs.py``, SSE-S3, the only encryption ELB writes) differ in their
encryption, lifecycle and policy; the shape is the same, and the ``s3-bucket-baseline`` policy
holds every bucket to it. The bucket policy stays with each component (who may write differs
per log); :func:`loader_notification` tells the SIEM's loader of new objects in either.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
from pulumi_aws.s3 import (
    BucketLifecycleConfigurationRuleArgsDict,
    BucketNotificationQueueArgsDict,
    BucketServerSideEncryptionConfigurationRuleArgsDict,
)

from components.providers import opts


@dataclass(frozen=True)
class LogBucket:
    """The bucket, and its encryption setting (what the first log objects must wait for)."""

    bucket: aws.s3.Bucket
    encryption: aws.s3.BucketServerSideEncryptionConfiguration


def log_bucket(
    parent: pulumi.Resource,
    *,
    name: str,
    provider: aws.Provider,
    tags: dict[str, str],
    encryption: BucketServerSideEncryptionConfigurationRuleArgsDict,
    lifecycle: Sequence[BucketLifecycleConfigurationRuleArgsDict],
) -> LogBucket:
    """The bucket (``bucket``, protected: logs cannot be redone) and its settings, all named
    ``bucket`` under ``parent``."""
    bucket = aws.s3.Bucket(
        "bucket", bucket=name, tags=tags, opts=opts(parent, provider, protect=True)
    )
    aws.s3.BucketPublicAccessBlock(
        "bucket",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=opts(parent, provider),
    )
    encryption_setting = aws.s3.BucketServerSideEncryptionConfiguration(
        "bucket", bucket=bucket.id, rules=[encryption], opts=opts(parent, provider)
    )
    aws.s3.BucketVersioning(
        "bucket",
        bucket=bucket.id,
        versioning_configuration={"status": "Enabled"},
        opts=opts(parent, provider),
    )
    aws.s3.BucketLifecycleConfiguration(
        "bucket", bucket=bucket.id, rules=list(lifecycle), opts=opts(parent, provider)
    )
    return LogBucket(bucket, encryption_setting)


def loader_notification(
    parent: pulumi.Resource,
    *,
    bucket: aws.s3.Bucket,
    queue_arn: str | None,
    prefix: str,
    provider: aws.Provider,
    suffix: str | None = None,
    depends_on: Sequence[pulumi.Resource] = (),
) -> None:
    """The bucket's S3 event notification (``bucket``): the SIEM's loader learns of each new
    log object under ``prefix`` from its queue. Nothing without a queue."""
    if queue_arn is None:
        return
    queue: BucketNotificationQueueArgsDict = {
        "queue_arn": queue_arn,
        "events": ["s3:ObjectCreated:*"],
        "filter_prefix": prefix,
    }
    if suffix is not None:
        queue["filter_suffix"] = suffix
    aws.s3.BucketNotification(
        "bucket",
        bucket=bucket.id,
        queues=[queue],
        opts=opts(parent, provider, **({"depends_on": list(depends_on)} if depends_on else {})),
    )
