"""``guard diff``'s logs area: plans of the real program that differ in one thing.

Where the program cannot produce a variation (versioning suspended, weaker encryption, a looser
public access block, a destination it does not declare), the head is the base's JSON with one
resource edited, as the test's docstring says.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from guard import resource_types as rt
from guard.diff_logs import DIFFER
from guard.diff_model import Change, PlanDocument
from tests.guard.diff_plans import ALERTS, changes, edited, only, plan, without

BUCKET = "aws-waf-logs-example-test"
ACL = "guard-test-store-alb"
SIEM = {
    "queue_arn": "arn:aws:sqs:ap-northeast-1:111111111111:siem-waf-loader",
    "reader_role_arn": "arn:aws:iam::111111111111:role/siem-es-loader",
}
VERSIONING, ENCRYPTION, PUBLIC_BLOCK = (rt.BUCKET_TYPES[i] for i in (2, 3, 4))


def stack(**logs: Any) -> PlanDocument:
    """A stack with alerts and WAF logs (Firehose delivery; ``logs`` overrides its keys)."""
    settings = {"bucket": BUCKET, "samples_to_slack": True, **logs}
    return plan(alerts=ALERTS, logs={k: v for k, v in settings.items() if v is not None})


def logs_changes(base: PlanDocument, head: PlanDocument) -> list[Change]:
    return changes(base, head, "logs")


def test_identical_plans_have_no_change() -> None:
    assert changes(stack(), stack(), "logs", "other") == []


def test_logs_added_and_removed() -> None:
    alone = plan(alerts=ALERTS)
    added = logs_changes(alone, stack())
    logging = only(added, subject=ACL, path="logging")
    assert (logging.kind, logging.effect) == ("added", "strengthens")
    assert logging.reason == (
        f"{ACL} now logs to Firehose stream aws-waf-logs-guard-test-ap-northeast-1"
    )
    assert only(added, path="firehose[ap-northeast-1]").effect == "neutral"
    assert only(added, subject="WAF sample digest").effect == "strengthens"
    removed = logs_changes(stack(), alone)
    gone = only(removed, subject=ACL, path="logging")
    assert (gone.kind, gone.effect, gone.reason) == ("removed", "weakens", f"{ACL} stops logging")
    bucket = only(removed, path="bucket")
    assert bucket.effect == "weakens" and "leaves the stack" in bucket.reason
    # The stream's error log and stall alarm go with it; the digest's parts with the digest.
    assert not [c for c in removed if c.path.startswith(("logs", "stream", "failed", "schedule"))]


def test_filter_that_drops_requests_weakens_and_its_removal_strengthens() -> None:
    filtered = stack(filter="blocked-and-counted")
    change = only(logs_changes(stack(), filtered))
    assert (change.subject, change.kind, change.path, change.effect) == (
        ACL,
        "added",
        "logging.loggingFilter",
        "weakens",
    )
    assert "now logs only requests WAF acted on" in change.reason
    assert "the rest are dropped" in change.reason
    back = only(logs_changes(filtered, stack()))
    assert (back.kind, back.effect) == ("removed", "strengthens")


def test_filter_keeping_fewer_actions_weakens() -> None:
    """Edited JSON: the program's filter keeps every action WAF takes."""
    base = stack(filter="blocked-and-counted")

    def no_count(inputs: dict[str, Any]) -> None:
        conditions = inputs["loggingFilter"]["filters"][0]["conditions"]
        conditions[:] = [c for c in conditions if c["actionCondition"]["action"] != "COUNT"]

    head = edited(base, rt.WAF_LOGGING, ACL, no_count)
    change = only(logs_changes(base, head))
    assert change.effect == "weakens" and "no longer keep COUNT requests" in change.reason
    assert only(logs_changes(head, base)).effect == "strengthens"


def test_filter_guard_cannot_read_weakens() -> None:
    """Edited JSON: a filter of another shape than the program's."""
    base = stack(filter="blocked-and-counted")
    head = edited(
        base,
        rt.WAF_LOGGING,
        ACL,
        lambda i: i["loggingFilter"].update(defaultBehavior="KEEP"),
    )
    change = only(logs_changes(base, head))
    assert change.effect == "weakens" and "review it" in change.reason


def test_redaction_removed_weakens_and_added_is_neutral() -> None:
    cookie_only = stack(redact_fields=["cookie"])
    change = only(logs_changes(stack(), cookie_only))
    assert (change.subject, change.kind, change.path, change.effect) == (
        ACL,
        "removed",
        "logging.redactedFields[authorization header]",
        "weakens",
    )
    assert change.reason == "authorization header now written to the logs"
    added = only(logs_changes(cookie_only, stack()))
    assert (added.kind, added.effect) == ("added", "neutral")
    assert added.reason == "authorization header now redacted in the logs"


@pytest.mark.parametrize(("days", "effect"), [(200, "weakens"), (400, "strengthens")])
def test_retention(days: int, effect: str) -> None:
    found = logs_changes(stack(), stack(retention_days=days))
    change = only(found, path="lifecycle[waf/].expiration.days")
    assert (change.subject, change.before, change.after, change.effect) == (
        "WAF logs",
        365,
        days,
        effect,
    )
    assert change.reason == f"objects under waf/ are deleted after {days} days (was 365 days)"
    # The Athena table's projection follows: neutral.
    assert {c.effect for c in found if c.subject == "Athena"} == {"neutral"}


def test_archiving_is_neutral() -> None:
    change = only(logs_changes(stack(), stack(archive_after_days=90)))
    assert (change.path, change.effect) == ("lifecycle[waf/].transitions", "neutral")


def test_delivery_switched_to_s3_is_neutral() -> None:
    firehose, direct = stack(bucket=BUCKET), stack(bucket=BUCKET, delivery="s3")
    found = logs_changes(firehose, direct)
    assert {c.effect for c in found} == {"neutral"}
    moved = only(found, subject=ACL)
    assert (moved.kind, moved.path) == ("moved", "logging.logDestinationConfigs")
    assert moved.reason == (
        f"{ACL} now logs to s3://{BUCKET} (was Firehose stream "
        "aws-waf-logs-guard-test-ap-northeast-1) (delivery: firehose → s3)"
    )
    stream = only(found, path="firehose[ap-northeast-1]")
    assert stream.kind == "removed" and "go straight to S3" in stream.reason
    assert only(logs_changes(direct, firehose), path="firehose[ap-northeast-1]").kind == "added"


def test_destination_guard_does_not_declare_weakens() -> None:
    """Edited JSON: the program logs only to its own stream or bucket."""
    base = stack()
    elsewhere = "arn:aws:s3:::someone-elses-bucket"
    head = edited(base, rt.WAF_LOGGING, ACL, lambda i: i.update(logDestinationConfigs=[elsewhere]))
    change = only(logs_changes(base, head))
    assert (change.kind, change.effect) == ("moved", "weakens")
    assert "a destination guard does not declare" in change.reason


def test_stream_removed_without_replacement_weakens() -> None:
    """Edited JSON: the program removes a stream only when delivery goes straight to S3."""
    base = stack()
    head = without(base, rt.STREAM)
    change = only(logs_changes(base, head))
    assert (change.path, change.kind, change.effect) == (
        "firehose[ap-northeast-1]",
        "removed",
        "weakens",
    )
    assert "lose their Firehose stream" in change.reason


def test_stream_writing_to_another_bucket_weakens() -> None:
    """Edited JSON: the program's streams write to its log bucket."""
    base = stack()
    head = edited(
        base,
        rt.STREAM,
        "stream-ap-northeast-1",
        lambda i: i["extendedS3Configuration"].update(bucketArn="arn:aws:s3:::elsewhere"),
    )
    change = only(logs_changes(base, head))
    assert change.path == "firehose[ap-northeast-1].extendedS3Configuration.bucketArn"
    assert (change.kind, change.effect) == ("moved", "weakens")


@pytest.mark.parametrize(
    ("type_token", "change", "path", "words"),
    [
        (
            VERSIONING,
            lambda i: i.update(versioningConfiguration={"status": "Suspended"}),
            "versioning.versioningConfiguration.status",
            "are no longer recoverable",
        ),
        (
            ENCRYPTION,
            lambda i: i["rules"][0]["applyServerSideEncryptionByDefault"].update(
                sseAlgorithm="AES256"
            ),
            "encryption.rules[0].applyServerSideEncryptionByDefault.sseAlgorithm",
            "AES256 (was aws:kms)",
        ),
        (
            PUBLIC_BLOCK,
            lambda i: i.update(blockPublicPolicy=False),
            "public_access.blockPublicPolicy",
            "is no longer refused",
        ),
    ],
)
def test_bucket_settings_loosened_weaken(
    type_token: str, change: Any, path: str, words: str
) -> None:
    """Edited JSON: the program fixes the bucket's versioning, encryption and access block."""
    base = stack()
    head = edited(base, type_token, "bucket", change)
    found = only(logs_changes(base, head))
    assert (found.subject, found.path, found.effect) == ("WAF logs", path, "weakens")
    assert words in found.reason
    assert only(logs_changes(head, base)).effect == "strengthens"


def test_siem_removed_weakens_and_added_strengthens() -> None:
    found = logs_changes(stack(opensearch=SIEM), stack())
    change = only(found, subject="SIEM")
    assert (change.kind, change.path, change.effect) == ("removed", "siem", "weakens")
    assert change.reason == "new WAF logs no longer reach the SIEM"
    back = only(logs_changes(stack(), stack(opensearch=SIEM)), subject="SIEM")
    assert (back.kind, back.effect) == ("added", "strengthens")


def test_siem_queue_replaced() -> None:
    """Edited JSON: the program notifies one queue, named by config."""
    base = stack(opensearch=SIEM)
    other = "arn:aws:sqs:ap-northeast-1:111111111111:other-loader"
    head = edited(
        base,
        rt.BUCKET_TYPES[6],
        "bucket",
        lambda i: i["queues"][0].update(queueArn=other),
    )
    found = logs_changes(base, head)
    assert only(found, kind="removed").effect == "weakens"
    assert only(found, kind="added").reason == f"new WAF logs now reach the SIEM queue {other}"


def test_digest_removed_is_one_weakening_line() -> None:
    found = logs_changes(stack(), stack(samples_to_slack=False))
    change = only(found)
    assert (change.subject, change.kind, change.path, change.effect) == (
        "WAF sample digest",
        "removed",
        "digest",
        "weakens",
    )
    assert "no longer posts to the normal channel" in change.reason
    added = only(logs_changes(stack(samples_to_slack=False), stack()))
    assert (added.kind, added.effect) == ("added", "strengthens")


def test_digest_reading_fewer_samples_weakens() -> None:
    """Edited JSON: the program's sample count is a constant."""
    base = stack()

    def fewer(inputs: dict[str, Any]) -> None:
        inputs["environment"]["variables"]["MAX_SAMPLES"] = "10"

    digest = next(r for r in base.within("guard:logs:WafSampleDigest", rt.FUNCTION))
    head = edited(base, rt.FUNCTION, digest.name, fewer)
    change = only(logs_changes(base, head))
    assert (change.subject, change.path, change.effect) == (
        "WAF sample digest",
        "environment.MAX_SAMPLES",
        "weakens",
    )
    assert "up to 10 samples per rule" in change.reason


def test_digest_losing_a_web_acl_weakens() -> None:
    """Edited JSON: the program lists every web ACL of the stack."""
    base = stack()

    def drop(inputs: dict[str, Any]) -> None:
        inputs["environment"]["variables"]["WEB_ACLS"] = json.dumps([])

    digest = next(r for r in base.within("guard:logs:WafSampleDigest", rt.FUNCTION))
    change = only(logs_changes(base, edited(base, rt.FUNCTION, digest.name, drop)))
    assert (change.kind, change.path, change.effect) == (
        "removed",
        f"environment.WEB_ACLS[{ACL}]",
        "weakens",
    )


def test_athena_scan_limit_is_neutral_and_unencrypted_results_weaken() -> None:
    found = logs_changes(stack(), stack(athena={"scan_limit_gb": 20}))
    change = only(found)
    assert (change.subject, change.effect) == ("Athena", "neutral")
    assert change.path.endswith("configuration.bytesScannedCutoffPerQuery")
    base = stack()

    def unencrypted(inputs: dict[str, Any]) -> None:
        del inputs["configuration"]["resultConfiguration"]["encryptionConfiguration"]

    head = edited(base, rt.WORKGROUP, "workgroup", unencrypted)
    assert only(logs_changes(base, head)).effect == "weakens"


def test_covers_no_bucket_policy() -> None:
    # The bucket policy is an IAM document, left to the engine.
    assert rt.BUCKET_TYPES[1] not in DIFFER.covers
    assert rt.WAF_LOGGING in DIFFER.covers
