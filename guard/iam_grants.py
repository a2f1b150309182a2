"""IAM grants as sets: a policy document expanded to one (effect, action, resource, condition)
per grant, whether one grant covers another (wider action and resource globs, fewer condition
tests), and grants grouped back into statements. ``guard diff`` compares roles with these.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from guard.diff_model import parse_json_text
from guard.iam_eval import as_list, glob_match, statements_in

#: ``{(operator, key): values}`` of a ``Condition`` block.
Conditions = dict[tuple[str, str], frozenset[str]]


@dataclass(frozen=True, order=True)
class Grant:
    """One action on one resource under one condition (canonical JSON, "" for none). A
    ``NotAction``/``NotResource`` list is one opaque item, ``!a,b``: only itself or ``*`` covers
    it."""

    effect: str
    action: str
    resource: str
    condition: str


def conditions_of(condition: Any) -> Conditions:
    """A ``Condition`` block as ``{(operator, key): values}``. StringEquals without wildcards is
    StringLike and ArnEquals is ArnLike (they match alike), so moving a key from one to the
    other compares its values (both on one key of a statement would have to hold together;
    guard never writes that)."""
    out: Conditions = {}
    for op, block in condition.items() if isinstance(condition, Mapping) else ():
        for key, values in block.items() if isinstance(block, Mapping) else ():
            found = frozenset(str(v) for v in as_list(values))
            like = op == "ArnEquals" or (op == "StringEquals" and not any("*" in v for v in found))
            slot = (str(op).replace("Equals", "Like") if like else str(op), str(key))
            out[slot] = out.get(slot, frozenset()) | found
    return out


def canonical_condition(condition: Any) -> str:
    """A statement's condition as sorted JSON text, as written ("" for none)."""
    if not isinstance(condition, Mapping) or not condition:
        return ""
    return json.dumps(
        {
            op: {k: sorted(map(str, as_list(v))) for k, v in block.items()}
            for op, block in condition.items()
            if isinstance(block, Mapping)
        },
        sort_keys=True,
    )


@lru_cache(maxsize=4096)
def parsed_conditions(condition: str) -> Conditions:
    return conditions_of(json.loads(condition)) if condition else {}


def grants_of(document: Any, source: str) -> dict[Grant, str]:
    """Every grant of a policy document, with its statement's label (Sid, else position)."""
    document = parse_json_text(document)
    if not isinstance(document, Mapping):
        # Unreadable (unknown at plan time): compared as text, so any change is reported.
        return {Grant("Allow", "?", source, json.dumps(document, sort_keys=True)): source}
    out: dict[Grant, str] = {}
    for index, st in enumerate(statements_in(document)):
        lists = {}
        for key in ("Action", "Resource"):
            lists[key] = [str(v) for v in as_list(st.get(key))]
            if f"Not{key}" in st:
                lists[key] = ["!" + ",".join(sorted(str(v) for v in as_list(st[f"Not{key}"])))]
        condition = canonical_condition(st.get("Condition"))
        label = str(st.get("Sid") or f"{source}[{index}]")
        for action in lists["Action"]:
            for resource in lists["Resource"]:
                out.setdefault(Grant(str(st.get("Effect")), action, resource, condition), label)
    return out


def glob_covers(wide: str, narrow: str, ignore_case: bool = False) -> bool:
    """Whether every value the glob ``narrow`` matches, ``wide`` matches too."""
    if wide in ("*", narrow):
        return True
    if wide.startswith("!") or narrow.startswith("!"):
        return False
    # A "?" of ``wide`` would match a "*" of ``narrow`` as if it stood for one character.
    if "?" in wide and any(c in narrow for c in "*?"):
        return False
    return glob_match(wide, narrow, ignore_case=ignore_case)


def conditions_cover(wide: Conditions, narrow: Conditions) -> bool:
    """Whether ``wide`` holds whenever ``narrow`` does: each of its tests is in ``narrow``, with
    as many values for a positive string/ARN operator, as few for a negated one, else equal."""
    for (op, key), values in wide.items():
        other, base = narrow.get((op, key)), op.split(":")[-1]
        if other is None:
            return False
        if "Not" in base:
            holds = values <= other
        else:
            holds = values >= other if base.startswith(("String", "Arn")) else values == other
        if not holds:
            return False
    return True


def covered(grant: Grant, others: Mapping[Grant, str]) -> bool:
    """Whether a grant of ``others`` with the same effect applies whenever ``grant`` does."""
    return any(
        o.effect == grant.effect
        and glob_covers(o.action, grant.action, ignore_case=True)
        and glob_covers(o.resource, grant.resource)
        and conditions_cover(parsed_conditions(o.condition), parsed_conditions(grant.condition))
        for o in others
    )


def grouped_statements(grants: list[Grant], labels: Mapping[Grant, str]) -> list[tuple[str, dict]]:
    """Grants grouped back into statements: per label and condition, actions sharing resources."""
    by: dict[tuple[str, str, str], dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for g in grants:
        by[(labels[g], g.effect, g.condition)][g.action].add(g.resource)
    out = []
    for (label, effect, condition), actions in sorted(by.items()):
        shared: dict[frozenset[str], list[str]] = defaultdict(list)
        for action, targets in actions.items():
            shared[frozenset(targets)].append(action)
        for resources, acts in sorted(shared.items(), key=lambda item: sorted(item[1])):
            st = {"Effect": effect, "Action": sorted(acts), "Resource": sorted(resources)}
            out.append((label, {**st, "Condition": json.loads(condition)} if condition else st))
    return out
