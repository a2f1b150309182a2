"""Shield Advanced settings (``guard:shield`` and each endpoint's ``shield``).

Placeholder models: filled in by the Shield work.
"""

from __future__ import annotations

from guard.config.base import StrictModel


class ShieldConfig(StrictModel):
    """``guard:shield``: the subscription, SRT access, proactive engagement and escalation."""


class EndpointShield(StrictModel):
    """An endpoint's ``shield`` settings."""
