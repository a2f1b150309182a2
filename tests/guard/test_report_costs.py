"""The plan's costs section: the text, markdown and JSON of one plan say the same figures."""

from __future__ import annotations

import json
import re
from typing import Any

from guard.costs import STACK_WIDE
from guard.plan import run_program
from guard.report import render_json, render_markdown, render_text
from tests.conftest import load, minimal_product
from tests.guard.diff_plans import ALERTS


def _plan(**sections: Any) -> tuple[str, str, dict[str, Any]]:
    result = run_program(load(**sections), "test")
    return render_text(result), render_markdown(result), json.loads(render_json(result))


TEXT, MARKDOWN, DOCUMENT = _plan(
    products=[minimal_product("shop"), minimal_product("store")],
    alerts=ALERTS,
    detection={},
    shield={"subscription": "existing"},
    costs={"requests_per_month": {"default": 5_000_000, "shop": 20_000_000}},
)
COSTS: dict[str, Any] = DOCUMENT["costs"]


def test_the_headline_total_is_the_sum_of_the_counted_lines() -> None:
    counted = [line for line in COSTS["lines"] if line["counted"]]
    total = sum(line["monthly"] for line in counted)
    assert abs(COSTS["monthly_total"] - total) < 0.01 * len(counted)
    assert f"costs: about USD {COSTS['monthly_total']:,.2f} a month for this stack" in TEXT
    assert COSTS["monthly_total"] == round(COSTS["fixed"] + COSTS["usage"], 2)


def test_every_counted_line_is_printed_under_its_product_with_its_arithmetic() -> None:
    section = TEXT.split("costs: ", 1)[1].split("\n\n", 1)[0]
    for line in COSTS["lines"]:
        if not line["counted"]:
            continue
        product = line["product"] or STACK_WIDE
        block = section.split(f"\n  {product}: USD", 1)[1].split("\n  ", 1)[0]
        assert block  # the product's heading exists
        assert f"{line['resource']}: {line['what']}:" in section


def test_the_commitment_is_named_apart_and_not_in_the_total() -> None:
    (commitment,) = COSTS["commitments"]
    assert commitment["driver"] == "shield.subscription" and not commitment["counted"]
    assert "not counted: Shield Advanced subscription (one-year commitment)" in TEXT
    assert "shield.subscription" not in json.dumps([x for x in COSTS["lines"] if x["counted"]])


def test_assumptions_say_which_figures_are_defaults() -> None:
    assert "requests_per_month = default: 5,000,000, shop: 20,000,000 (guard:costs)" in TEXT
    assert "waf_log_gb_per_month = 50 (default)" in TEXT
    assert COSTS["assumptions"]["requests_per_month"]["source"] == "guard:costs"


def test_markdown_has_one_row_per_counted_line_and_folds_them() -> None:
    rows = re.findall(r"^\| (?:shop|store|\(stack\)) \|", MARKDOWN, re.M)
    assert len(rows) == sum(1 for line in COSTS["lines"] if line["counted"])
    assert MARKDOWN.index("**Costs**: about USD") < MARKDOWN.index("cost lines, assumptions")
    assert "<details><summary>" in MARKDOWN.split("**Costs**", 1)[1]


def test_unconfirmed_prices_are_marked() -> None:
    unconfirmed = COSTS["prices"]["unconfirmed_lines"]
    starred = sum(1 for line in COSTS["lines"] if line["price"] and not line["price"]["confirmed"])
    assert unconfirmed == starred
    if unconfirmed:
        assert f"{unconfirmed} line(s) marked * use a price not yet checked" in TEXT
