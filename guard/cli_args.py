"""Argument types the ``guard`` commands share (argparse ``type=`` callables)."""

from __future__ import annotations

import argparse
from datetime import date


def day(text: str) -> date:
    """A calendar day written YYYY-MM-DD, or argparse's usage error saying so."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date written YYYY-MM-DD") from None
