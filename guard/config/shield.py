"""Shield Advanced settings (``guard:shield`` and each endpoint's ``shield``).

``guard:shield`` turns on Shield Advanced for every endpoint of the stack: the subscription (or
the account's existing one), the Shield Response Team's (SRT) access, proactive engagement with
emergency contacts, and the automatic escalation of DDoS detections to the SRT. An endpoint's own
``shield`` block only refines that (health-based detection, automatic layer-7 mitigation).

Checks that need other sections (``guard:alerts``, the endpoint's web ACL, the account) live in
:mod:`guard.shield_checks`.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints, ValidationInfo, field_validator

from guard.config.base import BucketName, StrictModel

#: AWS's shape for an emergency contact's phone number (E.164), from the Shield API model.
E164_RE = re.compile(r"^\+[1-9]\d{1,14}$")
#: Separators people write in phone numbers that E.164 leaves out.
PHONE_SEPARATORS_RE = re.compile(r"[ \-]")
HEALTH_CHECK_ARN_RE = re.compile(
    r"^arn:aws:route53:::healthcheck/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
)
IAM_ROLE_ARN_RE = re.compile(r"^arn:aws:iam::(?P<account>\d{12}):role/[\w+=,.@/-]{1,512}$")
#: Shield's limits: emergency contacts, and S3 buckets the SRT may read.
MAX_CONTACTS = 10
MAX_LOG_BUCKETS = 10
SEVERITIES = ("low", "normal", "high", "urgent", "critical")


def _e164(value: str) -> str:
    """Accept ``+81-3-0000-0000`` or ``+81 3 0000 0000`` and store ``+81300000000``.

    People copy numbers with spaces and dashes from directories; AWS accepts only the bare E.164
    form. Anything else (a national number without ``+``, letters, brackets) is refused rather
    than guessed at, because a wrong digit means the SRT cannot reach anyone during an attack.
    """
    compact = PHONE_SEPARATORS_RE.sub("", value)
    if not E164_RE.match(compact):
        raise ValueError(
            "must be an E.164 phone number: '+', the country code and the number, at most 15 "
            "digits, e.g. +81-3-0000-0000 or +1-555-0100 (spaces and dashes are removed)"
        )
    return compact


Phone = Annotated[str, AfterValidator(_e164)]
Email = Annotated[
    str,
    StringConstraints(pattern=r"^\S+@\S+\.\S+$", max_length=150),
    Field(description="an e-mail address such as oncall@example.com (at most 150 characters)"),
]
NOTE_RE = re.compile(r"^[\w\s.\-,:/()+@]{1,1024}$")


def _note(value: str) -> str:
    if not NOTE_RE.match(value):
        raise ValueError(
            "must be 1 to 1024 characters of letters, digits, spaces and . - , : / ( ) + @ "
            "(what AWS accepts in contact notes)"
        )
    return value


ContactNote = Annotated[str, AfterValidator(_note)]


def _health_check(value: str) -> str:
    if not HEALTH_CHECK_ARN_RE.match(value):
        raise ValueError(
            "must be a Route 53 health check ARN, arn:aws:route53:::healthcheck/<id> where <id> "
            "is the check's lowercase UUID, e.g. "
            "arn:aws:route53:::healthcheck/abcdef01-2345-6789-abcd-ef0123456789"
        )
    return value


def _role(value: str) -> str:
    if value != "create" and not IAM_ROLE_ARN_RE.match(value):
        raise ValueError(
            "must be 'create' (guard declares the SRT role) or the ARN of an existing role, "
            "arn:aws:iam::<account>:role/<name>"
        )
    return value


class EmergencyContact(StrictModel):
    """Someone the SRT calls or mails during an attack (proactive engagement)."""

    email: Email
    phone: Phone | None = None
    note: ContactNote | None = None


class ProactiveEngagement(StrictModel):
    """``guard:shield.proactive_engagement``: the SRT contacts these people when an event starts.

    ``enabled: false`` keeps the contacts registered for the SRT without proactive calls.
    """

    enabled: bool = True
    contacts: Annotated[list[EmergencyContact], Field(max_length=MAX_CONTACTS)] = Field(
        default=[], validate_default=True
    )

    @field_validator("contacts")
    @classmethod
    def _contacts_when_enabled(
        cls, contacts: list[EmergencyContact], info: ValidationInfo
    ) -> list[EmergencyContact]:
        if info.data.get("enabled", True) and not contacts:
            raise ValueError(
                f"proactive engagement needs 1 to {MAX_CONTACTS} contacts, each with email "
                "and optionally phone and note; or set enabled: false"
            )
        emails = [c.email.lower() for c in contacts]
        duplicates = sorted({e for e in emails if emails.count(e) > 1})
        if duplicates:
            raise ValueError(f"each contact once: {', '.join(duplicates)} is listed twice")
        return contacts


class SrtAccess(StrictModel):
    """``guard:shield.srt_access``: what the Shield Response Team may look at during an attack."""

    role: Annotated[str, AfterValidator(_role)] = "create"
    log_buckets: Annotated[list[BucketName], Field(max_length=MAX_LOG_BUCKETS)] = []

    @field_validator("log_buckets")
    @classmethod
    def _unique(cls, buckets: list[str]) -> list[str]:
        duplicates = sorted({b for b in buckets if buckets.count(b) > 1})
        if duplicates:
            raise ValueError(f"each bucket once: {', '.join(duplicates)} is listed twice")
        return buckets


class Escalation(StrictModel):
    """``guard:shield.escalation``: the Lambda that opens a DDoS support case for the SRT.

    ``support_case: false`` keeps the function (it logs what it would open) for accounts without
    Business or Enterprise Support, whose Support API refuses to create cases.
    """

    support_case: bool = True
    severity: Literal["low", "normal", "high", "urgent", "critical"] = "urgent"
    dedupe_hours: Annotated[int, Field(ge=0, le=168)] = 6
    language: Literal["en", "ja", "zh", "ko"] = "en"


class ShieldConfig(StrictModel):
    """``guard:shield``: the subscription, SRT access, proactive engagement and escalation.

    ``subscription`` has no default on purpose: ``create`` commits the account to a year of
    Shield Advanced, so the stack file has to say which it is.
    """

    subscription: Literal["existing", "create"]
    srt_access: SrtAccess | None = None
    proactive_engagement: ProactiveEngagement | None = None
    escalation: Escalation | None = None

    @property
    def contact_emails(self) -> list[str]:
        """The emergency contacts' addresses, copied on escalation cases."""
        engagement = self.proactive_engagement
        return [c.email for c in engagement.contacts] if engagement is not None else []


class EndpointShield(StrictModel):
    """An endpoint's ``shield`` settings; without the block the endpoint is simply protected."""

    protect: bool = True
    health_check: Annotated[str, AfterValidator(_health_check)] | None = None
    l7_mitigation: Literal["block", "count", "off"] = "off"


#: What an endpoint without a ``shield`` block gets when ``guard:shield`` is present.
DEFAULT_ENDPOINT_SHIELD = EndpointShield()
