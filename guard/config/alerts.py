"""Alert routing and threat detection settings (``guard:alerts``, ``guard:detection``).

Placeholder models: filled in by the alerts and detection work.
"""

from __future__ import annotations

from guard.config.base import StrictModel


class AlertsConfig(StrictModel):
    """``guard:alerts``: where alerts go (Slack channels through AWS Chatbot, e-mail)."""


class DetectionConfig(StrictModel):
    """``guard:detection``: GuardDuty, Security Hub and Trusted Advisor."""
