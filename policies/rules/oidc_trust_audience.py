"""Every role trusted by a GitHub Actions or CircleCI OIDC provider checks the token's audience.

Also home of :func:`oidc_statements`, which the other ``oidc_*`` rules use to find the trust
statements of those two providers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import EnforcementLevel, ResourceValidationArgs, Severity

from guard.oidc_trust import CIRCLECI_ISSUER_DOMAIN, GITHUB_AUDIENCE, GITHUB_ISSUER_HOST
from policies.framework import Meta, Report, as_list, policy_document, resource_policy

META = Meta(
    name="oidc-trust-audience",
    description="A role trusted by the GitHub Actions or CircleCI OIDC provider requires the "
    "token's audience with StringEquals: sts.amazonaws.com for GitHub, the organisation id for "
    "CircleCI.",
    severity=Severity.HIGH,
    enforcement=EnforcementLevel.MANDATORY,
    remediation="build the trust with guard.oidc_trust (github_trust_policy or "
    "circleci_trust_policy), which adds '<issuer>:aud' under StringEquals.",
)
ROLE = "aws:iam/role:Role"
PROVIDER_ARN_RE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:oidc-provider/(?P<host>.+)$")
CIRCLECI_PREFIX = f"{CIRCLECI_ISSUER_DOMAIN}/org/"


@dataclass(frozen=True)
class OidcStatement:
    """An Allow statement of a trust policy whose principal is a GitHub or CircleCI provider."""

    statement: Mapping[str, Any]
    provider_arn: str
    host: str
    kind: str  # "github" or "circleci"

    @property
    def expected_audience(self) -> str:
        if self.kind == "github":
            return GITHUB_AUDIENCE
        return self.host.removeprefix(CIRCLECI_PREFIX)

    def values(self, operator: str, claim: str) -> list[Any] | None:
        """The values ``operator`` requires for ``<host>:<claim>``; None when it sets none.

        Condition keys are case-insensitive in IAM, operator names are not.
        """
        condition = self.statement.get("Condition")
        block = condition.get(operator) if isinstance(condition, Mapping) else None
        if not isinstance(block, Mapping):
            return None
        wanted = f"{self.host}:{claim}".lower()
        for key, value in block.items():
            if isinstance(key, str) and key.lower() == wanted:
                return as_list(value)
        return None


def _kind(host: str) -> str | None:
    # GitHub Enterprise Cloud's unique issuer is token.actions.githubusercontent.com/<enterprise>.
    if host == GITHUB_ISSUER_HOST or host.startswith(f"{GITHUB_ISSUER_HOST}/"):
        return "github"
    if host.startswith(CIRCLECI_PREFIX):
        return "circleci"
    return None


def oidc_statements(document: Mapping[str, Any]) -> Iterator[OidcStatement]:
    """Each (Allow statement, provider) pair trusting GitHub Actions or CircleCI."""
    for statement in as_list(document.get("Statement")):
        if not isinstance(statement, Mapping) or statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal")
        if not isinstance(principal, Mapping):
            continue
        for arn in as_list(principal.get("Federated")):
            match = PROVIDER_ARN_RE.match(arn) if isinstance(arn, str) else None
            kind = _kind(match["host"]) if match else None
            if match is not None and kind is not None:
                yield OidcStatement(statement, arn, match["host"], kind)


def role_trust(args: ResourceValidationArgs) -> dict[str, Any] | None:
    return policy_document(args.props.get("assumeRolePolicy"))


def check(args: ResourceValidationArgs, report: Report) -> None:
    document = role_trust(args)
    if document is None:
        return
    for found in oidc_statements(document):
        key = f"{found.host}:aud"
        values = found.values("StringEquals", "aud")
        if not values:
            report(
                f"{args.name} trusts {found.provider_arn} without a StringEquals condition on "
                f"{key}: tokens minted for any other audience are accepted.",
                None,
            )
            continue
        wrong = [v for v in values if v != found.expected_audience]
        if wrong:
            report(
                f"{args.name} accepts the audience {wrong} on {key}; only "
                f"{found.expected_audience!r} is what {found.kind} issues for AWS.",
                None,
            )


POLICY = resource_policy(META, [ROLE], check)
