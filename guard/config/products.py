"""The product catalog: products, their internet-facing endpoints, and each product's WAF settings."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from guard.config.base import Day, Reason, Slug, StrictModel, matching
from guard.config.ci import ProductCi
from guard.config.shield import EndpointShield
from guard.config.tuner import WafTuner

ALB_ARN_RE = re.compile(
    r"^arn:aws:elasticloadbalancing:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"loadbalancer/app/(?P<name>[A-Za-z0-9-]{1,32})/(?P<id>[0-9a-f]{16})$"
)
CLOUDFRONT_ARN_RE = re.compile(
    r"^arn:aws:cloudfront::(?P<account>\d{12}):distribution/(?P<id>[A-Z0-9]{8,16})$"
)
WAF_RULE_GROUP_ARN_RE = re.compile(
    r"^arn:aws:wafv2:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
    r"(?P<scope>regional|global)/rulegroup/(?P<name>[\w-]{1,128})/(?P<id>[0-9a-f-]{36})$"
)

Action = Literal["block", "count", "captcha", "challenge"]
Path = Annotated[
    str,
    matching(r"/[\x21-\x7e]{0,199}", "a URI path starting with '/' (printable ASCII, no spaces)"),
]


def _network(value: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        return ipaddress.ip_network(value, strict=True)
    except ValueError as err:
        try:
            loose = ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise ValueError(
                f"must be an IPv4 or IPv6 CIDR such as 203.0.113.0/24 ({err})"
            ) from None
        raise ValueError(f"has host bits set; did you mean {loose}?") from None


def _cidr(value: str) -> str:
    network = _network(value)
    if "/" not in value:
        raise ValueError(f"must give a prefix length, e.g. {network}")
    return str(network)


Cidr = Annotated[str, AfterValidator(_cidr)]


class Endpoint(StrictModel):
    """An internet-facing entry point of a product: an Application Load Balancer or a distribution."""

    name: Slug
    kind: Literal["alb", "cloudfront"]
    arn: str
    shield: EndpointShield | None = None
    #: A name in the product's ``waf_profiles``; without one the endpoint uses the product's ``waf``.
    waf_profile: Slug | None = None

    @field_validator("arn")
    @classmethod
    def _arn_matches_kind(cls, arn: str, info: ValidationInfo) -> str:
        kind = info.data.get("kind")
        if kind == "alb" and not ALB_ARN_RE.match(arn):
            raise ValueError(
                "an alb endpoint needs an Application Load Balancer ARN, "
                "arn:aws:elasticloadbalancing:<region>:<account>:loadbalancer/app/<name>/<16 hex>"
            )
        if kind == "cloudfront" and not CLOUDFRONT_ARN_RE.match(arn):
            raise ValueError(
                "a cloudfront endpoint needs a distribution ARN, "
                "arn:aws:cloudfront::<account>:distribution/<ID>"
            )
        return arn

    @property
    def scope(self) -> Literal["REGIONAL", "CLOUDFRONT"]:
        return "REGIONAL" if self.kind == "alb" else "CLOUDFRONT"


class Exclusion(StrictModel):
    """A false positive: these rules of the group do not block on these paths (they still count)."""

    rules: Annotated[list[str], Field(min_length=1)]
    paths: Annotated[list[Path], Field(min_length=1, max_length=10)]
    reason: Reason | None = None


class ManagedRuleGroupRef(StrictModel):
    """A managed rule group in a web ACL: an AWS group by alias, or a marketplace group."""

    name: str | None = None
    vendor: str | None = None
    group: str | None = None
    wcu: Annotated[int, Field(ge=1, le=5000)] | None = None
    version: str | None = None
    mode: Literal["block", "count"] = "block"
    count_rules: list[str] = []
    count_until: Day | None = None
    exclusions: list[Exclusion] = []

    @model_validator(mode="after")
    def _one_kind(self) -> ManagedRuleGroupRef:
        if self.name is not None and (self.vendor or self.group or self.wcu):
            raise ValueError(
                "give either name (an AWS managed group alias) or vendor, group and wcu "
                "(a marketplace group), not both"
            )
        if self.name is None and not (self.vendor and self.group and self.wcu):
            raise ValueError(
                "needs name (an AWS managed group alias) or all of vendor, group and wcu"
            )
        if self.vendor and self.exclusions:
            raise ValueError(
                "exclusions need the rule labels, which guard knows only for AWS managed groups; "
                "use count_rules for a marketplace group"
            )
        return self

    @property
    def key(self) -> str:
        """The alias, or ``vendor/group`` for a marketplace group: unique within a web ACL."""
        return self.name if self.name is not None else f"{self.vendor}/{self.group}"


class RateLimit(StrictModel):
    """A rate-based rule for one user flow (login, search, API)."""

    name: Slug
    limit: Annotated[int, Field(ge=10, le=2_000_000_000)]
    window: Literal[60, 120, 300, 600] = 300
    path: Path | None = None
    action: Action = "block"
    key: Literal["ip", "forwarded-ip"] = "ip"
    forwarded_header: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,255}$")] = (
        "X-Forwarded-For"
    )
    count_until: Day | None = None


class IpEntry(StrictModel):
    """One CIDR on a block or allow list, with the reason a reviewer approved it."""

    cidr: Cidr
    reason: Reason
    expires: Day | None = None

    @property
    def network(self) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        return ipaddress.ip_network(self.cidr)


class ExternalRuleGroup(StrictModel):
    """A rule group owned by someone else (e.g. WafCharm), referenced by ARN and left alone."""

    name: Slug
    arn: str
    wcu: Annotated[int, Field(ge=1, le=5000)]
    mode: Literal["block", "count"] = "block"
    count_until: Day | None = None

    @field_validator("arn")
    @classmethod
    def _arn_shape(cls, arn: str) -> str:
        if not WAF_RULE_GROUP_ARN_RE.match(arn):
            raise ValueError(
                "must be a WAFv2 rule group ARN, "
                "arn:aws:wafv2:<region>:<account>:regional|global/rulegroup/<name>/<id>"
            )
        return arn

    @property
    def scope(self) -> Literal["REGIONAL", "CLOUDFRONT"]:
        return "CLOUDFRONT" if ":global/rulegroup/" in self.arn else "REGIONAL"


DEFAULT_MANAGED_RULES = ("common", "known-bad-inputs", "sqli", "ip-reputation")
#: The groups that keep blocking when a product, profile or its rules are rolled out in count
#: mode: Log4j and other known exploits, and AWS's IP reputation list (waf-required-managed-groups).
FLOOR_GROUPS = ("known-bad-inputs", "ip-reputation")


class WafConfig(StrictModel):
    """A product's WAF: managed groups, rate limits, IP lists and its rollout mode."""

    #: allow: a request no rule matched reaches the application; block: only what an allow rule
    #: (the IP allowlist) matches does.
    default_action: Literal["allow", "block"] = "allow"
    mode: Literal["block", "count"] = "block"
    count_until: Day | None = None
    managed_rules: list[ManagedRuleGroupRef] = Field(
        default_factory=lambda: [ManagedRuleGroupRef(name=n) for n in DEFAULT_MANAGED_RULES]
    )
    rate_limits: list[RateLimit] = []
    ip_blocklist: list[IpEntry] = []
    ip_allowlist: list[IpEntry] = []
    external_rule_groups: list[ExternalRuleGroup] = []
    #: A tuning service that owns part of this web ACL (its rules by name prefix, a band of
    #: priorities, some WCU). Absent: ``guard:waf_tuner``'s, for default-allow web ACLs;
    #: ``null``: none, even when the stack declares one.
    tuner: WafTuner | None = None

    @model_validator(mode="before")
    @classmethod
    def _allowlist_only_defaults(cls, data: object) -> object:
        # An allowlist-only ACL blocks whatever the allowlist does not match, so managed groups
        # would only see requests that are blocked anyway: none unless asked for.
        if (
            isinstance(data, dict)
            and data.get("default_action") == "block"
            and "managed_rules" not in data
        ):
            return {**data, "managed_rules": []}
        return data


class Product(StrictModel):
    """A product of the company, the unit of ownership: its endpoints all share one WAF policy."""

    name: Slug
    owner: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    endpoints: Annotated[list[Endpoint], Field(min_length=1)]
    waf: WafConfig = Field(default_factory=WafConfig)
    #: Named WAF settings an endpoint can choose instead of ``waf`` (e.g. a static-assets CDN).
    waf_profiles: dict[Slug, WafConfig] = {}
    ci: ProductCi | None = None

    def endpoints_of(self, kind: str) -> list[Endpoint]:
        return [e for e in self.endpoints if e.kind == kind]

    def waf_of(self, profile: str | None) -> WafConfig:
        """The WAF settings of a profile, or the product's ``waf`` for None."""
        return self.waf if profile is None else self.waf_profiles[profile]

    def all_wafs(self) -> list[tuple[str | None, WafConfig]]:
        """The product's ``waf`` (None) and each profile, in file order."""
        return [(None, self.waf), *self.waf_profiles.items()]
