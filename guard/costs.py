"""The monthly cost estimate of a plan: one line per cost driver, each a quantity times a price.

Read from the resources the program declared (a plan's JSON form: type, name, parent, region,
inputs, and the WAF annotations), the stack's usage assumptions (``guard:costs``) and the price
book (``guard/data/prices.yaml``); nothing here models the infrastructure a second time. Each
area's drivers are in :mod:`guard.costs_drivers`; this module holds the lines, the totals and
the free tiers; :func:`guard.costs_drivers.estimate` builds an estimate.

``fixed`` lines are monthly fees per resource, ``usage`` lines scale with an assumption, and the
``commitment`` (Shield Advanced's organisation-wide subscription) is shown apart and left out of
the stack's total: one organisation pays it once, however many stacks protect resources.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from guard.config.costs import CostsConfig
from guard.prices import Kind, Price, PriceBook

#: Where a line without a product belongs: resources the whole stack shares.
STACK_WIDE = "(stack)"


@dataclass(frozen=True)
class CostLine:
    """One cost driver: ``quantity`` units of ``price`` on one resource."""

    area: str
    product: str | None
    resource: str
    price_key: str
    region: str
    #: What is counted, in words ("rate-based rules", "requests inspected").
    what: str
    quantity: float
    kind: Kind
    price: Price | None
    #: The ``guard:costs`` figure the quantity comes from, if any.
    assumption: str | None = None
    #: Units of this line that the free tier covers.
    free: float = 0.0
    note: str | None = None

    @property
    def monthly(self) -> float:
        """USD a month: the billable quantity (after the free tier) at the price."""
        if self.price is None:
            return 0.0
        return max(self.quantity - self.free, 0.0) / self.price.per * self.price.amount

    @property
    def counted(self) -> bool:
        """Whether the line is part of the stack's total (a commitment is not)."""
        return self.kind != "commitment"

    def formula(self) -> str:
        """``12 x USD 1.00 per rule-month = USD 12.00``, the line's arithmetic."""
        if self.price is None:
            return f"{quantity_text(self.quantity)} x no price for {self.region}"
        free = f" - {quantity_text(self.free)} free" if self.free else ""
        return (
            f"{quantity_text(self.quantity)}{free} x {self.price.unit_text()} "
            f"= USD {self.monthly:,.2f}"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "area": self.area,
            "product": self.product,
            "resource": self.resource,
            "driver": self.price_key,
            "what": self.what,
            "region": self.region,
            "kind": self.kind,
            "quantity": self.quantity,
            "free": self.free,
            "unit_price": self.price.amount if self.price else None,
            "per": self.price.per if self.price else None,
            "unit": self.price.unit if self.price else None,
            "monthly": round(self.monthly, 2),
            "counted": self.counted,
            "assumption": self.assumption,
            "price": self.price.to_json() if self.price else None,
            "note": self.note,
        }


def quantity_text(value: float) -> str:
    """A quantity with thousands separators, without a trailing ``.0``."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.4f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class Estimate:
    """The estimate of one plan: its lines, what it could not price, and its assumptions."""

    lines: tuple[CostLine, ...]
    assumptions: CostsConfig
    price_book: PriceBook
    #: What costs money but has no line: rules a tuner adds, Marketplace groups, ...
    notes: tuple[str, ...] = ()

    @property
    def counted(self) -> list[CostLine]:
        return [line for line in self.lines if line.counted]

    def total(self, kind: Kind | None = None) -> float:
        """USD a month of the stack (commitments excluded), or of one kind."""
        if kind == "commitment":
            return sum(line.monthly for line in self.lines if not line.counted)
        return sum(line.monthly for line in self.counted if kind is None or line.kind == kind)

    def by(self, attribute: str) -> dict[str, float]:
        """Monthly totals by ``product`` or ``area``, in name order (``(stack)`` last)."""
        totals: dict[str, float] = defaultdict(float)
        for line in self.counted:
            totals[getattr(line, attribute) or STACK_WIDE] += line.monthly
        return dict(sorted(totals.items(), key=lambda item: (item[0] == STACK_WIDE, item[0])))

    @property
    def unpriced(self) -> list[CostLine]:
        return [line for line in self.lines if line.price is None]

    @property
    def unconfirmed(self) -> list[CostLine]:
        return [line for line in self.lines if line.price and not line.price.confirmed]

    def effective_range(self) -> tuple[str, str] | None:
        days = sorted({line.price.effective for line in self.lines if line.price})
        return (days[0], days[-1]) if days else None

    def to_json(self) -> dict[str, Any]:
        """The plan JSON's ``costs`` (README, "Plan JSON")."""
        days = self.effective_range()
        return {
            "currency": self.price_book.currency,
            "monthly_total": round(self.total(), 2),
            "fixed": round(self.total("fixed"), 2),
            "usage": round(self.total("usage"), 2),
            "commitments": [line.to_json() for line in self.lines if not line.counted],
            "by_product": {k: round(v, 2) for k, v in self.by("product").items()},
            "by_area": {k: round(v, 2) for k, v in self.by("area").items()},
            "lines": [line.to_json() for line in self.lines],
            "notes": list(self.notes),
            "assumptions": assumptions_json(self.assumptions),
            "prices": {
                "refreshed": self.price_book.refreshed,
                "effective_from": days[0] if days else None,
                "effective_to": days[1] if days else None,
                "unconfirmed_lines": len(self.unconfirmed),
                "unpriced_lines": len(self.unpriced),
            },
        }


def assumptions_json(config: CostsConfig) -> dict[str, Any]:
    """Each assumption with its value and whether it is guard's default or the stack's."""
    values = config.model_dump(mode="json")
    chosen = config.model_fields_set
    return {
        name: {"value": value, "source": "guard:costs" if name in chosen else "default"}
        for name, value in values.items()
    }


def assumptions_of(document: Mapping[str, Any]) -> CostsConfig | None:
    """The assumptions a plan JSON's ``costs`` recorded (None for a plan without costs).

    Only the values the stack chose are read back; the others are this guard's defaults.
    """
    recorded = (document.get("costs") or {}).get("assumptions")
    if not isinstance(recorded, Mapping):
        return None
    chosen = {
        name: item["value"]
        for name, item in recorded.items()
        if isinstance(item, Mapping) and item.get("source") == "guard:costs"
    }
    try:
        return CostsConfig.model_validate(chosen)
    except ValueError:
        return None


def apply_free_tiers(lines: Iterable[CostLine]) -> list[CostLine]:
    """Each price's free units a month, used up by its lines in order (per key and region)."""
    left: dict[tuple[str, str], float] = {}
    out: list[CostLine] = []
    for line in lines:
        if line.price is None or not line.price.free_per_month:
            out.append(line)
            continue
        slot = (line.price_key, line.region)
        remaining = left.get(slot, line.price.free_per_month)
        free = min(remaining, line.quantity)
        left[slot] = remaining - free
        out.append(replace(line, free=free))
    return out
