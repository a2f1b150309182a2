"""CI identity config: every class of bad input gets one clear error with its key path.

Config is given the way the Pulumi engine passes it (objects as JSON text) to
``guard.config.loader.load_stack_config``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from guard.cli import main
from guard.config import ConfigError, load_stack_config
from guard.config.loader import LoadedConfig
from tests.conftest import STACKS, TODAY, minimal_product

ORG = "6f4e1c2a-0000-4000-8000-000000000001"
PROJECT = "0b7c0e4d-0000-4000-8000-000000000002"
GITHUB_PROVIDER = "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"
CI = {"github": {}, "circleci": {"org_id": ORG}}
PIPELINE = {"github_repo": "example-org/security-infra", "state_bucket": "example-pulumi-state"}


def github_ci(**github: Any) -> dict[str, Any]:
    return {
        "github": {
            "repo": "example-org/store",
            "deploy_from": ["ref:refs/heads/main", "environment:production"],
            **github,
        },
        "permissions": {"managed_policies": ["arn:aws:iam::aws:policy/AmazonECS_FullAccess"]},
    }


def circleci_ci(**circleci: Any) -> dict[str, Any]:
    return {
        "circleci": {
            "project_id": PROJECT,
            "branches": ["main"],
            "vcs_origin": "github.com/example-org/store",
            **circleci,
        },
        "permissions": {"managed_policies": ["arn:aws:iam::aws:policy/AmazonECS_FullAccess"]},
    }


def with_permissions(**permissions: Any) -> dict[str, Any]:
    product_ci = github_ci()
    product_ci["permissions"] = permissions
    return product_ci


def raw(
    product_ci: dict[str, Any] | None = None,
    ci: dict[str, Any] | None = CI,
    pipeline: dict[str, Any] | None = PIPELINE,
) -> dict[str, str]:
    product = minimal_product()
    if product_ci is not None:
        product["ci"] = product_ci
    config = {
        "aws:region": "ap-northeast-1",
        "guard:account_id": "111111111111",
        "guard:products": json.dumps([product]),
    }
    if ci is not None:
        config["guard:ci"] = json.dumps(ci)
    if pipeline is not None:
        config["guard:pipeline"] = json.dumps(pipeline)
    return config


def load(**kwargs: Any) -> LoadedConfig:
    return load_stack_config(raw(**kwargs), "test.yaml", today=TODAY)


def only_problem(**kwargs: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        load(**kwargs)
    found = [p.render("test.yaml") for p in caught.value.problems]
    assert len(found) == 1, found
    return found[0]


CI_PATH = "guard:products[0].ci"


# --- valid input ---------------------------------------------------------------------------


def test_full_ci_config_is_valid() -> None:
    both = {**github_ci(), "circleci": circleci_ci()["circleci"]}
    loaded = load(product_ci=both, pipeline={**PIPELINE, "circleci_project_id": PROJECT})
    config = loaded.config
    assert config.ci is not None and config.ci.circleci is not None
    assert config.ci.circleci.org_id == ORG
    assert config.pipeline is not None and config.pipeline.state_bucket == "example-pulumi-state"
    product_ci = config.products[0].ci
    assert product_ci is not None and product_ci.github is not None
    assert product_ci.github.subjects() == [
        "repo:example-org/store:ref:refs/heads/main",
        "repo:example-org/store:environment:production",
    ]
    assert loaded.warnings == ()


def test_reused_provider_and_statements_are_valid() -> None:
    statements = [{"Effect": "Allow", "Action": "ecs:UpdateService", "Resource": "*"}]
    loaded = load(
        product_ci=with_permissions(statements=statements),
        ci={"github": {"provider_arn": GITHUB_PROVIDER}},
    )
    product_ci = loaded.config.products[0].ci
    assert product_ci is not None
    assert product_ci.permissions.inline_policy() == {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["ecs:UpdateService"], "Resource": ["*"]}],
    }


# --- repository and deploy_from ------------------------------------------------------------


@pytest.mark.parametrize(
    "repo", ["example-org", "example-org/store/extra", "-org/store", "example-org/*", "a b/c"]
)
def test_repo_must_be_owner_slash_name(repo: str) -> None:
    message = only_problem(product_ci=github_ci(repo=repo))
    assert f"{CI_PATH}.github.repo = {repo!r}" in message
    assert "owner/name" in message


def test_pipeline_repo_must_be_owner_slash_name() -> None:
    message = only_problem(pipeline={**PIPELINE, "github_repo": "security-infra"})
    assert "guard:pipeline.github_repo = 'security-infra'" in message
    assert "owner/name" in message


def test_deploy_from_unknown_item_lists_allowed_forms() -> None:
    message = only_problem(product_ci=github_ci(deploy_from=["ref:refs/heads/main", "main"]))
    assert f"{CI_PATH}.github.deploy_from[1] = 'main'" in message
    assert "environment:<name>" in message and "ref:refs/heads/<branch>" in message


def test_deploy_from_pull_request_is_refused() -> None:
    message = only_problem(product_ci=github_ci(deploy_from=["pull_request"]))
    assert f"{CI_PATH}.github.deploy_from[0] = 'pull_request'" in message
    assert "must not trust pull requests" in message


@pytest.mark.parametrize("item", ["ref:refs/heads/*", "environment:prod*", "ref:refs/heads/a..b"])
def test_deploy_from_wildcards_and_bad_refs_are_refused(item: str) -> None:
    message = only_problem(product_ci=github_ci(deploy_from=[item]))
    assert f"{CI_PATH}.github.deploy_from[0]" in message


def test_deploy_from_empty() -> None:
    message = only_problem(product_ci=github_ci(deploy_from=[]))
    assert f"{CI_PATH}.github.deploy_from" in message and "at least 1" in message


def test_owner_and_repo_ids_go_together() -> None:
    message = only_problem(product_ci=github_ci(owner_id=123))
    assert f"{CI_PATH}.github" in message and "together" in message


# --- CircleCI ------------------------------------------------------------------------------


@pytest.mark.parametrize("org_id", [ORG.upper(), "example-org", ORG[:-1]])
def test_circleci_org_id_must_be_a_lowercase_uuid(org_id: str) -> None:
    message = only_problem(ci={"circleci": {"org_id": org_id}}, pipeline=None)
    assert f"guard:ci.circleci.org_id = {org_id!r}" in message
    assert "lowercase UUID" in message


def test_circleci_project_id_must_be_a_uuid() -> None:
    message = only_problem(product_ci=circleci_ci(project_id="energy"))
    assert f"{CI_PATH}.circleci.project_id = 'energy'" in message
    assert "lowercase UUID" in message


@pytest.mark.parametrize(
    ("branch", "expected"),
    [("*", "named branches only"), ("refs/heads/main", "refs/heads/"), ("ma*n", "wildcards")],
)
def test_circleci_deploy_branches(branch: str, expected: str) -> None:
    message = only_problem(product_ci=circleci_ci(branches=[branch]))
    assert f"{CI_PATH}.circleci.branches[0] = {branch!r}" in message
    assert expected in message


def test_circleci_vcs_origin_shape() -> None:
    origin = "https://github.com/example-org/store"
    message = only_problem(product_ci=circleci_ci(vcs_origin=origin))
    assert f"{CI_PATH}.circleci.vcs_origin = {origin!r}" in message
    assert "github.com/<org>/<repo>" in message


def test_circleci_without_vcs_origin_warns() -> None:
    product_ci = circleci_ci()
    del product_ci["circleci"]["vcs_origin"]
    loaded = load(product_ci=product_ci)
    assert any("vcs_origin" in w and "store" in w for w in loaded.warnings)


# --- permissions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "resource"), [("*", "*"), (["s3:GetObject", "*"], ["arn:aws:s3:::b", "*"])]
)
def test_statement_granting_everything_is_refused(action: Any, resource: Any) -> None:
    statements = [{"Effect": "Allow", "Action": action, "Resource": resource}]
    message = only_problem(product_ci=with_permissions(statements=statements))
    assert f"{CI_PATH}.permissions.statements[0]" in message
    assert 'Action "*" on Resource "*"' in message


def test_deny_everything_is_allowed() -> None:
    statements = [
        {"Effect": "Allow", "Action": "ecs:UpdateService", "Resource": "*"},
        {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"Bool": {"x:y": True}}},
    ]
    assert load(product_ci=with_permissions(statements=statements)).config.products[0].ci


def test_statement_action_shape() -> None:
    statements = [{"Effect": "Allow", "Action": ["s3 PutObject"], "Resource": "*"}]
    message = only_problem(product_ci=with_permissions(statements=statements))
    assert f"{CI_PATH}.permissions.statements[0].Action[0] = 's3 PutObject'" in message
    assert "s3:PutObject" in message


def test_statement_resource_shape() -> None:
    statements = [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "my-bucket"}]
    message = only_problem(product_ci=with_permissions(statements=statements))
    assert f"{CI_PATH}.permissions.statements[0].Resource[0] = 'my-bucket'" in message
    assert "ARN" in message


def test_statement_effect_and_unknown_keys() -> None:
    statements = [{"Effect": "allow", "Action": "s3:PutObject", "Resource": "*"}]
    message = only_problem(product_ci=with_permissions(statements=statements))
    assert f"{CI_PATH}.permissions.statements[0].Effect = 'allow'" in message
    assert "'Allow'" in message
    statements = [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]
    with pytest.raises(ConfigError) as caught:
        load(product_ci=with_permissions(statements=statements))
    rendered = caught.value.render()
    assert "statements[0].NotAction" in rendered and "unknown key" in rendered


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::aws:policy",
        "arn:aws:iam::12345:policy/Deploy",
        "AmazonECS_FullAccess",
        "arn:aws:iam::aws:role/Deploy",
    ],
)
def test_managed_policy_arn_shape(arn: str) -> None:
    message = only_problem(product_ci=with_permissions(managed_policies=[arn]))
    assert f"{CI_PATH}.permissions.managed_policies[0] = {arn!r}" in message
    assert "arn:aws:iam::aws:policy/<name>" in message


@pytest.mark.parametrize(
    "arn",
    ["arn:aws:iam::aws:policy/AdministratorAccess", "arn:aws:iam::aws:policy/IAMFullAccess"],
)
def test_admin_managed_policies_are_refused(arn: str) -> None:
    message = only_problem(product_ci=with_permissions(managed_policies=[arn]))
    assert f"{CI_PATH}.permissions.managed_policies[0]" in message
    assert "administrator" in message


def test_managed_policy_of_another_account() -> None:
    arn = "arn:aws:iam::222222222222:policy/deploy-store"
    message = only_problem(product_ci=with_permissions(managed_policies=[arn]))
    assert f"{CI_PATH}.permissions.managed_policies[0] = {arn!r}" in message
    assert "111111111111" in message


def test_managed_policy_listed_twice() -> None:
    arn = "arn:aws:iam::aws:policy/AmazonECS_FullAccess"
    message = only_problem(product_ci=with_permissions(managed_policies=[arn, arn]))
    assert f"{CI_PATH}.permissions" in message and "more than once" in message


def test_permissions_must_grant_something() -> None:
    message = only_problem(product_ci=with_permissions())
    assert f"{CI_PATH}.permissions" in message and "grants nothing" in message


def test_inline_statements_over_iams_size_limit() -> None:
    statements = [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::bucket-{i:04}/*"}
        for i in range(250)
    ]
    message = only_problem(product_ci=with_permissions(statements=statements))
    assert "10240" in message


def test_product_ci_needs_a_ci_system() -> None:
    product_ci = github_ci()
    del product_ci["github"]
    message = only_problem(product_ci=product_ci)
    assert CI_PATH in message and "github and/or circleci" in message


def test_unknown_key_lists_allowed_keys() -> None:
    message = only_problem(product_ci=github_ci(repository="example-org/store"))
    assert f"{CI_PATH}.github.repository" in message
    assert "unknown key" in message and "deploy_from" in message


# --- providers and cross checks ------------------------------------------------------------


def test_product_github_without_provider_names_both_keys() -> None:
    message = only_problem(product_ci=github_ci(), ci={"circleci": {"org_id": ORG}}, pipeline=None)
    assert f"{CI_PATH}.github" in message and "guard:ci.github" in message


def test_product_circleci_without_provider_names_both_keys() -> None:
    message = only_problem(product_ci=circleci_ci(), ci={"github": {}})
    assert f"{CI_PATH}.circleci" in message and "guard:ci.circleci" in message


def test_pipeline_without_github_provider() -> None:
    message = only_problem(ci=None)
    assert "guard:pipeline.github_repo" in message and "guard:ci.github" in message


def test_pipeline_circleci_project_without_circleci_provider() -> None:
    message = only_problem(ci={"github": {}}, pipeline={**PIPELINE, "circleci_project_id": PROJECT})
    assert "guard:pipeline.circleci_project_id" in message and "guard:ci.circleci" in message


def test_ci_must_declare_a_provider() -> None:
    message = only_problem(ci={}, pipeline=None)
    assert "guard:ci" in message and "declares no provider" in message


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::111111111111:oidc-provider/gitlab.com",
        "arn:aws:iam::111111111111:saml-provider/token.actions.githubusercontent.com",
    ],
)
def test_github_provider_arn_shape(arn: str) -> None:
    message = only_problem(ci={"github": {"provider_arn": arn}})
    assert f"guard:ci.github.provider_arn = {arn!r}" in message
    assert "token.actions.githubusercontent.com" in message


def test_circleci_provider_arn_must_be_this_orgs() -> None:
    other = "arn:aws:iam::111111111111:oidc-provider/oidc.circleci.com/org/" + PROJECT
    message = only_problem(ci={"github": {}, "circleci": {"org_id": ORG, "provider_arn": other}})
    assert "guard:ci.circleci.provider_arn" in message and ORG in message


def test_provider_in_another_account() -> None:
    arn = GITHUB_PROVIDER.replace("111111111111", "222222222222")
    message = only_problem(ci={"github": {"provider_arn": arn}})
    assert f"guard:ci.github.provider_arn = {arn!r}" in message
    assert "own account 111111111111" in message


# --- pipeline ------------------------------------------------------------------------------


def test_state_bucket_name() -> None:
    message = only_problem(pipeline={**PIPELINE, "state_bucket": "s3://example-pulumi-state"})
    assert "guard:pipeline.state_bucket" in message and "S3 bucket name" in message


def test_secrets_key_must_be_a_key_arn() -> None:
    alias = "arn:aws:kms:ap-northeast-1:111111111111:alias/pulumi"
    message = only_problem(pipeline={**PIPELINE, "secrets_key_arn": alias})
    assert f"guard:pipeline.secrets_key_arn = {alias!r}" in message
    assert "alias" in message


def test_pipeline_unknown_key() -> None:
    message = only_problem(pipeline={**PIPELINE, "bucket": "x"})
    assert "guard:pipeline.bucket" in message and "state_bucket" in message


def test_pipeline_immutable_ids_go_together() -> None:
    message = only_problem(pipeline={**PIPELINE, "repo_id": 456789})
    assert "guard:pipeline" in message and "together" in message
    loaded = load(pipeline={**PIPELINE, "owner_id": 123456, "repo_id": 456789})
    assert loaded.config.pipeline is not None
    assert loaded.config.pipeline.subjects(["pull_request"]) == [
        "repo:example-org@123456/security-infra@456789:pull_request"
    ]


def test_guard_plan_exits_2_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (STACKS / "Pulumi.prod.yaml").read_text(encoding="utf-8")
    good = "repo: example-org/marketplace\n"
    assert text.count(good) == 1
    broken = tmp_path / "Pulumi.prod.yaml"
    broken.write_text(text.replace(good, "repo: marketplace\n"), encoding="utf-8")
    assert main(["plan", "--stack", "prod", "--config-file", str(broken)]) == 2
    err = capsys.readouterr().err
    assert ".ci.github.repo = 'marketplace'" in err and "owner/name" in err
    assert "Traceback" not in err
