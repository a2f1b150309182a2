"""Keyless CI: OIDC providers, each product's deploy roles and this repository's own roles.

GitHub Actions and CircleCI jobs exchange their OIDC token for a one-hour session of a role
whose trust names the provider, the audience and the exact ``sub`` values allowed (built by
:mod:`guard.oidc_trust`). No IAM user or access key exists anywhere.

Every trust document is passed to ``assume_role_policy`` as plain JSON text, never through
``Output.apply``, so the policy pack judges it at preview time. A provider created in the same
stack has an unknown ARN until it exists; IAM names providers after their issuer, so the ARN is
built from plain data instead and each role depends on the provider resource.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from components.iam import PermissionsBoundary, bounded_role, checked_role_name
from components.providers import Providers, opts
from components.tags import guard_tags
from guard.ci_grant import policy_of, policy_parts
from guard.ci_permissions import deploy_grants, preview_grants
from guard.ci_scope import READ_ONLY_ACCESS, PipelineScope
from guard.config.ci import (
    circleci_provider_arn,
    compact_json,
    github_provider_arn,
    pipeline_trust_policies,
    product_trust_policies,
)
from guard.config.stack import StackConfig
from guard.oidc_trust import (
    GITHUB_AUDIENCE,
    GITHUB_ISSUER_HOST,
    MAX_SESSION_SECONDS,
    circleci_issuer_host,
)

#: Tag read by the oidc-deploy-not-from-pull-request policy (with the ``-deploy`` name suffix).
ROLE_KIND_TAG = "guard:role"


def role_name(stack: str, *parts: str) -> str:
    return checked_role_name("-".join(("guard", stack, *parts)), "stack or product")


class CiRole(pulumi.ComponentResource):
    """One IAM role trusted through OIDC, with its managed policies and inline permissions."""

    arn: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        trust: dict[str, Any],
        description: str,
        managed_policies: list[str],
        inline_policy: dict[str, Any] | None,
        tags: dict[str, str],
        own_policies: Sequence[dict[str, Any]] = (),
        providers: Providers,
        boundary: PermissionsBoundary,
        depends_on: list[pulumi.Resource],
        protect: bool = False,
        opts_: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("guard:ci:CiRole", name, None, opts_)
        role = bounded_role(
            name,
            name=name,
            description=description,
            trust=trust,
            boundary=boundary,
            max_session_duration=MAX_SESSION_SECONDS,
            tags=tags,
            opts_=opts(self, providers.regional, depends_on=depends_on, protect=protect),
        )
        for arn in managed_policies:
            account, _, policy = arn.removeprefix("arn:aws:iam::").partition(":policy/")
            aws.iam.RolePolicyAttachment(
                f"{name}-{account}-{policy.replace('/', '-')}",
                role=role.name,
                policy_arn=arn,
                opts=opts(self, providers.regional),
            )
        if inline_policy is not None:
            aws.iam.RolePolicy(
                f"{name}-permissions",
                name="permissions",
                role=role.name,
                policy=compact_json(inline_policy),
                opts=opts(self, providers.regional),
            )
        # Permissions too long for IAM's 10,240 characters of inline policy: customer managed
        # policies named after the role (protected like it; the boundary fixes them too).
        for number, document in enumerate(own_policies, start=1):
            part = aws.iam.Policy(
                f"{name}-{number}",
                name=f"{name}-{number}",
                description=f"guard: permissions of {name}, part {number}",
                policy=compact_json(document),
                tags=tags,
                opts=opts(self, providers.regional, protect=protect),
            )
            aws.iam.RolePolicyAttachment(
                f"{name}-{number}",
                role=role.name,
                policy_arn=part.arn,
                opts=opts(self, providers.regional),
            )
        self.arn = role.arn
        self.register_outputs({"arn": role.arn})


class CiIdentity(pulumi.ComponentResource):
    """The stack's OIDC providers and every role CI systems assume.

    ``role_arns`` is ``{"products": {<product>: {"github"|"circleci": arn}}, "pipeline":
    {"preview": arn, "deploy": arn}}``, exported as the stack output ``ci_roles``.
    """

    role_arns: dict[str, Any]

    def __init__(
        self,
        config: StackConfig,
        *,
        stack: str,
        providers: Providers,
        boundary: PermissionsBoundary,
        scope: PipelineScope,
        opts_: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("guard:ci:CiIdentity", f"guard-{stack}-ci", None, opts_)
        ci = config.ci
        account = config.account_id
        stack_tags = guard_tags(stack)
        # The providers and the pipeline's own roles are what every deploy runs through:
        # protected, so removing them from the config cannot lock the pipeline out mid-update.
        provider_resources: dict[str, list[pulumi.Resource]] = {"github": [], "circleci": []}
        if ci is not None and ci.github is not None and ci.github.provider_arn is None:
            provider_resources["github"].append(
                aws.iam.OpenIdConnectProvider(
                    f"guard-{stack}-github-oidc",
                    url=f"https://{GITHUB_ISSUER_HOST}",
                    client_id_lists=[GITHUB_AUDIENCE],
                    tags=stack_tags,
                    opts=opts(self, providers.regional, protect=True),
                )
            )
        if ci is not None and ci.circleci is not None and ci.circleci.provider_arn is None:
            org_id = ci.circleci.org_id
            provider_resources["circleci"].append(
                aws.iam.OpenIdConnectProvider(
                    f"guard-{stack}-circleci-oidc",
                    url=f"https://{circleci_issuer_host(org_id)}",
                    # CircleCI's tokens carry the organisation id as their audience.
                    client_id_lists=[org_id],
                    tags=stack_tags,
                    opts=opts(self, providers.regional, protect=True),
                )
            )

        products: dict[str, dict[str, pulumi.Output[str]]] = {}
        for product in config.products:
            if product.ci is None:
                continue
            trusts = product_trust_policies(product.ci, ci, account)
            permissions = product.ci.permissions
            for system, trust in trusts.items():
                name = role_name(stack, product.name, system, "deploy")
                source = (
                    product.ci.github.repo
                    if system == "github" and product.ci.github is not None
                    else f"CircleCI project {getattr(product.ci.circleci, 'project_id', '')}"
                )
                role = CiRole(
                    name,
                    trust=trust,
                    description=f"guard: deploys {product.name} from {source}",
                    managed_policies=list(permissions.managed_policies),
                    inline_policy=permissions.inline_policy() if permissions.statements else None,
                    tags={
                        **guard_tags(stack, product.name, product.owner),
                        ROLE_KIND_TAG: "deploy",
                        "guard:ci": system,
                    },
                    providers=providers,
                    boundary=boundary,
                    depends_on=provider_resources[system],
                    opts_=pulumi.ResourceOptions(parent=self),
                )
                products.setdefault(product.name, {})[system] = role.arn

        pipeline: dict[str, pulumi.Output[str]] = {}
        if config.pipeline is not None:
            p = config.pipeline
            trusts = pipeline_trust_policies(p, ci, account)
            depends = provider_resources["github"] + (
                provider_resources["circleci"] if p.circleci_project_id else []
            )
            # The preview role's few statements are inline; the deploy role's table is split into
            # managed policies of at most 6,144 characters each.
            inline = {"preview": policy_of(preview_grants(scope)), "deploy": None}
            parts = {"preview": [], "deploy": policy_parts(deploy_grants(scope))}
            for kind in ("preview", "deploy"):
                role = CiRole(
                    role_name(stack, "pipeline", kind),
                    trust=trusts[kind],
                    description=f"guard: {kind} of this repository ({p.github_repo})",
                    managed_policies=[READ_ONLY_ACCESS],
                    inline_policy=inline[kind],
                    own_policies=parts[kind],
                    tags={**stack_tags, ROLE_KIND_TAG: kind},
                    providers=providers,
                    boundary=boundary,
                    depends_on=depends,
                    protect=True,
                    opts_=pulumi.ResourceOptions(parent=self),
                )
                pipeline[kind] = role.arn

        self.provider_arns = {
            system: (
                github_provider_arn(ci, account)
                if system == "github"
                else circleci_provider_arn(ci, account)
            )
            for system in ("github", "circleci")
            if ci is not None and getattr(ci, system) is not None
        }
        self.role_arns = {"products": products, "pipeline": pipeline}
        self.register_outputs({"ci_roles": self.role_arns, "oidc_providers": self.provider_arns})
