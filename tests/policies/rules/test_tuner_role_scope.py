"""tuner-role-scope: a tuning service's role holds only the inline grant guard builds."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from guard.tuner_policy import ALLOWED_ACTIONS, TUNER_TAG
from policies.rules import tuner_role_scope
from tests.guard.test_tuner_policy import ACCOUNT, BUCKET, REGION, permissions, sections
from tests.policies.support import resource_args, violations_of

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
TUNER_ROLE = "guard-prod-wafcharm"
WEB_ACL = f"arn:aws:wafv2:{REGION}:{ACCOUNT}:regional/webacl"


def judged(document: dict[str, Any], role: str = TUNER_ROLE, **config: Any) -> list[str]:
    args = resource_args(ROLE_POLICY, {"role": role, "policy": json.dumps(document)}, "policy")
    return violations_of(tuner_role_scope.POLICY, args, **(config or sections()))


def plus(**statement: Any) -> dict[str, Any]:
    document = copy.deepcopy(permissions())
    document["Statement"].append({"Effect": "Allow", **statement})
    return document


def test_the_grant_guard_builds_passes() -> None:
    assert judged(permissions()) == []
    assert judged(permissions(delivery="s3"), **sections(delivery="s3")) == []


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ({"Action": "iam:PassRole", "Resource": "*"}, "iam:PassRole is not an action"),
        ({"Action": "sts:AssumeRole", "Resource": "*"}, "sts:AssumeRole is not an action"),
        ({"Action": "wafv2:*", "Resource": "*"}, "name each action"),
        ({"Action": "s3:DeleteObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"}, "s3:DeleteObject"),
        (
            {"Action": "wafv2:DeleteLoggingConfiguration", "Resource": f"{WEB_ACL}/*"},
            "wafv2:DeleteLoggingConfiguration is not",
        ),
        (
            {"Action": "wafv2:UpdateWebACL", "Resource": f"{WEB_ACL}/guard-prod-admin-alb/*"},
            "web ACL guard-prod-admin-alb, which it does not tune",
        ),
        (
            {"Action": "s3:GetObject", "Resource": "arn:aws:s3:::guard-prod-state/*"},
            "bucket guard-prod-state, not the WAF log bucket",
        ),
    ],
)
def test_grants_beyond_tuning_are_violations(statement: dict[str, Any], expected: str) -> None:
    messages = judged(plus(**statement))
    assert len(messages) == 1 and expected in messages[0], messages
    assert messages[0].startswith(f"{TUNER_ROLE} (WafCharm's role) allows ")


def test_without_guard_logs_no_bucket_may_be_read() -> None:
    config = sections(logs=False)
    messages = judged(plus(Action="s3:GetObject", Resource=f"arn:aws:s3:::{BUCKET}/*"), **config)
    assert any("not the WAF log bucket" in m for m in messages)


def test_attaching_a_managed_policy_is_a_violation() -> None:
    props = {"role": TUNER_ROLE, "policyArn": "arn:aws:iam::aws:policy/AWSWAFFullAccess"}
    (message,) = violations_of(
        tuner_role_scope.POLICY, resource_args(ATTACHMENT, props, "waf-full"), **sections()
    )
    assert "AWSWAFFullAccess" in message
    role = {"name": TUNER_ROLE, "managedPolicyArns": [props["policyArn"]]}
    assert len(violations_of(tuner_role_scope.POLICY, resource_args(ROLE, role), **sections())) == 1


def test_a_tagged_roles_inline_policies_are_judged() -> None:
    role = {
        "name": "renamed",
        "tags": {TUNER_TAG: "wafcharm"},
        "inlinePolicies": [{"name": "x", "policy": json.dumps(plus(Action="iam:*", Resource="*"))}],
    }
    (message,) = violations_of(tuner_role_scope.POLICY, resource_args(ROLE, role), **sections())
    assert "iam:*" in message


def test_other_roles_policies_are_not_judged() -> None:
    assert judged(plus(Action="iam:PassRole", Resource="*"), role="guard-prod-chatbot") == []


def test_the_description_counts_the_allowlist() -> None:
    assert f"the {len(ALLOWED_ACTIONS)} actions" in tuner_role_scope.META.description


def test_extra_statements_beyond_the_allowlist_need_a_reviewed_exception() -> None:
    """guard:tuners.<service>.statements reach the role's policy, and what the allowlist does
    not cover fails the plan until a reviewed, time-boxed exception waives it."""
    from guard.plan import run_program
    from guard.policy_run import load_pack, run_policies
    from tests.conftest import ROOT, TODAY, load, minimal_product

    extra = {
        "Sid": "ListDistributions",
        "Effect": "Allow",
        "Action": "cloudfront:ListDistributions",
        "Resource": "*",
    }
    access = {
        "principal": "arn:aws:iam::123456789012:root",
        "external_id": {"secure": "v1:x"},
        "statements": [extra],
    }
    products = [minimal_product("shop", tuner={"service": "wafcharm"})]
    pack = [p for p in load_pack(ROOT / "policies") if p.name == "tuner-role-scope"]

    def outcome(**sections: Any) -> Any:
        plan = run_program(load(products=products, tuners={"wafcharm": access}, **sections), "prod")
        return run_policies(plan, pack, today=TODAY)

    (found,) = outcome().violations
    assert found.mandatory and "cloudfront:ListDistributions" in found.message
    waiver = {
        "policy": "tuner-role-scope",
        "resource": "guard-prod-wafcharm",
        "reason": "WafCharm support asked to list distributions for its dashboard",
        "expires": "2027-01-31",
    }
    waived = outcome(policy_exceptions=[waiver])
    assert waived.violations == [] and len(waived.exceptions) == 1
