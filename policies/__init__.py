"""guard's CrossGuard policy pack: one rule per module in ``policies/rules``; the rules about a
change (``guard diff``) in ``policies/pull_request``."""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING

from pulumi_policy import Policy

if TYPE_CHECKING:
    from policies.framework import PullRequestPolicy


def all_policies() -> list[Policy]:
    """Every policy of the pack, sorted by name (each rule module defines ``POLICY``)."""
    from policies import rules

    found: list[Policy] = []
    for info in pkgutil.iter_modules(rules.__path__):
        module = importlib.import_module(f"{rules.__name__}.{info.name}")
        found.append(module.POLICY)
    return sorted(found, key=lambda p: p.name)


def all_pull_request_policies() -> list[PullRequestPolicy]:
    """Every pull-request policy (``policies/pull_request``), sorted by name."""
    from policies import pull_request

    found: list[PullRequestPolicy] = []
    for info in pkgutil.iter_modules(pull_request.__path__):
        module = importlib.import_module(f"{pull_request.__name__}.{info.name}")
        found.append(module.POLICY)
    return sorted(found, key=lambda p: p.name)
