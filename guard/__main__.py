"""``python -m guard`` is the ``guard`` command, with its handler for unexpected errors (exit 70)."""

from guard.cli import entry_point

entry_point()
