"""SIEM checks that need more than one section: the loader queue and the domain against the
stack's region, and the deprecated ``guard:logs.opensearch`` against ``guard:siem``.

Listed in :data:`guard.cross_checks.CROSS_CHECKS`, so ``pulumi up`` and ``guard plan`` reject
the same input.
"""

from __future__ import annotations

from datetime import date

from guard.config.errors import Problem
from guard.config.logs import SQS_ARN_RE
from guard.config.stack import StackConfig

S = "guard:siem"
L = "guard:logs"


def siem_settings(config: StackConfig, warnings: list[str], today: date) -> list[Problem]:
    siem = config.siem
    if siem is None:
        return []
    problems: list[Problem] = []
    old = config.logs.opensearch if config.logs is not None else None
    written = "siem" in config.model_fields_set
    if old is not None and written:
        problems.append(
            Problem(
                (L, "opensearch"),
                "guard:logs.opensearch is the old place of guard:siem's loader_queue_arn and "
                "loader_role_arn, and guard:siem is set too: remove guard:logs.opensearch",
                "set",
            )
        )
    elif old is not None:
        warnings.append(
            "guard:logs.opensearch is deprecated: move queue_arn to guard:siem.loader_queue_arn "
            "and reader_role_arn to guard:siem.loader_role_arn (docs/siem.md); it still works"
        )
    if siem.loader_queue_arn is not None:
        match = SQS_ARN_RE.match(siem.loader_queue_arn)
        assert match is not None, "shape checked by the model"
        if match["region"] != config.region:
            path = (S, "loader_queue_arn") if written else (L, "opensearch", "queue_arn")
            problems.append(
                Problem(
                    path,
                    f"the queue is in {match['region']}, but the log buckets are in "
                    f"{config.region} (aws:region): S3 sends event notifications only to a "
                    "queue in the bucket's region",
                    siem.loader_queue_arn,
                )
            )
    region = siem.endpoint_region
    if region is not None and region != config.region:
        problems.append(
            Problem(
                (S, "domain_endpoint"),
                f"the domain is in {region}, but the retention Lambda runs in {config.region} "
                "(aws:region): deploy guard:siem from a stack in the domain's region",
                siem.domain_endpoint,
            )
        )
    retention = siem.retention
    if retention is not None and retention.hot_days < retention.rotation_days:
        # ISM counts age from an index's creation, and the SIEM keeps writing to an index for
        # its whole rotation period (a month by default for WAF and ELB logs).
        warnings.append(
            f"guard:siem: retention.hot_days {retention.hot_days} is shorter than the SIEM's "
            f"{retention.index_rotation} index rotation: ISM would delete (or move to warm) the "
            "current WAF and ELB index while the SIEM still writes to it; set index_rotation = daily for [waf] "
            "and [alb] in the SIEM's user.ini and retention.index_rotation: daily here "
            "(docs/siem.md)"
        )
    if siem.feeds_loader and config.logs is None:
        warnings.append(
            "guard:siem: loader_queue_arn without guard:logs: no log bucket of this stack "
            "notifies the queue (add guard:logs, or leave the loader out)"
        )
    if siem.retention is not None and not siem.feeds_loader:
        warnings.append(
            "guard:siem: retention without loader_queue_arn: guard keeps the domain's indices "
            f"{siem.retention.hot_days} days, but does not feed it (guard siem reload needs the "
            "queue too)"
        )
    return problems
