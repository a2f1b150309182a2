"""Firewall Manager policies from the organization's tooling account: a baseline web ACL and
Shield Advanced on every ALB and CloudFront distribution in scope.

Each region's ALBs get their own policy pair; CloudFront's policies live in us-east-1. The WAF
baseline is AWS managed rule groups from guard's catalog (pre-process), plus a rate-based rule
group this account owns (post-process), logging to the central bucket. Resources tagged with
``exclude_tag`` are left to their product stacks' web ACLs, and Firewall Manager never replaces
a web ACL already associated (``overrideCustomerWebACLAssociation: false``). The policy data is
built by :mod:`guard.organization_fms` and validated by :mod:`guard.organization_fms_checks`
against botocore's ``fms`` model.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.providers import Providers, opts
from components.tags import guard_tags
from guard.config.organization import FirewallManagerShield, Target, WafBaseline
from guard.config.stack import StackConfig
from guard.organization import firewall_manager_scopes, include_map, scope_key
from guard.organization_fms import (
    managed_service_data_text,
    rate_rule_group,
    shield_data,
    waf_baseline_data,
)


class FirewallManagerPolicies(pulumi.ComponentResource):
    """The organization's Firewall Manager policies (WAF baseline, Shield Advanced)."""

    def __init__(
        self,
        config: StackConfig,
        *,
        stack: str,
        providers: Providers,
        opts_: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            "guard:organization:FirewallManagerPolicies",
            f"guard-{stack}-firewall-manager",
            None,
            opts_,
        )
        organization = config.organization
        if organization is None:
            raise ValueError("FirewallManagerPolicies needs guard:organization")
        self._stack = stack
        self._tags = guard_tags(stack)
        fms = organization.firewall_manager
        for region, scope, resource_type in firewall_manager_scopes(organization.regions):
            provider = providers.for_region(region)
            key = scope_key(region, scope)
            if fms.waf_baseline is not None:
                self._waf_baseline(fms.waf_baseline, key, scope, resource_type, provider)
            if fms.shield is not None:
                self._shield(fms.shield, key, scope, resource_type, provider)
        self.register_outputs({})

    def _waf_baseline(
        self,
        baseline: WafBaseline,
        key: str,
        scope: str,
        resource_type: str,
        provider: aws.Provider,
    ) -> None:
        group_arn: pulumi.Input[str | None] = None
        if baseline.rate_limit is not None:
            rate = rate_rule_group(
                baseline.rate_limit.limit,
                baseline.rate_limit.window,
                name=f"guard-{self._stack}-baseline-rate-{key}",
                metric_name=f"guard-{self._stack}-baseline-rate-{key}",
            )
            group = aws.wafv2.RuleGroup(
                f"waf-baseline-rate-{key}",
                name=rate["name"],
                description=f"guard {self._stack}: the WAF baseline's rate limit per client IP",
                scope=scope,
                capacity=rate["capacity"],
                rules=rate["rules"],
                visibility_config=rate["visibility_config"],
                tags=self._tags,
                opts=opts(self, provider),
            )
            group_arn = group.arn
        log_bucket = baseline.logging.bucket if baseline.logging is not None else None
        managed_rules = list(baseline.managed_rules)

        def document(arn: str | None) -> str:
            return managed_service_data_text(
                waf_baseline_data(managed_rules, rate_rule_group_arn=arn, log_bucket=log_bucket)
            )

        data = pulumi.Output.from_input(group_arn).apply(document)
        # exclude_tag: resources carrying these tags keep their product stacks' web ACLs.
        self._policy(
            f"waf-baseline-{key}",
            "the baseline web ACL of every resource no product stack protects",
            aws.fms.PolicySecurityServicePolicyDataArgs(type="WAFV2", managed_service_data=data),
            resource_type,
            baseline.targets,
            provider,
            exclude_tag=baseline.exclude_tag,
        )

    def _shield(
        self,
        shield: FirewallManagerShield,
        key: str,
        scope: str,
        resource_type: str,
        provider: aws.Provider,
    ) -> None:
        data = shield_data(shield.automatic_l7_mitigation, cloudfront=scope == "CLOUDFRONT")
        self._policy(
            f"shield-{key}",
            "Shield Advanced on every resource in scope",
            aws.fms.PolicySecurityServicePolicyDataArgs(
                type="SHIELD_ADVANCED",
                managed_service_data=managed_service_data_text(data) if data else None,
            ),
            resource_type,
            shield.targets,
            provider,
        )

    def _policy(
        self,
        name: str,
        description: str,
        data: aws.fms.PolicySecurityServicePolicyDataArgs,
        resource_type: str,
        targets: list[Target] | None,
        provider: aws.Provider,
        *,
        exclude_tag: dict[str, str] | None = None,
    ) -> None:
        """One Firewall Manager policy, remediating, over ``targets`` (every account: None)."""
        aws.fms.Policy(
            name,
            name=f"guard-{self._stack}-{name}",
            description=f"guard: {description}",
            resource_type=resource_type,
            security_service_policy_data=data,
            exclude_resource_tags=bool(exclude_tag),
            resource_tags=dict(exclude_tag) if exclude_tag else None,
            include_map=_include(targets),
            remediation_enabled=True,
            # Deleting a policy must not strip the web ACLs and protections it made from every
            # account.
            delete_all_policy_resources=False,
            tags=self._tags,
            opts=opts(self, provider),
        )


def _include(targets: list[Target] | None) -> aws.fms.PolicyIncludeMapArgs | None:
    included = include_map(targets)
    if included is None:
        return None
    return aws.fms.PolicyIncludeMapArgs(
        accounts=included.get("accounts"), orgunits=included.get("orgunits")
    )
