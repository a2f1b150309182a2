"""CI roles, proven against token claims: the example stacks run through the real program.

Each role's ``assumeRolePolicy`` is taken exactly as the plan records it (the text the engine
would send to IAM) and evaluated with ``guard.trust_eval`` against tokens shaped the way GitHub
Actions and CircleCI issue them: the ones that must get in, and the hostile ones that must not.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
import yaml

from guard.cli import main as cli_main
from guard.config import load_stack_config, load_stack_file
from guard.oidc_trust import GITHUB_ISSUER_HOST, circleci_issuer_host
from guard.plan import PlanResult, RecordingMonitor, ResourceRecord, run_program
from guard.trust_eval import circleci_claims, evaluate, github_claims
from tests.conftest import ROOT, STACKS, TODAY, minimal_product, of_type
from tests.guard.iam_plan import may

ROLE = "aws:iam/role:Role"
OIDC = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
ASSUME = "sts:AssumeRoleWithWebIdentity"
Plan = Callable[[str], PlanResult]

ORG = "6f4e1c2a-0000-4000-8000-000000000001"
OTHER_ORG = "9e8d7c6b-5a49-4837-a625-1f0e9d8c7b6a"
ENERGY_PROJECT = "0b7c0e4d-0000-4000-8000-000000000002"
PIPELINE_PROJECT = "0b7c0e4d-0000-4000-8000-0000000000aa"
OTHER_PROJECT = "7d6c5b4a-3e2f-4a1b-8c9d-0e1f2a3b4c5d"
USER = "5b4a3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d"
OTHER_USER = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
PIPELINE_REPO = "example-org/security-infra"


def ci_records(plan: PlanResult, type_token: str) -> list[ResourceRecord]:
    return [r for r in of_type(plan, type_token) if "guard:ci:" in r.urn]


def roles(plan: PlanResult) -> dict[str, ResourceRecord]:
    return {r.inputs["name"]: r for r in ci_records(plan, ROLE)}


def trust(plan: PlanResult, role: str) -> dict[str, Any]:
    text = roles(plan)[role].inputs["assumeRolePolicy"]
    # Plain JSON text, known at preview: what the policy pack judges is what IAM gets.
    assert isinstance(text, str) and text != "[unknown]"
    document = json.loads(text)
    assert isinstance(document, dict)
    return document


def provider_arns(plan: PlanResult) -> dict[str, str]:
    """The ARNs of the providers the plan creates, by CI system."""
    found = {}
    for record in ci_records(plan, OIDC):
        system = "github" if GITHUB_ISSUER_HOST in record.inputs["url"] else "circleci"
        found[system] = record.state["arn"]
    return found


def gh(repo: str, context: str, aud: str = "sts.amazonaws.com") -> tuple[str, dict[str, str]]:
    return "github", github_claims(repo, context, aud=aud)


def cci(
    project: str,
    ref: str = "refs/heads/main",
    *,
    origin: str,
    org: str = ORG,
    user: str = USER,
    aud: str | None = None,
) -> tuple[str, dict[str, str]]:
    return "circleci", circleci_claims(org, project, user, origin, ref, aud=aud)


def github_hostile(repo: str, good: str) -> list[tuple[str, tuple[str, dict[str, str]]]]:
    """Tokens no role of ``repo`` may accept; ``good`` is a context the role does trust."""
    owner, name = repo.split("/")
    return [
        ("another repository", gh(f"{owner}/other", good)),
        ("same name, another owner", gh(f"evil-org/{name}", good)),
        ("name with a suffix (store-evil)", gh(f"{repo}-evil", good)),
        ("owner with a suffix", gh(f"{owner}-evil/{name}", good)),
        ("case variant", gh(f"{owner}/{name.upper()}", good)),
        ("another branch", gh(repo, "ref:refs/heads/feature")),
        ("a tag", gh(repo, "ref:refs/tags/v1.0")),
        ("another environment", gh(repo, "environment:staging")),
        ("wrong audience", gh(repo, good, aud=f"https://github.com/{owner}")),
    ]


def circleci_hostile(project: str, origin: str) -> list[tuple[str, tuple[str, dict[str, str]]]]:
    return [
        ("another CircleCI project", cci(OTHER_PROJECT, origin=origin)),
        ("another organisation's token", cci(project, origin=origin, org=OTHER_ORG)),
        ("a fork's origin", cci(project, origin=origin.replace("example-org", "evil-org"))),
        ("a tag", cci(project, "refs/tags/v1.0", origin=origin)),
        ("wrong audience", cci(project, origin=origin, aud="sts.amazonaws.com")),
        (
            "forged ref inside a branch",
            cci(project, "refs/heads/x/vcs-ref/refs/heads/main", origin=origin),
        ),
    ]


MARKETPLACE = "example-org/marketplace"
EBOOK = "example-org/ebook"
ENERGY_ORIGIN = "github.com/example-org/energy"
PIPELINE_ORIGIN = f"github.com/{PIPELINE_REPO}"

# role -> (allowed tokens, denied tokens), for the prod stack.
PROD_TABLE: dict[str, tuple[list[Any], list[Any]]] = {
    "guard-prod-marketplace-github-deploy": (
        [
            ("main of the repository", gh(MARKETPLACE, "ref:refs/heads/main")),
            ("the production environment", gh(MARKETPLACE, "environment:production")),
        ],
        [
            *github_hostile(MARKETPLACE, "ref:refs/heads/main"),
            ("a pull request", gh(MARKETPLACE, "pull_request")),
            ("a CircleCI token", cci(ENERGY_PROJECT, origin=ENERGY_ORIGIN)),
        ],
    ),
    "guard-prod-ebook-github-deploy": (
        [("the production environment", gh(EBOOK, "environment:production"))],
        [
            *github_hostile(EBOOK, "environment:production"),
            ("main outside the environment", gh(EBOOK, "ref:refs/heads/main")),
            ("a pull request", gh(EBOOK, "pull_request")),
        ],
    ),
    "guard-prod-energy-circleci-deploy": (
        [
            ("main of the project", cci(ENERGY_PROJECT, origin=ENERGY_ORIGIN)),
            (
                "main, started by another user",
                cci(ENERGY_PROJECT, origin=ENERGY_ORIGIN, user=OTHER_USER),
            ),
        ],
        [
            *circleci_hostile(ENERGY_PROJECT, ENERGY_ORIGIN),
            ("another branch", cci(ENERGY_PROJECT, "refs/heads/feature", origin=ENERGY_ORIGIN)),
            (
                "a fork's pull request",
                cci(ENERGY_PROJECT, "refs/heads/pull/12", origin=ENERGY_ORIGIN),
            ),
            ("a GitHub token", gh("example-org/energy", "ref:refs/heads/main")),
        ],
    ),
    "guard-prod-pipeline-preview": (
        [
            ("a pull request", gh(PIPELINE_REPO, "pull_request")),
            ("main (drift)", gh(PIPELINE_REPO, "ref:refs/heads/main")),
            (
                "a CircleCI branch",
                cci(PIPELINE_PROJECT, "refs/heads/feature/x", origin=PIPELINE_ORIGIN),
            ),
        ],
        [
            *github_hostile(PIPELINE_REPO, "pull_request"),
            ("the production environment", gh(PIPELINE_REPO, "environment:production")),
            ("a pull request of another repository", gh("example-org/other", "pull_request")),
            *circleci_hostile(PIPELINE_PROJECT, PIPELINE_ORIGIN),
        ],
    ),
    "guard-prod-pipeline-deploy": (
        [
            ("the production environment", gh(PIPELINE_REPO, "environment:production")),
            ("CircleCI main", cci(PIPELINE_PROJECT, origin=PIPELINE_ORIGIN)),
        ],
        [
            *github_hostile(PIPELINE_REPO, "environment:production"),
            ("a pull request", gh(PIPELINE_REPO, "pull_request")),
            ("main outside the environment", gh(PIPELINE_REPO, "ref:refs/heads/main")),
            *circleci_hostile(PIPELINE_PROJECT, PIPELINE_ORIGIN),
            (
                "a CircleCI branch",
                cci(PIPELINE_PROJECT, "refs/heads/feature", origin=PIPELINE_ORIGIN),
            ),
            (
                "a fork's pull request",
                cci(PIPELINE_PROJECT, "refs/heads/pull/3", origin=PIPELINE_ORIGIN),
            ),
        ],
    ),
}


def rows(allowed: bool) -> list[Any]:
    out = []
    for role, (good, bad) in PROD_TABLE.items():
        for label, token in good if allowed else bad:
            out.append(pytest.param(role, token, id=f"{role}: {label}"))
    return out


def assumes(plan: PlanResult, role: str, token: tuple[str, dict[str, str]]) -> bool:
    system, claims = token
    return evaluate(
        trust(plan, role),
        principal_federated=provider_arns(plan)[system],
        action=ASSUME,
        claims=claims,
    )


@pytest.mark.parametrize(("role", "token"), rows(allowed=True))
def test_prod_role_allows(example_plan: Plan, role: str, token: Any) -> None:
    assert assumes(example_plan("prod"), role, token)


@pytest.mark.parametrize(("role", "token"), rows(allowed=False))
def test_prod_role_denies(example_plan: Plan, role: str, token: Any) -> None:
    assert not assumes(example_plan("prod"), role, token)


def test_the_table_covers_every_ci_role(example_plan: Plan) -> None:
    assert set(roles(example_plan("prod"))) == set(PROD_TABLE)


def test_tokens_through_another_provider_are_denied(example_plan: Plan) -> None:
    plan = example_plan("prod")
    _, claims = gh(MARKETPLACE, "ref:refs/heads/main")
    elsewhere = "arn:aws:iam::222222222222:oidc-provider/token.actions.githubusercontent.com"
    document = trust(plan, "guard-prod-marketplace-github-deploy")
    assert not evaluate(document, principal_federated=elsewhere, action=ASSUME, claims=claims)


@pytest.mark.parametrize(
    ("role", "token", "expected"),
    [
        ("guard-staging-marketplace-github-deploy", gh(MARKETPLACE, "environment:staging"), True),
        (
            "guard-staging-marketplace-github-deploy",
            gh(MARKETPLACE, "environment:production"),
            False,
        ),
        ("guard-staging-marketplace-github-deploy", gh(MARKETPLACE, "pull_request"), False),
        (
            "guard-staging-ebook-circleci-deploy",
            cci("0b7c0e4d-0000-4000-8000-000000000003", origin="github.com/example-org/ebook"),
            True,
        ),
        (
            "guard-staging-ebook-circleci-deploy",
            cci(ENERGY_PROJECT, origin="github.com/example-org/ebook"),
            False,
        ),
        ("guard-staging-pipeline-deploy", gh(PIPELINE_REPO, "environment:production"), True),
        ("guard-staging-pipeline-deploy", gh(PIPELINE_REPO, "pull_request"), False),
        ("guard-staging-pipeline-preview", gh(PIPELINE_REPO, "pull_request"), True),
    ],
)
def test_staging_roles(example_plan: Plan, role: str, token: Any, expected: bool) -> None:
    assert assumes(example_plan("staging"), role, token) is expected


# --- shape of the roles ----------------------------------------------------------------------


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_trust_names_the_providers_the_stack_creates(example_plan: Plan, stack: str) -> None:
    plan = example_plan(stack)
    providers = {r.inputs["url"]: r for r in ci_records(plan, OIDC)}
    assert providers[f"https://{GITHUB_ISSUER_HOST}"].inputs["clientIdLists"] == [
        "sts.amazonaws.com"
    ]
    assert providers[f"https://{circleci_issuer_host(ORG)}"].inputs["clientIdLists"] == [ORG]
    created = set(provider_arns(plan).values())
    for name in roles(plan):
        for statement in trust(plan, name)["Statement"]:
            assert statement["Principal"]["Federated"] in created, name


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_sessions_last_one_hour_at_most(example_plan: Plan, stack: str) -> None:
    for name, record in roles(example_plan(stack)).items():
        assert record.inputs["maxSessionDuration"] == 3600, name


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_no_users_or_access_keys_anywhere(example_plan: Plan, stack: str) -> None:
    types = {r.type for r in example_plan(stack).resources}
    assert not {t for t in types if t.startswith(("aws:iam/user", "aws:iam/accessKey"))}


def test_ci_roles_output(example_plan: Plan) -> None:
    assert example_plan("prod").outputs["ci_roles"] == {
        "products": {
            "marketplace": {
                "github": "arn:aws:iam::111111111111:role/guard-prod-marketplace-github-deploy"
            },
            "energy": {
                "circleci": "arn:aws:iam::111111111111:role/guard-prod-energy-circleci-deploy"
            },
            "ebook": {"github": "arn:aws:iam::111111111111:role/guard-prod-ebook-github-deploy"},
        },
        "pipeline": {
            "preview": "arn:aws:iam::111111111111:role/guard-prod-pipeline-preview",
            "deploy": "arn:aws:iam::111111111111:role/guard-prod-pipeline-deploy",
        },
    }


def test_product_permissions_and_tags(example_plan: Plan) -> None:
    plan = example_plan("prod")
    role = roles(plan)["guard-prod-marketplace-github-deploy"]
    assert role.inputs["tags"] == {
        "managed-by": "guard",
        "stack": "prod",
        "product": "marketplace",
        "owner": "team-marketplace",
        "guard:role": "deploy",
        "guard:ci": "github",
    }
    assert (
        role.inputs["permissionsBoundary"] == "arn:aws:iam::111111111111:policy/guard-prod-boundary"
    )
    attached = [r for r in ci_records(plan, ATTACHMENT) if "marketplace" in r.name]
    assert attached == []
    (inline,) = [r for r in ci_records(plan, ROLE_POLICY) if r.name.startswith(role.name)]
    statements = json.loads(inline.inputs["policy"])["Statement"]
    assert [s["Sid"] for s in statements] == [
        "PushImages",
        "PushMarketplaceImages",
        "RegisterMarketplaceTasks",
        "DeployMarketplaceServices",
        "PassMarketplaceTaskRoles",
    ]


def test_pipeline_roles_and_providers_are_protected(example_plan: Plan) -> None:
    plan = example_plan("prod")
    assert all(r.protect for r in ci_records(plan, OIDC))
    protected = {name for name, r in roles(plan).items() if r.protect}
    assert protected == {"guard-prod-pipeline-preview", "guard-prod-pipeline-deploy"}


# --- the workflows assume the roles the stack declares ---------------------------------------


def workflow_roles(name: str, job: str) -> str:
    """The ``guard stacks`` field a workflow's job assumes: ``${{ matrix.<field> }}``."""
    path = ROOT / ".github" / "workflows" / name
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    (step,) = [
        s
        for s in workflow["jobs"][job]["steps"]
        if str(s.get("uses", "")).startswith("aws-actions/configure-aws-credentials@")
    ]
    match = re.fullmatch(r"\$\{\{ matrix\.(\w+) \}\}", step["with"]["role-to-assume"])
    assert match is not None, step["with"]["role-to-assume"]
    # The matrix is guard stacks' list, unchanged (tests/ci/test_workflows.py runs the step).
    assert workflow["jobs"][job]["strategy"]["matrix"] == (
        "${{ fromJSON(needs.stacks.outputs.matrix) }}"
    )
    return match[1]


def circleci_roles(workflow: str) -> str:
    """The ``guard stacks`` field a CircleCI job's loop passes to ``assume_role``."""
    config = yaml.safe_load((ROOT / ".circleci" / "config.yml").read_text(encoding="utf-8"))
    commands = [
        s["run"]["command"]
        for s in config["jobs"][workflow]["steps"]
        if isinstance(s, dict) and "assume_role" in s.get("run", {}).get("command", "")
    ]
    (command,) = commands
    match = re.search(r"\| \[\.name, \.(\w+), \.region, \.backend", command)
    assert match is not None, command
    assert "read -r -u 3 stack role region backend" in command
    assert 'assume_role "$role" "$region" "$stack"' in command
    return match[1]


def listed_stacks() -> list[dict[str, Any]]:
    """``guard stacks --format json`` on the fixture stacks (tests/conftest.py points at them)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli_main(["stacks", "--format", "json"]) == 0
    return list(json.loads(out.getvalue())["stacks"])


@pytest.mark.parametrize(
    ("source", "kind"),
    [
        (lambda: workflow_roles("preview.yml", "plan"), "preview"),
        (lambda: workflow_roles("drift.yml", "drift"), "preview"),
        (lambda: workflow_roles("deploy.yml", "deploy"), "deploy"),
        (lambda: circleci_roles("preview"), "preview"),
        (lambda: circleci_roles("deploy"), "deploy"),
    ],
    ids=["preview.yml", "drift.yml", "deploy.yml", "circleci-preview", "circleci-deploy"],
)
def test_workflow_role_arns_are_the_stacks(
    example_plan: Plan, source: Callable[[], str], kind: str
) -> None:
    field = source()
    assumed = {stack["name"]: stack[field] for stack in listed_stacks()}
    declared = {
        stack: example_plan(stack).outputs["ci_roles"]["pipeline"][kind]
        for stack in ("prod", "staging")
    }
    assert assumed == declared


# --- other configurations --------------------------------------------------------------------

GITHUB_PROVIDER = "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"
KEY = "arn:aws:kms:ap-northeast-1:111111111111:key/0f5a4c3e-1b2d-4e6f-8a9b-0c1d2e3f4a5b"


def plan_of(**sections: Any) -> PlanResult:
    raw = {
        "aws:region": "ap-northeast-1",
        "guard:account_id": "111111111111",
        "guard:products": json.dumps([minimal_product()]),
        **{f"guard:{key}": json.dumps(value) for key, value in sections.items()},
    }
    return run_program(load_stack_config(raw, "test.yaml", today=TODAY), "test")


def test_reused_provider_and_github_only_pipeline() -> None:
    plan = plan_of(
        ci={"github": {"provider_arn": GITHUB_PROVIDER}},
        pipeline={
            "github_repo": PIPELINE_REPO,
            "state_bucket": "example-pulumi-state",
            "secrets_key_arn": KEY,
        },
    )
    assert ci_records(plan, OIDC) == []  # reused, not created
    for role in ("guard-test-pipeline-preview", "guard-test-pipeline-deploy"):
        (statement,) = trust(plan, role)["Statement"]  # no CircleCI statement
        assert statement["Principal"] == {"Federated": GITHUB_PROVIDER}
        # The key named by its ARN: no alias lookup.
        assert may(plan, role, "kms:Decrypt", KEY)
        assert not may(plan, role, "kms:Encrypt", KEY)
    assert set(plan.outputs["ci_roles"]["pipeline"]) == {"preview", "deploy"}
    assert plan.outputs["ci_roles"]["products"] == {}


def test_without_a_pipeline_only_product_roles_exist() -> None:
    product = minimal_product()
    product["ci"] = {
        "github": {"repo": "example-org/store", "deploy_from": ["environment:production"]},
        "permissions": {"managed_policies": ["arn:aws:iam::aws:policy/AmazonECS_FullAccess"]},
    }
    raw = {
        "aws:region": "ap-northeast-1",
        "guard:account_id": "111111111111",
        "guard:products": json.dumps([product]),
        "guard:ci": json.dumps({"github": {}}),
    }
    plan = run_program(load_stack_config(raw, "test.yaml", today=TODAY), "test")
    assert set(roles(plan)) == {"guard-test-store-github-deploy"}
    assert ci_records(plan, ROLE_POLICY) == []  # no statements, no inline policy
    assert plan.outputs["ci_roles"] == {
        "products": {
            "store": {"github": "arn:aws:iam::111111111111:role/guard-test-store-github-deploy"}
        },
        "pipeline": {},
    }


def test_immutable_subjects_refuse_a_recycled_name() -> None:
    plan = plan_of(
        ci={"github": {}},
        pipeline={
            "github_repo": PIPELINE_REPO,
            "state_bucket": "example-pulumi-state",
            "owner_id": 123456,
            "repo_id": 456789,
        },
    )
    role = "guard-test-pipeline-deploy"
    immutable = "example-org@123456/security-infra@456789"
    assert assumes(plan, role, gh(immutable, "environment:production"))
    # The same owner/name re-created by someone else has other ids.
    assert not assumes(
        plan, role, gh("example-org@999/security-infra@456789", "environment:production")
    )
    assert not assumes(plan, role, gh(PIPELINE_REPO, "environment:production"))


def test_roles_depend_on_the_providers_they_trust(monkeypatch: pytest.MonkeyPatch) -> None:
    """The trust names the provider by a plain ARN, so the order must come from depends_on."""
    dependencies: dict[str, list[str]] = {}
    register = RecordingMonitor.RegisterResource

    def spy(self: RecordingMonitor, request: Any) -> Any:
        response = register(self, request)
        dependencies[response.urn] = list(request.dependencies)
        return response

    monkeypatch.setattr(RecordingMonitor, "RegisterResource", spy)
    plan = run_program(load_stack_file(STACKS / "Pulumi.prod.yaml", today=TODAY), "prod")
    provider_urn = {r.state["arn"]: r.urn for r in ci_records(plan, OIDC)}
    for name, record in roles(plan).items():
        trusted = {s["Principal"]["Federated"] for s in trust(plan, name)["Statement"]}
        assert {provider_urn[arn] for arn in trusted} <= set(dependencies[record.urn]), name
