"""Checks on the CI identities that need more than one section of the configuration.

A product's ``ci.github`` needs ``guard:ci.github`` (the provider its role trusts), a reused
provider and customer managed policies must be in the stack's account, and every trust policy
must build: :mod:`guard.oidc_trust` refuses anything it cannot trust exactly, and that refusal is
reported here as a config error instead of failing later inside the Pulumi program.
"""

from __future__ import annotations

from datetime import date

from guard.config.ci import (
    MANAGED_POLICY_ARN_RE,
    OIDC_PROVIDER_ARN_RE,
    pipeline_trust_policies,
    product_trust_policies,
)
from guard.config.errors import KeyPath, Problem
from guard.config.stack import StackConfig
from guard.oidc_trust import TrustError

P = "guard:products"
CI = "guard:ci"
PIPELINE = "guard:pipeline"

_GITHUB_HINT = (
    "declare the GitHub Actions provider with guard:ci: {github: {}} "
    "(or reuse the account's with guard:ci: {github: {provider_arn: ...}})"
)
_CIRCLECI_HINT = "declare the CircleCI organisation with guard:ci: {circleci: {org_id: ...}}"


def _missing_providers(config: StackConfig) -> list[Problem]:
    ci = config.ci
    has_github = ci is not None and ci.github is not None
    has_circleci = ci is not None and ci.circleci is not None
    problems = []
    for i, product in enumerate(config.products):
        if product.ci is None:
            continue
        if product.ci.github is not None and not has_github:
            problems.append(
                Problem(
                    (P, i, "ci", "github"),
                    f"{product.name}'s GitHub deploy role needs guard:ci.github; {_GITHUB_HINT}",
                )
            )
        if product.ci.circleci is not None and not has_circleci:
            problems.append(
                Problem(
                    (P, i, "ci", "circleci"),
                    f"{product.name}'s CircleCI deploy role needs guard:ci.circleci; "
                    f"{_CIRCLECI_HINT}",
                )
            )
    pipeline = config.pipeline
    if pipeline is not None and not has_github:
        problems.append(
            Problem(
                (PIPELINE, "github_repo"),
                f"the pipeline's roles are trusted by GitHub Actions and need guard:ci.github; "
                f"{_GITHUB_HINT}",
                pipeline.github_repo,
            )
        )
    if pipeline is not None and pipeline.circleci_project_id is not None and not has_circleci:
        problems.append(
            Problem(
                (PIPELINE, "circleci_project_id"),
                f"trusting a CircleCI project needs guard:ci.circleci; {_CIRCLECI_HINT}",
                pipeline.circleci_project_id,
            )
        )
    return problems


def _accounts(config: StackConfig) -> list[Problem]:
    """IAM lets a role trust only its own account's providers and attach only its policies."""
    problems = []
    if config.ci is not None:
        for system in ("github", "circleci"):
            provider = getattr(config.ci, system)
            arn = provider.provider_arn if provider is not None else None
            match = OIDC_PROVIDER_ARN_RE.match(arn) if arn else None
            if match is not None and match["account"] != config.account_id:
                problems.append(
                    Problem(
                        (CI, system, "provider_arn"),
                        f"the provider is in account {match['account']}, but a role can only "
                        f"trust a provider of its own account {config.account_id} "
                        "(guard:account_id)",
                        arn,
                    )
                )
    for i, product in enumerate(config.products):
        if product.ci is None:
            continue
        for j, arn in enumerate(product.ci.permissions.managed_policies):
            match = MANAGED_POLICY_ARN_RE.match(arn)
            if match is not None and match["account"] not in ("aws", config.account_id):
                problems.append(
                    Problem(
                        (P, i, "ci", "permissions", "managed_policies", j),
                        f"a role can attach AWS managed policies (arn:aws:iam::aws:policy/...) "
                        f"or its own account's ({config.account_id}), not account "
                        f"{match['account']}'s",
                        arn,
                    )
                )
    return problems


def ci_identities(config: StackConfig, warnings: list[str], today: date) -> list[Problem]:
    """Providers present, accounts consistent, and every trust policy buildable."""
    missing = _missing_providers(config)
    problems = missing + _accounts(config)
    if missing:
        # Without their providers the trust policies cannot be built; that is already said.
        return problems
    for i, product in enumerate(config.products):
        if product.ci is None:
            continue
        path: KeyPath = (P, i, "ci")
        try:
            product_trust_policies(product.ci, config.ci, config.account_id)
        except TrustError as err:
            problems.append(Problem(path, f"cannot build {product.name}'s trust policy: {err}"))
        if product.ci.circleci is not None and product.ci.circleci.vcs_origin is None:
            warnings.append(
                f"{product.name}: ci.circleci has no vcs_origin, so builds of the project from any "
                "origin (forked pull requests, if the project passes secrets to forks) match its "
                "deploy role; set vcs_origin: github.com/<org>/<repo>"
            )
    if config.pipeline is not None:
        try:
            pipeline_trust_policies(config.pipeline, config.ci, config.account_id)
        except TrustError as err:
            problems.append(
                Problem((PIPELINE,), f"cannot build the pipeline roles' trust policies: {err}")
            )
    return problems
