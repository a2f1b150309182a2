"""The WAF log bucket's, key's and roles' policy documents, as plain data.

Everything IAM or the policy pack judges is built from names, the account and regions, so
``pulumi preview`` and ``guard plan`` can decide it before anything exists.

S3 delivery (``guard:logs.delivery: s3``) writes as the CloudWatch Logs delivery service
(``delivery.logs.amazonaws.com``). At PutLoggingConfiguration WAF adds the statements that
service needs to the bucket policy unless the policy already has them, and guard's BucketPolicy
resource would then undo WAF's edit on the next deploy. guard declares them itself, as AWS
documents them: the bucket statements ``AWSLogDeliveryWrite`` and ``AWSLogDeliveryAclCheck`` and
the key statement ``Allow Logs Delivery to use the key``, each limited with ``aws:SourceAccount``
and ``aws:SourceArn`` to this account's log sources (Amazon CloudWatch Logs User Guide, "Enabling
logging from AWS services", section "Logs sent to Amazon S3", bucket policy and "Amazon S3
bucket server-side encryption"; AWS WAF Developer Guide, logging-s3.html: "the bucket policy
WAF creates", and its permissions). Both keep working with S3 Object Ownership "bucket owner
enforced" (ACLs disabled): S3 still accepts the ``bucket-owner-full-control`` canned ACL the
delivery service sends.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from guard.logs_layout import (
    ERROR_PREFIX,
    LOG_DELIVERY_SERVICE,
    LOG_PREFIX,
    Delivery,
    digest_function_name,
    firehose_log_group,
    log_prefix,
)

VERSION = "2012-10-17"
#: What the log delivery service may do with the key (the CloudWatch Logs User Guide's statement).
LOG_DELIVERY_KEY_ACTIONS = (
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:DescribeKey",
)
#: A tuner's role may read log objects and list the log prefix; nothing else on the bucket.
TUNER_BUCKET_ACTIONS = ("s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation")


def bucket_arn(bucket: str) -> str:
    return f"arn:aws:s3:::{bucket}"


def _statement(sid: str, actions: Sequence[str], resources: Sequence[str]) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": list(actions), "Resource": list(resources)}


def log_source_arns(account_id: str, regions: Sequence[str]) -> list[str]:
    """``arn:aws:logs:<region>:<account>:*``: this account's log sources in those regions.

    A web ACL's delivery source is in the web ACL's region, us-east-1 for CloudFront.
    """
    return [f"arn:aws:logs:{region}:{account_id}:*" for region in regions]


def _from_our_log_sources(account_id: str, regions: Sequence[str]) -> dict[str, Any]:
    if not regions:
        raise ValueError("S3 delivery names the regions of its log sources: none given")
    return {
        "StringEquals": {"aws:SourceAccount": [account_id]},
        "ArnLike": {"aws:SourceArn": log_source_arns(account_id, regions)},
    }


# --- Firehose's role -------------------------------------------------------------------------


def firehose_trust_policy(account_id: str) -> dict[str, Any]:
    """Firehose of this account only: it passes the account as the external ID."""
    return {
        "Version": VERSION,
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
    arn = bucket_arn(bucket)
    return {
        "Version": VERSION,
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


# --- the bucket ------------------------------------------------------------------------------


def _log_delivery_statements(
    bucket: str, account_id: str, source_regions: Sequence[str]
) -> list[dict[str, Any]]:
    """The CloudWatch Logs User Guide's two statements for vended logs delivered to S3."""
    arn = bucket_arn(bucket)
    sources = _from_our_log_sources(account_id, source_regions)
    return [
        {
            "Sid": "AWSLogDeliveryWrite",
            "Effect": "Allow",
            "Principal": {"Service": LOG_DELIVERY_SERVICE},
            "Action": "s3:PutObject",
            "Resource": f"{arn}/AWSLogs/{account_id}/*",
            "Condition": {
                "StringEquals": {
                    "s3:x-amz-acl": "bucket-owner-full-control",
                    **sources["StringEquals"],
                },
                "ArnLike": sources["ArnLike"],
            },
        },
        {
            "Sid": "AWSLogDeliveryAclCheck",
            "Effect": "Allow",
            "Principal": {"Service": LOG_DELIVERY_SERVICE},
            "Action": "s3:GetBucketAcl",
            "Resource": arn,
            "Condition": sources,
        },
    ]


def _tuner_statements(bucket: str, prefix: str, tuner_role_arns: Sequence[str]) -> list[Any]:
    """A tuning service's role never does more than read here, whatever its own policy says.

    What it reads (its web ACLs' log prefixes) is granted by the role's own policy
    (guard.tuner_policy): within one account that is enough, and an Allow here would widen it
    to the whole prefix. The Deny holds even if the role's policy were widened: the role is
    assumed by a third party, and logs are evidence it must not change. (``prefix`` stays in the
    signature for the callers; the Deny covers the whole bucket.)
    """
    if not tuner_role_arns:
        return []
    arn = bucket_arn(bucket)
    principal = {"AWS": sorted(tuner_role_arns)}
    return [
        {
            "Sid": "TunersOnlyRead",
            "Effect": "Deny",
            "Principal": principal,
            "NotAction": list(TUNER_BUCKET_ACTIONS),
            "Resource": [arn, f"{arn}/*"],
        },
    ]


def bucket_policy(
    *,
    bucket: str,
    delivery: Delivery,
    account_id: str,
    delivery_role_arn: str | None,
    source_regions: Sequence[str],
    reader_role_arn: str | None,
    tuner_role_arns: Sequence[str],
) -> dict[str, Any]:
    """The log bucket's policy: only the delivery writes logs, nothing without TLS.

    ``firehose``: the delivery role (``delivery_role_arn``) writes. ``s3``: the log delivery
    service writes for this account's WAF log sources in ``source_regions``. Everyone else in
    the account reads through their own IAM permissions (Athena users); the principals named
    here are the SIEM's loader and the tuning services' roles, if configured.
    """
    arn = bucket_arn(bucket)
    prefix = log_prefix(delivery)
    statements: list[dict[str, Any]] = []
    if delivery == "s3":
        statements += _log_delivery_statements(bucket, account_id, source_regions)
        # Logs are evidence: no one but the delivery adds or replaces them. The delivery service
        # writes as a service principal, whose requests carry aws:PrincipalIsAWSService true;
        # every IAM principal (this account's or another's) carries false. The exemption is
        # IAM's documented way to let a service principal past a Deny (IAM User Guide, global
        # condition keys, aws:PrincipalIsAWSService) and opens nothing by itself: a service
        # principal has no IAM policy, so it writes only what an Allow above grants it, and
        # the one named is the delivery service of this account's log sources.
        only_delivery_writes = {"BoolIfExists": {"aws:PrincipalIsAWSService": "false"}}
        log_objects = [f"{arn}/{prefix}*"]
    else:
        assert delivery_role_arn is not None, "firehose delivery needs its role"
        log_objects = [f"{arn}/{LOG_PREFIX}*", f"{arn}/{ERROR_PREFIX}*"]
        statements.append(
            {
                "Sid": "DeliveryRoleWrites",
                "Effect": "Allow",
                "Principal": {"AWS": delivery_role_arn},
                "Action": ["s3:PutObject", "s3:AbortMultipartUpload"],
                "Resource": log_objects,
            }
        )
        only_delivery_writes = {"ArnNotEquals": {"aws:PrincipalArn": delivery_role_arn}}
    if reader_role_arn is not None:
        statements.append(siem_loader_reads(arn, prefix, reader_role_arn))
    statements += _tuner_statements(bucket, prefix, tuner_role_arns)
    statements += [
        {
            # Logs are evidence: no one but the delivery adds or replaces them.
            "Sid": "OnlyDeliveryWritesLogs",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": log_objects,
            "Condition": only_delivery_writes,
        },
        tls_only(arn),
    ]
    return {"Version": VERSION, "Statement": statements}


def siem_loader_reads(arn: str, prefix: str, reader_role_arn: str) -> dict[str, Any]:
    """A log bucket's statement letting the SIEM's loader role read the logs under ``prefix``."""
    return {
        "Sid": "SiemLoaderReads",
        "Effect": "Allow",
        "Principal": {"AWS": reader_role_arn},
        "Action": "s3:GetObject",
        "Resource": f"{arn}/{prefix}*",
    }


def tls_only(arn: str) -> dict[str, Any]:
    """A log bucket's statement refusing every request without TLS (Security Hub S3.5)."""
    return {
        "Sid": "TlsOnly",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [arn, f"{arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


# --- the key ---------------------------------------------------------------------------------


def key_policy(
    *,
    account_id: str,
    region: str,
    delivery: Delivery,
    source_regions: Sequence[str],
    reader_role_arn: str | None,
) -> dict[str, Any]:
    """The log key: the account administers it through IAM; the S3 delivery service encrypts
    with it for this account's log sources; a SIEM loader decrypts via S3. (A tuner's role
    decrypts through its own policy, via S3 only, which the account statement lets IAM grant.)"""
    statements: list[dict[str, Any]] = [
        {
            "Sid": "AccountAdministers",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]
    if delivery == "s3":
        statements.append(
            {
                "Sid": "Allow Logs Delivery to use the key",
                "Effect": "Allow",
                "Principal": {"Service": [LOG_DELIVERY_SERVICE]},
                "Action": list(LOG_DELIVERY_KEY_ACTIONS),
                "Resource": "*",
                "Condition": _from_our_log_sources(account_id, source_regions),
            }
        )
    through_s3 = {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}}
    if reader_role_arn is not None:
        statements.append(
            {
                "Sid": "SiemLoaderDecryptsThroughS3",
                "Effect": "Allow",
                "Principal": {"AWS": reader_role_arn},
                "Action": "kms:Decrypt",
                "Resource": "*",
                "Condition": through_s3,
            }
        )
    return {"Version": VERSION, "Statement": statements}


# --- the sample digest's role ----------------------------------------------------------------


def digest_policy(
    *,
    stack: str,
    region: str,
    account_id: str,
    topic_arn: str,
    web_acl_arn_patterns: Sequence[str],
) -> dict[str, Any]:
    """The digest function's permissions: read its web ACLs' samples, publish one topic."""
    name = digest_function_name(stack)
    return {
        "Version": VERSION,
        "Statement": [
            _statement(
                "ReadSamples",
                ["wafv2:GetWebACL", "wafv2:GetSampledRequests"],
                sorted(web_acl_arn_patterns),
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
