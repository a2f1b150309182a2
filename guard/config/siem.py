"""The SIEM on OpenSearch settings (``guard:siem``).

guard feeds a SIEM it does not deploy (SIEM on Amazon OpenSearch Service, whose loader reads S3
event notifications from an SQS queue): S3 notifies ``loader_queue_arn`` of every new WAF and
ALB log object and ``loader_role_arn`` may read them. With ``domain_endpoint`` and
``retention``, guard also keeps the domain's indices for ``hot_days`` with an ISM policy that a
Lambda applies on deploy (:mod:`guard.siem_ism`, ``components/siem.py``). Checks that need other
sections (the stack's region, the deprecated ``guard:logs.opensearch``) live in
:mod:`guard.siem_checks`.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, model_validator

from guard.config.base import StrictModel
from guard.config.logs import QueueArn, RoleArn
from guard.siem_ism import DEFAULT_INDICES, check_index_pattern

#: An Amazon OpenSearch Service endpoint AWS generated: ``search-<domain>-<id>`` (public) or
#: ``vpc-<domain>-<id>`` (VPC access), then ``.<region>.es.amazonaws.com``. Domain names are 3 to
#: 28 characters, lowercase letters, digits and '-', starting with a letter (CreateDomain's
#: DomainName pattern in botocore's opensearch model).
GENERATED_HOST_RE = re.compile(
    r"^(?:search|vpc)-(?P<domain>[a-z][a-z0-9-]{2,27})-(?P<id>[a-z0-9]+)"
    r"\.(?P<region>[a-z]{2}(?:-gov)?-[a-z]+-\d)\.es\.amazonaws\.com$"
)
HOST_RE = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$")
DOMAIN_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{2,27}$")
SUBNET_RE = re.compile(r"^subnet-[0-9a-f]{8}([0-9a-f]{9})?$")
SECURITY_GROUP_RE = re.compile(r"^sg-[0-9a-f]{8}([0-9a-f]{9})?$")
#: Lambda's VpcConfig limits (botocore lambda model: SubnetIds max 16, SecurityGroupIds max 5).
MAX_SUBNETS = 16
MAX_SECURITY_GROUPS = 5
MAX_HOT_DAYS = 3650
#: The longest period each rotation keeps writing to one index (a month: up to 31 days).
ROTATION_DAYS = {"daily": 1, "weekly": 7, "monthly": 31}


def _endpoint(value: str) -> str:
    parts = urlsplit(value)
    host = parts.hostname or ""
    if (
        parts.scheme != "https"
        or not HOST_RE.match(host)
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username
    ):
        raise ValueError(
            "must be the domain's HTTPS endpoint, https://<host> with no path, e.g. "
            "https://vpc-aes-siem-abcdefghijklmnopqrstuvwxyz.ap-northeast-1.es.amazonaws.com "
            "(the domain's 'Domain endpoint' in the OpenSearch console)"
        )
    return value.rstrip("/")


def _domain_name(value: str) -> str:
    if not DOMAIN_NAME_RE.match(value):
        raise ValueError(
            "must be an OpenSearch Service domain name: 3 to 28 lowercase letters, digits and "
            "'-', starting with a letter, e.g. aes-siem"
        )
    return value


def _hot_days(value: int) -> int:
    if not 1 <= value <= MAX_HOT_DAYS:
        raise ValueError(
            f"must be 1 to {MAX_HOT_DAYS} days: how long an index stays searchable in the "
            "domain before ISM moves it to warm or deletes it"
        )
    return value


def _index_pattern(value: str) -> str:
    # ISM's rules, as the retention policy builder applies them (one check for both).
    try:
        return check_index_pattern(value)
    except ValueError as error:
        message = str(error)
        if " is not " in message:
            raise ValueError("must be " + message.split(" is not ", 1)[1]) from None
        raise ValueError(f"must not be only '*': {message.split(' would ', 1)[-1]}") from None


def _unique(values: list[str]) -> list[str]:
    duplicates = sorted({v for v in values if values.count(v) > 1})
    if duplicates:
        raise ValueError(f"each entry once: {', '.join(duplicates)} is listed twice")
    return values


def _subnet(value: str) -> str:
    if not SUBNET_RE.match(value):
        raise ValueError("must be a subnet ID, subnet-<8 or 17 hex digits>")
    return value


def _security_group(value: str) -> str:
    if not SECURITY_GROUP_RE.match(value):
        raise ValueError("must be a security group ID, sg-<8 or 17 hex digits>")
    return value


IndexPattern = Annotated[str, AfterValidator(_index_pattern)]


class SiemRetention(StrictModel):
    """``guard:siem.retention``: how long the SIEM's indices stay in the domain."""

    hot_days: Annotated[int, AfterValidator(_hot_days)]
    #: Days in UltraWarm after the hot days, then deleted; leave out to delete after hot_days.
    warm_days: Annotated[int, AfterValidator(_hot_days)] | None = None
    indices: Annotated[
        list[IndexPattern], Field(min_length=1, max_length=50), AfterValidator(_unique)
    ] = list(DEFAULT_INDICES)

    #: How the SIEM names these indices (``index_rotation`` in its user.ini; monthly is its
    #: default for WAF and ELB logs). guard cannot read it: say what the SIEM is set to.
    index_rotation: Literal["daily", "weekly", "monthly"] = "monthly"

    @property
    def rotation_days(self) -> int:
        """How old an index can be while the SIEM still writes to it."""
        return ROTATION_DAYS[self.index_rotation]

    @property
    def delete_after_days(self) -> int:
        """The age at which ISM deletes an index: what S3 must keep at least as long."""
        return self.hot_days + (self.warm_days or 0)


class SiemNetwork(StrictModel):
    """``guard:siem.network``: the domain's VPC, where the retention Lambda must run."""

    subnet_ids: Annotated[
        list[Annotated[str, AfterValidator(_subnet)]],
        Field(min_length=1, max_length=MAX_SUBNETS),
        AfterValidator(_unique),
    ]
    security_group_ids: Annotated[
        list[Annotated[str, AfterValidator(_security_group)]],
        Field(min_length=1, max_length=MAX_SECURITY_GROUPS),
        AfterValidator(_unique),
    ]


class SiemConfig(StrictModel):
    """``guard:siem``: the SIEM's loader (fed by S3 notifications) and its domain's retention."""

    domain_endpoint: Annotated[str, AfterValidator(_endpoint)] | None = None
    #: Only for a custom endpoint: the domain name is read from an endpoint AWS generated.
    domain_name: Annotated[str, AfterValidator(_domain_name)] | None = None
    loader_queue_arn: QueueArn | None = None
    loader_role_arn: RoleArn | None = None
    retention: SiemRetention | None = None
    network: SiemNetwork | None = None

    @model_validator(mode="after")
    def _complete(self) -> SiemConfig:
        # Every rule that fails, in one message: the user fixes them in one edit.
        problems = []
        if (self.loader_queue_arn is None) != (self.loader_role_arn is None):
            problems.append(
                "loader_queue_arn and loader_role_arn go together: S3 notifies the queue of "
                "each new log object and the role (the loader's) must be allowed to read it"
            )
        if self.domain_endpoint is None:
            problems += [
                f"{key} needs domain_endpoint: the OpenSearch domain guard applies the retention "
                "policy to"
                for key in ("retention", "network", "domain_name")
                if getattr(self, key) is not None
            ]
        elif self.domain is None:
            problems.append(
                f"domain_endpoint {self.domain_endpoint} is not one AWS generated "
                "(search-<domain>-<id>.<region>.es.amazonaws.com or vpc-...): add domain_name, "
                "the domain's name, so guard can scope the function's es:ESHttp* permissions"
            )
        if self.network is not None and self.retention is None:
            problems.append(
                "network is where the retention Lambda runs: it needs retention (or leave "
                "network out)"
            )
        if (
            self.retention is None
            and self.loader_queue_arn is None
            and self.loader_role_arn is None
        ):
            problems.append(
                "nothing to do: set loader_queue_arn and loader_role_arn (S3 notifies the "
                "SIEM's loader of new logs), domain_endpoint with retention (guard keeps the "
                "indices hot_days), or both"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def host(self) -> str | None:
        return urlsplit(self.domain_endpoint).hostname if self.domain_endpoint else None

    @property
    def domain(self) -> str | None:
        """The domain's name: ``domain_name`` when given, else read from the endpoint."""
        if self.domain_name is not None:
            return self.domain_name
        match = GENERATED_HOST_RE.match(self.host or "")
        return match["domain"] if match else None

    @property
    def endpoint_region(self) -> str | None:
        """The region in an endpoint AWS generated (None for a custom endpoint)."""
        match = GENERATED_HOST_RE.match(self.host or "")
        return match["region"] if match else None

    @property
    def feeds_loader(self) -> bool:
        return self.loader_queue_arn is not None
