"""guard's CrossGuard policy pack: one rule per module in ``policies/rules``."""

from __future__ import annotations

import importlib
import pkgutil

from pulumi_policy import Policy


def all_policies() -> list[Policy]:
    """Every policy of the pack, sorted by name (each rule module defines ``POLICY``)."""
    from policies import rules

    found: list[Policy] = []
    for info in pkgutil.iter_modules(rules.__path__):
        module = importlib.import_module(f"{rules.__name__}.{info.name}")
        found.append(module.POLICY)
    return sorted(found, key=lambda p: p.name)
