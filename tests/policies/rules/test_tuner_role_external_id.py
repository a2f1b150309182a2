"""tuner-role-external-id: a tuning service's role requires its external ID, trusts no wildcard."""

from __future__ import annotations

import json
from typing import Any

import pytest

from guard.tuner_policy import EXTERNAL_ID_PLACEHOLDER, TUNER_TAG, tuner_trust_policy
from policies.rules import tuner_role_external_id
from tests.guard.test_tuner_policy import EXTERNAL_ID, WAFCHARM
from tests.policies.support import resource_args, violations_of

ROLE = "aws:iam/role:Role"


def violations(
    trust: Any, name: str = "guard-prod-wafcharm", tags: dict[str, str] | None = None
) -> list[str]:
    props: dict[str, Any] = {
        "name": name,
        "assumeRolePolicy": trust if isinstance(trust, str) else json.dumps(trust),
    }
    if tags is not None:
        props["tags"] = tags
    return violations_of(tuner_role_external_id.POLICY, resource_args(ROLE, props, "role"))


def without_external_id() -> dict[str, Any]:
    trust = tuner_trust_policy(WAFCHARM, EXTERNAL_ID)
    del trust["Statement"][0]["Condition"]
    return trust


@pytest.mark.parametrize("external_id", [EXTERNAL_ID, EXTERNAL_ID_PLACEHOLDER])
def test_the_trust_guard_builds_passes(external_id: str) -> None:
    """The real document (pulumi preview) and guard plan's, with the secret's placeholder."""
    assert violations(tuner_trust_policy(WAFCHARM, external_id)) == []


def test_a_trust_without_the_external_id_is_a_violation() -> None:
    (message,) = violations(without_external_id())
    assert "guard-prod-wafcharm (WafCharm's role)" in message
    assert "does not require sts:ExternalId" in message


def test_a_statement_added_beside_the_good_one_is_judged_too() -> None:
    trust = tuner_trust_policy(WAFCHARM, EXTERNAL_ID)
    trust["Statement"].append(
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}
    )
    messages = violations(trust)
    assert len(messages) == 2
    assert any("every principal" in m for m in messages)


def test_a_role_tagged_as_a_tuner_role_is_judged_whatever_its_name() -> None:
    assert len(violations(without_external_id(), "renamed", {TUNER_TAG: "other"})) == 1


def test_other_roles_are_not_judged() -> None:
    assert violations(without_external_id(), "guard-prod-chatbot") == []
    # Another stack's tuner role is that stack's plan's business.
    assert violations(without_external_id(), "guard-staging-wafcharm") == []


def test_a_trust_it_cannot_read_is_a_violation() -> None:
    """guard plan masks a secret input; a tuner role's trust must stay checkable."""
    (message,) = violations("[secret]")
    assert "a secret at preview" in message
    (message,) = violations("[unknown]")
    assert "not known at preview" in message
