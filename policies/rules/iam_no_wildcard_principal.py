"""No trust or resource policy lets anyone at all assume or use a resource."""

from __future__ import annotations

from typing import Any

from pulumi_policy import EnforcementLevel, ResourceValidationArgs, Severity

from policies.framework import Meta, Report, as_list, policy_document, resource_policy

META = Meta(
    name="iam-no-wildcard-principal",
    description='No role trust policy, and no topic, key or bucket policy, has Principal "*" or '
    '{"AWS": "*"} in an Allow statement.',
    severity=Severity.CRITICAL,
    enforcement=EnforcementLevel.MANDATORY,
    remediation="name the account, service or OIDC provider that may assume the role.",
    control="Checkov CKV_AWS_60",
)
POLICY_INPUTS = {
    "aws:iam/role:Role": "assumeRolePolicy",
    "aws:sns/topicPolicy:TopicPolicy": "policy",
    "aws:sqs/queuePolicy:QueuePolicy": "policy",
    "aws:kms/key:Key": "policy",
    "aws:s3/bucketPolicy:BucketPolicy": "policy",
}


def wildcard_principal(document: dict[str, Any]) -> bool:
    for statement in as_list(document.get("Statement")):
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal")
        if principal == "*":
            return True
        if isinstance(principal, dict) and "*" in as_list(principal.get("AWS")):
            return True
    return False


def check(args: ResourceValidationArgs, report: Report) -> None:
    document = policy_document(args.props.get(POLICY_INPUTS[args.resource_type]))
    if document is not None and wildcard_principal(document):
        report(f'{args.name} trusts every principal (Principal "*").', None)


POLICY = resource_policy(META, list(POLICY_INPUTS), check)
