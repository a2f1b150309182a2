"""The organization's security tooling account: GuardDuty and Security Hub for every account.

This account is the delegated administrator. GuardDuty's organization configuration enables
every member account, with the features listed, in every region of ``guard:organization.regions``.
Security Hub runs on central configuration. One configuration policy (its standards and disabled
controls) is associated with the root, or with the listed OUs and accounts, and a finding
aggregator in the stack's region gathers the other regions' findings. Aggregated Critical and
High findings of every account go to the urgent channel; the message names the account.

The delegation itself can only be made from the management account. It is declared only while
``guard:organization.delegation`` is set, through explicitly named providers
(``aws-management-<region>``), and retained in AWS when the key is removed
(docs/organization.md, "One-time steps").
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.detection import account_detector, account_hub, announce_to, event_rule
from components.providers import Providers, management_provider, opts
from components.routes import AlertRoutes, Route
from components.tags import guard_tags
from guard.config.base import GLOBAL_REGION
from guard.config.organization import OrganizationConfig
from guard.config.stack import StackConfig
from guard.detection_catalog import guardduty_features, securityhub_pattern, standard_arn
from guard.detection_messages import securityhub_transformer
from guard.organization import (
    AUTO_ENABLE,
    aggregator_linking,
    configuration_policy_targets,
    disabled_control_ids,
)

#: GuardDuty's own publishing frequency for the administrator's detectors.
PUBLISHING_FREQUENCY = "FIFTEEN_MINUTES"


class OrganizationSecurity(pulumi.ComponentResource):
    """GuardDuty and Security Hub for every account, administered from this account."""

    def __init__(
        self,
        config: StackConfig,
        *,
        stack: str,
        providers: Providers,
        routes: AlertRoutes,
        opts_: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            "guard:organization:OrganizationSecurity", f"guard-{stack}-organization", None, opts_
        )
        organization = config.organization
        if organization is None:
            raise ValueError("OrganizationSecurity needs guard:organization")
        self._stack = stack
        self._tags = guard_tags(stack)
        if organization.delegation is not None:
            Delegation(
                organization,
                account_id=config.account_id,
                home_region=config.region,
                stack=stack,
                parent=self,
            )
        for region in organization.regions:
            self._guardduty(organization, region, providers.for_region(region))
        self._security_hub(organization, config.region, providers.regional, routes)
        self.register_outputs({})

    def _guardduty(
        self, organization: OrganizationConfig, region: str, provider: aws.Provider
    ) -> None:
        """This account's detector in ``region`` and the organization's auto-enable settings."""
        guardduty = organization.guardduty
        name = f"guardduty-{region}"
        detector = account_detector(
            self, name, guardduty.features, PUBLISHING_FREQUENCY, provider, self._tags
        )
        auto_enable = AUTO_ENABLE[guardduty.auto_enable]
        configuration = aws.guardduty.OrganizationConfiguration(
            f"{name}-organization",
            detector_id=detector.id,
            auto_enable_organization_members=auto_enable,
            opts=opts(self, provider),
        )
        for alias, feature in zip(
            guardduty.features, guardduty_features(guardduty.features), strict=True
        ):
            aws.guardduty.OrganizationConfigurationFeature(
                f"{name}-organization-{alias}",
                detector_id=detector.id,
                name=feature.name,
                auto_enable=auto_enable,
                additional_configurations=[
                    {"name": extra, "auto_enable": auto_enable}
                    for extra in feature.additional_configuration
                ]
                or None,
                opts=opts(self, provider, depends_on=[configuration]),
            )

    def _security_hub(
        self,
        organization: OrganizationConfig,
        region: str,
        provider: aws.Provider,
        routes: AlertRoutes,
    ) -> None:
        """Central configuration from the home region (the stack's), with its aggregator."""
        hub = organization.security_hub
        account = account_hub(self, provider)
        mode, linked = aggregator_linking(region, organization.regions)
        aggregator = aws.securityhub.FindingAggregator(
            "securityhub-aggregator",
            linking_mode=mode,
            specified_regions=linked or None,
            opts=opts(self, provider, depends_on=[account]),
        )
        # Central configuration needs the aggregator, and turns auto-enable off: the policy
        # decides what every account runs.
        central = aws.securityhub.OrganizationConfiguration(
            "securityhub-organization",
            auto_enable=False,
            auto_enable_standards="NONE",
            organization_configuration={"configuration_type": "CENTRAL"},
            opts=opts(self, provider, depends_on=[aggregator]),
        )
        disabled = disabled_control_ids(hub.disabled_controls)
        policy = aws.securityhub.ConfigurationPolicy(
            "securityhub-policy",
            name=f"guard-{self._stack}",
            description=f"guard {self._stack}: standards and controls of every account",
            configuration_policy={
                "service_enabled": True,
                "enabled_standard_arns": [standard_arn(a, region) for a in hub.standards],
                "security_controls_configuration": {"disabled_control_identifiers": disabled},
            },
            opts=opts(self, provider, depends_on=[central]),
        )
        for target in configuration_policy_targets(organization):
            aws.securityhub.ConfigurationPolicyAssociation(
                f"securityhub-policy-{target}",
                policy_id=policy.id,
                target_id=target,
                opts=opts(self, provider),
            )
        # Every account's findings, aggregated here: critical and high to the urgent channel.
        route: Route = "urgent"
        rule = event_rule(
            self,
            "organization-findings",
            self._stack,
            f"Security Hub {', '.join(organization.notify)} findings of every account "
            "(aggregated, new, active)",
            securityhub_pattern(organization.notify),
            route,
            provider,
            self._tags,
            depends_on=[aggregator],
        )
        announce_to(
            self,
            "organization-findings",
            rule,
            route,
            routes.topic_arn(route, region),
            securityhub_transformer(),
            provider,
        )


class Delegation(pulumi.ComponentResource):
    """The management account's one-time step: this account administers GuardDuty (each
    region), Security Hub (the home region) and Firewall Manager.

    Retained when removed from the program: the delegation outlives the key that made it, and
    later deploys need no management-account credentials.
    """

    def __init__(
        self,
        organization: OrganizationConfig,
        *,
        account_id: str,
        home_region: str,
        stack: str,
        parent: pulumi.Resource,
    ) -> None:
        super().__init__(
            "guard:organization:Delegation",
            f"guard-{stack}-delegation",
            None,
            pulumi.ResourceOptions(parent=parent),
        )
        delegation = organization.delegation
        assert delegation is not None
        management = organization.management_account_id
        home = home_region
        providers: dict[str, aws.Provider] = {}

        def provider(region: str) -> aws.Provider:
            if region not in providers:
                providers[region] = management_provider(region, management, delegation.profile)
            return providers[region]

        def keep(region: str) -> pulumi.ResourceOptions:
            return opts(self, provider(region), retain_on_delete=True)

        for region in organization.regions:
            aws.guardduty.OrganizationAdminAccount(
                f"guardduty-admin-{region}", admin_account_id=account_id, opts=keep(region)
            )
        aws.securityhub.OrganizationAdminAccount(
            "securityhub-admin", admin_account_id=account_id, opts=keep(home)
        )
        if organization.firewall_manager.waf_baseline or organization.firewall_manager.shield:
            # Firewall Manager's administrator is associated in us-east-1 (a global setting).
            aws.fms.AdminAccount("fms-admin", account_id=account_id, opts=keep(GLOBAL_REGION))
        self.register_outputs({})
