"""guard.organization_fms_checks: FMS policies, checked against botocore's fms and wafv2 models."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest

from guard import organization_fms as fms
from guard import organization_fms_checks as fms_checks
from tests.guard.test_organization_fms import (
    ALB,
    CLOUDFRONT,
    baseline,
    managed_service_data_shape,
    request,
)


def documented_codes() -> list[str]:
    """Every <code> of the fms model's ManagedServiceData documentation that holds a document."""
    doc = managed_service_data_shape()
    codes = re.findall(r"<code>(.*?)</code>", doc.documentation, re.S)
    return [c for c in (html.unescape(c).strip() for c in codes) if c.startswith('"')]


def documented_examples(policy_type: str) -> list[dict[str, Any]]:
    """The examples of one type that are valid JSON (the specifications with ``a|b`` are not)."""
    found = []
    for code in documented_codes():
        try:
            document = json.loads(json.loads(code))
        except (json.JSONDecodeError, TypeError):
            continue
        if isinstance(document, dict) and document.get("type") == policy_type:
            found.append(document)
    return found


# --- the documents guard builds ----------------------------------------------------------------


@pytest.mark.parametrize("resource_types", [[ALB], [CLOUDFRONT]])
def test_built_waf_policy_validates_against_the_model(resource_types: list[str]) -> None:
    policy = request(
        baseline(),
        resource_types=resource_types,
        resource_tags={"managed-by": "guard"},
        exclude_resource_tags=True,
        org_units=["ou-abcd-11111111"],
        accounts=["222222222222"],
        delete_unused_fm_managed_resources=True,
    )
    assert fms_checks.policy_errors(policy) == []
    assert policy["IncludeMap"] == {"ACCOUNT": ["222222222222"], "ORG_UNIT": ["ou-abcd-11111111"]}
    assert policy["ResourceTags"] == [{"Key": "managed-by", "Value": "guard"}]
    assert fms_checks.baseline_floor_errors("guard-waf-baseline", baseline()) == []


# --- the documented examples -------------------------------------------------------------------


def test_every_documented_wafv2_example_passes_the_checks() -> None:
    examples = documented_examples("WAFV2")
    assert len(examples) >= 4
    for example in examples:
        policy = request(example)
        assert fms_checks.policy_errors(policy) == [], example


def test_every_documented_shield_example_passes_the_checks() -> None:
    examples = documented_examples("SHIELD_ADVANCED")
    assert len(examples) >= 2
    for example in examples:
        policy = request(example, "SHIELD_ADVANCED", resource_types=[CLOUDFRONT])
        assert fms_checks.policy_errors(policy) == [], example


def test_documented_keys_are_exactly_the_model_documentations() -> None:
    # Not narrower (AWS's own examples pass) and not wider (no key AWS does not document).
    waf_keys = {k for example in documented_examples("WAFV2") for k in example}
    assert fms_checks.DOCUMENTED_KEYS["WAFV2"] == waf_keys
    entries = [
        entry
        for example in documented_examples("WAFV2")
        for entry in example["preProcessRuleGroups"] + example["postProcessRuleGroups"]
    ]
    assert {k for entry in entries for k in entry} == fms_checks.RULE_GROUP_KEYS
    identifiers = [e["managedRuleGroupIdentifier"] for e in entries]
    assert {k for i in identifiers for k in i} == fms_checks.IDENTIFIER_KEYS
    # The CloudFront specification is not JSON ("true|false"): its keys are read from the text.
    shield_codes = [c for c in documented_codes() if "SHIELD_ADVANCED" in c]
    shield_keys = {k for c in shield_codes for k in re.findall(r'\\"(\w+)\\"\s*:', c)}
    assert (
        fms_checks.DOCUMENTED_KEYS["SHIELD_ADVANCED"]
        == shield_keys - fms_checks.AUTOMATIC_RESPONSE_KEYS
    )


# --- what is reported --------------------------------------------------------------------------


def errors_for(data: dict[str, Any], policy_type: str = "WAFV2", **kw: Any) -> list[str]:
    return fms_checks.policy_errors(request(data, policy_type, **kw))


def test_unknown_top_level_key_is_reported() -> None:
    (error,) = errors_for({**baseline(), "overrideCustomerWebAclAssociation": False})
    assert error.startswith("FMS policy guard-waf-baseline: ManagedServiceData has keys")
    assert "overrideCustomerWebAclAssociation" in error and "documented:" in error


def test_unknown_rule_group_key_and_bad_values_are_reported() -> None:
    data = baseline()
    data["preProcessRuleGroups"][0]["excludedRules"] = []
    data["preProcessRuleGroups"][1]["overrideAction"] = {"type": "BLOCK"}
    data["defaultAction"] = {"type": "DENY"}
    errors = errors_for(data)
    assert any("preProcessRuleGroups[0] has keys" in e and "excludedRules" in e for e in errors)
    assert any("preProcessRuleGroups[1].overrideAction.type is 'BLOCK'" in e for e in errors)
    assert any("defaultAction.type is 'DENY'; allowed: ALLOW, BLOCK" in e for e in errors)


def test_too_long_data_is_reported_once_with_the_models_maximum() -> None:
    data = baseline()
    data["tokenDomains"] = ["x" * (fms.MANAGED_SERVICE_DATA_MAX)]
    errors = errors_for(data)
    assert len(errors) == 1
    assert "ManagedServiceData" in errors[0]
    assert f"at most {fms.MANAGED_SERVICE_DATA_MAX}" in errors[0]


def test_wrong_type_is_reported() -> None:
    errors = errors_for(fms.shield_data("count", cloudfront=True) or {})
    assert any(
        "ManagedServiceData type is 'SHIELD_ADVANCED', but SecurityServicePolicyData.Type is "
        "'WAFV2'" in e
        for e in errors
    )


def test_unparseable_data_is_reported() -> None:
    (error,) = fms_checks.policy_errors(request("{not json"))
    assert "ManagedServiceData is not JSON" in error


def test_bad_enums_and_map_keys_in_put_policy_are_reported() -> None:
    policy = request(baseline())
    policy["SecurityServicePolicyData"]["Type"] = "WAF_V2"
    policy["IncludeMap"] = {"ACCOUNTS": ["222222222222"]}
    policy["ResourceTagLogicalOperator"] = "XOR"
    errors = fms_checks.policy_errors(policy)
    assert any("Type: 'WAF_V2' is not one of" in e and "WAFV2" in e for e in errors)
    assert any("IncludeMap: key 'ACCOUNTS' is not one of ACCOUNT, ORG_UNIT" in e for e in errors)
    assert any("ResourceTagLogicalOperator: 'XOR'" in e for e in errors)


def test_put_policy_shape_errors_are_reported() -> None:
    policy = request(baseline())
    del policy["ExcludeResourceTags"]
    policy["PolicyName"] = "x" * 129
    errors = fms_checks.policy_errors(policy)
    assert any("ExcludeResourceTags" in e for e in errors)
    assert any("PolicyName: 129 characters" in e for e in errors)


def test_scope_rules_of_the_documentation_are_reported() -> None:
    policy = request(baseline(), accounts=["222222222222"])
    policy["ExcludeMap"] = {"ACCOUNT": ["333333333333"]}
    policy["ResourceType"] = "ResourceTypeList"
    policy["ResourceTypeList"] = [ALB]
    errors = fms_checks.policy_errors(policy)
    assert any("IncludeMap and ExcludeMap are both set" in e for e in errors)
    assert any("needs two or more types" in e for e in errors)
    shield = request(
        fms.shield_data("count", cloudfront=True) or {},
        "SHIELD_ADVANCED",
        resource_types=[ALB],
        delete_unused_fm_managed_resources=True,
    )
    errors = fms_checks.policy_errors(shield)
    assert any("not available for SHIELD_ADVANCED" in e for e in errors)
    assert any("applies to CloudFront distributions only" in e for e in errors)


def test_logging_destination_must_be_a_waf_logs_bucket() -> None:
    data = baseline()
    data["loggingConfiguration"]["logDestinationConfigs"] = ["arn:aws:s3:::org-logs"]
    (error,) = errors_for(data)
    assert "not named aws-waf-logs-" in error
    with pytest.raises(ValueError, match="aws-waf-logs-"):
        baseline(log_bucket="org-logs")


def test_shield_enabled_without_action_is_reported() -> None:
    data = {
        "type": "SHIELD_ADVANCED",
        "automaticResponseConfiguration": {"automaticResponseStatus": "ENABLED"},
    }
    (error,) = errors_for(data, "SHIELD_ADVANCED", resource_types=[CLOUDFRONT])
    assert "automaticResponseAction is None; allowed: BLOCK, COUNT" in error


def test_data_above_the_old_8192_limit_but_within_the_models_passes() -> None:
    # botocore 1.29.0's model allowed 8192 characters; a hard-coded old limit would refuse this.
    data = baseline()
    data["tokenDomains"] = []
    padding = fms.MANAGED_SERVICE_DATA_MAX - len(fms.managed_service_data_text(data)) - 2
    data["tokenDomains"] = ["x" * padding]
    assert len(fms.managed_service_data_text(data)) == fms.MANAGED_SERVICE_DATA_MAX > 8192
    assert errors_for(data) == []
    data["tokenDomains"] = ["x" * (padding + 1)]
    assert len(errors_for(data)) == 1


def test_line_breaks_refused_by_the_models_pattern_are_reported() -> None:
    data = baseline()
    data["customResponse"] = {"body": "one\ntwo"}
    (error,) = errors_for(data)
    assert "line break or a \\n or \\r escape" in error
    (error,) = fms_checks.policy_errors(request(json.dumps(baseline(), indent=1)))
    assert "use compact JSON" in error


# --- the floor ---------------------------------------------------------------------------------


def test_missing_floor_group_is_reported() -> None:
    data = fms.waf_baseline_data(
        ["common", "ip-reputation"], rate_rule_group_arn=None, log_bucket=None
    )
    (error,) = fms_checks.baseline_floor_errors("org", data)
    assert error.startswith("FMS policy org: preProcessRuleGroups lack AWS AWSManagedRulesKnown")


def test_floor_group_in_post_processing_only_is_reported() -> None:
    data = fms.waf_baseline_data(["ip-reputation"], rate_rule_group_arn=None, log_bucket=None)
    data["postProcessRuleGroups"] = fms.waf_baseline_data(
        ["known-bad-inputs"], rate_rule_group_arn=None, log_bucket=None
    )["preProcessRuleGroups"]
    (error,) = fms_checks.baseline_floor_errors("org", data)
    assert "it is in postProcessRuleGroups" in error


def test_counting_floor_group_is_reported() -> None:
    data = baseline()
    data["preProcessRuleGroups"][1]["overrideAction"] = {"type": "COUNT"}
    (error,) = fms_checks.baseline_floor_errors("org", data)
    assert "AWSManagedRulesAmazonIpReputationList has overrideAction 'COUNT'" in error
    assert "required: NONE" in error


def test_counting_log4j_rules_is_reported() -> None:
    data = baseline()
    data["preProcessRuleGroups"][0]["excludeRules"] = [{"name": "Log4JRCE_HEADER"}]
    data["preProcessRuleGroups"][0]["ruleActionOverrides"] = [
        {"name": "Log4JRCE_BODY", "actionToUse": {"count": {}}},
        {"name": "PROPFIND_METHOD", "actionToUse": {"count": {}}},
    ]
    (error,) = fms_checks.baseline_floor_errors("org", data)
    assert "Log4JRCE_HEADER, Log4JRCE_BODY" in error and "PROPFIND" not in error


# --- the rate rule group -----------------------------------------------------------------------


def test_rate_rule_group_errors_reports_a_misspelt_input() -> None:
    group = fms.rate_rule_group(100, 300, name="guard-org-rate", metric_name="m")
    group["rules"][0]["statement"]["rate_based_statement"]["window"] = 300
    errors = fms_checks.rate_rule_group_errors(group)
    assert any(
        'Unknown parameter in Rules[0].Statement.RateBasedStatement: "Window"' in e for e in errors
    )
