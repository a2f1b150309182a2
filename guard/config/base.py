"""Shared building blocks for the typed stack configuration (pydantic models, ARN and name types).

pydantic does the type checking and unknown-key detection; ``loader`` turns its errors into
:class:`~guard.config.errors.Problem` records that name the key path and what is allowed.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

ACCOUNT_ID_RE = re.compile(r"^\d{12}$")
#: What a Pulumi secret reads as offline (``guard plan`` never decrypts one).
SECRET_PLACEHOLDER = "[secret]"  # noqa: S105 - a marker shown instead of a secret
REGION_RE = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")
#: Where AWS serves its global scopes: CloudFront web ACLs, Shield, Trusted Advisor's events.
GLOBAL_REGION = "us-east-1"


class StrictModel(BaseModel):
    """Base for every config section: unknown keys are errors, values are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def _parse_date(value: object) -> object:
    # Pulumi hands object config to programs as JSON, so a YAML date reaches us as a string.
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError("must be a date written YYYY-MM-DD") from None
    return value


#: A calendar date, written YYYY-MM-DD in YAML.
Day = Annotated[date, BeforeValidator(_parse_date)]


#: A name used inside AWS resource names and metric names.
def matching(pattern: str, allowed: str) -> AfterValidator:
    """A string check whose error says, in words, what is allowed."""
    compiled = re.compile(pattern)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise ValueError(f"must be {allowed}")
        return value

    return AfterValidator(check)


Slug = Annotated[
    str,
    matching(
        r"[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?",
        "lowercase letters, digits and '-' (not at either end), 1 to 32 characters",
    ),
]

BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def _bucket(value: str) -> str:
    if not BUCKET_RE.match(value) or ".." in value:
        raise ValueError(
            "must be an S3 bucket name: 3 to 63 lowercase letters, digits, '.' and '-', "
            "starting and ending with a letter or digit"
        )
    return value


#: An existing S3 bucket's name (AWS's general purpose bucket naming rules).
BucketName = Annotated[str, AfterValidator(_bucket)]

#: Free text written for reviewers (a reason, a note).
Reason = Annotated[str, StringConstraints(min_length=3, max_length=256, strip_whitespace=True)]

#: An AWS account ID, written quoted so that YAML keeps its leading zeros.
AccountId = Annotated[
    str,
    StringConstraints(pattern=ACCOUNT_ID_RE.pattern),
    Field(description='a 12-digit AWS account ID, quoted, e.g. "444444444444"'),
]
#: An AWS Region code.
Region = Annotated[
    str,
    StringConstraints(pattern=REGION_RE.pattern),
    Field(description="an AWS region such as ap-northeast-1"),
]
