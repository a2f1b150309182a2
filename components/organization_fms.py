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

from collections.abc import Sequence
from functools import partial

import pulumi
import pulumi_aws as aws

from components.providers import Providers, opts
from components.tags import guard_tags
from guard.config.organization import RateLimit, Target
from guard.config.stack import StackConfig
from guard.organization import FirewallManagerPolicy, firewall_manager_policies, include_map
from guard.organization_fms import managed_service_data_of, rate_rule_group


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
        for policy in firewall_manager_policies(organization):
            provider = providers.for_region(policy.region)
            if policy.rate_limit is None:
                data: pulumi.Input[str | None] = managed_service_data_of(policy, None)
            else:
                # The baseline's rate limit is a rule group of this account, run last.
                arn = self._rate_rule_group(policy, policy.rate_limit, provider).arn
                data = arn.apply(partial(managed_service_data_of, policy))
            aws.fms.Policy(
                policy.name,
                name=f"guard-{stack}-{policy.name}",
                description=f"guard: {policy.description}",
                resource_type=policy.resource_type,
                security_service_policy_data=aws.fms.PolicySecurityServicePolicyDataArgs(
                    type=policy.policy_type, managed_service_data=data
                ),
                # exclude_tag: resources carrying these tags keep their product stacks' web ACLs.
                exclude_resource_tags=bool(policy.exclude_tag),
                resource_tags=dict(policy.exclude_tag) or None,
                include_map=_include(policy.targets),
                remediation_enabled=True,
                # Deleting a policy must not strip the web ACLs and protections it made from
                # every account.
                delete_all_policy_resources=False,
                tags=self._tags,
                opts=opts(self, provider),
            )
        self.register_outputs({})

    def _rate_rule_group(
        self, policy: FirewallManagerPolicy, limit: RateLimit, provider: aws.Provider
    ) -> aws.wafv2.RuleGroup:
        name = f"guard-{self._stack}-baseline-rate-{policy.key}"
        rate = rate_rule_group(limit.limit, limit.window, name=name, metric_name=name)
        return aws.wafv2.RuleGroup(
            f"waf-baseline-rate-{policy.key}",
            name=rate["name"],
            description=f"guard {self._stack}: the WAF baseline's rate limit per client IP",
            scope=policy.scope,
            capacity=rate["capacity"],
            rules=rate["rules"],
            visibility_config=rate["visibility_config"],
            tags=self._tags,
            opts=opts(self, provider),
        )


def _include(targets: Sequence[Target] | None) -> aws.fms.PolicyIncludeMapArgs | None:
    included = include_map(targets)
    if included is None:
        return None
    return aws.fms.PolicyIncludeMapArgs(
        accounts=included.get("accounts"), orgunits=included.get("orgunits")
    )
