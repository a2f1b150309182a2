"""Alert routing and threat detection settings (``guard:alerts``, ``guard:detection``).

Aliases (GuardDuty features, Security Hub standards) and the allowed labels and statuses come from
:mod:`guard.detection_catalog`, so the config accepts exactly what the components can build.
Checks that need several fields (duplicates, detection without alerts) are in
:mod:`guard.alerts_checks`.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints

from guard.config.base import StrictModel
from guard.detection_catalog import (
    DEFAULT_GUARDDUTY_FEATURES,
    GUARDDUTY_FEATURES,
    GUARDDUTY_PUBLISHING_FREQUENCIES,
    SECURITY_HUB_CONTROL_ID,
    SECURITY_HUB_LABELS,
    SECURITY_HUB_STANDARDS,
    TRUSTED_ADVISOR_STATUSES,
)

EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")


def _one_of(allowed: tuple[str, ...], what: str) -> AfterValidator:
    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"unknown {what}; allowed: {', '.join(allowed)}")
        return value

    return AfterValidator(check)


def _control_reason(value: object) -> object:
    # A disabled control hides findings from everyone: the reason is what the next reviewer reads.
    if isinstance(value, str) and not 3 <= len(value.strip()) <= 256:
        raise ValueError("must say why the control is disabled (3 to 256 characters)")
    return value.strip() if isinstance(value, str) else value


def _email(value: str) -> str:
    if not EMAIL_RE.match(value):
        raise ValueError("must be an e-mail address such as secops@example.com")
    return value


def _not_empty(allowed: tuple[str, ...], what: str) -> AfterValidator:
    def check(values: list[str]) -> list[str]:
        if not values:
            raise ValueError(f"list at least one {what}; allowed: {', '.join(allowed)}")
        return values

    return AfterValidator(check)


def _control_id(value: str) -> str:
    if not SECURITY_HUB_CONTROL_ID.match(value):
        raise ValueError(
            "must be a Security Hub control ID: the service prefix, a dot and the number, "
            "e.g. IAM.6 or EC2.19"
        )
    return value


#: A Slack workspace (team) ID, as the AWS Chatbot console shows it after authorisation.
SlackWorkspaceId = Annotated[
    str,
    StringConstraints(pattern=r"^T[A-Z0-9]{2,20}$"),
    Field(
        description="a Slack workspace ID: 'T' then uppercase letters and digits, e.g. T0EXAMPLE1"
    ),
]
#: A Slack channel ID: public channels start with C, private ones with G.
SlackChannelId = Annotated[
    str,
    StringConstraints(pattern=r"^[CG][A-Z0-9]{2,20}$"),
    Field(
        description="a Slack channel ID: 'C' (public) or 'G' (private) then uppercase letters "
        "and digits, e.g. C0NORMAL01; the channel name is not accepted"
    ),
]
Email = Annotated[str, AfterValidator(_email)]
GuardDutyFeatureAlias = Annotated[str, _one_of(tuple(GUARDDUTY_FEATURES), "GuardDuty feature")]
StandardAlias = Annotated[str, _one_of(tuple(SECURITY_HUB_STANDARDS), "Security Hub standard")]
SeverityLabel = Annotated[str, _one_of(SECURITY_HUB_LABELS, "Security Hub severity label")]
TrustedAdvisorStatus = Annotated[str, _one_of(TRUSTED_ADVISOR_STATUSES, "Trusted Advisor status")]
PublishingFrequency = Annotated[
    str, _one_of(GUARDDUTY_PUBLISHING_FREQUENCIES, "GuardDuty publishing frequency")
]
ControlId = Annotated[str, AfterValidator(_control_id)]
ControlReason = Annotated[str, BeforeValidator(_control_reason)]


class SlackChannels(StrictModel):
    """The Slack workspace authorised in AWS Chatbot and the channel of each route."""

    workspace_id: SlackWorkspaceId
    normal_channel: SlackChannelId
    urgent_channel: SlackChannelId


class AlertsConfig(StrictModel):
    """``guard:alerts``: where alerts go (Slack channels through AWS Chatbot, e-mail)."""

    slack: SlackChannels
    #: Extra subscribers of the urgent topics; each address confirms its subscription once.
    emails: list[Email] = []


class GuardDutyConfig(StrictModel):
    """GuardDuty's detector: the protection features and how often updated findings republish."""

    features: list[GuardDutyFeatureAlias] = list(DEFAULT_GUARDDUTY_FEATURES)
    publishing_frequency: PublishingFrequency = "FIFTEEN_MINUTES"


class DisabledControl(StrictModel):
    """A Security Hub control switched off, with the reason reviewers and auditors will read."""

    control: ControlId
    reason: ControlReason
    #: The standards to disable it in; default: every standard of ``security_hub.standards``.
    #: Narrow it when the control is not part of one of them (AWS rejects that association).
    standards: list[StandardAlias] | None = None


class SecurityHubConfig(StrictModel):
    """Security Hub: the standards to subscribe to, controls to disable, labels to announce."""

    standards: Annotated[
        list[StandardAlias], _not_empty(tuple(SECURITY_HUB_STANDARDS), "standard")
    ] = ["aws-foundational"]
    disabled_controls: list[DisabledControl] = []
    notify: Annotated[list[SeverityLabel], _not_empty(SECURITY_HUB_LABELS, "severity label")] = [
        "CRITICAL",
        "HIGH",
    ]


class TrustedAdvisorConfig(StrictModel):
    """Trusted Advisor: the check statuses announced in the normal channel."""

    notify: Annotated[
        list[TrustedAdvisorStatus], _not_empty(TRUSTED_ADVISOR_STATUSES, "status")
    ] = ["ERROR", "WARN"]


class DetectionConfig(StrictModel):
    """``guard:detection``: GuardDuty, Security Hub and Trusted Advisor.

    ``managed_by: organization``: an organization stack's delegated administrator enables
    GuardDuty and Security Hub in this account (guard:organization); this stack declares no
    detector or hub of its own and only routes its account's findings to its own channels.
    """

    managed_by: Literal["organization"] | None = None

    guardduty: GuardDutyConfig = GuardDutyConfig()
    security_hub: SecurityHubConfig = SecurityHubConfig()
    trusted_advisor: TrustedAdvisorConfig = TrustedAdvisorConfig()
