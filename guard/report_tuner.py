"""The WAF tuners part of a plan: each tuning service's role, who may assume it, and what it
may edit and read, read from the recorded role and its policy (what ``pulumi up`` would send)."""

from __future__ import annotations

from typing import Any

from guard import resource_types as rt
from guard.iam_eval import as_list, statements_in
from guard.report_sections import Item, PlanIndex, Section, input_of, json_of
from guard.tuner_policy import TUNER_TAG


def _strings(value: Any) -> list[str]:
    return [str(v) for v in as_list(value)]


def _trust(role: Any) -> str:
    """``arn:aws:iam::123456789012:root with the external ID`` per Allow of the trust."""
    parts = []
    for statement in statements_in(json_of(role.inputs.get("assumeRolePolicy")) or {}):
        if statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal")
        who = ", ".join(_strings(principal.get("AWS"))) if isinstance(principal, dict) else "?"
        equals = (statement.get("Condition") or {}).get("StringEquals") or {}
        parts.append(
            f"{who} with the external ID (a secret)"
            if "sts:ExternalId" in equals
            else f"{who} WITHOUT an external ID"
        )
    return "; ".join(parts) or "[secret] (the trust holds the external ID)"


def _grants(ix: PlanIndex, role_name: str) -> list[Item]:
    """What the role's inline policy lets it do, one line per statement."""
    items = []
    for policy in ix.of(rt.ROLE_POLICY):
        if policy.inputs.get("role") != role_name:
            continue
        for statement in statements_in(json_of(policy.inputs.get("policy")) or {}):
            actions = _strings(statement.get("Action"))
            resources = [r.rsplit(":", 1)[-1] for r in _strings(statement.get("Resource"))]
            prefixes = ((statement.get("Condition") or {}).get("StringLike") or {}).get("s3:prefix")
            where = ", ".join(_strings(prefixes) or resources)
            items.append((str(statement.get("Sid", "?")), f"{', '.join(actions)} on {where}"))
    return items


def tuner_section(ix: PlanIndex) -> Section | None:
    """One section for the stack's tuner roles; None when the stack has none."""
    roles = [r for r in ix.of(rt.ROLE) if TUNER_TAG in (r.inputs.get("tags") or {})]
    if not roles:
        return None
    section = Section("WAF tuners")
    for role in roles:
        name = input_of(role, "name")
        service = str(role.inputs["tags"][TUNER_TAG])
        section.fact(
            f"role {name}",
            f"assumed by {_trust(role)}; register its ARN (output tuner_roles.{service})",
        )
        section.listing(f"{name} may", _grants(ix, name), empty="nothing (no policy)")
    return section
