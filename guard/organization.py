"""Plain data for the organization stack: what guard:organization turns into AWS settings.

No Pulumi here: the component (components/organization.py), the plan's report and the checks
read the same functions, so what the plan shows is what the program declares.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from guard.config.alerts import DisabledControl
from guard.config.organization import OrganizationConfig, RateLimit, Target

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


@dataclass(frozen=True)
class FirewallManagerPolicy:
    """One Firewall Manager policy the organization stack declares, as plain data: the program
    declares it and the config checks validate its PutPolicy request from this same record."""

    #: The policy's name after ``guard-<stack>-``: ``waf-baseline-<key>`` or ``shield-<key>``.
    name: str
    description: str
    #: ``waf_baseline`` or ``shield``: the key of guard:organization.firewall_manager it serves.
    setting: str
    policy_type: str
    region: str
    scope: str
    resource_type: str
    targets: tuple[Target, ...] | None
    exclude_tag: Mapping[str, str]
    #: WAFV2: the baseline's groups, its rate limit (a rule group of its own) and log bucket.
    managed_rules: tuple[str, ...] = ()
    rate_limit: RateLimit | None = None
    log_bucket: str | None = None
    #: SHIELD_ADVANCED: CloudFront's automatic L7 mitigation.
    mitigation: Literal["count", "block", "off"] | None = None

    @property
    def key(self) -> str:
        return scope_key(self.region, self.scope)


def firewall_manager_policies(organization: OrganizationConfig) -> list[FirewallManagerPolicy]:
    """Every Firewall Manager policy of guard:organization, in declaration order: for each
    scope (the ALBs of each region, then CloudFront), the WAF baseline, then Shield."""
    fms = organization.firewall_manager
    policies = []
    for region, scope, resource_type in firewall_manager_scopes(organization.regions):
        key = scope_key(region, scope)
        baseline, shield = fms.waf_baseline, fms.shield
        if baseline is not None:
            policies.append(
                FirewallManagerPolicy(
                    name=f"waf-baseline-{key}",
                    description="the baseline web ACL of every resource no product stack protects",
                    setting="waf_baseline",
                    policy_type="WAFV2",
                    region=region,
                    scope=scope,
                    resource_type=resource_type,
                    targets=_targets(baseline.targets),
                    exclude_tag=dict(baseline.exclude_tag),
                    managed_rules=tuple(baseline.managed_rules),
                    rate_limit=baseline.rate_limit,
                    log_bucket=baseline.logging.bucket if baseline.logging is not None else None,
                )
            )
        if shield is not None:
            policies.append(
                FirewallManagerPolicy(
                    name=f"shield-{key}",
                    description="Shield Advanced on every resource in scope",
                    setting="shield",
                    policy_type="SHIELD_ADVANCED",
                    region=region,
                    scope=scope,
                    resource_type=resource_type,
                    targets=_targets(shield.targets),
                    exclude_tag={},
                    mitigation=shield.automatic_l7_mitigation,
                )
            )
    return policies


def _targets(targets: Sequence[Target] | None) -> tuple[Target, ...] | None:
    return None if targets is None else tuple(targets)
