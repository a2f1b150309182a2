"""oidc-deploy-not-from-pull-request: deploy roles refuse pull-request builds."""

from __future__ import annotations

import json
from typing import Any

import pytest

from guard.oidc_trust import (
    GITHUB_ISSUER_HOST,
    circleci_trust_policy,
    github_subjects,
    github_trust_policy,
)
from policies.rules import oidc_deploy_not_from_pull_request
from tests.policies.rules.oidc_fixtures import CCI, GH, ORG, PROJECT
from tests.policies.support import resource_args, violations_of

REPO = "example-org/store"
GH_SUB = f"{GITHUB_ISSUER_HOST}:sub"


def github(*deploy_from: str) -> dict[str, Any]:
    return github_trust_policy(GH, github_subjects(REPO, list(deploy_from)))


def circleci(*branches: str) -> dict[str, Any]:
    return circleci_trust_policy(CCI, ORG, PROJECT, list(branches), "github.com/example-org/store")


def violations(
    trust: dict[str, Any], name: str = "guard-prod-store-github-deploy", **props: Any
) -> list[str]:
    args = resource_args(
        "aws:iam/role:Role", {"name": name, "assumeRolePolicy": json.dumps(trust), **props}, name
    )
    return violations_of(oidc_deploy_not_from_pull_request.POLICY, args)


def test_environment_and_branch_deploy_roles_pass() -> None:
    assert violations(github("environment:production", "ref:refs/heads/main")) == []
    assert violations(circleci("main", "release/1.x")) == []


def test_pull_request_subject_on_a_deploy_role() -> None:
    (message,) = violations(github("environment:production", "pull_request"))
    assert f"repo:{REPO}:pull_request" in message


def test_a_wildcard_context_admits_pull_requests() -> None:
    trust = github("environment:production")
    trust["Statement"][0]["Condition"]["StringLike"] = {GH_SUB: [f"repo:{REPO}:*"]}
    del trust["Statement"][0]["Condition"]["StringEquals"][GH_SUB]
    assert len(violations(trust)) == 1
    # A wildcard that cannot reach pull_request is fine.
    trust["Statement"][0]["Condition"]["StringLike"] = {GH_SUB: [f"repo:{REPO}:ref:refs/tags/v*"]}
    assert violations(trust) == []


def test_no_sub_condition_admits_pull_requests() -> None:
    trust = github("environment:production")
    del trust["Statement"][0]["Condition"]["StringEquals"][GH_SUB]
    assert len(violations(trust)) == 1


def test_circleci_any_branch_on_a_deploy_role() -> None:
    (message,) = violations(circleci("*"), name="guard-prod-store-circleci-deploy")
    assert "pull" in message or "feature" in message


@pytest.mark.parametrize(
    ("name", "tags", "judged"),
    [
        ("guard-prod-pipeline-preview", {}, False),
        ("guard-prod-pipeline-preview", {"guard:role": "deploy"}, True),
        ("guard-prod-store-github-deploy", {"guard:role": "preview"}, True),
    ],
)
def test_which_roles_are_deploy_roles(name: str, tags: dict[str, str], judged: bool) -> None:
    trust = github("pull_request", "ref:refs/heads/main")
    assert bool(violations(trust, name=name, tags=tags)) is judged


def test_unmodelled_conditions_fail_closed() -> None:
    trust = github("environment:production")
    trust["Statement"][0]["Condition"]["NumericLessThan"] = {"aws:MultiFactorAuthAge": "3600"}
    (message,) = violations(trust)
    assert "cannot be checked" in message
