"""IAM trust policies that let CI systems assume roles through OIDC, as plain data.

Everything here returns dictionaries in IAM's JSON form. The Pulumi component
serialises them with ``json.dumps`` and the policy pack inspects the same
dictionaries at preview time, so nothing in this module may depend on Pulumi
(and nothing may be built inside ``Output.apply``, where a policy pack could
not see it).

Claim formats, as documented by the issuers:

* GitHub Actions (docs.github.com, "OpenID Connect reference"): the default
  subject is ``repo:<owner>/<name>:<context>`` where the context is
  ``ref:refs/heads/<branch>``, ``ref:refs/tags/<tag>``,
  ``environment:<name>`` (whenever the job references an environment) or
  ``pull_request`` (for ``pull_request`` events without an environment).
  A ``:`` inside a value is sent as ``%3A``. Repositories created or renamed on or
  after 2026-07-15, or that opted in, use the immutable form
  ``repo:<owner>@<owner-id>/<name>@<repo-id>:<context>``; pass ``owner_id``
  and ``repo_id`` to :func:`github_subjects` for those.
* CircleCI (circleci.com/docs, "Using OpenID Connect tokens in jobs"): the
  issuer is ``https://oidc.circleci.com/org/<org-id>``, the audience is the
  organisation id, and ``$CIRCLE_OIDC_TOKEN_V2`` carries the subject
  ``org/<org-id>/project/<project-id>/user/<user-id>/vcs-origin/<origin>/vcs-ref/<ref>``
  where ``<origin>`` looks like ``github.com/<org>/<repo>`` and ``<ref>`` like
  ``refs/heads/main``.

IAM only exposes a fixed set of token claims to trust policies for a generic
OIDC provider (``aud`` and ``sub``; custom claims such as ``repository_owner``
or CircleCI's ``oidc.circleci.com/vcs-ref`` are not available as condition
keys), which is why every restriction below is expressed through ``sub``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

__all__ = [
    "ANY_BRANCH",
    "CIRCLECI_ISSUER_DOMAIN",
    "CIRCLECI_SUB_GUARDS",
    "GITHUB_AUDIENCE",
    "GITHUB_ISSUER_HOST",
    "MAX_SESSION_SECONDS",
    "POLICY_VERSION",
    "TrustError",
    "circleci_issuer_host",
    "circleci_subject_patterns",
    "circleci_trust_policy",
    "github_subjects",
    "github_trust_policy",
    "oidc_provider_arn",
]

GITHUB_ISSUER_HOST = "token.actions.githubusercontent.com"
# The audience aws-actions/configure-aws-credentials requests by default.
GITHUB_AUDIENCE = "sts.amazonaws.com"
CIRCLECI_ISSUER_DOMAIN = "oidc.circleci.com"

# CI jobs get one hour at most; a stolen session token then dies quickly.
MAX_SESSION_SECONDS = 3600

# 2012-10-17 is the only version in which IAM evaluates policy variables, and the
# evaluator in guard.trust_eval relies on that; values here never contain "${".
POLICY_VERSION = "2012-10-17"

WEB_IDENTITY_ACTION = "sts:AssumeRoleWithWebIdentity"

# In circleci_trust_policy's ``branches``: every branch of the project.
ANY_BRANCH = "*"

# StringLike's "*" matches any run of characters, "/" included. The CircleCI
# subject needs "*" for the user id (and for the origin when it is not pinned),
# so a branch called "evil/vcs-ref/refs/heads/main" would end with the same text
# as a real "main" build. Requiring that "/vcs-ref/" and "/vcs-origin/" each occur
# exactly once makes the only occurrence the separator CircleCI wrote, so the
# text after it is the real ref (and, when pinned, the text before it the real
# origin). The second pattern of each pair catches overlapping occurrences
# sharing their "/" (".../vcs-ref/vcs-ref/..."), which the first cannot match.
CIRCLECI_SUB_GUARDS: tuple[str, ...] = (
    "*/vcs-ref/*/vcs-ref/*",
    "*/vcs-ref/vcs-ref/*",
    "*/vcs-origin/*/vcs-origin/*",
    "*/vcs-origin/vcs-origin/*",
)


class TrustError(ValueError):
    """A trust policy input that would produce a wrong or unsafe policy."""


# GitHub: owner names are alphanumerics and single inner hyphens, at most 39
# characters; repository names are alphanumerics, "-", "_" and ".", at most 100.
_GITHUB_OWNER = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}")
_GITHUB_REPO_NAME = re.compile(r"[A-Za-z0-9._-]{1,100}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_ACCOUNT_ID = re.compile(r"\d{12}")
_PARTITION = re.compile(r"aws(?:-[a-z]+)*")
_VCS_HOST = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+")
_VCS_PATH_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")
_ENVIRONMENT_MAX = 255
# Characters IAM treats specially in condition values: "*" and "?" are wildcards
# for StringLike and "$" starts a policy variable ("${aws:username}") in every
# string operator. None of them belongs in an exact subject.
_IAM_SPECIAL = frozenset("*?$")


def _require_str_sequence(name: str, value: Sequence[str]) -> list[str]:
    # A bare string is a Sequence[str] too; iterating it would trust one
    # subject per character, so reject it loudly.
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise TrustError(f"{name} must be a list of strings, got {type(value).__name__}")
    items = list(value)
    for item in items:
        if not isinstance(item, str):
            raise TrustError(f"{name} must contain only strings, got {item!r}")
    if not items:
        raise TrustError(f"{name} is empty: the role could never be assumed")
    return items


def _dedupe(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _check_no_iam_specials(what: str, value: str) -> None:
    bad = sorted(_IAM_SPECIAL.intersection(value))
    if bad:
        raise TrustError(
            f"{what} {value!r} contains {''.join(bad)!r}: IAM reads '*' and '?' as "
            "wildcards and '$' as a policy variable, so it cannot be trusted exactly"
        )


def _check_ref_name(what: str, name: str) -> None:
    """Validate a branch or tag name with git's check-ref-format rules."""
    if not name:
        raise TrustError(f"{what} is empty")
    _check_no_iam_specials(what, name)
    problems: list[str] = []
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in name):
        problems.append("control characters")
    for ch in " ~^:[\\":
        if ch in name:
            problems.append(f"{ch!r}")
    if ".." in name:
        problems.append("'..'")
    if "@{" in name:
        problems.append("'@{'")
    if name == "@":
        problems.append("the name '@'")
    if name.startswith("/") or name.endswith("/") or "//" in name:
        problems.append("an empty path component")
    if name.endswith("."):
        problems.append("a trailing '.'")
    for part in name.split("/"):
        if part.startswith("."):
            problems.append("a component starting with '.'")
        if part.endswith(".lock"):
            problems.append("a component ending with '.lock'")
    if problems:
        raise TrustError(f"{what} {name!r} is not a valid git ref name: {', '.join(problems)}")


def _check_github_repo(repo: str) -> tuple[str, str]:
    if not isinstance(repo, str) or repo.count("/") != 1:
        raise TrustError(f"repository must look like 'owner/name', got {repo!r}")
    owner, name = repo.split("/")
    if not _GITHUB_OWNER.fullmatch(owner):
        raise TrustError(
            f"repository owner {owner!r} is not a valid GitHub account name "
            "(letters, digits and single inner hyphens, at most 39 characters)"
        )
    if not _GITHUB_REPO_NAME.fullmatch(name) or name in {".", ".."}:
        raise TrustError(
            f"repository name {name!r} is not a valid GitHub repository name "
            "(letters, digits, '-', '_' and '.', at most 100 characters)"
        )
    return owner, name


def _github_context(item: str) -> str:
    """Turn one ``deploy_from`` item into the context part of GitHub's subject."""
    if item == "pull_request":
        return item
    if item.startswith("ref:refs/heads/"):
        _check_ref_name("branch", item.removeprefix("ref:refs/heads/"))
        return item
    if item.startswith("ref:refs/tags/"):
        _check_ref_name("tag", item.removeprefix("ref:refs/tags/"))
        return item
    if item.startswith("environment:"):
        env = item.removeprefix("environment:")
        if not env or len(env) > _ENVIRONMENT_MAX:
            raise TrustError(f"environment name must be 1 to {_ENVIRONMENT_MAX} characters")
        if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in env):
            raise TrustError(f"environment name {env!r} contains control characters")
        _check_no_iam_specials("environment name", env)
        # GitHub sends ":" inside a value as "%3A"; a literal "%" would make two
        # names share one subject, so refuse it rather than guess.
        if "%" in env:
            raise TrustError(f"environment name {env!r} contains '%'")
        return "environment:" + env.replace(":", "%3A")
    raise TrustError(
        f"unsupported deploy_from item {item!r}: expected 'ref:refs/heads/<branch>', "
        "'ref:refs/tags/<tag>', 'environment:<name>' or 'pull_request'"
    )


def github_subjects(
    repo: str,
    deploy_from: Sequence[str],
    *,
    owner_id: int | None = None,
    repo_id: int | None = None,
) -> list[str]:
    """Return the exact GitHub ``sub`` values for ``repo`` and each ``deploy_from`` item.

    ``deploy_from`` items are ``ref:refs/heads/<branch>``, ``ref:refs/tags/<tag>``,
    ``environment:<name>`` or ``pull_request``. A job that references an
    environment always presents the ``environment:`` subject, never its branch,
    so a role meant for deploy jobs trusts the environment. GitHub compares
    environment names case-insensitively but IAM's StringEquals does not: write
    the name exactly as the environment is defined.

    With ``owner_id`` and ``repo_id`` (both or neither), the subjects use the
    immutable format ``repo:<owner>@<owner-id>/<name>@<repo-id>:...`` that
    repositories created or renamed on or after 2026-07-15 (or that opted in) receive.
    """
    owner, name = _check_github_repo(repo)
    items = _require_str_sequence("deploy_from", deploy_from)
    if (owner_id is None) != (repo_id is None):
        raise TrustError("owner_id and repo_id must be given together")
    if owner_id is not None and repo_id is not None:
        for label, number in (("owner_id", owner_id), ("repo_id", repo_id)):
            if isinstance(number, bool) or not isinstance(number, int) or number <= 0:
                raise TrustError(f"{label} must be a positive integer, got {number!r}")
        repo_part = f"{owner}@{owner_id}/{name}@{repo_id}"
    else:
        repo_part = f"{owner}/{name}"
    return _dedupe([f"repo:{repo_part}:{_github_context(item)}" for item in items])


def oidc_provider_arn(account_id: str, issuer_host: str, *, partition: str = "aws") -> str:
    """Return the ARN IAM gives the OIDC provider for ``issuer_host`` in ``account_id``."""
    if not _ACCOUNT_ID.fullmatch(account_id):
        raise TrustError(f"account id must be 12 digits, got {account_id!r}")
    if not _PARTITION.fullmatch(partition):
        raise TrustError(f"unknown partition {partition!r}")
    if not issuer_host or "://" in issuer_host or issuer_host.endswith("/"):
        raise TrustError(f"issuer host must be a bare host[/path], got {issuer_host!r}")
    return f"arn:{partition}:iam::{account_id}:oidc-provider/{issuer_host}"


def _check_provider_arn(provider_arn: str, issuer_host: str) -> None:
    match = re.fullmatch(
        r"arn:(?P<partition>[^:]+):iam::(?P<account>[^:]+):oidc-provider/(.+)",
        provider_arn if isinstance(provider_arn, str) else "",
    )
    if (
        match is None
        or not _PARTITION.fullmatch(match["partition"])
        or not _ACCOUNT_ID.fullmatch(match["account"])
        or match[3] != issuer_host
    ):
        raise TrustError(
            f"provider ARN {provider_arn!r} is not an IAM OIDC provider for {issuer_host!r} "
            f"(expected arn:aws:iam::<account>:oidc-provider/{issuer_host})"
        )


def _web_identity_statement(
    sid: str, provider_arn: str, condition: dict[str, Any]
) -> dict[str, Any]:
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": sid,
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": WEB_IDENTITY_ACTION,
                "Condition": condition,
            }
        ],
    }


def github_trust_policy(provider_arn: str, subjects: Sequence[str]) -> dict[str, Any]:
    """Trust policy letting exactly ``subjects`` (from :func:`github_subjects`) assume a role.

    Both the audience and the subject are compared with StringEquals; a list
    value in StringEquals means "any of these", so the role trusts each subject
    exactly and nothing else. No wildcard is ever used for GitHub: every
    supported context is known in full.
    """
    _check_provider_arn(provider_arn, GITHUB_ISSUER_HOST)
    subs = _require_str_sequence("subjects", subjects)
    for sub in subs:
        if not sub.startswith("repo:"):
            raise TrustError(f"GitHub subject {sub!r} does not start with 'repo:'")
        _check_no_iam_specials("GitHub subject", sub)
    return _web_identity_statement(
        "GitHubActionsOIDC",
        provider_arn,
        {
            "StringEquals": {
                f"{GITHUB_ISSUER_HOST}:aud": GITHUB_AUDIENCE,
                f"{GITHUB_ISSUER_HOST}:sub": _dedupe(subs),
            }
        },
    )


def circleci_issuer_host(org_id: str) -> str:
    """The issuer host (IAM provider URL without scheme) for a CircleCI organisation."""
    _check_uuid("CircleCI organization id", org_id)
    return f"{CIRCLECI_ISSUER_DOMAIN}/org/{org_id}"


def _check_uuid(what: str, value: str) -> None:
    # CircleCI ids are UUIDs, issued in lowercase; StringEquals is case-sensitive,
    # so an uppercase id would silently never match.
    if not isinstance(value, str) or not _UUID.fullmatch(value):
        raise TrustError(f"{what} must be a lowercase UUID, got {value!r}")


def _check_vcs_origin(vcs_origin: str) -> None:
    host, _, path = vcs_origin.partition("/")
    segments = path.split("/") if path else []
    if (
        not _VCS_HOST.fullmatch(host)
        or len(segments) < 2
        or not all(_VCS_PATH_SEGMENT.fullmatch(s) and s not in {".", ".."} for s in segments)
    ):
        raise TrustError(
            f"vcs_origin must look like 'github.com/<org>/<repo>' (no scheme), got {vcs_origin!r}"
        )
    if "vcs-ref" in segments or "vcs-origin" in segments:
        # Such an origin would trip the guards in CIRCLECI_SUB_GUARDS and the
        # role could never be assumed; better to say so now.
        raise TrustError(f"vcs_origin {vcs_origin!r} contains a 'vcs-ref'/'vcs-origin' segment")


def circleci_subject_patterns(
    org_id: str, project_id: str, branches: Sequence[str], vcs_origin: str | None = None
) -> list[str]:
    """StringLike patterns for CircleCI v2 subjects of ``branches`` in one project.

    The item ``"*"`` (alone, not inside a name) means every branch of the project;
    it is meant for read-only preview roles. Tags never match.
    """
    _check_uuid("CircleCI organization id", org_id)
    _check_uuid("CircleCI project id", project_id)
    names = _require_str_sequence("branches", branches)
    for branch in names:
        if branch == ANY_BRANCH:
            continue
        _check_ref_name("branch", branch)
        if branch.startswith("refs/"):
            raise TrustError(f"give branch names without 'refs/heads/', got {branch!r}")
    if vcs_origin is not None:
        _check_vcs_origin(vcs_origin)
    origin = vcs_origin if vcs_origin is not None else "*"
    # The org and project ids are literal and anchored at the start, so no other
    # project can match; "user/*" stands for the CircleCI user id of whoever
    # triggered the pipeline.
    prefix = f"org/{org_id}/project/{project_id}/user/*/vcs-origin/{origin}/vcs-ref/"
    return _dedupe([f"{prefix}refs/heads/{branch}" for branch in names])


def circleci_trust_policy(
    provider_arn: str,
    org_id: str,
    project_id: str,
    branches: Sequence[str],
    vcs_origin: str | None = None,
) -> dict[str, Any]:
    """Trust policy for ``$CIRCLE_OIDC_TOKEN_V2`` jobs of one project on ``branches``.

    Conditions (all must hold):

    * ``<issuer>:aud`` StringEquals the organisation id (CircleCI's fixed audience);
    * ``<issuer>:sub`` StringLike one of
      ``org/<org>/project/<project>/user/*/vcs-origin/<origin or *>/vcs-ref/refs/heads/<branch>``
      (``branches=["*"]``: any branch, for a read-only preview role);
    * ``<issuer>:sub`` StringNotLike any of :data:`CIRCLECI_SUB_GUARDS`, i.e.
      "/vcs-ref/" and "/vcs-origin/" each occur exactly once.

    The organisation and project ids are literal, so only this project matches.
    The guards make the single "/vcs-ref/" the separator CircleCI wrote, so a
    branch named ``evil/vcs-ref/refs/heads/main`` (whose subject *ends* like a
    ``main`` build) is refused even though ``*`` matches "/".

    Residual risks, which IAM cannot close because it does not expose
    CircleCI's other claims as condition keys:

    * Without ``vcs_origin`` the origin is a wildcard. If the project passes
      secrets to builds from forked pull requests (off by default; CircleCI
      then issues OIDC tokens to forks), a fork's build on a branch with a
      trusted name would match. Pass ``vcs_origin`` (for example
      ``github.com/example-org/store``) to pin the origin exactly.
    * Anyone allowed to trigger or re-run (including "re-run with SSH") a
      pipeline of this project on a trusted branch gets a matching token; the
      ``oidc.circleci.com/ssh-rerun`` claim cannot be checked by IAM.
    * A legitimate origin that contains "/vcs-ref/" or "/vcs-origin/" is refused
      (it fails closed).
    """
    host = circleci_issuer_host(org_id)
    _check_provider_arn(provider_arn, host)
    patterns = circleci_subject_patterns(org_id, project_id, branches, vcs_origin)
    return _web_identity_statement(
        "CircleCIOIDC",
        provider_arn,
        {
            "StringEquals": {f"{host}:aud": org_id},
            "StringLike": {f"{host}:sub": patterns},
            "StringNotLike": {f"{host}:sub": list(CIRCLECI_SUB_GUARDS)},
        },
    )
