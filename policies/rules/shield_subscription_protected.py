"""A Shield Advanced subscription declared here is protected from deletion (a 1-year commitment)."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, ResourceValidationArgs, Severity

from policies.framework import Meta, Report, resource_policy

META = Meta(
    name="shield-subscription-protected",
    description="An aws.shield.Subscription has protect=True, so no destroy or refactoring "
    "removes a one-year Shield Advanced commitment by accident.",
    severity=Severity.HIGH,
    enforcement=EnforcementLevel.MANDATORY,
    remediation="declare the subscription with ResourceOptions(protect=True, "
    "retain_on_delete=True), as components.shield does for 'subscription: create'.",
)
SUBSCRIPTION = "aws:shield/subscription:Subscription"


def check(args: ResourceValidationArgs, report: Report) -> None:
    if not args.opts.protect:
        report(f"Shield Advanced subscription {args.name} is not protected from deletion.", None)


POLICY = resource_policy(META, [SUBSCRIPTION], check)
