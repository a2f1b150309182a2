"""The price book: guard's own file is complete and dated, and a malformed one is refused."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest

from guard.prices import KINDS, PriceBookError, load_price_book, money_text, parse_price_book

BOOK = load_price_book()


def test_every_price_has_a_us_east_1_figure_a_date_and_a_source() -> None:
    for key, regions in BOOK.prices.items():
        assert "us-east-1" in regions, key
        for price in regions.values():
            assert price.kind in KINDS and price.per >= 1 and price.amount >= 0
            date.fromisoformat(price.effective)
            assert len(price.source) > 10, (key, price.region)


def test_confirmed_prices_name_where_they_were_confirmed() -> None:
    confirmed = [p for r in BOOK.prices.values() for p in r.values() if p.confirmed]
    assert confirmed
    assert all("not checked" not in p.source for p in confirmed)


def test_the_shield_subscription_is_the_only_commitment() -> None:
    commitments = [k for k, r in BOOK.prices.items() if next(iter(r.values())).kind == "commitment"]
    assert commitments == ["shield.subscription"]


def test_an_unknown_key_is_a_bug_and_an_unknown_region_has_no_price() -> None:
    with pytest.raises(PriceBookError, match=re.escape("no price 'waf.nothing'")):
        BOOK.get("waf.nothing", "us-east-1")
    assert BOOK.get("waf.web_acl", "xx-nowhere-1") is None


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({}, "no 'prices' mapping"),
        ({"prices": {"a": {"kind": "fixed"}}}, "prices.a: no 'regions' mapping"),
        (
            {"prices": {"a": {"kind": "monthly", "regions": {"us-east-1": {}}}}},
            "must be one of fixed, usage, commitment",
        ),
        (
            {"prices": {"a": {"kind": "fixed", "regions": {"us-east-1": {"price": 1}}}}},
            "prices.a (us-east-1): missing or bad",
        ),
    ],
)
def test_a_malformed_price_file_is_refused(document: dict[str, Any], message: str) -> None:
    with pytest.raises(PriceBookError, match=re.escape(message)):
        parse_price_book(document)


@pytest.mark.parametrize(
    ("amount", "shown"),
    [(5.0, "5.00"), (0.025, "0.025"), (0.0000166667, "0.0000166667"), (3000, "3,000.00")],
)
def test_unit_prices_show_every_digit_they_have(amount: float, shown: str) -> None:
    assert money_text(amount) == shown
