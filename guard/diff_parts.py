"""Building blocks of the area differs that read the same resource types (alarms, functions,
event rules, queues, subscriptions): a :class:`Report` per subject, input handlers that say
what one input's change does, resources paired across the two plans, resources and members
that came or went, endpoint names, and the names of the shared types.

The shield, detection, alerts, logs and organization differs are built from these; a
shared-type resource under none of those components is the engine's to report, by URN.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from guard import resource_types as rt
from guard.diff_model import (
    DESCRIPTIVE_INPUTS,
    Area,
    Change,
    Effect,
    Kind,
    PlanDocument,
    PlanResource,
    compact,
    leaf_changes,
    parse_json_text,
)

#: Types several areas declare. The shield, detection, alerts and logs differs each report
#: those under their own components (``AreaDiffer.within``); the engine reports the rest.
SHARED_TYPES = frozenset(
    {
        rt.ALARM,
        rt.FUNCTION,
        rt.INVOKE_CONFIG,
        rt.PERMISSION,
        rt.LOG_GROUP,
        rt.LOG_STREAM,
        rt.QUEUE,
        rt.SUBSCRIPTION,
        rt.EVENT_RULE,
        rt.EVENT_TARGET,
    }
)
ALERT_TOPIC_RE = re.compile(
    r"^arn:[\w-]+:sns:(?P<region>[\w-]+):\d+:guard-.+-alerts-(?P<route>\w+)$"
)
CHOICE_RE = re.compile(r"\[([^|\]]*)\|([^\]]*)\]")
Pair = tuple[PlanResource | None, PlanResource | None]


@dataclass
class Report:
    """The changes of one subject of one area, added to ``out`` (a shared list, or its own)."""

    area: Area
    subject: str
    out: list[Change] = field(default_factory=list)

    def add(
        self, kind: Kind, path: str, before: Any, after: Any, effect: Effect, reason: str
    ) -> None:
        self.out.append(Change(self.area, self.subject, kind, path, before, after, effect, reason))

    def gain(self, path: str, value: Any, effect: Effect, reason: str) -> None:
        self.add("added", path, None, value, effect, reason)

    def loss(self, path: str, value: Any, effect: Effect, reason: str) -> None:
        self.add("removed", path, value, None, effect, reason)


#: Reports one input's change: ``(report, path, before, after)``, JSON text already parsed.
Handler = Callable[[Report, str, Any, Any], None]


def flip(text: str, kind: Kind) -> str:
    """``text`` with each ``[came|went]`` choice made: the left one for ``added``."""
    return CHOICE_RE.sub(lambda m: m[1] if kind == "added" else m[2], text)


def pairs(base: Iterable[PlanResource], head: Iterable[PlanResource]) -> list[Pair]:
    """The resources of both sides matched by URN, in URN order."""
    old, new = {r.urn: r for r in base}, {r.urn: r for r in head}
    return [(old.get(urn), new.get(urn)) for urn in sorted(old.keys() | new.keys())]


def side(pair: Pair) -> tuple[PlanResource, Kind | None]:
    """The resource of a pair, and ``added``/``removed`` when it is on one side only."""
    before, after = pair
    resource = after or before
    assert resource is not None
    return resource, ("added" if before is None else "removed" if after is None else None)


def both(pair: Pair) -> tuple[PlanResource, PlanResource]:
    """The two sides of a pair known to be on both."""
    before, after = pair
    assert before is not None and after is not None
    return before, after


def appears(
    report: Report,
    kind: Kind,
    path: str,
    pair: Pair,
    texts: tuple[str, str],
    effects: tuple[Effect, Effect] = ("strengthens", "weakens"),
) -> None:
    """A resource added (the first text and effect) or removed (the second)."""
    before, after = (dict(r.inputs) if r is not None else None for r in pair)
    index = 0 if kind == "added" else 1
    report.add(kind, path, before, after, effects[index], texts[index])


def presence(
    report: Report,
    kind: Kind,
    path: str,
    pair: Pair,
    text: str,
    came: Effect = "strengthens",
    went: Effect = "weakens",
) -> None:
    """A resource added (effect ``came``) or removed (``went``), said by ``text``'s choices."""
    appears(report, kind, path, pair, (flip(text, "added"), flip(text, "removed")), (came, went))


def review(report: Report, path: str, old: Any, new: Any) -> None:
    """What guard cannot judge: every differing leaf, weakening until someone reads it."""
    for leaf, a, b in leaf_changes(old, new, path):
        reason = f"{leaf}: {compact(a)} → {compact(b)}; guard does not know what this changes"
        report.add("changed", leaf, a, b, "weakens", reason + ": review it")


def note(what: str, effect: Effect = "neutral") -> Handler:
    """A change guard understands and that does not weaken, in one line: ``what`` first."""

    def handler(report: Report, path: str, old: Any, new: Any) -> None:
        report.add("changed", path, old, new, effect, f"{what} {compact(new)} (was {compact(old)})")

    return handler


def ordered(order: Sequence[Any], what: str) -> Handler:
    """A setting on a scale from weakest to strongest; a value off the scale weakens."""

    def handler(report: Report, path: str, old: Any, new: Any) -> None:
        up = old in order and new in order and order.index(new) > order.index(old)
        report.add(
            "changed",
            path,
            old,
            new,
            "strengthens" if up else "weakens",
            f"{what} {new} (was {old})",
        )

    return handler


def toggle(text: str) -> Handler:
    """A switch (True, "true", "ENABLED", "Enabled" are on): on strengthens, off weakens;
    ``text``'s choices read ``[on|off]``."""

    def handler(report: Report, path: str, old: Any, new: Any) -> None:
        on = new in (True, "true", "ENABLED", "Enabled")
        effect: Effect = "strengthens" if on else "weakens"
        report.add("changed", path, old, new, effect, flip(text, "added" if on else "removed"))

    return handler


def more_is_stronger(what: str, unit: str = "") -> Handler:
    """A number (days kept, retries, samples) where more protects more; None or 0 is forever."""

    def handler(report: Report, path: str, old: Any, new: Any) -> None:
        a, b = (float("inf") if v in (None, 0) else v for v in (old, new))
        up = isinstance(a, int | float) and isinstance(b, int | float) and b > a
        text = f"{what} {new}{unit} (was {old}{unit})"
        report.add("changed", path, old, new, "strengthens" if up else "weakens", text)

    return handler


def nested(handlers: Mapping[str, Handler]) -> Handler:
    """An object input, key by key through ``handlers`` (an unknown key is reviewed)."""

    def handler(report: Report, path: str, old: Any, new: Any) -> None:
        before = old if isinstance(old, Mapping) else {}
        after = new if isinstance(new, Mapping) else {}
        for key in sorted(set(before) | set(after)):
            if before.get(key) != after.get(key):
                handlers.get(key, review)(report, f"{path}.{key}", before.get(key), after.get(key))

    return handler


def came_went(
    report: Report,
    path: str,
    old: Iterable[Any] | None,
    new: Iterable[Any] | None,
    texts: tuple[str, str],
    effects: tuple[Effect, Effect] = ("strengthens", "weakens"),
    words: Callable[[str], str] = str,
    label: Callable[[Any], str] = str,
) -> None:
    """Members of two collections, by ``label``, that arrived (the first text and effect) or
    left (the second); ``{}`` in a text is the member's label in ``words``."""
    before, after = ({label(v): v for v in values or ()} for values in (old, new))
    for name in sorted(before.keys() ^ after.keys()):
        index = 0 if name in after else 1
        kind: Kind = "added" if index == 0 else "removed"
        text = texts[index].replace("{}", words(name))
        report.add(kind, f"{path}[{name}]", before.get(name), after.get(name), effects[index], text)


def set_changes(
    report: Report,
    path: str,
    old: Iterable[Any],
    new: Iterable[Any],
    text: str,
    came: Effect = "strengthens",
    label: Callable[[Any], str] = str,
) -> None:
    """Members that left (weakening) or arrived (``came``): ``{}`` in ``text`` is the member."""
    texts = flip(text, "added"), flip(text, "removed")
    came_went(report, path, old, new, texts, (came, "weakens"), label=label)


def inputs_changed(
    report: Report,
    prefix: str,
    before: PlanResource,
    after: PlanResource,
    handlers: Mapping[str, Handler],
) -> None:
    """Each changed top-level input through its handler; descriptive ones neutral; else review."""
    for key in sorted(set(before.inputs) | set(after.inputs)):
        old, new = (parse_json_text(r.inputs.get(key)) for r in (before, after))
        if old == new:
            continue
        path = f"{prefix}.{key}" if prefix else key
        if key in handlers:
            handlers[key](report, path, old, new)
        elif key in DESCRIPTIVE_INPUTS:
            report.add("changed", path, old, new, "neutral", f"{key} changed (descriptive only)")
        else:
            review(report, path, old, new)


def target_name(arn: str) -> str:
    """An alert topic as its route (``the urgent route in us-east-1``); anything else as is."""
    match = ALERT_TOPIC_RE.match(arn)
    return f"the {match['route']} route in {match['region']}" if match else arn


def alarm_handlers(what: str) -> dict[str, Handler]:
    """An alarm's notification targets: one lost weakens, one gained strengthens."""

    def actions(when: str) -> Handler:
        def handler(report: Report, path: str, old: Any, new: Any) -> None:
            text = f"{what} [now also notifies|no longer notifies] {{}} when it {when}"
            set_changes(report, path, old or [], new or [], text, label=target_name)

        return handler

    return {
        "alarmActions": actions("fires"),
        "okActions": actions("clears"),
        "name": note("renamed"),
    }


def env_handler(variables: Mapping[str, Handler]) -> Handler:
    """A Lambda function's environment, variable by variable (an unknown one is reviewed)."""

    def handler(report: Report, path: str, old: Any, new: Any) -> None:
        before, after = ((v or {}).get("variables") or {} for v in (old, new))
        for name in sorted(set(before) | set(after)):
            if before.get(name) != after.get(name):
                change = variables.get(name, review)
                change(report, f"environment.{name}", before.get(name), after.get(name))

    return handler


LOG_HANDLERS: dict[str, Handler] = {"retentionInDays": more_is_stronger("logs kept for", " days")}


def plumbing(report: Report, pair: Pair, what: str, handlers: Mapping[str, Handler]) -> None:
    """A supporting resource of a feature (queue, log group, invoke config, permission)."""
    resource, kind = side(pair)
    if kind is None:
        inputs_changed(report, resource.name, *both(pair), handlers)
    else:
        text = f"[new {what}|{what} is deleted: review what {report.subject} loses]"
        presence(report, kind, resource.name, pair, text, "neutral")


def endpoint_names(*documents: PlanDocument) -> dict[str, str]:
    """``arn -> product/endpoint`` from the catalog components' inputs (later documents win)."""
    names: dict[str, str] = {}
    for document in documents:
        for product in document.of_type("guard:catalog:Product"):
            for endpoint in product.inputs.get("endpoints") or []:
                names[str(endpoint.get("arn"))] = f"{product.name}/{endpoint.get('name')}"
    return names
