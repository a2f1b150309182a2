"""IAM policies: no users or keys, no admin grants, no wildcard principals."""

from __future__ import annotations

import json

import pytest

from policies.rules import iam_no_admin_policy, iam_no_users_or_keys, iam_no_wildcard_principal
from tests.policies.support import resource_args, violations_of

ADMIN = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
SCOPED = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "*"}],
}


@pytest.mark.parametrize(
    "type_token",
    [
        "aws:iam/user:User",
        "aws:iam/accessKey:AccessKey",
        "aws:iam/userLoginProfile:UserLoginProfile",
    ],
)
def test_users_keys_and_passwords_are_violations(type_token: str) -> None:
    assert len(violations_of(iam_no_users_or_keys.POLICY, resource_args(type_token, {}))) == 1


def test_roles_are_fine() -> None:
    assert violations_of(iam_no_users_or_keys.POLICY, resource_args("aws:iam/role:Role", {})) == []


@pytest.mark.parametrize("as_text", [True, False])
def test_admin_policy_document(as_text: bool) -> None:
    document = json.dumps(ADMIN) if as_text else ADMIN
    args = resource_args("aws:iam/rolePolicy:RolePolicy", {"policy": document})
    assert len(violations_of(iam_no_admin_policy.POLICY, args)) == 1
    scoped = resource_args("aws:iam/policy:Policy", {"policy": json.dumps(SCOPED)})
    assert violations_of(iam_no_admin_policy.POLICY, scoped) == []


def test_admin_in_a_roles_inline_policy_and_deny_is_fine() -> None:
    role = resource_args(
        "aws:iam/role:Role", {"inlinePolicies": [{"name": "x", "policy": json.dumps(ADMIN)}]}
    )
    assert len(violations_of(iam_no_admin_policy.POLICY, role)) == 1
    deny = {"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}
    args = resource_args("aws:iam/policy:Policy", {"policy": json.dumps(deny)})
    assert violations_of(iam_no_admin_policy.POLICY, args) == []


@pytest.mark.parametrize(
    "principal", ["*", {"AWS": "*"}, {"AWS": ["arn:aws:iam::111111111111:root", "*"]}]
)
def test_wildcard_principal_in_trust(principal: object) -> None:
    trust = {"Statement": [{"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}]}
    args = resource_args("aws:iam/role:Role", {"assumeRolePolicy": json.dumps(trust)})
    assert len(violations_of(iam_no_wildcard_principal.POLICY, args)) == 1


def test_service_and_federated_principals_are_fine() -> None:
    trust = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "drt.shield.amazonaws.com"},
                "Action": "sts:AssumeRole",
            },
            {
                "Effect": "Allow",
                "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
                "Action": "sts:AssumeRole",
            },
        ]
    }
    args = resource_args("aws:iam/role:Role", {"assumeRolePolicy": json.dumps(trust)})
    assert violations_of(iam_no_wildcard_principal.POLICY, args) == []
