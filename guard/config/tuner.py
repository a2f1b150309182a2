"""A WAF tuning service (WafCharm, or any service that edits rules by name prefix): the band of
a web ACL it owns (``waf.tuner``, ``guard:waf_tuner``) and the role it assumes (``guard:tuners``).

WafCharm writes its own rules into the customer's web ACL and manages only the rules whose names
start with ``wafcharm-`` (docs/wafcharm.md has the sources). guard owns every other rule and
leaves the tuner's band of priorities, its rule names and its share of the WCU to the tuner.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from guard.config.base import StrictModel
from guard.config.ci import PolicyStatement

TunerService = Literal["wafcharm", "other"]
#: The kinds of guard rule a tuner's band can be placed around.
RuleKind = Literal["ip-lists", "rate-limits", "managed-groups", "external-groups"]
RULE_KINDS: tuple[RuleKind, ...] = ("ip-lists", "rate-limits", "managed-groups", "external-groups")

#: WafCharm's documented layout (console.wafcharm.com help, "rule priorities of WafCharm"): the
#: user's rules, AWS managed rules included, in 0-99; WafCharm's own from 100 up (111, 301 and
#: 1000 or higher). Its rules are named ``wafcharm-``; they take about 1,100 WCU with the Legacy
#: rule policy, 600-700 at least with the Advanced one.
WAFCHARM_DEFAULTS: dict[str, Any] = {
    "rule_prefix": "wafcharm-",
    "wcu": 1100,
    "priorities": {"from": 100},
    "after_band": [],
}
#: Any other tuner: guard's lists and rate limits before its band, guard's managed groups after.
OTHER_DEFAULTS: dict[str, Any] = {
    "priorities": {"from": 100, "to": 999},
    "after_band": ["managed-groups", "external-groups"],
}
#: A WAF rule name: 1 to 128 of these characters (botocore's wafv2 EntityName).
RULE_PREFIX_RE = re.compile(r"^[\w-]{1,64}$")
#: IAM principals a tuner's service can assume roles from: an account's root or a role.
PRINCIPAL_RE = re.compile(r"^arn:aws:iam::\d{12}:(root|role/[\w+=,.@/-]{1,512})$")


class PriorityBand(StrictModel):
    """The priorities of the tuner's rules: ``from`` up to ``to`` (no upper end when absent)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    start: int = Field(alias="from", ge=0)
    end: int | None = Field(default=None, alias="to", ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> PriorityBand:
        if self.end is not None and self.end < self.start:
            raise ValueError(f"'to' ({self.end}) must not be below 'from' ({self.start})")
        return self

    def contains(self, priority: int) -> bool:
        return priority >= self.start and (self.end is None or priority <= self.end)

    def describe(self) -> str:
        """``100-999`` or ``100+``, as the plan prints it."""
        return f"{self.start}+" if self.end is None else f"{self.start}-{self.end}"


def _prefix(value: str) -> str:
    if not RULE_PREFIX_RE.match(value):
        raise ValueError(
            "must be the start of a WAF rule name: 1 to 64 letters, digits, '_' and '-', "
            "e.g. wafcharm-"
        )
    return value


class WafTuner(StrictModel):
    """A tuning service that owns the rules named ``rule_prefix*`` in a web ACL."""

    service: TunerService
    rule_prefix: Annotated[str, AfterValidator(_prefix)]
    #: The capacity the tuner's rules may take: guard's rules plus this stay within 5,000.
    wcu: Annotated[int, Field(ge=1, le=5000)]
    priorities: PriorityBand
    #: The kinds of guard rule evaluated after the tuner's rules (the rest come before them).
    after_band: list[RuleKind] = []

    @model_validator(mode="before")
    @classmethod
    def _service_defaults(cls, data: object) -> object:
        if isinstance(data, dict):
            if data.get("service") == "wafcharm":
                return {**WAFCHARM_DEFAULTS, **data}
            if data.get("service") == "other":
                return {**OTHER_DEFAULTS, **data}
        return data

    @model_validator(mode="after")
    def _band_has_room(self) -> WafTuner:
        if self.after_band and self.priorities.end is None:
            raise ValueError(
                f"after_band lists {', '.join(self.after_band)} but the band has no upper end: "
                "give priorities.to, or leave after_band empty"
            )
        duplicates = sorted({k for k in self.after_band if self.after_band.count(k) > 1})
        if duplicates:
            raise ValueError(f"after_band lists {', '.join(duplicates)} twice")
        return self

    def describe(self, *, service_names: dict[str, str] | None = None) -> str:
        """``100-999 wafcharm-* rules, edited by WafCharm, about 1,100 WCU``."""
        who = (service_names or SERVICE_NAMES).get(self.service, self.service)
        return (
            f"{self.priorities.describe()} {self.rule_prefix}* rules, edited by {who}, "
            f"about {self.wcu:,} WCU"
        )


SERVICE_NAMES = {"wafcharm": "WafCharm", "other": "the tuning service"}


class SecretValue(StrictModel):
    """A Pulumi secret as the stack file holds it (``{secure: v1:...}``): opaque offline."""

    secure: Annotated[str, StringConstraints(min_length=1)]


def _principal(value: str) -> str:
    if not PRINCIPAL_RE.match(value):
        raise ValueError(
            "must be the IAM principal the tuning service gives you: "
            "arn:aws:iam::<account>:root or arn:aws:iam::<account>:role/<name>"
        )
    return value


class TunerAccess(StrictModel):
    """``guard:tuners.<service>``: the role the service assumes, trusted with an external ID."""

    principal: Annotated[str, AfterValidator(_principal)]
    #: From the service's console; a Pulumi secret (``pulumi config set --secret --path``).
    external_id: SecretValue | Annotated[str, StringConstraints(min_length=2, max_length=1224)]
    #: What the service needs beyond guard's scoped grant (its support may ask for more). A
    #: statement outside the tuner-role-scope policy's allowlist fails that policy until a
    #: reviewed, time-boxed ``guard:policy_exceptions`` entry waives it: never silently.
    statements: list[PolicyStatement] = []

    @field_validator("external_id")
    @classmethod
    def _secret(cls, value: object, info: ValidationInfo) -> object:
        # Offline the stack file shows {secure: ...}; a running program receives the plaintext,
        # with the key marked secret by the engine. Plaintext in the stack file is refused.
        secret_keys = (info.context or {}).get("secret_keys", ())
        if isinstance(value, str) and "guard:tuners" not in secret_keys:
            raise ValueError(
                "must be a Pulumi secret, not plaintext in the stack file: run "
                "pulumi config set --secret --path 'guard:tuners.<service>.external_id' <value>"
            )
        return value
