"""guard.organization_fms: FMS policy documents and requests, built from plain data."""

from __future__ import annotations

import json
import typing
from typing import Any

import pulumi_aws as aws
import pytest
from botocore.model import Shape, StructureShape

from guard import organization_fms as fms
from guard import organization_fms_checks as fms_checks
from guard.aws_model import service_model
from guard.config.products import FLOOR_GROUPS, RateLimit
from guard.waf_catalog import group_by_alias
from guard.waf_rules import MAX_WCU

ALB = fms.ALB
CLOUDFRONT = fms.CLOUDFRONT
RATE_ARN = "arn:aws:wafv2:ap-northeast-1:111111111111:regional/rulegroup/guard-org-rate/a1b2c3d4"
BASELINE = ["known-bad-inputs", "ip-reputation", "common"]


def managed_service_data_shape() -> Shape:
    shape = service_model("fms").shape_for("SecurityServicePolicyData")
    assert isinstance(shape, StructureShape)
    return shape.members["ManagedServiceData"]


def baseline(**overrides: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {"rate_rule_group_arn": RATE_ARN, "log_bucket": "aws-waf-logs-org"}
    arguments.update(overrides)
    return fms.waf_baseline_data(BASELINE, **arguments)


def request(data: dict[str, Any] | str | None, policy_type: str = "WAFV2", **kw: Any) -> Any:
    text = data if isinstance(data, str) or data is None else fms.managed_service_data_text(data)
    kw.setdefault("resource_types", [ALB])
    return fms.policy_request("guard-waf-baseline", policy_type, text, **kw)


# --- the documents guard builds ----------------------------------------------------------------


def test_baseline_document_has_the_documented_form() -> None:
    data = baseline()
    assert [
        g["managedRuleGroupIdentifier"]["managedRuleGroupName"]
        for g in data["preProcessRuleGroups"]
    ] == [group_by_alias(a).name for a in BASELINE]
    first = data["preProcessRuleGroups"][0]
    assert first == {
        "ruleGroupType": "ManagedRuleGroup",
        "managedRuleGroupIdentifier": {
            "vendorName": "AWS",
            "managedRuleGroupName": "AWSManagedRulesKnownBadInputsRuleSet",
            "version": None,
            "versionEnabled": None,
        },
        "overrideAction": {"type": "NONE"},
        "excludeRules": [],
        "ruleGroupArn": None,
        "sampledRequestsEnabled": True,
    }
    (rate,) = data["postProcessRuleGroups"]
    assert rate["ruleGroupType"] == "RuleGroup" and rate["ruleGroupArn"] == RATE_ARN
    assert data["defaultAction"] == {"type": "ALLOW"}
    assert data["overrideCustomerWebACLAssociation"] is False
    assert data["loggingConfiguration"] == {
        "logDestinationConfigs": ["arn:aws:s3:::aws-waf-logs-org"],
        "redactedFields": [],
    }


def test_baseline_without_rate_group_or_bucket() -> None:
    data = baseline(rate_rule_group_arn=None, log_bucket=None, partition="aws-cn")
    assert data["postProcessRuleGroups"] == [] and data["loggingConfiguration"] is None
    data = baseline(partition="aws-cn")
    assert data["loggingConfiguration"]["logDestinationConfigs"] == [
        "arn:aws-cn:s3:::aws-waf-logs-org"
    ]


def test_several_resource_types_go_in_the_resource_type_list() -> None:
    policy = request(baseline(), resource_types=[ALB, "AWS::ApiGateway::Stage"])
    assert policy["ResourceType"] == "ResourceTypeList"
    assert policy["ResourceTypeList"] == [ALB, "AWS::ApiGateway::Stage"]
    assert fms_checks.policy_errors(policy) == []


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("count", {"automaticResponseStatus": "ENABLED", "automaticResponseAction": "COUNT"}),
        ("block", {"automaticResponseStatus": "ENABLED", "automaticResponseAction": "BLOCK"}),
        ("off", {"automaticResponseStatus": "DISABLED"}),
    ],
)
def test_shield_document_for_cloudfront(mode: Any, expected: dict[str, str]) -> None:
    data = fms.shield_data(mode, cloudfront=True)
    assert data is not None and data["type"] == "SHIELD_ADVANCED"
    assert data["automaticResponseConfiguration"] == expected
    policy = request(data, "SHIELD_ADVANCED", resource_types=[CLOUDFRONT])
    assert fms_checks.policy_errors(policy) == []


def test_shield_for_other_resources_has_no_document() -> None:
    assert fms.shield_data("count", cloudfront=False) is None
    policy = request(None, "SHIELD_ADVANCED", resource_types=[ALB, "AWS::EC2::EIP"])
    assert "ManagedServiceData" not in policy["SecurityServicePolicyData"]
    assert fms_checks.policy_errors(policy) == []
    # The documented "empty string" is below the model's minimum length: why None is passed.
    empty = request("", "SHIELD_ADVANCED", resource_types=[ALB])
    assert any("min length: 1" in e for e in fms_checks.policy_errors(empty))


def test_managed_service_data_text_is_compact_and_deterministic() -> None:
    text = fms.managed_service_data_text(baseline())
    assert text == fms.managed_service_data_text(baseline())
    assert text == fms.managed_service_data_text(json.loads(text))
    assert " " not in text and "\n" not in text
    assert json.loads(text) == baseline()


def test_managed_service_data_max_comes_from_the_installed_model() -> None:
    shape = managed_service_data_shape()
    assert shape.metadata["max"] == fms.MANAGED_SERVICE_DATA_MAX


# --- the floor ---------------------------------------------------------------------------------


def test_required_groups_are_the_catalogs_floor() -> None:
    floor = [group_by_alias(alias) for alias in FLOOR_GROUPS]
    assert {g.vendor for g in floor} == {"AWS"}
    assert set(fms.REQUIRED_BASELINE_GROUPS) == {g.name for g in floor}


# --- inputs ------------------------------------------------------------------------------------


def test_unknown_alias_and_repeats_are_refused() -> None:
    with pytest.raises(KeyError, match="known aliases"):
        fms.waf_baseline_data(["no-such-group"], rate_rule_group_arn=None, log_bucket=None)
    with pytest.raises(ValueError, match="listed twice: common"):
        fms.waf_baseline_data(["common", "common"], rate_rule_group_arn=None, log_bucket=None)


def test_baseline_wcu_counts_catalog_groups_and_rate_capacity() -> None:
    catalog = sum(group_by_alias(a).wcu for a in BASELINE)
    assert fms.baseline_wcu(BASELINE, rate_rule_group=False) == catalog
    assert fms.baseline_wcu(BASELINE, rate_rule_group=True) == catalog + 2
    assert fms.rate_rule_group_capacity() == 2


def test_baseline_over_the_web_acl_maximum_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fms, "MAX_WCU", fms.baseline_wcu(BASELINE, rate_rule_group=True) - 1)
    with pytest.raises(ValueError, match="WCUs; a web ACL holds at most"):
        baseline()
    assert MAX_WCU == 5000


def test_policy_request_from_pulumi_inputs() -> None:
    text = fms.managed_service_data_text(baseline())
    props = {
        "name": "guard-waf-baseline",
        "securityServicePolicyData": {"type": "WAFV2", "managedServiceData": text},
        "resourceTypeLists": [ALB, "AWS::ApiGateway::Stage"],
        "excludeResourceTags": True,
        "resourceTags": {"managed-by": "guard"},
        "remediationEnabled": True,
        "includeMap": {"accounts": ["222222222222"], "orgunits": ["ou-abcd-11111111"]},
        "deleteUnusedFmManagedResources": True,
    }
    policy = fms.policy_request_from_inputs(props)
    assert policy == request(
        text,
        resource_types=[ALB, "AWS::ApiGateway::Stage"],
        resource_tags={"managed-by": "guard"},
        exclude_resource_tags=True,
        accounts=["222222222222"],
        org_units=["ou-abcd-11111111"],
        delete_unused_fm_managed_resources=True,
    )
    assert fms_checks.policy_errors(policy) == []
    single = fms.policy_request_from_inputs({**props, "resourceTypeLists": [ALB]})
    assert any("two or more types" in e for e in fms_checks.policy_errors(single))


# --- the rate rule group -----------------------------------------------------------------------


def test_rate_rule_group_passes_create_rule_group_validation() -> None:
    group = fms.rate_rule_group(2000, 300, name="guard-org-rate", metric_name="guard-org-rate")
    assert fms_checks.rate_rule_group_errors(group) == []
    assert fms_checks.rate_rule_group_errors(group, scope="CLOUDFRONT") == []
    (rule,) = group["rules"]
    assert rule["statement"]["rate_based_statement"] == {
        "limit": 2000,
        "evaluation_window_sec": 300,
        "aggregate_key_type": "IP",
    }
    assert rule["action"] == {"block": {}}
    # pulumi-aws 7 accepts the keys: its Args classes take them as keyword arguments.
    aws.wafv2.RuleGroupArgs(scope="REGIONAL", **group)
    aws.wafv2.RuleGroupRuleArgs(**rule)
    aws.wafv2.RuleGroupRuleStatementArgs(**rule["statement"])
    aws.wafv2.RuleGroupRuleStatementRateBasedStatementArgs(
        **rule["statement"]["rate_based_statement"]
    )
    aws.wafv2.RuleGroupRuleVisibilityConfigArgs(**rule["visibility_config"])


def test_rate_windows_come_from_the_model_and_match_the_config() -> None:
    assert fms.RATE_WINDOWS == (60, 120, 300, 600)
    window = RateLimit.model_fields["window"].annotation
    assert set(typing.get_args(window)) == set(fms.RATE_WINDOWS)
    assert (fms.RATE_LIMIT_MIN, fms.RATE_LIMIT_MAX) == (10, 2_000_000_000)


@pytest.mark.parametrize(
    ("limit", "window"), [(100, 90), (100, 3600), (5, 300), (3_000_000_000, 60)]
)
def test_rate_outside_the_model_is_refused(limit: int, window: int) -> None:
    with pytest.raises(ValueError, match="rate rule group guard-org-rate"):
        fms.rate_rule_group(limit, window, name="guard-org-rate", metric_name="m")
    group = fms.rate_rule_group(100, 300, name="guard-org-rate", metric_name="m")
    group["rules"][0]["statement"]["rate_based_statement"].update(
        limit=limit, evaluation_window_sec=window
    )
    assert fms_checks.rate_rule_group_errors(group)
