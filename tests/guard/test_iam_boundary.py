"""The permissions boundary's statements do what they say, on AWS's own authorization data."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from guard.ci_scope import PipelineScope
from guard.iam_boundary import MAX_MANAGED_POLICY_CHARS, boundary_policy
from guard.iam_eval import as_strings
from tests import iam_authorization as aws
from tests.conftest import STACKS, TODAY, load
from tests.guard.iam_plan import full_plan

# Statements that deny reads on purpose, or whose "*" only applies to one kind of request.
READ_DENIED = {"StateIsPipelines": "the Pulumi state is the pipeline's alone"}
CONDITIONED_ON_TAGGING = {"GuardTagViaPipeline"}


@pytest.fixture(scope="module")
def boundary() -> dict[str, Any]:
    plan = full_plan()
    return boundary_policy(PipelineScope.of(plan.loaded.config, "prod"))


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in document["Statement"] if s["Effect"] == "Deny"]


def test_every_action_pattern_names_real_actions(boundary: dict[str, Any]) -> None:
    empty = [
        f"{s['Sid']}: {pattern}"
        for s in statements(boundary)
        for pattern in as_strings("", s.get("Action", s.get("NotAction")))
        if pattern != "*" and not aws.expand(pattern)
    ]
    assert empty == []


def test_no_deny_takes_away_reading(boundary: dict[str, Any]) -> None:
    """Previews and refreshes read everything guard declares; a denied read breaks them."""
    reads = []
    for s in statements(boundary):
        if "NotAction" in s:
            # Everything but these is denied: they must be reads, and only reads are spared.
            spared = [a for p in s["NotAction"] for a in aws.expand(p)]
            assert spared and all(aws.is_read(a) for a in spared), s["Sid"]
            continue
        if s["Sid"] in READ_DENIED or s["Sid"] in CONDITIONED_ON_TAGGING:
            continue
        for pattern in as_strings("", s["Action"]):
            reads += [f"{s['Sid']}: {a}" for a in aws.expand(pattern) if aws.is_read(a)]
    assert reads == []


def test_no_deny_is_a_no_op(boundary: dict[str, Any]) -> None:
    """An action pattern that accepts none of its statement's resources would only look safe."""
    idle = []
    for s in statements(boundary):
        if "NotAction" in s or "NotResource" in s or s["Resource"] == "*":
            continue
        resources = as_strings("", s["Resource"])
        for pattern in as_strings("", s["Action"]):
            if not any(aws.accepts(a, r) for a in aws.expand(pattern) for r in resources):
                idle.append(f"{s['Sid']}: {pattern}")
    assert idle == []


def test_negated_conditions_only_on_actions_that_carry_the_key(boundary: dict[str, Any]) -> None:
    """A negated operator on a key the request lacks always holds: the deny would hit every call."""
    wrong = []
    for s in statements(boundary):
        for operator, block in s.get("Condition", {}).items():
            if "Not" not in operator:
                continue
            for key in block:
                for pattern in as_strings("", s.get("Action", "*")):
                    wrong += [
                        f"{s['Sid']}: {a} lacks {key}"
                        for a in aws.expand(pattern)
                        if not aws.takes_condition_key(a, key)
                    ]
    assert wrong == []


def size(document: dict[str, Any]) -> int:
    return len(json.dumps(document, separators=(",", ":")))


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_the_boundary_fits_a_managed_policy(stack: str) -> None:
    from guard.config import load_stack_file

    config = load_stack_file(STACKS / f"Pulumi.{stack}.yaml", today=TODAY).config
    assert size(boundary_policy(PipelineScope.of(config, stack))) <= MAX_MANAGED_POLICY_CHARS


def test_long_names_still_fit() -> None:
    """A 30-character stack name with the longest bucket names S3 allows."""
    plan = full_plan()
    scope = PipelineScope.of(plan.loaded.config, "prod")
    stack = "production-europe-west-1-blue"[:30]
    longest = dataclasses.replace(
        scope,
        stack=stack,
        logs_bucket="l" * 63,
        alb_logs_bucket="a" * 63,
        state_bucket="s" * 63,
        srt_role_arn=f"arn:aws:iam::111111111111:role/guard-{stack}-shield-srt-access",
        secrets_alias=f"alias/guard-{stack}-secrets",
    )
    assert size(boundary_policy(longest)) <= MAX_MANAGED_POLICY_CHARS


def test_everyday_changes_leave_the_boundary_alone() -> None:
    """Adding a product, an endpoint or a rate limit must not need an administrator."""
    product = {
        "name": "shop",
        "owner": "team-shop",
        "endpoints": [
            {
                "name": "web",
                "kind": "alb",
                "arn": "arn:aws:elasticloadbalancing:ap-northeast-1:111111111111:loadbalancer/app/shop/1123456789abcdef",
            }
        ],
        "waf": {"rate_limits": [{"name": "login", "limit": 100, "path": "/login"}]},
    }
    pipeline = {"github_repo": "example-org/security-infra", "state_bucket": "example-pulumi-state"}
    base = load(ci={"github": {}}, pipeline=pipeline).config
    more = load(
        ci={"github": {}},
        pipeline=pipeline,
        products=[*[p.model_dump(mode="json", exclude_none=True) for p in base.products], product],
    ).config
    assert boundary_policy(PipelineScope.of(base, "prod")) == boundary_policy(
        PipelineScope.of(more, "prod")
    )


def test_with_a_tuner_only_the_tuner_joins_the_web_acl_editors() -> None:
    """A WAF tuner's role may update guard's web ACLs under the boundary; every other role
    guard creates still may not, and the tuner may not touch guard's IP sets."""
    from guard.iam_eval import Request, evaluate

    scope = PipelineScope.of(full_plan().loaded.config, "prod")
    tuner = "arn:aws:iam::111111111111:role/guard-prod-wafcharm"
    document = boundary_policy(dataclasses.replace(scope, tuner_roles=(tuner,)))
    acl = "arn:aws:wafv2:ap-northeast-1:111111111111:regional/webacl/guard-prod-shop-alb/1"
    ip_set = "arn:aws:wafv2:ap-northeast-1:111111111111:regional/ipset/guard-prod-shop-alb-x/1"

    def allowed(principal: str, action: str, resource: str) -> bool:
        request = Request(action, resource, {"aws:PrincipalArn": principal})
        return evaluate(request, {"boundary": document}).allowed

    digest = "arn:aws:iam::111111111111:role/guard-prod-waf-samples"
    assert allowed(tuner, "wafv2:UpdateWebACL", acl)
    assert not allowed(digest, "wafv2:UpdateWebACL", acl)
    assert not allowed(tuner, "wafv2:UpdateIPSet", ip_set)
    assert not allowed(tuner, "wafv2:DeleteWebACL", acl)
    assert allowed(scope.deploy_role, "wafv2:UpdateIPSet", ip_set)
    # Without tuners the boundary is as it was: one wafv2:Update* for everyone but responders.
    plain = json.dumps(boundary_policy(scope))
    assert "WebAclEdits" not in plain and '"wafv2:Update*"' in plain
