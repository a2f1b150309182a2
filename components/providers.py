"""Explicit AWS providers: the stack's region and us-east-1, both pinned to the stack's account;
other regions (an organization stack's) and other accounts (the management account's one-time
step) only through explicitly named providers."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from guard.config.base import GLOBAL_REGION


@dataclass(frozen=True)
class Providers:
    """The providers every component uses; nothing in guard relies on an ambient default provider."""

    regional: aws.Provider
    us_east_1: aws.Provider
    region: str
    account_id: str = ""
    #: Providers of further regions of this account, made on first use (:meth:`for_region`).
    others: dict[str, aws.Provider] = field(default_factory=dict, compare=False)

    def for_region(self, region: str) -> aws.Provider:
        """This account's provider in ``region``: the stack's, us-east-1's, or ``aws-<region>``
        (an organization stack's other regions), made on first use."""
        if region == self.region:
            return self.regional
        if region == GLOBAL_REGION:
            return self.us_east_1
        if region not in self.others:
            self.others[region] = aws.Provider(
                f"aws-{region}", region=region, allowed_account_ids=[self.account_id]
            )
        return self.others[region]

    @staticmethod
    def create(region: str, account_id: str) -> Providers:
        # allowed_account_ids makes a deploy with the wrong credentials stop before it changes anything.
        regional = aws.Provider("aws-regional", region=region, allowed_account_ids=[account_id])
        if region == GLOBAL_REGION:
            return Providers(regional, regional, region, account_id)
        us_east_1 = aws.Provider(
            "aws-us-east-1", region=GLOBAL_REGION, allowed_account_ids=[account_id]
        )
        return Providers(regional, us_east_1, region, account_id)


def management_provider(region: str, account_id: str, profile: str) -> aws.Provider:
    """The organization's management account in ``region``, through a named CLI profile.

    Only the one-time delegation uses it (docs/organization.md): its credentials are a
    person's, on their machine, never the pipeline's.
    """
    return aws.Provider(
        f"aws-management-{region}",
        region=region,
        profile=profile,
        allowed_account_ids=[account_id],
    )


def opts(
    parent: pulumi.Resource, provider: aws.Provider, **extra: object
) -> pulumi.ResourceOptions:
    """Child options: parented for a readable tree, explicit provider for the right region."""
    return pulumi.ResourceOptions(parent=parent, provider=provider, **extra)  # type: ignore[arg-type]
