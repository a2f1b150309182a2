"""``guard audit``'s output: text for people, markdown for an issue, JSON for tools, and the short
AWS Chatbot custom notification the weekly run posts to the normal Slack route."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from guard.audit_checks import Audit

#: How many rows of a long list the text and markdown show (JSON has them all).
SHOWN = 25


def render_json(result: Audit) -> str:
    return json.dumps(result.to_json(), indent=2, sort_keys=False, default=str) + "\n"


def _verdict(result: Audit) -> str:
    if not result.gaps:
        return "no gaps"
    return f"{len(result.gaps)} gap{'s' if len(result.gaps) != 1 else ''}"


def _board_lines(result: Audit) -> list[str]:
    hub = result.findings["securityhub"]
    lines = []
    if hub.get("note"):
        lines.append(f"Security Hub: {hub['note']}")
    else:
        age = f", oldest {hub['oldest_days']} days" if hub["oldest_days"] is not None else ""
        lines.append(
            f"Security Hub: {hub['critical']} critical, {hub['high']} high, {hub['medium']} medium, "
            f"{hub['low']} low, {hub['informational']} informational ({hub['total']} active{age})"
        )
        trend = hub.get("trend")
        if trend:
            moves = ", ".join(
                f"{key} {trend[key]['before']} → {trend[key]['now']}"
                for key in ("critical", "high", "total")
            )
            lines.append(f"  since {trend['since']}: {moves}")
        for row in hub["by_control"][:SHOWN]:
            lines.append(
                f"  {row['control']}: {row['count']} ({row['critical']} critical, {row['high']} high)"
            )
        if len(hub["by_control"]) > SHOWN:
            lines.append(f"  … and {len(hub['by_control']) - SHOWN} more controls")
    for control in hub["disabled_controls"]:
        lines.append(f"  disabled by the stack: {control['control']} ({control['reason']})")
    duty = result.findings["guardduty"]
    if duty.get("note"):
        lines.append(f"GuardDuty: {duty['note']}")
    else:
        lines.append(
            f"GuardDuty: {duty['critical']} critical, {duty['high']} high, {duty['medium']} medium, "
            f"{duty['low']} low"
        )
    advisor = result.findings["trusted_advisor"]
    note = result.findings.get("trusted_advisor_note")
    if note:
        lines.append(f"Trusted Advisor: {note}")
    else:
        lines.append(f"Trusted Advisor: {len(advisor)} checks in warning or error")
        for check in advisor[:SHOWN]:
            lines.append(
                f"  {check['status']}: {check['name']} ({check['category']}, "
                f"{check['flagged']} flagged)"
            )
    return lines


def _shield_lines(result: Audit) -> list[str]:
    shield = result.shield
    subscription = shield["subscription"]
    if subscription is None:
        head = "Shield Advanced: no subscription"
    else:
        state = "active" if subscription["active"] else "ENDED"
        head = (
            f"Shield Advanced: subscription {state} until {subscription['end_time'] or '?'}, "
            f"auto-renew {subscription['auto_renew'] or '?'}, SRT role {shield['srt_role'] or 'none'}, "
            f"proactive engagement {shield['proactive_engagement'] or 'not set'}"
        )
    protected = sum(1 for p in shield["protections"] if p["protected"])
    return [head, f"  {protected} of {len(shield['protections'])} planned protections in place"]


def _waf_lines(result: Audit) -> list[str]:
    ok = sum(1 for row in result.waf if row["status"] == "ok")
    lines = [f"WAF: {ok} of {len(result.waf)} planned endpoints have their planned web ACL"]
    for row in result.waf:
        if row["status"] in ("ok", "not-planned") and row["logging"] is not False:
            continue
        logging = "" if row["logging"] is not False else ", not logged"
        lines.append(
            f"  {row['product']}/{row['endpoint']}: {row['actual_web_acl'] or 'no web ACL'} "
            f"(planned {row['expected_web_acl']}){logging}"
        )
    return lines


def _access_log_lines(result: Audit) -> list[str]:
    """Where the planned ALBs' access logs go; nothing without guard:logs.alb."""
    rows = result.alb_access_logs
    if rows is None:
        return []
    ok = sum(1 for row in rows if row["status"] == "ok")
    lines = [f"ALB access logs: {ok} of {len(rows)} planned ALBs log to the stack's bucket"]
    for row in rows:
        if row["status"] == "ok":
            continue
        where = f"{row['bucket'] or ''}/{row['prefix'] or ''}"
        state = "off" if row["status"] == "off" else f"elsewhere: {where}"
        expected = f"{row['expected']['bucket']}/{row['expected']['prefix']}"
        lines.append(f"  {row['product']}/{row['endpoint']}: {state} (expected {expected})")
    return lines


def _coverage_lines(result: Audit) -> list[str]:
    coverage = result.coverage
    lines = [
        f"Coverage: {coverage['covered']} covered, {len(coverage['uncovered'])} uncovered, "
        f"{len(coverage['gone'])} gone"
    ]
    for item in coverage["uncovered"][:SHOWN]:
        tags = ", ".join(f"{k}={v}" for k, v in item["tags"].items()) or "no tags"
        lines.append(
            f"  uncovered {item['kind']} {item['name']} ({item['dns_name']}, {item['region']}): "
            f"{item['web_acl'] or 'no web ACL'}; {tags}"
        )
        lines.append(f"    {item['arn']}")
    if len(coverage["uncovered"]) > SHOWN:
        lines.append(f"  … and {len(coverage['uncovered']) - SHOWN} more (see --format json)")
    for item in coverage["gone"]:
        lines.append(f"  gone {item['product']}/{item['endpoint']}: {item['arn']}")
    return lines


def render_text(result: Audit) -> str:
    head = (
        f"guard audit: stack {result.stack}, account {result.account}, "
        f"regions {', '.join(result.regions)}, {result.generated_at}: {_verdict(result)}"
    )
    sections = [
        _coverage_lines(result),
        _waf_lines(result),
        _access_log_lines(result),
        _shield_lines(result),
        _board_lines(result),
    ]
    lines = [head]
    for section in sections:
        if section:  # ALB access logs only with guard:logs.alb
            lines += ["", *section]
    if result.gaps:
        lines += ["", "Gaps:"] + [f"  [{g.kind}] {g.subject}: {g.detail}" for g in result.gaps]
    return "\n".join(lines) + "\n"


def _md_escape(text: str) -> str:
    """A table cell: names and tags come from the account, so no HTML and no broken rows."""
    return (
        text.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace("|", "\\|")
        .replace("\n", " ")
    )


def _fenced(lines: list[str]) -> list[str]:
    """A code block whose fence is longer than any backtick run inside it."""
    longest = max((len(run) for line in lines for run in re.findall(r"`+", line)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence, *lines, fence]


def _table(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> list[str]:
    head = list(header)
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(_md_escape(str(cell)) for cell in row) + " |" for row in rows]
    return out


def render_markdown(result: Audit) -> str:
    hub = result.findings["securityhub"]
    lines = [
        f"## guard audit: `{result.stack}` ({_verdict(result)})",
        "",
        f"Account `{result.account}`, regions {', '.join(result.regions)}, as of "
        f"{result.generated_at}.",
        "",
    ]
    if result.gaps:
        lines += ["### Gaps", ""]
        lines += _table(
            ("kind", "subject", "detail"),
            ((g.kind, f"`{g.subject}`", g.detail) for g in result.gaps[:100]),
        )
        if len(result.gaps) > 100:
            lines.append(f"\n… and {len(result.gaps) - 100} more gaps (see the JSON)")
        lines.append("")
    lines += ["### Findings board", ""]
    lines += [f"- {line.strip()}" for line in _board_lines(result) if not line.startswith("  ")]
    if hub.get("by_control"):
        lines += ["", "<details><summary>Security Hub by control</summary>", ""]
        lines += _table(
            ("control", "active", "critical", "high"),
            (
                (row["control"], row["count"], row["critical"], row["high"])
                for row in hub["by_control"][:100]
            ),
        )
        lines += ["", "</details>"]
    lines += ["", "### Coverage, WAF and Shield", ""]
    lines += _fenced(
        [
            *_coverage_lines(result),
            *_waf_lines(result),
            *_access_log_lines(result),
            *_shield_lines(result),
        ]
    )
    return "\n".join(lines) + "\n"


def chatbot_summary(result: Audit) -> dict[str, Any]:
    """The weekly summary as an AWS Chatbot custom notification (client-markdown)."""
    hub = result.findings["securityhub"]
    duty = result.findings["guardduty"]
    description = [
        f"*Gaps:* {len(result.gaps)}",
        f"*Uncovered endpoints:* {len(result.coverage['uncovered'])}",
        f"*Security Hub:* {hub.get('critical', 0)} critical, {hub.get('high', 0)} high",
        f"*GuardDuty:* {duty.get('critical', 0)} critical, {duty.get('high', 0)} high",
    ]
    kinds = sorted({g.kind for g in result.gaps})
    if kinds:
        description.append("*Kinds:* " + ", ".join(f"`{k}`" for k in kinds))
    return {
        "version": "1.0",
        "source": "custom",
        "content": {
            "textType": "client-markdown",
            "title": f":clipboard: guard audit of {result.stack}: {_verdict(result)}",
            "description": "\n".join(description),
            "nextSteps": ["Read the posture issue of this stack in the repository."],
            "keywords": ["guard audit", result.stack],
        },
        "metadata": {
            "threadId": f"guard-audit-{result.stack}",
            "summary": f"guard audit of {result.stack}: {_verdict(result)}",
            "eventType": "GuardAudit",
        },
    }
