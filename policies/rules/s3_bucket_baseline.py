"""Every S3 bucket blocks public access, encrypts, versions and expires its objects."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, PolicyResource, Severity, StackValidationArgs

from policies.framework import Meta, Report, stack_policy

META = Meta(
    name="s3-bucket-baseline",
    description="Every S3 bucket has a public access block with all four flags, default "
    "encryption, versioning enabled and a lifecycle rule.",
    severity=Severity.HIGH,
    enforcement=EnforcementLevel.MANDATORY,
    remediation="declare BucketPublicAccessBlock (all four true), "
    "BucketServerSideEncryptionConfiguration, BucketVersioning (Enabled) and "
    "BucketLifecycleConfiguration for the bucket.",
    control="Security Hub S3.1/S3.8/S3.14",
)
BUCKET_TYPES = {"aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"}
PUBLIC_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
PUBLIC_ACCESS = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
ENCRYPTION = {
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
}
VERSIONING = {
    "aws:s3/bucketVersioning:BucketVersioning",
    "aws:s3/bucketVersioningV2:BucketVersioningV2",
}
LIFECYCLE = {
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2",
}


def _of_bucket(resource: PolicyResource, bucket: PolicyResource) -> bool:
    # The bucket input is an output of the bucket (unknown at preview); the dependency is known.
    return any(d.urn == bucket.urn for d in resource.property_dependencies.get("bucket", []))


def check(args: StackValidationArgs, report: Report) -> None:
    for bucket in (r for r in args.resources if r.resource_type in BUCKET_TYPES):
        related = [r for r in args.resources if _of_bucket(r, bucket)]
        missing = []
        blocks = [r for r in related if r.resource_type == PUBLIC_ACCESS]
        if not any(all(b.props.get(flag) is True for flag in PUBLIC_FLAGS) for b in blocks):
            missing.append("a public access block with all four flags")
        if not any(r.resource_type in ENCRYPTION for r in related):
            missing.append("default encryption")
        versioned = [r for r in related if r.resource_type in VERSIONING]
        if not any(
            (v.props.get("versioningConfiguration") or {}).get("status") == "Enabled"
            for v in versioned
        ):
            missing.append("versioning")
        if not any(r.resource_type in LIFECYCLE for r in related):
            missing.append("a lifecycle rule")
        if missing:
            report(f"bucket {bucket.name} lacks {', '.join(missing)}.", bucket.urn)


POLICY = stack_policy(META, check)
