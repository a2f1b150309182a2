"""No IAM policy grants every action on every resource.

The stack's permissions boundary allows ``*`` on purpose: a boundary grants nothing, it only
limits what a role's own policies can grant (``iam-permissions-boundary`` checks it is only ever
used as a boundary).
"""

from __future__ import annotations

from typing import Any

from pulumi_policy import EnforcementLevel, ResourceValidationArgs, Severity

from policies.framework import (
    IAM_POLICY_INPUTS,
    Meta,
    Report,
    as_list,
    iam_documents,
    is_stack_boundary,
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
    if any(_full_admin(d) for d in iam_documents(args.resource_type, args.props)):
        report(f"{args.name} allows every action on every resource.", None)


POLICY = resource_policy(META, list(IAM_POLICY_INPUTS), check)
