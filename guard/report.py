"""Render a plan for people (text, markdown for pull requests) and for tools (JSON contract)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from guard.plan import PlanResult, ResourceRecord
from guard.policy_run import PolicyOutcome
from guard.waf_rules import INCLUDED_WCU, statement_wcu

WEB_ACL = "aws:wafv2/webAcl:WebAcl"
ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"


@dataclass(frozen=True)
class RuleLine:
    """One rule of a web ACL as a reviewer reads it."""

    priority: int
    name: str
    action: str
    what: str


def _action_of(rule: Mapping[str, Any]) -> str:
    if "Action" in rule:
        return next(iter(rule["Action"])).lower()
    override = next(iter(rule.get("OverrideAction", {"None": {}})))
    return "count" if override == "Count" else "group actions"


def _describe(statement: Mapping[str, Any]) -> str:
    ((kind, body),) = statement.items()
    if kind == "RateBasedStatement":
        key = (
            "IP"
            if body["AggregateKeyType"] == "IP"
            else body.get("ForwardedIPConfig", {}).get("HeaderName", "")
        )
        text = f"over {body['Limit']} requests / {body.get('EvaluationWindowSec', 300)} s per {key}"
        scope = body.get("ScopeDownStatement")
        return text + (f" on {_describe(scope)}" if scope else "")
    if kind == "ByteMatchStatement":
        return f"paths starting {body['SearchString']}"
    if kind == "IPSetReferenceStatement":
        return "IP set"
    if kind == "ManagedRuleGroupStatement":
        counted = [o["Name"] for o in body.get("RuleActionOverrides", [])]
        suffix = f" (counting {', '.join(counted)})" if counted else ""
        return f"{body['VendorName']} {body['Name']}{suffix}"
    if kind == "RuleGroupReferenceStatement":
        return f"rule group {body['ARN'].split('/')[-2]}"
    if kind == "LabelMatchStatement":
        return f"label {body['Key'].rsplit(':', 1)[-1]}"
    if kind == "NotStatement":
        return f"not {_describe(body['Statement'])}"
    if kind in ("AndStatement", "OrStatement"):
        joiner = " and " if kind == "AndStatement" else " or "
        return joiner.join(_describe(s) for s in body["Statements"])
    return kind


def rule_lines(web_acl: ResourceRecord) -> list[RuleLine]:
    rules = json.loads(web_acl.inputs.get("ruleJson") or "[]")
    return [
        RuleLine(r["Priority"], r["Name"], _action_of(r), _describe(r["Statement"])) for r in rules
    ]


def web_acl_wcu(web_acl: ResourceRecord, plan: PlanResult) -> int:
    product = next(
        p for p in plan.loaded.config.products if p.name == web_acl.inputs["tags"]["product"]
    )
    rules = json.loads(web_acl.inputs.get("ruleJson") or "[]")
    return sum(statement_wcu(r["Statement"], product) for r in rules)


@dataclass(frozen=True)
class EndpointView:
    product: str
    endpoint: str
    kind: str
    arn: str
    web_acl: ResourceRecord | None
    associated: bool


def endpoint_views(plan: PlanResult) -> list[EndpointView]:
    acls = {
        (r.inputs.get("tags", {}).get("product"), r.inputs.get("scope")): r
        for r in plan.resources
        if r.type == WEB_ACL
    }
    associated = {r.inputs.get("resourceArn") for r in plan.resources if r.type == ASSOCIATION}
    views = []
    for product in plan.loaded.config.products:
        for endpoint in product.endpoints:
            scope = "REGIONAL" if endpoint.kind == "alb" else "CLOUDFRONT"
            views.append(
                EndpointView(
                    product.name,
                    endpoint.name,
                    endpoint.kind,
                    endpoint.arn,
                    acls.get((product.name, scope)),
                    endpoint.arn in associated,
                )
            )
    return views


PROTECTION = "aws:shield/protection:Protection"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
ROLE = "aws:iam/role:Role"


def shield_line(view: EndpointView, plan: PlanResult) -> str:
    """What Shield Advanced does for an endpoint, read from the recorded resources."""
    protected = any(
        r.type == PROTECTION and r.inputs.get("resourceArn") == view.arn for r in plan.resources
    )
    if not protected:
        return "not protected by Shield Advanced"
    alarms = [
        r
        for r in plan.resources
        if r.type == ALARM
        and r.inputs.get("namespace") == "AWS/DDoSProtection"
        and (r.inputs.get("dimensions") or {}).get("ResourceArn") == view.arn
    ]
    if not alarms:
        return "Shield Advanced protection, NO DDoS alarm"
    alarm = alarms[0]
    return f"Shield Advanced protection, DDoS alarm {alarm.inputs.get('name')} ({alarm.region})"


def _is_ci_role(record: ResourceRecord, stack: str) -> bool:
    if record.type != ROLE:
        return False
    pipeline = str(record.inputs.get("name", "")).startswith(f"guard-{stack}-pipeline-")
    return pipeline or "guard:ci" in (record.inputs.get("tags") or {})


def ci_role_lines(plan: PlanResult) -> list[str]:
    """Each role trusted by a CI provider, with the token subjects it accepts."""
    lines = []
    for role in plan.resources:
        if not _is_ci_role(role, plan.stack):
            continue
        document = json.loads(role.inputs.get("assumeRolePolicy") or "{}")
        subjects: list[str] = []
        for statement in document.get("Statement", []):
            for operator, conditions in (statement.get("Condition") or {}).items():
                if operator.startswith("StringNot"):
                    continue
                for key, values in conditions.items():
                    if key.endswith(":sub"):
                        subjects += values if isinstance(values, list) else [values]
        lines.append(f"{role.inputs.get('name')}: {', '.join(subjects) or 'no sub condition'}")
    return lines


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


def _hand_off(view: EndpointView) -> str:
    if view.kind == "alb":
        return "associated" if view.associated else "NOT ASSOCIATED"
    return f"exported as cloudfront_web_acls[{view.product}/{view.endpoint}]"


def _sections(plan: PlanResult) -> Iterable[tuple[str, EndpointView, list[RuleLine], int]]:
    for view in endpoint_views(plan):
        if view.web_acl is None:
            yield "", view, [], 0
        else:
            yield (
                view.web_acl.inputs["name"],
                view,
                rule_lines(view.web_acl),
                web_acl_wcu(view.web_acl, plan),
            )


def render_text(plan: PlanResult, extra_sections: Iterable[str] = ()) -> str:
    out = [f"guard plan: stack {plan.stack} ({len(plan.resources)} resources)", ""]
    out += list(extra_sections)
    for acl_name, view, rules, wcu in _sections(plan):
        out.append(f"{view.product}/{view.endpoint} ({view.kind}) {view.arn}")
        if not acl_name:
            out += ["  no web ACL", ""]
            continue
        out.append(f"  web ACL {acl_name}: {wcu} / {INCLUDED_WCU} WCU, {_hand_off(view)}")
        out.append(f"  {shield_line(view, plan)}")
        width = max(len(r.name) for r in rules) if rules else 0
        for rule in rules:
            out.append(
                f"    {rule.priority:>4}  {rule.name:<{width}}  {rule.action:<13}  {rule.what}"
            )
        out.append("")
    roles = ci_role_lines(plan)
    if roles:
        out.append("CI roles (trusted token subjects):")
        out += [f"  {line}" for line in roles]
        out.append("")
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
    out += [
        "| product / endpoint | kind | web ACL | WCU | hand-off | Shield Advanced |",
        "|---|---|---|---|---|---|",
    ]
    sections = list(_sections(plan))
    for acl_name, view, _, wcu in sections:
        acl = f"`{acl_name}`" if acl_name else "**none**"
        out.append(
            f"| {view.product}/{view.endpoint} | {view.kind} | {acl} | {wcu} / {INCLUDED_WCU} "
            f"| {_hand_off(view)} | {shield_line(view, plan)} |"
        )
    out.append("")
    shown: set[str] = set()
    for acl_name, _view, rules, _ in sections:
        if not acl_name or acl_name in shown:
            continue
        shown.add(acl_name)
        out += [
            f"<details><summary><code>{acl_name}</code>: {len(rules)} rules</summary>",
            "",
            "| priority | rule | action | matches |",
            "|---:|---|---|---|",
        ]
        out += [f"| {r.priority} | `{r.name}` | {r.action} | {r.what} |" for r in rules]
        out += ["", "</details>", ""]
    roles = ci_role_lines(plan)
    if roles:
        out += ["**CI roles** (token subjects each role trusts)", ""]
        out += [f"- `{line.split(': ', 1)[0]}`: {line.split(': ', 1)[1]}" for line in roles]
        out.append("")
    boundary = boundary_line(plan)
    if boundary:
        out += [f"**IAM**: {boundary}", ""]
    warnings = plan.loaded.warnings
    out.append(f"**Warnings ({len(warnings)})**" if warnings else "No warnings.")
    out += [f"- {w}" for w in warnings]
    return "\n".join(out) + "\n"


def render_json(plan: PlanResult, extra: Mapping[str, Any] | None = None) -> str:
    document: dict[str, Any] = {
        "project": plan.project,
        "stack": plan.stack,
        "resources": [r.to_json() for r in plan.resources],
        "outputs": plan.outputs,
        "warnings": list(plan.loaded.warnings),
    }
    document.update(extra or {})
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def policy_sections(outcome: PolicyOutcome, *, markdown: bool) -> list[str]:
    """The policy findings and waived findings, shown before anything else."""
    mandatory = [v for v in outcome.violations if v.mandatory]
    advisory = [v for v in outcome.violations if not v.mandatory]
    verdict = (
        f"{len(mandatory)} mandatory violation(s): this change must not be deployed"
        if mandatory
        else "all mandatory policies pass"
    )
    if markdown:
        out = [f"**Policies: {verdict}; {len(advisory)} advisory.**", ""]
        if outcome.violations:
            out += ["| level | severity | policy | resource | message |", "|---|---|---|---|---|"]
            out += [
                f"| {v.enforcement_level} | {v.severity} | `{v.policy}` | `{v.urn.rsplit('::', 1)[-1]}` | {v.message} |"
                for v in outcome.violations
            ]
            out.append("")
        if outcome.exceptions:
            out += [
                "**Policy exceptions applied**",
                "",
                "| policy | resource | reason | expires |",
                "|---|---|---|---|",
            ]
            out += [
                f"| `{e['policy']}` | `{e['urn'].rsplit('::', 1)[-1]}` | {e['reason']} | {e['expires']} |"
                for e in outcome.exceptions
            ]
            out.append("")
        return out
    out = [f"policies: {verdict}; {len(advisory)} advisory"]
    out += [
        f"  {v.enforcement_level.upper():<9} {v.severity:<8} {v.policy}: {v.message}\n    at {v.urn}"
        for v in outcome.violations
    ]
    out += [
        f"  EXCEPTION {e['policy']} waived for {e['urn']} until {e['expires']}: {e['reason']}"
        for e in outcome.exceptions
    ]
    return [*out, ""]
