"""The unit prices the cost estimate multiplies by: ``guard/data/prices.yaml``, read and checked.

Each price is one AWS price in one region, with the day it took effect, where it came from and
whether that source was checked (``confirmed``). ``scripts/refresh_prices.py`` rewrites the file
from AWS's Price List API.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

PRICES_FILE = Path(__file__).parent / "data" / "prices.yaml"

Kind = Literal["fixed", "usage", "commitment"]
KINDS: tuple[Kind, ...] = ("fixed", "usage", "commitment")


class PriceBookError(ValueError):
    """The price file is not what guard expects (a bug in the file, not in a stack)."""


@dataclass(frozen=True)
class Price:
    """USD ``amount`` for ``per`` units of ``unit`` of one item in one region."""

    key: str
    region: str
    service: str
    description: str
    unit: str
    per: int
    kind: Kind
    amount: float
    effective: str
    source: str
    confirmed: bool
    #: Units a month AWS does not bill (per account and region).
    free_per_month: float = 0.0

    def unit_text(self) -> str:
        """``USD 0.60 per 1,000,000 requests``, ``USD 5.00 per web ACL-month``."""
        per = f"{self.per:,} {self.unit}s" if self.per != 1 else self.unit
        return f"USD {money_text(self.amount)} per {per}"

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "region": self.region,
            "amount": self.amount,
            "per": self.per,
            "unit": self.unit,
            "effective": self.effective,
            "source": self.source,
            "confirmed": self.confirmed,
        }


def money_text(amount: float) -> str:
    """An amount as people read it: two decimals, or every digit a unit price has (0.025)."""
    if round(amount, 2) == amount:
        return f"{amount:,.2f}"
    return f"{amount:,.10f}".rstrip("0")


@dataclass(frozen=True)
class PriceBook:
    """Every price, by key and region."""

    currency: str
    refreshed: str
    prices: dict[str, dict[str, Price]]

    def get(self, key: str, region: str) -> Price | None:
        """The price of ``key`` in ``region``; None when the file has none for that region."""
        if key not in self.prices:
            raise PriceBookError(f"no price {key!r} in {PRICES_FILE.name} (a bug in guard)")
        return self.prices[key].get(region)

    def _any(self, key: str) -> Price:
        # Every region's entry of a key shares its description, unit and kind.
        return next(iter(self.prices[key].values()))

    def describe(self, key: str) -> str:
        """What the price is for, in words ("S3 Standard storage")."""
        return self._any(key).description

    def kind(self, key: str) -> Kind:
        """Whether the key is a fixed fee, a usage price or a commitment."""
        return self._any(key).kind


def _entry(key: str, region: str, item: dict[str, Any], value: Any) -> Price:
    if not isinstance(value, dict):
        raise PriceBookError(f"prices.{key}.regions.{region}: expected a mapping")
    kind = item.get("kind")
    if kind not in KINDS:
        raise PriceBookError(f"prices.{key}.kind = {kind!r}: must be one of {', '.join(KINDS)}")
    try:
        return Price(
            key=key,
            region=region,
            service=str(item["service"]),
            description=str(item["description"]),
            unit=str(item["unit"]),
            per=int(item["per"]),
            kind=kind,
            amount=float(value["price"]),
            effective=str(value["effective"]),
            source=str(value["source"]),
            confirmed=bool(value["confirmed"]),
            free_per_month=float(item.get("free_per_month", 0)),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise PriceBookError(f"prices.{key} ({region}): missing or bad {error}") from None


def parse_price_book(document: Any) -> PriceBook:
    """A price book from the file's YAML document; :class:`PriceBookError` if malformed."""
    if not isinstance(document, dict) or not isinstance(document.get("prices"), dict):
        raise PriceBookError("not a price file: no 'prices' mapping")
    prices: dict[str, dict[str, Price]] = {}
    for key, item in document["prices"].items():
        regions = item.get("regions") if isinstance(item, dict) else None
        if not isinstance(regions, dict) or not regions:
            raise PriceBookError(f"prices.{key}: no 'regions' mapping with a price")
        prices[str(key)] = {
            str(region): _entry(str(key), str(region), item, value)
            for region, value in regions.items()
        }
    return PriceBook(
        currency=str(document.get("currency", "USD")),
        refreshed=str(document.get("refreshed", "")),
        prices=prices,
    )


@functools.cache
def load_price_book(path: Path = PRICES_FILE) -> PriceBook:
    """The price book at ``path`` (guard's own by default), read once per process."""
    with path.open(encoding="utf-8") as handle:
        return parse_price_book(yaml.safe_load(handle))
