"""Plan documents for the diff tests: the real program under mocks, read back from its JSON.

Each side of a diff test is planned from a stack config (``load``) exactly as ``guard plan
--format json`` writes it, so the differs read what they read in a pull request.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from guard.config import LoadedConfig
from guard.diff import DiffResult, diff_documents
from guard.diff_model import Change, PlanDocument, PlanResource
from guard.plan import run_program
from guard.report import render_json
from tests.conftest import load

ALERTS = {
    "slack": {
        "workspace_id": "T0EXAMPLE1",
        "normal_channel": "C0NORMAL01",
        "urgent_channel": "C0URGENT01",
    }
}


def plan_document(loaded: LoadedConfig, stack: str = "test") -> PlanDocument:
    """The plan JSON of ``loaded`` (without policy findings), as ``guard diff`` reads it."""
    result = run_program(loaded, stack)
    return PlanDocument.from_json(json.loads(render_json(result)), f"plan of {stack}")


def diff(base: LoadedConfig, head: LoadedConfig, stack: str = "test") -> DiffResult:
    return diff_documents(
        plan_document(base, stack), plan_document(head, stack), base_label="base", head_label="head"
    )


def changes_of(result: DiffResult, area: str) -> list[Change]:
    return [c for c in result.changes if c.area == area]


def only(changes: list[Change], **fields: Any) -> Change:
    """The one change whose fields equal ``fields`` (an assertion error listing all if not one)."""
    found = [c for c in changes if all(getattr(c, k) == v for k, v in fields.items())]
    assert len(found) == 1, f"expected one change with {fields}, got: " + "\n".join(
        f"{c.effect} {c.area} {c.subject} {c.kind} {c.path}: {c.reason}" for c in changes
    )
    return found[0]


@functools.cache
def _plan(sections: str) -> PlanDocument:
    return plan_document(load(**json.loads(sections)))


def plan(**sections: Any) -> PlanDocument:
    """The plan document of ``load(**sections)``, planned once per test session."""
    return _plan(json.dumps(sections, sort_keys=True))


def changes(base: PlanDocument, head: PlanDocument, *areas: str) -> list[Change]:
    """The engine's changes from ``base`` to ``head`` in ``areas``."""
    result = diff_documents(base, head, base_label="base", head_label="head")
    return [c for area in areas for c in changes_of(result, area)]


def edited(
    document: PlanDocument, type_token: str, name: str, change: Callable[[dict[str, Any]], Any]
) -> PlanDocument:
    """``document`` with the inputs of its ``type_token`` resource ``name`` changed in a copy."""
    found = False

    def edit(resource: PlanResource) -> PlanResource:
        nonlocal found
        if resource.type != type_token or resource.name != name:
            return resource
        found = True
        inputs = copy.deepcopy(dict(resource.inputs))
        change(inputs)
        return replace(resource, inputs=inputs)

    resources = tuple(edit(r) for r in document.resources)
    assert found, f"no {type_token} {name}"
    return replace(document, resources=resources)


def without(document: PlanDocument, type_token: str, name: str | None = None) -> PlanDocument:
    """``document`` without its ``type_token`` resources (only ``name`` if given)."""
    kept = tuple(
        r for r in document.resources if r.type != type_token or name not in (None, r.name)
    )
    assert len(kept) < len(document.resources), f"no {type_token} {name}"
    return replace(document, resources=kept)
