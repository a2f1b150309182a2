"""The cost estimate of a plan: each driver's quantity, price and arithmetic.

Stacks are planned by the real program under mocks; the estimate reads the plan JSON, as
``guard plan --format json`` writes it. A price book with a distinct price per key (``BOOK``)
shows that each line uses its own price: a driver priced with another's would give another sum.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from guard.config import ConfigError, load_stack_config, load_stack_file
from guard.config.costs import CostsConfig
from guard.costs import CostLine, Estimate, apply_free_tiers, assumptions_of
from guard.costs_drivers import estimate
from guard.plan import run_program
from guard.prices import PriceBook, load_price_book, parse_price_book
from guard.report import render_json
from guard.waf_rules import INCLUDED_WCU
from tests.conftest import ROOT, TODAY, alb_arn, load, minimal_product, raw_config
from tests.guard.diff_plans import ALERTS

REGIONS = ("ap-northeast-1", "us-east-1")


def _distinct_book() -> PriceBook:
    """guard's price book with every key priced differently (and the real free tiers)."""
    real = load_price_book()
    prices: dict[str, Any] = {}
    for index, (key, by_region) in enumerate(sorted(real.prices.items()), start=1):
        first = next(iter(by_region.values()))
        prices[key] = {
            "service": first.service,
            "description": first.description,
            "unit": first.unit,
            "per": first.per,
            "kind": first.kind,
            "free_per_month": first.free_per_month,
            "regions": {
                region: {
                    "price": index * 1.5 + (0.25 if region == "us-east-1" else 0),
                    "effective": "2026-01-01",
                    "source": "test",
                    "confirmed": True,
                }
                for region in REGIONS
            },
        }
    return parse_price_book({"currency": "USD", "refreshed": "test", "prices": prices})


BOOK = _distinct_book()


def plan_json(aws_region: str | None = None, **sections: Any) -> dict[str, Any]:
    raw = raw_config(**sections)
    if aws_region is not None:
        raw["aws:region"] = aws_region
    loaded = load_stack_config(raw, "test.yaml", today=TODAY)
    document: dict[str, Any] = json.loads(render_json(run_program(loaded, "test")))
    document["config"] = loaded.config
    return document


def estimate_of(document: dict[str, Any], book: PriceBook = BOOK) -> Estimate:
    return estimate(document["resources"], document["annotations"], document["config"].costs, book)


def lines(est: Estimate, **fields: Any) -> list[CostLine]:
    return [line for line in est.lines if all(getattr(line, k) == v for k, v in fields.items())]


def one(est: Estimate, **fields: Any) -> CostLine:
    found = lines(est, **fields)
    assert len(found) == 1, [f"{x.price_key} {x.resource} {x.what}" for x in est.lines]
    return found[0]


def unit_price(key: str, region: str = "ap-northeast-1") -> float:
    price = BOOK.get(key, region)
    assert price is not None
    return price.amount / price.per


def test_a_web_acl_costs_its_fee_each_rule_by_kind_and_the_requests_its_product_assumes() -> None:
    product = minimal_product("store")
    product["waf"]["rate_limits"].append({"name": "search", "limit": 500, "path": "/search"})
    document = plan_json(
        products=[product], costs={"requests_per_month": {"default": 5_000_000, "store": 7_000_000}}
    )
    est = estimate_of(document)
    acl = one(est, price_key="waf.web_acl").resource
    rules = json.loads(
        next(r for r in document["resources"] if r["name"] == acl)["inputs"]["ruleJson"]
    )
    managed = sum(1 for r in rules if "ManagedRuleGroupStatement" in r["Statement"])

    assert one(est, price_key="waf.web_acl").monthly == pytest.approx(unit_price("waf.web_acl"))
    rate = one(est, price_key="waf.rule", what="rate-based rules")
    assert rate.quantity == 2
    assert rate.monthly == pytest.approx(2 * unit_price("waf.rule"))
    assert one(est, price_key="waf.rule", what="managed rule groups").quantity == managed > 0
    requests = one(est, price_key="waf.requests")
    assert (requests.quantity, requests.assumption) == (7_000_000, "requests_per_month.store")
    assert requests.monthly == pytest.approx(7_000_000 * unit_price("waf.requests"))
    assert requests.kind == "usage" and rate.kind == "fixed"
    assert all(line.product == "store" for line in lines(est, area="waf"))


def test_capacity_above_1500_wcu_is_billed_per_block_of_500_on_every_request() -> None:
    heavy = minimal_product(
        "store",
        managed_rules=[
            {"name": name}
            for name in ("common", "known-bad-inputs", "sqli", "linux", "windows", "php")
        ],
    )
    document = plan_json(products=[heavy])
    wcu = next(iter(document["annotations"].values()))["wcu"]
    assert wcu > INCLUDED_WCU
    line = one(estimate_of(document), price_key="waf.wcu_above_included")
    blocks = math.ceil((wcu - INCLUDED_WCU) / 500)
    assert line.quantity == 10_000_000 * blocks
    assert line.monthly == pytest.approx(line.quantity * unit_price("waf.wcu_above_included"))
    assert f"{wcu:,} WCU" in line.what


def test_below_1500_wcu_there_is_no_capacity_line() -> None:
    est = estimate_of(plan_json())
    assert lines(est, price_key="waf.wcu_above_included") == []


SHIELDED: dict[str, Any] = {
    "shield": {"subscription": "existing"},
    "alerts": ALERTS,
}


def test_shield_advanced_includes_the_waf_fees_of_the_resources_it_protects() -> None:
    document = plan_json(**SHIELDED, costs={"data_transfer_out_gb_per_month": {"default": 40}})
    est = estimate_of(document)
    assert lines(est, price_key="waf.web_acl") == []
    protected = one(est, price_key="waf.shield_protected_web_acl")
    assert protected.note == "included in Shield Advanced for protected resources"
    transfer = one(est, price_key="shield.data_transfer_out_alb")
    assert (transfer.quantity, transfer.product) == (40, "store")
    assert transfer.monthly == pytest.approx(40 * unit_price("shield.data_transfer_out_alb"))


def test_the_shield_subscription_is_a_commitment_shown_apart_from_the_stack_total() -> None:
    est = estimate_of(plan_json(**SHIELDED))
    subscription = one(est, price_key="shield.subscription")
    assert subscription.kind == "commitment" and not subscription.counted
    assert subscription.product is None and subscription.resource == "organisation"
    assert est.total() == pytest.approx(sum(line.monthly for line in est.counted))
    assert subscription.monthly > 0
    assert est.total("commitment") == pytest.approx(subscription.monthly)
    assert est.total() == pytest.approx(est.total("fixed") + est.total("usage"))
    assert "subscription" not in json.dumps(est.to_json()["by_area"])


def test_a_stack_without_shield_has_no_commitment() -> None:
    assert lines(estimate_of(plan_json()), price_key="shield.subscription") == []


def test_bot_control_costs_its_subscription_and_the_requests_it_analyses_past_the_free_tier() -> (
    None
):
    products = [
        minimal_product(name, managed_rules=[{"name": "bot-control"}]) for name in ("shop", "store")
    ]
    est = estimate_of(
        plan_json(products=products, costs={"requests_per_month": {"default": 8_000_000}})
    )
    subscriptions = lines(est, price_key="waf.bot_control_common")
    assert [line.quantity for line in subscriptions] == [1, 1]
    analysed = lines(est, price_key="waf.bot_control_common_requests")
    free = BOOK.get("waf.bot_control_common_requests", "ap-northeast-1")
    assert free is not None and free.free_per_month == 10_000_000
    # One free tier for the account and region: 10 M of the 16 M, used by the first web ACL.
    assert [line.free for line in analysed] == [8_000_000, 2_000_000]
    assert sum(line.monthly for line in analysed) == pytest.approx(
        6_000_000 * unit_price("waf.bot_control_common_requests")
    )


def test_free_tiers_are_shared_per_price_and_region_in_line_order() -> None:
    price = BOOK.get("sns.publishes", "ap-northeast-1")
    assert price is not None
    make = lambda quantity, region: CostLine(  # noqa: E731 - a two-argument line factory
        "alerts", None, "topic", "sns.publishes", region, "x", quantity, "usage", price
    )
    out = apply_free_tiers([make(600_000, "a"), make(600_000, "a"), make(600_000, "b")])
    assert [line.free for line in out] == [600_000, 400_000, 600_000]


def test_a_region_without_prices_gives_unpriced_lines_never_a_guessed_zero() -> None:
    region = "eu-west-1"
    product = minimal_product("store")
    product["endpoints"][0]["arn"] = alb_arn("store-web", region=region)
    document = plan_json(aws_region=region, products=[product])
    est = estimate_of(document, load_price_book())
    unpriced = lines(est, price_key="waf.web_acl")
    assert unpriced and unpriced[0].price is None
    assert "no price for eu-west-1" in unpriced[0].formula()
    assert est.to_json()["prices"]["unpriced_lines"] == len(est.unpriced) > 0


def test_logs_cost_firehose_by_each_regions_share_storage_by_lifecycle_and_athena_scans() -> None:
    document = plan_json(
        logs={"bucket": "aws-waf-logs-store", "retention_days": 400, "archive_after_days": 90},
        costs={"waf_log_gb_per_month": 60, "log_compression_ratio": 12},
    )
    est = estimate_of(document)
    streams = lines(est, price_key="firehose.ingestion")
    assert sum(line.quantity for line in streams) == pytest.approx(60)
    stored = [line for line in est.lines if line.price_key.startswith("s3.")]
    # Steady state: 5 GB a month stored (60 / 12), 400 days kept: 5 / 30 x 400 GB-months.
    assert sum(line.quantity for line in stored) == pytest.approx(5 / 30 * 400)
    assert {line.price_key for line in stored} == {"s3.standard", "s3.glacier_ir"}
    assert one(est, price_key="s3.standard").quantity == pytest.approx(5 / 30 * 90)
    athena = one(est, price_key="athena.scanned")
    assert athena.quantity == CostsConfig().athena_tb_scanned_per_month


def test_detection_costs_follow_the_stated_assumptions() -> None:
    document = plan_json(
        alerts=ALERTS,
        detection={},
        costs={"cloudtrail_events_per_month": 3_000_000, "security_checks_per_month": 2_000},
    )
    est = estimate_of(document)
    events = one(est, price_key="guardduty.cloudtrail_events")
    assert events.quantity == 3_000_000
    assert events.monthly == pytest.approx(3_000_000 * unit_price("guardduty.cloudtrail_events"))
    checks = one(est, price_key="securityhub.checks")
    assert (checks.quantity, checks.assumption) == (2_000, "security_checks_per_month")


def test_every_function_alarm_and_key_of_the_plan_has_a_line() -> None:
    document = plan_json(alerts=ALERTS, detection={}, shield={"subscription": "existing"})
    est = estimate_of(document)
    for type_token, key in (
        ("aws:lambda/function:Function", "lambda.requests"),
        ("aws:cloudwatch/metricAlarm:MetricAlarm", "cloudwatch.alarm"),
        ("aws:kms/key:Key", "kms.key"),
    ):
        declared = [r for r in document["resources"] if r["type"] == type_token]
        assert len(lines(est, price_key=key)) == len(declared) > 0


def test_a_functions_duration_is_its_invocations_times_seconds_times_memory_in_gb() -> None:
    document = plan_json(
        alerts=ALERTS,
        detection={},
        costs={"function_invocations_per_month": 3_000, "function_seconds_per_invocation": 2.5},
    )
    est = estimate_of(document)
    functions = {
        r["inputs"]["name"]: r["inputs"]["memorySize"]
        for r in document["resources"]
        if r["type"] == "aws:lambda/function:Function"
    }
    for name, memory in functions.items():
        duration = one(est, price_key="lambda.duration", resource=name)
        assert duration.quantity == pytest.approx(3_000 * 2.5 * memory / 1024)
        price = unit_price("lambda.duration", duration.region)
        assert duration.monthly == pytest.approx(duration.quantity * price)
        assert one(est, price_key="lambda.requests", resource=name).quantity == 3_000


def test_the_estimate_is_deterministic_and_its_json_states_every_assumption() -> None:
    costs = {"requests_per_month": {"default": 1_000_000, "store": 2_000_000}}
    first = estimate_of(plan_json(costs=costs)).to_json()
    second = estimate_of(plan_json(costs=costs)).to_json()
    assert json.dumps(first) == json.dumps(second)
    assumptions = first["assumptions"]
    assert assumptions["requests_per_month"] == {
        "value": {"default": 1_000_000, "store": 2_000_000},
        "source": "guard:costs",
    }
    assert assumptions["waf_log_gb_per_month"]["source"] == "default"
    assert set(assumptions) == set(CostsConfig.model_fields)


def test_recorded_assumptions_read_back_as_the_stacks_choices() -> None:
    document = plan_json(costs={"findings_per_month": 77})
    est = estimate_of(document)
    config = assumptions_of({"costs": est.to_json()})
    assert config is not None
    assert config.findings_per_month == 77 and config.model_fields_set == {"findings_per_month"}
    assert assumptions_of({"resources": []}) is None


@pytest.mark.parametrize(
    ("costs", "message"),
    [
        ({"requests_per_month": {"store": 5}}, "must have a 'default' entry"),
        ({"requests_per_month": {"default": 5, "stroe": 5}}, "did you mean store"),
        ({"currency": "EUR"}, "'USD'"),
        ({"requests_per_month": {"default": -1}}, "greater than or equal to 0"),
        ({"review_above": "a lot"}, "valid number"),
        ({"colour": "red"}, "unknown key"),
    ],
)
def test_bad_cost_assumptions_are_config_errors_naming_the_key(
    costs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load(costs=costs)
    rendered = caught.value.render()
    assert "guard:costs" in rendered and message in rendered


def test_a_hand_edited_plan_with_a_parent_cycle_is_estimated_without_hanging() -> None:
    resources: list[dict[str, Any]] = [
        {"urn": "a", "type": "aws:kms/key:Key", "name": "a", "parent": "b", "region": "us-east-1"},
        {"urn": "b", "type": "guard:logs:WafLogs", "name": "b", "parent": "a", "region": None},
    ]
    est = estimate(resources, {}, CostsConfig(), BOOK)
    assert [(line.price_key, line.area) for line in est.lines] == [("kms.key", "logs")]


def test_an_organization_stack_pays_per_firewall_manager_policy_and_names_the_members_bills() -> (
    None
):
    path = ROOT / "examples" / "organization" / "stacks" / "Pulumi.org.yaml"
    loaded = load_stack_file(path, today=TODAY)
    document = json.loads(render_json(run_program(loaded, "org")))
    est = estimate(document["resources"], document["annotations"], loaded.config.costs, BOOK)
    policies = [r for r in document["resources"] if r["type"] == "aws:fms/policy:Policy"]
    fms = lines(est, price_key="fms.policy")
    assert len(fms) == len(policies) > 0
    # Each policy at its own region's price (the distinct book prices us-east-1 higher).
    assert sum(line.monthly for line in fms) == pytest.approx(
        sum(unit_price("fms.policy", line.region) for line in fms)
    )
    assert str(one(est, price_key="shield.subscription").note).startswith("Firewall Manager's")
    assert any("member accounts' own charges" in note for note in est.notes)


def test_a_web_acl_a_tuner_shares_counts_guards_rules_and_says_the_tuners_are_not_counted() -> None:
    product = minimal_product("store", tuner={"service": "wafcharm"})
    document = plan_json(products=[product])
    assert any(r["type"] == "aws:wafv2/webAclRule:WebAclRule" for r in document["resources"])
    est = estimate_of(document)
    # guard's rules are WebAclRule resources under the shared web ACL: still counted by kind.
    assert one(est, price_key="waf.rule", what="rate-based rules").quantity == 1
    assert any("a tuning service's own rules" in note for note in est.notes)


def test_a_protection_whose_arn_has_no_region_is_priced_in_the_global_region() -> None:
    resources: list[dict[str, Any]] = [
        {
            "urn": "p",
            "type": "aws:shield/protection:Protection",
            "name": "p",
            "parent": None,
            "region": "us-east-1",
            "inputs": {"resourceArn": "arn:aws:elasticloadbalancing"},
        }
    ]
    est = estimate(resources, {}, CostsConfig(), BOOK)
    assert one(est, price_key="shield.data_transfer_out_alb").region == "us-east-1"
