"""iam-permissions-boundary and iam-no-broad-grants, on hand-built resources and on the plan."""

from __future__ import annotations

import json
from typing import Any

import pytest

from policies.rules import iam_no_admin_policy, iam_no_broad_grants, iam_permissions_boundary
from tests.policies.support import resource, resource_args, violations_of

BOUNDARY = "arn:aws:iam::111111111111:policy/guard-prod-boundary"
STACK = resource("pulumi:pulumi:Stack", {}, "guard-prod")
ADMIN = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


def boundary(protect: bool = True) -> Any:
    props = {"name": "guard-prod-boundary", "policy": json.dumps(ADMIN)}
    return resource("aws:iam/policy:Policy", props, "guard-prod-boundary", protect=protect)


def role(name: str, permissions_boundary: str | None = BOUNDARY) -> Any:
    props: dict[str, Any] = {"name": name}
    if permissions_boundary is not None:
        props["permissionsBoundary"] = permissions_boundary
    return resource("aws:iam/role:Role", props, name)


def check(*resources: Any) -> list[str]:
    return violations_of(iam_permissions_boundary.POLICY, [STACK, *resources])


def test_bounded_roles_and_a_protected_boundary_pass() -> None:
    assert check(boundary(), role("guard-prod-chatbot"), role("guard-prod-pipeline-deploy")) == []


def test_a_role_without_the_boundary_fails() -> None:
    (message,) = check(boundary(), role("guard-prod-chatbot"), role("guard-prod-x", None))
    assert "guard-prod-x" in message and "guard-prod-boundary" in message


def test_another_boundary_fails() -> None:
    other = "arn:aws:iam::111111111111:policy/guard-staging-boundary"
    assert len(check(boundary(), role("guard-prod-x", other))) == 1


def test_roles_need_the_boundary_declared_and_protected() -> None:
    assert "not their permissions boundary" in check(role("guard-prod-x"))[0]
    assert "not protected" in check(boundary(protect=False), role("guard-prod-x"))[0]


def test_the_boundary_attached_as_a_policy_fails() -> None:
    attachment = resource(
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        {"role": "guard-prod-x", "policyArn": BOUNDARY},
        "oops",
    )
    (message,) = check(boundary(), role("guard-prod-x"), attachment)
    assert "as a permissions policy" in message


def test_the_boundary_is_not_an_admin_grant_but_another_allow_all_is() -> None:
    props = {"name": "guard-prod-boundary", "policy": json.dumps(ADMIN)}
    args = resource_args("aws:iam/policy:Policy", props, "guard-prod-boundary")
    assert violations_of(iam_no_admin_policy.POLICY, args) == []
    assert violations_of(iam_no_broad_grants.POLICY, args) == []
    # The name decides, and only the stack's own boundary name: not any "-boundary".
    props["name"] = "guard-staging-boundary"
    args = resource_args("aws:iam/policy:Policy", props, "guard-staging-boundary")
    assert len(violations_of(iam_no_admin_policy.POLICY, args)) == 1


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::aws:policy/AmazonECS_FullAccess",
        "arn:aws:iam::aws:policy/AdministratorAccess",
        "arn:aws:iam::aws:policy/PowerUserAccess",
        "arn:aws:iam::aws:policy/job-function/NetworkAdministrator",
        "arn:aws:iam::aws:policy/service-role/AWSLambdaRole",
    ],
)
def test_broad_aws_managed_policies(arn: str) -> None:
    args = resource_args(
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment", {"role": "r", "policyArn": arn}
    )
    broad = arn.endswith(("FullAccess", "AdministratorAccess", "PowerUserAccess"))
    assert len(violations_of(iam_no_broad_grants.POLICY, args)) == (1 if broad else 0)


@pytest.mark.parametrize(
    ("statement", "broad"),
    [
        ({"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}, True),
        ({"Effect": "Allow", "Action": ["ecs:*", "iam:*"], "Resource": ["*"]}, True),
        ({"Effect": "Allow", "Action": "IAM:passrole", "Resource": "*"}, True),
        (
            {
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": "arn:aws:iam::111111111111:role/shop-task-*",
            },
            False,
        ),
        ({"Effect": "Deny", "Action": "iam:PassRole", "Resource": "*"}, False),
        ({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}, False),
    ],
)
def test_pass_role_on_every_role(statement: dict[str, Any], broad: bool) -> None:
    document = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    args = resource_args("aws:iam/rolePolicy:RolePolicy", {"policy": document})
    assert len(violations_of(iam_no_broad_grants.POLICY, args)) == (1 if broad else 0)


def test_every_role_of_the_example_plan_is_bounded() -> None:
    from tests.guard.iam_plan import full_plan

    plan = full_plan()
    roles = [r for r in plan.resources if r.type == "aws:iam/role:Role"]
    assert roles and all(r.inputs["permissionsBoundary"] == BOUNDARY for r in roles)
    (policy,) = [r for r in plan.resources if r.inputs.get("name") == "guard-prod-boundary"]
    assert policy.protect
