"""``waf.tuner``, ``guard:waf_tuner`` and ``guard:tuners``: defaults, inheritance and every
config error a tuner's band can cause."""

from __future__ import annotations

from typing import Any

import pytest

from guard.config import ConfigError
from guard.config.loader import load_stack_config
from tests.conftest import TODAY, load, minimal_product, raw_config

ACCESS = {"principal": "arn:aws:iam::123456789012:root", "external_id": {"secure": "v1:x"}}


def errors(**sections: Any) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load(**sections)
    # One rendered line per problem: "<file>: <key path> = <value>: <message>".
    return [line.strip() for line in str(caught.value).splitlines()[1:]]


def test_wafcharm_defaults_follow_its_documented_layout() -> None:
    waf = load(products=[minimal_product(tuner={"service": "wafcharm"})]).config.products[0].waf
    assert waf.tuner is not None
    assert (waf.tuner.rule_prefix, waf.tuner.wcu) == ("wafcharm-", 1100)
    assert (waf.tuner.priorities.start, waf.tuner.priorities.end) == (100, None)
    assert waf.tuner.after_band == []


def test_other_tuner_puts_managed_groups_after_its_band() -> None:
    tuner = {"service": "other", "rule_prefix": "tuned-", "wcu": 500}
    waf = load(products=[minimal_product(tuner=tuner)]).config.products[0].waf
    assert waf.tuner is not None and waf.tuner.after_band == ["managed-groups", "external-groups"]
    assert waf.tuner.priorities.describe() == "100-999"


def test_a_stack_tuner_is_inherited_unless_a_waf_says_otherwise() -> None:
    products = [
        {
            **minimal_product("shop"),
            "waf_profiles": {"quiet": {"tuner": None}, "static": {}},
            "endpoints": [
                {
                    "name": "web",
                    "kind": "alb",
                    "arn": minimal_product("shop")["endpoints"][0]["arn"],
                }
            ],
        },
        minimal_product(
            "admin",
            default_action="block",
            ip_allowlist=[{"cidr": "198.51.100.0/28", "reason": "office"}],
            rate_limits=[],
        ),
    ]
    config = load(
        products=products, waf_tuner={"service": "wafcharm"}, tuners={"wafcharm": ACCESS}
    ).config
    shop, admin = config.products
    assert shop.waf.tuner is not None and shop.waf_profiles["static"].tuner is not None
    assert shop.waf_profiles["quiet"].tuner is None  # null: none, even with a stack tuner
    assert admin.waf.tuner is None  # allowlist-only: nothing for a tuner to see


def test_plaintext_external_id_is_refused() -> None:
    (message,) = errors(tuners={"wafcharm": {**ACCESS, "external_id": "abc123"}})
    assert "guard:tuners.wafcharm.external_id" in message and "Pulumi secret" in message


def test_plaintext_is_accepted_when_the_engine_holds_the_key_as_a_secret() -> None:
    # A running `pulumi up` receives the decrypted value, with the key marked secret.
    raw = raw_config(tuners={"wafcharm": {**ACCESS, "external_id": "abc123"}})
    loaded = load_stack_config(raw, "t", secret_keys=["guard:tuners"], today=TODAY)
    assert loaded.config.tuners["wafcharm"].external_id == "abc123"


def test_band_too_narrow_for_guards_rules() -> None:
    tuner = {"service": "wafcharm", "priorities": {"from": 1}}
    (message,) = errors(products=[minimal_product(tuner=tuner)])
    assert "guard:products[0].waf.tuner.priorities.from" in message
    assert "only 1 priorities are free" in message


def test_guard_rule_named_with_the_tuners_prefix() -> None:
    tuner = {"service": "other", "rule_prefix": "rate-", "wcu": 100}
    (message,) = errors(products=[minimal_product(tuner=tuner)])
    assert "waf.tuner.rule_prefix" in message and "rate-login" in message


def test_guard_and_tuner_wcu_over_the_limit() -> None:
    tuner = {"service": "wafcharm", "wcu": 4500}
    (message,) = errors(products=[minimal_product(tuner=tuner)])
    assert "reserved for the wafcharm-* rules" in message and "5000" in message


def test_over_the_included_wcu_is_a_warning() -> None:
    loaded = load(
        products=[minimal_product(tuner={"service": "wafcharm"})], tuners={"wafcharm": ACCESS}
    )
    assert any("1100 reserved for the wafcharm-* rules" in w for w in loaded.warnings)


def test_after_band_needs_an_upper_end() -> None:
    tuner = {"service": "wafcharm", "after_band": ["managed-groups"]}
    (message,) = errors(products=[minimal_product(tuner=tuner)])
    assert "has no upper end" in message


def test_band_ends_must_be_ordered() -> None:
    tuner = {
        "service": "other",
        "rule_prefix": "t-",
        "wcu": 10,
        "priorities": {"from": 50, "to": 10},
    }
    (message,) = errors(products=[minimal_product(tuner=tuner)])
    assert "must not be below 'from'" in message


def test_unknown_keys_in_a_tuner_are_errors() -> None:
    (message,) = errors(products=[minimal_product(tuner={"service": "wafcharm", "prefix": "x-"})])
    assert "waf.tuner.prefix" in message


def test_a_tuner_without_a_role_and_a_role_without_a_tuner_warn() -> None:
    no_role = load(products=[minimal_product(tuner={"service": "wafcharm"})])
    assert any("guard:tuners.wafcharm is not declared" in w for w in no_role.warnings)
    idle = load(tuners={"wafcharm": ACCESS})
    assert any("the role can edit nothing" in w for w in idle.warnings)


def test_extra_statements_may_not_reuse_guards_sids() -> None:
    extra = {
        "Sid": "TuneWebAcls",
        "Effect": "Allow",
        "Action": "wafv2:ListWebACLs",
        "Resource": "*",
    }
    (message,) = errors(
        products=[minimal_product(tuner={"service": "wafcharm"})],
        tuners={"wafcharm": {**ACCESS, "statements": [extra]}},
    )
    assert (
        "guard:tuners.wafcharm.statements[0].Sid" in message
        and "IAM needs each Sid once" in message
    )
