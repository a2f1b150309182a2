"""oidc-trust-subject: a sub condition, no wildcard in the repository or project part."""

from __future__ import annotations

import json
from typing import Any

import pytest

from guard.oidc_trust import (
    GITHUB_ISSUER_HOST,
    circleci_issuer_host,
    circleci_trust_policy,
    github_subjects,
    github_trust_policy,
)
from policies.rules import oidc_trust_subject
from tests.policies.rules.oidc_fixtures import CCI, GH, ORG, PROJECT
from tests.policies.support import resource_args, violations_of

GH_SUB = f"{GITHUB_ISSUER_HOST}:sub"
CCI_SUB = f"{circleci_issuer_host(ORG)}:sub"


def github() -> dict[str, Any]:
    return github_trust_policy(
        GH, github_subjects("example-org/store", ["ref:refs/heads/main", "environment:production"])
    )


def circleci(branches: list[str] | None = None) -> dict[str, Any]:
    return circleci_trust_policy(CCI, ORG, PROJECT, branches or ["main"], None)


def violations(trust: dict[str, Any]) -> list[str]:
    args = resource_args("aws:iam/role:Role", {"assumeRolePolicy": json.dumps(trust)}, "ci-role")
    return violations_of(oidc_trust_subject.POLICY, args)


def test_trust_built_by_guard_passes() -> None:
    assert violations(github()) == []
    assert violations(circleci()) == []
    # A wildcard after the repository or project is fine: CircleCI's any-branch preview role.
    assert violations(circleci(["*"])) == []


def test_immutable_github_subjects_pass() -> None:
    subjects = github_subjects("example-org/store", ["pull_request"], owner_id=1, repo_id=2)
    assert violations(github_trust_policy(GH, subjects)) == []


def test_missing_sub_is_a_violation() -> None:
    trust = github()
    del trust["Statement"][0]["Condition"]["StringEquals"][GH_SUB]
    (message,) = violations(trust)
    assert "any repository on GitHub" in message


def test_sub_only_if_exists_does_not_count() -> None:
    trust = github()
    condition = trust["Statement"][0]["Condition"]
    condition["StringEqualsIfExists"] = {GH_SUB: condition["StringEquals"].pop(GH_SUB)}
    assert len(violations(trust)) == 1


@pytest.mark.parametrize(
    ("sub", "expected"),
    [
        ("repo:example-org/*", "wildcard"),
        ("repo:example-org/store*:ref:refs/heads/main", "wildcard"),
        ("repo:*:environment:production", "wildcard"),
        ("repo:example-org/st?re:pull_request", "wildcard"),
        ("*", "does not start with 'repo:"),
        ("repo:store:ref:refs/heads/main", "not a GitHub owner/name"),
    ],
)
def test_github_repository_part(sub: str, expected: str) -> None:
    trust = github()
    condition = trust["Statement"][0]["Condition"]
    condition["StringEquals"].pop(GH_SUB)
    condition["StringLike"] = {GH_SUB: [sub]}
    (message,) = violations(trust)
    assert expected in message and sub in message


def test_wildcard_after_the_repository_is_not_this_rules_concern() -> None:
    trust = github()
    release = "repo:example-org/store:ref:refs/heads/release/*"
    trust["Statement"][0]["Condition"]["StringLike"] = {GH_SUB: [release]}
    assert violations(trust) == []


@pytest.mark.parametrize(
    ("sub", "expected"),
    [
        (f"org/{ORG}/project/*/user/*/vcs-ref/refs/heads/main", "wildcard"),
        (f"org/{ORG}/*", "does not start with"),
        (f"org/*/project/{PROJECT}/user/*", f"org/{ORG}/project/"),
        (f"org/{ORG}/project/store/user/*", "not a CircleCI project id"),
    ],
)
def test_circleci_project_part(sub: str, expected: str) -> None:
    trust = circleci()
    trust["Statement"][0]["Condition"]["StringLike"][CCI_SUB] = [sub]
    (message,) = violations(trust)
    assert expected in message
