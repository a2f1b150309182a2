"""Every web ACL has at least one rate-based rule (the first line against floods and brute force)."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, ResourceValidationArgs, Severity

from policies.framework import (
    WEB_ACL,
    Meta,
    Report,
    blocks_by_default,
    resource_policy,
    statements,
    web_acl_rules,
)

META = Meta(
    name="waf-rate-based-rule",
    description="Every web ACL whose default action is allow has at least one rate-based rule "
    "(an allowlist-only web ACL blocks everything else by default).",
    severity=Severity.HIGH,
    enforcement=EnforcementLevel.MANDATORY,
    remediation="add waf.rate_limits for the product's busiest or most sensitive flow "
    "(login, search, API).",
    control="Security Hub WAF.10",
)


def check(args: ResourceValidationArgs, report: Report) -> None:
    if blocks_by_default(args.props):
        return  # allowlist-only: no request outside the allowlist reaches the application
    rules = web_acl_rules(args.props)
    for rule in rules:
        if any(kind == "RateBasedStatement" for kind, _ in statements(rule.get("Statement", {}))):
            return
    report(f"web ACL {args.props.get('name', args.name)} has no rate-based rule.", None)


POLICY = resource_policy(META, [WEB_ACL], check)
