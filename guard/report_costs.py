"""The plan's costs section: the monthly estimate in text and markdown, every line traceable.

The estimate itself comes from :func:`guard.costs_drivers.estimate` over the plan's recorded
resources (the same JSON form ``guard plan --format json`` writes), so the text, markdown and
JSON of one plan agree, and ``guard diff`` estimates a plan file the same way.
"""

from __future__ import annotations

from typing import Any

from guard.config.costs import DEFAULT_KEY, CostsConfig
from guard.costs import STACK_WIDE, CostLine, Estimate, quantity_text
from guard.costs_drivers import estimate
from guard.plan import PlanResult
from guard.prices import PRICES_FILE, load_price_book, money_text
from guard.report_sections import md_text
from guard.report_waf import waf_annotations

#: The command that replaces the hand-kept prices with AWS's Price List.
REFRESH_COMMAND = "python scripts/refresh_prices.py"
PRICES_PATH = f"guard/{PRICES_FILE.parent.name}/{PRICES_FILE.name}"


def plan_estimate(
    plan: PlanResult,
    resources: list[dict[str, Any]] | None = None,
    annotations: dict[str, Any] | None = None,
) -> Estimate:
    """The estimate of a plan run, from its records as the plan JSON holds them (give them
    when they are at hand: the plan JSON builds both)."""
    return estimate(
        resources if resources is not None else [r.to_json() for r in plan.resources],
        annotations if annotations is not None else waf_annotations(plan),
        plan.loaded.config.costs,
        load_price_book(),
    )


def usd(amount: float) -> str:
    return f"USD {money_text(round(amount, 2))}"


def _headline(est: Estimate) -> str:
    return (
        f"about {usd(est.total())} a month for this stack "
        f"(fixed {usd(est.total('fixed'))}, usage {usd(est.total('usage'))})"
    )


def _prices_line(est: Estimate) -> str:
    days = est.effective_range()
    span = f"effective {days[0]} to {days[1]}" if days else "none used"
    unconfirmed = len(est.unconfirmed)
    flagged = (
        f"; {unconfirmed} line(s) marked * use a price not yet checked against AWS's Price List "
        f"(refresh: {REFRESH_COMMAND})"
        if unconfirmed
        else ""
    )
    return f"prices: {PRICES_PATH} ({est.price_book.refreshed}), {span}{flagged}"


def _commitments(est: Estimate) -> list[str]:
    return [
        f"{line.what}: {usd(line.monthly)} a month for the organisation, not in this stack's "
        f"total; {line.note}"
        for line in est.lines
        if not line.counted
    ]


def _per_product_text(values: dict[str, int]) -> str:
    others = [f"{k}: {quantity_text(v)}" for k, v in values.items() if k != DEFAULT_KEY]
    return ", ".join([f"{DEFAULT_KEY}: {quantity_text(values[DEFAULT_KEY])}", *others])


def assumption_items(config: CostsConfig) -> list[str]:
    """Each usage assumption with its value, marked when the stack set it."""
    items: list[str] = []
    for name, value in config.model_dump().items():
        if name in ("currency", "review_above"):
            continue
        shown = _per_product_text(value) if isinstance(value, dict) else quantity_text(value)
        origin = "guard:costs" if name in config.model_fields_set else "default"
        items.append(f"{name} = {shown} ({origin})")
    return items


def _line_text(line: CostLine) -> str:
    star = "*" if line.price and not line.price.confirmed else ""
    basis = f"; {line.assumption}" if line.assumption else ""
    note = f"; {line.note}" if line.note else ""
    return (
        f"{line.area:<12} {line.resource}: {line.what}: {line.formula()}{star} "
        f"[{line.kind}{basis}{note}]"
    )


def render_costs_text(est: Estimate) -> list[str]:
    out = [f"costs: {_headline(est)}"]
    out += [f"  not counted: {c}" for c in _commitments(est)]
    by_product = ", ".join(f"{k} {usd(v)}" for k, v in est.by("product").items())
    by_area = ", ".join(f"{k} {usd(v)}" for k, v in est.by("area").items())
    out += [f"  by product: {by_product or 'none'}", f"  by area: {by_area or 'none'}"]
    for product, total in est.by("product").items():
        out.append(f"  {product}: {usd(total)}")
        out += [
            f"    {_line_text(line)}"
            for line in est.counted
            if (line.product or STACK_WIDE) == product
        ]
    out += [f"  not estimated: {note}" for note in est.notes]
    out.append(f"  {_prices_line(est)}")
    out.append(f"  assumptions: {'; '.join(assumption_items(est.assumptions))}")
    return [*out, ""]


def _md_row(line: CostLine) -> str:
    star = "\\*" if line.price and not line.price.confirmed else ""
    unit = line.price.unit_text() if line.price else f"no price for {line.region}"
    free = f" - {quantity_text(line.free)} free" if line.free else ""
    basis = f" (`{line.assumption}`)" if line.assumption else ""
    note = f"; {md_text(line.note)}" if line.note else ""
    return (
        f"| {line.product or STACK_WIDE} | {line.area} | `{line.resource}` | "
        f"{md_text(line.what)}{basis} | {quantity_text(line.quantity)}{free} | {unit}{star} | "
        f"{money_text(round(line.monthly, 2))} | {line.kind}{note} |"
    )


def render_costs_markdown(est: Estimate) -> list[str]:
    out = [f"**Costs**: {_headline(est)}.", ""]
    out += [f"- Not counted: {md_text(c)}" for c in _commitments(est)]
    out.append("- By product: " + ", ".join(f"{k} {usd(v)}" for k, v in est.by("product").items()))
    out.append("- By area: " + ", ".join(f"{k} {usd(v)}" for k, v in est.by("area").items()))
    out += ["", f"<details><summary>{len(est.lines)} cost lines, assumptions and prices</summary>"]
    out += [
        "",
        "| product | area | resource | driver | quantity | unit price | USD/month | kind |",
        "|---|---|---|---|---:|---|---:|---|",
    ]
    out += [_md_row(line) for line in est.counted]
    out.append("")
    out += [f"- Not estimated: {md_text(note)}" for note in est.notes]
    out.append(f"- {md_text(_prices_line(est))}")
    out += ["- Assumptions: " + "; ".join(md_text(a) for a in assumption_items(est.assumptions))]
    return [*out, "", "</details>", ""]
