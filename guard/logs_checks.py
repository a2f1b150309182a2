"""WAF log checks that need more than one field: retention against archiving, the sample digest
against guard:alerts, the ALB log bucket against the WAF one, the bucket against guard:shield,
the delivery against the WAF tuning services.

Listed in :data:`guard.cross_checks.CROSS_CHECKS`, so ``pulumi up`` and ``guard plan`` reject
the same input.
"""

from __future__ import annotations

from datetime import date

from guard.config.errors import Problem
from guard.config.logs import (
    CREDENTIAL_HEADERS,
    GLACIER_IR_MIN_DAYS,
    MIN_ARCHIVE_AFTER_DAYS,
)
from guard.config.stack import StackConfig
from guard.tuner import services_in_use

L = "guard:logs"


def logs_settings(config: StackConfig, warnings: list[str], today: date) -> list[Problem]:
    logs = config.logs
    if logs is None:
        return []
    problems: list[Problem] = []
    archive = logs.archive_after_days
    if archive is not None and logs.retention_days - archive < GLACIER_IR_MIN_DAYS:
        latest = logs.retention_days - GLACIER_IR_MIN_DAYS
        fix = (
            f"use at most {latest} or leave it out"
            if latest >= MIN_ARCHIVE_AFTER_DAYS
            else f"leave it out, or keep logs at least {archive + GLACIER_IR_MIN_DAYS} days"
        )
        problems.append(
            Problem(
                (L, "archive_after_days"),
                f"archived objects must stay at least {GLACIER_IR_MIN_DAYS} days before "
                f"retention_days ({logs.retention_days}) deletes them, as Glacier Instant "
                f"Retrieval bills {GLACIER_IR_MIN_DAYS} days anyway: {fix}",
                archive,
            )
        )
    if logs.samples_to_slack and config.alerts is None:
        problems.append(
            Problem(
                (L, "samples_to_slack"),
                "the sample digest is posted to the normal alert route's Slack channel: add "
                "guard:alerts or set samples_to_slack: false",
                True,
            )
        )
    if logs.alb is not None and logs.alb.bucket == logs.bucket:
        problems.append(
            Problem(
                (L, "alb", "bucket"),
                "ALB access logs need a bucket of their own: ELB writes only SSE-S3 encrypted "
                "objects, and the WAF log bucket encrypts with guard's KMS key",
                logs.alb.bucket,
            )
        )
    unredacted = [h for h in CREDENTIAL_HEADERS if h not in logs.redact_fields]
    if unredacted:
        warnings.append(
            f"guard:logs: WAF logs will hold the {' and '.join(unredacted)} header values "
            "(live credentials and sessions); add them to redact_fields unless you need them"
        )
    srt = config.shield.srt_access if config.shield is not None else None
    if srt is not None and logs.bucket in srt.log_buckets:
        warnings.append(
            f"guard:logs: bucket {logs.bucket} is also in guard:shield.srt_access.log_buckets, "
            "but its objects are encrypted with guard's WAF log key, which the SRT role is not "
            "allowed to use: the SRT gets AccessDenied on them"
        )
    if logs.delivery == "firehose" and "wafcharm" in services_in_use(config):
        warnings.append(
            "guard:logs: WafCharm Advanced reads WAF logs only when WAF logs directly to S3; "
            "set guard:logs.delivery: s3 (docs/wafcharm.md)"
        )
    return problems
