"""guard's rules survive the trip to ``WebAclRule`` inputs and back, in the provider's names."""

from __future__ import annotations

import re
from typing import Any

import pulumi_aws.wafv2._inputs as waf_inputs
import pytest

from guard.aws_model import request_errors
from guard.config.stack import StackConfig
from guard.waf_rule_form import from_inputs, to_inputs
from guard.waf_rules import Rule, web_acls_for
from tests.conftest import load, minimal_product

_REFERENCE = re.compile(r"'(\w+ArgsDict)'")


def _unknown_keys(value: Any, typed_dict: type, path: str) -> list[str]:
    """Keys of ``value`` that the provider's input type does not declare, recursively."""
    found = []
    hints = typed_dict.__annotations__
    for key, item in value.items():
        if key not in hints:
            found.append(f"{path}.{key}")
            continue
        match = _REFERENCE.search(str(hints[key]))
        if match is None:
            continue
        child = getattr(waf_inputs, match.group(1))
        items = item if isinstance(item, list) else [item]
        for index, element in enumerate(items):
            if isinstance(element, dict):
                found += _unknown_keys(element, child, f"{path}.{key}[{index}]")
    return found


ROOT_TYPES = {
    "action": waf_inputs.WebAclRuleActionArgsDict,
    "override_action": waf_inputs.WebAclRuleOverrideActionArgsDict,
    "statement": waf_inputs.WebAclRuleStatementArgsDict,
    "visibility_config": waf_inputs.WebAclRuleVisibilityConfigArgsDict,
}


def _every_rule(config: StackConfig) -> list[Rule]:
    return [
        rule
        for product in config.products
        for spec in web_acls_for(product, "prod")
        for rule in spec.rules(
            {
                s.key: f"arn:aws:wafv2:ap-northeast-1:111111111111:regional/ipset/{s.name}/00000000-0000-4000-8000-000000000000"
                for s in spec.ip_sets
            }
        )
    ]


RICH_WAF: dict[str, Any] = {
    "managed_rules": [
        {
            "name": "common",
            "exclusions": [
                {
                    "rules": ["SizeRestrictions_BODY", "CrossSiteScripting_BODY"],
                    "paths": ["/upload", "/cms/"],
                }
            ],
        },
        {"name": "known-bad-inputs", "count_rules": ["Log4JRCE_QUERYSTRING"]},
        {"name": "bot-control"},
        {"name": "ip-reputation", "mode": "count"},
        {"vendor": "Vendor", "group": "Group", "wcu": 100, "version": "1.0"},
    ],
    "rate_limits": [
        {"name": "login", "limit": 100, "path": "/login"},
        {"name": "api", "limit": 2000, "key": "forwarded-ip", "action": "challenge"},
    ],
    "ip_blocklist": [
        {"cidr": "203.0.113.0/24", "reason": "abuse"},
        {"cidr": "2001:db8::/32", "reason": "abuse"},
    ],
    "ip_allowlist": [{"cidr": "198.51.100.0/28", "reason": "office"}],
}


@pytest.fixture(scope="module")
def rules() -> list[Rule]:
    found = _every_rule(load(products=[minimal_product(**RICH_WAF)]).config)
    kinds = {next(iter(r["Statement"])) for r in found}
    assert {
        "AndStatement",
        "RateBasedStatement",
        "ManagedRuleGroupStatement",
        "IPSetReferenceStatement",
    } <= kinds
    return found


def test_every_input_name_is_one_the_provider_declares(rules: list[Rule]) -> None:
    unknown = [
        key
        for rule in rules
        for name, value in to_inputs(rule).items()
        for key in _unknown_keys(value, ROOT_TYPES[name], name)
    ]
    assert unknown == []


def _engine_spelling(value: Any) -> Any:
    """What the engine records for Python inputs: snake_case keys in camelCase."""
    if isinstance(value, dict):
        return {
            re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), k): _engine_spelling(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_engine_spelling(v) for v in value]
    return value


def test_a_recorded_rule_reads_back_as_the_rule_guard_built(rules: list[Rule]) -> None:
    for rule in rules:
        recorded = {"name": rule["Name"], "priority": rule["Priority"], "webAclArn": "arn:x"}
        recorded.update(_engine_spelling(to_inputs(rule)))
        assert from_inputs(recorded) == rule


def test_a_rule_read_back_is_valid_for_aws(rules: list[Rule]) -> None:
    request = {
        "Name": "acl",
        "Scope": "REGIONAL",
        "DefaultAction": {"Allow": {}},
        "VisibilityConfig": {
            "SampledRequestsEnabled": True,
            "CloudWatchMetricsEnabled": True,
            "MetricName": "acl",
        },
        "Rules": [
            from_inputs(
                {"name": r["Name"], "priority": r["Priority"], **_engine_spelling(to_inputs(r))}
            )
            for r in rules
        ],
    }
    assert request_errors("wafv2", "CreateWebACL", request) == []


def test_a_key_aws_does_not_know_is_an_error() -> None:
    with pytest.raises(ValueError, match="no member 'bogus'"):
        from_inputs({"name": "r", "priority": 0, "statement": {"bogus": {}}})
