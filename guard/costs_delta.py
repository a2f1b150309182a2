"""What a change does to the monthly estimate: both plans priced alike, compared driver by driver.

Both sides are estimated here, from their resources, with this revision's price book, so that a
delta is what the change adds to the bill and never a price refresh. Each side keeps its own
usage assumptions (a plan JSON records them in ``costs.assumptions``); a plan written before
guard had costs has none, and the other side's are used for it, which is said.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from guard.config.costs import CostsConfig
from guard.costs import STACK_WIDE, CostLine, Estimate, assumptions_of, quantity_text
from guard.costs_drivers import estimate
from guard.prices import PriceBook, load_price_book, money_text

#: Drivers counted in things a reader can add up ("+2 rate-based rules"); the others are usage.
COUNTED_WHAT = ("waf.rule", "waf.shield_protected_rule")
#: How many driver phrases the one-line summary names before "and N more".
SUMMARY_DRIVERS = 4

LineKey = tuple[str, str, str, str, str]


def _key(line: CostLine) -> LineKey:
    what = line.what if line.price_key in COUNTED_WHAT else ""
    return (line.product or STACK_WIDE, line.area, line.resource, line.price_key, what)


@dataclass(frozen=True)
class CostChange:
    """One driver of one resource whose monthly amount changed."""

    product: str
    area: str
    resource: str
    driver: str
    what: str
    kind: str
    before_quantity: float
    after_quantity: float
    before_monthly: float
    after_monthly: float

    @property
    def delta(self) -> float:
        return self.after_monthly - self.before_monthly

    def phrase(self) -> str:
        """``+2 rate-based rules``, ``requests inspected 10,000,000 -> 50,000,000``."""
        if self.kind != "usage":
            change = self.after_quantity - self.before_quantity
            count = abs(change)
            what = self.what[:-1] if count == 1 and self.what.endswith("s") else self.what
            if self.driver.startswith("waf.shield_protected_"):
                what += " (included in Shield Advanced)"
            return f"{'+' if change > 0 else '-'}{quantity_text(count)} {what} ({self.resource})"
        return (
            f"{self.what} ({self.resource}) {quantity_text(self.before_quantity)} -> "
            f"{quantity_text(self.after_quantity)}"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "product": self.product,
            "area": self.area,
            "resource": self.resource,
            "driver": self.driver,
            "what": self.what,
            "kind": self.kind,
            "before_quantity": self.before_quantity,
            "after_quantity": self.after_quantity,
            "before_monthly": round(self.before_monthly, 2),
            "after_monthly": round(self.after_monthly, 2),
            "delta": round(self.delta, 2),
        }


def signed_usd(amount: float) -> str:
    """``+USD 21.00``, ``-USD 5.00``, ``USD 0.00``."""
    rounded = round(amount, 2)
    if rounded == 0:
        return "USD 0.00"
    return f"{'+' if rounded > 0 else '-'}USD {money_text(abs(rounded))}"


@dataclass(frozen=True)
class CostDelta:
    """The estimate's change from base to head, with the drivers that moved it."""

    base_total: float
    head_total: float
    changes: tuple[CostChange, ...]
    base_commitment: float
    head_commitment: float
    review_above: float
    notes: tuple[str, ...] = ()

    @property
    def delta(self) -> float:
        return self.head_total - self.base_total

    def by_product(self) -> list[tuple[str, float, list[CostChange]]]:
        """Products by the size of their change, each with its changes (largest first)."""
        grouped: dict[str, list[CostChange]] = defaultdict(list)
        for change in self.changes:
            grouped[change.product].append(change)
        out = [
            (product, sum(c.delta for c in items), sorted(items, key=lambda c: -abs(c.delta)))
            for product, items in grouped.items()
        ]
        return sorted(out, key=lambda item: (-abs(item[1]), item[0]))

    def drivers_text(self, limit: int = SUMMARY_DRIVERS) -> str:
        """The changed drivers in words, by product, those that move money first."""
        parts = []
        products = self.by_product()
        for product, total, items in products[:limit]:
            costly = [c for c in items if round(c.delta, 2)] or items
            phrases = " and ".join(c.phrase() for c in costly[:limit])
            more = len(items) - min(len(costly), limit)
            phrases += f" and {more} more" if more > 0 else ""
            parts.append(f"{phrases} on {product} ({signed_usd(total)})")
        rest = len(products) - limit
        return "; ".join(parts) + (f"; and changes on {rest} more" if rest > 0 else "")

    def summary(self) -> str:
        """One line: ``+USD 21.00/month (USD 69.06 -> USD 90.06): +2 rate-based rules ...``."""
        head = (
            f"{signed_usd(self.delta)}/month (USD {money_text(round(self.base_total, 2))} -> "
            f"USD {money_text(round(self.head_total, 2))})"
        )
        return f"{head}: {self.drivers_text()}" if self.changes else head

    @property
    def moved(self) -> bool:
        """Whether there is anything to show: a driver or the commitment changed."""
        return bool(self.changes) or self.commitment_line() is not None

    def commitment_line(self) -> str | None:
        """The organisation-wide commitment when it appears or goes (it is not in the total)."""
        if round(self.base_commitment, 2) == round(self.head_commitment, 2):
            return None
        return (
            f"Shield Advanced subscription (organisation-wide, one-year commitment): USD "
            f"{money_text(round(self.base_commitment, 2))} -> USD "
            f"{money_text(round(self.head_commitment, 2))} a month, not in the totals"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "currency": "USD",
            "base_monthly": round(self.base_total, 2),
            "head_monthly": round(self.head_total, 2),
            "delta": round(self.delta, 2),
            "review_above": self.review_above,
            "commitments": {
                "base_monthly": round(self.base_commitment, 2),
                "head_monthly": round(self.head_commitment, 2),
            },
            "changes": [c.to_json() for c in self.changes],
            "summary": self.summary(),
            "notes": list(self.notes),
        }


def _sums(est: Estimate) -> dict[LineKey, tuple[float, float, CostLine]]:
    """Quantity and monthly amount per driver of a resource (one line for each, of a kind)."""
    out: dict[LineKey, tuple[float, float, CostLine]] = {}
    for line in est.counted:
        quantity, monthly, _ = out.get(_key(line), (0.0, 0.0, line))
        out[_key(line)] = (quantity + line.quantity, monthly + line.monthly, line)
    return out


def compare_estimates(base: Estimate, head: Estimate, notes: Sequence[str] = ()) -> CostDelta:
    """The drivers whose monthly amount differs, largest change first."""
    before, after = _sums(base), _sums(head)
    changes: list[CostChange] = []
    for key in sorted(set(before) | set(after)):
        was_q, was_m, was_line = before.get(key, (0.0, 0.0, None))
        now_q, now_m, now_line = after.get(key, (0.0, 0.0, None))
        if round(was_m, 2) == round(now_m, 2) and was_q == now_q:
            continue
        line = now_line or was_line
        assert line is not None
        product, area, resource, driver, _ = key
        changes.append(
            CostChange(
                product, area, resource, driver, line.what, line.kind, was_q, now_q, was_m, now_m
            )
        )
    changes.sort(key=lambda c: (-abs(round(c.delta, 2)), c.product, c.resource, c.driver))
    return CostDelta(
        base.total(),
        head.total(),
        tuple(changes),
        base.total("commitment"),
        head.total("commitment"),
        head.assumptions.review_above,
        tuple(notes),
    )


def cost_delta(
    base: Mapping[str, Any],
    head: Mapping[str, Any],
    prices: PriceBook | None = None,
) -> CostDelta:
    """The delta between two plan JSON documents (``resources``, ``annotations``, ``costs``);
    a side that does not exist (a new or removed stack) is an empty document."""
    book = prices or load_price_book()
    notes: list[str] = []
    head_recorded, base_recorded = assumptions_of(head), assumptions_of(base)
    if head_recorded is None and base_recorded is None:
        if base.get("resources") or head.get("resources"):
            notes.append("neither plan records cost assumptions: guard's defaults are used")
    elif base_recorded is None and base.get("resources"):
        notes.append("the base plan records no cost assumptions: the head's are used for it")
    # A side without recorded assumptions takes the other side's, or guard's defaults.
    fallback = head_recorded or base_recorded or CostsConfig()
    base_config, head_config = base_recorded or fallback, head_recorded or fallback
    estimates = [
        estimate(list(doc.get("resources") or ()), doc.get("annotations") or {}, config, book)
        for doc, config in ((base, base_config), (head, head_config))
    ]
    return compare_estimates(estimates[0], estimates[1], notes)
