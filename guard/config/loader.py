"""Load a stack's configuration from its Pulumi stack file or from the Pulumi runtime, and validate it.

The same :func:`load_stack_config` runs in ``pulumi up`` (reading the engine's config) and in
``guard plan`` (reading ``stacks/Pulumi.<stack>.yaml``), so both reject exactly the same input.
"""

from __future__ import annotations

import dataclasses
import json
import os
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from guard.config.errors import MISSING, ConfigError, KeyPath, Problem
from guard.config.stack import SCALAR_KEYS, StackConfig

NAMESPACE = "guard"
#: Top-level keys Pulumi itself writes into a stack file.
STACK_FILE_KEYS = ("config", "secretsprovider", "encryptedkey", "encryptionsalt", "environment")
SECRET_PLACEHOLDER = "[secret]"  # noqa: S105 - a marker shown instead of a secret

#: A check that needs more than one field (catalog lookups, overlaps, WCU): it returns problems
#: and appends warnings. guard.cross_checks lists them all.
CrossCheck = Callable[[StackConfig, list[str], date], list[Problem]]


@dataclass(frozen=True)
class LoadedConfig:
    """A validated configuration, the warnings it raised, and where it came from."""

    config: StackConfig
    source: str
    warnings: tuple[str, ...] = ()
    secret_keys: tuple[str, ...] = ()
    raw: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StackFile:
    """A stack file as the Pulumi engine would hand it to the program: every value a string."""

    path: Path
    raw: dict[str, str]
    secret_keys: tuple[str, ...]
    lines: dict[KeyPath, int]


# --- reading ---------------------------------------------------------------------------------


# libyaml's parser when PyYAML was built with it: stack files of hundreds of products parse in
# a fraction of the pure-Python time.
_BaseLoader: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_BaseLoader):
    """A safe loader that keeps dates as text, as Pulumi does, and remembers line numbers."""


# Pulumi hands object config to the program as JSON text; a YAML date must stay a string here too.
_LineLoader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _walk_lines(
    node: yaml.Node, path: KeyPath, lines: dict[KeyPath, int], problems: list[Problem]
) -> None:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = (*path, key)
            if key in seen:
                problems.append(
                    Problem(
                        child,
                        "duplicate key: YAML keeps only the last one",
                        line=key_node.start_mark.line + 1,
                    )
                )
            seen.add(key)
            lines[child] = key_node.start_mark.line + 1
            _walk_lines(value_node, child, lines, problems)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk_lines(item, (*path, index), lines, problems)


def _as_config_string(value: Any) -> str:
    # Mirrors the engine: scalars are passed as text, objects and lists as JSON.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=False)
    return str(value)


def read_stack_file(path: Path) -> StackFile:
    """Parse ``Pulumi.<stack>.yaml`` into the engine's string-valued config map."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(
            source, [Problem((), f"cannot read the stack file: {err.strerror}")]
        ) from None
    try:
        loader = _LineLoader(text)
        try:
            node = loader.get_single_node()
            document = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(source, [Problem((), f"not valid YAML: {err}", line=line)]) from None
    problems: list[Problem] = []
    lines: dict[KeyPath, int] = {}
    if node is not None:
        _walk_lines(node, (), lines, problems)
    if not isinstance(document, dict):
        raise ConfigError(
            source, [Problem((), "the stack file must be a mapping with a 'config' key")]
        )
    for key in document:
        if key not in STACK_FILE_KEYS:
            problems.append(
                Problem(
                    (key,),
                    f"unknown top-level key; allowed: {', '.join(STACK_FILE_KEYS)}",
                    line=lines.get((key,)),
                )
            )
    config = document.get("config") or {}
    if not isinstance(config, dict):
        problems.append(Problem(("config",), "must be a mapping of config keys", config))
        config = {}
    raw: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, value in config.items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            # Secure values stay opaque offline: the plan never sees (or needs) the plaintext.
            raw[str(key)] = SECRET_PLACEHOLDER
            secret_keys.append(str(key))
        else:
            raw[str(key)] = _as_config_string(value)
    if problems:
        raise ConfigError(source, problems).with_lines(_config_lines(lines))
    return StackFile(path, raw, tuple(secret_keys), _config_lines(lines))


def _config_lines(lines: dict[KeyPath, int]) -> dict[KeyPath, int]:
    """Line numbers keyed by config key path (without the leading ``config``)."""
    out: dict[KeyPath, int] = {}
    for path, line in lines.items():
        if path[:1] == ("config",) and len(path) > 1:
            out[path[1:]] = line
        elif path and path[0] != "config":
            out[path] = line
    return out


def raw_from_pulumi() -> dict[str, str]:
    """The engine's config map as the running Pulumi program sees it."""
    from pulumi.runtime import config as runtime_config

    raw: dict[str, str] = {}
    for key, value in runtime_config.get_config_env().items():
        raw[key] = value
    raw.update(runtime_config.CONFIG.get())
    return raw


# --- validating ------------------------------------------------------------------------------


def _decode(raw: Mapping[str, str], source: str) -> tuple[dict[str, Any], list[Problem]]:
    values: dict[str, Any] = {}
    problems: list[Problem] = []
    allowed = sorted({*StackConfig.model_fields} - {"region"})
    for key, text in raw.items():
        namespace, _, name = key.partition(":")
        if namespace != NAMESPACE:
            continue
        if name not in StackConfig.model_fields or name == "region":
            problems.append(
                Problem((key,), f"unknown key; allowed: {', '.join(f'guard:{a}' for a in allowed)}")
            )
            continue
        if name in SCALAR_KEYS:
            values[name] = text
            continue
        try:
            values[name] = json.loads(text)
        except (TypeError, json.JSONDecodeError):
            problems.append(Problem((key,), "must be a YAML mapping or list", text))
    region = raw.get("aws:region")
    if region is None:
        problems.append(
            Problem(("aws:region",), "required: the stack's AWS region, e.g. ap-northeast-1")
        )
    else:
        values["region"] = region
    return values, problems


def _config_path(loc: Sequence[str | int]) -> KeyPath:
    head, *rest = loc
    root = "aws:region" if head == "region" else f"{NAMESPACE}:{head}"
    return (root, *rest)


def _model_in(annotation: Any, part: str | int) -> Any:
    """The type reached from ``annotation`` by stepping into ``part`` (a key or a list index)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _model_in(typing.get_args(annotation)[0], part)
    if origin in (typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _model_in(arg, part)
            if found is not None:
                return found
        return None
    if isinstance(part, int):
        return typing.get_args(annotation)[0] if origin in (list, tuple) else None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        info = annotation.model_fields.get(part)
        return info.annotation if info is not None else None
    return None


def _model_at(loc: Sequence[str | int]) -> type[BaseModel] | None:
    current: Any = StackConfig
    for part in loc:
        current = _model_in(current, part)
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


def _describe_field(loc: Sequence[str | int]) -> str | None:
    model = _model_at(loc[:-1])
    if model is None or not isinstance(loc[-1], str):
        return None
    info = model.model_fields.get(loc[-1])
    return info.description if info is not None else None


def _problem_from(error: Mapping[str, Any]) -> Problem:
    loc = [p for p in error["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
    kind = error["type"]
    value = error.get("input", MISSING)
    message = str(error["msg"])
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        allowed = ", ".join(model.model_fields) if model is not None else "see the README"
        message, value = f"unknown key; allowed: {allowed}", MISSING
    elif kind == "missing":
        message, value = "required key is missing", MISSING
    elif kind == "value_error":
        message = message.removeprefix("Value error, ")
    elif kind == "string_pattern_mismatch":
        described = _describe_field(loc)
        message = f"must be {described}" if described else f"must match {error['ctx']['pattern']}"
    else:
        message = message.replace("Input should be", "must be").replace(
            "Input should have", "must have"
        )
    if kind in ("model_type", "dict_type") and not loc:
        message = "must be a mapping"
    return Problem(_config_path(loc) if loc else (), message, value)


def load_stack_config(
    raw: Mapping[str, str],
    source: str,
    *,
    secret_keys: Sequence[str] = (),
    today: date | None = None,
) -> LoadedConfig:
    """Validate the engine's config map; raise :class:`ConfigError` listing every problem.

    A plan validates the same map three times (the CLI, the program, the policies); the result
    of a successful validation is reused, since the models are immutable.
    """
    today = today or date.today()
    key = (tuple(sorted(raw.items())), tuple(secret_keys), today)
    cached = _VALIDATED.get(key)
    if cached is not None:
        return cached if cached.source == source else dataclasses.replace(cached, source=source)
    loaded = _validate(raw, source, secret_keys, today)
    if len(_VALIDATED) >= 8:
        _VALIDATED.pop(next(iter(_VALIDATED)))
    _VALIDATED[key] = loaded
    return loaded


_VALIDATED: dict[tuple[Any, ...], LoadedConfig] = {}


def _validate(
    raw: Mapping[str, str], source: str, secret_keys: Sequence[str], today: date
) -> LoadedConfig:
    values, problems = _decode(raw, source)
    if problems:
        raise ConfigError(source, problems)
    try:
        config = StackConfig.model_validate(values)
    except ValidationError as err:
        raise ConfigError(source, [_problem_from(e) for e in err.errors()]) from None
    # Imported here: the checks use the config models this module's package defines.
    from guard.cross_checks import CROSS_CHECKS

    warnings: list[str] = []
    for check in CROSS_CHECKS:
        problems.extend(check(config, warnings, today))
    if problems:
        raise ConfigError(source, problems)
    return LoadedConfig(config, source, tuple(warnings), tuple(secret_keys), dict(raw))


def load_stack_file(path: Path, *, today: date | None = None) -> LoadedConfig:
    """Read and validate a stack file; errors carry the file's line numbers."""
    stack_file = read_stack_file(path)
    try:
        return load_stack_config(
            stack_file.raw, str(path), secret_keys=stack_file.secret_keys, today=today
        )
    except ConfigError as err:
        raise err.with_lines(stack_file.lines) from None


#: Overrides where stack files live (tests point it at their own fixture stacks).
STACKS_DIR_VARIABLE = "GUARD_STACKS_DIR"


def stacks_dir() -> Path:
    """The directory of the stack files: ``stackConfigDir: stacks`` in Pulumi.yaml."""
    return Path(os.environ.get(STACKS_DIR_VARIABLE) or "stacks")


def stack_file_for(stack: str) -> str:
    """Where a stack's config lives."""
    return str(stacks_dir() / f"Pulumi.{stack}.yaml")
