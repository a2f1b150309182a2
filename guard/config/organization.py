"""``guard:organization``: the security tooling account that runs detection and the WAF and Shield
baseline for every account of an AWS Organization, as a delegated administrator.

GuardDuty auto-enable, Security Hub central configuration with a finding aggregator, and Firewall
Manager policies are AWS's own engine for many accounts; this section says how to drive it.
Checks that need several fields (the delegated administrator is not the management account, the
aggregation region is one of the regions, the baseline's capacity) are in
:mod:`guard.organization_checks`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from guard.config.alerts import (
    DisabledControl,
    GuardDutyFeatureAlias,
    SeverityLabel,
    StandardAlias,
)
from guard.config.base import AccountId, BucketName, Region, StrictModel
from guard.detection_catalog import DEFAULT_GUARDDUTY_FEATURES

#: ``ou-`` then the root's 4 to 32 characters, ``-``, then 8 to 32 (Organizations' own pattern).
OuId = Annotated[
    str,
    StringConstraints(pattern=r"^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$"),
    Field(description="an organizational unit ID such as ou-abcd-11111111"),
]
RootId = Annotated[
    str,
    StringConstraints(pattern=r"^r-[0-9a-z]{4,32}$"),
    Field(description="the organization's root ID such as r-abcd (aws organizations list-roots)"),
]
#: An AWS CLI profile name (what ``aws configure --profile`` accepts, without spaces).
ProfileName = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z0-9_.@+=-]{1,64}$"),
    Field(description="an AWS CLI profile name such as org-management"),
]
TagText = Annotated[str, StringConstraints(min_length=1, max_length=128)]


class Target(StrictModel):
    """One organizational unit or one account a policy applies to."""

    ou: OuId | None = Field(
        default=None, description="an organizational unit ID such as ou-abcd-11111111"
    )
    account: AccountId | None = Field(
        default=None, description='a 12-digit AWS account ID, quoted, e.g. "444444444444"'
    )

    @model_validator(mode="after")
    def _one(self) -> Target:
        if (self.ou is None) == (self.account is None):
            raise ValueError("give exactly one of ou (ou-...) or account (12 digits)")
        return self

    @property
    def target_id(self) -> str:
        return self.ou if self.ou is not None else str(self.account)


class OrganizationGuardDuty(StrictModel):
    """GuardDuty for every account: which members are enabled and with which features."""

    #: ``all``: every account, existing and new; ``new``: accounts that join from now on.
    auto_enable: Literal["all", "new", "none"] = "all"
    features: list[GuardDutyFeatureAlias] = list(DEFAULT_GUARDDUTY_FEATURES)


class OrganizationSecurityHub(StrictModel):
    """Security Hub central configuration: one policy of standards and controls, its targets."""

    standards: Annotated[list[StandardAlias], Field(min_length=1)] = ["aws-foundational"]
    disabled_controls: list[DisabledControl] = []
    #: The organizational units and accounts the policy applies to; the root when absent.
    targets: list[Target] | None = None


class RateLimit(StrictModel):
    """A rate-based rule: requests per client IP in the window, then blocked."""

    limit: Annotated[int, Field(ge=10, le=2_000_000_000)]
    window: Literal[60, 120, 300, 600] = 300


class BaselineLogging(StrictModel):
    """The central bucket every baseline web ACL logs to (its name must start aws-waf-logs-)."""

    bucket: BucketName


class WafBaseline(StrictModel):
    """The web ACL Firewall Manager puts on every ALB and CloudFront distribution in scope."""

    managed_rules: Annotated[list[str], Field(min_length=1)]
    rate_limit: RateLimit | None = None
    #: Resources carrying all of these tags are left out: their product stacks' web ACLs stay.
    exclude_tag: dict[TagText, TagText] = {}
    logging: BaselineLogging | None = None
    #: Organizational units and accounts in scope; every account when absent.
    targets: list[Target] | None = None


class FirewallManagerShield(StrictModel):
    """Shield Advanced on every ALB and CloudFront distribution in scope."""

    #: CloudFront's automatic application-layer DDoS mitigation: rules in count or block, or off.
    automatic_l7_mitigation: Literal["count", "block", "off"] = "count"
    targets: list[Target] | None = None


class FirewallManager(StrictModel):
    """Firewall Manager policies: a WAF baseline and Shield Advanced."""

    waf_baseline: WafBaseline | None = None
    shield: FirewallManagerShield | None = None


class Delegation(StrictModel):
    """The one-time step from the management account: make this account the administrator.

    Declared only while it is set; its resources are retained when it is removed, so the
    delegation stays and regular deploys need no management-account credentials.
    """

    #: The AWS CLI profile holding management-account credentials on the machine that runs it.
    profile: ProfileName


class OrganizationConfig(StrictModel):
    """``guard:organization``: this stack's account is the organization's security tooling
    account (delegated administrator of GuardDuty, Security Hub and Firewall Manager)."""

    management_account_id: AccountId
    #: Where detection runs; the stack's region aggregates Security Hub findings of the others.
    regions: Annotated[list[Region], Field(min_length=1)]
    root_id: RootId | None = None
    delegation: Delegation | None = None
    guardduty: OrganizationGuardDuty = OrganizationGuardDuty()
    security_hub: OrganizationSecurityHub = OrganizationSecurityHub()
    firewall_manager: FirewallManager = FirewallManager()
    #: Aggregated findings of every account announced in guard:alerts' urgent channel.
    notify: Annotated[list[SeverityLabel], Field(min_length=1)] = ["CRITICAL", "HIGH"]
