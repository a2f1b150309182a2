"""The organization part of a plan: what the tooling account turns on in every account.

Read from the recorded resources (what ``pulumi up`` would send), never from the config alone:
GuardDuty's auto-enable per region, Security Hub's central configuration policy and its targets,
the aggregated findings route, each Firewall Manager policy with the rule groups its
ManagedServiceData names and its size against the API's limit, and the one-time steps with the
exact commands that make them.
"""

from __future__ import annotations

import shlex
from typing import Any

from guard.detection_catalog import standard_alias
from guard.report_sections import (
    Item,
    PlanIndex,
    Section,
    after_marker,
    engine_urn,
    input_of,
    json_of,
)
from guard.resource_types import (
    DETECTOR,
    EVENT_RULE,
    FMS_POLICY,
    HUB,
    RULE_GROUP,
)
from guard.resource_types import GUARDDUTY_ORGANIZATION as ORG_CONFIGURATION
from guard.resource_types import GUARDDUTY_ORGANIZATION_FEATURE as ORG_FEATURE
from guard.resource_types import HUB_AGGREGATOR as AGGREGATOR
from guard.resource_types import HUB_POLICY as CONFIGURATION_POLICY
from guard.resource_types import HUB_POLICY_ASSOCIATION as ASSOCIATION

DELEGATION = "guard:organization:Delegation"
ORGANIZATION = "guard:organization:OrganizationSecurity"


def _guardduty(ix: PlanIndex) -> list[Item]:
    items = []
    for configuration in ix.of(ORG_CONFIGURATION):
        features = [
            input_of(f, "name") for f in ix.of(ORG_FEATURE) if f.region == configuration.region
        ]
        items.append(
            (
                str(configuration.region),
                f"members auto-enabled: {input_of(configuration, 'autoEnableOrganizationMembers')}; "
                f"features: {', '.join(features) or 'none'}",
            )
        )
    return sorted(items)


def _security_hub(ix: PlanIndex, section: Section) -> None:
    for aggregator in ix.of(AGGREGATOR):
        linked = aggregator.inputs.get("specifiedRegions") or []
        section.fact(
            "finding aggregator",
            f"in {aggregator.region}, linking {input_of(aggregator, 'linkingMode')}"
            + (f" ({', '.join(linked)})" if linked else ""),
        )
    config = ix.plan.loaded.config.organization
    reasons = {c.control: c.reason for c in config.security_hub.disabled_controls} if config else {}
    for policy in ix.of(CONFIGURATION_POLICY):
        body: dict[str, Any] = policy.inputs.get("configurationPolicy") or {}
        standards = [standard_alias(a) for a in body.get("enabledStandardArns") or []]
        section.fact(
            "central configuration",
            f"policy {input_of(policy, 'name')}: Security Hub "
            f"{'enabled' if body.get('serviceEnabled') else 'DISABLED'}, standards "
            f"{', '.join(standards) or 'none'}",
        )
        disabled = (body.get("securityControlsConfiguration") or {}).get(
            "disabledControlIdentifiers"
        ) or []
        section.listing(
            "controls disabled in every account",
            [(str(c), reasons.get(str(c), "no reason in the stack file")) for c in disabled],
        )
    section.listing(
        "configuration policy applies to",
        sorted((input_of(a, "targetId"), "associated") for a in ix.of(ASSOCIATION)),
        empty="nothing (no association: no account gets the policy)",
    )


def _fms(ix: PlanIndex) -> list[Item]:
    from guard.organization_fms import MANAGED_SERVICE_DATA_MAX

    groups = {str(g.state.get("arn")): g for g in ix.of(RULE_GROUP)}
    items = []
    for policy in ix.of(FMS_POLICY):
        data = policy.inputs.get("securityServicePolicyData") or {}
        text = data.get("managedServiceData")
        document = json_of(text) or {}
        parts = [f"{data.get('type')} on {input_of(policy, 'resourceType')} in {policy.region}"]
        if data.get("type") == "WAFV2":
            managed = [
                str((g.get("managedRuleGroupIdentifier") or {}).get("managedRuleGroupName"))
                for g in document.get("preProcessRuleGroups") or []
            ]
            parts.append(f"managed groups {', '.join(managed) or 'none'}")
            for post in document.get("postProcessRuleGroups") or []:
                group = groups.get(str(post.get("ruleGroupArn")))
                if group is not None:
                    for rule in group.inputs.get("rules") or []:
                        rate = (rule.get("statement") or {}).get("rateBasedStatement") or {}
                        parts.append(
                            f"rate limit {rate.get('limit')} per IP per "
                            f"{rate.get('evaluationWindowSec')} s"
                        )
            logging = document.get("loggingConfiguration") or {}
            destinations = logging.get("logDestinationConfigs") or []
            parts.append(
                f"logs to {', '.join(after_marker(d, ':::') for d in destinations)}"
                if destinations
                else "no logging"
            )
        else:
            response = document.get("automaticResponseConfiguration") or {}
            if response:
                action = response.get("automaticResponseAction")
                parts.append(
                    f"automatic L7 mitigation {response.get('automaticResponseStatus')}"
                    + (f" ({action})" if action else "")
                )
        tags = policy.inputs.get("resourceTags") or {}
        if tags and policy.inputs.get("excludeResourceTags"):
            parts.append(
                "except resources tagged " + ", ".join(f"{k}={v}" for k, v in tags.items())
            )
        included = policy.inputs.get("includeMap") or {}
        scope = [*(included.get("orgunits") or []), *(included.get("accounts") or [])]
        parts.append(f"accounts: {', '.join(scope) if scope else 'all'}")
        if isinstance(text, str):
            parts.append(f"{len(text):,} of {MANAGED_SERVICE_DATA_MAX:,} characters")
        items.append((input_of(policy, "name"), "; ".join(parts)))
    return sorted(items)


def _one_time(ix: PlanIndex, section: Section) -> None:
    stack = ix.plan.stack
    delegation = [r for r in ix.plan.resources if r.custom and ix.inside(r, DELEGATION)]
    if delegation:
        # The management account's providers too: nothing else of the stack is touched.
        providers = sorted({str(r.provider) for r in delegation if r.provider})
        urns = [engine_urn(ix, ix.by_urn[p]) for p in providers if p in ix.by_urn]
        urns += [engine_urn(ix, r) for r in delegation]
        targets = " ".join(f"--target {shlex.quote(urn)}" for urn in urns)
        section.fact(
            "one-time step 1, from the management account",
            f"pulumi up --stack {stack} {targets}",
        )
    else:
        section.fact(
            "one-time step 1, from the management account",
            "not declared: set guard:organization.delegation.profile to the management "
            "account's CLI profile and plan again for the exact command (docs/organization.md)",
        )
    # Delegating enables GuardDuty and Security Hub in this account: adopt them, not create.
    account = ix.plan.loaded.config.account_id
    imports = []
    for record, resource_id in [
        *((d, f"<detector ID in {d.region}>") for d in ix.within(DETECTOR, ORGANIZATION)),
        *((h, account) for h in ix.within(HUB, ORGANIZATION)),
    ]:
        parent, provider = ix.by_urn[str(record.parent)], ix.by_urn[str(record.provider)]
        imports.append(
            f"pulumi import --stack {stack} "
            f"--parent {shlex.quote(f'{parent.name}={engine_urn(ix, parent)}')} "
            f"--provider {shlex.quote(f'{provider.name}={engine_urn(ix, provider)}')} "
            f"{record.type} {record.name} {shlex.quote(resource_id)}"
        )
    section.listing(
        "one-time step 2, adopt what delegation enabled",
        [(f"{i + 1}", command) for i, command in enumerate(imports)],
    )


def organization_section(ix: PlanIndex) -> Section | None:
    """One section for an organization stack; None for any other stack."""
    if ix.plan.loaded.config.organization is None:
        return None
    section = Section("Organization (delegated administrator)")
    organization = ix.plan.loaded.config.organization
    section.fact("management account", organization.management_account_id)
    section.listing("GuardDuty for every member", _guardduty(ix))
    _security_hub(ix, section)
    routed = [
        r
        for r in ix.of(EVENT_RULE)
        if str(r.inputs.get("name", "")).endswith("-organization-findings")
    ]
    section.fact(
        "findings of every account",
        f"{', '.join(organization.notify)} to the urgent channel, naming the account"
        if routed
        else "not routed",
    )
    section.listing("Firewall Manager policies", _fms(ix))
    _one_time(ix, section)
    return section
