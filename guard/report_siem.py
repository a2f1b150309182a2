"""The SIEM part of a plan: what feeds the SIEM's loader, how long the domain keeps its indices
(the ISM policy in the retention function's invocation: what ``pulumi up`` would apply), and how
long S3 keeps the logs a day can be re-indexed from."""

from __future__ import annotations

from guard.report_sections import Item, PlanIndex, Section, after_marker, json_of
from guard.siem_retention import domain_retention, expiration_days

INVOCATION = "aws:lambda/invocation:Invocation"
NOTIFICATION = "aws:s3/bucketNotification:BucketNotification"
BUCKET = "aws:s3/bucket:Bucket"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
FUNCTION = "aws:lambda/function:Function"
RETENTION_COMPONENT = "guard:siem:SiemRetention"


def _feeds(ix: PlanIndex) -> list[tuple[str, str, str, int | None]]:
    """(bucket, prefix, queue, days S3 keeps them) per S3 notification to a queue."""
    feeds = []
    for notification in ix.of(NOTIFICATION):
        buckets = [
            ix.by_urn[u]
            for u in notification.property_dependencies.get("bucket", [])
            if u in ix.by_urn and ix.by_urn[u].type == BUCKET
        ]
        for queue in notification.inputs.get("queues") or []:
            prefix = str(queue.get("filterPrefix") or "")
            for bucket in buckets:
                rules = [
                    rule
                    for lifecycle in ix.depending(LIFECYCLE, bucket, "bucket")
                    for rule in lifecycle.inputs.get("rules") or []
                ]
                name = str(bucket.inputs.get("bucket", bucket.name))
                queue_name = after_marker(queue.get("queueArn"), ":")
                feeds.append((name, prefix, queue_name, expiration_days(rules, prefix)))
    return sorted(feeds)


def siem_section(ix: PlanIndex) -> Section | None:
    """One section for the SIEM; None when the stack neither feeds nor manages one."""
    feeds = _feeds(ix)
    invocations = ix.within(INVOCATION, RETENTION_COMPONENT)
    if not feeds and not invocations:
        return None
    section = Section("SIEM on OpenSearch")
    section.listing(
        "loader notified of",
        [
            (f"s3://{bucket}/{prefix}", f"new objects to queue {queue}")
            for bucket, prefix, queue, _ in feeds
        ],
    )
    if not invocations:
        section.fact("retention", "not managed by guard (no guard:siem.retention)")
    for invocation in invocations:
        event = json_of(invocation.inputs.get("input")) or {}
        retention = domain_retention(event)
        if retention is None:
            section.fact("retention", "the ISM policy could not be read from the plan")
            continue
        kept = f"{retention.hot_days} days hot"
        if retention.delete_after_days > retention.hot_days:
            kept += f", {retention.delete_after_days - retention.hot_days} days warm"
        section.fact(
            "retention",
            f"ISM policy {retention.policy_id} on {', '.join(retention.indices)}: {kept}, "
            f"then deleted (at {retention.delete_after_days} days)",
        )
        functions = ix.within(FUNCTION, RETENTION_COMPONENT)
        where = "in the domain's VPC" if functions and functions[0].inputs.get("vpcConfig") else ""
        section.fact(
            "applied by",
            " ".join(
                filter(
                    None,
                    [
                        f"Lambda {functions[0].inputs.get('name') if functions else '?'}",
                        where,
                        f"on deploy, to {event.get('endpoint', '?')}, whenever the policy changes",
                    ],
                )
            ),
        )
        reload: list[Item] = []
        for bucket, prefix, _, days in feeds:
            if days is None:
                reload.append((f"s3://{bucket}/{prefix}", "kept without expiry"))
            elif days < retention.delete_after_days:
                reload.append(
                    (
                        f"s3://{bucket}/{prefix}",
                        f"kept only {days} days, FEWER than the domain keeps its indices",
                    )
                )
            else:
                reload.append(
                    (
                        f"s3://{bucket}/{prefix}",
                        f"kept {days} days: guard siem reload re-indexes any of them",
                    )
                )
        section.listing("S3 keeps", reload, empty="no bucket feeds the loader")
    return section
