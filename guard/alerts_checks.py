"""Cross checks of ``guard:alerts`` and ``guard:detection``: what one field alone cannot tell.

Duplicates are errors rather than silently merged: each entry becomes a resource, and two resources
with one name would stop the deploy with an engine error far from the config line at fault.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from guard.config.errors import KeyPath, Problem
from guard.config.stack import StackConfig

A = "guard:alerts"
D = "guard:detection"


def _duplicates(values: Iterable[str], base: KeyPath, what: str) -> list[Problem]:
    seen: set[str] = set()
    problems = []
    for index, value in enumerate(values):
        if value in seen:
            problems.append(Problem((*base, index), f"duplicate {what}: list it once", value))
        seen.add(value)
    return problems


def detection_needs_alerts(config: StackConfig, warnings: list[str], today: date) -> list[Problem]:
    detection = config.detection
    # A member whose detection the organization runs may leave its findings unannounced here:
    # the organization stack's urgent channel has them.
    if detection is not None and config.alerts is None and detection.managed_by is None:
        return [
            Problem(
                (D,),
                "needs guard:alerts: findings are announced in its Slack channels; add "
                "guard:alerts with slack.workspace_id, slack.normal_channel and "
                "slack.urgent_channel",
            )
        ]
    return []


def alert_channels(config: StackConfig, warnings: list[str], today: date) -> list[Problem]:
    if config.alerts is None:
        return []
    slack = config.alerts.slack
    problems = []
    if slack.urgent_channel == slack.normal_channel:
        problems.append(
            Problem(
                (A, "slack", "urgent_channel"),
                "must differ from slack.normal_channel: urgent alerts (DDoS, critical and high "
                "findings) get a channel of their own so that they are not lost among the others",
                slack.urgent_channel,
            )
        )
    # Addresses are case-insensitive in practice; SNS would create two subscriptions.
    problems += _duplicates(
        (e.lower() for e in config.alerts.emails), (A, "emails"), "e-mail address"
    )
    return problems


def detection_lists(config: StackConfig, warnings: list[str], today: date) -> list[Problem]:
    if config.detection is None:
        return []
    guardduty = config.detection.guardduty
    hub = config.detection.security_hub
    problems = _duplicates(guardduty.features, (D, "guardduty", "features"), "GuardDuty feature")
    problems += _duplicates(hub.standards, (D, "security_hub", "standards"), "standard")
    problems += _duplicates(
        (c.control for c in hub.disabled_controls),
        (D, "security_hub", "disabled_controls"),
        "disabled control",
    )
    problems += _duplicates(hub.notify, (D, "security_hub", "notify"), "severity label")
    problems += _duplicates(
        config.detection.trusted_advisor.notify, (D, "trusted_advisor", "notify"), "status"
    )
    for i, control in enumerate(hub.disabled_controls):
        base: KeyPath = (D, "security_hub", "disabled_controls", i, "standards")
        if control.standards is None:
            continue
        if not control.standards:
            problems.append(
                Problem(
                    base,
                    "list at least one standard, or leave the key out to disable the control "
                    f"in every standard of security_hub.standards ({', '.join(hub.standards)})",
                    [],
                )
            )
        problems += _duplicates(control.standards, base, "standard")
        for j, alias in enumerate(control.standards):
            if alias not in hub.standards:
                problems.append(
                    Problem(
                        (*base, j),
                        "not a standard this stack subscribes to; allowed: "
                        f"{', '.join(hub.standards)} (security_hub.standards)",
                        alias,
                    )
                )
    return problems
