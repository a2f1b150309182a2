"""Read a stack file's YAML as untrusted input: bounded, UTF-8 only, and errors with a location.

Pull requests from forks are planned too, so a stack file may be written to hurt: a "billion
laughs" (nested aliases that expand exponentially), a file of gigabytes, text in another
encoding, or nesting deep enough to exhaust the parser's stack. Each of these ends in a
:class:`~guard.config.errors.ConfigError` naming the file and, where there is one, the line;
memory stays in proportion to the limits below, whatever the file holds.

Aliases are resolved by the composer as references to the anchored node, so the composed graph
is never larger than the file. Its *expanded* size (what the constructor, JSON encoding and
validation would walk) is counted on that graph before anything expands it, with each shared
node's size computed once: the count costs as much as the file, not as the expansion.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.reader import ReaderError

from guard.config.errors import ConfigError, KeyPath, Problem

#: The largest stack file read: a stack of 700 endpoints (the benchmark's largest) is ~650 KiB.
MAX_FILE_BYTES = 1024 * 1024
#: Values (mappings, lists and scalars) a file may hold once its aliases are expanded: about
#: three times what a 1 MiB stack file of ordinary products holds.
MAX_EXPANDED_NODES = 250_000
#: Characters of scalar text a file may hold once its aliases are expanded.
MAX_EXPANDED_CHARS = 4 * MAX_FILE_BYTES
#: Nesting depth of mappings and lists; a stack file needs about ten.
MAX_DEPTH = 100

_INT, _FLOAT = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"


def line_loader(base: type) -> type:
    """A safe loader class on ``base`` that keeps dates as text, as Pulumi does."""
    loader: Any = type(f"_Line{base.__name__}", (base,), {})
    # Pulumi hands object config to the program as JSON text; a YAML date must stay a string.
    loader.yaml_implicit_resolvers = {
        key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return loader


# libyaml's parser when PyYAML was built with it: stack files of hundreds of products parse in
# a fraction of the pure-Python time. The limits hold for both (tests run each).
LOADER: type = line_loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader))


@dataclass(frozen=True)
class ParsedYaml:
    """A parsed document and what the nodes told about it, keyed by the path from the top."""

    document: Any
    #: The line (1-based) of each key path's key, or of its value for list items.
    lines: dict[KeyPath, int] = field(default_factory=dict)
    #: Duplicate keys (YAML keeps only the last one).
    problems: list[Problem] = field(default_factory=list)
    #: Plain scalars YAML read as numbers, as written (``012345670123``, read as 1402433619).
    numbers: dict[KeyPath, str] = field(default_factory=dict)


def read_text(path: Path, what: str = "the stack file") -> str:
    """The file's text: at most :data:`MAX_FILE_BYTES`, and UTF-8; ``what`` names the file in
    the errors ("the defaults file")."""
    source = str(path)
    try:
        with path.open("rb") as stream:
            # One byte more than allowed tells "too large" without trusting st_size (a FIFO,
            # /dev/zero or a file still growing has none worth trusting).
            data = stream.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        raise ConfigError(
            source, [Problem((), f"cannot read {what}: {err.strerror or err}")]
        ) from None
    if len(data) > MAX_FILE_BYTES:
        raise ConfigError(
            source,
            [
                Problem(
                    (),
                    f"{what} is larger than {MAX_FILE_BYTES:,} bytes (1 MiB), the most "
                    "guard reads; split the stack or remove what it does not need",
                )
            ],
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(source, [_not_utf8(data, err, what)]) from None


def _not_utf8(data: bytes, err: UnicodeDecodeError, what: str) -> Problem:
    offset = err.start
    line_start = data.rfind(b"\n", 0, offset) + 1
    line = data.count(b"\n", 0, offset) + 1
    column = len(data[line_start:offset].decode("utf-8", errors="replace")) + 1
    return Problem(
        (),
        f"{what} is not UTF-8: byte 0x{data[offset]:02x} (byte offset {offset}) "
        "cannot be decoded; save the file as UTF-8",
        line=line,
        column=column,
    )


def parse(text: str, source: str, loader: type | None = None) -> ParsedYaml:
    """Parse one YAML document, refusing expansions beyond the limits; raise ConfigError."""
    loader_class = loader or LOADER
    # libyaml counts reader positions in UTF-8 bytes, the Python reader in characters.
    in_bytes = not issubclass(loader_class, yaml.SafeLoader)
    try:
        instance = loader_class(text)
    except yaml.YAMLError as err:  # the pure-Python reader checks characters up front
        raise ConfigError(source, [_yaml_problem(err, text, in_bytes=in_bytes)]) from None
    try:
        try:
            node = instance.get_single_node()
            if node is not None:
                _check_expansion(node, source)
            document = _construct(instance, node, source) if node is not None else None
        finally:
            instance.dispose()
    except yaml.YAMLError as err:
        raise ConfigError(source, [_yaml_problem(err, text, in_bytes=in_bytes)]) from None
    except RecursionError:
        # The pure-Python composer recurses once per level; libyaml stops at 1,000 levels.
        raise ConfigError(source, [_too_deep(None)]) from None
    parsed = ParsedYaml(document)
    if node is not None:
        _walk(node, (), parsed)
    return parsed


def _construct(instance: Any, node: yaml.Node, source: str) -> Any:
    try:
        return instance.construct_document(node)
    except (yaml.YAMLError, RecursionError, MemoryError):
        raise
    except Exception as err:
        # PyYAML's constructors trust explicit tags: `!!bool maybe` ends in a KeyError, `!!int ''`
        # in an IndexError, `!!timestamp x` in an AttributeError.
        raise ConfigError(
            source,
            [
                Problem(
                    (),
                    "not valid YAML: a value does not fit its explicit tag (such as !!int or "
                    f"!!timestamp): {type(err).__name__}: {err}",
                )
            ],
        ) from None


def _yaml_problem(err: yaml.YAMLError, text: str, *, in_bytes: bool) -> Problem:
    """A YAML error as one line with the file's line and column (not ``"<unicode string>"``)."""
    if isinstance(err, yaml.MarkedYAMLError):
        mark = err.problem_mark or err.context_mark
        message = err.problem or err.context or "cannot be parsed"
        context = err.context_mark
        if err.context and context is not None and err.problem:
            message += (
                f" ({err.context}, which starts at line {context.line + 1}, "
                f"column {context.column + 1})"
            )
        line = mark.line + 1 if mark is not None else None
        column = mark.column + 1 if mark is not None else None
        return Problem((), f"not valid YAML: {message}", line=line, column=column)
    if isinstance(err, ReaderError):
        if in_bytes:
            before = text.encode("utf-8")[: err.position].decode("utf-8", errors="replace")
        else:
            before = text[: err.position]
        line = before.count("\n") + 1
        column = len(before) - (before.rfind("\n") + 1) + 1
        character = (
            f"#x{err.character:04x}" if isinstance(err.character, int) else repr(err.character)
        )
        return Problem(
            (),
            f"not valid YAML: character {character} is not allowed ({err.reason})",
            line=line,
            column=column,
        )
    return Problem((), f"not valid YAML: {err}")


def _too_deep(line: int | None) -> Problem:
    return Problem(
        (),
        f"mappings and lists are nested more than {MAX_DEPTH} levels deep; a stack file "
        "needs about ten",
        line=line,
    )


def _without_config(path: KeyPath) -> KeyPath:
    return path[1:] if path[:1] == ("config",) and len(path) > 1 else path


def _check_expansion(root: yaml.Node, source: str) -> None:
    """Refuse a document whose aliases would expand it beyond the limits, or that is cyclic."""
    # id(node) -> (values, characters) once expanded; every node is sized once however many
    # aliases point at it, so this costs as much as the composed (file-sized) graph.
    sizes: dict[int, tuple[int, int]] = {}
    open_nodes: set[int] = set()

    def refuse(node: yaml.Node, path: KeyPath, message: str) -> ConfigError:
        return ConfigError(
            source, [Problem(_without_config(path), message, line=node.start_mark.line + 1)]
        )

    def size(node: yaml.Node, path: KeyPath) -> tuple[int, int]:
        key = id(node)
        known = sizes.get(key)
        if known is not None:
            return known
        if key in open_nodes:
            raise refuse(
                node, path, "an alias (*name) refers to a mapping or list that contains it"
            )
        if len(path) > MAX_DEPTH:
            raise ConfigError(source, [_too_deep(node.start_mark.line + 1)])
        if isinstance(node, yaml.ScalarNode):
            result = (1, len(node.value))
        else:
            open_nodes.add(key)
            values, chars = 1, 0
            children: list[tuple[str | int, yaml.Node]]
            if isinstance(node, yaml.MappingNode):
                children = [(_key_text(k), n) for k, v in node.value for n in (k, v)]
            else:
                children = list(enumerate(node.value))
            for part, child in children:
                child_values, child_chars = size(child, (*path, part))
                values, chars = values + child_values, chars + child_chars
                if values > MAX_EXPANDED_NODES or chars > MAX_EXPANDED_CHARS:
                    raise refuse(
                        node,
                        path,
                        f"expands to more than {MAX_EXPANDED_NODES:,} values or "
                        f"{MAX_EXPANDED_CHARS:,} characters, the most guard reads (an alias "
                        "*name counts as a copy of its anchor &name); a stack file needs far "
                        "fewer",
                    )
            open_nodes.discard(key)
            result = (values, chars)
        sizes[key] = result
        return result

    size(root, ())


def _key_text(node: yaml.Node) -> str:
    """A mapping key as text. Not ``str(node.value)`` for a list or mapping used as a key (``? [a]``):
    a node's repr recurses into its children, through every alias, which is the expansion the
    limits are there to prevent."""
    if isinstance(node, yaml.ScalarNode):
        return str(node.value)
    kind = "mapping" if isinstance(node, yaml.MappingNode) else "list"
    return f"<{kind} key at line {node.start_mark.line + 1}>"


def _walk(node: yaml.Node, path: KeyPath, parsed: ParsedYaml) -> None:
    parsed.lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = _key_text(key_node)
            child = (*path, key)
            if key in seen:
                parsed.problems.append(
                    Problem(
                        child,
                        "duplicate key: YAML keeps only the last one",
                        line=key_node.start_mark.line + 1,
                    )
                )
            seen.add(key)
            parsed.lines[child] = key_node.start_mark.line + 1
            _walk(value_node, child, parsed)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(item, (*path, index), parsed)
    elif (
        node.tag in (_INT, _FLOAT)
        and not getattr(node, "style", None)  # plain: "0123" and '0123' are strings already
        and any(c.isdigit() for c in node.value)
    ):
        parsed.numbers[path] = node.value
