"""Load a stack's configuration from its Pulumi stack file or from the Pulumi runtime, and validate it.

The same :func:`load_stack_config` runs in ``pulumi up`` (reading the engine's config) and in
``guard plan`` (reading ``stacks/Pulumi.<stack>.yaml``), so both reject exactly the same input.
"""

from __future__ import annotations

import dataclasses
import json
import os
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from guard.config import defaults, yaml_reader
from guard.config.base import SECRET_PLACEHOLDER
from guard.config.defaults import DEFAULTS, DEFAULTS_KEY
from guard.config.errors import MISSING, AsWritten, ConfigError, KeyPath, Problem, format_key_path
from guard.config.partial import partial_cross_checks
from guard.config.stack import SCALAR_KEYS, StackConfig
from guard.config.validation_errors import is_text, model_in, one_per_misspelling, problem_from
from guard.suggest import close_matches, did_you_mean

NAMESPACE = "guard"
#: Top-level keys Pulumi itself writes into a stack file.
STACK_FILE_KEYS = ("config", "secretsprovider", "encryptedkey", "encryptionsalt", "environment")

#: A check that needs more than one field (catalog lookups, overlaps, WCU): it returns problems
#: and appends warnings. guard.cross_checks lists them all.
CrossCheck = Callable[[StackConfig, list[str], date], list[Problem]]
_T = typing.TypeVar("_T")


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
    #: Plain scalars YAML read as numbers, as written, by config key path (for "quote it").
    numbers: dict[KeyPath, str] = field(default_factory=dict)


@dataclass(frozen=True)
class DefaultsFile:
    """The defaults file a stack file names (``guard:defaults``), read and checked."""

    #: Its path, relative to the working directory when the stack file's path is.
    source: str
    #: The entries it may hold, as values (mappings and lists as the engine's JSON decodes them).
    values: dict[str, Any]
    #: The same entries as the engine's strings.
    raw: dict[str, str]
    lines: dict[KeyPath, int]
    numbers: dict[KeyPath, str] = field(default_factory=dict)
    #: Entries it may not hold (aws: keys, guard:account_id, secure: values, ...), each with
    #: this file as its source; they are left out of the merge.
    problems: tuple[Problem, ...] = ()


# --- reading ---------------------------------------------------------------------------------


def _as_config_string(value: Any) -> str:
    # Mirrors the engine: scalars are passed as text, objects and lists as JSON.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=False)
    return str(value)


_UNPASSABLE = (
    "holds a value Pulumi cannot pass to the program (an explicit YAML tag such as !!binary, "
    "!!set or !!timestamp?); write text, numbers, true/false, lists and mappings only"
)


def read_stack_file(path: Path) -> StackFile:
    """Parse ``Pulumi.<stack>.yaml`` into the engine's string-valued config map.

    The file is untrusted (fork pull requests are planned): :mod:`guard.config.yaml_reader`
    bounds its size and alias expansion and requires UTF-8.
    """
    source = str(path)
    parsed = yaml_reader.parse(yaml_reader.read_text(path), source)
    document, lines, problems = parsed.document, parsed.lines, list(parsed.problems)
    if not isinstance(document, dict):
        raise ConfigError(
            source, [Problem((), "the stack file must be a mapping with a 'config' key")]
        )
    for key in document:
        if key not in STACK_FILE_KEYS:
            problems.append(
                Problem(
                    (key,),
                    f"unknown top-level key{did_you_mean(str(key), STACK_FILE_KEYS)}; "
                    f"allowed: {', '.join(STACK_FILE_KEYS)}",
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
            continue
        try:
            raw[str(key)] = _as_config_string(value)
        except (TypeError, ValueError):
            # Explicit tags (!!binary, !!set, !!timestamp) make values JSON cannot carry.
            problems.append(Problem((str(key),), _UNPASSABLE))
    config_lines = _config_lines(lines)
    if problems:
        raise ConfigError(source, problems).with_lines(config_lines)
    return StackFile(path, raw, tuple(secret_keys), config_lines, _config_lines(parsed.numbers))


def _config_lines(lines: Mapping[KeyPath, _T]) -> dict[KeyPath, _T]:
    """Line numbers (or texts) keyed by config key path (without the leading ``config``)."""
    out: dict[KeyPath, _T] = {}
    for path, line in lines.items():
        if path[:1] == ("config",) and len(path) > 1:
            out[path[1:]] = line
        elif path and path[0] != "config":
            out[path] = line
    return out


def read_defaults_file(stack_source: str, written: str) -> DefaultsFile:
    """Read the defaults file ``written`` (the ``guard:defaults`` value) names, relative to the
    directory of the stack file ``stack_source``.

    A file that cannot be used (missing, unreadable, not YAML, not a ``config:`` mapping) raises
    :class:`ConfigError` for ``stack_source``: a problem at ``guard:defaults`` naming the path
    tried, then the file's own located problems. Entries it may not hold come back as
    :attr:`DefaultsFile.problems`, so that one run reports them with the rest.
    """
    path = defaults.resolve(stack_source, written)
    shown = str(path)
    try:
        text = yaml_reader.read_text(path, f"the defaults file {shown}")
    except ConfigError as err:
        relative = " (the path is relative to the stack file's directory)"
        raise _unusable(stack_source, written, shown, err.problems, relative) from None
    try:
        parsed = yaml_reader.parse(text, shown)
    except ConfigError as err:
        raise _unusable(stack_source, written, shown, err.problems) from None
    document, problems = parsed.document, list(parsed.problems)
    if not isinstance(document, dict):
        not_mapping = Problem(
            (),
            f"the defaults file {shown} must be a mapping with a 'config' key of guard: "
            "entries, like a stack file",
        )
        raise _unusable(stack_source, written, shown, [not_mapping])
    config = document.get("config") or {}
    if not isinstance(config, dict):
        not_config = Problem(
            ("config",), "must be a mapping of guard: keys", line=parsed.lines.get(("config",))
        )
        raise _unusable(stack_source, written, shown, [not_config])
    lines = _config_lines(parsed.lines)
    problems += [
        Problem(
            (str(key),),
            "unknown top-level key; a defaults file holds only config:",
            line=lines.get((str(key),)),
        )
        for key in document
        if key != "config"
    ]
    entries, refused = defaults.check_entries(config, lines, shown)
    problems = [dataclasses.replace(p, source=shown) for p in problems] + refused
    values: dict[str, Any] = {}
    raw: dict[str, str] = {}
    for key, value in entries.items():
        try:
            raw[key] = _as_config_string(value)
        except (TypeError, ValueError):
            problems.append(Problem((key,), _UNPASSABLE, line=lines.get((key,)), source=shown))
            continue
        values[key] = json.loads(raw[key]) if isinstance(value, (dict, list)) else raw[key]
    return DefaultsFile(shown, values, raw, lines, _config_lines(parsed.numbers), tuple(problems))


def _unusable(
    stack_source: str, written: str, shown: str, problems: Sequence[Problem], note: str = ""
) -> ConfigError:
    """A defaults file that cannot be used: what is wrong, at ``guard:defaults`` of the stack
    file (``note`` added), then the problems located in the defaults file."""
    unlocated = [p.message for p in problems if not p.line]
    located = [dataclasses.replace(p, source=shown) for p in problems if p.line]
    count = f"{len(located)} error{'s' if len(located) != 1 else ''}"
    reason = "; ".join(unlocated) or f"the defaults file {shown} has {count}, listed below"
    head = Problem((DEFAULTS_KEY,), reason + note, written)
    return ConfigError(stack_source, [head, *located])


def _defaults_file(
    raw: Mapping[str, str], source: str, secret_keys: Sequence[str]
) -> DefaultsFile | None:
    """The defaults file ``raw`` names (``guard:defaults``), or None when it names none."""
    written = raw.get(DEFAULTS_KEY)
    if written is None:
        return None
    if DEFAULTS_KEY in secret_keys:
        secure = "must be a plain path, not a secure value"
        raise ConfigError(source, [Problem((DEFAULTS_KEY,), secure)])
    problem = defaults.path_problem(written)
    if problem is not None:
        raise ConfigError(source, [Problem((DEFAULTS_KEY,), problem, written)])
    return read_defaults_file(source, written)


def stack_file_origins(path: Path) -> dict[str, str]:
    """Where each leaf config value of a stack comes from, as ``file:line``, by key path:
    ``{"aws:region": "stacks/Pulumi.shop.yaml:2", "guard:alerts.slack.workspace_id":
    "defaults/baseline.yaml:4"}``, sorted by key path. Files are named as the stack file's
    path is (relative to the working directory when it is); a list is one leaf.
    """
    stack_file = read_stack_file(path)
    try:
        defaults_file = _defaults_file(stack_file.raw, str(path), stack_file.secret_keys)
    except ConfigError as err:
        raise err.with_lines(stack_file.lines) from None
    found = defaults.leaf_origins(
        defaults_file.values if defaults_file is not None else {},
        defaults.decoded(stack_file.raw),
    )
    origins: dict[str, str] = {}
    for key_path, origin in found.items():
        if defaults_file is not None and origin == DEFAULTS:
            where, lines = defaults_file.source, defaults_file.lines
        else:
            where, lines = str(path), stack_file.lines
        line = defaults.line_of(lines, key_path)
        origins[format_key_path(key_path)] = f"{where}:{line}" if line else where
    return dict(sorted(origins.items()))


def secret_keys_from_pulumi() -> tuple[str, ...]:
    """The config keys the engine holds as secrets, as the running Pulumi program sees them
    (from the engine's environment, or as the mock runtime of ``guard plan`` set them)."""
    from pulumi.runtime import config as runtime_config

    keys = {*runtime_config.get_config_secret_keys_env(), *runtime_config._SECRET_KEYS.get()}
    return tuple(sorted(keys))


def raw_from_pulumi() -> dict[str, str]:
    """The engine's config map as the running Pulumi program sees it."""
    from pulumi.runtime import config as runtime_config

    raw: dict[str, str] = {}
    for key, value in runtime_config.get_config_env().items():
        raw[key] = value
    raw.update(runtime_config.CONFIG.get())
    return raw


# --- validating ------------------------------------------------------------------------------


def _decode(raw: Mapping[str, str]) -> tuple[dict[str, Any], list[Problem], set[str]]:
    """The ``guard:`` values as Python objects, the problems, and the fields not decoded."""
    values: dict[str, Any] = {}
    problems: list[Problem] = []
    undecoded: set[str] = set()
    allowed = sorted({*StackConfig.model_fields} - {"region"})
    for key, text in raw.items():
        namespace, _, name = key.partition(":")
        if namespace != NAMESPACE:
            continue
        if name not in StackConfig.model_fields or name == "region":
            close = close_matches(name, allowed)
            hint = f" (did you mean {' or '.join(f'guard:{c}' for c in close)}?)" if close else ""
            if close and f"{NAMESPACE}:{close[0]}" not in raw:
                # A misspelt section: the cross checks must not report it as absent.
                undecoded.add(close[0])
            problems.append(
                Problem(
                    (key,),
                    f"unknown key{hint}; allowed: {', '.join(f'guard:{a}' for a in allowed)}",
                )
            )
            continue
        if name in SCALAR_KEYS:
            values[name] = text
            continue
        try:
            values[name] = json.loads(text)
        except (TypeError, json.JSONDecodeError):
            problems.append(Problem((key,), "must be a YAML mapping or list", text))
            undecoded.add(name)
    region = raw.get("aws:region")
    if region is None:
        problems.append(
            Problem(("aws:region",), "required: the stack's AWS region, e.g. ap-northeast-1")
        )
        undecoded.add("region")
    else:
        values["region"] = region
    return values, problems, undecoded


def _config_path(loc: Sequence[str | int]) -> KeyPath:
    head, *rest = loc
    root = "aws:region" if head == "region" else f"{NAMESPACE}:{head}"
    return (root, *rest)


def load_stack_config(
    raw: Mapping[str, str],
    source: str,
    *,
    secret_keys: Sequence[str] = (),
    today: date | None = None,
) -> LoadedConfig:
    """Validate the engine's config map; raise :class:`ConfigError` listing every problem.

    A map with ``guard:defaults`` is first merged over the defaults file it names, resolved
    against the directory of ``source`` (the stack file's path); a problem of a value that came
    from the defaults file names that file (:attr:`Problem.source`) and its line. The
    :attr:`LoadedConfig.raw` of the result is the merged map, without ``guard:defaults``.

    A plan validates the same map three times (the CLI, the program, the policies); the result
    of a successful validation is reused, since the models are immutable. The cache keys on the
    merged map: an edited defaults file is validated afresh.
    """
    today = today or date.today()
    defaults_file = _defaults_file(raw, source, secret_keys)
    merged = (
        dict(raw)
        if defaults_file is None
        else defaults.merge_raw(defaults_file.values, defaults_file.raw, raw)
    )
    key = (tuple(sorted(merged.items())), tuple(secret_keys), today)
    cached = _VALIDATED.get(key)
    if cached is not None and (defaults_file is None or not defaults_file.problems):
        return cached if cached.source == source else dataclasses.replace(cached, source=source)
    if defaults_file is None:
        loaded = _validate(merged, source, secret_keys, today)
    else:
        loaded = _validate_with_defaults(merged, raw, defaults_file, source, secret_keys, today)
    if len(_VALIDATED) >= 8:
        _VALIDATED.pop(next(iter(_VALIDATED)))
    _VALIDATED[key] = loaded
    return loaded


_VALIDATED: dict[tuple[Any, ...], LoadedConfig] = {}


def _validate_with_defaults(
    merged: Mapping[str, str],
    raw: Mapping[str, str],
    defaults_file: DefaultsFile,
    source: str,
    secret_keys: Sequence[str],
    today: date,
) -> LoadedConfig:
    """Validate the merged map; the problems of the defaults file's values name that file."""
    try:
        loaded = _validate(merged, source, secret_keys, today)
    except ConfigError as err:
        stack = defaults.decoded(raw)
        problems = [
            _in_defaults(p, defaults_file)
            if p.source is None
            and defaults.origin_of(p.path, defaults_file.values, stack) == DEFAULTS
            else p
            for p in err.problems
        ]
        raise ConfigError(source, [*defaults_file.problems, *problems]) from None
    if defaults_file.problems:
        raise ConfigError(source, defaults_file.problems)
    return loaded


def _in_defaults(problem: Problem, defaults_file: DefaultsFile) -> Problem:
    hinted = _quote_hint(problem, defaults_file.numbers, defaults_file.raw)
    return dataclasses.replace(
        hinted,
        source=defaults_file.source,
        line=hinted.line or defaults.line_of(defaults_file.lines, hinted.path),
    )


def _validate(
    raw: Mapping[str, str], source: str, secret_keys: Sequence[str], today: date
) -> LoadedConfig:
    # Imported here: the checks use the config models this module's package defines.
    from guard.cross_checks import CROSS_CHECKS

    values, problems, undecoded = _decode(raw)
    try:
        config = StackConfig.model_validate(values, context={"secret_keys": tuple(secret_keys)})
    except ValidationError as err:
        # A field that could not be decoded is reported already; pydantic would only add
        # "required" for it.
        errors = [e for e in err.errors() if not (e["loc"] and e["loc"][0] in undecoded)]
        problems += [
            problem_from(e, StackConfig, _config_path)
            for e in one_per_misspelling(errors, StackConfig)
        ]
        # Every error of the file in one run: the cross checks of the parts that validated.
        problems += partial_cross_checks(values, errors, undecoded, CROSS_CHECKS, today)
        raise ConfigError(source, problems) from None
    if undecoded:
        problems += partial_cross_checks(values, [], undecoded, CROSS_CHECKS, today)
        raise ConfigError(source, problems)
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
        located = err.with_lines(stack_file.lines)
        raise ConfigError(
            located.source,
            [
                p if p.source is not None else _quote_hint(p, stack_file.numbers, stack_file.raw)
                for p in located.problems
            ],
        ) from None


def _quote_hint(
    problem: Problem, numbers: Mapping[KeyPath, str], raw: Mapping[str, str]
) -> Problem:
    """ "Quote it" for a text field whose value YAML read as a number (``012345670123``);
    ``numbers`` and ``raw`` are those of the file the value came from."""
    text = numbers.get(problem.path)
    if text is None or not _takes_text(problem.path):
        return problem
    top = problem.path[0]
    if len(problem.path) == 1 and raw.get(str(top)) == text:
        return problem  # a scalar key passed on as the same text: quoting changes nothing
    read_as = (
        " as a number"
        if problem.value is MISSING or str(problem.value) == text
        else f" as the number {problem.value}"
    )
    octal = (
        " (YAML 1.1 reads digits with a leading 0 as an octal number)"
        if len(text) > 1 and text.startswith("0") and text.isdigit()
        else ""
    )
    return dataclasses.replace(
        problem,
        value=AsWritten(text),
        message=(
            f"YAML reads the unquoted {text}{read_as}{octal}, but this key takes text: "
            f'quote it, as in "{text}"'
        ),
    )


def _takes_text(path: KeyPath) -> bool:
    """Whether the schema expects a string at this config key path."""
    head, *rest = path
    if not isinstance(head, str):
        return False
    namespace, _, name = head.partition(":")
    if head == "aws:region":
        name = "region"
    elif namespace != NAMESPACE:
        return False
    current: Any = StackConfig
    for part in (name, *rest):
        current = model_in(current, part)
        if current is None:
            return False
    return is_text(current)


#: Overrides where stack files live (tests point it at their own fixture stacks).
STACKS_DIR_VARIABLE = "GUARD_STACKS_DIR"


def stacks_dir() -> Path:
    """The directory of the stack files: ``stackConfigDir: stacks`` in Pulumi.yaml."""
    return Path(os.environ.get(STACKS_DIR_VARIABLE) or "stacks")


def stack_file_for(stack: str) -> str:
    """Where a stack's config lives."""
    return str(stacks_dir() / f"Pulumi.{stack}.yaml")


def available_stacks(directory: Path | None = None) -> list[str]:
    """The stacks that have a stack file (``Pulumi.<stack>.yaml``), sorted by name."""
    folder = directory or stacks_dir()
    if not folder.is_dir():
        return []
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in folder.glob("Pulumi.*.yaml"))


def unknown_stack_message(stack: str) -> str | None:
    """None when ``stack`` has a stack file; else a message listing the stacks that do."""
    path = Path(stack_file_for(stack))
    if path.exists():
        return None
    known = available_stacks()
    listed = ", ".join(known) if known else "none"
    return (
        f"no stack {stack!r}: there is no {path}{did_you_mean(stack, known)}; "
        f"the stacks in {stacks_dir()}/ are: {listed}"
    )
