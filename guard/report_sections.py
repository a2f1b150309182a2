"""The shape of the plan's account sections, and how they render as text and markdown.

A :class:`Section` is a title, ``key: value`` facts and lists of ``(name, detail)`` items; the
builders in :mod:`guard.report_account` fill them from a :class:`PlanIndex` of the recorded
resources. Text and markdown render the same section, so they cannot disagree.
"""

from __future__ import annotations

import html
import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from guard.plan import PlanResult, ResourceRecord

#: Markdown lists longer than this are collapsed, so a big stack's comment stays readable.
COLLAPSE_OVER = 10

Item = tuple[str, str]


@dataclass
class ListEntry:
    """A list inside a section: a heading and its ``(name, detail)`` items."""

    heading: str
    items: list[Item]


@dataclass
class Section:
    """One section: ``key: value`` facts and lists of ``(name, detail)`` items, in order."""

    title: str
    entries: list[Item | ListEntry] = field(default_factory=list)

    def fact(self, key: str, value: str) -> None:
        self.entries.append((key, value))

    def listing(self, heading: str, items: list[Item], empty: str = "none") -> None:
        # An empty list stays visible ("emergency contacts: none"): absence is information too.
        if items:
            self.entries.append(ListEntry(heading, items))
        else:
            self.fact(heading, empty)


class PlanIndex:
    """The plan's resources by type and ARN, and who contains whom."""

    def __init__(self, plan: PlanResult) -> None:
        self.plan = plan
        self.by_urn = {r.urn: r for r in plan.resources}
        self.by_type: dict[str, list[ResourceRecord]] = defaultdict(list)
        self.by_arn: dict[str, ResourceRecord] = {}
        for record in plan.resources:
            self.by_type[record.type].append(record)
            if isinstance(record.state.get("arn"), str):
                self.by_arn[record.state["arn"]] = record

    def of(self, type_token: str) -> list[ResourceRecord]:
        return self.by_type.get(type_token, [])

    def inside(self, record: ResourceRecord, component: str) -> bool:
        """Whether ``record`` is declared (at any depth) inside a component of ``component``."""
        # A URN names only the parent's type; the chain of parents names them all.
        parent = self.by_urn.get(record.parent or "")
        while parent is not None and parent.type != component:
            parent = self.by_urn.get(parent.parent or "")
        return parent is not None

    def within(self, type_token: str, component: str) -> list[ResourceRecord]:
        """Resources of a type declared (at any depth) inside a component of ``component``."""
        return [r for r in self.of(type_token) if self.inside(r, component)]

    def depending(self, type_token: str, on: ResourceRecord, key: str) -> list[ResourceRecord]:
        """Resources of a type whose input ``key`` comes from ``on`` (a bucket's settings)."""
        return [r for r in self.of(type_token) if on.urn in r.property_dependencies.get(key, [])]


ROOT_STACK_TYPE = "pulumi:pulumi:Stack"


def engine_urn(ix: PlanIndex, record: ResourceRecord) -> str:
    """The URN the Pulumi engine gives ``record`` (what ``pulumi up --target`` takes).

    The engine qualifies a type with every ancestor's type except the root stack's
    (``Deployment.generateURN`` in pulumi/pkg/resource/deploy); the SDK's mock monitor keeps only
    the parent's, so the recorded URNs of resources two components deep differ from it.
    """
    types = [record.type]
    parent = ix.by_urn.get(record.parent or "")
    while parent is not None and parent.type != ROOT_STACK_TYPE:
        types.append(parent.type)
        parent = ix.by_urn.get(parent.parent or "")
    stack, project = ix.plan.stack, ix.plan.project
    return f"urn:pulumi:{stack}::{project}::{'$'.join(reversed(types))}::{record.name}"


# --- small readers ---------------------------------------------------------------------------


def input_of(record: ResourceRecord, key: str, default: str = "?") -> str:
    value = record.inputs.get(key)
    return default if value is None else str(value)


def topic_names(arns: Iterable[Any]) -> str:
    """SNS topic ARNs as ``name (region, region)``, the same name across regions grouped."""
    regions: dict[str, list[str]] = defaultdict(list)
    for arn in arns:
        parts = str(arn).split(":")
        name, region = (parts[5], parts[3]) if len(parts) == 6 else (str(arn), "?")
        regions[name].append(region)
    return "; ".join(f"{name} ({', '.join(sorted(r))})" for name, r in sorted(regions.items()))


def json_of(text: Any) -> Any:
    """A JSON input as data; a masked or unknown value ("[secret]") reads as None."""
    try:
        return json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None


def after_marker(arn: Any, marker: str) -> str:
    return str(arn).rsplit(marker, 1)[-1]


def number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def mask_phone(phone: str) -> str:
    # Enough to tell two numbers apart in review; the stack file holds the full number.
    return phone[:3] + "*" * (len(phone) - 5) + phone[-2:] if len(phone) > 5 else "***"


# --- rendering -------------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#~&])")


def md_text(text: str) -> str:
    """Prose for markdown: text from the stack file must not turn into markup in the comment."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def md_code(text: str) -> str:
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def render_text(section: Section) -> list[str]:
    out = [f"{section.title}:"]
    width = max((len(e[0]) for e in section.entries if isinstance(e, tuple)), default=0)
    for entry in section.entries:
        if isinstance(entry, ListEntry):
            out.append(f"  {entry.heading} ({len(entry.items)}):")
            name_width = max(len(name) for name, _ in entry.items)
            out += [f"    {name:<{name_width}}  {detail}".rstrip() for name, detail in entry.items]
        else:
            out.append(f"  {entry[0]:<{width}}  {entry[1]}")
    return [*out, ""]


def render_markdown(section: Section) -> list[str]:
    # Facts first, as one bullet list: a fact right after a list would join that list.
    facts = [
        f"- {md_text(k)}: {md_text(v)}"
        for k, v in (e for e in section.entries if isinstance(e, tuple))
    ]
    out = [f"**{md_text(section.title)}**", "", *facts, *([""] if facts else [])]
    for entry in (e for e in section.entries if isinstance(e, ListEntry)):
        bullets = [f"- {md_code(name)}: {md_text(detail)}" for name, detail in entry.items]
        heading = f"{entry.heading} ({len(entry.items)})"
        if len(bullets) > COLLAPSE_OVER:
            summary = f"<details><summary>{html.escape(heading)}</summary>"
            out += [summary, "", *bullets, "", "</details>", ""]
        else:
            out += [f"{md_text(heading)}:", "", *bullets, ""]
    return out
