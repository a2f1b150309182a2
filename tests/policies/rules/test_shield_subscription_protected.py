"""shield-subscription-protected: a declared subscription is protected from deletion."""

from __future__ import annotations

from pulumi_policy import ResourceValidationArgs

from policies.rules import shield_subscription_protected
from tests.policies.support import options, urn_of, violations_of

SUBSCRIPTION = "aws:shield/subscription:Subscription"


def subscription(protect: bool) -> ResourceValidationArgs:
    props = {"autoRenew": "ENABLED", "skipDestroy": True}
    return ResourceValidationArgs(
        SUBSCRIPTION,
        props,
        urn_of(SUBSCRIPTION, "subscription"),
        "subscription",
        options(protect),
        None,
    )


def test_protected_subscription_passes() -> None:
    assert violations_of(shield_subscription_protected.POLICY, subscription(protect=True)) == []


def test_unprotected_subscription_is_a_violation() -> None:
    found = violations_of(shield_subscription_protected.POLICY, subscription(protect=False))
    assert len(found) == 1 and "not protected from deletion" in found[0]
