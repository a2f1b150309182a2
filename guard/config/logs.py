"""WAF log delivery and analysis settings (``guard:logs``).

Placeholder model: filled in by the WAF logs work.
"""

from __future__ import annotations

from guard.config.base import StrictModel


class LogsConfig(StrictModel):
    """``guard:logs``: where WAF logs go and how long they are kept."""
