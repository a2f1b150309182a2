"""The routes an attacker holding a guard role would take, each refused by IAM as planned.

The roles are evaluated exactly as the plan declares them: the deploy role's own policies,
AWS's ReadOnlyAccess and the stack's boundary. Each route names the request IAM would see,
with the condition context the attacker controls set in the attacker's favour.
"""

from __future__ import annotations

from typing import Any

import pytest

from guard.iam_eval import Request, evaluate
from guard.plan import PlanResult
from tests.guard.iam_plan import full_plan, managed_policy, may, role_identity, stack_boundary

A = "111111111111"
DEPLOY = "guard-prod-pipeline-deploy"
PREVIEW = "guard-prod-pipeline-preview"
BOUNDARY = f"arn:aws:iam::{A}:policy/guard-prod-boundary"
OWN_ROLE = f"arn:aws:iam::{A}:role/{DEPLOY}"
PRODUCT_ROLE = f"arn:aws:iam::{A}:role/guard-prod-marketplace-github-deploy"
FOREIGN_KEY = f"arn:aws:kms:ap-northeast-1:{A}:key/11111111-2222-4333-8444-555555555555"
GUARD_KEY = f"arn:aws:kms:ap-northeast-1:{A}:key/99999999-2222-4333-8444-555555555555"
WEB_ACL = f"arn:aws:wafv2:ap-northeast-1:{A}:regional/webacl/guard-prod-ebook-alb/abc"
ALB = f"arn:aws:elasticloadbalancing:ap-northeast-1:{A}:loadbalancer/app/ebook-web/4123456789abcdef"
LOG_BUCKET = "arn:aws:s3:::example-prod-waf-logs"
STATE = "arn:aws:s3:::example-pulumi-state"
GUARD_TAGGED = {"aws:ResourceTag/managed-by": "guard"}
ADMIN_DOCUMENT = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}
WITH_BOUNDARY = {"iam:PermissionsBoundary": BOUNDARY}

# (route, action, resource, context): every one must be refused to the deploy role.
DEPLOY_ROUTES: list[tuple[str, str, str, dict[str, Any]]] = [
    ("admin inline policy on itself", "iam:PutRolePolicy", OWN_ROLE, WITH_BOUNDARY),
    (
        "PowerUserAccess on itself",
        "iam:AttachRolePolicy",
        OWN_ROLE,
        {**WITH_BOUNDARY, "iam:PolicyARN": "arn:aws:iam::aws:policy/PowerUserAccess"},
    ),
    (
        "a self-made guard policy on itself",
        "iam:AttachRolePolicy",
        OWN_ROLE,
        {**WITH_BOUNDARY, "iam:PolicyARN": f"arn:aws:iam::{A}:policy/guard-prod-escalate"},
    ),
    ("a self-made policy", "iam:CreatePolicy", f"arn:aws:iam::{A}:policy/guard-prod-x", {}),
    ("rewrite the boundary", "iam:CreatePolicyVersion", BOUNDARY, {}),
    ("switch the boundary's version", "iam:SetDefaultPolicyVersion", BOUNDARY, {}),
    ("delete the boundary", "iam:DeletePolicy", BOUNDARY, {}),
    (
        "rewrite its own managed policy",
        "iam:CreatePolicyVersion",
        f"arn:aws:iam::{A}:policy/{DEPLOY}-1",
        {},
    ),
    ("trust anyone in its own role", "iam:UpdateAssumeRolePolicy", OWN_ROLE, WITH_BOUNDARY),
    ("drop its own boundary", "iam:DeleteRolePermissionsBoundary", OWN_ROLE, WITH_BOUNDARY),
    (
        "drop a product role's boundary",
        "iam:DeleteRolePermissionsBoundary",
        PRODUCT_ROLE,
        WITH_BOUNDARY,
    ),
    (
        "swap a product role's boundary",
        "iam:PutRolePermissionsBoundary",
        PRODUCT_ROLE,
        {"iam:PermissionsBoundary": "arn:aws:iam::aws:policy/AdministratorAccess"},
    ),
    (
        "change the preview role",
        "iam:PutRolePolicy",
        f"arn:aws:iam::{A}:role/{PREVIEW}",
        WITH_BOUNDARY,
    ),
    ("tag its way into a product tag", "iam:TagRole", OWN_ROLE, {}),
    (
        "create a backdoor role outside guard's names",
        "iam:CreateRole",
        f"arn:aws:iam::{A}:role/guard-backdoor",
        WITH_BOUNDARY,
    ),
    (
        "create an unbounded guard role",
        "iam:CreateRole",
        f"arn:aws:iam::{A}:role/guard-prod-backdoor",
        {},
    ),
    (
        "create a guard role bounded by something else",
        "iam:CreateRole",
        f"arn:aws:iam::{A}:role/guard-prod-backdoor",
        {"iam:PermissionsBoundary": "arn:aws:iam::aws:policy/AdministratorAccess"},
    ),
    (
        "give a product role an admin policy without a boundary",
        "iam:PutRolePolicy",
        PRODUCT_ROLE,
        {},
    ),
    (
        "pass itself to Lambda",
        "iam:PassRole",
        OWN_ROLE,
        {"iam:PassedToService": "lambda.amazonaws.com"},
    ),
    (
        "pass an account admin role to Lambda",
        "iam:PassRole",
        f"arn:aws:iam::{A}:role/Admin",
        {"iam:PassedToService": "lambda.amazonaws.com"},
    ),
    (
        "pass a guard role to EC2",
        "iam:PassRole",
        PRODUCT_ROLE,
        {"iam:PassedToService": "ec2.amazonaws.com"},
    ),
    (
        "run a function outside guard's names",
        "lambda:CreateFunction",
        f"arn:aws:lambda:ap-northeast-1:{A}:function:evil",
        {},
    ),
    (
        "invoke a function",
        "lambda:InvokeFunction",
        f"arn:aws:lambda:ap-northeast-1:{A}:function:guard-prod-srt-escalation",
        {},
    ),
    ("assume a product role", "sts:AssumeRole", PRODUCT_ROLE, {}),
    (
        "trust another CircleCI organisation",
        "iam:CreateOpenIDConnectProvider",
        f"arn:aws:iam::{A}:oidc-provider/oidc.circleci.com/org/00000000-0000-4000-8000-00000000beef",
        {},
    ),
    (
        "add an audience to GitHub's provider",
        "iam:AddClientIDToOpenIDConnectProvider",
        f"arn:aws:iam::{A}:oidc-provider/token.actions.githubusercontent.com",
        {},
    ),
    ("an IAM user", "iam:CreateUser", f"arn:aws:iam::{A}:user/backdoor", {}),
    ("an access key", "iam:CreateAccessKey", f"arn:aws:iam::{A}:user/alice", {}),
    ("a console password", "iam:CreateLoginProfile", f"arn:aws:iam::{A}:user/alice", {}),
    (
        "delete the GuardDuty detector",
        "guardduty:DeleteDetector",
        f"arn:aws:guardduty:ap-northeast-1:{A}:detector/1a9d",
        {},
    ),
    (
        "disable Security Hub",
        "securityhub:DisableSecurityHub",
        f"arn:aws:securityhub:ap-northeast-1:{A}:hub/default",
        {},
    ),
    ("cancel Shield Advanced", "shield:DeleteSubscription", "*", {}),
    (
        "stop CloudTrail",
        "cloudtrail:StopLogging",
        f"arn:aws:cloudtrail:ap-northeast-1:{A}:trail/org",
        {},
    ),
    ("take over a key by its policy", "kms:PutKeyPolicy", FOREIGN_KEY, {}),
    ("take over a key it tagged as guard's", "kms:PutKeyPolicy", FOREIGN_KEY, GUARD_TAGGED),
    ("read with a key it tagged as guard's", "kms:Decrypt", FOREIGN_KEY, GUARD_TAGGED),
    ("destroy a key it tagged as guard's", "kms:ScheduleKeyDeletion", FOREIGN_KEY, GUARD_TAGGED),
    (
        "untag another team's key",
        "kms:UntagResource",
        FOREIGN_KEY,
        {"aws:ResourceTag/managed-by": "payments"},
    ),
    ("delete guard's own key", "kms:ScheduleKeyDeletion", GUARD_KEY, GUARD_TAGGED),
    (
        "point the secrets alias elsewhere",
        "kms:UpdateAlias",
        f"arn:aws:kms:ap-northeast-1:{A}:alias/guard-prod-secrets",
        {},
    ),
    ("delete the WAF log bucket", "s3:DeleteBucket", LOG_BUCKET, {}),
    ("rewrite another bucket's policy", "s3:PutBucketPolicy", "arn:aws:s3:::payments-data", {}),
    ("read other buckets' objects as a writer", "s3:PutObject", "arn:aws:s3:::payments-data/x", {}),
]


@pytest.fixture(scope="module")
def plan() -> PlanResult:
    return full_plan()


@pytest.mark.parametrize(
    ("action", "resource", "context"),
    [pytest.param(a, r, c, id=route) for route, a, r, c in DEPLOY_ROUTES],
)
def test_the_deploy_role_cannot_take_the_route(
    plan: PlanResult, action: str, resource: str, context: dict[str, Any]
) -> None:
    assert not may(plan, DEPLOY, action, resource, **context)


#: What a role the deploy role creates may still do with "*" on "*": workloads and their keys
#: and data are its own policy's to limit (docs/ci.md), and a policy or a bounded role it
#: creates grants nothing more.
BOUNDED_MAY = {
    "a self-made policy",
    "take over a key by its policy",
    "untag another team's key",
    "read with a key it tagged as guard's",
    "create a backdoor role outside guard's names",
    "run a function outside guard's names",
    "rewrite another bucket's policy",
    "read other buckets' objects as a writer",
}


def test_a_role_it_creates_stays_inside_the_boundary(plan: PlanResult) -> None:
    """Creating a guard role with the boundary is allowed (product roles need it); whatever policy
    that role then gets, the boundary keeps it from every route that escapes it."""
    backdoor = f"arn:aws:iam::{A}:role/guard-prod-backdoor"
    assert may(plan, DEPLOY, "iam:CreateRole", backdoor, **WITH_BOUNDARY)
    assert may(plan, DEPLOY, "iam:PutRolePolicy", backdoor, **WITH_BOUNDARY)
    admin = {"inline": ADMIN_DOCUMENT}
    boundary = stack_boundary(plan)
    escaped = []
    for route, action, resource, context in DEPLOY_ROUTES:
        request = Request(action, resource, {"aws:PrincipalArn": backdoor, **context})
        if bool(evaluate(request, admin, boundary)) != (route in BOUNDED_MAY):
            escaped.append(route)
    assert escaped == []
    # Handing itself over to a role outside the boundary is the way out; it is closed.
    admin_role = f"arn:aws:iam::{A}:role/Admin"
    for action in ("iam:PassRole", "sts:AssumeRole"):
        request = Request(action, admin_role, {"aws:PrincipalArn": backdoor})
        assert not evaluate(request, admin, boundary), action


# (route, action, resource, context): refused to a product's deploy role even with "*" on "*".
PRODUCT_ROUTES: list[tuple[str, str, str, dict[str, Any]]] = [
    ("take its ALB off the web ACL", "wafv2:DisassociateWebACL", ALB, {}),
    ("put its own web ACL on the ALB", "wafv2:AssociateWebACL", ALB, {}),
    ("remove the ALB's web ACL through ELB", "elasticloadbalancing:SetWebAcl", "*", {}),
    ("empty the web ACL", "wafv2:UpdateWebACL", WEB_ACL, {}),
    ("delete the web ACL", "wafv2:DeleteWebACL", WEB_ACL, {}),
    ("stop WAF logging", "wafv2:DeleteLoggingConfiguration", WEB_ACL, {}),
    (
        "unblock an address",
        "wafv2:UpdateIPSet",
        f"arn:aws:wafv2:ap-northeast-1:{A}:regional/ipset/guard-prod-ebook-alb-block-ipv4/x",
        {},
    ),
    ("drop Shield protection", "shield:DeleteProtection", f"arn:aws:shield::{A}:protection/x", {}),
    ("turn off automatic mitigation", "shield:DisableApplicationLayerAutomaticResponse", "*", {}),
    ("cut the SRT off", "shield:DisassociateDRTRole", "*", {}),
    ("delete the log bucket", "s3:DeleteBucket", LOG_BUCKET, {}),
    ("expire logs", "s3:PutLifecycleConfiguration", LOG_BUCKET, {}),
    ("open the log bucket", "s3:PutBucketPolicy", LOG_BUCKET, {}),
    ("delete logs", "s3:DeleteObject", f"{LOG_BUCKET}/AWSLogs/x", {}),
    ("read the Pulumi state", "s3:GetObject", f"{STATE}/.pulumi/stacks/guard/prod.json", {}),
    (
        "silence the urgent topic",
        "sns:SetTopicAttributes",
        f"arn:aws:sns:ap-northeast-1:{A}:guard-prod-alerts-urgent",
        {},
    ),
    (
        "disable the finding rule",
        "events:DisableRule",
        f"arn:aws:events:ap-northeast-1:{A}:rule/guard-prod-securityhub-urgent",
        {},
    ),
    (
        "delete the DDoS alarm",
        "cloudwatch:DeleteAlarms",
        f"arn:aws:cloudwatch:ap-northeast-1:{A}:alarm:guard-prod-ebook-web-ddos",
        {},
    ),
    (
        "mute the DDoS alarm",
        "cloudwatch:DisableAlarmActions",
        f"arn:aws:cloudwatch:ap-northeast-1:{A}:alarm:guard-prod-ebook-web-ddos",
        {},
    ),
    (
        "unplug Slack",
        "chatbot:DeleteSlackChannelConfiguration",
        f"arn:aws:chatbot::{A}:chat-configuration/slack-channel/guard-prod-urgent",
        {},
    ),
    (
        "throttle the escalation to zero",
        "lambda:PutFunctionConcurrency",
        f"arn:aws:lambda:ap-northeast-1:{A}:function:guard-prod-srt-escalation",
        {},
    ),
    (
        "replace the escalation code",
        "lambda:UpdateFunctionCode",
        f"arn:aws:lambda:ap-northeast-1:{A}:function:guard-prod-srt-escalation",
        {},
    ),
    (
        "fake a DDoS escalation",
        "lambda:InvokeFunction",
        f"arn:aws:lambda:ap-northeast-1:{A}:function:guard-prod-srt-escalation",
        {},
    ),
    ("suppress findings", "securityhub:BatchUpdateFindings", "*", {}),
    (
        "turn a control off",
        "securityhub:UpdateStandardsControl",
        f"arn:aws:securityhub:ap-northeast-1:{A}:hub/default",
        {},
    ),
    ("add a trusted IP list to GuardDuty", "guardduty:CreateIPSet", "*", {}),
    ("archive GuardDuty findings", "guardduty:ArchiveFindings", "*", {}),
    (
        "turn GuardDuty features off",
        "guardduty:UpdateDetector",
        f"arn:aws:guardduty:ap-northeast-1:{A}:detector/1a9d",
        {},
    ),
    ("delete guard's key", "kms:ScheduleKeyDeletion", GUARD_KEY, GUARD_TAGGED),
    ("grant itself guard's key", "kms:CreateGrant", GUARD_KEY, GUARD_TAGGED),
    ("widen its own policy", "iam:PutRolePolicy", PRODUCT_ROLE, WITH_BOUNDARY),
    (
        "forge guard's tag",
        "ec2:CreateTags",
        f"arn:aws:ec2:ap-northeast-1:{A}:instance/i-1",
        {"aws:RequestTag/managed-by": "guard"},
    ),
]


@pytest.mark.parametrize(
    ("action", "resource", "context"),
    [pytest.param(a, r, c, id=route) for route, a, r, c in PRODUCT_ROUTES],
)
def test_a_product_pipeline_cannot_turn_its_protections_off(
    plan: PlanResult, action: str, resource: str, context: dict[str, Any]
) -> None:
    """Even a product role whose own policy allowed everything is held by the boundary."""
    admin = {
        "inline": {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
        }
    }
    request = Request(action, resource, {"aws:PrincipalArn": PRODUCT_ROLE, **context})
    assert not evaluate(request, admin, stack_boundary(plan))


def test_a_product_pipeline_still_deploys_its_product(plan: PlanResult) -> None:
    role = "guard-prod-marketplace-github-deploy"
    service = f"arn:aws:ecs:ap-northeast-1:{A}:service/marketplace/web"
    assert may(plan, role, "ecs:UpdateService", service)
    assert may(
        plan, role, "ecr:PutImage", f"arn:aws:ecr:ap-northeast-1:{A}:repository/marketplace-web"
    )
    task_role = f"arn:aws:iam::{A}:role/marketplace-task-web"
    assert may(
        plan, role, "iam:PassRole", task_role, **{"iam:PassedToService": "ecs-tasks.amazonaws.com"}
    )
    assert not may(
        plan, role, "iam:PassRole", task_role, **{"iam:PassedToService": "lambda.amazonaws.com"}
    )
    assert not may(
        plan, role, "ecs:UpdateService", f"arn:aws:ecs:ap-northeast-1:{A}:service/energy/web"
    )


def test_the_services_guard_runs_still_work_under_the_boundary(plan: PlanResult) -> None:
    """The boundary's denies leave the data each service role writes alone."""
    region = "ap-northeast-1"
    assert may(plan, "guard-prod-waf-logs-firehose", "s3:PutObject", f"{LOG_BUCKET}/waf/x.gz")
    assert may(
        plan,
        "guard-prod-waf-samples",
        "sns:Publish",
        f"arn:aws:sns:{region}:{A}:guard-prod-alerts-normal",
    )
    assert may(plan, "guard-prod-waf-samples", "wafv2:GetSampledRequests", WEB_ACL)
    assert may(plan, "guard-prod-srt-escalation", "support:CreateCase", "*")
    log_group = (
        f"arn:aws:logs:{region}:{A}:log-group:/aws/lambda/guard-prod-srt-escalation:log-stream:x"
    )
    assert may(plan, "guard-prod-srt-escalation", "logs:PutLogEvents", log_group)


def test_the_shield_response_team_may_change_web_acls_during_an_attack(plan: PlanResult) -> None:
    role = "guard-prod-shield-srt-access"
    assert "AWSShieldDRTAccessPolicy" in role_identity(plan, role)
    assert may(plan, role, "wafv2:UpdateWebACL", WEB_ACL)
    assert may(plan, role, "shield:UpdateApplicationLayerAutomaticResponse", "*")
    assert not may(plan, role, "s3:DeleteBucket", LOG_BUCKET)
    assert managed_policy("AWSShieldDRTAccessPolicy")["Statement"]


def test_the_preview_role_reads_and_writes_nothing(plan: PlanResult) -> None:
    for action, resource in (
        ("wafv2:GetWebACL", WEB_ACL),
        ("iam:GetRole", OWN_ROLE),
        ("iam:GetPolicyVersion", BOUNDARY),
        (
            "iam:GetOpenIDConnectProvider",
            f"arn:aws:iam::{A}:oidc-provider/token.actions.githubusercontent.com",
        ),
        ("s3:GetBucketPolicy", LOG_BUCKET),
        ("kms:GetKeyPolicy", GUARD_KEY),
    ):
        assert may(plan, PREVIEW, action, resource), action
    for action, resource in (
        ("wafv2:UpdateWebACL", WEB_ACL),
        ("s3:PutObject", f"{STATE}/.pulumi/stacks/guard/prod.json"),
        ("iam:PutRolePolicy", PRODUCT_ROLE),
    ):
        assert not may(plan, PREVIEW, action, resource, **WITH_BOUNDARY), action


def test_the_deploy_role_syncs_only_the_reviews_guard_created(plan: PlanResult) -> None:
    """guard wa sync edits workloads tagged managed-by=guard, and creates only such workloads."""
    workload = (
        f"arn:aws:wellarchitected:ap-northeast-1:{A}:workload/0123456789abcdef0123456789abcdef"
    )
    ours = {"aws:ResourceTag/managed-by": "guard"}
    for action in ("UpdateAnswer", "CreateMilestone", "UpdateWorkload", "AssociateLenses"):
        assert may(plan, DEPLOY, f"wellarchitected:{action}", workload, **ours)
        assert not may(plan, DEPLOY, f"wellarchitected:{action}", workload)
        assert not may(
            plan,
            DEPLOY,
            f"wellarchitected:{action}",
            workload,
            **{"aws:ResourceTag/managed-by": "x"},
        )
    tagged = {"aws:RequestTag/managed-by": "guard", "aws:TagKeys": ["managed-by"]}
    assert may(plan, DEPLOY, "wellarchitected:CreateWorkload", "*", **tagged)
    assert not may(plan, DEPLOY, "wellarchitected:CreateWorkload", "*")
    assert not may(
        plan,
        DEPLOY,
        "wellarchitected:CreateWorkload",
        "*",
        **{**tagged, "aws:TagKeys": ["managed-by", "owner"]},
    )
    assert not may(plan, DEPLOY, "wellarchitected:DeleteWorkload", workload, **ours)
