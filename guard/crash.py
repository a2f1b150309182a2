"""What ``guard`` writes when it fails on a bug: a crash file with the traceback, and one line.

Every command and ``guard plan --all``'s workers report a crash the same way: exit 70 (or a
crashed row) with one line naming the file that holds the details, written under ``.guard/``
or, when that cannot be written, the system's temporary directory.
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import tomllib
import traceback
from datetime import UTC, datetime
from pathlib import Path

#: Where crash files go (relative to the working directory; the system's temporary directory
#: when that cannot be written).
CRASH_DIR = Path(".guard")
#: A crash's one-line summary is cut to this many characters.
MAX_SUMMARY_CHARS = 300


def version() -> str:
    """The installed distribution's version, else the version in pyproject.toml."""
    import importlib.metadata  # for --version and crash reports only: 30 ms off every command

    try:
        return importlib.metadata.version("guard")
    except importlib.metadata.PackageNotFoundError:
        pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
        try:
            return str(tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"])
        except (OSError, KeyError, tomllib.TOMLDecodeError):
            return "unknown"


def summary(error: BaseException) -> str:
    """The error's type and message on one line, cut to :data:`MAX_SUMMARY_CHARS`."""
    text = " ".join(f"{type(error).__name__}: {error}".split())
    if len(text) > MAX_SUMMARY_CHARS:
        text = text[: MAX_SUMMARY_CHARS - 3] + "..."
    return text


def details(error: BaseException, context: str) -> str:
    """What a crash file holds: guard's and Python's versions, ``context`` lines (the command,
    the stack), then the traceback."""
    return (
        f"guard {version()} on Python {platform.python_version()} ({platform.platform()})\n"
        f"{context}\n" + "".join(traceback.format_exception(error))
    )


def command_line() -> str:
    return " ".join(sys.argv)


def write_crash_file(text: str) -> Path | None:
    """Write ``text`` to a new crash file; its path, or None when no directory takes it."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    name = f"crash-{stamp}-{os.getpid()}.txt"
    for folder in (CRASH_DIR, Path(tempfile.gettempdir())):
        path = folder / name
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with path.open("x", encoding="utf-8") as stream:
                stream.write(text)
        except OSError:
            continue
        return path
    return None
