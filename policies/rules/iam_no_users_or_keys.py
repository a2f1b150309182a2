"""No IAM users, access keys or console passwords: people and CI use roles (SSO, OIDC)."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, ResourceValidationArgs, Severity

from policies.framework import Meta, Report, resource_policy

META = Meta(
    name="iam-no-users-or-keys",
    description="The stack declares no IAM user, access key or login profile.",
    severity=Severity.CRITICAL,
    enforcement=EnforcementLevel.MANDATORY,
    remediation="give CI a role trusted through OIDC (guard:ci) and people roles through IAM "
    "Identity Center; delete the user or key.",
    control="Security Hub IAM.7",
)
FORBIDDEN = {
    "aws:iam/user:User": "an IAM user",
    "aws:iam/accessKey:AccessKey": "an IAM access key",
    "aws:iam/userLoginProfile:UserLoginProfile": "an IAM console password",
    "aws:iam/userPolicy:UserPolicy": "a policy attached to an IAM user",
    "aws:iam/userPolicyAttachment:UserPolicyAttachment": "a policy attached to an IAM user",
}


def check(args: ResourceValidationArgs, report: Report) -> None:
    report(f"{args.name} is {FORBIDDEN[args.resource_type]}; long-lived credentials leak.", None)


POLICY = resource_policy(META, list(FORBIDDEN), check)
