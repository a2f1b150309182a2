"""The deploy role's table, held against AWS's Service Authorization data and evaluated on the plan.

Every row of :func:`guard.ci_permissions.deploy_grants` must name real actions on resource types
they accept, with condition keys they take, and grant the non-read actions they depend on. Then
the deploy role exactly as the plan declares it (its inline policy, AWS's ReadOnlyAccess and the
stack's boundary, all read from the plan) must be allowed every action each declared resource
needs, and refused every route of tests/guard/test_ci_escalation.py.

The table-wide checks run on two plans: the fixture prod stack with every area at its widest
(:func:`tests.guard.iam_plan.full_plan`) and the example organization stack with a pipeline
(:func:`tests.guard.iam_plan.organization_plan`), whose resource types no product stack declares.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator

import pytest

from guard.ci_permissions import deploy_grants, preview_grants
from guard.ci_scope import PipelineScope
from guard.config import load_stack_config
from guard.config.loader import read_stack_file
from guard.iam_eval import evaluate, glob_match
from guard.plan import PlanResult
from tests import iam_authorization as aws
from tests.conftest import STACKS, TODAY
from tests.guard.iam_plan import (
    ADMIN_ONLY_TYPES,
    full_plan,
    may,
    organization_plan,
    read_only_access,
    requests_for,
    role_identity,
    stack_boundary,
)

# Dependent actions AWS lists that guard's deploys never exercise, each with the reason.
NOT_EXERCISED = {
    **{
        f"wafv2:{verb}WebACL:{dep}": "guard associates web ACLs with ALBs only"
        for verb in ("Associate", "Disassociate")
        for dep in (
            "amplify:AssociateWebACL",
            "amplify:DisassociateWebACL",
            "apigateway:SetWebACL",
            "apprunner:AssociateWebAcl",
            "apprunner:DisassociateWebAcl",
            "appsync:AssociateWebACL",
            "appsync:DisassociateWebACL",
            "appsync:SetWebACL",
            "cognito-idp:AssociateWebACL",
            "cognito-idp:DisassociateWebACL",
            "ec2:AssociateVerifiedAccessInstanceWebAcl",
            "ec2:DisassociateVerifiedAccessInstanceWebAcl",
        )
    },
    "wafv2:AssociateWebACL:wafv2:PutPermissionPolicy": "only for a web ACL shared by another "
    "account; guard's web ACLs are the stack's own",
    "wafv2:DisassociateWebACL:wafv2:PutPermissionPolicy": "as above",
    "lambda:CreateFunction:lambda:PassCapacityProvider": "guard's functions use no capacity "
    "provider",
    # Unverified (see docs/ci.md): AWS lists it, KMS's CreateKey reference asks only for
    # kms:CreateKey and kms:TagResource. Granting it would let a tag make any key the pipeline's.
    "kms:CreateKey:kms:PutKeyPolicy": "key policies are an administrator's; unverified",
}


#: The plans every table-wide check runs on, and how many requests each must at least check.
PLANS: dict[str, tuple[Callable[[], PlanResult], int]] = {
    "prod": (full_plan, 400),
    "org": (organization_plan, 200),
}


@pytest.fixture(scope="module", params=sorted(PLANS))
def plan(request: pytest.FixtureRequest) -> PlanResult:
    planned: PlanResult = PLANS[request.param][0]()
    return planned


@pytest.fixture(scope="module")
def prod_plan() -> PlanResult:
    return full_plan()


@pytest.fixture(scope="module")
def scope(plan: PlanResult) -> PipelineScope:
    return PipelineScope.of(plan.loaded.config, plan.stack)


def rows(scope_: PipelineScope) -> Iterator[tuple[str, str, str]]:
    for grant in deploy_grants(scope_) + preview_grants(scope_):
        for action in grant.actions:
            for resource in grant.resources:
                yield grant.sid, action, resource


def test_every_action_exists_and_accepts_the_resources_it_is_granted_on(
    scope: PipelineScope,
) -> None:
    wrong = []
    for sid, action, resource in rows(scope):
        if not aws.exists(action):
            wrong.append(f"{sid}: {action} is not an IAM action")
        elif resource == "*" and not aws.star_only(action):
            wrong.append(
                f"{sid}: {action} on '*', but it accepts {list(aws.resource_formats(action))}"
            )
        elif not aws.accepts(action, resource):
            wrong.append(f"{sid}: {action} does not accept {resource}")
    assert wrong == []


def test_every_condition_key_applies_to_every_action_it_conditions(scope: PipelineScope) -> None:
    wrong = [
        f"{grant.sid}: {action} takes no {key}"
        for grant in deploy_grants(scope) + preview_grants(scope)
        for block in (grant.condition or {}).values()
        for key in block
        for action in grant.actions
        if not aws.takes_condition_key(action, key)
    ]
    assert wrong == []


def test_dependent_actions_are_granted_or_read_only(scope: PipelineScope) -> None:
    """IAM also authorises an action's dependent actions; missing ones fail the deploy."""
    granted = {a for g in deploy_grants(scope) for a in g.actions}
    read_only = read_only_access()
    missing = []
    for grant in deploy_grants(scope):
        for action in grant.actions:
            for dep in sorted(aws.dependent_actions(action)):
                covered = dep in granted or any(
                    glob_match(p, dep, ignore_case=True) for p in read_only
                )
                if not covered and f"{action}:{dep}" not in NOT_EXERCISED:
                    missing.append(f"{grant.sid}: {action} depends on {dep}")
    assert missing == []


def test_every_resource_type_the_stack_declares_is_served(
    plan: PlanResult, scope: PipelineScope
) -> None:
    served = {t for g in deploy_grants(scope) for t in g.serves}
    declared = {r.type for r in plan.resources if r.custom and r.type.startswith("aws:")}
    assert declared - served - set(ADMIN_ONLY_TYPES) == set()


def test_the_deploy_role_may_do_what_each_declared_resource_needs(plan: PlanResult) -> None:
    """Each (resource, action) of the table, on the resource's real ARN, for the role as planned."""
    identity = role_identity(plan, f"guard-{plan.stack}-pipeline-deploy")
    boundary = stack_boundary(plan)
    refused = []
    checked = 0
    for record, request in requests_for(
        plan, deploy_grants(PipelineScope.of(plan.loaded.config, plan.stack))
    ):
        checked += 1
        decision = evaluate(request, identity, boundary)
        if not decision:
            refused.append(
                f"{record.name}: {request.action} on {request.resource}: {decision.reason}"
            )
    assert refused == []
    assert checked > PLANS[plan.stack][1], "the plan's resources were not all checked"


def test_the_declared_policies_are_the_table(plan: PlanResult, scope: PipelineScope) -> None:
    for kind, grants in (("deploy", deploy_grants(scope)), ("preview", preview_grants(scope))):
        identity = role_identity(plan, f"guard-{plan.stack}-pipeline-{kind}")
        statements = [
            s["Sid"]
            for name, doc in identity.items()
            if name != "ReadOnlyAccess"
            for s in doc["Statement"]
        ]
        assert statements == [g.sid for g in grants], kind
        assert "ReadOnlyAccess" in identity


def test_policies_fit_iam_limits(plan: PlanResult) -> None:
    """10,240 characters of inline policy per role, 6,144 per managed policy."""
    for kind in ("deploy", "preview"):
        identity = role_identity(plan, f"guard-{plan.stack}-pipeline-{kind}")
        for name, document in identity.items():
            size = len(json.dumps(document, separators=(",", ":")))
            if name == "inline":
                assert size <= 10_240, kind
            elif name != "ReadOnlyAccess":
                assert size <= 6_144, name


def test_state_and_secrets(prod_plan: PlanResult) -> None:
    state = "arn:aws:s3:::example-pulumi-state/.pulumi/stacks/guard/prod.json"
    key = "arn:aws:kms:ap-northeast-1:111111111111:key/0f5a4c3e-1b2d-4e6f-8a9b-0c1d2e3f4a5b"
    secrets = {"kms:ResourceAliases": ["alias/guard-prod-secrets"]}
    preview, deploy = "guard-prod-pipeline-preview", "guard-prod-pipeline-deploy"
    assert may(prod_plan, preview, "s3:GetObject", state)
    assert not may(prod_plan, preview, "s3:PutObject", state)
    assert may(prod_plan, deploy, "s3:PutObject", state) and may(
        prod_plan, deploy, "s3:DeleteObject", state
    )
    assert may(prod_plan, preview, "kms:Decrypt", key, **secrets)
    assert may(prod_plan, deploy, "kms:Decrypt", key, **secrets)
    assert not may(
        prod_plan, deploy, "kms:Decrypt", key, **{"kms:ResourceAliases": ["alias/payments"]}
    )
    assert not may(prod_plan, deploy, "kms:Decrypt", key)


def test_reads_read_only_access_lacks_are_granted_to_both_roles(prod_plan: PlanResult) -> None:
    """``pulumi preview --refresh`` reads associations and Glue partition indexes."""
    alb = "arn:aws:elasticloadbalancing:ap-northeast-1:111111111111:loadbalancer/app/ebook-web/1"
    table = "arn:aws:glue:ap-northeast-1:111111111111:table/guard_prod_waf_logs/waf_logs"
    for action, resource in (
        ("elasticloadbalancing:GetLoadBalancerWebACL", alb),
        ("glue:GetPartitionIndexes", table),
    ):
        assert not any(glob_match(p, action, ignore_case=True) for p in read_only_access())
        for kind in ("preview", "deploy"):
            assert may(prod_plan, f"guard-prod-pipeline-{kind}", action, resource), kind


def test_direct_s3_delivery_grants_log_delivery_and_no_firehose() -> None:
    """With guard:logs.delivery: s3 the deploy role creates WAF's vended-log delivery (actions
    that take no resource) and gets no Firehose permissions, which nothing would use."""
    raw = dict(read_stack_file(STACKS / "Pulumi.prod.yaml").raw)
    logs = json.loads(raw["guard:logs"])
    raw["guard:logs"] = json.dumps({**logs, "delivery": "s3", "bucket": "aws-waf-logs-prod"})
    raw["guard:shield"] = json.dumps(
        {**json.loads(raw["guard:shield"]), "srt_access": {"role": "create"}}
    )
    config = load_stack_config(raw, "s3 delivery", today=TODAY).config
    grants = {g.sid: g for g in deploy_grants(PipelineScope.of(config, "prod"))}
    delivery = grants["LogDeliveryToS3"]
    assert set(delivery.actions) == {"logs:CreateLogDelivery", "logs:DeleteLogDelivery"}
    assert delivery.resources == ("*",) and all(aws.star_only(a) for a in delivery.actions)
    assert "LogDeliveryStreams" not in grants
    assert not any(a.startswith("firehose:") for g in grants.values() for a in g.actions)


def test_statement_ids_are_unique_in_every_declared_policy(plan: PlanResult) -> None:
    """IAM refuses a policy document whose statements repeat a Sid."""
    repeated = []
    for record in plan.resources:
        text = record.inputs.get("policy")
        if record.type.startswith("aws:iam/") and isinstance(text, str) and text.startswith("{"):
            sids = [s.get("Sid") for s in json.loads(text)["Statement"] if s.get("Sid")]
            repeated += [f"{record.name}: {sid}" for sid in set(sids) if sids.count(sid) > 1]
    assert repeated == []


def test_detection_alone_may_deploy_the_trusted_advisor_formatter() -> None:
    """Without Shield escalation or the WAF digest, detection still declares a function."""
    detection = PipelineScope(account="111111111111", stack="prod", alerts=True, detection=True)
    assert {"Functions", "FunctionQueues", "LogGroups"} <= {g.sid for g in deploy_grants(detection)}
    alerts_only = PipelineScope(account="111111111111", stack="prod", alerts=True)
    assert "Functions" not in {g.sid for g in deploy_grants(alerts_only)}
