"""Building blocks of the organization area's differs (``guard/diff_organization*.py``): the
resources it reads (those under a ``guard:organization:`` component), a resource compared with
its protection flags, and an organization target in words.

The lowest of those modules: the GuardDuty and delegation part (with the area's dispatch), the
Security Hub part and the Firewall Manager part all import it; it imports none of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from guard.diff_model import Effect, PlanDocument, PlanResource
from guard.diff_parts import Handler, Pair, Report, both, inputs_changed

#: The components this area reads its resources under.
PREFIX = "guard:organization:"
#: What a deleted resource's reason adds when ``protect`` holds it.
HELD = " (it is protected: pulumi up stops until someone unprotects it)"


def ours(document: PlanDocument, *types: str) -> list[PlanResource]:
    """The resources of ``types`` under an organization component: what the differ reads."""
    return [
        r
        for r in document.of_type(*types)
        if any(t.startswith(PREFIX) for t in document.ancestor_types(r))
    ]


def region_of(resource: PlanResource) -> str:
    return str(resource.region or "?")


def together(report: Report, path: str, old: Any, new: Any) -> None:
    """An input reported together with another one of the same resource."""


def changed(
    report: Report, path: str, pair: Pair, what: str, handlers: Mapping[str, Handler]
) -> None:
    """A resource on both sides: its inputs through ``handlers``, then its flags."""
    before, after = both(pair)
    inputs_changed(report, path, before, after, handlers)
    if before.protect != after.protect:
        lost = before.protect
        text = f"{what} is {'no longer' if lost else 'now'} protected from deletion"
        effect: Effect = "weakens" if lost else "strengthens"
        report.add("changed", f"{path}.protect", lost, after.protect, effect, text)
    if before.ignore_changes != after.ignore_changes:
        old, new = list(before.ignore_changes), list(after.ignore_changes)
        text = (
            f"pulumi up leaves {', '.join(new) or 'nothing'} of {what} as AWS has it "
            f"(was {', '.join(old) or 'nothing'})"
        )
        report.add("changed", f"{path}.ignore_changes", old, new, "weakens", text)


def target_words(target: Any) -> str:
    """An organization target: ``OU ou-...``, ``account 1234...``, ``the root r-...``."""
    text = str(target)
    if text.startswith("ou-"):
        return f"OU {text}"
    if text.startswith("r-"):
        return f"the root {text} (every account)"
    return f"account {text}" if text.isdigit() else text
