"""No IAM policy grants every action on every resource.

The stack's permissions boundary allows ``*`` on purpose: a boundary grants nothing, it only
limits what a role's own policies can grant (``iam-permissions-boundary`` checks it is only ever
used as a boundary).
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import EnforcementLevel, ResourceValidationArgs, Severity

from policies.framework import (
    Meta,
    Report,
    as_list,
    is_stack_boundary,
    policy_document,
    resource_policy,
)

META = Meta(
    name="iam-no-admin-policy",
    description='No IAM policy document (managed, inline, role policy) allows Action "*" on Resource "*".',
    severity=Severity.CRITICAL,
    enforcement=EnforcementLevel.MANDATORY,
    remediation="list the actions and resources the role needs (guard:ci permissions.statements).",
    control="Checkov CKV_AWS_62",
)
# Type token -> the input that holds a policy document (or a list of inline policies).
POLICY_INPUTS = {
    "aws:iam/policy:Policy": "policy",
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:iam/userPolicy:UserPolicy": "policy",
    "aws:iam/groupPolicy:GroupPolicy": "policy",
    "aws:iam/role:Role": "inlinePolicies",
}


def _full_admin(document: dict[str, Any]) -> bool:
    for statement in as_list(document.get("Statement")):
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        actions = as_list(statement.get("Action"))
        resources = as_list(statement.get("Resource"))
        if "*" in actions and "*" in resources:
            return True
    return False


def check(args: ResourceValidationArgs, report: Report) -> None:
    if is_stack_boundary(args.resource_type, args.props, args.urn):
        return
    value = args.props.get(POLICY_INPUTS[args.resource_type])
    documents = []
    if args.resource_type == "aws:iam/role:Role":
        documents = [
            policy_document(p.get("policy")) for p in as_list(value) if isinstance(p, dict)
        ]
    else:
        documents = [policy_document(value)]
    if any(d is not None and _full_admin(d) for d in documents):
        report(f"{args.name} allows every action on every resource.", None)


POLICY = resource_policy(META, list(POLICY_INPUTS), check)
