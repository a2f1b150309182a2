"""The exit codes every ``guard`` command shares (``guard --help`` lists them)."""

from __future__ import annotations

EXIT_OK, EXIT_POLICY, EXIT_CONFIG = 0, 1, 2
#: An unexpected exception: a bug in guard, not a verdict on the stack (EX_SOFTWARE, sysexits.h).
EXIT_INTERNAL = 70
