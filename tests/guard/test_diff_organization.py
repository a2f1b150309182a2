"""``guard diff``'s organization area: the example organization stack planned against a copy of
its stack file edited in one thing (written to ``tmp_path`` and planned in-process).

Where the program cannot produce a variation (central configuration turned LOCAL, a managed
group counted, a rule's target gone), the head is the base's JSON with one resource edited, as
the test's docstring says.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from guard.config import load_stack_file
from guard.diff import diff_documents
from guard.diff_model import Change, PlanDocument
from guard.plan import PlanResult, run_program
from guard.report import render_json
from tests.conftest import ROOT, TODAY
from tests.guard.diff_plans import edited, only, without

EXAMPLE = ROOT / "examples" / "organization" / "stacks" / "Pulumi.org.yaml"
FMS_POLICY = "aws:fms/policy:Policy"
BASELINE = "FMS baseline guard-org-waf-baseline-ap-northeast-1"
MSD = "policy.securityServicePolicyData.managedServiceData"
Edit = Callable[[dict[str, Any]], Any]


def plan_json(directory: Path, edit: Edit | None = None) -> dict[str, Any]:
    """The plan JSON of the example organization stack, its ``guard:organization`` edited."""
    document = yaml.safe_load(EXAMPLE.read_text())
    if edit is not None:
        edit(document["config"]["guard:organization"])
    path = directory / "Pulumi.org.yaml"
    path.write_text(yaml.safe_dump(document))
    result = run_program(load_stack_file(path, today=TODAY), "org")
    return json.loads(render_json(result))


def plan(directory: Path, edit: Edit | None = None) -> PlanDocument:
    return PlanDocument.from_json(plan_json(directory, edit), "plan of org")


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> PlanDocument:
    return plan(tmp_path_factory.mktemp("base"))


def organization(base: PlanDocument, head: PlanDocument) -> list[Change]:
    """The organization area's changes; no other area reports anything (detection reads
    GuardDuty's types too), and no resource of the stack's organization components is left to
    the engine's by-URN report (its providers are)."""
    result = diff_documents(base, head, base_label="base", head_label="head")
    leaked = [
        c
        for c in result.changes
        if c.area not in ("organization", "other") or "guard:organization:" in c.path
    ]
    assert not leaked, leaked
    return [c for c in result.changes if c.area == "organization"]


def setting(*keys: str, value: Any) -> Edit:
    """An edit of ``guard:organization`` that sets (``value`` None: deletes) one key."""

    def edit(section: dict[str, Any]) -> None:
        for key in keys[:-1]:
            section = section[key]
        if value is None:
            section.pop(keys[-1])
        else:
            section[keys[-1]] = value

    return edit


def service_data(change: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], Any]:
    """An edit of an FMS policy's inputs that changes its ManagedServiceData document."""

    def edit(inputs: dict[str, Any]) -> None:
        data = inputs["securityServicePolicyData"]
        document = json.loads(data["managedServiceData"])
        change(document)
        data["managedServiceData"] = json.dumps(document)

    return edit


# --- nothing changed ---------------------------------------------------------------------------


def test_identical_organization_plans_have_no_change(base: PlanDocument, tmp_path: Path) -> None:
    result = diff_documents(base, plan(tmp_path), base_label="base", head_label="head")
    assert result.changes == ()


def test_the_prod_fixture_against_itself_has_no_change(
    example_plan: Callable[[str], PlanResult],
) -> None:
    document = PlanDocument.from_json(json.loads(render_json(example_plan("prod"))), "prod")
    result = diff_documents(document, document, base_label="base", head_label="head")
    assert (result.status, result.changes) == ("unchanged", ())


# --- GuardDuty ---------------------------------------------------------------------------------


def test_auto_enable_all_to_new_weakens_in_each_region(base: PlanDocument, tmp_path: Path) -> None:
    head = plan(tmp_path, setting("guardduty", "auto_enable", value="new"))
    found = organization(base, head)
    # The features (and Runtime Monitoring's agents) follow the members: one line per region.
    assert len(found) == 2
    change = only(found, subject="GuardDuty us-east-1")
    assert (change.path, change.before, change.after, change.effect) == (
        "organization.autoEnableOrganizationMembers",
        "ALL",
        "NEW",
        "weakens",
    )
    assert change.reason == (
        "GuardDuty in us-east-1 auto-enables only accounts that join from now on (NEW; was ALL: "
        "every member account, existing and new); so do its features RUNTIME_MONITORING, "
        "S3_DATA_EVENTS"
    )
    back = only(organization(head, base), subject="GuardDuty us-east-1")
    assert back.effect == "strengthens"


def test_a_feature_auto_enabled_alone_is_said_on_its_own(base: PlanDocument) -> None:
    """Edited JSON: the program gives every feature the members' setting."""
    feature = "aws:guardduty/organizationConfigurationFeature:OrganizationConfigurationFeature"
    head = edited(
        base,
        feature,
        "guardduty-ap-northeast-1-organization-s3-data-events",
        lambda i: i.update(autoEnable="NONE"),
    )
    change = only(organization(base, head))
    assert (change.path, change.effect) == (
        "organization.features[S3_DATA_EVENTS].autoEnable",
        "weakens",
    )
    assert change.reason.startswith(
        "GuardDuty in ap-northeast-1 auto-enables S3_DATA_EVENTS for no member account (NONE; was ALL"
    )


def test_a_feature_removed_weakens(base: PlanDocument, tmp_path: Path) -> None:
    head = plan(tmp_path, setting("guardduty", "features", value=["s3-data-events"]))
    found = organization(base, head)
    gone = only(
        found, subject="GuardDuty ap-northeast-1", path="organization.features[RUNTIME_MONITORING]"
    )
    assert (gone.kind, gone.effect) == ("removed", "weakens")
    assert gone.reason == (
        "GuardDuty in ap-northeast-1 no longer auto-enables RUNTIME_MONITORING for member "
        "accounts (was ALL)"
    )
    own = only(found, subject="GuardDuty us-east-1", path="detector.features[RUNTIME_MONITORING]")
    assert own.effect == "weakens"
    assert {c.effect for c in organization(head, base)} == {"strengthens"}


def test_a_feature_removed_is_reported_once_in_the_organization_area(
    base: PlanDocument, tmp_path: Path
) -> None:
    """The administrator's own detectors are GuardDuty detectors like a product stack's: the
    detection area, which reads only its own component's, does not report them again."""
    head = plan(tmp_path, setting("guardduty", "features", value=["s3-data-events"]))
    result = diff_documents(base, head, base_label="base", head_label="head")
    assert {c.area for c in result.changes} == {"organization"}
    stops = [c for c in organization(base, head) if "stops RUNTIME_MONITORING" in c.reason]
    assert sorted((c.subject, c.path) for c in stops) == [
        ("GuardDuty ap-northeast-1", "detector.features[RUNTIME_MONITORING]"),
        ("GuardDuty us-east-1", "detector.features[RUNTIME_MONITORING]"),
    ]
    assert stops[0].reason == (
        f"the administrator's GuardDuty in {stops[0].subject.split()[-1]} stops RUNTIME_MONITORING"
    )


def test_a_region_removed_weakens_and_added_strengthens(base: PlanDocument, tmp_path: Path) -> None:
    head = plan(tmp_path, setting("regions", value=["ap-northeast-1"]))
    found = organization(base, head)
    configuration = only(found, subject="GuardDuty us-east-1", path="organization")
    assert (configuration.kind, configuration.effect) == ("removed", "weakens")
    assert configuration.reason == (
        "GuardDuty's organization configuration in us-east-1 leaves the stack (it auto-enabled "
        "every member account, existing and new (ALL), with RUNTIME_MONITORING, S3_DATA_EVENTS): "
        "guard no longer keeps member accounts enabled there"
    )
    # Its features go with it: no line of their own.
    assert not [c for c in found if c.path.startswith("organization.features")]
    detector = only(found, subject="GuardDuty us-east-1", path="detector")
    assert "is deleted, with its findings history (it is protected" in detector.reason
    linked = only(found, path="aggregator.regions[us-east-1]")
    assert (linked.effect, linked.reason) == (
        "weakens",
        "findings of us-east-1 are no longer aggregated in ap-northeast-1",
    )
    waf = only(found, subject="FMS baseline guard-org-waf-baseline-us-east-1")
    assert waf.effect == "weakens" and waf.reason.startswith(
        "the policy is deleted: Firewall Manager no longer enforces its web ACL "
        "(AWSManagedRulesKnownBadInputsRuleSet, AWSManagedRulesAmazonIpReputationList, "
        "AWSManagedRulesCommonRuleSet, rate limit 2000 requests per IP per 300 s"
    )
    assert {c.effect for c in found} == {"weakens"}

    more = plan(tmp_path, setting("regions", value=["ap-northeast-1", "us-east-1", "eu-west-1"]))
    added = organization(base, more)
    assert {c.effect for c in added} == {"strengthens"}
    new_region = only(added, subject="GuardDuty eu-west-1", path="organization")
    assert new_region.reason == (
        "GuardDuty in eu-west-1 now auto-enables every member account, existing and new (ALL), "
        "with RUNTIME_MONITORING, S3_DATA_EVENTS"
    )
    only(added, path="aggregator.regions[eu-west-1]", effect="strengthens")
    only(added, subject="FMS Shield guard-org-shield-eu-west-1", kind="added")


# --- Security Hub ------------------------------------------------------------------------------


def test_a_standard_removed_from_the_policy_weakens(base: PlanDocument, tmp_path: Path) -> None:
    head = plan(tmp_path, setting("security_hub", "standards", value=["aws-foundational"]))
    change = only(organization(base, head))
    assert (change.subject, change.kind, change.effect) == ("Security Hub", "removed", "weakens")
    assert change.path.endswith("enabledStandardArns[cis-3.0]")
    assert change.reason == (
        "CIS AWS Foundations Benchmark v3.0.0 (cis-3.0) is no longer enabled in every account "
        "the configuration policy guard-org reaches"
    )


def test_a_disabled_control_added_weakens(base: PlanDocument, tmp_path: Path) -> None:
    controls = [
        {
            "control": "IAM.6",
            "reason": "hardware MFA for root is handled by the management account",
        },
        {"control": "EC2.2", "reason": "default security groups are locked by an SCP"},
    ]
    head = plan(tmp_path, setting("security_hub", "disabled_controls", value=controls))
    change = only(organization(base, head))
    assert (change.kind, change.after, change.effect) == ("added", "EC2.2", "weakens")
    assert change.path.endswith("disabledControlIdentifiers[EC2.2]")
    assert change.reason == (
        "EC2.2 is disabled in every account the configuration policy guard-org reaches"
    )
    back = only(organization(head, base))
    assert (back.effect, back.reason) == (
        "strengthens",
        "EC2.2 is checked again in every account the configuration policy guard-org reaches",
    )


def test_a_policy_target_removed_weakens(base: PlanDocument, tmp_path: Path) -> None:
    head = plan(tmp_path, setting("security_hub", "targets", value=[{"ou": "ou-abcd-11111111"}]))
    change = only(organization(base, head))
    assert (change.path, change.kind, change.effect) == (
        "configuration_policy.targets[444444444444]",
        "removed",
        "weakens",
    )
    assert change.reason == (
        "Security Hub's configuration policy no longer applies to account 444444444444"
    )
    # Targets dropped: the policy reaches the root instead.
    root = plan(tmp_path, setting("security_hub", "targets", value=None))
    only(
        organization(base, root), path="configuration_policy.targets[r-abcd]", effect="strengthens"
    )


def test_central_configuration_turned_local_weakens(base: PlanDocument) -> None:
    """Edited JSON: the program always declares CENTRAL."""
    configuration = "aws:securityhub/organizationConfiguration:OrganizationConfiguration"
    local = {"organizationConfiguration": {"configurationType": "LOCAL"}}
    head = edited(base, configuration, "securityhub-organization", lambda i: i.update(local))
    change = only(organization(base, head))
    assert (change.before, change.after, change.effect) == ("CENTRAL", "LOCAL", "weakens")
    assert "no longer decides what every account" in change.reason
    assert only(organization(head, base)).effect == "strengthens"
    gone = only(organization(base, without(base, configuration)))
    assert (gone.kind, gone.effect) == ("removed", "weakens")


def test_security_hub_disabled_by_the_policy_weakens(base: PlanDocument) -> None:
    """Edited JSON: the program always enables the service."""
    policy = "aws:securityhub/configurationPolicy:ConfigurationPolicy"
    head = edited(
        base,
        policy,
        "securityhub-policy",
        lambda i: i["configurationPolicy"].update(serviceEnabled=False),
    )
    change = only(organization(base, head))
    assert (change.effect, change.reason) == (
        "weakens",
        "Security Hub is DISABLED in every account the configuration policy guard-org reaches",
    )


# --- the organization findings route -----------------------------------------------------------


def test_fewer_severities_announced_weakens(base: PlanDocument, tmp_path: Path) -> None:
    head = plan(tmp_path, setting("notify", value=["CRITICAL"]))
    change = only(organization(base, head), effect="weakens")
    assert (
        change.reason
        == "findings of every account with Label HIGH no longer reach the urgent channel"
    )


def test_the_findings_target_or_rule_removed_weakens(base: PlanDocument) -> None:
    """Edited JSON: the program declares the rule with its target."""
    target = "aws:cloudwatch/eventTarget:EventTarget"
    no_target = without(base, target, "organization-findings")
    change = only(organization(base, no_target))
    assert (change.path, change.kind, change.effect) == (
        "rules[organization-findings].target",
        "removed",
        "weakens",
    )
    assert change.reason == (
        "Security Hub CRITICAL, HIGH findings of every account no longer go to the urgent route "
        "in ap-northeast-1"
    )
    no_rule = without(no_target, "aws:cloudwatch/eventRule:EventRule", None)
    rule = only(organization(base, no_rule))  # its target goes with it: one line
    assert (rule.path, rule.effect) == ("rules[organization-findings]", "weakens")
    assert rule.reason == (
        "Security Hub CRITICAL, HIGH findings of every account no longer reach the urgent "
        "channel: rule guard-org-organization-findings is deleted"
    )


# --- Firewall Manager --------------------------------------------------------------------------


def test_a_managed_group_removed_from_the_baseline_weakens(
    base: PlanDocument, tmp_path: Path
) -> None:
    head = plan(
        tmp_path,
        setting(
            "firewall_manager",
            "waf_baseline",
            "managed_rules",
            value=["known-bad-inputs", "ip-reputation"],
        ),
    )
    found = organization(base, head)
    assert len(found) == 3  # each region's ALBs, and CloudFront
    change = only(found, subject=BASELINE)
    assert (change.kind, change.path, change.effect) == (
        "removed",
        f"{MSD}.preProcessRuleGroups[AWSManagedRulesCommonRuleSet]",
        "weakens",
    )
    assert change.reason == "AWSManagedRulesCommonRuleSet removed (every ALB in scope loses it)"
    cloudfront = only(found, subject="FMS baseline guard-org-waf-baseline-cloudfront")
    assert cloudfront.reason == (
        "AWSManagedRulesCommonRuleSet removed (every CloudFront distribution in scope loses it)"
    )
    back = only(organization(head, base), subject=BASELINE)
    assert (back.effect, back.reason) == (
        "strengthens",
        "AWSManagedRulesCommonRuleSet added (every ALB in scope gets it)",
    )


def test_a_managed_group_counted_or_a_rule_excluded_weakens(base: PlanDocument) -> None:
    """Edited JSON: the program runs every group in block mode."""

    def count(document: dict[str, Any]) -> None:
        groups = document["preProcessRuleGroups"]
        groups[2]["overrideAction"] = {"type": "COUNT"}
        groups[0]["excludeRules"] = [{"name": "Log4JRCE_QUERYSTRING"}]

    head = edited(base, FMS_POLICY, "waf-baseline-ap-northeast-1", service_data(count))
    found = organization(base, head)
    counted = only(
        found, path=f"{MSD}.preProcessRuleGroups[AWSManagedRulesCommonRuleSet].overrideAction"
    )
    assert (counted.before, counted.after, counted.effect) == ("NONE", "COUNT", "weakens")
    assert counted.reason == (
        "AWSManagedRulesCommonRuleSet only counts now (overrideAction COUNT, was NONE): it "
        "blocks nothing on ALBs in scope"
    )
    excluded = only(found, kind="added")
    assert excluded.effect == "weakens" and "Log4JRCE_QUERYSTRING is excluded" in excluded.reason
    assert {c.effect for c in organization(head, base)} == {"strengthens"}


def test_the_rate_limit_lowered_strengthens_raised_or_removed_weakens(
    base: PlanDocument, tmp_path: Path
) -> None:
    rate = ("firewall_manager", "waf_baseline", "rate_limit")
    lower = plan(tmp_path, setting(*rate, value={"limit": 1000, "window": 300}))
    found = organization(base, lower)
    assert len(found) == 3
    change = only(found, subject=BASELINE)
    assert (change.before, change.after, change.effect) == ([2000, 300], [1000, 300], "strengthens")
    assert change.reason == (
        "the baseline's rate limit on ALBs in scope is 1000 requests per IP per 300 s (was 2000 "
        "requests per IP per 300 s): fewer requests pass before the block"
    )
    assert only(organization(lower, base), subject=BASELINE).effect == "weakens"
    # The same rate over a longer window is neither.
    same = plan(tmp_path, setting(*rate, value={"limit": 4000, "window": 600}))
    assert only(organization(base, same), subject=BASELINE).effect == "neutral"
    gone = plan(tmp_path, setting(*rate, value=None))
    removed = only(organization(base, gone), subject=BASELINE)
    assert (removed.kind, removed.effect) == ("removed", "weakens")
    assert removed.reason == (
        "rate limit 2000 requests per IP per 300 s removed: ALBs in scope lose the baseline's "
        "rate limit"
    )


def test_baseline_logging_removed_weakens(base: PlanDocument, tmp_path: Path) -> None:
    head = plan(tmp_path, setting("firewall_manager", "waf_baseline", "logging", value=None))
    change = only(organization(base, head), subject=BASELINE)
    assert (change.kind, change.effect) == ("removed", "weakens")
    assert change.reason == (
        "the baseline web ACLs of ALBs in scope no longer log (was to "
        "arn:aws:s3:::aws-waf-logs-org-central)"
    )


def test_exclude_tags_leaving_more_out_weakens(base: PlanDocument, tmp_path: Path) -> None:
    tag = ("firewall_manager", "waf_baseline", "exclude_tag")
    # Firewall Manager's default is AND: a second tag leaves fewer resources out.
    both_tags = plan(tmp_path, setting(*tag, value={"managed-by": "guard", "team": "shop"}))
    narrower = only(organization(base, both_tags), subject=BASELINE)
    assert (narrower.path, narrower.effect) == ("resourceTags", "strengthens")
    assert narrower.reason == (
        "ALBs tagged managed-by=guard and team=shop are left out (was tagged managed-by=guard): "
        "more ALBs covered"
    )
    assert only(organization(both_tags, base), subject=BASELINE).effect == "weakens"
    none = plan(tmp_path, setting(*tag, value={}))
    added = only(organization(none, base), subject=BASELINE)
    assert (added.effect, added.reason) == (
        "weakens",
        "ALBs tagged managed-by=guard are now left out of the policy (fewer ALBs covered)",
    )
    assert only(organization(base, none), subject=BASELINE).effect == "strengthens"


def test_the_scope_narrowed_to_some_accounts_weakens(base: PlanDocument, tmp_path: Path) -> None:
    targets = ("firewall_manager", "waf_baseline", "targets")
    some = plan(
        tmp_path, setting(*targets, value=[{"ou": "ou-abcd-11111111"}, {"account": "444444444444"}])
    )
    change = only(organization(base, some), subject=BASELINE)
    assert (change.path, change.effect) == ("policy.includeMap", "weakens")
    assert change.reason == (
        "ALBs are now in scope in account 444444444444, OU ou-abcd-11111111 only (was every "
        "account of the organization)"
    )
    fewer = plan(tmp_path, setting(*targets, value=[{"ou": "ou-abcd-11111111"}]))
    target = only(organization(some, fewer), subject=BASELINE)
    assert (target.path, target.kind, target.effect) == (
        "policy.includeMap[444444444444]",
        "removed",
        "weakens",
    )
    assert target.reason == "ALBs in account 444444444444 are no longer in scope"
    assert only(organization(fewer, base), subject=BASELINE).effect == "strengthens"


def test_shield_count_to_block_strengthens(base: PlanDocument, tmp_path: Path) -> None:
    mitigation = ("firewall_manager", "shield", "automatic_l7_mitigation")
    block = plan(tmp_path, setting(*mitigation, value="block"))
    change = only(organization(base, block))
    assert (change.subject, change.effect) == (
        "FMS Shield guard-org-shield-cloudfront",
        "strengthens",
    )
    assert change.reason == (
        "Shield's automatic L7 mitigation on CloudFront distributions in scope blocks attack "
        "requests (ENABLED/BLOCK; was ENABLED/COUNT)"
    )
    assert only(organization(block, base)).effect == "weakens"
    off = plan(tmp_path, setting(*mitigation, value="off"))
    disabled = only(organization(base, off))
    assert disabled.effect == "weakens" and "(DISABLED; was ENABLED/COUNT)" in disabled.reason


def test_firewall_manager_policies_removed_weaken(base: PlanDocument, tmp_path: Path) -> None:
    head = plan(tmp_path, setting("firewall_manager", value={}))
    found = organization(base, head)
    # Six policies; the rate rule groups go with their baselines.
    assert len(found) == 6 and {c.effect for c in found} == {"weakens"}
    shield = only(found, subject="FMS Shield guard-org-shield-cloudfront")
    assert shield.reason == (
        "the policy is deleted: Firewall Manager no longer enforces Shield Advanced on "
        "CloudFront distributions"
    )


# --- delegation --------------------------------------------------------------------------------


def admins(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The delegation resources of a plan JSON document."""
    return [r for r in document["resources"] if r["type"].endswith("AdminAccount")]


def test_delegation_is_retained_so_removing_it_is_informational(tmp_path: Path) -> None:
    """Both sides are read from the plan JSON documents: the flag comes from the JSON."""
    profile = setting("delegation", value={"profile": "org-management"})
    delegated, plain = plan_json(tmp_path, profile), plan_json(tmp_path)
    assert len(admins(delegated)) == 4
    assert all(r.get("retain_on_delete") is True for r in admins(delegated))
    base = PlanDocument.from_json(plain, "plan of org")
    head = PlanDocument.from_json(delegated, "plan of org with delegation")
    added = organization(base, head)
    assert len(added) == 4 and {c.effect for c in added} == {"neutral"}
    removed = organization(head, base)
    assert len(removed) == 4 and {c.effect for c in removed} == {"neutral"}
    fms = only(removed, path="delegation[fms-admin]")
    assert fms.reason == (
        "account 222222222222 as Firewall Manager's administrator leaves the stack; it is "
        "retained in AWS (retain_on_delete), so only the state forgets it: the delegation stays"
    )
    guardduty = only(removed, path="delegation[guardduty-admin-us-east-1]")
    assert "GuardDuty's delegated administrator in us-east-1" in guardduty.reason


def test_delegation_removed_without_retain_on_delete_weakens(tmp_path: Path) -> None:
    """Edited JSON: the program always retains the delegation; without the flag (which the plan
    JSON writes only when true) pulumi up would end it."""
    delegated = plan_json(tmp_path, setting("delegation", value={"profile": "org-management"}))
    for resource in admins(delegated):
        del resource["retain_on_delete"]
    unretained = PlanDocument.from_json(delegated, "plan of org with delegation")
    found = organization(unretained, plan(tmp_path))
    assert len(found) == 4 and {c.effect for c in found} == {"weakens"}
    assert only(found, path="delegation[securityhub-admin]").reason == (
        "pulumi up deletes account 222222222222 as Security Hub's delegated administrator "
        "(no retain_on_delete): the delegation ends"
    )


# --- protection flags --------------------------------------------------------------------------


def test_deletion_protection_lost_weakens(base: PlanDocument) -> None:
    """Edited JSON: the program protects the administrator's Security Hub."""
    resources = tuple(
        replace(r, protect=False) if r.name == "securityhub" else r for r in base.resources
    )
    change = only(organization(base, replace(base, resources=resources)))
    assert (change.path, change.effect) == ("account.protect", "weakens")
    assert change.reason == (
        "Security Hub in the administrator account (ap-northeast-1) is no longer protected from "
        "deletion"
    )
