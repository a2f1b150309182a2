"""Every web ACL has at least one rate-based rule (the first line against floods and brute force)."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, Severity

from policies.framework import Meta, Report, blocks_by_default, statements
from policies.web_acls import WebAclView, web_acl_policy

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


def check(acl: WebAclView, report: Report) -> None:
    if blocks_by_default(acl.props):
        return  # allowlist-only: no request outside the allowlist reaches the application
    for rule in acl.rules:
        if any(kind == "RateBasedStatement" for kind, _ in statements(rule.get("Statement", {}))):
            return
    report(f"web ACL {acl.name} has no rate-based rule{acl.unseen()}.")


POLICY = web_acl_policy(META, check)
