"""An allowlist-only web ACL (default action block) has a rule that allows something."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, Severity

from policies.framework import Meta, Report, blocks_by_default
from policies.web_acls import WebAclView, web_acl_policy

META = Meta(
    name="waf-allowlist-only-allows",
    description="A web ACL whose default action is block has at least one rule whose action is "
    "allow; without one it blocks every request, the office's included.",
    severity=Severity.HIGH,
    enforcement=EnforcementLevel.MANDATORY,
    remediation="add the CIDRs that may reach the endpoint to waf.ip_allowlist, or set "
    "waf.default_action: allow.",
)


def check(acl: WebAclView, report: Report) -> None:
    if not blocks_by_default(acl.props):
        return
    if any("Allow" in (rule.get("Action") or {}) for rule in acl.rules):
        return
    report(
        f"web ACL {acl.name} blocks by default and allows nothing{acl.unseen()}: every request "
        "is blocked."
    )


POLICY = web_acl_policy(META, check)
