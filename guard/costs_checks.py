"""Checks of ``guard:costs`` that need the rest of the stack: the products its figures name.

Listed in :data:`guard.cross_checks.CROSS_CHECKS`, so ``pulumi up`` and ``guard plan`` reject
the same mistakes.
"""

from __future__ import annotations

from datetime import date

from guard.config.costs import DEFAULT_KEY
from guard.config.errors import Problem
from guard.config.stack import StackConfig
from guard.suggest import did_you_mean

C = "guard:costs"


def per_product_names(config: StackConfig, warnings: list[str], today: date) -> list[Problem]:
    """Every product a per-product figure names is a product of the stack."""
    products = [p.name for p in config.products]
    problems: list[Problem] = []
    for field in ("requests_per_month", "data_transfer_out_gb_per_month"):
        for name in getattr(config.costs, field):
            if name == DEFAULT_KEY or name in products:
                continue
            allowed = ", ".join([DEFAULT_KEY, *products])
            problems.append(
                Problem(
                    (C, field, name),
                    f"no product {name!r} in this stack{did_you_mean(name, products)}; "
                    f"allowed: {allowed}",
                )
            )
    return problems
