"""The SIEM keeps an index at least a day, and no longer than S3 keeps the logs it came from."""

from __future__ import annotations

import json
from typing import Any

from pulumi_policy import EnforcementLevel, PolicyResource, Severity, StackValidationArgs
from pulumi_policy.proxy import UnknownValueError

from guard.siem_retention import domain_retention, expiration_days
from policies.framework import Meta, Report, as_list, stack_policy

META = Meta(
    name="siem-retention-within-logs",
    description="The SIEM's ISM retention policy keeps indices at least 1 day hot, and every log "
    "bucket that feeds the SIEM's loader keeps its objects at least as long as the domain keeps "
    "their indices, so any day still in OpenSearch can be re-indexed from S3.",
    severity=Severity.MEDIUM,
    enforcement=EnforcementLevel.MANDATORY,
    remediation="raise the bucket's retention_days (guard:logs.retention_days, "
    "guard:logs.alb.retention_days) or lower guard:siem.retention.hot_days (and warm_days).",
)
INVOCATION = "aws:lambda/invocation:Invocation"
NOTIFICATION = "aws:s3/bucketNotification:BucketNotification"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"


def _get(resource: PolicyResource, key: str) -> Any:
    try:
        return resource.props.get(key)
    except UnknownValueError:
        return None


def _event(invocation: PolicyResource) -> Any:
    text = _get(invocation, "input")
    try:
        return json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None


def _feeds(args: StackValidationArgs) -> list[tuple[PolicyResource, str]]:
    """(bucket, prefix) of every S3 notification to a queue."""
    feeds = []
    for notification in (r for r in args.resources if r.resource_type == NOTIFICATION):
        for bucket in notification.property_dependencies.get("bucket", []):
            for queue in as_list(_get(notification, "queues")):
                if isinstance(queue, dict):
                    feeds.append((bucket, str(queue.get("filterPrefix") or "")))
    return feeds


def _rules_of(args: StackValidationArgs, bucket: PolicyResource) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    for lifecycle in (r for r in args.resources if r.resource_type == LIFECYCLE):
        if any(d.urn == bucket.urn for d in lifecycle.property_dependencies.get("bucket", [])):
            rules += [r for r in as_list(_get(lifecycle, "rules")) if isinstance(r, dict)]
    return rules


def check(args: StackValidationArgs, report: Report) -> None:
    invocations = [r for r in args.resources if r.resource_type == INVOCATION]
    feeds: list[tuple[PolicyResource, str]] | None = None
    for invocation in invocations:
        event = _event(invocation)
        if not (isinstance(event, dict) and "policy_id" in event and "policy" in event):
            continue  # not a retention function's invocation
        retention = domain_retention(event)
        if retention is None:
            # ISM ages are whole days, 1 or more, in guard's hot -> (warm ->) delete chain.
            report(
                f"ISM policy {event['policy_id']} keeps indices less than a day, or in a shape "
                "this check cannot read: guard's policies keep them at least 1 day hot.",
                invocation.urn,
            )
            continue
        feeds = _feeds(args) if feeds is None else feeds
        for bucket, prefix in feeds:
            kept = expiration_days(_rules_of(args, bucket), prefix)
            if kept is not None and kept < retention.delete_after_days:
                name = _get(bucket, "bucket") or bucket.name
                report(
                    f"s3://{name}/{prefix} keeps logs {kept} days, but ISM policy "
                    f"{retention.policy_id} keeps their indices {retention.delete_after_days} "
                    "days: a day still in OpenSearch could not be re-indexed from S3.",
                    invocation.urn,
                )


POLICY = stack_policy(META, check)
