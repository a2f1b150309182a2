"""The cost drivers of each area, read from a plan's resources: what is counted and at which price.

Each driver function reads the resources of one kind and adds :class:`~guard.costs.CostLine`
records; a cost the plan cannot price (a tuner's own rules, a Marketplace subscription) becomes
a note instead of a guessed line.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from guard.config.base import GLOBAL_REGION
from guard.config.costs import CostsConfig
from guard.costs import CostLine, Estimate, apply_free_tiers
from guard.costs_view import PlanView, Resource
from guard.costs_waf import PROTECTION, waf
from guard.prices import PriceBook
from guard.resource_types import (
    ALARM,
    BUCKET_TYPES,
    DETECTOR,
    FMS_POLICY,
    FUNCTION,
    GUARDDUTY_ORGANIZATION,
    HUB,
    KEY,
    SHIELD_TYPES,
    STREAM,
    TOPIC,
    WAF_LOGGING,
    WEB_ACL,
    WORKGROUP,
)

SHIELD_SUBSCRIPTION = SHIELD_TYPES["subscription"]
BUCKET, LIFECYCLE = BUCKET_TYPES[0], BUCKET_TYPES[5]
WAF_LOGS_COMPONENT = "guard:logs:WafLogs"
ALB_LOGS_COMPONENT = "guard:logs:AlbLogs"
#: S3 storage classes of a lifecycle transition, by price key.
STORAGE_CLASSES = {
    "STANDARD_IA": "s3.standard_ia",
    "GLACIER_IR": "s3.glacier_ir",
    "GLACIER": "s3.glacier",
    "DEEP_ARCHIVE": "s3.deep_archive",
}
#: How long logs stay when no lifecycle rule expires them: the estimate shows one year.
UNEXPIRED_DAYS = 365


def shield(view: PlanView) -> None:
    """Data transfer out of each protected resource, and the organisation's subscription."""
    for protection in view.of(PROTECTION):
        arn = str((protection.get("inputs") or {}).get("resourceArn", ""))
        product = view.product(protection)
        gigabytes, assumption = view.config.for_product("data_transfer_out_gb_per_month", product)
        if arn.startswith("arn:aws:cloudfront:"):
            key, region = "shield.data_transfer_out_cloudfront", GLOBAL_REGION
        else:
            parts = arn.split(":")  # arn:aws:elasticloadbalancing:<region>:...
            region = parts[3] if len(parts) > 3 and parts[3] else GLOBAL_REGION
            key = "shield.data_transfer_out_alb"
        view.add(protection, key, "GB sent out", gigabytes, region=region, assumption=assumption)
    subscribing = view.of(SHIELD_SUBSCRIPTION)
    fms_shield = [
        p
        for p in view.of(FMS_POLICY)
        if "SHIELD_ADVANCED" in json.dumps((p.get("inputs") or {}).get("securityServicePolicyData"))
    ]
    anchors = subscribing or view.of(PROTECTION) or fms_shield
    if not anchors:
        return
    anchor = anchors[0]
    if subscribing:
        note = "this stack subscribes the account (guard:shield.subscription: create)"
    elif view.of(PROTECTION):
        note = "the account is already subscribed; the fee is paid once per organisation"
    else:
        note = (
            "Firewall Manager's Shield Advanced policies protect accounts under the "
            "organisation's subscription; the fee is paid once per organisation"
        )
    view.add(
        anchor,
        "shield.subscription",
        "Shield Advanced subscription (one-year commitment)",
        1,
        region=GLOBAL_REGION,
        note=note,
        area="shield",
        product=False,
        resource_name="organisation",
    )


def organization(view: PlanView) -> None:
    """A monthly fee per Firewall Manager policy per region."""
    for policy in view.of(FMS_POLICY):
        view.add(policy, "fms.policy", "Firewall Manager policy", 1)
    if view.of(FMS_POLICY) or view.of(GUARDDUTY_ORGANIZATION):
        view.sink.note(
            "the member accounts' own charges (their GuardDuty, Security Hub, AWS Config, and "
            "the web ACLs Firewall Manager creates in them) are billed to each account, not to "
            "this stack"
        )


def _request_shares(view: PlanView) -> dict[str, float]:
    """Each region's share of the requests the web ACLs inspect (their logs' share)."""
    by_region: dict[str, float] = defaultdict(float)
    for acl in view.of(WEB_ACL):
        requests, _ = view.config.for_product("requests_per_month", view.product(acl))
        by_region[str(acl.get("region") or GLOBAL_REGION)] += requests
    total = sum(by_region.values())
    return {region: value / total for region, value in by_region.items()} if total else {}


def _lifecycle_days(lifecycle: Resource) -> list[tuple[str, float]]:
    """Days the WAF logs spend in each storage class, by price key, from the lifecycle rule."""
    rules = (lifecycle.get("inputs") or {}).get("rules") or []
    rule = next(
        (r for r in rules if str((r.get("filter") or {}).get("prefix", "")).startswith("waf")),
        rules[0] if rules else {},
    )
    end = float((rule.get("expiration") or {}).get("days") or UNEXPIRED_DAYS)
    steps = sorted(
        (float(t.get("days", 0)), str(t.get("storageClass"))) for t in rule.get("transitions") or []
    )
    spans: list[tuple[str, float]] = []
    start, key = 0.0, "s3.standard"
    for day, storage_class in steps:
        if day >= end:
            break
        spans.append((key, day - start))
        start, key = day, STORAGE_CLASSES.get(storage_class, "s3.standard")
    spans.append((key, end - start))
    return [(k, days) for k, days in spans if days > 0]


def logs(view: PlanView) -> None:
    """Firehose ingestion per stream (the WAF logs' regional share) and the log bucket's steady
    state by storage class."""
    config = view.config
    shares = _request_shares(view)
    streams = view.of(STREAM)
    for stream in streams:
        share = shares.get(str(stream.get("region")), 0.0 if shares else 1 / len(streams))
        view.add(
            stream,
            "firehose.ingestion",
            f"GB ingested ({share:.0%} of the WAF logs)",
            config.waf_log_gb_per_month * share,
            assumption="waf_log_gb_per_month",
        )
    if not streams and any(
        "arn:aws:s3:" in json.dumps((c.get("inputs") or {}).get("logDestinationConfigs"))
        for c in view.of(WAF_LOGGING)
    ):
        view.sink.note(
            "delivery: s3: WAF's direct delivery to S3 is billed as CloudWatch vended logs per "
            "GB, not in guard's price list"
        )
    monthly_stored = config.waf_log_gb_per_month / config.log_compression_ratio
    for lifecycle in view.of(LIFECYCLE):
        parent = view.by_urn.get(str(lifecycle.get("parent"))) or {}
        if parent.get("type") != WAF_LOGS_COMPONENT:
            if parent.get("type") == ALB_LOGS_COMPONENT:
                view.sink.note(
                    "ALB access logs: S3 storage by their volume, which guard:costs has no "
                    "figure for; not estimated"
                )
            continue
        bucket = next(
            (c for c in view.children[str(parent.get("urn"))] if c["type"] == BUCKET), lifecycle
        )
        for key, days in _lifecycle_days(lifecycle):
            view.add(
                lifecycle,
                key,
                f"GB-months in {view.prices.describe(key)} ({days:g} days of compressed WAF logs)",
                monthly_stored * days / 30,
                assumption="waf_log_gb_per_month, log_compression_ratio",
                resource_name=view.display_name(bucket),
            )


#: Usage drivers of one assumption per resource: the resource type, then each line's price key,
#: what it counts and the ``guard:costs`` figure it takes.
PER_RESOURCE_USAGE: tuple[tuple[str, str, str, str], ...] = (
    (WORKGROUP, "athena.scanned", "TB scanned", "athena_tb_scanned_per_month"),
    (
        DETECTOR,
        "guardduty.cloudtrail_events",
        "CloudTrail management events analysed",
        "cloudtrail_events_per_month",
    ),
    (
        DETECTOR,
        "guardduty.flow_dns_logs",
        "GB of VPC flow and DNS logs analysed",
        "flow_dns_log_gb_per_month",
    ),
    (HUB, "securityhub.checks", "security checks", "security_checks_per_month"),
    (HUB, "securityhub.findings", "findings ingested", "findings_per_month"),
)


def per_resource_usage(view: PlanView) -> None:
    """Athena's scans per workgroup, GuardDuty's analysed events and logs per detector, Security
    Hub's checks and findings per hub: each an assumption per resource."""
    for type_token, key, what, assumption in PER_RESOURCE_USAGE:
        for resource in view.of(type_token):
            view.add(resource, key, what, getattr(view.config, assumption), assumption=assumption)
    if view.of(DETECTOR):
        view.sink.note(
            "GuardDuty's protection plans (S3, EKS, malware, runtime) are billed by what they "
            "scan; not estimated"
        )


def shared_building_blocks(view: PlanView) -> None:
    """Functions, alarms, keys and the alert topics' publishes, in whichever area owns them."""
    config = view.config
    for function in view.of(FUNCTION):
        memory = float((function.get("inputs") or {}).get("memorySize") or 128)
        invocations = config.function_invocations_per_month
        view.add(
            function,
            "lambda.requests",
            "invocations",
            invocations,
            assumption="function_invocations_per_month",
        )
        view.add(
            function,
            "lambda.duration",
            f"GB-seconds ({memory:g} MB x {config.function_seconds_per_invocation:g} s each)",
            invocations * config.function_seconds_per_invocation * memory / 1024,
            assumption="function_invocations_per_month, function_seconds_per_invocation",
        )
    for alarm in view.of(ALARM):
        view.add(alarm, "cloudwatch.alarm", "alarm", 1)
    for key in view.of(KEY):
        view.add(key, "kms.key", "key", 1)
    topics = view.of(TOPIC)
    if topics:
        view.add(
            topics[0],
            "sns.publishes",
            "alert messages published",
            config.findings_per_month,
            assumption="findings_per_month",
            product=False,
        )


DRIVERS: tuple[Callable[[PlanView], None], ...] = (
    waf,
    shield,
    organization,
    logs,
    per_resource_usage,
    shared_building_blocks,
)


def drivers(view: PlanView) -> tuple[list[CostLine], list[str]]:
    """Every area's lines and notes for the plan in ``view``."""
    for driver in DRIVERS:
        driver(view)
    return view.sink.lines, view.sink.notes


def estimate(
    resources: Sequence[Mapping[str, Any]],
    annotations: Mapping[str, Any],
    config: CostsConfig,
    prices: PriceBook,
) -> Estimate:
    """The estimate of a plan's resources (plan JSON form) under ``config``'s assumptions."""
    view = PlanView(resources, annotations, config, prices)
    lines, notes = drivers(view)
    ordered = sorted(
        lines,
        key=lambda line: (
            line.product is None,
            line.product or "",
            line.area,
            line.resource,
            line.price_key,
            line.what,
        ),
    )
    return Estimate(tuple(apply_free_tiers(ordered)), config, prices, tuple(notes))
