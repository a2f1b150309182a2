"""Where WAF logs live and what they are called: names, key prefixes and the S3 key layout.

Plain functions and constants over the stack's names, shared by the log component
(components/waf_logs.py), the bucket, key and role policies (:mod:`guard.logs_policies`) and the
Athena table (:mod:`guard.logs_athena`), so each states the same prefix the same way.

Two deliveries (``guard:logs.delivery``):

* ``firehose``: each region's Firehose stream writes
  ``waf/region=<region>/<yyyy>/<MM>/<dd>/<HH>/<stream>-<n>-<timestamp>-<uuid>.gz`` and the records
  it could not write under ``errors/``.
* ``s3``: WAF writes straight into the bucket, as every CloudWatch Logs "vended log" does, under
  ``AWSLogs/<account>/WAFLogs/<region>/<web-acl-name>/YYYY/MM/dd/HH/mm/`` files named
  ``<account>_waflogs_<region>_<web-acl-name>_<timestamp>_<hash>.log.gz``, one every 5 minutes
  per web ACL (at most 75 MB), ``<region>`` being ``cloudfront`` for a CloudFront web ACL (AWS WAF
  Developer Guide, "Sending web ACL traffic logs to an Amazon S3 bucket", logging-s3.html).
"""

from __future__ import annotations

from typing import Literal

from guard.config.errors import StackNameError

Delivery = Literal["firehose", "s3"]

#: WAF delivers only to a Firehose stream, log group or bucket whose name starts so.
STREAM_PREFIX = "aws-waf-logs-"
#: Firehose stream names: 1 to 64 characters.
MAX_STREAM_NAME = 64
#: Key prefixes inside the log bucket: Firehose's logs and failed records, Athena's results.
LOG_PREFIX = "waf/"
ERROR_PREFIX = "errors/"
RESULTS_PREFIX = "athena-results/"
#: Where WAF (like every CloudWatch Logs vended log) writes when it logs straight to S3.
S3_DELIVERY_PREFIX = "AWSLogs/"
#: Where each ALB endpoint's access logs go in the ALB log bucket: ``alb/<product>/<endpoint>``,
#: under which ELB writes ``AWSLogs/<account>/elasticloadbalancing/<region>/<yyyy>/<MM>/<dd>/``.
ALB_PREFIX = "alb/"
#: The region segment of a CloudFront web ACL's keys with S3 delivery (not us-east-1).
CLOUDFRONT_SEGMENT = "cloudfront"
#: The service principal that writes vended logs (WAF's S3 delivery among them) into a bucket.
LOG_DELIVERY_SERVICE = "delivery.logs.amazonaws.com"
#: The WAF actions kept by ``filter: blocked-and-counted``. COUNT covers rules in count mode and
#: EXCLUDED_AS_COUNT rules of managed groups overridden to count: the count-to-block evidence.
KEPT_ACTIONS = ("BLOCK", "COUNT", "CAPTCHA", "CHALLENGE", "EXCLUDED_AS_COUNT")


def log_prefix(delivery: Delivery) -> str:
    """The prefix every log object of this delivery is under (lifecycle, SIEM, readers)."""
    return S3_DELIVERY_PREFIX if delivery == "s3" else LOG_PREFIX


def alb_log_prefix(product: str, endpoint: str) -> str:
    """The ``access_logs.s3.prefix`` an ALB endpoint's owner sets (no trailing slash: ELB adds
    ``/AWSLogs/...`` itself)."""
    return f"{ALB_PREFIX}{product}/{endpoint}"


def waf_logs_prefix(account_id: str) -> str:
    """``AWSLogs/<account>/WAFLogs/``: the part of an S3-delivered key before the region."""
    return f"{S3_DELIVERY_PREFIX}{account_id}/WAFLogs/"


def key_region(scope: str, region: str) -> str:
    """The region segment of an S3-delivered key: ``cloudfront`` or the web ACL's region."""
    return CLOUDFRONT_SEGMENT if scope == "CLOUDFRONT" else region


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


def digest_function_name(stack: str) -> str:
    return f"guard-{stack}-waf-samples"


def web_acl_arn_pattern(*, name: str, scope: str, region: str, account_id: str) -> str:
    """The web ACL's ARN with its ID as a wildcard: known before the web ACL exists."""
    kind = "global" if scope == "CLOUDFRONT" else "regional"
    return f"arn:aws:wafv2:{region}:{account_id}:{kind}/webacl/{name}/*"
