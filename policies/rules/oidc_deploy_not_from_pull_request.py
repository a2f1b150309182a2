"""Deploy roles cannot be assumed from a pull request.

Anyone who can open a pull request (on GitHub, from a branch of the repository) controls the
code its workflow runs; a deploy role that trusts ``repo:<owner>/<name>:pull_request`` hands
them production. The rule asks :mod:`guard.trust_eval` whether the trust policy, as written,
lets a pull-request token of each repository it names assume the role.
"""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, ResourceValidationArgs, Severity

from guard.oidc_trust import GITHUB_AUDIENCE
from guard.trust_eval import TrustEvalError, evaluate, web_identity_context
from policies.framework import Meta, Report, resource_policy
from policies.rules.oidc_trust_audience import ROLE, OidcStatement, oidc_statements, role_trust
from policies.rules.oidc_trust_subject import subject_values

META = Meta(
    name="oidc-deploy-not-from-pull-request",
    description="A deploy role (name ending in -deploy, or tag guard:role=deploy) trusted by "
    "GitHub Actions or CircleCI cannot be assumed by a pull-request build: no "
    "repo:<owner>/<name>:pull_request subject, and no CircleCI branch wildcard.",
    severity=Severity.CRITICAL,
    enforcement=EnforcementLevel.MANDATORY,
    remediation="trust the protected environment (environment:production) or named branches "
    "(ref:refs/heads/main) in deploy_from; give pull requests a read-only preview role.",
)
ASSUME = "sts:AssumeRoleWithWebIdentity"
PLACEHOLDER = "x"
# CircleCI has no pull-request subject: a pull request builds a branch, and a fork's pull request
# the branch pull/<n>. A deploy role matching either trusts pull requests.
CIRCLECI_PR_REFS = ("refs/heads/pull/1", "refs/pull/1/head", "refs/heads/feature/from-a-pr")


def is_deploy_role(args: ResourceValidationArgs) -> bool:
    name = args.props.get("name") or args.name
    tags = args.props.get("tags") or {}
    return (isinstance(name, str) and name.endswith("-deploy")) or (
        isinstance(tags, dict) and tags.get("guard:role") == "deploy"
    )


def _fill(pattern: str) -> str:
    # A concrete value the pattern matches (or, for StringEquals, the value itself).
    return pattern.replace("*", PLACEHOLDER).replace("?", PLACEHOLDER)


def pull_request_subjects(found: OidcStatement) -> list[str]:
    """Pull-request subjects of every repository or project the statement names."""
    subjects = [s for s in subject_values(found) if isinstance(s, str)]
    if found.kind == "github":
        repos = {
            _fill(s.removeprefix("repo:").split(":", 1)[0])
            for s in subjects
            if s.startswith("repo:")
        }
        if not repos or any(not s.startswith("repo:") for s in subjects):
            repos.add(f"{PLACEHOLDER}/{PLACEHOLDER}")
        return [f"repo:{repo}:pull_request" for repo in sorted(repos)]
    org = found.expected_audience
    prefixes = {_fill(s.split("/vcs-ref/", 1)[0]) for s in subjects if "/vcs-ref/" in s}
    if not prefixes or any("/vcs-ref/" not in s for s in subjects):
        prefixes.add(
            f"org/{org}/project/{PLACEHOLDER}/user/{PLACEHOLDER}/vcs-origin/github.com/{PLACEHOLDER}"
        )
    return [f"{p}/vcs-ref/{ref}" for p in sorted(prefixes) for ref in CIRCLECI_PR_REFS]


def check(args: ResourceValidationArgs, report: Report) -> None:
    document = role_trust(args)
    if document is None or not is_deploy_role(args):
        return
    for found in oidc_statements(document):
        audiences = [
            a for a in (found.values("StringEquals", "aud") or []) if isinstance(a, str)
        ] or [GITHUB_AUDIENCE if found.kind == "github" else found.expected_audience]
        for sub in pull_request_subjects(found):
            for aud in audiences:
                claims = web_identity_context(found.host, {"sub": sub, "aud": aud})
                try:
                    allowed = evaluate(
                        document,
                        principal_federated=found.provider_arn,
                        action=ASSUME,
                        claims=claims,
                    )
                except TrustEvalError as err:
                    report(
                        f"{args.name}'s trust cannot be checked for pull-request tokens ({err}); "
                        "a deploy role's trust must use only StringEquals/StringLike conditions.",
                        None,
                    )
                    return
                if allowed:
                    report(
                        f"{args.name} is a deploy role, but a pull-request build with sub {sub!r} "
                        "can assume it.",
                        None,
                    )
                    return


POLICY = resource_policy(META, [ROLE], check)
