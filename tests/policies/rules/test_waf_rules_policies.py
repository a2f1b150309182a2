"""The WAF policies, each with passing and violating web ACLs, and with unknown values."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pulumi.runtime.rpc import UNKNOWN
from pulumi_policy.proxy import UnknownValueError, unknown_checking_proxy

from guard.waf_rules import build_web_acl
from policies.rules import (
    waf_allowlist_only_allows,
    waf_capacity_cost,
    waf_capacity_limit,
    waf_rate_based_rule,
    waf_required_managed_groups,
)
from tests.conftest import load, minimal_product
from tests.policies.support import resource, violations_of

WEB_ACL = "aws:wafv2/webAcl:WebAcl"


def acl_props(**waf: Any) -> dict[str, Any]:
    product = load(products=[minimal_product(**waf)]).config.products[0]
    spec = build_web_acl(product, "REGIONAL", "prod")
    return {
        "name": spec.name,
        "ruleJson": json.dumps(spec.rules({s.key: f"arn:{s.key}" for s in spec.ip_sets})),
        "defaultAction": {spec.default_action: {}},
        "tags": {"product": "store"},
    }


def check(policy: Any, props: dict[str, Any], **waf: Any) -> list[str]:
    return violations_of(
        policy.POLICY, [resource(WEB_ACL, props)], products=[minimal_product(**waf)]
    )


def test_default_groups_pass_required_groups() -> None:
    assert check(waf_required_managed_groups, acl_props()) == []


def test_missing_known_bad_inputs_and_reputation() -> None:
    found = check(waf_required_managed_groups, acl_props(managed_rules=[{"name": "common"}]))
    assert any("KnownBadInputs" in m for m in found) and any("IpReputation" in m for m in found)


def test_log4j_rule_in_count_is_a_violation() -> None:
    props = acl_props(
        managed_rules=[
            {"name": "known-bad-inputs", "count_rules": ["Log4JRCE_QUERYSTRING"]},
            {"name": "ip-reputation"},
        ]
    )
    found = check(waf_required_managed_groups, props)
    assert len(found) == 1 and "Log4JRCE_QUERYSTRING" in found[0]


def test_whole_group_in_count_is_a_violation() -> None:
    props = acl_props(
        managed_rules=[{"name": "known-bad-inputs"}, {"name": "ip-reputation", "mode": "count"}]
    )
    assert any("only counts" in m for m in check(waf_required_managed_groups, props))


def test_rate_based_rule_required() -> None:
    assert check(waf_rate_based_rule, acl_props()) == []
    assert len(check(waf_rate_based_rule, acl_props(rate_limits=[]), rate_limits=[])) == 1


def test_capacity_policies() -> None:
    small = acl_props()
    assert check(waf_capacity_limit, small) == [] and check(waf_capacity_cost, small) == []
    big = [{"vendor": "Vendor", "group": "Big", "wcu": 1400}, {"name": "common"}]
    props = acl_props(managed_rules=big)
    assert check(waf_capacity_limit, props, managed_rules=big) == []
    assert len(check(waf_capacity_cost, props, managed_rules=big)) == 1
    # Over 5,000: built by hand, since config validation already refuses such a product.
    rules = json.loads(props["ruleJson"]) * 4
    for index, rule in enumerate(rules):
        rule["Name"] = f"r{index}"
    props["ruleJson"] = json.dumps(rules)
    assert len(check(waf_capacity_limit, props, managed_rules=big)) == 1


@pytest.mark.parametrize(
    "module", [waf_required_managed_groups, waf_rate_based_rule, waf_capacity_limit]
)
def test_unknown_rules_are_not_judged(module: Any) -> None:
    # During a real preview CrossGuard wraps props like this; reading an unknown value must raise
    # (the engine turns it into "cannot check"), never pass silently or fail the rule.
    props = unknown_checking_proxy(
        {"name": "acl", "ruleJson": UNKNOWN, "tags": {"product": "store"}}
    )
    with pytest.raises(UnknownValueError):
        check(module, props)


OFFICE = [{"cidr": "198.51.100.0/28", "reason": "office"}]


def test_count_mode_keeps_the_floor_and_passes_required_groups() -> None:
    assert check(waf_required_managed_groups, acl_props(mode="count"), mode="count") == []


def test_allowlist_only_web_acl_needs_no_rate_limit_or_managed_groups() -> None:
    waf = {"default_action": "block", "ip_allowlist": OFFICE, "rate_limits": []}
    props = acl_props(**waf)
    assert check(waf_required_managed_groups, props, **waf) == []
    assert check(waf_rate_based_rule, props, **waf) == []
    assert check(waf_allowlist_only_allows, props, **waf) == []


def test_allowlist_only_web_acl_without_an_allow_rule_fails() -> None:
    waf = {"default_action": "block", "ip_allowlist": OFFICE, "rate_limits": []}
    props = {**acl_props(**waf), "ruleJson": "[]"}
    (found,) = check(waf_allowlist_only_allows, props, **waf)
    assert "blocks by default and allows nothing" in found


def test_a_default_allow_web_acl_is_not_judged_by_the_allowlist_policy() -> None:
    assert check(waf_allowlist_only_allows, {**acl_props(), "ruleJson": "[]"}) == []
