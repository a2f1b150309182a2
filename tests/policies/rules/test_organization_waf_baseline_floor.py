"""organization-waf-baseline-floor: FMS WAF policies run the floor groups first, blocking."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pulumi.runtime.rpc import UNKNOWN
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

from guard import organization_fms as fms
from policies.rules.organization_waf_baseline_floor import FMS_POLICY, POLICY
from tests.policies.support import resource_args, violations_of

RATE_ARN = "arn:aws:wafv2:ap-northeast-1:111111111111:regional/rulegroup/guard-org-rate/a1b2c3d4"


def baseline(*aliases: str) -> dict[str, Any]:
    return fms.waf_baseline_data(
        aliases or ("known-bad-inputs", "ip-reputation", "common"),
        rate_rule_group_arn=RATE_ARN,
        log_bucket="aws-waf-logs-org",
    )


def props(data: dict[str, Any] | str, policy_type: str = "WAFV2", **overrides: Any) -> Any:
    """An aws.fms.Policy's inputs as the engine passes them (camelCase)."""
    text = data if isinstance(data, str) else fms.managed_service_data_text(data)
    found = {
        "name": "guard-waf-baseline",
        "securityServicePolicyData": {"type": policy_type, "managedServiceData": text},
        "resourceType": fms.ALB,
        "excludeResourceTags": True,
        "resourceTags": {"managed-by": "guard"},
        "remediationEnabled": True,
        "includeMap": {"orgunits": ["ou-abcd-11111111"]},
        "deleteUnusedFmManagedResources": True,
    }
    found.update(overrides)
    return found


def check(inputs: Any) -> list[str]:
    return violations_of(POLICY, resource_args(FMS_POLICY, inputs, "waf-baseline"))


def test_guards_baseline_passes() -> None:
    assert check(props(baseline())) == []


def test_a_baseline_on_cloudfront_and_albs_as_a_list_passes() -> None:
    inputs = props(baseline(), resourceType=None, resourceTypeLists=[fms.ALB, fms.CLOUDFRONT])
    assert check(inputs) == []


def test_missing_floor_group_is_reported() -> None:
    (message,) = check(props(baseline("known-bad-inputs", "common")))
    assert message.startswith(
        "FMS policy guard-waf-baseline: preProcessRuleGroups lack AWS "
        "AWSManagedRulesAmazonIpReputationList"
    )
    assert "Fix:" in message


def test_counting_floor_group_is_reported() -> None:
    data = baseline()
    data["preProcessRuleGroups"][0]["overrideAction"] = {"type": "COUNT"}
    (message,) = check(props(data))
    assert "AWSManagedRulesKnownBadInputsRuleSet has overrideAction 'COUNT'" in message


def test_floor_group_of_another_vendor_does_not_count() -> None:
    data = baseline()
    data["preProcessRuleGroups"][1]["managedRuleGroupIdentifier"]["vendorName"] = "Imitator"
    (message,) = check(props(data))
    assert "lack AWS AWSManagedRulesAmazonIpReputationList" in message


def test_unparseable_data_is_reported() -> None:
    (message,) = check(props("{not json"))
    assert message.startswith("FMS policy guard-waf-baseline: ManagedServiceData is not JSON")


def test_invalid_request_is_reported() -> None:
    data = {**baseline(), "overrideCustomerWebAclAssociation": True}
    found = check(
        props(
            data,
            includeMap={"orgunits": ["ou-abcd-11111111"]},
            excludeMap={"accounts": ["222222222222"]},
        )
    )
    assert any("has keys the fms model does not document" in m for m in found)
    assert any("IncludeMap and ExcludeMap are both set" in m for m in found)


def test_too_long_data_is_reported() -> None:
    data = baseline()
    data["tokenDomains"] = ["x" * fms.MANAGED_SERVICE_DATA_MAX]
    (message,) = check(props(data))
    assert f"allows at most {fms.MANAGED_SERVICE_DATA_MAX}" in message


def test_type_mismatch_is_reported() -> None:
    data = {**baseline(), "type": "SHIELD_ADVANCED"}
    found = check(props(data))
    assert any("ManagedServiceData type is 'SHIELD_ADVANCED'" in m for m in found)


def test_other_policy_types_are_not_judged() -> None:
    shield = fms.shield_data("count", cloudfront=True) or {}
    assert check(props(shield, "SHIELD_ADVANCED", resourceType=fms.CLOUDFRONT)) == []


def test_unknown_document_is_left_to_crossguards_preview_report() -> None:
    # CrossGuard turns the error into "can't run policy during preview"; the update, where the
    # rate group's ARN is known, judges the document.
    inputs = props(baseline())
    inputs["securityServicePolicyData"]["managedServiceData"] = UNKNOWN
    with pytest.raises(UnknownValueError):
        check(unknown_checking_proxy(inputs))


def test_unknown_scope_still_judges_the_document() -> None:
    data = baseline("known-bad-inputs", "common")
    inputs = props(data, includeMap={"accounts": UNKNOWN})
    (message,) = check(unknown_checking_proxy(inputs))
    assert "lack AWS AWSManagedRulesAmazonIpReputationList" in message
    assert check(unknown_checking_proxy(props(baseline(), includeMap={"accounts": UNKNOWN}))) == []


def test_pretty_printed_document_is_reported() -> None:
    # The model's pattern refuses line breaks; guard's compact text has none.
    (message,) = check(props(json.dumps(baseline(), indent=2)))
    assert "line break" in message
    assert check(props(json.dumps(baseline()))) == []
