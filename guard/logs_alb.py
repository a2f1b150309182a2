"""The ALB access log bucket as plain data: who may write and read it, and how long logs stay.

Each ALB endpoint's owner turns access logs on with the stack's bucket and the prefix
``alb/<product>/<endpoint>`` (:func:`guard.logs_layout.alb_log_prefix`); ELB then writes
``<prefix>/AWSLogs/<account>/elasticloadbalancing/<region>/<yyyy>/<mm>/<dd>/<file>.log.gz``
(ELB User Guide for Application Load Balancers, "Access logs for your Application Load Balancer",
docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-access-logs.html).

What AWS documents, and what guard does with it ("Enable access logs for your Application Load
Balancer", docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html,
Step 1 and Step 2; the same text for ALB connection logs, enable-connection-logging.html, and in
the awsdocs archive of the guide, github.com/awsdocs/elb-application-load-balancers-user-guide,
doc_source/enable-access-logging.md at 01a945e):

* **Encryption.** "The only server-side encryption option that's supported is Amazon S3-managed
  keys (SSE-S3)." A bucket whose default encryption is SSE-KMS makes delivery fail ("The bucket
  uses an unsupported server-side encryption option", the page's Troubleshooting). So this
  bucket is AES256, not guard's WAF log key. (Network Load Balancers do take SSE-KMS; ALBs do
  not: elasticloadbalancing/latest/network/load-balancer-access-logs.html.)
* **Who writes.** Until 2023 the page gave two policies: the log delivery service principal
  ``logdelivery.elasticloadbalancing.amazonaws.com`` for "Regions available as of August 2022 or
  later" and, for "Regions available before August 2022", the Region's Elastic Load Balancing
  account (``arn:aws:iam::<elb-account-id>:root``). The page now gives the service principal for
  every Region: "Previously, for Regions available before August 2022, we required a policy that
  granted permissions to an Elastic Load Balancing account that was specific to the Region. This
  legacy policy is still supported, but we recommend that you replace it with the newer policy
  above", and lists the accounts "for reference", adding that Regions not in the list never
  supported the legacy policy. guard follows the recommendation: the service principal in every
  Region (:func:`log_writer_principal`); ``legacy=True`` gives the old principal, for a bucket
  policy that must match what an older setup expects (:data:`ELB_ACCOUNT_IDS`).
* **Scope.** Either policy allows only ``s3:PutObject`` on
  ``<bucket>/<prefix>/AWSLogs/<account-id>/*``, with no condition: "Always include the account ID
  of the account with the load balancer in the resource path ... This ensures that only load
  balancers from the specified account can write access logs to the S3 bucket"; and a prefix
  "must not include AWSLogs" (Step 3), so another account's load balancer cannot aim its own
  ``AWSLogs/<its account>/`` path into ours.
  guard adds no ``aws:SourceArn``/``aws:SourceAccount`` condition: AWS documents none for ELB, and
  a condition on a key the delivery does not send would silently turn the Allow off.
* **The test file.** On enabling, ELB writes ``<prefix>/AWSLogs/<account>/ELBAccessLogTestFile``
  (Step 4): inside the Allow, and skipped by the SIEM notification's ``.log.gz`` suffix.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from guard.logs_layout import ALB_PREFIX
from guard.logs_policies import VERSION, bucket_arn, siem_loader_reads, tls_only

if TYPE_CHECKING:  # the rule shape pulumi-aws takes, for the type checker only
    from pulumi_aws.s3 import BucketLifecycleConfigurationRuleArgsDict

#: The service principal ELB writes access logs as (Step 2, the recommended policy).
ELB_LOG_DELIVERY_SERVICE = "logdelivery.elasticloadbalancing.amazonaws.com"
#: The only default encryption ALB access logs support: SSE-S3.
SSE_ALGORITHM = "AES256"
#: The suffix of every access log file ELB writes (``..._<ip>_<random-string>.log.gz``); the
#: test file ``ELBAccessLogTestFile`` does not have it.
LOG_SUFFIX = ".log.gz"
#: Versioning keeps a deleted or replaced log for this long, then S3 removes it for good.
NONCURRENT_DAYS = 30
ABORT_MULTIPART_DAYS = 7

#: Region -> the Elastic Load Balancing account of the legacy bucket policy, as the ELB User
#: Guide lists them "for reference" (enable-access-logging.html, Step 2; the same list in
#: enable-connection-logging.html and, until 2023, under "Regions available before August 2022"
#: in the awsdocs archive above). terraform-provider-aws's ``aws_elb_service_account``
#: (internal/service/elb/service_account_data_source.go) has the same IDs, plus the China
#: Regions, which AWS's global guide does not list and guard leaves out. Regions not here (those
#: opened from August 2022: Hyderabad, Melbourne, Spain, Zurich, UAE, Calgary, Tel Aviv, ...) only
#: ever took the service principal.
ELB_ACCOUNT_IDS: Mapping[str, str] = {
    "us-east-1": "127311923021",  # US East (N. Virginia)
    "us-east-2": "033677994240",  # US East (Ohio)
    "us-west-1": "027434742980",  # US West (N. California)
    "us-west-2": "797873946194",  # US West (Oregon)
    "af-south-1": "098369216593",  # Africa (Cape Town)
    "ap-east-1": "754344448648",  # Asia Pacific (Hong Kong)
    "ap-southeast-3": "589379963580",  # Asia Pacific (Jakarta)
    "ap-south-1": "718504428378",  # Asia Pacific (Mumbai)
    "ap-northeast-3": "383597477331",  # Asia Pacific (Osaka)
    "ap-northeast-2": "600734575887",  # Asia Pacific (Seoul)
    "ap-southeast-1": "114774131450",  # Asia Pacific (Singapore)
    "ap-southeast-2": "783225319266",  # Asia Pacific (Sydney)
    "ap-northeast-1": "582318560864",  # Asia Pacific (Tokyo)
    "ca-central-1": "985666609251",  # Canada (Central)
    "eu-central-1": "054676820928",  # Europe (Frankfurt)
    "eu-west-1": "156460612806",  # Europe (Ireland)
    "eu-west-2": "652711504416",  # Europe (London)
    "eu-south-1": "635631232127",  # Europe (Milan)
    "eu-west-3": "009996457667",  # Europe (Paris)
    "eu-north-1": "897822967062",  # Europe (Stockholm)
    "me-south-1": "076674570225",  # Middle East (Bahrain)
    "sa-east-1": "507241528517",  # South America (Sao Paulo)
    "us-gov-east-1": "190560391635",  # AWS GovCloud (US-East)
    "us-gov-west-1": "048591011584",  # AWS GovCloud (US-West)
}
#: What nobody may do to a log object: DeleteObject, DeleteObjectVersion and their tagging
#: counterparts. S3 Lifecycle still expires logs: it is S3's own action, which is why the S3 API
#: Reference (PutBucketLifecycleConfiguration, "Permissions") lists s3:PutLifecycleConfiguration
#: beside s3:DeleteObject and s3:DeleteObjectVersion as what to deny to stop deletions.
DELETE_ACTIONS = ("s3:DeleteObject*",)


def legacy_elb_account(region: str) -> str:
    """The Region's Elastic Load Balancing account of the legacy policy (:data:`ELB_ACCOUNT_IDS`)."""
    try:
        return ELB_ACCOUNT_IDS[region]
    except KeyError:
        raise ValueError(
            f"{region} has no Elastic Load Balancing account: Regions opened from August 2022 "
            f"take only the log delivery service principal {ELB_LOG_DELIVERY_SERVICE}"
        ) from None


def _partition(region: str) -> str:
    return "aws-us-gov" if region.startswith("us-gov-") else "aws"


def log_writer_principal(region: str, *, legacy: bool = False) -> dict[str, str]:
    """The bucket policy ``Principal`` ELB writes access logs as, in ``region``.

    The log delivery service principal, which AWS recommends in every Region; ``legacy=True``
    gives the Region's ELB account instead (refused where that policy never existed).
    """
    if not legacy:
        return {"Service": ELB_LOG_DELIVERY_SERVICE}
    return {"AWS": f"arn:{_partition(region)}:iam::{legacy_elb_account(region)}:root"}


def alb_log_objects(bucket: str, account_id: str) -> str:
    """Where ELB may write: every ``alb/<product>/<endpoint>/AWSLogs/<account>/`` of the bucket."""
    return f"{bucket_arn(bucket)}/{ALB_PREFIX}*/AWSLogs/{account_id}/*"


def _others_cannot_write(region: str, legacy: bool) -> dict[str, Any]:
    """The condition under which a write is not ELB's, for the principal kind in use.

    Service principal: a service principal's requests carry ``aws:PrincipalIsAWSService`` true,
    every IAM principal's (any account's) false; the exemption opens nothing by itself, since a
    service principal has no IAM policy and writes only what an Allow here grants it (IAM User
    Guide, global condition keys, aws:PrincipalIsAWSService; guard.logs_policies does the same
    for WAF's delivery). Legacy principal: ELB writes as an IAM principal of its own account, so
    every request whose ``aws:PrincipalAccount`` is another account (or has none) is not ELB's.
    """
    if not legacy:
        return {"BoolIfExists": {"aws:PrincipalIsAWSService": "false"}}
    return {"StringNotEqualsIfExists": {"aws:PrincipalAccount": legacy_elb_account(region)}}


def alb_bucket_policy(
    *,
    bucket: str,
    account_id: str,
    region: str,
    reader_role_arn: str | None,
    legacy_principal: bool = False,
) -> dict[str, Any]:
    """The ALB log bucket's policy: ELB writes this account's logs, a SIEM loader reads them,
    nobody else adds, replaces or deletes a log, and nothing happens without TLS.

    Everyone else in the account reads through their own IAM permissions (Athena users).
    """
    arn = bucket_arn(bucket)
    statements: list[dict[str, Any]] = [
        {
            # Step 2's policy: PutObject only, only under this account's AWSLogs/ of our prefixes.
            "Sid": "ElbWritesAccessLogs",
            "Effect": "Allow",
            "Principal": log_writer_principal(region, legacy=legacy_principal),
            "Action": "s3:PutObject",
            "Resource": alb_log_objects(bucket, account_id),
        }
    ]
    if reader_role_arn is not None:
        statements.append(siem_loader_reads(arn, ALB_PREFIX, reader_role_arn))
    statements += [
        {
            # Logs are evidence, and the bucket holds nothing else: no one but ELB writes here.
            "Sid": "OnlyElbWritesLogs",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": f"{arn}/*",
            "Condition": _others_cannot_write(region, legacy_principal),
        },
        {
            # ELB never deletes; S3 Lifecycle expires logs after retention_days. Versions too:
            # a delete marker is recoverable, a deleted version is not.
            "Sid": "NobodyDeletesLogs",
            "Effect": "Deny",
            "Principal": "*",
            "Action": list(DELETE_ACTIONS),
            "Resource": f"{arn}/*",
        },
        tls_only(arn),
    ]
    return {"Version": VERSION, "Statement": statements}


def alb_lifecycle_rules(retention_days: int) -> list[BucketLifecycleConfigurationRuleArgsDict]:
    """``alb/`` expires after ``retention_days``; replaced or deleted versions after 30 days;
    uploads ELB left unfinished after 7 (they are billed until aborted)."""
    return [
        {
            "id": "alb-access-logs",
            "status": "Enabled",
            "filter": {"prefix": ALB_PREFIX},
            "expiration": {"days": retention_days},
            "noncurrent_version_expiration": {"noncurrent_days": NONCURRENT_DAYS},
            "abort_incomplete_multipart_upload": {"days_after_initiation": ABORT_MULTIPART_DAYS},
        }
    ]
