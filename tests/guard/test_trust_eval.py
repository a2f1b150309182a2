"""Unit tests of the IAM trust policy evaluator's glob and operator semantics."""

from __future__ import annotations

from typing import Any

import pytest

from guard.trust_eval import (
    TrustEvalError,
    circleci_claims,
    evaluate,
    github_claims,
    glob_match,
    validate_policy,
    web_identity_context,
)

PROVIDER = "arn:aws:iam::111111111111:oidc-provider/idp.example.com"
ASSUME = "sts:AssumeRoleWithWebIdentity"


def policy(condition: dict[str, Any] | None = None, **stmt: Any) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"Federated": PROVIDER},
        "Action": ASSUME,
    }
    if condition is not None:
        statement["Condition"] = condition
    statement.update(stmt)
    return {"Version": "2012-10-17", "Statement": [statement]}


def allows(pol: dict[str, Any], claims: dict[str, Any], **kw: Any) -> bool:
    return evaluate(
        pol,
        principal_federated=kw.get("principal", PROVIDER),
        action=kw.get("action", ASSUME),
        claims=claims,
    )


# --- StringLike globbing -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("*", "", True),
        ("*", "anything/at/all", True),
        ("a*", "a", True),
        ("a*", "a/b/c", True),  # "*" crosses "/"
        ("a*c", "ab", False),
        ("a*c", "abc/xc", True),
        ("a?c", "abc", True),
        ("a?c", "a/c", True),  # "?" is any single character, "/" too
        ("a?c", "ac", False),  # "?" is exactly one, never zero
        ("a?c", "abbc", False),
        ("??", "ab", True),
        ("??", "a", False),
        ("A*", "a", False),  # case-sensitive
        ("a.c", "abc", False),  # regex metacharacters are literal
        ("a+", "aa", False),
        ("[ab]", "a", False),
        ("[ab]", "[ab]", True),
        ("a\\*", "a\\xyz", True),  # backslash is literal, not an escape
        ("x*", "x\nnewline", True),
        ("main", "main ", False),  # anchored at both ends
        ("main", " main", False),
        ("*/vcs-ref/*/vcs-ref/*", "o/vcs-ref/a/vcs-ref/b", True),
        ("*/vcs-ref/*/vcs-ref/*", "o/vcs-ref/vcs-ref/b", False),  # overlap needs its own rule
        ("*/vcs-ref/vcs-ref/*", "o/vcs-ref/vcs-ref/b", True),
    ],
)
def test_glob_match(pattern: str, value: str, expected: bool) -> None:
    assert glob_match(pattern, value) is expected


def test_glob_match_ignore_case() -> None:
    assert glob_match("STS:Assume*", "sts:AssumeRoleWithWebIdentity", ignore_case=True)
    assert not glob_match("STS:Assume*", "sts:AssumeRoleWithWebIdentity")


def test_string_like_in_a_policy() -> None:
    pol = policy({"StringLike": {"idp.example.com:sub": "repo:org/*:ref:refs/heads/main"}})
    assert allows(pol, {"idp.example.com:sub": "repo:org/a:ref:refs/heads/main"})
    assert allows(pol, {"idp.example.com:sub": "repo:org/a:x:y:ref:refs/heads/main"})
    assert not allows(pol, {"idp.example.com:sub": "repo:org/a:ref:refs/heads/main2"})


# --- operator semantics --------------------------------------------------------------------

SUB = "idp.example.com:sub"
AUD = "idp.example.com:aud"


def test_values_are_ored() -> None:
    pol = policy({"StringEquals": {SUB: ["a", "b"]}})
    assert allows(pol, {SUB: "a"})
    assert allows(pol, {SUB: "b"})
    assert not allows(pol, {SUB: "c"})


def test_keys_in_one_operator_are_anded() -> None:
    pol = policy({"StringEquals": {SUB: "a", AUD: "x"}})
    assert allows(pol, {SUB: "a", AUD: "x"})
    assert not allows(pol, {SUB: "a", AUD: "y"})
    assert not allows(pol, {SUB: "b", AUD: "x"})


def test_operators_are_anded() -> None:
    pol = policy({"StringEquals": {AUD: "x"}, "StringLike": {SUB: "a*"}})
    assert allows(pol, {SUB: "ab", AUD: "x"})
    assert not allows(pol, {SUB: "ab", AUD: "y"})
    assert not allows(pol, {SUB: "ba", AUD: "x"})


def test_missing_key_fails_positive_operators() -> None:
    for op in ("StringEquals", "StringLike", "StringEqualsIgnoreCase"):
        assert not allows(policy({op: {SUB: "*"}}), {AUD: "x"}), op


def test_missing_key_satisfies_negated_operators() -> None:
    for op in ("StringNotEquals", "StringNotLike", "StringNotEqualsIgnoreCase"):
        assert allows(policy({op: {SUB: "a"}}), {AUD: "x"}), op


def test_if_exists() -> None:
    pol = policy({"StringEqualsIfExists": {SUB: "a"}})
    assert allows(pol, {})
    assert allows(pol, {SUB: "a"})
    assert not allows(pol, {SUB: "b"})


def test_not_equals_and_not_like() -> None:
    assert allows(policy({"StringNotEquals": {SUB: ["a", "b"]}}), {SUB: "c"})
    assert not allows(policy({"StringNotEquals": {SUB: ["a", "b"]}}), {SUB: "b"})
    pol = policy({"StringNotLike": {SUB: ["*evil*", "x?"]}})
    assert allows(pol, {SUB: "good"})
    assert not allows(pol, {SUB: "so-evil-here"})
    assert not allows(pol, {SUB: "xy"})


def test_ignore_case_operators() -> None:
    assert allows(policy({"StringEqualsIgnoreCase": {SUB: "MAIN"}}), {SUB: "main"})
    assert not allows(policy({"StringEquals": {SUB: "MAIN"}}), {SUB: "main"})
    assert not allows(policy({"StringNotEqualsIgnoreCase": {SUB: "MAIN"}}), {SUB: "main"})


def test_set_operators() -> None:
    any_like = policy({"ForAnyValue:StringLike": {"idp:amr": "auth*"}})
    assert allows(any_like, {"idp:amr": ["unauth", "authenticated"]})
    assert not allows(any_like, {"idp:amr": ["unauth"]})
    assert not allows(any_like, {})  # ForAnyValue: missing key is false

    all_eq = policy({"ForAllValues:StringEquals": {"idp:amr": ["a", "b"]}})
    assert allows(all_eq, {"idp:amr": ["a", "b"]})
    assert not allows(all_eq, {"idp:amr": ["a", "c"]})
    # The well-known trap: ForAllValues holds for a missing key or an empty set.
    assert allows(all_eq, {})
    assert allows(all_eq, {"idp:amr": []})

    all_not = policy({"ForAllValues:StringNotEquals": {"idp:amr": "x"}})
    assert allows(all_not, {"idp:amr": ["a", "b"]})
    assert not allows(all_not, {"idp:amr": ["a", "x"]})


def test_multivalued_key_needs_set_operator() -> None:
    with pytest.raises(TrustEvalError, match="multivalued"):
        allows(policy({"StringEquals": {SUB: "a"}}), {SUB: ["a", "b"]})


def test_condition_keys_are_case_insensitive_values_are_not() -> None:
    pol = policy({"StringEquals": {"IDP.example.com:SUB": "Value"}})
    assert allows(pol, {"idp.example.com:sub": "Value"})
    assert not allows(pol, {"idp.example.com:sub": "value"})
    with pytest.raises(TrustEvalError, match="twice"):
        allows(pol, {"a:sub": "x", "A:SUB": "x"})


def test_unconditioned_statement_trusts_every_token_of_the_provider() -> None:
    assert allows(policy(), {SUB: "repo:anyone/anything:pull_request"})
    assert allows(policy(), {})


# --- statements ----------------------------------------------------------------------------


def test_explicit_deny_wins() -> None:
    pol = policy({"StringLike": {SUB: "*"}})
    pol["Statement"].append(
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sts:*",
            "Condition": {"StringEquals": {SUB: "blocked"}},
        }
    )
    assert allows(pol, {SUB: "fine"})
    assert not allows(pol, {SUB: "blocked"})


def test_no_applying_statement_is_implicit_deny() -> None:
    pol = policy({"StringEquals": {SUB: "a"}})
    pol["Statement"][0]["Effect"] = "Deny"
    assert not allows(pol, {SUB: "b"})
    assert not allows(pol, {SUB: "a"})


def test_principal_and_action_matching() -> None:
    pol = policy(Principal={"Federated": ["arn:other", PROVIDER]}, Action=["sts:Assume*"])
    assert allows(pol, {})
    assert allows(pol, {}, action="STS:ASSUMEROLEWITHWEBIDENTITY")
    assert not allows(pol, {}, principal="arn:aws:iam::111111111111:oidc-provider/other")
    assert not allows(policy(), {}, action="sts:AssumeRole")
    assert not allows(policy(Principal={"Service": "ec2.amazonaws.com"}), {})
    assert allows(policy(Principal="*"), {}, principal="arn:anything")
    assert allows(policy(Principal={"AWS": "*"}), {}, principal="arn:anything")


def test_single_statement_object_is_accepted() -> None:
    pol = policy()
    pol["Statement"] = pol["Statement"][0]
    assert allows(pol, {})


# --- refusing what is not modelled ---------------------------------------------------------


@pytest.mark.parametrize(
    "operator",
    [
        "StringEqualsX",
        "stringequals",
        "NumericEquals",
        "DateLessThan",
        "IpAddress",
        "ForSomeValues:StringEquals",
        "ForAnyValue:Bool",
    ],
)
def test_unknown_operator_raises(operator: str) -> None:
    with pytest.raises(TrustEvalError):
        allows(policy({operator: {SUB: "a"}}), {SUB: "a"})


def test_unknown_operator_raises_even_when_a_deny_already_applies() -> None:
    pol = policy({"NumericEquals": {SUB: "1"}})
    pol["Statement"].insert(0, {"Effect": "Deny", "Principal": "*", "Action": "*"})
    with pytest.raises(TrustEvalError):
        allows(pol, {})


def test_unknown_operator_raises_after_a_failing_condition() -> None:
    pol = policy({"StringEquals": {SUB: "nope"}, "NumericLessThan": {SUB: "1"}})
    with pytest.raises(TrustEvalError):
        allows(pol, {SUB: "a"})


@pytest.mark.parametrize(
    "mutate",
    [
        lambda p: p.update(Version="2008-10-17"),
        lambda p: p.pop("Version"),
        lambda p: p.update(Statement=[]),
        lambda p: p["Statement"][0].update(NotPrincipal={"Federated": PROVIDER}),
        lambda p: p["Statement"][0].update(NotAction="sts:AssumeRole"),
        lambda p: p["Statement"][0].update(Resource="*"),
        lambda p: p["Statement"][0].update(Effect="allow"),
        lambda p: p["Statement"][0].pop("Principal"),
        lambda p: p["Statement"][0].update(Condition={"StringEquals": {SUB: "${aws:username}"}}),
        lambda p: p["Statement"][0].update(Condition={"StringEquals": {SUB: 1}}),
        lambda p: p["Statement"][0].update(Condition={"StringEquals": {}}),
        lambda p: p["Statement"][0].update(Condition=["StringEquals"]),
        lambda p: p.update(Extra=1),
    ],
)
def test_unmodelled_policy_raises(mutate: Any) -> None:
    pol = policy()
    mutate(pol)
    with pytest.raises(TrustEvalError):
        validate_policy(pol)
    with pytest.raises(TrustEvalError):
        allows(pol, {})


# --- claim helpers -------------------------------------------------------------------------


def test_github_claims() -> None:
    assert github_claims("o/r", "pull_request") == {
        "token.actions.githubusercontent.com:sub": "repo:o/r:pull_request",
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
    }


def test_circleci_claims() -> None:
    org = "0f5a4c3e-1b2d-4e6f-8a9b-0c1d2e3f4a5b"
    claims = circleci_claims(org, "p", "u", "github.com/o/r", "refs/heads/main")
    assert claims == {
        f"oidc.circleci.com/org/{org}:sub": (
            f"org/{org}/project/p/user/u/vcs-origin/github.com/o/r/vcs-ref/refs/heads/main"
        ),
        f"oidc.circleci.com/org/{org}:aud": org,
    }


def test_web_identity_context_prefers_azp_for_aud() -> None:
    assert web_identity_context("idp", {"sub": "s", "aud": "a", "azp": "z"}) == {
        "idp:sub": "s",
        "idp:aud": "z",
    }
    assert web_identity_context("idp", {"sub": "s", "aud": ["a"], "repository": "x"}) == {
        "idp:sub": "s",
        "idp:aud": "a",
    }
    with pytest.raises(TrustEvalError):
        web_identity_context("idp", {"aud": ["a", "b"]})
