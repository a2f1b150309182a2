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

from components.providers import Providers, opts
from components.tags import guard_tags
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
    POLICY_VERSION,
    circleci_issuer_host,
)

READ_ONLY_ACCESS = "arn:aws:iam::aws:policy/ReadOnlyAccess"
ADMIN_POLICIES = (
    "arn:aws:iam::aws:policy/AdministratorAccess",
    "arn:aws:iam::aws:policy/IAMFullAccess",
)
#: Tag read by the oidc-deploy-not-from-pull-request policy (with the ``-deploy`` name suffix).
ROLE_KIND_TAG = "guard:role"
MAX_ROLE_NAME = 64
#: Service-linked roles the areas of this repository need when first enabled.
SERVICE_LINKED = (
    "guardduty.amazonaws.com",
    "malware-protection.guardduty.amazonaws.com",
    "securityhub.amazonaws.com",
    "shield.amazonaws.com",
    "wafv2.amazonaws.com",
)


def role_name(stack: str, *parts: str) -> str:
    name = "-".join(("guard", stack, *parts))
    if len(name) > MAX_ROLE_NAME:
        # IAM's limit; shortening silently would break the ARNs written in the workflows.
        raise ValueError(
            f"IAM role name {name!r} is {len(name)} characters; IAM allows {MAX_ROLE_NAME}: "
            "use a shorter stack or product name"
        )
    return name


def _policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": POLICY_VERSION, "Statement": list(statements)}


def _state_bucket_statements(bucket: str, *, write: bool) -> list[dict[str, Any]]:
    objects = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"] if write else ["s3:GetObject"]
    return [
        {
            "Sid": "StateBucket",
            "Effect": "Allow",
            "Action": ["s3:ListBucket", "s3:GetBucketLocation", "s3:GetBucketVersioning"],
            "Resource": f"arn:aws:s3:::{bucket}",
        },
        {
            "Sid": "StateObjects",
            "Effect": "Allow",
            "Action": objects,
            "Resource": f"arn:aws:s3:::{bucket}/*",
        },
    ]


def _secrets_key_statement(key_arn: str | None) -> list[dict[str, Any]]:
    if key_arn is None:
        return []
    return [
        {"Sid": "StackSecrets", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": key_arn}
    ]


def pipeline_preview_policy(state_bucket: str, secrets_key_arn: str | None) -> dict[str, Any]:
    """The preview role's inline policy; ReadOnlyAccess (attached) covers reading the cloud.

    State is read-only: with a self-managed (DIY) backend ``pulumi preview`` takes no lock and
    writes no checkpoint or history, and this role is assumable from any pull request branch,
    which must not be able to rewrite what the deploy believes exists.
    """
    return _policy(
        *_state_bucket_statements(state_bucket, write=False),
        *_secrets_key_statement(secrets_key_arn),
    )


def _srt_statements(log_buckets: Sequence[str], role_arn: str | None) -> list[dict[str, Any]]:
    """Shield's SRT associations act on resources the repository does not name ``guard-*``."""
    statements: list[dict[str, Any]] = []
    if log_buckets:
        # AssociateDRTLogBucket makes Shield add the SRT to each bucket's policy, as the caller.
        statements.append(
            {
                "Sid": "ShieldSrtLogBuckets",
                "Effect": "Allow",
                "Action": ["s3:GetBucketPolicy", "s3:PutBucketPolicy"],
                "Resource": [f"arn:aws:s3:::{bucket}" for bucket in log_buckets],
            }
        )
    if role_arn is not None:
        statements.append(
            {
                "Sid": "ShieldSrtRole",
                "Effect": "Allow",
                "Action": ["iam:GetRole", "iam:PassRole"],
                "Resource": role_arn,
            }
        )
    return statements


def pipeline_deploy_policy(
    account_id: str,
    state_bucket: str,
    secrets_key_arn: str | None,
    *,
    srt_log_buckets: Sequence[str] = (),
    srt_role_arn: str | None = None,
    waf_log_bucket: str | None = None,
) -> dict[str, Any]:
    """What ``pulumi up`` of this repository needs beyond ReadOnlyAccess (attached).

    Writes are limited to this account and, wherever the repository names the resources, to
    ``guard-*`` names. Security services that are account singletons (Shield, GuardDuty,
    Security Hub) are granted per service. Nothing is ``*`` on ``*``. ``srt_log_buckets`` and
    an existing ``srt_role_arn`` come from ``guard:shield.srt_access``.
    """
    a = account_id
    named = {
        "wafv2": [
            f"arn:aws:wafv2:*:{a}:*/webacl/guard-*/*",
            f"arn:aws:wafv2:*:{a}:*/ipset/guard-*/*",
        ],
        "events": [f"arn:aws:events:*:{a}:rule/guard-*"],
        "sns": [f"arn:aws:sns:*:{a}:guard-*"],
        "sqs": [f"arn:aws:sqs:*:{a}:guard-*"],
        "lambda": [f"arn:aws:lambda:*:{a}:function:guard-*"],
        "cloudwatch": [f"arn:aws:cloudwatch:*:{a}:alarm:guard-*"],
        "logs": [
            f"arn:aws:logs:*:{a}:log-group:guard-*",
            f"arn:aws:logs:*:{a}:log-group:/aws/lambda/guard-*",
            f"arn:aws:logs:*:{a}:log-group:aws-waf-logs-guard-*",
        ],
        "chatbot": [f"arn:aws:chatbot::{a}:chat-configuration/slack-channel/guard-*"],
        "firehose": [f"arn:aws:firehose:*:{a}:deliverystream/aws-waf-logs-guard-*"],
        "athena": [f"arn:aws:athena:*:{a}:workgroup/guard-*"],
        "glue": [
            f"arn:aws:glue:*:{a}:catalog",
            f"arn:aws:glue:*:{a}:database/guard_*",
            f"arn:aws:glue:*:{a}:table/guard_*/*",
        ],
    }
    if waf_log_bucket is not None:
        # guard:logs names its bucket (S3 names are global, so it cannot be guard-* by rule).
        named["s3"] = [f"arn:aws:s3:::{waf_log_bucket}", f"arn:aws:s3:::{waf_log_bucket}/*"]
    return _policy(
        *_state_bucket_statements(state_bucket, write=True),
        *_secrets_key_statement(secrets_key_arn),
        *_srt_statements(srt_log_buckets, srt_role_arn),
        {
            "Sid": "GuardNamedResources",
            "Effect": "Allow",
            "Action": [f"{service}:*" for service in named],
            "Resource": [arn for arns in named.values() for arn in arns],
        },
        {
            # Account-level singletons this repository owns outright.
            "Sid": "AccountSecurityServices",
            "Effect": "Allow",
            "Action": ["shield:*", "guardduty:*", "securityhub:*"],
            "Resource": "*",
        },
        {
            # Associating a web ACL with an ALB also needs this on the load balancer.
            "Sid": "AssociateWebAcls",
            "Effect": "Allow",
            "Action": "elasticloadbalancing:SetWebAcl",
            "Resource": f"arn:aws:elasticloadbalancing:*:{a}:loadbalancer/app/*",
        },
        {
            # Key ids are random, so guard's keys are recognised by their tag.
            "Sid": "GuardKeys",
            "Effect": "Allow",
            "Action": "kms:*",
            "Resource": f"arn:aws:kms:*:{a}:key/*",
            "Condition": {"StringEquals": {"aws:ResourceTag/managed-by": "guard"}},
        },
        {
            "Sid": "CreateGuardKeys",
            "Effect": "Allow",
            "Action": ["kms:CreateKey", "kms:TagResource"],
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:RequestTag/managed-by": "guard"}},
        },
        {
            "Sid": "GuardKeyAliases",
            "Effect": "Allow",
            "Action": ["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"],
            "Resource": f"arn:aws:kms:*:{a}:alias/guard-*",
        },
        {
            "Sid": "GuardIam",
            "Effect": "Allow",
            "Action": "iam:*",
            "Resource": [
                f"arn:aws:iam::{a}:role/guard-*",
                f"arn:aws:iam::{a}:policy/guard-*",
                f"arn:aws:iam::{a}:oidc-provider/{GITHUB_ISSUER_HOST}",
                f"arn:aws:iam::{a}:oidc-provider/oidc.circleci.com/org/*",
            ],
        },
        {
            "Sid": "ServiceLinkedRoles",
            "Effect": "Allow",
            "Action": "iam:CreateServiceLinkedRole",
            "Resource": f"arn:aws:iam::{a}:role/aws-service-role/*",
            "Condition": {"StringEquals": {"iam:AWSServiceName": list(SERVICE_LINKED)}},
        },
        {
            # Defence in depth: a merged change cannot hand a role full admin this way.
            "Sid": "NoAdminGrants",
            "Effect": "Deny",
            "Action": "iam:AttachRolePolicy",
            "Resource": "*",
            "Condition": {"ArnEquals": {"iam:PolicyARN": list(ADMIN_POLICIES)}},
        },
    )


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
        providers: Providers,
        depends_on: list[pulumi.Resource],
        protect: bool = False,
        opts_: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("guard:ci:CiRole", name, None, opts_)
        role = aws.iam.Role(
            name,
            name=name,
            description=description,
            # Plain JSON text, so the policy pack sees the trust at preview time.
            assume_role_policy=compact_json(trust),
            max_session_duration=MAX_SESSION_SECONDS,
            tags=tags,
            opts=opts(self, providers.regional, depends_on=depends_on, protect=protect),
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
                    depends_on=provider_resources[system],
                    opts_=pulumi.ResourceOptions(parent=self),
                )
                products.setdefault(product.name, {})[system] = role.arn

        pipeline: dict[str, pulumi.Output[str]] = {}
        if config.pipeline is not None:
            p = config.pipeline
            srt = config.shield.srt_access if config.shield is not None else None
            trusts = pipeline_trust_policies(p, ci, account)
            depends = provider_resources["github"] + (
                provider_resources["circleci"] if p.circleci_project_id else []
            )
            inline = {
                "preview": pipeline_preview_policy(p.state_bucket, p.secrets_key_arn),
                "deploy": pipeline_deploy_policy(
                    account,
                    p.state_bucket,
                    p.secrets_key_arn,
                    srt_log_buckets=srt.log_buckets if srt is not None else (),
                    srt_role_arn=srt.role if srt is not None and srt.role != "create" else None,
                    waf_log_bucket=config.logs.bucket if config.logs is not None else None,
                ),
            }
            for kind in ("preview", "deploy"):
                role = CiRole(
                    role_name(stack, "pipeline", kind),
                    trust=trusts[kind],
                    description=f"guard: {kind} of this repository ({p.github_repo})",
                    managed_policies=[READ_ONLY_ACCESS],
                    inline_policy=inline[kind],
                    tags={**stack_tags, ROLE_KIND_TAG: kind},
                    providers=providers,
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
