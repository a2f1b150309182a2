"""Render a plan for people (text, markdown for pull requests) and for tools (JSON contract)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from guard.diff_policy import where
from guard.plan import PlanResult
from guard.policy_run import PolicyOutcome
from guard.report_account import account_sections
from guard.report_costs import plan_estimate, render_costs_markdown, render_costs_text
from guard.report_waf import render_waf_markdown, render_waf_text, waf_annotations
from guard.resource_types import ROLE


def boundary_line(plan: PlanResult) -> str | None:
    """How many of the stack's roles carry its permissions boundary (None without roles)."""
    roles = [r for r in plan.resources if r.type == ROLE]
    if not roles:
        return None
    name = f"guard-{plan.stack}-boundary"
    bounded = sum(
        1 for r in roles if str(r.inputs.get("permissionsBoundary", "")).endswith(f":policy/{name}")
    )
    return (
        f"permissions boundary {name} on {bounded} of {len(roles)} roles; it, the pipeline roles "
        "and the OIDC providers change only by an administrator (docs/ci.md)"
    )


def render_text(plan: PlanResult, extra_sections: Iterable[str] = ()) -> str:
    out = [f"guard plan: stack {plan.stack} ({len(plan.resources)} resources)", ""]
    out += list(extra_sections)
    out += render_waf_text(plan)
    out += account_sections(plan, markdown=False)
    out += render_costs_text(plan_estimate(plan))
    boundary = boundary_line(plan)
    if boundary:
        out += [f"IAM: {boundary}", ""]
    warnings = plan.loaded.warnings
    out.append(f"warnings ({len(warnings)}):" if warnings else "warnings: none")
    out += [f"  - {w}" for w in warnings]
    return "\n".join(out) + "\n"


def render_markdown(plan: PlanResult, extra_sections: Iterable[str] = ()) -> str:
    out = [f"<!-- guard-plan:{plan.stack} -->", f"## guard plan: `{plan.stack}`", ""]
    out += list(extra_sections)
    out += render_waf_markdown(plan)
    out += account_sections(plan, markdown=True)
    out += render_costs_markdown(plan_estimate(plan))
    boundary = boundary_line(plan)
    if boundary:
        out += [f"**IAM**: {boundary}", ""]
    warnings = plan.loaded.warnings
    out.append(f"**Warnings ({len(warnings)})**" if warnings else "No warnings.")
    out += [f"- {w}" for w in warnings]
    return "\n".join(out) + "\n"


def render_json(plan: PlanResult, extra: Mapping[str, Any] | None = None) -> str:
    resources = [r.to_json() for r in plan.resources]
    annotations = waf_annotations(plan)
    document: dict[str, Any] = {
        "project": plan.project,
        "stack": plan.stack,
        "resources": resources,
        "outputs": plan.outputs,
        "warnings": list(plan.loaded.warnings),
        # What no input holds (reasons, expiry, a tuner's band), for guard diff; not deployed.
        "annotations": annotations,
        # The monthly estimate (README, "Costs"): lines, totals, assumptions, prices.
        "costs": plan_estimate(plan, resources, annotations).to_json(),
    }
    document.update(extra or {})
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def policy_sections(outcome: PolicyOutcome, *, markdown: bool) -> list[str]:
    """The policy findings, then the waived ones (each once, with what it waived, the reason
    and the expiry), shown before anything else."""
    mandatory = [v for v in outcome.violations if v.mandatory]
    advisory = [v for v in outcome.violations if not v.mandatory]
    verdict = (
        f"{len(mandatory)} mandatory violation(s): this change must not be deployed"
        if mandatory
        else "all mandatory policies pass"
    )
    waived = f"; {len(outcome.exceptions)} waived" if outcome.exceptions else ""
    if markdown:
        out = [f"**Policies: {verdict}; {len(advisory)} advisory{waived}.**", ""]
        if outcome.violations:
            out += ["| level | severity | policy | resource | message |", "|---|---|---|---|---|"]
            out += [
                f"| {v.enforcement_level} | {v.severity} | `{v.policy}` | `{where(v.urn)}` | {v.message} |"
                for v in outcome.violations
            ]
            out.append("")
        if outcome.exceptions:
            out += [
                "**Waived by reviewed exceptions**",
                "",
                "| policy | resource | finding | exception | reason | expires |",
                "|---|---|---|---|---|---|",
            ]
            out += [
                f"| `{e['policy']}` | `{where(e['urn'])}` | {e['message']} | `{e['resource']}` "
                f"| {e['reason']} | {e['expires']} |"
                for e in outcome.exceptions
            ]
            out.append("")
        return out
    out = [f"policies: {verdict}; {len(advisory)} advisory{waived}"]
    out += [
        f"  {v.enforcement_level.upper():<9} {v.severity:<8} {v.policy}: {v.message}\n"
        f"    at {where(v.urn)}"
        for v in outcome.violations
    ]
    out += [
        f"  WAIVED    {e['policy']} on {where(e['urn'])}: {e['message']}\n"
        f"    by exception {e['resource']} until {e['expires']}: {e['reason']}"
        for e in outcome.exceptions
    ]
    return [*out, ""]
