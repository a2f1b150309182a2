"""Every class of bad product/WAF input gets one clear error: key path, bad value, what is allowed."""

from __future__ import annotations

from typing import Any

import pytest

from guard.config import ConfigError
from tests.conftest import alb_arn, load, minimal_product


def problems(**sections: Any) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(**sections)
    return [p.render("test.yaml") for p in caught.value.problems]


def only_problem(**sections: Any) -> str:
    found = problems(**sections)
    assert len(found) == 1, found
    return found[0]


def with_waf(**waf: Any) -> list[dict[str, Any]]:
    return [minimal_product(**waf)]


def test_minimal_stack_is_valid() -> None:
    loaded = load()
    assert loaded.config.products[0].name == "store"
    # Default managed groups when none are listed, in AWS evaluation order.
    assert [m.name for m in loaded.config.products[0].waf.managed_rules] == [
        "common",
        "known-bad-inputs",
        "sqli",
        "ip-reputation",
    ]


def test_unknown_top_level_key_lists_allowed_keys() -> None:
    message = only_problem(prodcuts=[])
    assert "guard:prodcuts" in message
    assert "unknown key" in message and "guard:products" in message


def test_unknown_nested_key_is_a_typo_error() -> None:
    message = only_problem(products=with_waf(rate_limit=[]))
    assert "guard:products[0].waf.rate_limit" in message
    assert "rate_limits" in message  # the allowed keys are listed


def test_wrong_type_names_path_and_value() -> None:
    product = minimal_product()
    product["waf"]["rate_limits"][0]["limit"] = "100"
    message = only_problem(products=[product])
    assert "guard:products[0].waf.rate_limits[0].limit = '100'" in message
    assert "integer" in message


@pytest.mark.parametrize("limit", [5, 3_000_000_000])
def test_rate_limit_outside_aws_limits(limit: int) -> None:
    product = minimal_product()
    product["waf"]["rate_limits"][0]["limit"] = limit
    message = only_problem(products=[product])
    assert "rate_limits[0].limit" in message
    assert "10" in message or "2000000000" in message


def test_unknown_window_and_action_list_allowed_values() -> None:
    product = minimal_product()
    product["waf"]["rate_limits"][0].update(window=30, action="deny")
    found = problems(products=[product])
    assert any("window = 30" in p and "60" in p and "600" in p for p in found)
    assert any("action = 'deny'" in p and "'captcha'" in p for p in found)


def test_duplicate_names() -> None:
    twice = [minimal_product("store"), minimal_product("store")]
    twice[1]["endpoints"][0]["arn"] = alb_arn("other")
    assert "duplicate product name" in only_problem(products=twice)
    product = minimal_product()
    product["waf"]["rate_limits"].append({"name": "login", "limit": 50})
    assert "rate_limits[1].name" in only_problem(products=[product])
    product = minimal_product(managed_rules=[{"name": "sqli"}, {"name": "sqli"}])
    assert "managed_rules[1].name" in only_problem(products=[product])


def test_same_endpoint_in_two_products() -> None:
    first, second = minimal_product("store"), minimal_product("shop")
    second["endpoints"][0]["arn"] = first["endpoints"][0]["arn"]
    assert "only one web ACL" in only_problem(products=[first, second])


def test_malformed_and_wrong_service_arns() -> None:
    product = minimal_product()
    product["endpoints"][0]["arn"] = "arn:aws:cloudfront::111111111111:distribution/E2EXAMPLE1"
    message = only_problem(products=[product])
    assert "endpoints[0].arn" in message and "Application Load Balancer ARN" in message
    product["endpoints"][0] = {"name": "cdn", "kind": "cloudfront", "arn": alb_arn()}
    assert "distribution ARN" in only_problem(products=[product])
    product["endpoints"][0] = {"name": "cdn", "kind": "edge", "arn": alb_arn()}
    assert "'alb' or 'cloudfront'" in problems(products=[product])[0]


def test_alb_in_another_region_or_account() -> None:
    product = minimal_product()
    product["endpoints"][0]["arn"] = alb_arn(region="us-west-2")
    message = only_problem(products=[product])
    assert "us-west-2" in message and "ap-northeast-1" in message
    product["endpoints"][0]["arn"] = alb_arn(account="222222222222")
    assert "guard:account_id" in only_problem(products=[product])


@pytest.mark.parametrize(
    ("cidr", "expected"),
    [
        ("203.0.113.5/24", "did you mean 203.0.113.0/24"),
        ("203.0.113.300/32", "IPv4 or IPv6 CIDR"),
        ("2001:db8::1/32", "did you mean 2001:db8::/32"),
        ("203.0.113.7", "prefix length"),
    ],
)
def test_invalid_cidrs(cidr: str, expected: str) -> None:
    product = minimal_product(ip_blocklist=[{"cidr": cidr, "reason": "abuse seen in logs"}])
    message = only_problem(products=[product])
    assert "ip_blocklist[0].cidr" in message and expected in message


def test_blocklist_overlapping_allowlist() -> None:
    product = minimal_product(
        ip_blocklist=[{"cidr": "198.51.100.0/24", "reason": "scanner range"}],
        ip_allowlist=[{"cidr": "198.51.100.10/32", "reason": "office"}],
    )
    message = only_problem(products=[product])
    assert "ip_blocklist[0].cidr" in message and "198.51.100.10/32" in message


def test_ipv4_and_ipv6_do_not_overlap_each_other() -> None:
    product = minimal_product(
        ip_blocklist=[{"cidr": "2001:db8::/32", "reason": "scanner range"}],
        ip_allowlist=[{"cidr": "198.51.100.10/32", "reason": "office"}],
    )
    assert load(products=[product]).config.products[0].waf.ip_blocklist[0].cidr == "2001:db8::/32"


def test_unknown_managed_group_and_rules() -> None:
    message = only_problem(products=[minimal_product(managed_rules=[{"name": "sql"}])])
    assert "managed_rules[0].name = 'sql'" in message and "sqli" in message
    bad_rule = [{"name": "sqli", "count_rules": ["SQLi_QUERYARGS"]}]
    message = only_problem(products=[minimal_product(managed_rules=bad_rule)])
    assert "count_rules[0]" in message and "SQLi_QUERYARGUMENTS" in message
    bad_exclusion = [{"name": "sqli", "exclusions": [{"rules": ["Nope"], "paths": ["/search"]}]}]
    message = only_problem(products=[minimal_product(managed_rules=bad_exclusion)])
    assert "exclusions[0].rules[0] = 'Nope'" in message


def test_exclusion_paths_must_be_paths() -> None:
    bad = [
        {"name": "sqli", "exclusions": [{"rules": ["SQLi_QUERYARGUMENTS"], "paths": ["search"]}]}
    ]
    message = only_problem(products=[minimal_product(managed_rules=bad)])
    assert "paths[0]" in message and "starting with '/'" in message


def test_marketplace_group_needs_vendor_group_and_wcu() -> None:
    bad = [{"vendor": "Cyber Security Cloud Inc.", "group": "HighSecurity OWASP Set"}]
    message = only_problem(products=[minimal_product(managed_rules=bad)])
    assert "vendor, group and wcu" in message


def test_web_acl_over_5000_wcu_is_an_error_and_over_1500_a_warning() -> None:
    big = [{"vendor": "Vendor", "group": f"Group{i}", "wcu": 1500} for i in range(4)]
    message = only_problem(products=[minimal_product(managed_rules=big)])
    assert "WCU" in message and "5000" in message
    loaded = load(products=[minimal_product(managed_rules=[*big[:1], {"name": "common"}])])
    assert any("over the 1500 included" in w for w in loaded.warnings)


def test_expired_blocklist_entry_is_a_warning() -> None:
    entry = {"cidr": "203.0.113.0/24", "reason": "campaign", "expires": "2026-01-01"}
    loaded = load(products=[minimal_product(ip_blocklist=[entry])])
    assert any("expired on 2026-01-01" in w for w in loaded.warnings)


def test_bad_date_is_explained() -> None:
    entry = {"cidr": "203.0.113.0/24", "reason": "campaign", "expires": "31/01/2027"}
    message = only_problem(products=[minimal_product(ip_blocklist=[entry])])
    assert "expires" in message and "YYYY-MM-DD" in message


def test_missing_region_and_bad_account() -> None:
    raw_problems = problems(account_id="1111")
    assert any("guard:account_id = '1111'" in p for p in raw_problems)


def test_policy_exception_needs_reason_and_expiry() -> None:
    exception = {"policy": "waf-rate-based-rule", "resource": "guard-*"}
    found = problems(policy_exceptions=[exception])
    assert any("policy_exceptions[0].reason" in p and "required" in p for p in found)
    assert any("policy_exceptions[0].expires" in p for p in found)


def test_label_spelling_and_case_of_a_rule_name_are_accepted() -> None:
    load(
        products=with_waf(
            managed_rules=[
                {"name": "common", "count_rules": ["CrossSiteScripting_QueryArguments"]},
                {"name": "sqli", "count_rules": ["sqli_queryarguments"]},
                {"name": "known-bad-inputs"},
                {"name": "ip-reputation"},
            ]
        )
    )


def test_a_misspelt_rule_name_gets_did_you_mean() -> None:
    found = only_problem(
        products=with_waf(
            managed_rules=[{"name": "common", "count_rules": ["CrossSiteScripting_QueryArgs"]}]
        )
    )
    assert "guard:products[0].waf.managed_rules[0].count_rules[0]" in found
    assert "(did you mean CrossSiteScripting_QUERYARGUMENTS or" in found


def test_a_misspelt_group_alias_gets_did_you_mean() -> None:
    found = only_problem(products=with_waf(managed_rules=[{"name": "knownbad-inputs"}]))
    assert "did you mean known-bad-inputs?" in found


def test_an_endpoints_waf_profile_must_exist() -> None:
    product = minimal_product("shop")
    product["endpoints"][0]["waf_profile"] = "statik"
    product["waf_profiles"] = {"static": {"rate_limits": [{"name": "assets", "limit": 20000}]}}
    found = only_problem(products=[product])
    assert "guard:products[0].endpoints[0].waf_profile = 'statik'" in found
    assert "did you mean static?" in found


def test_profile_errors_name_the_profile() -> None:
    product = minimal_product("shop")
    product["waf_profiles"] = {"static": {"managed_rules": [{"name": "nope"}]}}
    found = problems(products=[product])
    assert any("guard:products[0].waf_profiles.static.managed_rules[0].name" in p for p in found)


def test_an_unused_profile_is_a_warning() -> None:
    product = minimal_product("shop")
    product["waf_profiles"] = {"static": {"rate_limits": [{"name": "assets", "limit": 20000}]}}
    assert any(
        "profile static is used by no endpoint" in w for w in load(products=[product]).warnings
    )


def test_profile_and_product_web_acl_names_must_not_collide() -> None:
    shop = minimal_product("shop")
    shop["endpoints"][0]["waf_profile"] = "static"
    shop["waf_profiles"] = {"static": {"rate_limits": [{"name": "assets", "limit": 20000}]}}
    found = only_problem(products=[shop, minimal_product("shop-static")])
    assert "guard:products[1].name" in found and "guard-<stack>-shop-static-alb" in found


def test_allowlist_only_needs_an_allowlist() -> None:
    found = only_problem(products=with_waf(default_action="block"))
    assert "guard:products[0].waf.ip_allowlist" in found and "blocks every request" in found


def test_allowlist_only_defaults_to_no_managed_groups_and_warns_about_extra_rules() -> None:
    loaded = load(
        products=with_waf(
            default_action="block",
            ip_allowlist=[{"cidr": "198.51.100.0/28", "reason": "office"}],
        )
    )
    assert loaded.config.products[0].waf.managed_rules == []
    # minimal_product's login rate limit only sees requests the default action blocks anyway.
    assert any("only see requests outside the allowlist" in w for w in loaded.warnings)


def test_unknown_default_action_lists_the_allowed_values() -> None:
    found = only_problem(products=with_waf(default_action="deny"))
    assert "guard:products[0].waf.default_action" in found and "'allow' or 'block'" in found
