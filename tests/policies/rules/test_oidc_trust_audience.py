"""oidc-trust-audience: roles trusted by GitHub Actions or CircleCI check the token's audience."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from guard.oidc_trust import (
    GITHUB_ISSUER_HOST,
    circleci_issuer_host,
    circleci_trust_policy,
    github_subjects,
    github_trust_policy,
    oidc_provider_arn,
)
from policies.rules import oidc_trust_audience
from tests.policies.rules.oidc_fixtures import ACCOUNT, CCI, GH, ORG, PROJECT
from tests.policies.support import resource_args, violations_of


def github() -> dict[str, Any]:
    return github_trust_policy(GH, github_subjects("example-org/store", ["environment:production"]))


def circleci() -> dict[str, Any]:
    return circleci_trust_policy(CCI, ORG, PROJECT, ["main"], "github.com/example-org/store")


def violations(trust: dict[str, Any]) -> list[str]:
    args = resource_args("aws:iam/role:Role", {"assumeRolePolicy": json.dumps(trust)}, "ci-role")
    return violations_of(oidc_trust_audience.POLICY, args)


@pytest.mark.parametrize("build", [github, circleci])
def test_trust_built_by_guard_passes(build: Any) -> None:
    assert violations(build()) == []


@pytest.mark.parametrize("build", [github, circleci])
def test_missing_audience_is_a_violation(build: Any) -> None:
    trust = build()
    condition = trust["Statement"][0]["Condition"]["StringEquals"]
    (aud,) = [key for key in condition if key.endswith(":aud")]
    del condition[aud]
    (message,) = violations(trust)
    assert "without a StringEquals condition" in message and aud in message


def test_wrong_audience_is_a_violation() -> None:
    trust = github()
    trust["Statement"][0]["Condition"]["StringEquals"][f"{GITHUB_ISSUER_HOST}:aud"] = [
        "sts.amazonaws.com",
        "https://github.com/example-org",
    ]
    (message,) = violations(trust)
    assert "https://github.com/example-org" in message


def test_circleci_audience_must_be_the_org_id() -> None:
    trust = circleci()
    key = f"{circleci_issuer_host(ORG)}:aud"
    trust["Statement"][0]["Condition"]["StringEquals"][key] = "sts.amazonaws.com"
    (message,) = violations(trust)
    assert ORG in message


def test_audience_under_string_like_does_not_count() -> None:
    trust = github()
    condition = trust["Statement"][0]["Condition"]
    key = f"{GITHUB_ISSUER_HOST}:aud"
    condition["StringLike"] = {key: condition["StringEquals"].pop(key)}
    assert len(violations(trust)) == 1


def test_other_principals_are_not_judged() -> None:
    service: dict[str, Any] = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    other_idp = copy.deepcopy(service)
    other_idp["Statement"][0]["Principal"] = {"Federated": oidc_provider_arn(ACCOUNT, "gitlab.com")}
    assert violations(service) == [] and violations(other_idp) == []
