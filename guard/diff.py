"""``guard diff``'s engine: compare two plan documents area by area, then everything else.

Each area's differ (``guard/diff_<area>.py``) reports the changes it understands; this module
adds every remaining difference by URN and input path, so that nothing the semantic view does
not know about disappears from the review, and orders the result: weakening changes first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from guard import (
    diff_ci,
    diff_detection,
    diff_logs,
    diff_organization,
    diff_policy,
    diff_shield,
    diff_siem,
    diff_waf,
)
from guard.costs_delta import CostDelta, cost_delta
from guard.diff_model import (
    DESCRIPTIVE_INPUTS,
    AreaDiffer,
    Change,
    Effect,
    PlanDocument,
    PlanResource,
    PullRequestChange,
    compact,
    leaf_changes,
    summary,
)
from guard.policy_run import run_pull_request_policies

#: The areas' differs, in the order their sections read (the policy area's comes last: it
#: depends on the day waivers are judged, see :func:`differs_for`).
DIFFERS: tuple[AreaDiffer, ...] = (
    diff_waf.DIFFER,
    diff_shield.DIFFER,
    diff_detection.DIFFER,
    diff_organization.DIFFER,
    diff_logs.DIFFER,
    diff_siem.DIFFER,
    diff_ci.DIFFER,
)


def differs_for(today: date | None) -> tuple[AreaDiffer, ...]:
    """Every area's differ; with ``today``, waivers near expiry get a notice."""
    return (*DIFFERS, diff_policy.make_differ(today))


Status = Literal["changed", "unchanged", "new stack", "stack removed"]


@dataclass(frozen=True)
class DiffResult:
    """The changes between two plans of one stack, with where each side came from."""

    stack: str
    base: str
    head: str
    status: Status
    changes: tuple[Change, ...]
    #: What the change does to the monthly cost estimate (README, "Costs").
    costs: CostDelta | None = None
    #: The pull-request policies' findings (``policies/pull_request``): advisory or mandatory.
    findings: tuple[dict[str, str], ...] = ()

    @property
    def summary(self) -> dict[str, int]:
        return summary(self.changes)

    @property
    def weakens(self) -> int:
        return self.summary["weakens"]

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "base": self.base,
            "head": self.head,
            "status": self.status,
            "changes": [c.to_json() for c in self.changes],
            "summary": self.summary,
            "costs": self.costs.to_json() if self.costs is not None else None,
            "pull_request_policies": list(self.findings),
        }


def diff_documents(
    base: PlanDocument,
    head: PlanDocument,
    *,
    base_label: str,
    head_label: str,
    today: date | None = None,
    pull_request_policies: Sequence[Any] = (),
) -> DiffResult:
    """Compare two plans of a stack (either side may be :meth:`PlanDocument.missing`); with
    ``today``, waivers that expire within 30 days of it are noted. The cost estimate of both
    sides is compared, and ``pull_request_policies`` judge the change."""
    changes = tuple(compare(base, head, today))
    if not base.exists:
        status: Status = "new stack"
    elif not head.exists:
        status = "stack removed"
    else:
        status = "changed" if changes else "unchanged"
    stack = head.stack if head.exists else base.stack
    costs = cost_delta(base.plain(), head.plain())
    findings = run_pull_request_policies(pull_request_policies, PullRequestChange(stack, costs))
    return DiffResult(stack, base_label, head_label, status, changes, costs, tuple(findings))


def compare(base: PlanDocument, head: PlanDocument, today: date | None = None) -> list[Change]:
    """Every change from ``base`` to ``head``: the areas' own, then the rest by URN, sorted."""
    differs = differs_for(today)
    changes: list[Change] = []
    for differ in differs:
        changes += differ.compare(base, head)
    changes += other_changes(base, head, differs)
    return sorted(changes, key=Change.sort_key)


def _covered(differs: tuple[AreaDiffer, ...], resource: PlanResource, ancestors: list[str]) -> bool:
    return any(d.reads(resource.type, ancestors) for d in differs)


def _explained(
    differs: tuple[AreaDiffer, ...], resource: PlanResource, ancestors: list[str], key: str
) -> bool:
    """Whether a differ reports this input (or ``protect``/``ignore_changes``) of the resource."""
    return any(d.explains(resource.type, key, ancestors) for d in differs)


def _is_component(resource: PlanResource) -> bool:
    """A component or the stack: a grouping, added and removed with what it holds."""
    return resource.type.startswith("guard:") or resource.type == "pulumi:pulumi:Stack"


def _subject(resource: PlanResource) -> str:
    return f"{resource.name} ({resource.type.split(':')[-1]})"


def other_changes(
    base: PlanDocument, head: PlanDocument, differs: tuple[AreaDiffer, ...]
) -> list[Change]:
    """What no differ explains: resources added or removed, and inputs changed, by URN."""
    out: list[Change] = []
    for urn in sorted(set(base.by_urn) | set(head.by_urn)):
        before, after = base.by_urn.get(urn), head.by_urn.get(urn)
        resource = after or before
        assert resource is not None
        ancestors = (head if after is not None else base).ancestor_types(resource)
        covered = _covered(differs, resource, ancestors)
        if before is None or after is None:
            if covered or _is_component(resource):
                continue
            if before is None:
                out.append(
                    Change(
                        "other",
                        _subject(resource),
                        "added",
                        urn,
                        None,
                        dict(resource.inputs),
                        "neutral",
                        f"new {resource.type} {resource.name}",
                    )
                )
            else:
                out.append(
                    Change(
                        "other",
                        _subject(resource),
                        "removed",
                        urn,
                        dict(resource.inputs),
                        None,
                        "weakens",
                        f"{resource.type} {resource.name} is deleted; guard does not know "
                        "what it protected: review it",
                    )
                )
            continue
        out += _input_changes(before, after, differs, ancestors)
        if before.protect != after.protect and not _explained(differs, after, ancestors, "protect"):
            effect: Effect = "weakens" if before.protect else "strengthens"
            out.append(
                Change(
                    "other",
                    _subject(after),
                    "changed",
                    "protect",
                    before.protect,
                    after.protect,
                    effect,
                    "no longer protected from deletion"
                    if before.protect
                    else "now protected from deletion",
                )
            )
        if before.ignore_changes != after.ignore_changes and not _explained(
            differs, after, ancestors, "ignore_changes"
        ):
            out.append(
                Change(
                    "other",
                    _subject(after),
                    "changed",
                    "ignore_changes",
                    list(before.ignore_changes),
                    list(after.ignore_changes),
                    "weakens",
                    "pulumi up leaves "
                    f"{', '.join(after.ignore_changes) or 'nothing'} as AWS has it "
                    f"(was {', '.join(before.ignore_changes) or 'nothing'})",
                )
            )
    return out


def _input_changes(
    before: PlanResource,
    after: PlanResource,
    differs: tuple[AreaDiffer, ...],
    ancestors: list[str],
) -> list[Change]:
    out = []
    for key in sorted(set(before.inputs) | set(after.inputs)):
        if _explained(differs, after, ancestors, key):
            continue
        for path, old, new in leaf_changes(before.inputs.get(key), after.inputs.get(key), key):
            descriptive = key in DESCRIPTIVE_INPUTS
            out.append(
                Change(
                    "other",
                    _subject(after),
                    "changed",
                    path,
                    old,
                    new,
                    "neutral" if descriptive else "weakens",
                    f"{path}: {compact(old)} → {compact(new)}"
                    + ("" if descriptive else "; guard does not know what this changes: review it"),
                )
            )
    return out
