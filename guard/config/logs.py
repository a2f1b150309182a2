"""WAF log delivery and analysis settings (``guard:logs``).

Every web ACL of the stack logs into one encrypted S3 bucket, through Amazon Data Firehose or
(``delivery: s3``) directly, where Athena queries it and a SIEM on OpenSearch can load it;
``samples_to_slack`` adds an hourly digest of blocked and counted sample requests. Checks that
need other sections (``guard:alerts``, the stack's region, ``guard:shield``, the WAF tuners)
live in :mod:`guard.logs_checks`.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from guard.config.base import StrictModel

#: S3's naming rules for a general purpose bucket, less dots: a dotted name breaks TLS for
#: virtual-hosted requests (the certificate is *.s3.amazonaws.com), and this bucket is TLS-only.
BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
#: Prefixes and suffixes S3 reserves for its own features.
BUCKET_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
BUCKET_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", "--x-s3", "--table-s3")
#: An HTTP header name (RFC 9110 token), as WAF's SingleHeader accepts it: 1 to 64 characters.
HEADER_RE = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$")
#: WAF's limit on redacted fields in one logging configuration.
MAX_REDACTED_FIELDS = 100
WORKGROUP_RE = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
SQS_ARN_RE = re.compile(
    r"^arn:aws:sqs:(?P<region>[a-z]{2}(-gov)?-[a-z]+-\d):(?P<account>\d{12}):"
    r"(?P<name>[A-Za-z0-9_-]{1,80}(?P<fifo>\.fifo)?)$"
)
ROLE_ARN_RE = re.compile(r"^arn:aws:iam::(?P<account>\d{12}):role/[\w+=,.@/-]{1,512}$")
#: Headers that carry credentials: logged unredacted, the log bucket holds live sessions.
CREDENTIAL_HEADERS = ("authorization", "cookie")
MIN_RETENTION_DAYS = 7
MAX_RETENTION_DAYS = 3650
#: S3 Glacier Instant Retrieval bills at least 90 days of storage per object.
GLACIER_IR_MIN_DAYS = 90
#: S3 lifecycle moves objects to an infrequent-access class only once they are 30 days old.
MIN_ARCHIVE_AFTER_DAYS = 30
MAX_SCAN_LIMIT_GB = 1024
#: WAF logs straight to S3 only into a bucket named so (AWS WAF Developer Guide, logging-s3).
S3_DELIVERY_BUCKET_PREFIX = "aws-waf-logs-"


def _bucket(value: str) -> str:
    if (
        not BUCKET_RE.match(value)
        or value.startswith(BUCKET_RESERVED_PREFIXES)
        or value.endswith(BUCKET_RESERVED_SUFFIXES)
    ):
        raise ValueError(
            "must be a new S3 bucket name, unique across all AWS accounts: 3 to 63 lowercase "
            "letters, digits and '-', starting and ending with a letter or digit, no dots (TLS "
            "to a dotted bucket name fails), not starting with xn--, sthree- or amzn-s3-demo-, "
            "e.g. example-prod-waf-logs"
        )
    return value


def _retention(value: int) -> int:
    if not MIN_RETENTION_DAYS <= value <= MAX_RETENTION_DAYS:
        raise ValueError(
            f"must be {MIN_RETENTION_DAYS} to {MAX_RETENTION_DAYS} days: how long WAF logs are "
            "kept before S3 deletes them (a week is the least an incident review needs)"
        )
    return value


def _archive_after(value: int) -> int:
    if value < MIN_ARCHIVE_AFTER_DAYS:
        raise ValueError(
            f"must be at least {MIN_ARCHIVE_AFTER_DAYS} days: S3 moves objects to a cheaper "
            "storage class only once they are 30 days old"
        )
    return value


def _header(value: str) -> str:
    if not HEADER_RE.match(value):
        raise ValueError(
            "must be an HTTP header name of 1 to 64 characters (letters, digits and "
            "!#$%&'*+.^_`|~-), e.g. authorization, cookie or x-api-key"
        )
    # Header names are case-insensitive; one spelling keeps duplicates detectable.
    return value.lower()


def _unique_headers(values: list[str]) -> list[str]:
    duplicates = sorted({v for v in values if values.count(v) > 1})
    if duplicates:
        raise ValueError(f"each header once: {', '.join(duplicates)} is listed twice")
    return values


def _workgroup(value: str) -> str:
    if not WORKGROUP_RE.match(value):
        raise ValueError(
            "must be an Athena workgroup name: 1 to 128 letters, digits, '.', '_' and '-'"
        )
    if value == "primary":
        raise ValueError(
            "'primary' is the workgroup every account already has; guard declares its own "
            "(leave workgroup out for guard-<stack>-waf-logs)"
        )
    return value


def _scan_limit(value: int) -> int:
    if not 1 <= value <= MAX_SCAN_LIMIT_GB:
        raise ValueError(
            f"must be 1 to {MAX_SCAN_LIMIT_GB} GB: Athena cancels a query of this workgroup "
            "once it has scanned this much (Athena bills per byte scanned)"
        )
    return value


def _queue_arn(value: str) -> str:
    match = SQS_ARN_RE.match(value)
    if not match:
        raise ValueError(
            "must be an SQS queue ARN, arn:aws:sqs:<region>:<account>:<queue>, e.g. the "
            "loader queue of SIEM on Amazon OpenSearch Service"
        )
    if match["fifo"]:
        raise ValueError("must be a standard queue: S3 event notifications cannot go to FIFO")
    return value


def _role_arn(value: str) -> str:
    if not ROLE_ARN_RE.match(value):
        raise ValueError("must be an IAM role ARN, arn:aws:iam::<account>:role/<name>")
    return value


BucketName = Annotated[str, AfterValidator(_bucket)]
HeaderName = Annotated[str, AfterValidator(_header)]
WorkgroupName = Annotated[str, AfterValidator(_workgroup)]
QueueArn = Annotated[str, AfterValidator(_queue_arn)]
RoleArn = Annotated[str, AfterValidator(_role_arn)]
LogFilter = Literal["all", "blocked-and-counted"]


class AthenaConfig(StrictModel):
    """``guard:logs.athena``: the workgroup the saved queries run in."""

    workgroup: WorkgroupName | None = None
    scan_limit_gb: Annotated[int, AfterValidator(_scan_limit)] = 10


class OpenSearchConfig(StrictModel):
    """``guard:logs.opensearch`` (deprecated, now ``guard:siem``): hand new log objects to a
    SIEM's loader.

    S3 notifies ``queue_arn`` of every new log object (the queue must be in the stack's region),
    and ``reader_role_arn`` (the loader's role) may read and decrypt them. Built for SIEM on
    Amazon OpenSearch Service; any loader that reads S3 event notifications from SQS works.
    """

    queue_arn: QueueArn
    reader_role_arn: RoleArn


class AlbLogsConfig(StrictModel):
    """``guard:logs.alb``: a bucket for the stack's ALB access logs (their owners turn them on).

    ALB access logs support only SSE-S3 encryption, so this bucket is not encrypted with guard's
    log key; each ALB endpoint's owner sets the exported bucket and prefix on the load balancer.
    """

    bucket: BucketName
    retention_days: Annotated[int, AfterValidator(_retention)] = 90


class LogsConfig(StrictModel):
    """``guard:logs``: where WAF logs go, how long they are kept, and who sees them."""

    bucket: BucketName
    #: firehose: each region's Firehose stream writes to the bucket; s3: every web ACL logs
    #: straight to the bucket (what WafCharm Advanced needs; the name must start aws-waf-logs-).
    delivery: Literal["firehose", "s3"] = "firehose"
    retention_days: Annotated[int, AfterValidator(_retention)] = 365
    archive_after_days: Annotated[int, AfterValidator(_archive_after)] | None = None
    redact_fields: Annotated[
        list[HeaderName],
        Field(max_length=MAX_REDACTED_FIELDS),
        AfterValidator(_unique_headers),
    ] = list(CREDENTIAL_HEADERS)
    filter: LogFilter = "all"
    athena: AthenaConfig = AthenaConfig()
    #: Deprecated: guard:siem.loader_queue_arn and loader_role_arn (still read, with a warning).
    opensearch: OpenSearchConfig | None = None
    samples_to_slack: bool = False
    alb: AlbLogsConfig | None = None

    @model_validator(mode="after")
    def _bucket_fits_delivery(self) -> LogsConfig:
        if self.delivery == "s3" and not self.bucket.startswith(S3_DELIVERY_BUCKET_PREFIX):
            raise ValueError(
                f"delivery: s3 needs a bucket whose name starts with {S3_DELIVERY_BUCKET_PREFIX} "
                f"(AWS WAF logs directly only to such a bucket), and {self.bucket} does not: "
                f"name a new bucket {S3_DELIVERY_BUCKET_PREFIX}<name>, e.g. "
                f"{S3_DELIVERY_BUCKET_PREFIX}example-prod, or use delivery: firehose, which "
                "writes to a bucket of any name"
            )
        return self
