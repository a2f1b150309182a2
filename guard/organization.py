"""Plain data for the organization stack: what guard:organization turns into AWS settings.

No Pulumi here: the component (components/organization.py), the plan's report and the checks
read the same functions, so what the plan shows is what the program declares.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from guard.config.alerts import DisabledControl
from guard.config.organization import OrganizationConfig, Target

#: guard:organization.guardduty.auto_enable -> GuardDuty's AutoEnableMembers (also used as
#: each feature's OrgFeatureStatus: a feature follows its members).
AUTO_ENABLE: Mapping[str, str] = {"all": "ALL", "new": "NEW", "none": "NONE"}

#: What Firewall Manager's policies cover: ResourceType values of the fms API (named here, in
#: a module light to import; guard.organization_fms builds the policies from them).
ALB_RESOURCE_TYPE = "AWS::ElasticLoadBalancingV2::LoadBalancer"
CLOUDFRONT_RESOURCE_TYPE = "AWS::CloudFront::Distribution"


def aggregator_linking(home: str, regions: Sequence[str]) -> tuple[str, list[str]]:
    """The finding aggregator's RegionLinkingMode and linked regions: the other regions."""
    linked = [r for r in dict.fromkeys(regions) if r != home]
    return ("SPECIFIED_REGIONS", linked) if linked else ("NO_REGIONS", [])


def configuration_policy_targets(organization: OrganizationConfig) -> list[str]:
    """The IDs the Security Hub configuration policy is associated with: the listed OUs and
    accounts, or the root."""
    targets = organization.security_hub.targets
    if targets is None:
        if organization.root_id is None:
            raise ValueError("security_hub.targets absent and no root_id (a config check)")
        return [organization.root_id]
    return [t.target_id for t in targets]


def disabled_control_ids(controls: Sequence[DisabledControl]) -> list[str]:
    """Control IDs in the order written (central configuration has no per-control reason)."""
    return list(dict.fromkeys(c.control for c in controls))


def include_map(targets: Sequence[Target] | None) -> dict[str, list[str]] | None:
    """A Firewall Manager policy's include map (pulumi-aws's PolicyIncludeMap), or None for
    every account of the organization."""
    if targets is None:
        return None
    accounts = [t.account for t in targets if t.account is not None]
    units = [t.ou for t in targets if t.ou is not None]
    included: dict[str, list[str]] = {}
    if accounts:
        included["accounts"] = accounts
    if units:
        included["orgunits"] = units
    return included


def scope_text(targets: Sequence[Target] | None) -> str:
    """The accounts a setting reaches, in words, for the plan."""
    if targets is None:
        return "every account of the organization"
    return ", ".join(f"OU {t.ou}" if t.ou else f"account {t.account}" for t in targets)


def firewall_manager_scopes(regions: Sequence[str]) -> list[tuple[str, str, str]]:
    """(region, WAF scope, resource type) of each Firewall Manager policy pair: the ALBs of each
    region, and CloudFront's distributions, whose policies live in us-east-1."""
    scopes = [(r, "REGIONAL", ALB_RESOURCE_TYPE) for r in dict.fromkeys(regions)]
    return [*scopes, ("us-east-1", "CLOUDFRONT", CLOUDFRONT_RESOURCE_TYPE)]


def scope_key(region: str, scope: str) -> str:
    """The suffix of a policy's names: the region, or ``cloudfront``."""
    return "cloudfront" if scope == "CLOUDFRONT" else region
