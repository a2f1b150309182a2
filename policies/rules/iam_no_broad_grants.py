"""No role guard creates may pass any role, or hold an AWS ``*FullAccess`` managed policy.

``iam:PassRole`` on ``*`` lets a role hand any role of the account, administrators included, to
a service that runs code (Lambda, ECS, EC2) and act as it. AWS's ``*FullAccess`` and
``PowerUserAccess`` managed policies carry such grants: ``AmazonECS_FullAccess`` includes
``iam:PassRole`` on ``*`` scoped only by service, ``ec2:RunInstances`` and
``elasticloadbalancing:DeleteLoadBalancer`` on ``*``. A deploy role needs neither: list the
actions on the product's own resources and pass only its own task roles.
"""

from __future__ import annotations

import fnmatch
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
    name="iam-no-broad-grants",
    description="No IAM role or policy of the stack allows iam:PassRole on every role (Resource "
    '"*"), and no role has an AWS managed *FullAccess, PowerUserAccess or AdministratorAccess '
    "policy attached.",
    severity=Severity.HIGH,
    enforcement=EnforcementLevel.MANDATORY,
    remediation="pass only the roles the deploy needs (Resource: the role ARNs, Condition "
    "iam:PassedToService) and list the actions on the product's resources instead of a "
    "*FullAccess policy.",
)
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
BROAD_MANAGED = (
    "arn:aws:iam::aws:policy/*FullAccess",
    "arn:aws:iam::aws:policy/*/*FullAccess",
    "arn:aws:iam::aws:policy/PowerUserAccess",
    "arn:aws:iam::aws:policy/AdministratorAccess",
)
PASS_ROLE = ("iam:passrole", "iam:pass*", "iam:*", "*")


def _passes_any_role(document: dict[str, Any]) -> bool:
    for statement in as_list(document.get("Statement")):
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        actions = [str(a).lower() for a in as_list(statement.get("Action"))]
        if any(a in PASS_ROLE for a in actions) and "*" in as_list(statement.get("Resource")):
            return True
    return False


def check(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type == ATTACHMENT:
        arn = args.props.get("policyArn")
        if isinstance(arn, str) and any(fnmatch.fnmatchcase(arn, p) for p in BROAD_MANAGED):
            report(f"{args.name} attaches {arn}, far more than a deploy needs.", None)
        return
    if is_stack_boundary(args.resource_type, args.props, args.urn):
        return
    if args.resource_type == "aws:iam/role:Role":
        for arn in as_list(args.props.get("managedPolicyArns")):
            if isinstance(arn, str) and any(fnmatch.fnmatchcase(arn, p) for p in BROAD_MANAGED):
                report(f"{args.name} has {arn} attached, far more than a deploy needs.", None)
    if any(_passes_any_role(d) for d in iam_documents(args.resource_type, args.props)):
        report(f"{args.name} allows iam:PassRole on every role of the account.", None)


POLICY = resource_policy(META, [*IAM_POLICY_INPUTS, ATTACHMENT], check)
