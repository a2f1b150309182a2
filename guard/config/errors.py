"""Configuration errors that name the file, the key path, the bad value and what is allowed."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

#: A key path inside one stack file: ("guard:products", 2, "waf", "rate_limits", 0, "limit").
KeyPath = tuple[str | int, ...]

#: Bad values are shown in full, so that the wrong part of a long ARN is visible; only values
#: longer than this (pasted documents, not typos) are cut, saying how much was left out.
MAX_SHOWN_CHARS = 2048


def format_key_path(path: KeyPath) -> str:
    """Render a key path the way users write it: ``guard:products[2].waf.rate_limits[0].limit``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def describe_value(value: Any) -> str:
    """A single-line rendering of a bad value for an error message, in full up to 2,048 chars."""
    if value is _MISSING:
        return "(missing)"
    text = repr(value)
    if len(text) <= MAX_SHOWN_CHARS:
        return text
    return f"{text[:MAX_SHOWN_CHARS]}... ({len(text) - MAX_SHOWN_CHARS:,} more characters)"


class AsWritten(str):
    """A value shown exactly as it is written in the file (``012345670123``, not ``'0123...'``)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return str.__str__(self)


class _Missing:
    def __repr__(self) -> str:
        return "(missing)"


_MISSING: Any = _Missing()
MISSING: Any = _MISSING


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the configuration."""

    path: KeyPath
    message: str
    value: Any = _MISSING
    line: int | None = None
    column: int | None = None
    #: The file the bad value came from, when not the error's own (a stack's defaults file).
    source: str | None = None

    def render(self, source: str) -> str:
        where = self.source if self.source is not None else source
        if self.line:
            where += f":{self.line}" + (f":{self.column}" if self.column else "")
        key = format_key_path(self.path) or "(top level)"
        shown = "" if self.value is _MISSING else f" = {describe_value(self.value)}"
        return f"{where}: {key}{shown}: {self.message}"


class ConfigError(Exception):
    """The stack configuration is invalid. Carries every problem found, each with its key path."""

    def __init__(self, source: str, problems: Iterable[Problem]) -> None:
        self.source = source
        self.problems: Sequence[Problem] = tuple(problems)
        super().__init__(self.render())

    def render(self) -> str:
        count = len(self.problems)
        head = f"{self.source}: {count} configuration error{'s' if count != 1 else ''}"
        return "\n".join([head, *("  " + p.render(self.source) for p in self.problems)])

    def with_lines(self, lines: dict[KeyPath, int]) -> ConfigError:
        """The same error with line numbers looked up from the file's key paths.

        A problem that names its own file (:attr:`Problem.source`) keeps the line it has: its
        key paths are that file's, not this one's.
        """

        def line_of(path: KeyPath) -> int | None:
            for end in range(len(path), 0, -1):
                if path[:end] in lines:
                    return lines[path[:end]]
            return None

        return ConfigError(
            self.source,
            [
                p
                if p.source is not None
                else dataclasses.replace(p, line=p.line or line_of(p.path))
                for p in self.problems
            ],
        )


class StackNameError(ValueError):
    """A name built from the stack's name is over an AWS limit (an IAM role, a Firehose stream,
    the boundary policy): the stack name, not guard, has to change. Raised while the program
    runs, since only then is the stack's name known; ``guard plan`` reports it as a
    configuration error (exit 2)."""
