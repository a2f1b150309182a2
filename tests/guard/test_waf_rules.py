"""The rule builders: order, actions, the exclusion pattern, WCU counting and AWS's API model."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from guard.aws_model import request_errors
from guard.checks import create_web_acl_request
from guard.config.products import Product
from guard.waf_catalog import load_catalog
from guard.waf_rules import build_web_acl, statement_wcu, web_acls_for
from tests.conftest import alb_arn, load, minimal_product


def product(**waf: Any) -> Product:
    return load(products=[minimal_product(**waf)]).config.products[0]


def test_rules_in_stable_order_with_increasing_priorities() -> None:
    spec = build_web_acl(
        product(
            ip_allowlist=[{"cidr": "198.51.100.10/32", "reason": "office"}],
            ip_blocklist=[
                {"cidr": "203.0.113.0/24", "reason": "stuffing"},
                {"cidr": "2001:db8::/32", "reason": "scraping"},
            ],
            managed_rules=[
                {"name": "common"},
                {
                    "name": "sqli",
                    "exclusions": [{"rules": ["SQLi_QUERYARGUMENTS"], "paths": ["/search"]}],
                },
            ],
        ),
        "REGIONAL",
        "prod",
    )
    assert spec.rule_names() == [
        "allow-ipv4",
        "block-ipv4",
        "block-ipv6",
        "rate-login",
        "aws-common",
        "aws-sqli",
        "aws-sqli-exclusion-0",
    ]
    priorities = [r["Priority"] for r in spec.rules_template]
    assert priorities == sorted(set(priorities))


def test_empty_ip_sets_are_declared_but_not_referenced() -> None:
    spec = build_web_acl(product(), "REGIONAL", "prod")
    assert {s.key for s in spec.ip_sets} == {"allow-ipv4", "allow-ipv6", "block-ipv4", "block-ipv6"}
    assert not any(name.startswith(("allow", "block")) for name in spec.rule_names())


def test_exclusion_counts_the_rule_in_the_group_and_blocks_elsewhere_by_label() -> None:
    spec = build_web_acl(
        product(
            managed_rules=[
                {
                    "name": "sqli",
                    "exclusions": [{"rules": ["SQLi_QUERYARGUMENTS"], "paths": ["/search"]}],
                }
            ]
        ),
        "REGIONAL",
        "prod",
    )
    group, exclusion = spec.rules_template[1], spec.rules_template[2]
    overrides = group["Statement"]["ManagedRuleGroupStatement"]["RuleActionOverrides"]
    assert overrides == [{"Name": "SQLi_QUERYARGUMENTS", "ActionToUse": {"Count": {}}}]
    assert group["OverrideAction"] == {"None": {}}
    label, not_path = exclusion["Statement"]["AndStatement"]["Statements"]
    assert label == {
        "LabelMatchStatement": {
            "Scope": "LABEL",
            "Key": load_catalog()["sqli"].rule("SQLi_QUERYARGUMENTS").label,  # type: ignore[union-attr]
        }
    }
    match = not_path["NotStatement"]["Statement"]["ByteMatchStatement"]
    assert (match["SearchString"], match["PositionalConstraint"]) == ("/search", "STARTS_WITH")
    assert exclusion["Action"] == {"Block": {}}


def test_count_mode_counts_everything_but_the_floor_and_the_allowlist() -> None:
    spec = build_web_acl(
        product(
            mode="count",
            ip_allowlist=[{"cidr": "198.51.100.10/32", "reason": "office"}],
            ip_blocklist=[{"cidr": "203.0.113.0/24", "reason": "stuffing"}],
            managed_rules=[
                {
                    "name": "sqli",
                    "exclusions": [{"rules": ["SQLi_QUERYARGUMENTS"], "paths": ["/search"]}],
                },
                {"name": "known-bad-inputs"},
                {"name": "ip-reputation"},
            ],
        ),
        "REGIONAL",
        "prod",
    )
    actions = {r["Name"]: r.get("Action", r.get("OverrideAction")) for r in spec.rules_template}
    assert actions == {
        "allow-ipv4": {"Allow": {}},  # counting an allow rule would block the office
        "block-ipv4": {"Count": {}},
        "rate-login": {"Count": {}},
        "aws-sqli": {"Count": {}},
        "aws-known-bad-inputs": {"None": {}},  # the mandatory floor keeps blocking
        "aws-ip-reputation": {"None": {}},
        "aws-sqli-exclusion-0": {"Count": {}},
    }


def test_a_floor_group_counts_only_by_its_own_mode() -> None:
    spec = build_web_acl(
        product(
            mode="count",
            managed_rules=[
                {"name": "known-bad-inputs"},
                {"name": "ip-reputation", "mode": "count"},
            ],
        ),
        "REGIONAL",
        "prod",
    )
    actions = {r["Name"]: r.get("OverrideAction") for r in spec.rules_template}
    assert actions["aws-ip-reputation"] == {"Count": {}}
    assert actions["aws-known-bad-inputs"] == {"None": {}}


def test_rule_names_in_label_spelling_or_any_case_become_aws_names() -> None:
    spec = build_web_acl(
        product(
            managed_rules=[
                {
                    "name": "common",
                    "count_rules": ["sizerestrictions_body"],
                    "exclusions": [
                        {"rules": ["CrossSiteScripting_QueryArguments"], "paths": ["/search"]}
                    ],
                }
            ]
        ),
        "REGIONAL",
        "prod",
    )
    group = spec.rules_template[1]["Statement"]["ManagedRuleGroupStatement"]
    assert [o["Name"] for o in group["RuleActionOverrides"]] == [
        "SizeRestrictions_BODY",
        "CrossSiteScripting_QUERYARGUMENTS",
    ]


def test_profiles_get_their_own_web_acl_and_keep_the_products_names() -> None:
    config = load(
        products=[
            {
                **minimal_product("shop"),
                "endpoints": [
                    {"name": "web", "kind": "alb", "arn": alb_arn("shop-web")},
                    {
                        "name": "static",
                        "kind": "cloudfront",
                        "arn": "arn:aws:cloudfront::111111111111:distribution/E3EXAMPLE1",
                        "waf_profile": "static",
                    },
                    {
                        "name": "assets",
                        "kind": "alb",
                        "arn": alb_arn("shop-assets"),
                        "waf_profile": "static",
                    },
                ],
                "waf_profiles": {"static": {"rate_limits": [{"name": "assets", "limit": 20000}]}},
            }
        ]
    ).config
    specs = {s.name: s for s in web_acls_for(config.products[0], "prod")}
    assert {name: s.endpoints for name, s in specs.items()} == {
        "guard-prod-shop-alb": ("web",),
        "guard-prod-shop-static-alb": ("assets",),
        "guard-prod-shop-static-cf": ("static",),
    }
    static_rules = specs["guard-prod-shop-static-cf"].rule_names()
    assert "rate-assets" in static_rules and "rate-login" not in static_rules
    assert "rate-login" in specs["guard-prod-shop-alb"].rule_names()


def test_allowlist_only_web_acl_blocks_by_default_with_no_managed_groups() -> None:
    spec = build_web_acl(
        load(
            products=[
                {
                    **minimal_product("admin"),
                    "waf": {
                        "default_action": "block",
                        "ip_allowlist": [{"cidr": "198.51.100.0/28", "reason": "office"}],
                    },
                }
            ]
        ).config.products[0],
        "REGIONAL",
        "prod",
    )
    assert spec.default_action == "block"
    assert [r["Name"] for r in spec.rules_template] == ["allow-ipv4"]
    assert create_web_acl_request(spec, "ap-northeast-1", "111111111111")["DefaultAction"] == {
        "Block": {}
    }


def test_group_count_mode_and_count_rules() -> None:
    spec = build_web_acl(
        product(
            managed_rules=[
                {"name": "anonymous-ip", "mode": "count"},
                {"name": "common", "count_rules": ["SizeRestrictions_BODY"]},
            ]
        ),
        "REGIONAL",
        "prod",
    )
    anonymous, common = spec.rules_template[1], spec.rules_template[2]
    assert anonymous["OverrideAction"] == {"Count": {}}
    assert common["OverrideAction"] == {"None": {}}
    assert (
        common["Statement"]["ManagedRuleGroupStatement"]["RuleActionOverrides"][0]["Name"]
        == "SizeRestrictions_BODY"
    )


def test_rate_limit_shapes() -> None:
    spec = build_web_acl(
        product(
            rate_limits=[
                {
                    "name": "api",
                    "limit": 2000,
                    "window": 60,
                    "key": "forwarded-ip",
                    "action": "captcha",
                }
            ]
        ),
        "REGIONAL",
        "prod",
    )
    rule = spec.rules_template[0]
    statement = rule["Statement"]["RateBasedStatement"]
    assert statement == {
        "Limit": 2000,
        "EvaluationWindowSec": 60,
        "AggregateKeyType": "FORWARDED_IP",
        "ForwardedIPConfig": {"HeaderName": "X-Forwarded-For", "FallbackBehavior": "MATCH"},
    }
    assert rule["Action"] == {"Captcha": {}}


def test_wcu_counting() -> None:
    path_match = {
        "ByteMatchStatement": {
            "SearchString": "/x",
            "FieldToMatch": {"UriPath": {}},
            "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
            "PositionalConstraint": "STARTS_WITH",
        }
    }
    assert statement_wcu(path_match) == 2
    assert (
        statement_wcu({"RateBasedStatement": {"Limit": 10, "ScopeDownStatement": path_match}}) == 4
    )
    lowercase = copy.deepcopy(path_match)
    lowercase["ByteMatchStatement"]["TextTransformations"] = [{"Priority": 0, "Type": "LOWERCASE"}]
    lowercase["ByteMatchStatement"]["PositionalConstraint"] = "CONTAINS"
    assert statement_wcu(lowercase) == 20
    catalog = load_catalog()
    spec = build_web_acl(product(), "REGIONAL", "prod")
    expected = 4 + sum(
        catalog[a].wcu for a in ("common", "known-bad-inputs", "sqli", "ip-reputation")
    )
    assert spec.wcu == expected


def test_one_web_acl_per_scope() -> None:
    config = load(
        products=[
            {
                **minimal_product(),
                "endpoints": [
                    minimal_product()["endpoints"][0],
                    {
                        "name": "cdn",
                        "kind": "cloudfront",
                        "arn": "arn:aws:cloudfront::111111111111:distribution/E2EXAMPLE1",
                    },
                ],
            }
        ]
    ).config
    specs = web_acls_for(config.products[0], "prod")
    assert [(s.scope, s.name) for s in specs] == [
        ("REGIONAL", "guard-prod-store-alb"),
        ("CLOUDFRONT", "guard-prod-store-cf"),
    ]


def test_built_web_acls_pass_aws_api_model() -> None:
    loaded = load(
        products=[
            minimal_product(
                ip_blocklist=[{"cidr": "203.0.113.0/24", "reason": "stuffing"}],
                managed_rules=[
                    {"name": "common"},
                    {"name": "known-bad-inputs"},
                    {"name": "bot-control", "mode": "count", "count_until": "2027-01-01"},
                    {
                        "name": "sqli",
                        "exclusions": [
                            {"rules": ["SQLi_QUERYARGUMENTS"], "paths": ["/search", "/books"]}
                        ],
                    },
                ],
            )
        ]
    )
    spec = build_web_acl(loaded.config.products[0], "REGIONAL", "prod")
    assert (
        request_errors(
            "wafv2", "CreateWebACL", create_web_acl_request(spec, "ap-northeast-1", "111111111111")
        )
        == []
    )


def test_api_model_catches_a_misspelt_nested_key_and_bad_enum() -> None:
    spec = build_web_acl(
        product(
            managed_rules=[
                {
                    "name": "sqli",
                    "exclusions": [{"rules": ["SQLi_QUERYARGUMENTS"], "paths": ["/search"]}],
                }
            ]
        ),
        "REGIONAL",
        "prod",
    )
    request = create_web_acl_request(spec, "ap-northeast-1", "111111111111")
    broken = copy.deepcopy(request)
    exclusion = broken["Rules"][-1]["Statement"]["AndStatement"]["Statements"][1]["NotStatement"]
    exclusion["Statements"] = [exclusion.pop("Statement")]  # the classic typo
    errors = request_errors("wafv2", "CreateWebACL", broken)
    assert any("Statements" in e for e in errors)
    broken = copy.deepcopy(request)
    broken["Rules"][0]["Statement"]["RateBasedStatement"]["AggregateKeyType"] = "IP_ADDRESS"
    assert any(
        "IP_ADDRESS" in e and "FORWARDED_IP" in e
        for e in request_errors("wafv2", "CreateWebACL", broken)
    )


@pytest.mark.parametrize("alias", sorted(load_catalog()))
def test_every_catalog_group_builds_a_valid_request(alias: str) -> None:
    spec = build_web_acl(product(managed_rules=[{"name": alias}]), "REGIONAL", "prod")
    assert (
        request_errors(
            "wafv2", "CreateWebACL", create_web_acl_request(spec, "ap-northeast-1", "111111111111")
        )
        == []
    )
