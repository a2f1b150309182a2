"""shield-endpoint-protected: with guard:shield, every endpoint's ARN has a Shield protection."""

from __future__ import annotations

from typing import Any

from policies.rules import shield_endpoint_protected
from tests.conftest import minimal_product
from tests.policies.support import resource, violations_of

PROTECTION = "aws:shield/protection:Protection"
PRODUCT = "guard:catalog:Product"
ALERTS = {
    "slack": {
        "workspace_id": "T0EXAMPLE1",
        "normal_channel": "C0NORMAL01",
        "urgent_channel": "C0URGENT01",
    }
}
STORE = minimal_product()
ARN = STORE["endpoints"][0]["arn"]


def check(resources: list[Any], **config: Any) -> list[str]:
    return violations_of(shield_endpoint_protected.POLICY, resources, products=[STORE], **config)


def test_every_endpoint_protected_passes() -> None:
    resources = [
        resource(PRODUCT, {}, "store"),
        resource(PROTECTION, {"resourceArn": ARN}, "store-web"),
    ]
    assert check(resources, shield={"subscription": "existing"}, alerts=ALERTS) == []


def test_endpoint_without_protection_is_reported_on_its_product() -> None:
    resources = [resource(PRODUCT, {}, "store")]
    messages = check(resources, shield={"subscription": "existing"}, alerts=ALERTS)
    assert len(messages) == 1
    assert "store/web" in messages[0] and ARN in messages[0]


def test_without_guard_shield_nothing_is_required() -> None:
    assert check([resource(PRODUCT, {}, "store")]) == []


def test_waived_for_the_product_by_a_policy_exception() -> None:
    exception = {
        "policy": "shield-endpoint-protected",
        "resource": "store",
        "reason": "internal tool, reviewed 2026-11",
        "expires": "2027-01-31",
    }
    resources = [resource(PRODUCT, {}, "store")]
    waived = check(
        resources, shield={"subscription": "existing"}, alerts=ALERTS, policy_exceptions=[exception]
    )
    # Reported on the product's catalog resource, so the exception can name the product.
    assert waived == []
