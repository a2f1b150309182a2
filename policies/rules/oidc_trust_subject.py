"""Every role trusted by a GitHub Actions or CircleCI provider pins the token's ``sub``.

Without a ``sub`` condition any repository on GitHub (or any project of the CircleCI
organisation) can assume the role; a ``*`` in the repository or project part does the same for a
whole owner, or for names an attacker can register (``store-evil`` matches ``store*``).
"""

from __future__ import annotations

import re

from pulumi_policy import EnforcementLevel, ResourceValidationArgs, Severity

from policies.framework import Meta, Report, resource_policy
from policies.rules.oidc_trust_audience import ROLE, OidcStatement, oidc_statements, role_trust

META = Meta(
    name="oidc-trust-subject",
    description="A role trusted by the GitHub Actions or CircleCI OIDC provider requires the "
    "token's sub with StringEquals or StringLike, with no wildcard in the repository (GitHub: "
    "repo:<owner>/<name>:...) or project (CircleCI: org/<org>/project/<id>/...) part.",
    severity=Severity.CRITICAL,
    enforcement=EnforcementLevel.MANDATORY,
    remediation="list the exact subjects with guard.oidc_trust (guard:products[].ci in the stack "
    "file): repo:<owner>/<name>:environment:<env> or ref:refs/heads/<branch> for GitHub, the "
    "project id for CircleCI.",
    control="Checkov CKV_AWS_358",
)
WILDCARDS = frozenset("*?")
# GitHub owner/name, optionally in the immutable form owner@<id>/name@<id>.
GITHUB_REPO_RE = re.compile(
    r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}(?:@\d+)?/[A-Za-z0-9._-]{1,100}(?:@\d+)?$"
)
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def subject_values(found: OidcStatement) -> list[object]:
    """The ``sub`` values a positive operator requires (IfExists variants do not count)."""
    values: list[object] = []
    for operator in ("StringEquals", "StringLike"):
        values += found.values(operator, "sub") or []
    return values


def github_problem(sub: str) -> str | None:
    if not sub.startswith("repo:"):
        return "does not start with 'repo:<owner>/<name>:'"
    repo = sub.removeprefix("repo:").split(":", 1)[0]
    if WILDCARDS & set(repo):
        return f"has a wildcard in its repository part {repo!r}"
    if not GITHUB_REPO_RE.match(repo):
        return f"names {repo!r}, which is not a GitHub owner/name"
    return None


def circleci_problem(sub: str, org_id: str) -> str | None:
    prefix = f"org/{org_id}/project/"
    if not sub.startswith(prefix):
        return f"does not start with '{prefix}<project id>/'"
    project = sub.removeprefix(prefix).split("/", 1)[0]
    if WILDCARDS & set(project):
        return f"has a wildcard in its project part {project!r}"
    if not UUID_RE.match(project):
        return f"names project {project!r}, which is not a CircleCI project id"
    return None


def check(args: ResourceValidationArgs, report: Report) -> None:
    document = role_trust(args)
    if document is None:
        return
    for found in oidc_statements(document):
        key = f"{found.host}:sub"
        subjects = subject_values(found)
        if not subjects:
            who = "any repository on GitHub" if found.kind == "github" else "any project of the org"
            report(
                f"{args.name} trusts {found.provider_arn} with no StringEquals/StringLike "
                f"condition on {key}: {who} can assume it.",
                None,
            )
            continue
        for sub in subjects:
            if not isinstance(sub, str):
                problem: str | None = "is not a string"
            elif found.kind == "github":
                problem = github_problem(sub)
            else:
                problem = circleci_problem(sub, found.expected_audience)
            if problem is not None:
                report(f"{args.name}: the {key} value {sub!r} {problem}.", None)


POLICY = resource_policy(META, [ROLE], check)
