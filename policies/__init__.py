"""guard's CrossGuard policy pack: one rule per module in ``policies/rules``; the rules about a
change (``guard diff``) in ``policies/pull_request``."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType
from typing import TYPE_CHECKING, Any

from pulumi_policy import Policy

if TYPE_CHECKING:
    from policies.framework import PullRequestPolicy


def _policies_of(package: ModuleType) -> list[Any]:
    """The ``POLICY`` of every module in ``package``, sorted by name."""
    found = [
        importlib.import_module(f"{package.__name__}.{info.name}").POLICY
        for info in pkgutil.iter_modules(package.__path__)
    ]
    return sorted(found, key=lambda p: p.name)


def all_policies() -> list[Policy]:
    """Every policy of the pack, sorted by name (each rule module defines ``POLICY``)."""
    from policies import rules

    return _policies_of(rules)


def all_pull_request_policies() -> list[PullRequestPolicy]:
    """Every pull-request policy (``policies/pull_request``), sorted by name."""
    from policies import pull_request

    return _policies_of(pull_request)
