"""Stack policies: endpoint coverage, S3 baseline, staged rollout expiry, exception hygiene."""

from __future__ import annotations

from typing import Any

from policies.rules import (
    policy_exceptions_valid,
    s3_bucket_baseline,
    waf_endpoint_coverage,
    waf_staged_rollout_expiry,
)
from tests.conftest import minimal_product
from tests.policies.support import resource, violations_of

ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
CDN = {
    "name": "cdn",
    "kind": "cloudfront",
    "arn": "arn:aws:cloudfront::111111111111:distribution/E2EXAMPLE1",
}


def store_with_cdn() -> dict[str, Any]:
    product = minimal_product()
    product["endpoints"].append(CDN)
    return product


def test_every_alb_associated_and_cloudfront_exported() -> None:
    product = store_with_cdn()
    alb = product["endpoints"][0]["arn"]
    resources = [
        resource(
            "pulumi:pulumi:Stack",
            {"cloudfront_web_acls": {"store/cdn": {"web_acl_arn": "arn"}}},
            "guard-prod",
        ),
        resource(ASSOCIATION, {"resourceArn": alb}, "store-web"),
        resource(
            WEB_ACL, {"scope": "CLOUDFRONT", "tags": {"product": "store"}}, "guard-prod-store-cf"
        ),
    ]
    assert violations_of(waf_endpoint_coverage.POLICY, resources, products=[product]) == []
    found = violations_of(waf_endpoint_coverage.POLICY, resources[::2], products=[product])
    assert len(found) == 1
    assert found[0].startswith(f"ALB endpoint store/web ({alb}) has no web ACL association.")
    assert "Fix: " in found[0]  # every violation says how to fix it
    not_exported = [resource("pulumi:pulumi:Stack", {}, "guard-prod"), *resources[1:]]
    assert (
        "not exported"
        in violations_of(waf_endpoint_coverage.POLICY, not_exported, products=[product])[0]
    )
    no_acl = resources[:2]
    assert (
        "no CLOUDFRONT web ACL"
        in violations_of(waf_endpoint_coverage.POLICY, no_acl, products=[product])[0]
    )


def bucket_with(*parts: str) -> list[Any]:
    bucket = resource("aws:s3/bucket:Bucket", {"bucket": "logs"}, "logs")
    deps = {"bucket": [bucket]}
    pieces = {
        "public": resource(
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
            dict.fromkeys(s3_bucket_baseline.PUBLIC_FLAGS, True),
            "logs-public",
            depends_on=deps,
        ),
        "encryption": resource(
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            {},
            "logs-sse",
            depends_on=deps,
        ),
        "versioning": resource(
            "aws:s3/bucketVersioning:BucketVersioning",
            {"versioningConfiguration": {"status": "Enabled"}},
            "logs-versioning",
            depends_on=deps,
        ),
        "lifecycle": resource(
            "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
            {},
            "logs-lifecycle",
            depends_on=deps,
        ),
    }
    return [bucket, *(pieces[p] for p in parts)]


def test_s3_baseline() -> None:
    complete = bucket_with("public", "encryption", "versioning", "lifecycle")
    assert violations_of(s3_bucket_baseline.POLICY, complete) == []
    found = violations_of(s3_bucket_baseline.POLICY, bucket_with("public", "encryption"))
    assert len(found) == 1 and found[0].startswith(
        "bucket logs lacks versioning, a lifecycle rule."
    )
    partial = bucket_with("public", "encryption", "versioning", "lifecycle")
    partial[1].props = {**partial[1].props, "restrictPublicBuckets": False}
    assert "public access block" in violations_of(s3_bucket_baseline.POLICY, partial)[0]


def test_staged_rollout_needs_an_end_date() -> None:
    dated = minimal_product(mode="count", count_until="2027-01-31")
    assert violations_of(waf_staged_rollout_expiry.POLICY, [], products=[dated]) == []
    open_ended = minimal_product(
        managed_rules=[{"name": "common", "count_rules": ["NoUserAgent_HEADER"]}]
    )
    found = violations_of(waf_staged_rollout_expiry.POLICY, [], products=[open_ended])
    assert len(found) == 1
    assert found[0].startswith(
        "store: managed group common count_rules NoUserAgent_HEADER has no end date."
    )
    past = minimal_product(
        ip_blocklist=[{"cidr": "203.0.113.0/24", "reason": "bots", "expires": "2026-01-01"}]
    )
    assert (
        "ended on 2026-01-01"
        in violations_of(waf_staged_rollout_expiry.POLICY, [], products=[past])[0]
    )


def test_exceptions_must_name_a_policy_and_be_current() -> None:
    current = {
        "policy": "waf-rate-based-rule",
        "resource": "x",
        "reason": "migration",
        "expires": "2027-01-01",
    }
    assert violations_of(policy_exceptions_valid.POLICY, [], policy_exceptions=[current]) == []
    expired = {**current, "expires": "2026-01-01"}
    assert (
        "expired on 2026-01-01"
        in violations_of(policy_exceptions_valid.POLICY, [], policy_exceptions=[expired])[0]
    )
    unknown = {**current, "policy": "no-such-policy"}
    assert (
        "names no policy"
        in violations_of(policy_exceptions_valid.POLICY, [], policy_exceptions=[unknown])[0]
    )
