"""Offline evaluator for IAM identity policies, permissions boundaries and their conditions.

It answers: would IAM let a role whose identity policies and permissions boundary are these
perform ``action`` on ``resource`` with this request context? Tests use it to prove that the
roles guard declares can do what a deploy needs and cannot take the routes an attacker would
(:mod:`guard.trust_eval` uses the same condition engine for trust policies).

Semantics implemented, from the IAM policy evaluation logic and the condition operator reference
(docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html and
reference_policies_elements_condition_operators.html), for a principal of the same account and
no resource-based policy, session policy or SCP:

* An explicit ``Deny`` in any identity policy or in the boundary refuses.
* Otherwise the request is allowed only if an identity policy allows it **and**, when the role
  has a permissions boundary, the boundary allows it too.
* A statement applies when its ``Action``/``NotAction``, ``Resource``/``NotResource`` and
  ``Condition`` all match. Action names are case-insensitive globs; resources are
  case-sensitive globs (``*`` also matches ``/`` and ``:``).
* Conditions: all operators must hold; within one operator all keys; a key holds when the
  request value matches any policy value (a negated operator: none). A key missing from the
  request fails a positive operator and satisfies a negated one; ``...IfExists`` holds for a
  missing key; ``ForAllValues:`` holds for a missing key and ``ForAnyValue:`` does not;
  ``Null`` tests presence. Key names are case-insensitive.

Anything outside that subset (another operator, a policy variable, ``Principal`` in an identity
policy) raises :class:`PolicyEvalError` instead of being guessed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

__all__ = [
    "Decision",
    "PolicyEvalError",
    "Request",
    "arn_match",
    "conditions_hold",
    "evaluate",
    "glob_match",
    "normalise_context",
    "parse_operator",
    "validate_condition",
]

POLICY_VERSION = "2012-10-17"
ContextValue = str | Sequence[str]


class PolicyEvalError(ValueError):
    """The policy uses something this evaluator does not model."""


@lru_cache(maxsize=4096)
def _glob_regex(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    parts = []
    for ch in pattern:
        if ch == "*":
            parts.append(".*")
        elif ch == "?":
            parts.append(".")
        else:
            parts.append(re.escape(ch))
    # DOTALL: IAM's "*" and "?" match any character, newlines included.
    flags = re.DOTALL | (re.IGNORECASE if ignore_case else 0)
    return re.compile("".join(parts), flags)


def glob_match(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """IAM glob: ``*`` is any run of characters (``/`` and empty included), ``?`` one."""
    return _glob_regex(pattern, ignore_case).fullmatch(value) is not None


def arn_match(pattern: str, value: str) -> bool:
    """``ArnLike``: each of the six colon-separated parts is matched on its own."""
    pattern_parts = pattern.split(":", 5)
    value_parts = value.split(":", 5)
    if len(pattern_parts) != 6 or len(value_parts) != 6:
        # Not an ARN on one side: IAM compares nothing then, and the operator does not match.
        return False
    return all(glob_match(p, v) for p, v in zip(pattern_parts, value_parts, strict=True))


def _equals(policy_value: str, value: str) -> bool:
    return policy_value == value


def _equals_ignore_case(policy_value: str, value: str) -> bool:
    return policy_value.casefold() == value.casefold()


def _like(policy_value: str, value: str) -> bool:
    return glob_match(policy_value, value)


def _bool(policy_value: str, value: str) -> bool:
    return policy_value.lower() == value.lower()


@dataclass(frozen=True)
class Operator:
    """A parsed condition operator such as ``ForAnyValue:StringLikeIfExists``."""

    name: str
    match: Callable[[str, str], bool]
    negated: bool
    set_op: str | None  # None, "ForAnyValue" or "ForAllValues"
    if_exists: bool
    is_null: bool = False


_BASE_OPERATORS: dict[str, tuple[Callable[[str, str], bool], bool]] = {
    "StringEquals": (_equals, False),
    "StringNotEquals": (_equals, True),
    "StringEqualsIgnoreCase": (_equals_ignore_case, False),
    "StringNotEqualsIgnoreCase": (_equals_ignore_case, True),
    "StringLike": (_like, False),
    "StringNotLike": (_like, True),
    "ArnEquals": (arn_match, False),
    "ArnLike": (arn_match, False),
    "ArnNotEquals": (arn_match, True),
    "ArnNotLike": (arn_match, True),
    "Bool": (_bool, False),
}


def parse_operator(name: str) -> Operator:
    """Parse an operator name; unknown ones raise :class:`PolicyEvalError`."""
    if not isinstance(name, str):
        raise PolicyEvalError(f"condition operator must be a string, got {name!r}")
    if name == "Null":
        return Operator(name, _equals, False, None, False, is_null=True)
    set_op: str | None = None
    base = name
    if ":" in base:
        set_op, _, base = base.partition(":")
        if set_op not in {"ForAnyValue", "ForAllValues"}:
            raise PolicyEvalError(f"unknown set operator prefix in {name!r}")
    if_exists = base.endswith("IfExists")
    if if_exists:
        base = base.removesuffix("IfExists")
    # Operator names are matched exactly: IAM rejects "stringequals".
    if base not in _BASE_OPERATORS:
        raise PolicyEvalError(f"unsupported condition operator {name!r}")
    if set_op is not None and base == "Bool":
        raise PolicyEvalError(f"{name!r}: set operators take string and ARN operators only")
    match, negated = _BASE_OPERATORS[base]
    return Operator(name, match, negated, set_op, if_exists)


def as_strings(what: str, value: Any) -> list[str]:
    """A policy value as a list of strings; refuses numbers and policy variables."""
    if isinstance(value, str):
        values = [value]
    elif isinstance(value, list):
        values = value
    else:
        raise PolicyEvalError(f"{what} must be a string or a list of strings, got {value!r}")
    for item in values:
        if not isinstance(item, str):
            # IAM coerces numbers and booleans; policies built here never have them, so
            # refuse rather than mimic the coercion.
            raise PolicyEvalError(f"{what} contains a non-string value {item!r}")
        if "${" in item:
            raise PolicyEvalError(
                f"{what} uses a policy variable ({item!r}), which is not modelled"
            )
    return values


def normalise_context(context: Mapping[str, ContextValue]) -> dict[str, list[str]]:
    """Request context keys folded to lower case, every value a list of strings."""
    out: dict[str, list[str]] = {}
    for key, value in context.items():
        folded = key.lower()
        if folded in out:
            raise PolicyEvalError(f"context contains {key!r} twice (keys are case-insensitive)")
        if isinstance(value, str):
            out[folded] = [value]
        elif isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
            out[folded] = list(value)
        else:
            raise PolicyEvalError(f"context key {key!r} must be a string or a list of strings")
    return out


def _key_holds(op: Operator, policy_values: list[str], request: list[str] | None) -> bool:
    if op.is_null:
        if len(policy_values) != 1 or policy_values[0] not in {"true", "false"}:
            raise PolicyEvalError("Null takes 'true' or 'false'")
        return (request is None) == (policy_values[0] == "true")
    if request is None:
        if op.if_exists or op.set_op == "ForAllValues":
            return True
        if op.set_op == "ForAnyValue":
            return False
        return op.negated

    def one(value: str) -> bool:
        hit = any(op.match(p, value) for p in policy_values)
        return not hit if op.negated else hit

    if op.set_op is None:
        if len(request) != 1:
            raise PolicyEvalError(
                "a multivalued context key needs a ForAnyValue:/ForAllValues: operator"
            )
        return one(request[0])
    if op.set_op == "ForAnyValue":
        return any(one(v) for v in request)
    return all(one(v) for v in request)


def validate_condition(condition: Any) -> None:
    """Raise :class:`PolicyEvalError` unless every operator and value is modelled."""
    if not isinstance(condition, Mapping):
        raise PolicyEvalError("Condition must be an object")
    for op_name, block in condition.items():
        parse_operator(op_name)
        if not isinstance(block, Mapping) or not block:
            raise PolicyEvalError(f"condition {op_name!r} must be a non-empty object")
        for key, values in block.items():
            as_strings(f"{op_name} {key}", values)


def conditions_hold(condition: Mapping[str, Any], context: Mapping[str, list[str]]) -> bool:
    """Whether every operator of ``condition`` holds for a normalised request context."""
    for op_name, block in condition.items():
        op = parse_operator(op_name)
        for key, values in block.items():
            policy_values = as_strings(f"{op_name} {key}", values)
            if not _key_holds(op, policy_values, context.get(key.lower())):
                return False
    return True


# --- identity policies and boundaries ----------------------------------------------------------

_IDENTITY_KEYS = {"Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"}


def as_list(value: Any) -> list[Any]:
    """A policy value IAM reads as one item or a list of them, as a list (None: empty)."""
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def statements_in(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """A document's statements, leniently: the ones that are objects, without checking the
    envelope (for reading what a plan declares; :func:`policy_statements` validates)."""
    return [s for s in as_list(document.get("Statement")) if isinstance(s, Mapping)]


def policy_statements(policy: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """A policy document's statements, after checking its envelope (version, keys, statements)."""
    if not isinstance(policy, Mapping):
        raise PolicyEvalError("policy must be a JSON object")
    if policy.get("Version") != POLICY_VERSION:
        raise PolicyEvalError(
            f"policy Version must be {POLICY_VERSION!r}, got {policy.get('Version')!r}"
        )
    extra = set(policy) - {"Version", "Id", "Statement"}
    if extra:
        raise PolicyEvalError(f"unexpected policy keys {sorted(extra)}")
    statements = policy.get("Statement")
    if isinstance(statements, Mapping):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        raise PolicyEvalError("policy needs at least one Statement")
    for stmt in statements:
        if not isinstance(stmt, Mapping):
            raise PolicyEvalError(f"statement must be an object, got {stmt!r}")
    return statements


def identity_statements(policy: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The statements of an identity policy, validated against what is modelled here."""
    statements = policy_statements(policy)
    for stmt in statements:
        unknown = set(stmt) - _IDENTITY_KEYS
        if unknown:
            raise PolicyEvalError(
                f"identity policy statement has unmodelled keys {sorted(unknown)}"
            )
        if stmt.get("Effect") not in {"Allow", "Deny"}:
            raise PolicyEvalError(f"Effect must be Allow or Deny, got {stmt.get('Effect')!r}")
        if ("Action" in stmt) == ("NotAction" in stmt):
            raise PolicyEvalError("a statement needs exactly one of Action and NotAction")
        if ("Resource" in stmt) == ("NotResource" in stmt):
            raise PolicyEvalError("a statement needs exactly one of Resource and NotResource")
        for key in ("Action", "NotAction", "Resource", "NotResource"):
            if key in stmt:
                as_strings(key, stmt[key])
        validate_condition(stmt.get("Condition", {}))
    return statements


@dataclass(frozen=True)
class Request:
    """One API call as IAM authorises it: action, resource ARN and condition context."""

    action: str
    resource: str
    context: Mapping[str, ContextValue] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    """The outcome, with the statement that decided it (``Sid`` or its position)."""

    allowed: bool
    reason: str

    def __bool__(self) -> bool:
        return self.allowed


def _action_matches(stmt: Mapping[str, Any], action: str) -> bool:
    if "Action" in stmt:
        return any(glob_match(a, action, ignore_case=True) for a in as_strings("", stmt["Action"]))
    return not any(
        glob_match(a, action, ignore_case=True) for a in as_strings("", stmt["NotAction"])
    )


def _resource_matches(stmt: Mapping[str, Any], resource: str) -> bool:
    if "Resource" in stmt:
        return any(glob_match(r, resource) for r in as_strings("", stmt["Resource"]))
    return not any(glob_match(r, resource) for r in as_strings("", stmt["NotResource"]))


def _applying(
    policies: Iterable[tuple[str, Mapping[str, Any]]],
    request: Request,
    context: dict[str, list[str]],
) -> Iterable[tuple[str, Mapping[str, Any]]]:
    for label, policy in policies:
        for index, stmt in enumerate(identity_statements(policy)):
            if (
                _action_matches(stmt, request.action)
                and _resource_matches(stmt, request.resource)
                and conditions_hold(stmt.get("Condition", {}), context)
            ):
                yield f"{label}:{stmt.get('Sid', index)}", stmt


def evaluate(
    request: Request,
    identity: Mapping[str, Mapping[str, Any]],
    boundary: Mapping[str, Any] | None = None,
) -> Decision:
    """Decide ``request`` for a role with these identity policies (by name) and boundary."""
    context = normalise_context(request.context)
    applying = list(_applying(identity.items(), request, context))
    bounded = list(_applying([("boundary", boundary)], request, context)) if boundary else []
    for label, stmt in [*applying, *bounded]:
        if stmt["Effect"] == "Deny":
            return Decision(False, f"explicit deny by {label}")
    allow = next((label for label, stmt in applying if stmt["Effect"] == "Allow"), None)
    if allow is None:
        return Decision(False, "no identity policy allows it (implicit deny)")
    if boundary is not None and not bounded:
        return Decision(False, "the permissions boundary does not allow it (implicit deny)")
    return Decision(True, f"allowed by {allow}")
