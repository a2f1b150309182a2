"""Every role the stack declares carries the stack's permissions boundary, kept as a boundary.

The boundary (``guard-<stack>-boundary``, :mod:`guard.iam_boundary`) is what stops a role the
pipeline creates or changes from doing more than guard allows. A role without it, a boundary
that is not protected from deletion, or the boundary attached as an ordinary permissions policy
(where its ``Allow *`` would grant instead of limit) each defeat it.
"""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, Severity, StackValidationArgs

from guard.ci_scope import boundary_name
from policies.framework import Meta, Report, stack_of, stack_policy

META = Meta(
    name="iam-permissions-boundary",
    description="Every IAM role of the stack has the permissions boundary guard-<stack>-boundary; "
    "the boundary is declared, protected, and never attached as a permissions policy.",
    severity=Severity.CRITICAL,
    enforcement=EnforcementLevel.MANDATORY,
    remediation="create roles with components.iam.bounded_role; keep the boundary policy "
    "protected and use it only as permissions_boundary.",
)
ROLE = "aws:iam/role:Role"
POLICY_TYPE = "aws:iam/policy:Policy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"


def check(args: StackValidationArgs, report: Report) -> None:
    stack = next((r for r in args.resources if r.resource_type == "pulumi:pulumi:Stack"), None)
    if stack is None:
        return
    name = boundary_name(stack_of(stack.urn))
    suffix = f":policy/{name}"
    roles = [r for r in args.resources if r.resource_type == ROLE]
    boundary = next(
        (
            r
            for r in args.resources
            if r.resource_type == POLICY_TYPE and r.props.get("name") == name
        ),
        None,
    )
    if roles and boundary is None:
        report(f"the stack declares IAM roles but not their permissions boundary {name}.", None)
    elif boundary is not None and not boundary.opts.protect:
        report(f"the permissions boundary {name} is not protected from deletion.", boundary.urn)
    for role in roles:
        arn = role.props.get("permissionsBoundary")
        if not (isinstance(arn, str) and arn.startswith("arn:aws:iam::") and arn.endswith(suffix)):
            report(
                f"IAM role {role.props.get('name') or role.name} has permissions boundary "
                f"{arn!r}, not {name}: what it can do is limited only by its own policies.",
                role.urn,
            )
    for attachment in args.resources:
        if attachment.resource_type != ATTACHMENT:
            continue
        arn = attachment.props.get("policyArn")
        if isinstance(arn, str) and arn.endswith(suffix):
            report(
                f"{attachment.name} attaches the boundary {name} as a permissions policy; its "
                "Allow * would then grant every action the boundary does not deny.",
                attachment.urn,
            )


POLICY = stack_policy(META, check)
