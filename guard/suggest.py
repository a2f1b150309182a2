""" "Did you mean": the closest names to a misspelt one, for error messages."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def close_matches(wrong: str, known: Iterable[str], limit: int = 3) -> list[str]:
    """Known names close to ``wrong``, best first, compared case-insensitively."""
    folded: dict[str, str] = {}
    for name in known:
        folded.setdefault(name.casefold(), name)
    found = difflib.get_close_matches(wrong.casefold(), list(folded), n=limit, cutoff=0.6)
    return [folded[f] for f in found]


def did_you_mean(wrong: str, known: Iterable[str]) -> str:
    """`` (did you mean X?)`` when a known name is close to ``wrong``, else an empty string."""
    found = close_matches(wrong, known)
    return f" (did you mean {' or '.join(found)}?)" if found else ""
