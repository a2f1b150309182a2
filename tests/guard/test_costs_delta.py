"""What a pull request does to the monthly estimate: ``guard diff``'s costs and its drivers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from guard.costs_delta import cost_delta
from guard.diff import diff_documents
from guard.diff_model import PlanDocument
from guard.diff_render import render_markdown, render_text
from guard.policy_run import load_pull_request_policies
from guard.prices import load_price_book
from tests.conftest import minimal_product
from tests.guard.diff_plans import plan


def with_rate_rules(count: int, **costs: Any) -> PlanDocument:
    product = minimal_product("ebook")
    product["waf"]["rate_limits"] += [
        {"name": f"extra{i}", "limit": 100 + i, "path": f"/extra{i}"} for i in range(count)
    ]
    return plan(products=[product], **({"costs": costs} if costs else {}))


def rule_price() -> float:
    price = load_price_book().get("waf.rule", "ap-northeast-1")
    assert price is not None
    return price.amount


def test_adding_rules_raises_the_estimate_by_their_price_and_names_them_per_product() -> None:
    result = diff_documents(
        with_rate_rules(0), with_rate_rules(2), base_label="base", head_label="head"
    )
    costs = result.costs
    assert costs is not None
    assert costs.delta == pytest.approx(2 * rule_price())
    (change,) = costs.changes
    assert (change.product, change.driver, change.before_quantity, change.after_quantity) == (
        "ebook",
        "waf.rule",
        1,
        3,
    )
    assert "+2 rate-based rules" in costs.summary() and "on ebook" in costs.summary()
    assert costs.summary().startswith(f"+USD {2 * rule_price():.2f}/month")
    text = render_text(result)
    assert f"costs: +USD {2 * rule_price():.2f}/month" in text
    document = json.loads(json.dumps(result.to_json()))
    assert document["costs"]["delta"] == pytest.approx(2 * rule_price())
    assert document["costs"]["changes"][0]["driver"] == "waf.rule"


def test_an_unchanged_stack_has_no_cost_delta_and_no_costs_line() -> None:
    document = with_rate_rules(1)
    result = diff_documents(document, document, base_label="a", head_label="b")
    assert result.costs is not None and result.costs.changes == () and result.costs.delta == 0
    assert "costs:" not in render_text(result)
    assert "Costs" not in render_markdown(result)


def test_a_changed_assumption_alone_moves_the_estimate_and_says_why() -> None:
    base = with_rate_rules(0, requests_per_month={"default": 10_000_000})
    head = with_rate_rules(0, requests_per_month={"default": 30_000_000})
    result = diff_documents(base, head, base_label="a", head_label="b")
    assert result.status == "unchanged"  # no resource changed
    costs = result.costs
    assert costs is not None
    requests = load_price_book().get("waf.requests", "ap-northeast-1")
    assert requests is not None
    assert costs.delta == pytest.approx(20 * requests.amount)
    assert "requests inspected" in costs.summary() and "10,000,000 -> 30,000,000" in costs.summary()
    assert "**Costs**" in render_markdown(result)


def test_a_base_plan_without_costs_is_priced_with_the_heads_assumptions() -> None:
    head = with_rate_rules(1, requests_per_month={"default": 2_000_000})
    base = json.loads(json.dumps(head.plain()))
    del base["costs"]
    delta = cost_delta(base, head.plain())
    assert delta.delta == 0 and delta.changes == ()
    assert delta.notes == ("the base plan records no cost assumptions: the head's are used for it",)


def test_a_pack_without_pull_request_policies_runs_none(tmp_path: Path) -> None:
    pack = tmp_path / "oldpack"
    pack.mkdir()
    (pack / "__init__.py").write_text("def all_policies():\n    return []\n", encoding="utf-8")
    assert load_pull_request_policies(pack) == []
