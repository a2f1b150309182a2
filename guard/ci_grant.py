"""One row of the pipeline's permission table, and IAM policy documents made of rows.

A :class:`Grant` names the Pulumi resource types it serves, the IAM actions, the resources they
are granted on and any condition, with the reason for anything that is not plain. The table
itself is :mod:`guard.ci_permissions`; this module turns rows into policy documents that fit
IAM's size limits.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

POLICY_VERSION = "2012-10-17"
Condition = Mapping[str, Mapping[str, str | list[str]]]
#: IAM's limit for one customer managed policy, counted without whitespace.
MAX_MANAGED_POLICY_CHARS = 6_144


@dataclass(frozen=True)
class Grant:
    """One row of the table: actions on resources (with a condition) for some Pulumi types."""

    sid: str
    serves: tuple[str, ...]
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    condition: Condition | None = None
    why: str = ""

    def statement(self) -> dict[str, Any]:
        statement: dict[str, Any] = {
            "Sid": self.sid,
            "Effect": "Allow",
            "Action": sorted(self.actions),
            "Resource": list(self.resources) if len(self.resources) > 1 else self.resources[0],
        }
        if self.condition:
            statement["Condition"] = {k: dict(v) for k, v in self.condition.items()}
        return statement


def grant(
    sid: str,
    serves: Sequence[str],
    actions: Sequence[str],
    resources: Sequence[str],
    condition: Condition | None = None,
    why: str = "",
) -> Grant:
    """A :class:`Grant` from lists (the table reads better without tuple()s)."""
    return Grant(sid, tuple(serves), tuple(actions), tuple(resources), condition, why)


def tag_actions(service: str) -> tuple[str, str]:
    """A service's two tagging actions (every guard resource is tagged)."""
    return f"{service}:TagResource", f"{service}:UntagResource"


def policy_of(grants: Sequence[Grant]) -> dict[str, Any]:
    """An IAM policy document with one statement per grant."""
    return {"Version": POLICY_VERSION, "Statement": [g.statement() for g in grants]}


def _size(document: dict[str, Any]) -> int:
    return len(json.dumps(document, separators=(",", ":")))


def policy_parts(
    grants: Sequence[Grant], limit: int = MAX_MANAGED_POLICY_CHARS
) -> list[dict[str, Any]]:
    """The grants as few managed policy documents as fit IAM's size limit, in table order."""
    parts: list[list[Grant]] = [[]]
    for grant in grants:
        if parts[-1] and _size(policy_of([*parts[-1], grant])) > limit:
            parts.append([])
        parts[-1].append(grant)
        if _size(policy_of(parts[-1])) > limit:
            raise ValueError(f"grant {grant.sid} alone is over IAM's {limit} characters")
    return [policy_of(part) for part in parts if part]
