"""Keyless CI identities (``guard:ci``, ``guard:pipeline`` and each product's ``ci``).

``guard:ci`` declares the OIDC providers (GitHub Actions, CircleCI) the account trusts,
``guard:pipeline`` this repository's own preview and deploy roles, and a product's ``ci`` which
repository or CircleCI project may deploy the product and with what permissions.

Every value that ends up in a trust policy is checked with :mod:`guard.oidc_trust`, the module
that also builds the policies, so the configuration accepts exactly what can be trusted exactly.
The trust documents are built here as plain data (``*_trust_policy`` below): the cross checks in
:mod:`guard.ci_checks` build them once to turn any :class:`~guard.oidc_trust.TrustError` into a
config error, and the component builds them again for ``assume_role_policy``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from guard.config.base import BucketName, StrictModel
from guard.oidc_trust import (
    ANY_BRANCH,
    GITHUB_ISSUER_HOST,
    POLICY_VERSION,
    TrustError,
    circleci_issuer_host,
    circleci_subject_patterns,
    circleci_trust_policy,
    github_subjects,
    github_trust_policy,
    oidc_provider_arn,
)

#: The GitHub environment whose jobs may assume this repository's deploy role.
DEPLOY_ENVIRONMENT = "production"
#: What may assume this repository's preview role on GitHub: pull requests (the plan comment)
#: and main (the daily drift check runs on the default branch).
PIPELINE_PREVIEW_FROM = ("pull_request", "ref:refs/heads/main")
PIPELINE_DEPLOY_FROM = (f"environment:{DEPLOY_ENVIRONMENT}",)
#: On CircleCI the preview jobs run on every branch except main, the deploy jobs on main.
PIPELINE_CIRCLECI_PREVIEW_BRANCHES = (ANY_BRANCH,)
PIPELINE_CIRCLECI_DEPLOY_BRANCHES = ("main",)

#: AWS managed policies no CI role may hold: each is, or trivially becomes, full admin
#: (IAMFullAccess lets the role attach AdministratorAccess to itself).
REFUSED_MANAGED_POLICIES = frozenset({"AdministratorAccess", "IAMFullAccess"})
#: IAM's default quota of managed policies attached to one role.
MAX_MANAGED_POLICIES = 10
#: IAM's limit on the inline policies of one role, counted without whitespace.
MAX_INLINE_POLICY_CHARS = 10_240

MANAGED_POLICY_ARN_RE = re.compile(
    r"^arn:aws:iam::(?P<account>aws|\d{12}):policy/(?:[\w+=,.@-]+/)*(?P<name>[\w+=,.@-]{1,128})$"
)
OIDC_PROVIDER_ARN_RE = re.compile(r"^arn:aws:iam::(?P<account>\d{12}):oidc-provider/(?P<host>.+)$")
KMS_KEY_ARN_RE = re.compile(
    r"^arn:aws:kms:[a-z0-9-]+:(?P<account>\d{12}):key/(?:mrk-[0-9a-f]{32}|[0-9a-f-]{36})$"
)
KMS_ALIAS_RE = re.compile(r"^alias/(?!aws/)[A-Za-z0-9/_-]{1,250}$")
IAM_ACTION_RE = re.compile(r"^(?:\*|[a-z0-9-]+:[A-Za-z0-9*?]+)$")
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
# Stand-ins used only to validate one value at a time with the trust builders.
_ANY_UUID = "00000000-0000-4000-8000-000000000000"
_ANY_REPO = "owner/name"
_DEPLOY_FROM_PREFIXES = ("ref:refs/heads/", "ref:refs/tags/", "environment:")


def _uuid(value: str) -> str:
    if not UUID_RE.match(value):
        raise ValueError(
            "must be a lowercase UUID such as 6f4e1c2a-0000-4000-8000-000000000001, exactly as "
            "CircleCI shows it (trust policies compare it case-sensitively)"
        )
    return value


def _github_repo(value: str) -> str:
    try:
        github_subjects(value, ["pull_request"])
    except TrustError as err:
        raise ValueError(f"must be owner/name exactly as on GitHub: {err}") from None
    return value


def _deploy_from(value: str) -> str:
    if value == "pull_request":
        raise ValueError(
            "a deploy role must not trust pull requests (anyone who can open one could deploy); "
            "allowed: ref:refs/heads/<branch>, ref:refs/tags/<tag>, environment:<name>"
        )
    if not value.startswith(_DEPLOY_FROM_PREFIXES):
        raise ValueError(
            "must be ref:refs/heads/<branch>, ref:refs/tags/<tag> or environment:<name> "
            "(GitHub's subject for jobs on that branch or tag, or in that environment)"
        )
    try:
        github_subjects(_ANY_REPO, [value])
    except TrustError as err:
        raise ValueError(str(err)) from None
    return value


def _deploy_branch(value: str) -> str:
    if value == ANY_BRANCH:
        raise ValueError(
            "a deploy role trusts named branches only; '*' would let every branch (and every "
            "pull request build) deploy"
        )
    try:
        circleci_subject_patterns(_ANY_UUID, _ANY_UUID, [value])
    except TrustError as err:
        raise ValueError(str(err)) from None
    return value


def _vcs_origin(value: str) -> str:
    try:
        circleci_subject_patterns(_ANY_UUID, _ANY_UUID, ["main"], value)
    except TrustError as err:
        raise ValueError(str(err)) from None
    return value


def _managed_policy(value: str) -> str:
    match = MANAGED_POLICY_ARN_RE.match(value)
    if match is None:
        raise ValueError(
            "must be an IAM managed policy ARN, arn:aws:iam::aws:policy/<name> (AWS managed) or "
            "arn:aws:iam::<12-digit account>:policy/<path/><name>"
        )
    if match["name"] in REFUSED_MANAGED_POLICIES:
        raise ValueError(
            f"{match['name']} is full administrator access (or one step from it); list the "
            "actions the deploy needs in statements, or a narrower managed policy"
        )
    return value


def _iam_action(value: str) -> str:
    if not IAM_ACTION_RE.match(value):
        raise ValueError(
            "must be an IAM action such as 's3:PutObject' or 'ecs:Update*' (service prefix, ':', "
            "action name with optional * or ? wildcards)"
        )
    return value


def _iam_resource(value: str) -> str:
    if value != "*" and not value.startswith("arn:"):
        raise ValueError("must be an ARN (wildcards allowed), or '*'")
    return value


def _one_or_many(value: object) -> object:
    return [value] if isinstance(value, str) else value


def _kms_key(value: str) -> str:
    if not KMS_KEY_ARN_RE.match(value):
        raise ValueError(
            "must be a KMS key ARN, arn:aws:kms:<region>:<account>:key/<key id> (IAM policies "
            "need the key's ARN: an alias ARN would not match the key)"
        )
    return value


def _kms_alias(value: str) -> str:
    if not KMS_ALIAS_RE.match(value):
        raise ValueError(
            "must be a KMS alias name, alias/<name> (letters, digits, '/', '_', '-'; the "
            "alias/aws/ prefix is reserved for AWS managed keys)"
        )
    return value


def _provider_arn(host: str) -> Any:
    def check(value: str) -> str:
        match = OIDC_PROVIDER_ARN_RE.match(value)
        if match is None or match["host"] != host:
            raise ValueError(
                f"must be the ARN of the account's IAM OIDC provider for {host}, "
                f"arn:aws:iam::<account>:oidc-provider/{host}"
            )
        return value

    return AfterValidator(check)


Uuid = Annotated[str, AfterValidator(_uuid)]
GithubRepo = Annotated[str, AfterValidator(_github_repo)]
DeployFrom = Annotated[str, AfterValidator(_deploy_from)]
DeployBranch = Annotated[str, AfterValidator(_deploy_branch)]
VcsOrigin = Annotated[str, AfterValidator(_vcs_origin)]
ManagedPolicyArn = Annotated[str, AfterValidator(_managed_policy)]
IamAction = Annotated[str, AfterValidator(_iam_action)]
IamResource = Annotated[str, AfterValidator(_iam_resource)]
KmsKeyArn = Annotated[str, AfterValidator(_kms_key)]
KmsAlias = Annotated[str, AfterValidator(_kms_alias)]
ConditionValue = str | bool | int | list[str]


# --- guard:ci --------------------------------------------------------------------------------


class GithubProvider(StrictModel):
    """``guard:ci.github``: ``{}`` creates the GitHub Actions provider; ``provider_arn`` reuses one."""

    provider_arn: Annotated[str, _provider_arn(GITHUB_ISSUER_HOST)] | None = None


class CircleciProvider(StrictModel):
    """``guard:ci.circleci``: the CircleCI organisation whose OIDC tokens the account trusts."""

    org_id: Uuid
    provider_arn: str | None = None

    @field_validator("provider_arn")
    @classmethod
    def _provider_for_this_org(cls, value: str | None, info: ValidationInfo) -> str | None:
        org_id = info.data.get("org_id")
        if value is None or org_id is None:
            return value
        host = circleci_issuer_host(org_id)
        match = OIDC_PROVIDER_ARN_RE.match(value)
        if match is None or match["host"] != host:
            raise ValueError(
                "must be the ARN of the account's IAM OIDC provider for this organisation, "
                f"arn:aws:iam::<account>:oidc-provider/{host}"
            )
        return value


class CiConfig(StrictModel):
    """``guard:ci``: the OIDC providers (GitHub Actions, CircleCI)."""

    github: GithubProvider | None = None
    circleci: CircleciProvider | None = None

    @model_validator(mode="after")
    def _something(self) -> CiConfig:
        if self.github is None and self.circleci is None:
            raise ValueError(
                "declares no provider; give github ({} or {provider_arn: ...}) and/or "
                "circleci ({org_id: ...})"
            )
        return self


# --- guard:pipeline --------------------------------------------------------------------------


class PipelineConfig(StrictModel):
    """``guard:pipeline``: this repository's own preview and deploy roles."""

    github_repo: GithubRepo
    state_bucket: BucketName
    # The KMS key of Pulumi secrets (``pulumi stack init --secrets-provider awskms://<alias>``),
    # created by ``guard bootstrap``; default alias/guard-<stack>-secrets.
    secrets_key_alias: KmsAlias | None = None
    # Its ARN, when known: IAM grants then name the key itself instead of matching its alias.
    secrets_key_arn: KmsKeyArn | None = None
    circleci_project_id: Uuid | None = None
    # GitHub's immutable subject format, as for a product's ci.github.
    owner_id: Annotated[int, Field(gt=0)] | None = None
    repo_id: Annotated[int, Field(gt=0)] | None = None
    # Where the stack comes in the pipeline's deploys (`guard stacks`): lower deploys first,
    # equal values by stack name.
    deploy_order: Annotated[int, Field(ge=0)] = 100

    @model_validator(mode="after")
    def _ids_together(self) -> PipelineConfig:
        if (self.owner_id is None) != (self.repo_id is None):
            raise ValueError("give owner_id and repo_id together (or neither)")
        return self

    def subjects(self, deploy_from: Sequence[str]) -> list[str]:
        return github_subjects(
            self.github_repo, deploy_from, owner_id=self.owner_id, repo_id=self.repo_id
        )

    def secrets_alias(self, stack: str) -> str:
        """The alias of the Pulumi secrets key: ``secrets_key_alias`` or the stack's default."""
        return self.secrets_key_alias or f"alias/guard-{stack}-secrets"


# --- a product's ci --------------------------------------------------------------------------


class GithubDeploy(StrictModel):
    """The GitHub repository allowed to deploy a product, and from which refs or environments."""

    repo: GithubRepo
    deploy_from: Annotated[list[DeployFrom], Field(min_length=1)]
    # The immutable subject format (repo:<owner>@<owner-id>/<name>@<repo-id>:...), for
    # repositories that receive it: a deleted and re-created owner/name no longer matches.
    owner_id: Annotated[int, Field(gt=0)] | None = None
    repo_id: Annotated[int, Field(gt=0)] | None = None

    @model_validator(mode="after")
    def _ids_together(self) -> GithubDeploy:
        if (self.owner_id is None) != (self.repo_id is None):
            raise ValueError("give owner_id and repo_id together (or neither)")
        return self

    def subjects(self) -> list[str]:
        return github_subjects(
            self.repo, self.deploy_from, owner_id=self.owner_id, repo_id=self.repo_id
        )


class CircleciDeploy(StrictModel):
    """The CircleCI project allowed to deploy a product, and from which branches."""

    project_id: Uuid
    branches: Annotated[list[DeployBranch], Field(min_length=1)]
    # github.com/<org>/<repo>: without it, any origin building this project matches (forks).
    vcs_origin: VcsOrigin | None = None


class PolicyStatement(StrictModel):
    """One IAM policy statement, in IAM's own JSON keys."""

    Sid: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9]{1,128}$")] | None = None
    Effect: Literal["Allow", "Deny"]
    # A single string is stored as a one-item list (IAM reads both the same way), so an error
    # names the item instead of two alternative shapes.
    Action: Annotated[list[IamAction], BeforeValidator(_one_or_many), Field(min_length=1)]
    Resource: Annotated[list[IamResource], BeforeValidator(_one_or_many), Field(min_length=1)]
    Condition: dict[str, dict[str, ConditionValue]] | None = None

    @model_validator(mode="after")
    def _not_admin(self) -> PolicyStatement:
        if self.Effect == "Allow" and "*" in self.Action and "*" in self.Resource:
            raise ValueError(
                'allows Action "*" on Resource "*" (full administrator access); list the '
                "actions the deploy needs and the resources they act on"
            )
        return self

    def to_iam(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)


class Permissions(StrictModel):
    """What a product's deploy role may do: managed policies and/or inline statements."""

    managed_policies: Annotated[list[ManagedPolicyArn], Field(max_length=MAX_MANAGED_POLICIES)] = []
    statements: list[PolicyStatement] = []

    @model_validator(mode="after")
    def _grants_something_within_limits(self) -> Permissions:
        if not self.managed_policies and not self.statements:
            raise ValueError("grants nothing; give managed_policies and/or statements")
        twice = sorted({a for a in self.managed_policies if self.managed_policies.count(a) > 1})
        if twice:
            raise ValueError(f"managed_policies lists {', '.join(twice)} more than once")
        size = len(compact_json(self.inline_policy())) if self.statements else 0
        if size > MAX_INLINE_POLICY_CHARS:
            raise ValueError(
                f"the statements are {size} characters as IAM counts them; IAM allows "
                f"{MAX_INLINE_POLICY_CHARS} of inline policy per role: merge statements or "
                "use a managed policy"
            )
        return self

    def inline_policy(self) -> dict[str, Any]:
        return {"Version": POLICY_VERSION, "Statement": [s.to_iam() for s in self.statements]}


class ProductCi(StrictModel):
    """A product's ``ci``: which repositories and projects may deploy it, with what permissions."""

    github: GithubDeploy | None = None
    circleci: CircleciDeploy | None = None
    permissions: Permissions

    @model_validator(mode="after")
    def _some_ci(self) -> ProductCi:
        if self.github is None and self.circleci is None:
            raise ValueError("names no CI system; give github and/or circleci")
        return self


# --- trust documents, as plain data ------------------------------------------------------------


def compact_json(document: dict[str, Any]) -> str:
    """A policy as IAM stores it: JSON without insignificant whitespace."""
    return json.dumps(document, separators=(",", ":"))


def github_provider_arn(ci: CiConfig, account_id: str) -> str:
    """The GitHub provider's ARN, known before it exists (IAM names it after the issuer)."""
    assert ci.github is not None
    return ci.github.provider_arn or oidc_provider_arn(account_id, GITHUB_ISSUER_HOST)


def circleci_provider_arn(ci: CiConfig, account_id: str) -> str:
    assert ci.circleci is not None
    return ci.circleci.provider_arn or oidc_provider_arn(
        account_id, circleci_issuer_host(ci.circleci.org_id)
    )


def merge_trust(*documents: dict[str, Any]) -> dict[str, Any]:
    """One trust policy holding every statement of ``documents`` (each from guard.oidc_trust)."""
    return {
        "Version": POLICY_VERSION,
        "Statement": [statement for doc in documents for statement in doc["Statement"]],
    }


def product_trust_policies(
    product_ci: ProductCi, ci: CiConfig | None, account_id: str
) -> dict[str, dict[str, Any]]:
    """``{"github": trust, "circleci": trust}`` for a product's deploy roles.

    Raises :class:`TrustError` (or ``AssertionError`` when a provider is missing; the cross
    checks report both as config errors first).
    """
    assert ci is not None
    out: dict[str, dict[str, Any]] = {}
    if product_ci.github is not None:
        out["github"] = github_trust_policy(
            github_provider_arn(ci, account_id), product_ci.github.subjects()
        )
    if product_ci.circleci is not None:
        assert ci.circleci is not None
        out["circleci"] = circleci_trust_policy(
            circleci_provider_arn(ci, account_id),
            ci.circleci.org_id,
            product_ci.circleci.project_id,
            product_ci.circleci.branches,
            product_ci.circleci.vcs_origin,
        )
    return out


def pipeline_trust_policies(
    pipeline: PipelineConfig, ci: CiConfig | None, account_id: str
) -> dict[str, dict[str, Any]]:
    """``{"preview": trust, "deploy": trust}`` for this repository's own roles.

    GitHub: preview for pull requests and main, deploy for the production environment only.
    With ``circleci_project_id``, the same roles also trust that CircleCI project (the
    ``.circleci/config.yml`` jobs use these roles): preview from any branch, deploy from main,
    both pinned to this repository's origin.
    """
    assert ci is not None and ci.github is not None
    github = github_provider_arn(ci, account_id)
    preview = [github_trust_policy(github, pipeline.subjects(PIPELINE_PREVIEW_FROM))]
    deploy = [github_trust_policy(github, pipeline.subjects(PIPELINE_DEPLOY_FROM))]
    if pipeline.circleci_project_id is not None:
        assert ci.circleci is not None
        circleci = circleci_provider_arn(ci, account_id)
        origin = f"github.com/{pipeline.github_repo}"
        for documents, branches in (
            (preview, PIPELINE_CIRCLECI_PREVIEW_BRANCHES),
            (deploy, PIPELINE_CIRCLECI_DEPLOY_BRANCHES),
        ):
            documents.append(
                circleci_trust_policy(
                    circleci,
                    ci.circleci.org_id,
                    pipeline.circleci_project_id,
                    branches,
                    origin,
                )
            )
    return {"preview": merge_trust(*preview), "deploy": merge_trust(*deploy)}
