"""What ``guard diff`` compares and what it says: two plan JSON documents, and the changes
between them, each with its effect on protection.

A plan document is the JSON of ``guard plan --format json`` (README, "Plan JSON"), read back
as plain data; every area's differ (``guard/diff_<area>.py``) reads the resources it knows from
both sides and returns :class:`Change` records. The engine (``guard/diff.py``) runs them, adds
every remaining resource change by URN, and orders the result: weakening changes first.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, get_args

if TYPE_CHECKING:
    from guard.costs_delta import CostDelta

Effect = Literal["weakens", "strengthens", "neutral"]
Area = Literal[
    "waf",
    "shield",
    "detection",
    "organization",
    "alerts",
    "logs",
    "siem",
    "ci",
    "iam",
    "policy",
    "other",
]
Kind = Literal["added", "removed", "changed", "moved"]

#: Inputs that describe a resource without changing what it does: their changes are neutral.
DESCRIPTIVE_INPUTS = frozenset({"tags", "description", "displayName", "alarmDescription"})

#: The order changes are shown in: what needs a security review first.
EFFECT_ORDER: tuple[Effect, ...] = ("weakens", "strengthens", "neutral")
#: The areas in the order they are declared above.
AREA_ORDER: tuple[Area, ...] = get_args(Area)


@dataclass(frozen=True)
class Change:
    """One change to the stack's protections, as a reviewer reads it.

    ``path`` names what changed inside the subject (``rules[aws-sqli].exclusions[0]``);
    ``before``/``after`` are plain JSON values (``None`` for added/removed); ``reason`` is one
    line that says what the change does ("SQLi_QUERYARGUMENTS no longer blocks on /search").
    """

    area: Area
    subject: str
    kind: Kind
    path: str
    before: Any
    after: Any
    effect: Effect
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "area": self.area,
            "subject": self.subject,
            "kind": self.kind,
            "path": self.path,
            "before": self.before,
            "after": self.after,
            "effect": self.effect,
            "reason": self.reason,
        }

    def sort_key(self) -> tuple[int, int, str, str, str, str]:
        return (
            EFFECT_ORDER.index(self.effect),
            AREA_ORDER.index(self.area),
            self.subject,
            self.path,
            self.kind,
            self.reason,
        )


@dataclass(frozen=True)
class PullRequestChange:
    """What a pull-request policy (``policies/pull_request``) sees: the stack, and what the
    change does to its monthly cost estimate (None when it could not be estimated)."""

    stack: str
    costs: CostDelta | None


class PlanDocumentError(ValueError):
    """A file that is not a plan JSON document (what it lacks, where)."""


@dataclass(frozen=True)
class PlanResource:
    """One resource of a plan document (the README's plan JSON contract)."""

    urn: str
    type: str
    name: str
    parent: str | None
    region: str | None
    protect: bool
    inputs: Mapping[str, Any]
    ignore_changes: tuple[str, ...] = ()
    #: Removing it from the program leaves it in AWS: only the state forgets it (written to the
    #: plan JSON only when true).
    retain_on_delete: bool = False

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> PlanResource:
        return cls(
            urn=str(value["urn"]),
            type=str(value["type"]),
            name=str(value["name"]),
            parent=value.get("parent"),
            region=value.get("region"),
            protect=bool(value.get("protect", False)),
            inputs=value.get("inputs") or {},
            ignore_changes=tuple(value.get("ignore_changes") or ()),
            retain_on_delete=bool(value.get("retain_on_delete", False)),
        )


@dataclass(frozen=True)
class PlanDocument:
    """A plan as JSON: its resources, outputs, policy findings and annotations.

    ``exists`` is False for the side of a new or removed stack: it then has no resources, so
    every resource of the other side is added (or removed).
    """

    stack: str
    resources: tuple[PlanResource, ...] = ()
    outputs: Mapping[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    policies: tuple[Mapping[str, Any], ...] = ()
    exceptions_applied: tuple[Mapping[str, Any], ...] = ()
    #: What the configuration says about resources that no input holds (README, "Plan JSON").
    annotations: Mapping[str, Any] = field(default_factory=dict)
    #: The plan's cost estimate as written (README, "Costs"); empty for a plan without one.
    costs: Mapping[str, Any] = field(default_factory=dict)
    exists: bool = True

    @classmethod
    def from_json(cls, document: Any, source: str = "plan") -> PlanDocument:
        """Read a ``guard plan --format json`` document; :class:`PlanDocumentError` if not one."""
        if not isinstance(document, Mapping):
            raise PlanDocumentError(f"{source}: not a guard plan JSON document (not an object)")
        missing = [k for k in ("stack", "resources") if k not in document]
        if missing:
            raise PlanDocumentError(
                f"{source}: not a guard plan JSON document (no {', '.join(missing)}); "
                "write one with guard plan --stack NAME --format json"
            )
        try:
            resources = tuple(PlanResource.from_json(r) for r in document["resources"])
        except (KeyError, TypeError, AttributeError) as error:
            raise PlanDocumentError(
                f"{source}: a resource lacks urn, type or name ({error})"
            ) from None
        return cls(
            stack=str(document["stack"]),
            resources=resources,
            outputs=document.get("outputs") or {},
            warnings=tuple(document.get("warnings") or ()),
            policies=tuple(document.get("policies") or ()),
            exceptions_applied=tuple(document.get("policy_exceptions_applied") or ()),
            annotations=document.get("annotations") or {},
            costs=document.get("costs") or {},
        )

    @classmethod
    def missing(cls, stack: str) -> PlanDocument:
        """The side of a stack that does not exist (new at the head, removed at the base)."""
        return cls(stack=stack, exists=False)

    def plain(self) -> dict[str, Any]:
        """The parts of the plan JSON a cost estimate reads: resources, annotations, costs."""
        return {
            "resources": [
                {
                    "urn": r.urn,
                    "type": r.type,
                    "name": r.name,
                    "parent": r.parent,
                    "region": r.region,
                    "inputs": r.inputs,
                }
                for r in self.resources
            ],
            "annotations": self.annotations,
            "costs": self.costs,
        }

    @cached_property
    def by_urn(self) -> dict[str, PlanResource]:
        return {r.urn: r for r in self.resources}

    def of_type(self, *types: str) -> list[PlanResource]:
        """The resources of these types, in URN order."""
        return [r for r in self.resources if r.type in types]

    def ancestor_types(self, resource: PlanResource) -> list[str]:
        """The type tokens of the components a resource is declared under, nearest first.

        A plan file is input: a parent chain that loops (hand-edited JSON) ends where it does.
        """
        types = []
        seen = {resource.urn}
        parent = resource.parent
        while parent is not None and parent in self.by_urn and parent not in seen:
            seen.add(parent)
            record = self.by_urn[parent]
            types.append(record.type)
            parent = record.parent
        return types

    def within(self, component_type: str, *types: str) -> list[PlanResource]:
        """The resources of ``types`` declared (at any depth) under a ``component_type``."""
        return [r for r in self.of_type(*types) if component_type in self.ancestor_types(r)]


#: Every top-level input of a type (a differ that explains all of a resource's inputs).
ALL_INPUTS: frozenset[str] = frozenset({"*"})


@dataclass(frozen=True)
class AreaDiffer:
    """One area's semantic diff: the inputs it explains, per type, and the function.

    ``covers`` maps a type token to the top-level input keys whose changes the differ reports
    (:data:`ALL_INPUTS`: all of them), and the pseudo-keys ``protect`` and ``ignore_changes``
    when it reports those; a differ covering a type reports that type's resources added and
    removed. With ``within`` (component type prefixes such as ``guard:shield:``), it reports
    them only for resources declared under such a component. The engine reports every other
    change, by URN.
    """

    area: str
    covers: Mapping[str, frozenset[str]]
    compare: Callable[[PlanDocument, PlanDocument], list[Change]]
    within: tuple[str, ...] = ()

    def reads(self, type_token: str, ancestors: Sequence[str] = ()) -> bool:
        """Whether the differ reports a resource of this type declared under ``ancestors``
        (the type tokens of its components, :meth:`PlanDocument.ancestor_types`)."""
        if type_token not in self.covers:
            return False
        return not self.within or any(t.startswith(self.within) for t in ancestors)

    def explains(self, type_token: str, key: str, ancestors: Sequence[str] = ()) -> bool:
        """Whether the differ reports this input of such a resource."""
        keys = self.covers.get(type_token, frozenset())
        return self.reads(type_token, ancestors) and ("*" in keys or key in keys)


def parse_json_text(value: Any) -> Any:
    """An input that holds a JSON document as text (policies, patterns), parsed; else as is."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def leaf_changes(before: Any, after: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """Every differing leaf of two JSON values, as ``(path, before, after)``, in path order.

    Objects are compared key by key (``a.b``), lists index by index (``a[0]``); a value that is
    JSON text is compared as the document it holds. A missing side is ``None``.
    """
    before, after = parse_json_text(before), parse_json_text(after)
    if before == after:
        return []
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        out: list[tuple[str, Any, Any]] = []
        for key in sorted(set(before) | set(after), key=str):
            out += leaf_changes(before.get(key), after.get(key), f"{path}.{key}" if path else key)
        return out
    if (
        isinstance(before, Sequence)
        and isinstance(after, Sequence)
        and not isinstance(before, str)
        and not isinstance(after, str)
    ):
        out = []
        for index in range(max(len(before), len(after))):
            out += leaf_changes(
                before[index] if index < len(before) else None,
                after[index] if index < len(after) else None,
                f"{path}[{index}]",
            )
        return out
    return [(path, before, after)]


def compact(value: Any, limit: int = 80) -> str:
    """A value in one short line for a reason (JSON, cut with an ellipsis)."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def summary(changes: Iterable[Change]) -> dict[str, int]:
    counts: dict[str, int] = dict.fromkeys(EFFECT_ORDER, 0)
    for change in changes:
        counts[change.effect] += 1
    return counts
