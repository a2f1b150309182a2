"""Shared defaults for many stack files: ``guard:defaults: ../defaults/baseline.yaml``.

A stack file may name one defaults file, relative to the stack file's directory. The defaults
file is shaped like a stack file (``config:`` with ``guard:<key>: value`` entries) and its
values lie *under* the stack's own: mappings merge key by key, recursively, the stack winning;
any other value the stack sets (a list, a scalar) replaces the default entirely. Thirty
account stacks can so share ``guard:alerts``, ``guard:detection``, ``guard:tuners``, ... from
one file, and still override any single key.

What is per stack stays in the stack file: ``aws:*`` keys, ``guard:account_id``, secrets (Pulumi
encrypts them per stack) and ``guard:defaults`` itself (no chains).

This module is plain functions over plain data: the checks of a defaults file's entries, the
merge of the engine's string-valued config map over the defaults, and where each value came
from (:func:`origin_of` for an error's key path, :func:`leaf_origins` for ``guard stacks
--origin``). :mod:`guard.config.loader` reads the files and validates the merged map.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any, Final, Literal

from guard.config.errors import MISSING, KeyPath, Problem

#: The stack file key naming the defaults file; removed from the map before validation.
DEFAULTS_KEY: Final = "guard:defaults"
NAMESPACE_PREFIX: Final = "guard:"

#: Where a value came from: the stack file, or the defaults file it names.
Origin = Literal["stack", "defaults"]
STACK: Final[Origin] = "stack"
DEFAULTS: Final[Origin] = "defaults"

#: guard: keys a defaults file may not set, and why.
PER_STACK_KEYS: Final[Mapping[str, str]] = {
    DEFAULTS_KEY: (
        "a defaults file cannot name another defaults file (no chains): merge the two files "
        "into one"
    ),
    "guard:account_id": "the account is per stack: set guard:account_id in each stack file",
}
SECURE_VALUE_MESSAGE: Final = (
    "secrets belong in the stack file, where Pulumi encrypts them per stack; "
    "a defaults file holds no secure: values"
)

_ABSENT: Any = object()


# --- the guard:defaults value ----------------------------------------------------------------


def path_problem(written: str) -> str | None:
    """Why the ``guard:defaults`` value cannot name a defaults file, or None when it can."""
    text = written.strip()
    if not text or text.startswith(("{", "[")):
        return (
            "must be the path of a defaults file, relative to the stack file's directory, "
            "e.g. ../defaults/baseline.yaml"
        )
    if PurePosixPath(text).is_absolute() or PureWindowsPath(text).is_absolute():
        return (
            "must be a path relative to the stack file's directory, not an absolute path, so "
            "that every machine reads the same file (e.g. ../defaults/baseline.yaml)"
        )
    return None


def resolve(stack_source: str, written: str) -> Path:
    """The defaults file's path: ``written`` against the stack file's directory, normalized
    (``stacks/../defaults/baseline.yaml`` is ``defaults/baseline.yaml``), relative to the
    working directory when the stack file's path is."""
    return Path(os.path.normpath(Path(stack_source).parent / written.strip()))


# --- the defaults file's entries -------------------------------------------------------------


def check_entries(
    config: Mapping[Any, Any], lines: Mapping[KeyPath, int], source: str
) -> tuple[dict[str, Any], list[Problem]]:
    """The entries a defaults file may hold, and a problem (with ``source`` and line) for each
    entry it may not: a key outside ``guard:``, a per-stack key, a ``secure:`` value.

    ``lines`` is keyed by config key path (``("guard:alerts", "slack")``).
    """
    usable: dict[str, Any] = {}
    problems: list[Problem] = []

    def refuse(path: KeyPath, message: str, value: Any = MISSING) -> None:
        problems.append(Problem(path, message, value, line=line_of(lines, path), source=source))

    for raw_key, value in config.items():
        key = str(raw_key)
        if key.startswith("aws:"):
            refuse(
                (key,),
                f"{key} is per stack: set it in each stack file; "
                "a defaults file holds guard: keys only",
                value,
            )
        elif not key.startswith(NAMESPACE_PREFIX):
            refuse((key,), "unknown key: a defaults file holds guard: keys only", value)
        elif key in PER_STACK_KEYS:
            refuse((key,), PER_STACK_KEYS[key], value)
        else:
            secrets = secure_paths(value, (key,))
            for path in secrets:
                refuse(path, SECURE_VALUE_MESSAGE)
            if not secrets:
                usable[key] = value
    return usable, problems


def secure_paths(value: Any, path: KeyPath) -> list[KeyPath]:
    """The key paths of ``{secure: ...}`` values in ``value`` (itself at ``path``)."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return [path]
        return [p for key, child in value.items() for p in secure_paths(child, (*path, str(key)))]
    if isinstance(value, list):
        return [p for index, item in enumerate(value) for p in secure_paths(item, (*path, index))]
    return []


# --- merging ---------------------------------------------------------------------------------


def merge(defaults: Any, stack: Any) -> Any:
    """``stack`` over ``defaults``: two mappings merge key by key (recursively, the stack's
    value winning); anything else the stack sets replaces the default entirely."""
    if isinstance(defaults, dict) and isinstance(stack, dict):
        merged = dict(defaults)
        for key, value in stack.items():
            merged[key] = merge(defaults[key], value) if key in defaults else value
        return merged
    return stack


def decoded(raw: Mapping[str, str]) -> dict[str, Any]:
    """The engine's string map with its mappings decoded (JSON objects); other values, lists
    included, stay as text: a stack's list or scalar replaces the default, whatever it holds.
    ``guard:defaults`` is left out."""
    return {
        key: mapping if (mapping := _mapping(text)) is not None else text
        for key, text in raw.items()
        if key != DEFAULTS_KEY
    }


def merge_raw(
    defaults: Mapping[str, Any], defaults_raw: Mapping[str, str], raw: Mapping[str, str]
) -> dict[str, str]:
    """The engine's string map ``raw`` merged over a defaults file's entries, without
    ``guard:defaults``: what the program validates.

    ``defaults`` holds the entries as values, ``defaults_raw`` as the engine's strings (JSON for
    mappings and lists). Keys of both keep the defaults file's order, then come the stack's own.
    """
    merged = dict(defaults_raw)
    for key, text in raw.items():
        if key == DEFAULTS_KEY:
            continue
        default = defaults.get(key)
        stack = _mapping(text) if isinstance(default, dict) else None
        merged[key] = json.dumps(merge(default, stack)) if stack is not None else text
    return merged


def _mapping(text: str) -> dict[str, Any] | None:
    if not text.lstrip().startswith("{"):
        return None
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


# --- origins ---------------------------------------------------------------------------------


def origin_of(path: KeyPath, defaults: Mapping[str, Any], stack: Mapping[str, Any]) -> Origin:
    """Which file the value at ``path`` of the merged config came from.

    A path into a value only one file has is that file's. A path into a mapping both files
    have is the stack's unless only the defaults file has the next key; a key neither has (a
    required key missing) is the stack's, the file the stack's owner edits.
    """
    here_defaults: Any = defaults
    here_stack: Any = stack
    for part in path:
        if here_defaults is _ABSENT:
            return STACK
        if here_stack is _ABSENT:
            return DEFAULTS
        if not (isinstance(here_defaults, dict) and isinstance(here_stack, dict)):
            return STACK  # the stack's value replaced the default entirely
        here_defaults = here_defaults.get(part, _ABSENT)
        here_stack = here_stack.get(part, _ABSENT)
    return DEFAULTS if here_stack is _ABSENT and here_defaults is not _ABSENT else STACK


def leaf_origins(defaults: Mapping[str, Any], stack: Mapping[str, Any]) -> dict[KeyPath, Origin]:
    """Every leaf key path of the merged config, with the file its value came from.

    A leaf is a value that is not a mapping (a list counts as one value: it is replaced whole),
    or an empty mapping.
    """
    out: dict[KeyPath, Origin] = {}

    def walk(path: KeyPath, here_defaults: Any, here_stack: Any) -> None:
        if here_stack is _ABSENT:
            _leaves(path, here_defaults, DEFAULTS, out)
        elif here_defaults is _ABSENT or not (
            isinstance(here_defaults, dict) and isinstance(here_stack, dict)
        ):
            _leaves(path, here_stack, STACK, out)
        elif not here_defaults and not here_stack:
            out[path] = STACK
        else:
            for key in {**here_defaults, **here_stack}:
                walk((*path, key), here_defaults.get(key, _ABSENT), here_stack.get(key, _ABSENT))

    for key in {**defaults, **stack}:
        walk((key,), defaults.get(key, _ABSENT), stack.get(key, _ABSENT))
    return out


def _leaves(path: KeyPath, value: Any, origin: Origin, out: dict[KeyPath, Origin]) -> None:
    if isinstance(value, dict) and value:
        for key, child in value.items():
            _leaves((*path, str(key)), child, origin, out)
    else:
        out[path] = origin


def line_of(lines: Mapping[KeyPath, int], path: KeyPath) -> int | None:
    """The line of ``path``, or of the closest key above it that has one."""
    for end in range(len(path), 0, -1):
        line = lines.get(path[:end])
        if line is not None:
            return line
    return None
