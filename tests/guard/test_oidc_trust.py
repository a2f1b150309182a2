"""Trust policies for CI roles: their shape, their input validation, and who they let in.

The "who" tables run each generated policy through guard.trust_eval with
tokens shaped the way GitHub and CircleCI issue them, including hostile ones.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from guard.oidc_trust import (
    CIRCLECI_SUB_GUARDS,
    GITHUB_AUDIENCE,
    GITHUB_ISSUER_HOST,
    MAX_SESSION_SECONDS,
    TrustError,
    circleci_issuer_host,
    circleci_subject_patterns,
    circleci_trust_policy,
    github_subjects,
    github_trust_policy,
    oidc_provider_arn,
)
from guard.trust_eval import circleci_claims, evaluate, github_claims

ACCOUNT = "111111111111"
ASSUME = "sts:AssumeRoleWithWebIdentity"
REPO = "example-org/store"
GH_PROVIDER = oidc_provider_arn(ACCOUNT, GITHUB_ISSUER_HOST)

ORG = "0f5a4c3e-1b2d-4e6f-8a9b-0c1d2e3f4a5b"
OTHER_ORG = "9e8d7c6b-5a49-4837-a625-1f0e9d8c7b6a"
PROJECT = "3c2b1a09-8f7e-4d6c-9b5a-4e3d2c1b0a9f"
OTHER_PROJECT = "7d6c5b4a-3e2f-4a1b-8c9d-0e1f2a3b4c5d"
USER = "5b4a3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d"
OTHER_USER = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"
ORIGIN = "github.com/example-org/store"
CCI_PROVIDER = oidc_provider_arn(ACCOUNT, circleci_issuer_host(ORG))
OTHER_CCI_PROVIDER = oidc_provider_arn(ACCOUNT, circleci_issuer_host(OTHER_ORG))


def deploy_policy() -> dict[str, Any]:
    return github_trust_policy(
        GH_PROVIDER, github_subjects(REPO, ["ref:refs/heads/main", "environment:production"])
    )


def preview_policy() -> dict[str, Any]:
    return github_trust_policy(
        GH_PROVIDER, github_subjects(REPO, ["pull_request", "ref:refs/heads/main"])
    )


def gh_allows(policy: dict[str, Any], claims: dict[str, str], provider: str = GH_PROVIDER) -> bool:
    return evaluate(policy, principal_federated=provider, action=ASSUME, claims=claims)


# --- shape ---------------------------------------------------------------------------------


def test_github_policy_is_exact_iam_json() -> None:
    assert deploy_policy() == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "GitHubActionsOIDC",
                "Effect": "Allow",
                "Principal": {
                    "Federated": (
                        "arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com"
                    )
                },
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
                        "token.actions.githubusercontent.com:sub": [
                            "repo:example-org/store:ref:refs/heads/main",
                            "repo:example-org/store:environment:production",
                        ],
                    }
                },
            }
        ],
    }


def test_policies_are_plain_json_data() -> None:
    for policy in (
        deploy_policy(),
        circleci_trust_policy(CCI_PROVIDER, ORG, PROJECT, ["main"], ORIGIN),
    ):
        assert json.loads(json.dumps(policy)) == policy


def test_constants() -> None:
    assert GITHUB_ISSUER_HOST == "token.actions.githubusercontent.com"
    assert GITHUB_AUDIENCE == "sts.amazonaws.com"
    assert MAX_SESSION_SECONDS == 3600
    assert circleci_issuer_host(ORG) == f"oidc.circleci.com/org/{ORG}"


def test_github_subjects_formats() -> None:
    assert github_subjects(
        REPO,
        ["ref:refs/heads/main", "ref:refs/tags/v1", "environment:production", "pull_request"],
    ) == [
        "repo:example-org/store:ref:refs/heads/main",
        "repo:example-org/store:ref:refs/tags/v1",
        "repo:example-org/store:environment:production",
        "repo:example-org/store:pull_request",
    ]


def test_github_subjects_dedupe_and_encode_colon() -> None:
    assert github_subjects(REPO, ["pull_request", "pull_request", "environment:Prod:V1"]) == [
        "repo:example-org/store:pull_request",
        "repo:example-org/store:environment:Prod%3AV1",
    ]


def test_github_immutable_subjects() -> None:
    subs = github_subjects(REPO, ["ref:refs/heads/main"], owner_id=123456, repo_id=456789)
    assert subs == ["repo:example-org@123456/store@456789:ref:refs/heads/main"]
    policy = github_trust_policy(GH_PROVIDER, subs)
    main = "ref:refs/heads/main"
    assert gh_allows(policy, github_claims("example-org@123456/store@456789", main))
    # A recycled name (same owner/name, other ids) and the legacy format are refused.
    assert not gh_allows(policy, github_claims("example-org@999/store@456789", main))
    assert not gh_allows(policy, github_claims(REPO, main))


def test_circleci_policy_shape() -> None:
    policy = circleci_trust_policy(CCI_PROVIDER, ORG, PROJECT, ["main", "release/1.x"], ORIGIN)
    host = f"oidc.circleci.com/org/{ORG}"
    (stmt,) = policy["Statement"]
    assert stmt["Principal"] == {"Federated": CCI_PROVIDER}
    assert stmt["Action"] == ASSUME
    assert stmt["Condition"] == {
        "StringEquals": {f"{host}:aud": ORG},
        "StringLike": {
            f"{host}:sub": [
                f"org/{ORG}/project/{PROJECT}/user/*/vcs-origin/{ORIGIN}/vcs-ref/refs/heads/main",
                f"org/{ORG}/project/{PROJECT}/user/*/vcs-origin/{ORIGIN}/vcs-ref/refs/heads/release/1.x",
            ]
        },
        "StringNotLike": {f"{host}:sub": list(CIRCLECI_SUB_GUARDS)},
    }


def test_circleci_unpinned_origin_is_the_only_extra_wildcard() -> None:
    (pattern,) = circleci_subject_patterns(ORG, PROJECT, ["main"])
    assert pattern == f"org/{ORG}/project/{PROJECT}/user/*/vcs-origin/*/vcs-ref/refs/heads/main"
    assert "?" not in pattern


# --- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "repo",
    [
        "example-org",
        "example-org/store/extra",
        "/store",
        "example-org/",
        "-org/store",
        "org-/store",
        "or--g/store",
        "org_x/store",
        "a" * 40 + "/store",
        "example-org/st ore",
        "example-org/..",
        "example-org/*",
        "example-org/store:ref",
        "example-org/" + "x" * 101,
    ],
)
def test_github_subjects_reject_bad_repo(repo: str) -> None:
    with pytest.raises(TrustError, match="repository"):
        github_subjects(repo, ["pull_request"])


@pytest.mark.parametrize(
    "item",
    [
        "ref:refs/heads/*",
        "ref:refs/heads/ma?n",
        "ref:refs/heads/",
        "ref:refs/heads/a..b",
        "ref:refs/heads/a b",
        "ref:refs/heads/a:b",
        "ref:refs/heads/x.lock",
        "ref:refs/heads/.hidden",
        "ref:refs/heads/a//b",
        "ref:refs/heads/a/",
        "ref:refs/heads/a@{1}",
        "ref:refs/heads/${aws:username}",
        "ref:refs/tags/v1~1",
        "ref:refs/pull/1/merge",
        "environment:",
        "environment:prod*",
        "environment:100%",
        "environment:" + "e" * 256,
        "branch:main",
        "main",
        "pull_request_target",
        "",
    ],
)
def test_github_subjects_reject_bad_item(item: str) -> None:
    with pytest.raises(TrustError):
        github_subjects(REPO, [item])


def test_github_subjects_reject_string_and_empty() -> None:
    with pytest.raises(TrustError, match="list of strings"):
        github_subjects(REPO, "pull_request")
    with pytest.raises(TrustError, match="empty"):
        github_subjects(REPO, [])
    with pytest.raises(TrustError, match="together"):
        github_subjects(REPO, ["pull_request"], owner_id=1)
    with pytest.raises(TrustError, match="positive"):
        github_subjects(REPO, ["pull_request"], owner_id=0, repo_id=1)


def test_github_policy_rejects_wrong_provider_and_wildcards() -> None:
    with pytest.raises(TrustError, match="provider ARN"):
        github_trust_policy(CCI_PROVIDER, [f"repo:{REPO}:pull_request"])
    with pytest.raises(TrustError, match="provider ARN"):
        github_trust_policy("arn:aws:iam::1111:oidc-provider/" + GITHUB_ISSUER_HOST, ["repo:a/b:x"])
    with pytest.raises(TrustError, match="wildcards"):
        github_trust_policy(GH_PROVIDER, [f"repo:{REPO}:*"])
    with pytest.raises(TrustError, match="repo:"):
        github_trust_policy(GH_PROVIDER, ["example-org/store:pull_request"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"org_id": ORG.upper()}, "lowercase UUID"),
        ({"project_id": "store"}, "lowercase UUID"),
        ({"branches": "main"}, "list of strings"),
        ({"branches": []}, "empty"),
        ({"branches": ["ma*n"]}, "wildcards"),
        ({"branches": ["refs/heads/main"]}, "without 'refs/heads/'"),
        ({"branches": ["a..b"]}, "git ref"),
        ({"vcs_origin": "https://github.com/example-org/store"}, "vcs_origin"),
        ({"vcs_origin": "github.com/example-org"}, "vcs_origin"),
        ({"vcs_origin": "github.com/example-org/*"}, "vcs_origin"),
        ({"vcs_origin": "gitlab.com/group/vcs-ref/store"}, "segment"),
        ({"provider_arn": OTHER_CCI_PROVIDER}, "provider ARN"),
        ({"provider_arn": GH_PROVIDER}, "provider ARN"),
    ],
)
def test_circleci_policy_rejects(kwargs: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {
        "provider_arn": CCI_PROVIDER,
        "org_id": ORG,
        "project_id": PROJECT,
        "branches": ["main"],
        "vcs_origin": ORIGIN,
    }
    args.update(kwargs)
    with pytest.raises(TrustError, match=message):
        circleci_trust_policy(**args)


def test_oidc_provider_arn() -> None:
    assert oidc_provider_arn("123456789012", GITHUB_ISSUER_HOST, partition="aws-cn") == (
        "arn:aws-cn:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    )
    for bad in ("12345", "12345678901a"):
        with pytest.raises(TrustError):
            oidc_provider_arn(bad, GITHUB_ISSUER_HOST)
    with pytest.raises(TrustError):
        oidc_provider_arn(ACCOUNT, "https://token.actions.githubusercontent.com")


# --- GitHub: who gets in -------------------------------------------------------------------

OTHER_PROVIDER = oidc_provider_arn("222222222222", GITHUB_ISSUER_HOST)
NOT_GITHUB_PROVIDER = oidc_provider_arn(ACCOUNT, "gitlab.com")

DEPLOY_ALLOWED = [
    ("main of the repo", github_claims(REPO, "ref:refs/heads/main")),
    ("production environment", github_claims(REPO, "environment:production")),
]

# Shared by both roles: none of these may ever get in.
HOSTILE = [
    ("another repository", github_claims("example-org/other", "ref:refs/heads/main")),
    ("same name, other owner", github_claims("evil-org/store", "ref:refs/heads/main")),
    ("same name, other owner, env", github_claims("evil-org/store", "environment:production")),
    ("same name, other owner, PR", github_claims("evil-org/store", "pull_request")),
    ("name prefix", github_claims("example-org/store-evil", "ref:refs/heads/main")),
    ("owner prefix", github_claims("example-org-evil/store", "ref:refs/heads/main")),
    ("case variant", github_claims("example-org/Store", "ref:refs/heads/main")),
    ("another branch", github_claims(REPO, "ref:refs/heads/feature")),
    ("branch prefix", github_claims(REPO, "ref:refs/heads/main-evil")),
    ("branch suffix path", github_claims(REPO, "ref:refs/heads/main/evil")),
    ("a tag", github_claims(REPO, "ref:refs/tags/v1")),
    ("tag named main", github_claims(REPO, "ref:refs/tags/main")),
    ("another environment", github_claims(REPO, "environment:staging")),
    ("environment case", github_claims(REPO, "environment:Production")),
    (
        "default audience",
        github_claims(REPO, "ref:refs/heads/main", aud="https://github.com/example-org"),
    ),
    ("empty audience", github_claims(REPO, "ref:refs/heads/main", aud="")),
    ("no claims", {}),
]

DEPLOY_DENIED = [
    *HOSTILE,
    ("pull request", github_claims(REPO, "pull_request")),
]

PREVIEW_ALLOWED = [
    ("pull request", github_claims(REPO, "pull_request")),
    ("main of the repo", github_claims(REPO, "ref:refs/heads/main")),
]

PREVIEW_DENIED = [
    *HOSTILE,
    ("production environment", github_claims(REPO, "environment:production")),
]


def _ids(rows: list[tuple[str, Any]]) -> list[str]:
    return [name for name, _ in rows]


@pytest.mark.parametrize(("name", "claims"), DEPLOY_ALLOWED, ids=_ids(DEPLOY_ALLOWED))
def test_deploy_role_allows(name: str, claims: dict[str, str]) -> None:
    assert gh_allows(deploy_policy(), claims), name


@pytest.mark.parametrize(("name", "claims"), DEPLOY_DENIED, ids=_ids(DEPLOY_DENIED))
def test_deploy_role_denies(name: str, claims: dict[str, str]) -> None:
    assert not gh_allows(deploy_policy(), claims), name


@pytest.mark.parametrize(("name", "claims"), PREVIEW_ALLOWED, ids=_ids(PREVIEW_ALLOWED))
def test_preview_role_allows(name: str, claims: dict[str, str]) -> None:
    assert gh_allows(preview_policy(), claims), name


@pytest.mark.parametrize(("name", "claims"), PREVIEW_DENIED, ids=_ids(PREVIEW_DENIED))
def test_preview_role_denies(name: str, claims: dict[str, str]) -> None:
    assert not gh_allows(preview_policy(), claims), name


@pytest.mark.parametrize("provider", [OTHER_PROVIDER, NOT_GITHUB_PROVIDER, CCI_PROVIDER])
def test_github_roles_deny_other_federated_provider(provider: str) -> None:
    good = github_claims(REPO, "ref:refs/heads/main")
    assert gh_allows(deploy_policy(), good)  # the same claims pass through the right provider
    assert not gh_allows(deploy_policy(), good, provider=provider)
    assert not gh_allows(preview_policy(), good, provider=provider)


def test_github_roles_deny_other_action() -> None:
    good = github_claims(REPO, "ref:refs/heads/main")
    assert not evaluate(
        deploy_policy(), principal_federated=GH_PROVIDER, action="sts:AssumeRole", claims=good
    )


# --- CircleCI: who gets in -----------------------------------------------------------------


def cci_policy(pinned: bool, branches: list[str] | None = None) -> dict[str, Any]:
    return circleci_trust_policy(
        CCI_PROVIDER, ORG, PROJECT, branches or ["main"], ORIGIN if pinned else None
    )


def cci(
    *,
    org: str = ORG,
    project: str = PROJECT,
    user: str = USER,
    origin: str = ORIGIN,
    ref: str = "refs/heads/main",
    aud: str | None = None,
) -> dict[str, str]:
    return circleci_claims(org, project, user, origin, ref, aud=aud)


def cci_allows(
    policy: dict[str, Any], claims: dict[str, str], provider: str = CCI_PROVIDER
) -> bool:
    return evaluate(policy, principal_federated=provider, action=ASSUME, claims=claims)


CCI_ALLOWED = [
    ("main of the project", cci()),
    ("main, another user", cci(user=OTHER_USER)),
]

CCI_DENIED = [
    ("another project", cci(project=OTHER_PROJECT)),
    ("another org's token", cci(org=OTHER_ORG)),
    ("another branch", cci(ref="refs/heads/develop")),
    ("branch prefix", cci(ref="refs/heads/main-evil")),
    ("branch below main", cci(ref="refs/heads/main/evil")),
    ("branch ending in main", cci(ref="refs/heads/feature/main")),
    ("tag named main", cci(ref="refs/tags/main")),
    ("pull request ref", cci(ref="refs/pull/1/head")),
    ("evil/vcs-ref branch", cci(ref="refs/heads/evil/vcs-ref/refs/heads/main")),
    ("vcs-ref/ branch", cci(ref="refs/heads/vcs-ref/refs/heads/main")),
    # A ref CircleCI would not issue, but whose overlap with the real
    # separator ("/vcs-ref/vcs-ref/") defeats a guard written with "*/…/*" only.
    ("overlapping vcs-ref", cci(ref="vcs-ref/refs/heads/main")),
    (
        "forged origin inside branch",
        cci(ref=f"refs/heads/x/vcs-origin/{ORIGIN}/vcs-ref/refs/heads/main"),
    ),
    # Nested groups (GitLab) allow an origin that ends like the pinned one.
    ("origin ending like ours", cci(origin=f"gitlab.com/evil/vcs-origin/{ORIGIN}")),
    ("overlapping vcs-origin", cci(origin=f"vcs-origin/{ORIGIN}")),
    ("user id smuggling a path", cci(user=f"{USER}/vcs-origin/{ORIGIN}/vcs-ref/refs/heads/main")),
    ("wrong audience", cci(aud="sts.amazonaws.com")),
    ("other org as audience", cci(aud=OTHER_ORG)),
    ("no claims", {}),
]


@pytest.mark.parametrize("pinned", [True, False], ids=["pinned-origin", "any-origin"])
@pytest.mark.parametrize(("name", "claims"), CCI_ALLOWED, ids=_ids(CCI_ALLOWED))
def test_circleci_allows(pinned: bool, name: str, claims: dict[str, str]) -> None:
    assert cci_allows(cci_policy(pinned), claims), name


@pytest.mark.parametrize("pinned", [True, False], ids=["pinned-origin", "any-origin"])
@pytest.mark.parametrize(("name", "claims"), CCI_DENIED, ids=_ids(CCI_DENIED))
def test_circleci_denies(pinned: bool, name: str, claims: dict[str, str]) -> None:
    assert not cci_allows(cci_policy(pinned), claims), name


@pytest.mark.parametrize("pinned", [True, False])
def test_circleci_denies_other_org_provider(pinned: bool) -> None:
    # Another organisation's issuer is another IAM provider, with other keys.
    assert not cci_allows(cci_policy(pinned), cci(org=OTHER_ORG), provider=OTHER_CCI_PROVIDER)
    assert not cci_allows(cci_policy(pinned), cci(), provider=OTHER_CCI_PROVIDER)
    assert not cci_allows(cci_policy(pinned), cci(), provider=GH_PROVIDER)


def test_circleci_pinned_origin_refuses_forks_unpinned_does_not() -> None:
    fork = cci(origin="github.com/evil-org/store")
    assert not cci_allows(cci_policy(pinned=True), fork)
    # Documented residual risk of leaving vcs_origin unset: a fork's build on a
    # branch called main matches (only if the project passes secrets to forks).
    assert cci_allows(cci_policy(pinned=False), fork)


def test_circleci_several_branches() -> None:
    policy = cci_policy(pinned=True, branches=["main", "release/1.x"])
    assert cci_allows(policy, cci(ref="refs/heads/release/1.x"))
    assert cci_allows(policy, cci(ref="refs/heads/main"))
    assert not cci_allows(policy, cci(ref="refs/heads/release/2.x"))


@pytest.mark.parametrize(
    ("pinned", "guard", "claims"),
    [
        (False, "*/vcs-ref/*/vcs-ref/*", cci(ref="refs/heads/evil/vcs-ref/refs/heads/main")),
        (False, "*/vcs-ref/vcs-ref/*", cci(ref="vcs-ref/refs/heads/main")),
        (True, "*/vcs-origin/*/vcs-origin/*", cci(origin=f"gitlab.com/evil/vcs-origin/{ORIGIN}")),
        (True, "*/vcs-origin/vcs-origin/*", cci(origin=f"vcs-origin/{ORIGIN}")),
    ],
)
def test_circleci_each_guard_is_load_bearing(
    pinned: bool, guard: str, claims: dict[str, str]
) -> None:
    """Without this one StringNotLike guard, this hostile subject would be let in."""
    policy = cci_policy(pinned)
    weakened = copy.deepcopy(policy)
    (guards,) = weakened["Statement"][0]["Condition"]["StringNotLike"].values()
    guards.remove(guard)
    assert cci_allows(weakened, claims)
    assert not cci_allows(policy, claims)


def test_circleci_any_branch_for_preview_roles() -> None:
    policy = cci_policy(pinned=True, branches=["*"])
    assert cci_allows(policy, cci(ref="refs/heads/feature/x"))
    assert cci_allows(policy, cci(ref="refs/heads/main"))
    assert not cci_allows(policy, cci(ref="refs/tags/v1"))
    assert not cci_allows(policy, cci(ref="refs/pull/1/head"))
    assert not cci_allows(policy, cci(project=OTHER_PROJECT, ref="refs/heads/feature/x"))
    assert not cci_allows(policy, cci(origin="github.com/evil-org/store", ref="refs/heads/x"))
    with pytest.raises(TrustError, match="wildcards"):
        circleci_trust_policy(CCI_PROVIDER, ORG, PROJECT, ["feature/*"], ORIGIN)
