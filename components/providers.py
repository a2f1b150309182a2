"""Explicit AWS providers: the stack's region and us-east-1, both pinned to the stack's account."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from guard.config.base import GLOBAL_REGION


@dataclass(frozen=True)
class Providers:
    """The providers every component uses; nothing in guard relies on an ambient default provider."""

    regional: aws.Provider
    us_east_1: aws.Provider
    region: str

    def for_region(self, region: str) -> aws.Provider:
        return self.us_east_1 if region == GLOBAL_REGION else self.regional

    @staticmethod
    def create(region: str, account_id: str) -> Providers:
        # allowed_account_ids makes a deploy with the wrong credentials stop before it changes anything.
        regional = aws.Provider("aws-regional", region=region, allowed_account_ids=[account_id])
        if region == GLOBAL_REGION:
            return Providers(regional, regional, region)
        us_east_1 = aws.Provider(
            "aws-us-east-1", region=GLOBAL_REGION, allowed_account_ids=[account_id]
        )
        return Providers(regional, us_east_1, region)


def opts(
    parent: pulumi.Resource, provider: aws.Provider, **extra: object
) -> pulumi.ResourceOptions:
    """Child options: parented for a readable tree, explicit provider for the right region."""
    return pulumi.ResourceOptions(parent=parent, provider=provider, **extra)  # type: ignore[arg-type]
