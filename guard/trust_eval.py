"""Offline evaluator for IAM role trust policies used with web-identity federation.

It answers one question: would STS let a token with these claims, presented
through this federated provider, perform ``sts:AssumeRoleWithWebIdentity``
under this trust policy? Tests and the policy pack use it to check the
policies from :mod:`guard.oidc_trust` against tables of allowed and refused
tokens, without AWS.

Semantics implemented (from the IAM policy evaluation and condition operator
documentation):

* An explicit ``Deny`` that applies refuses; otherwise an applying ``Allow``
  permits; otherwise the request is implicitly denied.
* Within a ``Condition`` all operators must hold; within one operator all keys
  must hold; a key holds when the request value matches any of the policy's
  values (a negated operator holds when it matches none).
* A key missing from the request fails a positive operator and satisfies a
  negated one; ``...IfExists`` operators hold when the key is missing;
  ``ForAllValues:`` holds for a missing key (the classic trap) and
  ``ForAnyValue:`` does not.
* Condition key names are case-insensitive, values case-sensitive (except the
  ``...IgnoreCase`` operators). ``StringLike`` globs: ``*`` matches any run of
  characters including ``/`` and the empty run, ``?`` exactly one character.

Anything outside that subset (an unknown operator, policy variables,
``NotPrincipal``/``NotAction``, an unknown policy version) raises
:class:`TrustEvalError` rather than being guessed, so the evaluator never
reports "allowed" or "denied" for a policy it does not understand.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from guard.iam_eval import (
    PolicyEvalError,
    as_strings,
    conditions_hold,
    glob_match,
    normalise_context,
    policy_statements,
    validate_condition,
)
from guard.oidc_trust import (
    GITHUB_AUDIENCE,
    GITHUB_ISSUER_HOST,
    circleci_issuer_host,
)

__all__ = [
    "TrustEvalError",
    "circleci_claims",
    "evaluate",
    "github_claims",
    "glob_match",
    "validate_policy",
    "web_identity_context",
]

ClaimValue = str | Sequence[str]

#: The policy uses something this evaluator does not model (the shared engine's error).
TrustEvalError = PolicyEvalError


def _principal_matches(principal: Any, federated: str) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        raise TrustEvalError(f"Principal must be '*' or an object, got {principal!r}")
    # {"AWS": "*"} means everyone as well; count it as matching so that an
    # over-broad policy shows up as allowed instead of hiding.
    aws = principal.get("AWS")
    if aws == "*" or (isinstance(aws, list) and "*" in aws):
        return True
    federated_values = principal.get("Federated")
    if federated_values is None:
        return False
    return federated in as_strings("Principal.Federated", federated_values)


def _action_matches(actions: Any, action: str) -> bool:
    # Action names are case-insensitive and may use wildcards ("sts:*").
    return any(glob_match(a, action, ignore_case=True) for a in as_strings("Action", actions))


_STATEMENT_KEYS = {"Sid", "Effect", "Principal", "Action", "Condition"}
_UNMODELLED_KEYS = {"NotPrincipal", "NotAction", "Resource", "NotResource"}


def validate_policy(policy: Mapping[str, Any]) -> None:
    """Raise :class:`TrustEvalError` unless every part of ``policy`` is modelled here."""
    for stmt in policy_statements(policy):
        unmodelled = set(stmt) & _UNMODELLED_KEYS
        if unmodelled:
            raise TrustEvalError(f"statement uses {sorted(unmodelled)}, which is not modelled")
        unknown = set(stmt) - _STATEMENT_KEYS
        if unknown:
            raise TrustEvalError(f"statement has unknown keys {sorted(unknown)}")
        if stmt.get("Effect") not in {"Allow", "Deny"}:
            raise TrustEvalError(
                f"statement Effect must be Allow or Deny, got {stmt.get('Effect')!r}"
            )
        for required in ("Principal", "Action"):
            if required not in stmt:
                raise TrustEvalError(f"statement lacks {required}")
        _principal_matches(stmt["Principal"], "")
        as_strings("Action", stmt["Action"])
        validate_condition(stmt.get("Condition", {}))


def evaluate(
    policy: Mapping[str, Any],
    *,
    principal_federated: str,
    action: str,
    claims: Mapping[str, ClaimValue],
) -> bool:
    """Return whether ``policy`` lets this federated caller perform ``action``.

    ``claims`` maps IAM condition keys (``token.actions.githubusercontent.com:sub``)
    to values; build them with :func:`github_claims`, :func:`circleci_claims`
    or :func:`web_identity_context`.
    """
    # Validate everything first so an unsupported operator raises even when an
    # earlier statement or condition would already decide the outcome.
    validate_policy(policy)
    context = normalise_context(claims)
    allowed = False
    for stmt in policy_statements(policy):
        applies = (
            _principal_matches(stmt["Principal"], principal_federated)
            and _action_matches(stmt["Action"], action)
            and conditions_hold(stmt.get("Condition", {}), context)
        )
        if not applies:
            continue
        if stmt["Effect"] == "Deny":
            return False
        allowed = True
    return allowed


def web_identity_context(issuer_host: str, token_claims: Mapping[str, Any]) -> dict[str, str]:
    """Map decoded token claims to the condition keys IAM exposes for an OIDC provider.

    IAM offers ``<issuer>:sub`` and ``<issuer>:aud``; as documented for Google
    tokens, ``aud`` takes the ``azp`` claim when the token has one and the
    ``aud`` claim otherwise. Other claims are not available to trust policies.
    """
    context: dict[str, str] = {}
    sub = token_claims.get("sub")
    if sub is not None:
        context[f"{issuer_host}:sub"] = str(sub)
    azp = token_claims.get("azp")
    aud = token_claims.get("aud")
    if azp is not None:
        context[f"{issuer_host}:aud"] = str(azp)
    elif isinstance(aud, list):
        if len(aud) != 1:
            raise TrustEvalError("tokens with several audiences are not modelled")
        context[f"{issuer_host}:aud"] = str(aud[0])
    elif aud is not None:
        context[f"{issuer_host}:aud"] = str(aud)
    return context


def github_claims(repo: str, context: str, aud: str = GITHUB_AUDIENCE) -> dict[str, str]:
    """Condition keys for a GitHub Actions token of ``repo`` in ``context``.

    ``context`` is the part after the repository, e.g. ``ref:refs/heads/main``,
    ``environment:production`` or ``pull_request``. No validation: tests use
    this to build hostile tokens too.
    """
    return web_identity_context(GITHUB_ISSUER_HOST, {"sub": f"repo:{repo}:{context}", "aud": aud})


def circleci_claims(
    org_id: str,
    project_id: str,
    user_id: str,
    vcs_origin: str,
    vcs_ref: str,
    aud: str | None = None,
) -> dict[str, str]:
    """Condition keys for a CircleCI ``$CIRCLE_OIDC_TOKEN_V2`` token.

    The subject follows CircleCI's v2 format
    ``org/<org>/project/<project>/user/<user>/vcs-origin/<origin>/vcs-ref/<ref>``;
    the audience defaults to the organisation id, as CircleCI issues it.
    """
    sub = (
        f"org/{org_id}/project/{project_id}/user/{user_id}"
        f"/vcs-origin/{vcs_origin}/vcs-ref/{vcs_ref}"
    )
    return web_identity_context(
        circleci_issuer_host(org_id), {"sub": sub, "aud": org_id if aud is None else aud}
    )
