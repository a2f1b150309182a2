"""pydantic's validation errors as :class:`~guard.config.errors.Problem` records: the key path,
what is wrong in words, and "did you mean" for a misspelt key.

Shared by every file guard validates with pydantic models (stack files, review files); each
names its root model and how a pydantic location becomes the file's key path.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from guard.config.errors import MISSING, KeyPath, Problem
from guard.suggest import close_matches, did_you_mean

#: Turns pydantic's location (``("products", 0, "name")``) into the file's key path.
PathOf = Callable[[Sequence[str | int]], KeyPath]


def model_in(annotation: Any, part: str | int) -> Any:
    """The type reached from ``annotation`` by stepping into ``part`` (a key or a list index)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return model_in(typing.get_args(annotation)[0], part)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = model_in(arg, part)
            if found is not None:
                return found
        return None
    if isinstance(part, int):
        return typing.get_args(annotation)[0] if origin in (list, tuple) else None
    if origin is dict:
        return typing.get_args(annotation)[1]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        info = annotation.model_fields.get(part)
        return info.annotation if info is not None else None
    return None


def model_at(root: type[BaseModel], loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The model reached from ``root`` along ``loc``, or None where it leaves the models."""
    current: Any = root
    for part in loc:
        current = model_in(current, part)
        if current is None:
            return None
    while typing.get_origin(current) in (typing.Union, types.UnionType, typing.Annotated):
        models = [
            a for a in typing.get_args(current) if isinstance(a, type) and issubclass(a, BaseModel)
        ]
        if not models:
            return None
        current = models[0]
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def describe_field(root: type[BaseModel], loc: Sequence[str | int]) -> str | None:
    model = model_at(root, loc[:-1])
    if model is None or not isinstance(loc[-1], str):
        return None
    info = model.model_fields.get(loc[-1])
    return info.description if info is not None else None


def problem_from(error: Mapping[str, Any], root: type[BaseModel], path_of: PathOf) -> Problem:
    """One pydantic error as a problem at its key path, with what is allowed in words."""
    loc = [p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
    kind = error["type"]
    value = error.get("input", MISSING)
    message = str(error["msg"])
    if kind == "extra_forbidden":
        model = model_at(root, loc[:-1])
        names = list(model.model_fields) if model is not None else []
        hint = did_you_mean(str(loc[-1]), names) if loc else ""
        allowed = ", ".join(names) if names else "see the README"
        message, value = f"unknown key{hint}; allowed: {allowed}", MISSING
    elif kind == "string_type" and isinstance(value, (int, float)) and not isinstance(value, bool):
        message = (
            f"must be text, not the number {value}: YAML reads unquoted digits as a number; "
            "quote the value"
        )
    elif kind == "missing":
        message, value = "required key is missing", MISSING
    elif kind == "value_error":
        message = message.removeprefix("Value error, ")
    elif kind == "string_pattern_mismatch":
        described = describe_field(root, loc)
        message = f"must be {described}" if described else f"must match {error['ctx']['pattern']}"
    else:
        message = message.replace("Input should be", "must be").replace(
            "Input should have", "must have"
        )
    if kind in ("model_type", "dict_type") and not loc:
        message = "must be a mapping"
    return Problem(path_of(loc) if loc else (), message, value)


def one_per_misspelling(
    errors: Sequence[Mapping[str, Any]], root: type[BaseModel]
) -> list[Mapping[str, Any]]:
    """The errors without "required key is missing" for a required key written misspelt.

    ``workspace_idd`` is one mistake: its "unknown key (did you mean workspace_id?)" says it all.
    """
    missing = {tuple(e["loc"]) for e in errors if e["type"] == "missing"}
    covered: set[tuple[Any, ...]] = set()
    for error in errors:
        loc = tuple(error["loc"])
        if error["type"] != "extra_forbidden" or not loc:
            continue
        model = model_at(root, loc[:-1])
        close = close_matches(str(loc[-1]), list(model.model_fields) if model else [])
        if close and (*loc[:-1], close[0]) in missing:
            covered.add((*loc[:-1], close[0]))
    return [e for e in errors if not (e["type"] == "missing" and tuple(e["loc"]) in covered)]


def is_text(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return is_text(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return any(is_text(a) for a in typing.get_args(annotation))
    return annotation is str
