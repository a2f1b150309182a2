"""The organization stack, run through the real program under Pulumi mocks: what the tooling
account turns on for every account, and what member stacks leave to it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from guard.config import load_stack_file
from guard.detection_catalog import securityhub_pattern
from guard.detection_messages import securityhub_transformer
from guard.organization_fms import REQUIRED_BASELINE_GROUPS, policy_request_from_inputs
from guard.organization_fms_checks import policy_errors
from guard.plan import PlanResult, ResourceRecord, run_program
from tests.conftest import ROOT, TODAY, of_type

EXAMPLES = ROOT / "examples" / "organization" / "stacks"

DETECTOR = "aws:guardduty/detector:Detector"
GD_ORG = "aws:guardduty/organizationConfiguration:OrganizationConfiguration"
GD_ORG_FEATURE = "aws:guardduty/organizationConfigurationFeature:OrganizationConfigurationFeature"
GD_ADMIN = "aws:guardduty/organizationAdminAccount:OrganizationAdminAccount"
HUB = "aws:securityhub/account:Account"
HUB_ADMIN = "aws:securityhub/organizationAdminAccount:OrganizationAdminAccount"
HUB_ORG = "aws:securityhub/organizationConfiguration:OrganizationConfiguration"
AGGREGATOR = "aws:securityhub/findingAggregator:FindingAggregator"
HUB_POLICY = "aws:securityhub/configurationPolicy:ConfigurationPolicy"
ASSOCIATION = "aws:securityhub/configurationPolicyAssociation:ConfigurationPolicyAssociation"
SUBSCRIPTION = "aws:securityhub/standardsSubscription:StandardsSubscription"
FMS_ADMIN = "aws:fms/adminAccount:AdminAccount"
FMS_POLICY = "aws:fms/policy:Policy"
RULE_GROUP = "aws:wafv2/ruleGroup:RuleGroup"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
PROVIDER = "pulumi:providers:aws"


def plan_file(path: Path) -> PlanResult:
    stack = path.name[len("Pulumi.") : -len(".yaml")]
    return run_program(load_stack_file(path, today=TODAY), stack)


@pytest.fixture(scope="module")
def org() -> PlanResult:
    return plan_file(EXAMPLES / "Pulumi.org.yaml")


@pytest.fixture(scope="module")
def delegated(tmp_path_factory: pytest.TempPathFactory) -> PlanResult:
    """The example organization stack during its one-time step (delegation.profile set)."""
    document = yaml.safe_load((EXAMPLES / "Pulumi.org.yaml").read_text())
    document["config"]["guard:organization"]["delegation"] = {"profile": "org-management"}
    path = tmp_path_factory.mktemp("org") / "Pulumi.org.yaml"
    path.write_text(yaml.safe_dump(document))
    return plan_file(path)


def by_urn(plan: PlanResult) -> dict[str, ResourceRecord]:
    return {r.urn: r for r in plan.resources}


def provider_of(plan: PlanResult, record: ResourceRecord) -> ResourceRecord:
    return by_urn(plan)[str(record.provider)]


def test_an_organization_stack_fronts_nothing_and_plans(org: PlanResult) -> None:
    assert not of_type(org, "aws:wafv2/webAcl:WebAcl")
    assert of_type(org, "guard:organization:OrganizationSecurity")
    assert of_type(org, "guard:organization:FirewallManagerPolicies")


def test_guardduty_auto_enables_every_member_in_every_region(org: PlanResult) -> None:
    detectors = of_type(org, DETECTOR)
    assert sorted(d.region for d in detectors) == ["ap-northeast-1", "us-east-1"]
    # The detectors hold every finding's history.
    assert all(d.protect for d in detectors)
    configurations = of_type(org, GD_ORG)
    assert sorted(c.region for c in configurations) == ["ap-northeast-1", "us-east-1"]
    assert {c.inputs["autoEnableOrganizationMembers"] for c in configurations} == {"ALL"}
    for configuration in configurations:
        (detector_urn,) = configuration.property_dependencies["detectorId"]
        assert by_urn(org)[detector_urn].region == configuration.region
    features = {(f.region, f.inputs["name"]): f.inputs for f in of_type(org, GD_ORG_FEATURE)}
    assert set(features) == {
        (region, name)
        for region in ("ap-northeast-1", "us-east-1")
        for name in ("S3_DATA_EVENTS", "RUNTIME_MONITORING")
    }
    runtime = features[("us-east-1", "RUNTIME_MONITORING")]
    assert runtime["autoEnable"] == "ALL"
    # Runtime Monitoring enables nothing without its agents managed by GuardDuty.
    assert {a["name"] for a in runtime["additionalConfigurations"]} == {
        "EKS_ADDON_MANAGEMENT",
        "ECS_FARGATE_AGENT_MANAGEMENT",
        "EC2_AGENT_MANAGEMENT",
    }


def test_security_hub_runs_on_central_configuration_with_an_aggregator(org: PlanResult) -> None:
    (hub,) = of_type(org, HUB)
    assert hub.protect and hub.region == "ap-northeast-1"
    (aggregator,) = of_type(org, AGGREGATOR)
    assert aggregator.inputs["linkingMode"] == "SPECIFIED_REGIONS"
    assert aggregator.inputs["specifiedRegions"] == ["us-east-1"]
    (central,) = of_type(org, HUB_ORG)
    assert central.inputs["organizationConfiguration"] == {"configurationType": "CENTRAL"}
    # Central configuration requires auto-enable off and the aggregator first.
    assert central.inputs["autoEnable"] is False
    assert central.inputs["autoEnableStandards"] == "NONE"
    (policy,) = of_type(org, HUB_POLICY)
    body = policy.inputs["configurationPolicy"]
    assert body["serviceEnabled"] is True
    assert body["enabledStandardArns"] == [
        "arn:aws:securityhub:ap-northeast-1::standards/aws-foundational-security-best-practices/v/1.0.0",
        "arn:aws:securityhub:ap-northeast-1::standards/cis-aws-foundations-benchmark/v/3.0.0",
    ]
    assert body["securityControlsConfiguration"] == {"disabledControlIdentifiers": ["IAM.6"]}
    targets = sorted(a.inputs["targetId"] for a in of_type(org, ASSOCIATION))
    assert targets == ["444444444444", "ou-abcd-11111111"]
    for association in of_type(org, ASSOCIATION):
        assert association.property_dependencies["policyId"] == [policy.urn]
    # Standards come from the policy, not from per-account subscriptions.
    assert not of_type(org, SUBSCRIPTION)


def test_without_targets_the_policy_reaches_the_root(tmp_path: Path) -> None:
    document = yaml.safe_load((EXAMPLES / "Pulumi.org.yaml").read_text())
    del document["config"]["guard:organization"]["security_hub"]["targets"]
    path = tmp_path / "Pulumi.org.yaml"
    path.write_text(yaml.safe_dump(document))
    plan = plan_file(path)
    assert [a.inputs["targetId"] for a in of_type(plan, ASSOCIATION)] == ["r-abcd"]


def test_every_accounts_critical_and_high_findings_reach_the_urgent_channel(
    org: PlanResult,
) -> None:
    (rule,) = [r for r in of_type(org, RULE) if r.name == "organization-findings"]
    # GuardDuty's findings too: the organization stack has no GuardDuty rule of its own.
    assert json.loads(rule.inputs["eventPattern"]) == securityhub_pattern(["CRITICAL", "HIGH"])
    (target,) = [t for t in of_type(org, TARGET) if t.property_dependencies["rule"] == [rule.urn]]
    (topic_urn,) = target.property_dependencies["arn"]
    assert by_urn(org)[topic_urn].inputs["tags"]["route"] == "urgent"
    transformer = target.inputs["inputTransformer"]
    # The message names the account the finding is about.
    assert transformer["inputPaths"]["account"] == "$.detail.findings[0].AwsAccountId"
    assert transformer == {
        "inputPaths": securityhub_transformer()["input_paths"],
        "inputTemplate": securityhub_transformer()["input_template"],
    }


def fms_policies(plan: PlanResult) -> dict[str, ResourceRecord]:
    return {str(p.inputs["name"]): p for p in of_type(plan, FMS_POLICY)}


def test_firewall_manager_policies_cover_albs_per_region_and_cloudfront(org: PlanResult) -> None:
    policies = fms_policies(org)
    assert sorted(policies) == [
        "guard-org-shield-ap-northeast-1",
        "guard-org-shield-cloudfront",
        "guard-org-shield-us-east-1",
        "guard-org-waf-baseline-ap-northeast-1",
        "guard-org-waf-baseline-cloudfront",
        "guard-org-waf-baseline-us-east-1",
    ]
    cloudfront = policies["guard-org-waf-baseline-cloudfront"]
    assert cloudfront.region == "us-east-1"
    assert cloudfront.inputs["resourceType"] == "AWS::CloudFront::Distribution"
    alb = policies["guard-org-waf-baseline-ap-northeast-1"]
    assert alb.inputs["resourceType"] == "AWS::ElasticLoadBalancingV2::LoadBalancer"
    assert provider_of(org, alb).inputs["region"] == "ap-northeast-1"


def test_every_firewall_manager_policy_is_a_request_the_fms_model_accepts(
    org: PlanResult,
) -> None:
    for name, policy in fms_policies(org).items():
        assert policy_errors(policy_request_from_inputs(policy.inputs)) == [], name


def test_the_baseline_keeps_product_web_acls_and_logs_centrally(org: PlanResult) -> None:
    policy = fms_policies(org)["guard-org-waf-baseline-ap-northeast-1"]
    assert policy.inputs["excludeResourceTags"] is True
    assert policy.inputs["resourceTags"] == {"managed-by": "guard"}
    assert policy.inputs["deleteAllPolicyResources"] is False
    data = json.loads(policy.inputs["securityServicePolicyData"]["managedServiceData"])
    names = [
        g["managedRuleGroupIdentifier"]["managedRuleGroupName"]
        for g in data["preProcessRuleGroups"]
    ]
    assert set(REQUIRED_BASELINE_GROUPS) <= set(names)
    assert data["overrideCustomerWebACLAssociation"] is False
    assert data["loggingConfiguration"]["logDestinationConfigs"] == [
        "arn:aws:s3:::aws-waf-logs-org-central"
    ]
    (post,) = data["postProcessRuleGroups"]
    groups = {str(g.state["arn"]): g for g in of_type(org, RULE_GROUP)}
    group = groups[post["ruleGroupArn"]]
    assert group.region == "ap-northeast-1" and group.inputs["scope"] == "REGIONAL"
    (rule,) = group.inputs["rules"]
    assert rule["statement"]["rateBasedStatement"]["limit"] == 2000
    assert rule["statement"]["rateBasedStatement"]["evaluationWindowSec"] == 300
    assert rule["action"] == {"block": {}}


def test_shield_automatic_mitigation_is_set_for_cloudfront_only(org: PlanResult) -> None:
    policies = fms_policies(org)
    cloudfront = policies["guard-org-shield-cloudfront"].inputs["securityServicePolicyData"]
    data = json.loads(cloudfront["managedServiceData"])
    assert data["automaticResponseConfiguration"] == {
        "automaticResponseStatus": "ENABLED",
        "automaticResponseAction": "COUNT",
    }
    alb = policies["guard-org-shield-ap-northeast-1"].inputs["securityServicePolicyData"]
    assert alb == {"type": "SHIELD_ADVANCED"}


def test_delegation_is_declared_only_for_the_one_time_step(
    org: PlanResult, delegated: PlanResult
) -> None:
    assert not of_type(org, GD_ADMIN) and not of_type(org, HUB_ADMIN)
    assert not of_type(org, FMS_ADMIN)
    admins = [*of_type(delegated, GD_ADMIN), *of_type(delegated, HUB_ADMIN)]
    admins += of_type(delegated, FMS_ADMIN)
    assert sorted((r.type, r.region) for r in admins) == [
        (FMS_ADMIN, "us-east-1"),
        (GD_ADMIN, "ap-northeast-1"),
        (GD_ADMIN, "us-east-1"),
        (HUB_ADMIN, "ap-northeast-1"),
    ]
    for admin in admins:
        provider = provider_of(delegated, admin)
        # Management-account credentials from a named profile, and no other account.
        assert provider.name.startswith("aws-management-")
        assert provider.inputs["profile"] == "org-management"
        # Provider inputs reach the engine as JSON text.
        assert json.loads(provider.inputs["allowedAccountIds"]) == ["333333333333"]
        # Removing the key afterwards must not undo the delegation.
        assert admin.retain_on_delete
        assert admin.inputs.get("adminAccountId", admin.inputs.get("accountId")) == "222222222222"
    # Nothing else runs with the management account's credentials.
    management = {
        p.urn for p in of_type(delegated, PROVIDER) if p.name.startswith("aws-management")
    }
    users = [r for r in delegated.resources if r.custom and str(r.provider) in management]
    assert sorted(r.urn for r in users) == sorted(r.urn for r in admins)


def member_plan(name: str) -> PlanResult:
    return plan_file(EXAMPLES / f"Pulumi.{name}.yaml")


def test_a_member_declares_no_detector_but_routes_its_own_findings() -> None:
    plan = member_plan("shop-prod")
    assert not of_type(plan, DETECTOR) and not of_type(plan, HUB)
    assert not of_type(plan, SUBSCRIPTION)
    rules = {r.name for r in of_type(plan, RULE)}
    assert {"securityhub-urgent", "trusted-advisor"} <= rules
    assert any(name.startswith("guardduty-") for name in rules)


def test_member_settings_come_from_the_shared_defaults() -> None:
    loaded = load_stack_file(EXAMPLES / "Pulumi.shop-prod.yaml", today=TODAY)
    assert loaded.config.detection is not None
    assert loaded.config.detection.managed_by == "organization"
    assert loaded.config.alerts is not None
    # The workspace is the default's; the channels are the stack's own.
    assert loaded.config.alerts.slack.workspace_id == "T0EXAMPLE1"
    assert loaded.config.alerts.slack.normal_channel == "C0SHOPNOR1"


def _providers(plan: PlanResult) -> list[dict[str, Any]]:
    return [p.inputs for p in of_type(plan, PROVIDER)]


def test_every_provider_of_the_organization_stack_is_pinned_to_its_account(
    org: PlanResult,
) -> None:
    assert {p["allowedAccountIds"] for p in _providers(org)} == {'["222222222222"]'}
