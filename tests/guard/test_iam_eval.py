"""The identity-policy evaluator: IAM's documented semantics, and refusal of what it does not model."""

from __future__ import annotations

from typing import Any

import pytest

from guard.iam_eval import PolicyEvalError, Request, arn_match, evaluate

ROLE = "arn:aws:iam::111111111111:role/guard-prod-x"
BOUNDARY_ARN = "arn:aws:iam::111111111111:policy/guard-prod-boundary"


def doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def decide(
    identity: dict[str, Any],
    action: str,
    resource: str = "*",
    context: dict[str, Any] | None = None,
    boundary: dict[str, Any] | None = None,
) -> bool:
    request = Request(action, resource, context or {})
    return evaluate(request, {"inline": identity}, boundary).allowed


def test_allow_needs_a_matching_statement() -> None:
    policy = doc(allow("s3:GetObject", "arn:aws:s3:::bucket/*"))
    assert decide(policy, "s3:GetObject", "arn:aws:s3:::bucket/key")
    assert not decide(policy, "s3:PutObject", "arn:aws:s3:::bucket/key")
    assert not decide(policy, "s3:GetObject", "arn:aws:s3:::other/key")


def test_action_names_are_case_insensitive_resources_are_not() -> None:
    policy = doc(allow("S3:getobject", "arn:aws:s3:::Bucket/*"))
    assert decide(policy, "s3:GetObject", "arn:aws:s3:::Bucket/k")
    assert not decide(policy, "s3:GetObject", "arn:aws:s3:::bucket/k")


def test_an_explicit_deny_wins_over_any_allow() -> None:
    policy = doc(allow("iam:*"), deny("iam:PutRolePolicy", ROLE))
    assert decide(policy, "iam:PutRolePolicy", "arn:aws:iam::111111111111:role/other")
    assert not decide(policy, "iam:PutRolePolicy", ROLE)


def test_the_boundary_limits_and_its_deny_applies() -> None:
    identity = doc(allow("*"))
    boundary = doc(allow(["s3:*", "iam:*"]), deny("iam:CreateUser"))
    assert decide(identity, "s3:PutObject", "arn:aws:s3:::b/k", boundary=boundary)
    assert not decide(identity, "ec2:RunInstances", boundary=boundary), "outside the boundary"
    assert not decide(identity, "iam:CreateUser", boundary=boundary), "boundary deny"
    # A boundary never grants by itself.
    assert not decide(doc(allow("sqs:*")), "s3:PutObject", boundary=boundary)


def test_not_action_and_not_resource() -> None:
    policy = doc(
        allow("*"),
        {"Effect": "Deny", "NotAction": ["iam:Get*", "iam:List*"], "Resource": ROLE},
    )
    assert decide(policy, "iam:GetRole", ROLE)
    assert not decide(policy, "iam:PutRolePolicy", ROLE)
    assert not decide(policy, "sts:AssumeRole", ROLE)
    assert decide(policy, "iam:PutRolePolicy", "arn:aws:iam::111111111111:role/other")
    policy = doc({"Effect": "Allow", "Action": "s3:*", "NotResource": "arn:aws:s3:::secret/*"})
    assert decide(policy, "s3:GetObject", "arn:aws:s3:::open/k")
    assert not decide(policy, "s3:GetObject", "arn:aws:s3:::secret/k")


def test_missing_keys_satisfy_negated_operators_and_fail_positive_ones() -> None:
    bounded = deny(
        "iam:CreateRole",
        Condition={"StringNotEquals": {"iam:PermissionsBoundary": BOUNDARY_ARN}},
    )
    policy = doc(allow("iam:*"), bounded)
    assert decide(policy, "iam:CreateRole", ROLE, {"iam:PermissionsBoundary": BOUNDARY_ARN})
    assert not decide(policy, "iam:CreateRole", ROLE, {"iam:PermissionsBoundary": "arn:other"})
    assert not decide(policy, "iam:CreateRole", ROLE), "no boundary given: the deny applies"
    tagged = doc(
        allow("kms:*", Condition={"StringEquals": {"aws:ResourceTag/managed-by": "guard"}})
    )
    assert not decide(tagged, "kms:DisableKey", "arn:aws:kms:r:1:key/k")
    assert decide(
        tagged, "kms:DisableKey", "arn:aws:kms:r:1:key/k", {"aws:ResourceTag/managed-by": "guard"}
    )


def test_if_exists_set_operators_and_null() -> None:
    if_exists = doc(allow("s3:*", Condition={"StringEqualsIfExists": {"s3:prefix": "home/"}}))
    assert decide(if_exists, "s3:ListBucket")
    assert not decide(if_exists, "s3:ListBucket", context={"s3:prefix": "etc/"})
    any_value = doc(
        allow("*", Condition={"ForAnyValue:StringEquals": {"kms:ResourceAliases": "alias/a"}})
    )
    assert decide(any_value, "kms:Decrypt", context={"kms:ResourceAliases": ["alias/b", "alias/a"]})
    assert not decide(any_value, "kms:Decrypt"), "ForAnyValue fails on a missing key"
    all_values = doc(allow("*", Condition={"ForAllValues:StringEquals": {"aws:TagKeys": "a"}}))
    assert decide(all_values, "x:Y"), "ForAllValues holds on a missing key"
    assert not decide(all_values, "x:Y", context={"aws:TagKeys": ["a", "b"]})
    null = doc(allow("*", Condition={"Null": {"aws:RequestTag/team": "false"}}))
    assert decide(null, "x:Y", context={"aws:RequestTag/team": "a"})
    assert not decide(null, "x:Y")


def test_arn_operators_match_each_part() -> None:
    assert arn_match("arn:aws:iam::*:role/guard-*", "arn:aws:iam::111111111111:role/guard-x")
    assert not arn_match("arn:aws:iam::*:role/guard-*", "arn:aws:iam::1:user/guard-x")
    assert not arn_match("arn:aws:iam::1:role/x", "not-an-arn")
    policy = doc(
        allow("*"),
        deny("*", Condition={"ArnNotEquals": {"aws:PrincipalArn": ROLE}}),
    )
    assert decide(policy, "s3:PutObject", context={"aws:PrincipalArn": ROLE})
    assert not decide(policy, "s3:PutObject", context={"aws:PrincipalArn": ROLE + "2"})


@pytest.mark.parametrize(
    "statement",
    [
        allow("*", Principal="*"),
        allow("*", Condition={"NumericLessThan": {"a:b": "1"}}),
        allow("*", Condition={"StringEquals": {"a:b": "${aws:username}"}}),
        allow("*", Condition={"ForAnyValue:Bool": {"a:b": "true"}}),
        {"Effect": "Allow", "Action": "*"},
        {"Effect": "Allow", "Action": "*", "NotAction": "s3:*", "Resource": "*"},
    ],
)
def test_unmodelled_policies_raise(statement: dict[str, Any]) -> None:
    with pytest.raises(PolicyEvalError):
        decide(doc(statement), "s3:GetObject")


def test_the_decision_names_the_statement() -> None:
    policy = doc({"Sid": "Mine", **allow("s3:*")}, {"Sid": "No", **deny("s3:DeleteObject")})
    decision = evaluate(Request("s3:DeleteObject", "arn:aws:s3:::b/k"), {"inline": policy})
    assert not decision and decision.reason == "explicit deny by inline:No"
    decision = evaluate(Request("s3:GetObject", "arn:aws:s3:::b/k"), {"inline": policy})
    assert decision and decision.reason == "allowed by inline:Mine"
