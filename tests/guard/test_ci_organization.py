"""The deploy role of an organization stack deploys the organization's settings, and nothing more.

The example organization stack (examples/organization/stacks/Pulumi.org.yaml) with a pipeline
is planned as stack ``org`` (:func:`tests.guard.iam_plan.organization_plan`); its deploy role,
exactly as the plan declares it (its managed policies, AWS's ReadOnlyAccess and the stack's
boundary), is evaluated with guard's IAM evaluator:

* allowed what each organization resource needs (a list written here, independent of the
  table in :mod:`guard.ci_permissions_organization`);
* refused the delegation and every AWS Organizations write, which are the management account's;
  Firewall Manager policies outside the organization's regions and rule groups outside the
  baseline's names; deleting a Firewall Manager policy this stack did not tag;
* held, with every role it creates, by the boundary: the escalation routes of
  tests/guard/test_ci_escalation.py, moved to the organization account, stay closed.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

import tests.guard.test_iam_boundary as boundary_checks
from guard.ci_grant import grant
from guard.ci_permissions import deploy_grants, preview_grants
from guard.ci_scope import PipelineScope
from guard.config import load_stack_config
from guard.iam_boundary import DELEGATION_ACTIONS, MAX_MANAGED_POLICY_CHARS, boundary_policy
from guard.iam_eval import Request, as_strings, evaluate
from guard.plan import PlanResult
from guard.resource_types import (
    DELEGATION_TYPES,
    DETECTOR,
    DETECTOR_FEATURE,
    EVENT_RULE,
    EVENT_TARGET,
    FMS_POLICY,
    GUARDDUTY_ORGANIZATION,
    GUARDDUTY_ORGANIZATION_FEATURE,
    HUB,
    HUB_AGGREGATOR,
    HUB_ORGANIZATION,
    HUB_POLICY,
    HUB_POLICY_ASSOCIATION,
    RULE_GROUP,
)
from tests import iam_authorization as aws
from tests.conftest import TODAY
from tests.guard.iam_plan import (
    full_plan,
    may,
    organization_plan,
    requests_for,
    role_identity,
    stack_boundary,
)
from tests.guard.test_ci_escalation import ADMIN_DOCUMENT, BOUNDED_MAY, DEPLOY_ROUTES

A = "222222222222"
MANAGEMENT = "333333333333"
REGION = "ap-northeast-1"
DEPLOY = "guard-org-pipeline-deploy"
BACKDOOR = f"arn:aws:iam::{A}:role/guard-org-backdoor"
BOUNDARY = f"arn:aws:iam::{A}:policy/guard-org-boundary"
HUB_ARN = f"arn:aws:securityhub:{REGION}:{A}:hub/default"
FMS_POLICY_ARN = f"arn:aws:fms:{REGION}:{A}:policy/0a1b2c3d-4e5f-4061-8272-839495a6b7c8"
THIS_STACKS = {"aws:ResourceTag/managed-by": "guard", "aws:ResourceTag/stack": "org"}
RATE_GROUP = f"arn:aws:wafv2:{REGION}:{A}:regional/rulegroup/guard-org-baseline-rate-{REGION}/1"
GUARD_TAGS = {"aws:RequestTag/managed-by": "guard", "aws:RequestTag/stack": "org"}

#: What each resource an organization stack declares needs from the deploy role: the calls
#: pulumi-aws (terraform-provider-aws) makes to create, update and delete it.
ORGANIZATION_NEEDS: dict[str, list[str]] = {
    DETECTOR: [
        "guardduty:CreateDetector",
        "guardduty:UpdateDetector",
        "guardduty:TagResource",
        "guardduty:UntagResource",
        "iam:CreateServiceLinkedRole",
    ],
    DETECTOR_FEATURE: ["guardduty:UpdateDetector"],
    # Creating and updating set auto-enable; the provider's delete calls nothing.
    GUARDDUTY_ORGANIZATION: ["guardduty:UpdateOrganizationConfiguration"],
    GUARDDUTY_ORGANIZATION_FEATURE: ["guardduty:UpdateOrganizationConfiguration"],
    HUB: [
        "securityhub:EnableSecurityHub",
        "securityhub:UpdateSecurityHubConfiguration",
        "iam:CreateServiceLinkedRole",
    ],
    HUB_AGGREGATOR: [
        "securityhub:CreateFindingAggregator",
        "securityhub:UpdateFindingAggregator",
        "securityhub:DeleteFindingAggregator",
    ],
    # Deleting sets the configuration back to LOCAL.
    HUB_ORGANIZATION: ["securityhub:UpdateOrganizationConfiguration"],
    HUB_POLICY: [
        "securityhub:CreateConfigurationPolicy",
        "securityhub:UpdateConfigurationPolicy",
        "securityhub:DeleteConfigurationPolicy",
    ],
    HUB_POLICY_ASSOCIATION: [
        "securityhub:StartConfigurationPolicyAssociation",
        "securityhub:StartConfigurationPolicyDisassociation",
    ],
    FMS_POLICY: ["fms:PutPolicy", "fms:DeletePolicy", "fms:TagResource", "fms:UntagResource"],
    RULE_GROUP: [
        "wafv2:CreateRuleGroup",
        "wafv2:UpdateRuleGroup",
        "wafv2:DeleteRuleGroup",
        "wafv2:TagResource",
        "wafv2:UntagResource",
    ],
    EVENT_RULE: ["events:PutRule", "events:DeleteRule", "events:TagResource"],
    EVENT_TARGET: ["events:PutTargets", "events:RemoveTargets"],
}

# (route, action, resource, context): refused to the deploy role and to every role it creates.
DELEGATION_ROUTES: list[tuple[str, str, str, dict[str, Any]]] = [
    ("make GuardDuty's administrator", "guardduty:EnableOrganizationAdminAccount", "*", {}),
    ("unmake GuardDuty's administrator", "guardduty:DisableOrganizationAdminAccount", "*", {}),
    (
        "make Security Hub's administrator",
        "securityhub:EnableOrganizationAdminAccount",
        HUB_ARN,
        {},
    ),
    (
        "unmake Security Hub's administrator",
        "securityhub:DisableOrganizationAdminAccount",
        HUB_ARN,
        {},
    ),
    ("make Firewall Manager's administrator", "fms:AssociateAdminAccount", "*", {}),
    ("drop Firewall Manager's administrator", "fms:DisassociateAdminAccount", "*", {}),
    ("widen Firewall Manager's administrator scope", "fms:PutAdminAccount", "*", {}),
    ("leave the organization", "organizations:LeaveOrganization", "*", {}),
    (
        "register a delegated administrator",
        "organizations:RegisterDelegatedAdministrator",
        f"arn:aws:organizations::{MANAGEMENT}:account/o-abcdefghij/{A}",
        {"organizations:ServicePrincipal": "fms.amazonaws.com"},
    ),
    (
        "detach a service control policy",
        "organizations:DetachPolicy",
        f"arn:aws:organizations::{MANAGEMENT}:policy/o-abcdefghij/service_control_policy/p-1",
        {},
    ),
]

# (route, action, resource, context): what the table's narrow grants leave out; refused to the
# deploy role.
NARROW_ROUTES: list[tuple[str, str, str, dict[str, Any]]] = [
    (
        "a rule group outside guard's names",
        "wafv2:CreateRuleGroup",
        f"arn:aws:wafv2:{REGION}:{A}:regional/rulegroup/allow-all/1",
        GUARD_TAGS,
    ),
    (
        "another team's rule group",
        "wafv2:UpdateRuleGroup",
        f"arn:aws:wafv2:{REGION}:{A}:regional/rulegroup/payments-rate/1",
        {},
    ),
    (
        "a guard rule group other than the baseline's",
        "wafv2:DeleteRuleGroup",
        f"arn:aws:wafv2:{REGION}:{A}:regional/rulegroup/guard-org-extra/1",
        {},
    ),
    (
        "another stack's baseline rule group",
        "wafv2:UpdateRuleGroup",
        f"arn:aws:wafv2:{REGION}:{A}:regional/rulegroup/guard-shop-prod-baseline-rate-{REGION}/1",
        {},
    ),
    (
        "a baseline rule group in a region outside guard:organization.regions",
        "wafv2:CreateRuleGroup",
        f"arn:aws:wafv2:eu-west-1:{A}:regional/rulegroup/guard-org-baseline-rate-eu-west-1/1",
        GUARD_TAGS,
    ),
    (
        "a Firewall Manager policy in a region outside guard:organization.regions",
        "fms:PutPolicy",
        f"arn:aws:fms:eu-west-1:{A}:policy/0a1b2c3d-4e5f-4061-8272-839495a6b7c8",
        GUARD_TAGS,
    ),
    ("delete a Firewall Manager policy guard did not tag", "fms:DeletePolicy", FMS_POLICY_ARN, {}),
    (
        "delete another stack's Firewall Manager policy",
        "fms:DeletePolicy",
        FMS_POLICY_ARN,
        {"aws:ResourceTag/managed-by": "guard", "aws:ResourceTag/stack": "shop-prod"},
    ),
    (
        "change the account's own standards (the configuration policy's)",
        "securityhub:BatchDisableStandards",
        HUB_ARN,
        {},
    ),
    (
        "delete the detector",
        "guardduty:DeleteDetector",
        f"arn:aws:guardduty:{REGION}:{A}:detector/1",
        {},
    ),
    ("disable Security Hub", "securityhub:DisableSecurityHub", HUB_ARN, {}),
]

# (route, action, resource, context): refused to a role the deploy role creates with the
# boundary and "*" on "*": the organization's settings are the pipeline's alone.
ORGANIZATION_SETTINGS_ROUTES: list[tuple[str, str, str, dict[str, Any]]] = [
    ("rewrite a Firewall Manager policy", "fms:PutPolicy", FMS_POLICY_ARN, {}),
    ("delete a Firewall Manager policy", "fms:DeletePolicy", FMS_POLICY_ARN, THIS_STACKS),
    ("untag a Firewall Manager policy", "fms:UntagResource", FMS_POLICY_ARN, {}),
    ("empty the baseline's rate limit", "wafv2:UpdateRuleGroup", RATE_GROUP, {}),
    ("delete the baseline's rate limit", "wafv2:DeleteRuleGroup", RATE_GROUP, {}),
    (
        "take an OU off the configuration policy",
        "securityhub:StartConfigurationPolicyDisassociation",
        HUB_ARN,
        {},
    ),
    (
        "associate another configuration policy",
        "securityhub:StartConfigurationPolicyAssociation",
        HUB_ARN,
        {},
    ),
    (
        "switch central configuration off",
        "securityhub:UpdateOrganizationConfiguration",
        HUB_ARN,
        {},
    ),
    (
        "turn every standard off",
        "securityhub:UpdateConfigurationPolicy",
        f"arn:aws:securityhub:{REGION}:{A}:configuration-policy/1",
        {},
    ),
    (
        "stop aggregating findings",
        "securityhub:DeleteFindingAggregator",
        f"arn:aws:securityhub:{REGION}:{A}:finding-aggregator/1",
        {},
    ),
    ("stop auto-enabling GuardDuty", "guardduty:UpdateOrganizationConfiguration", "*", {}),
]


def route_params(routes: list[tuple[str, str, str, dict[str, Any]]]) -> list[Any]:
    return [pytest.param(a, r, c, id=route) for route, a, r, c in routes]


def in_organization_account(value: Any) -> Any:
    """A route of tests/guard/test_ci_escalation.py (the prod stack, 111111111111) moved to the
    organization stack (``org``, 222222222222)."""
    if isinstance(value, str):
        return value.replace("111111111111", A).replace("guard-prod-", "guard-org-")
    if isinstance(value, dict):
        return {k: in_organization_account(v) for k, v in value.items()}
    return value


#: The escalation routes of a product stack, in the organization account.
MOVED_ROUTES = [
    (route, action, in_organization_account(resource), in_organization_account(context))
    for route, action, resource, context in DEPLOY_ROUTES
]


@pytest.fixture(scope="module")
def plan() -> PlanResult:
    return organization_plan()


@pytest.fixture(scope="module")
def scope(plan: PlanResult) -> PipelineScope:
    return PipelineScope.of(plan.loaded.config, "org")


def org_config(**changes: Any) -> Any:
    """The planned organization stack's raw config with ``guard:organization`` keys changed."""
    raw = dict(organization_plan().loaded.raw)
    organization = {**json.loads(raw["guard:organization"]), **changes}
    raw["guard:organization"] = json.dumps(organization)
    return load_stack_config(raw, "org", today=TODAY).config


# --- the scope -----------------------------------------------------------------------------


def test_the_scope_reads_guard_organization(scope: PipelineScope) -> None:
    assert scope.organization and not scope.detection
    assert scope.organization_regions == ("ap-northeast-1", "us-east-1")
    assert scope.fms_waf and scope.fms_rate_groups and scope.fms_shield
    assert scope.fms_policies == (
        f"arn:aws:fms:ap-northeast-1:{A}:policy/*",
        f"arn:aws:fms:us-east-1:{A}:policy/*",
    )
    assert scope.baseline_rule_groups == (
        f"arn:aws:wafv2:ap-northeast-1:{A}:regional/rulegroup/guard-org-baseline-rate-ap-northeast-1/*",
        f"arn:aws:wafv2:us-east-1:{A}:regional/rulegroup/guard-org-baseline-rate-us-east-1/*",
        f"arn:aws:wafv2:us-east-1:{A}:global/rulegroup/guard-org-baseline-rate-cloudfront/*",
    )
    prod = PipelineScope.of(full_plan().loaded.config, "prod")
    assert not prod.organization and not prod.fms_waf and prod.organization_regions == ()


def test_only_declared_firewall_manager_parts_are_granted() -> None:
    """No Firewall Manager, no fms rows; a baseline without a rate limit, no rule groups."""

    def sids(config: Any) -> set[str]:
        return {g.sid for g in deploy_grants(PipelineScope.of(config, "org"))}

    everything = sids(organization_plan().loaded.config)
    assert {"FirewallManagerPolicies", "FirewallManagerRuleGroups"} <= everything
    nothing = sids(org_config(firewall_manager={}))
    assert not any(s.startswith("FirewallManager") for s in nothing)
    assert "GuardDutyOrganization" in nothing and "SecurityHubConfigurationPolicy" in nothing
    baseline = json.loads(organization_plan().loaded.raw["guard:organization"])["firewall_manager"][
        "waf_baseline"
    ]
    no_rate = sids(org_config(firewall_manager={"waf_baseline": {**baseline, "rate_limit": None}}))
    assert "FirewallManagerPolicies" in no_rate and "FirewallManagerRuleGroups" not in no_rate
    shield_only = sids(org_config(firewall_manager={"shield": {}}))
    assert "FirewallManagerPolicies" in shield_only
    assert "FirewallManagerRuleGroups" not in shield_only


def test_a_product_stack_gets_no_organization_rows() -> None:
    prod = {g.sid for g in deploy_grants(PipelineScope.of(full_plan().loaded.config, "prod"))}
    assert not prod & {
        "GuardDutyOrganization",
        "SecurityHubPolicyTargets",
        "FirewallManagerPolicies",
    }
    assert "ManagementAccountOnly" not in json.dumps(stack_boundary(full_plan()))


# --- what the deploy role may do ------------------------------------------------------------


def test_the_deploy_role_may_do_what_each_organization_resource_needs(plan: PlanResult) -> None:
    """Each action of ORGANIZATION_NEEDS, on each declared resource's real ARN."""
    declared = {r.type for r in plan.resources}
    assert set(ORGANIZATION_NEEDS) <= declared, "the example no longer declares every type"
    needs = [grant("Need", [t], actions, ["*"]) for t, actions in ORGANIZATION_NEEDS.items()]
    identity = role_identity(plan, DEPLOY)
    boundary = stack_boundary(plan)
    refused = []
    checked: set[str] = set()
    for record, request in requests_for(plan, needs):
        checked.add(record.type)
        decision = evaluate(request, identity, boundary)
        if not decision:
            refused.append(f"{record.name}: {request.action} on {request.resource}")
    assert refused == []
    assert checked == set(ORGANIZATION_NEEDS)


def test_the_baseline_and_its_policies_in_every_scope(plan: PlanResult) -> None:
    """Each region's ALB policies and rule group, and CloudFront's in us-east-1 (scope global)."""
    for region, scope_, key in (
        ("ap-northeast-1", "regional", "ap-northeast-1"),
        ("us-east-1", "regional", "us-east-1"),
        ("us-east-1", "global", "cloudfront"),
    ):
        group = f"arn:aws:wafv2:{region}:{A}:{scope_}/rulegroup/guard-org-baseline-rate-{key}/9"
        assert may(plan, DEPLOY, "wafv2:CreateRuleGroup", group, **GUARD_TAGS), group
        assert may(plan, DEPLOY, "wafv2:DeleteRuleGroup", group), group
        policy = f"arn:aws:fms:{region}:{A}:policy/9"
        assert may(plan, DEPLOY, "fms:PutPolicy", policy, **GUARD_TAGS), policy
        assert may(plan, DEPLOY, "fms:DeletePolicy", policy, **THIS_STACKS), policy


@pytest.mark.parametrize(("action", "resource", "context"), route_params(NARROW_ROUTES))
def test_the_deploy_role_cannot_go_past_the_organizations_names(
    plan: PlanResult, action: str, resource: str, context: dict[str, Any]
) -> None:
    assert not may(plan, DEPLOY, action, resource, **context)


@pytest.mark.parametrize(("action", "resource", "context"), route_params(DELEGATION_ROUTES))
def test_the_deploy_role_cannot_delegate(
    plan: PlanResult, action: str, resource: str, context: dict[str, Any]
) -> None:
    assert not may(plan, DEPLOY, action, resource, **context)


def test_no_organizations_write_for_the_deploy_role(plan: PlanResult) -> None:
    """Every AWS Organizations write AWS knows, on '*' and on an organization ARN."""
    writes = [a for a in aws.expand("organizations:*") if not aws.is_read(a)]
    assert len(writes) > 20
    ou = f"arn:aws:organizations::{MANAGEMENT}:ou/o-abcdefghij/ou-abcd-11111111"
    allowed = [
        f"{action} on {resource}"
        for action in writes
        for resource in ("*", ou)
        if may(plan, DEPLOY, action, resource)
    ]
    assert allowed == []


def test_the_table_names_no_delegation_and_no_organizations_action(scope: PipelineScope) -> None:
    granted = {a for g in deploy_grants(scope) + preview_grants(scope) for a in g.actions}
    assert not any(a.startswith("organizations:") for a in granted)
    delegation = [a for p in DELEGATION_ACTIONS for a in aws.expand(p)]
    assert set(delegation) & granted == set()


def test_firewall_manager_policies_cannot_be_named_or_conditioned_in_iam() -> None:
    """Why FirewallManagerPolicies is on ``policy/*``: the ARN carries the generated ID, and
    Firewall Manager has no condition key of its own (none for DeleteAllPolicyResources).
    If AWS adds either, this fails: narrow the grant with it."""
    assert aws.resource_formats("fms:PutPolicy") == {
        "policy": "arn:${Partition}:fms:${Region}:${Account}:policy/${Id}"
    }
    for action in ("fms:PutPolicy", "fms:DeletePolicy"):
        assert all(k.startswith("aws:") for k in aws.condition_keys(action)), action
    assert not any(k.lower().startswith("fms:") for k in aws._data()["fms"]["conditions"])


def test_the_component_never_deletes_what_firewall_manager_made(plan: PlanResult) -> None:
    """What IAM cannot hold DeletePolicy to, the program does: DeleteAllPolicyResources false."""
    policies = [r for r in plan.resources if r.type == FMS_POLICY]
    assert len(policies) == 6
    assert all(r.inputs["deleteAllPolicyResources"] is False for r in policies)
    assert {r.inputs["name"] for r in policies} == {
        f"guard-org-{kind}-{key}"
        for kind in ("waf-baseline", "shield")
        for key in ("ap-northeast-1", "us-east-1", "cloudfront")
    }


# --- the delegation -----------------------------------------------------------------------


def test_the_delegation_is_the_management_accounts() -> None:
    """With guard:organization.delegation the plan declares the delegation through the
    management account's providers; no row of the deploy table serves it, and the deploy role
    may not do it."""
    plan = organization_plan(delegation=True)
    delegation = [r for r in plan.resources if r.type in DELEGATION_TYPES]
    assert {r.type for r in delegation} == set(DELEGATION_TYPES)
    assert all("aws-management-" in str(r.provider) for r in delegation)
    scope = PipelineScope.of(plan.loaded.config, "org")
    served = {t for g in deploy_grants(scope) for t in g.serves}
    assert served & set(DELEGATION_TYPES) == set()
    for _, action, resource, context in DELEGATION_ROUTES:
        assert not may(plan, DEPLOY, action, resource, **context), action


# --- the boundary -------------------------------------------------------------------------


@pytest.mark.parametrize(("action", "resource", "context"), route_params(MOVED_ROUTES))
def test_the_deploy_role_cannot_take_the_product_stack_routes(
    plan: PlanResult, action: str, resource: str, context: dict[str, Any]
) -> None:
    assert not may(plan, DEPLOY, action, resource, **context)


#: The prod stack's log bucket is protected there; an organization stack has none to protect.
ORGANIZATION_BOUNDED_MAY = BOUNDED_MAY | {"delete the WAF log bucket"}


def test_a_role_it_creates_stays_inside_the_boundary(plan: PlanResult) -> None:
    """A bounded role with "*" on "*": the product stack's routes as there, and neither the
    delegation, nor AWS Organizations, nor the organization's settings."""
    boundary = stack_boundary(plan)
    assert may(plan, DEPLOY, "iam:CreateRole", BACKDOOR, **{"iam:PermissionsBoundary": BOUNDARY})
    escaped = []
    for route, action, resource, context in MOVED_ROUTES:
        request = Request(action, resource, {"aws:PrincipalArn": BACKDOOR, **context})
        if bool(evaluate(request, {"inline": ADMIN_DOCUMENT}, boundary)) != (
            route in ORGANIZATION_BOUNDED_MAY
        ):
            escaped.append(route)
    for route, action, resource, context in DELEGATION_ROUTES + ORGANIZATION_SETTINGS_ROUTES:
        request = Request(action, resource, {"aws:PrincipalArn": BACKDOOR, **context})
        if evaluate(request, {"inline": ADMIN_DOCUMENT}, boundary):
            escaped.append(route)
    writes = [a for a in aws.expand("organizations:*") if not aws.is_read(a)]
    escaped += [
        action
        for action in writes
        if evaluate(
            Request(action, "*", {"aws:PrincipalArn": BACKDOOR}),
            {"inline": ADMIN_DOCUMENT},
            boundary,
        )
    ]
    assert escaped == []


def test_the_delegation_patterns_are_every_organizations_write_and_no_read() -> None:
    patterns = [p for p in DELEGATION_ACTIONS if p.startswith("organizations:")]
    matched = {a for p in patterns for a in aws.expand(p)}
    writes = {a for a in aws.expand("organizations:*") if not aws.is_read(a)}
    assert matched == writes
    others = [a for p in DELEGATION_ACTIONS if p not in patterns for a in aws.expand(p)]
    assert sorted(others) == [
        "fms:AssociateAdminAccount",
        "fms:DisassociateAdminAccount",
        "fms:PutAdminAccount",
        "guardduty:DisableOrganizationAdminAccount",
        "guardduty:EnableOrganizationAdminAccount",
        "securityhub:DisableOrganizationAdminAccount",
        "securityhub:EnableOrganizationAdminAccount",
    ]


#: ProtectionsViaPipeline's bucket actions name the log buckets: a stack without guard:logs, as
#: this one, has none, so there they deny nothing (and protect nothing that exists).
NO_LOG_BUCKET = [
    "ProtectionsViaPipeline: s3:PutBucket*",
    "ProtectionsViaPipeline: s3:DeleteBucket*",
    "ProtectionsViaPipeline: s3:Put*Configuration",
]


def test_the_organization_boundary_passes_the_boundary_checks(plan: PlanResult) -> None:
    """tests/guard/test_iam_boundary.py's checks, on the organization stack's boundary."""
    boundary = stack_boundary(plan)
    assert boundary == boundary_policy(PipelineScope.of(plan.loaded.config, "org"))
    boundary_checks.test_every_action_pattern_names_real_actions(boundary)
    boundary_checks.test_no_deny_takes_away_reading(boundary)
    boundary_checks.test_negated_conditions_only_on_actions_that_carry_the_key(boundary)
    # test_no_deny_is_a_no_op, less the log buckets this stack does not have.
    idle = [
        f"{s['Sid']}: {pattern}"
        for s in boundary_checks.statements(boundary)
        if "NotAction" not in s and "NotResource" not in s and s["Resource"] != "*"
        for pattern in as_strings("", s["Action"])
        if not any(
            aws.accepts(a, r) for a in aws.expand(pattern) for r in as_strings("", s["Resource"])
        )
    ]
    assert idle == NO_LOG_BUCKET


def test_the_organization_boundary_fits_with_long_names(scope: PipelineScope) -> None:
    stack = "production-europe-west-1-blue"[:30]
    longest = dataclasses.replace(
        scope,
        stack=stack,
        state_bucket="s" * 63,
        secrets_alias=f"alias/guard-{stack}-secrets",
    )
    size = len(json.dumps(boundary_policy(longest), separators=(",", ":")))
    assert size <= MAX_MANAGED_POLICY_CHARS


def test_the_organization_settings_are_the_pipelines(plan: PlanResult) -> None:
    """The deploy role may; a role it creates may not (ORGANIZATION_SETTINGS_ROUTES)."""
    for _, action, resource, context in ORGANIZATION_SETTINGS_ROUTES:
        assert may(plan, DEPLOY, action, resource, **context), action
