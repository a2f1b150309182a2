"""An allowlist-only web ACL (default action block) has a rule that allows something."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, ResourceValidationArgs, Severity

from policies.framework import (
    WEB_ACL,
    Meta,
    Report,
    blocks_by_default,
    resource_policy,
    web_acl_rules,
)

META = Meta(
    name="waf-allowlist-only-allows",
    description="A web ACL whose default action is block has at least one rule whose action is "
    "allow; without one it blocks every request, the office's included.",
    severity=Severity.HIGH,
    enforcement=EnforcementLevel.MANDATORY,
    remediation="add the CIDRs that may reach the endpoint to waf.ip_allowlist, or set "
    "waf.default_action: allow.",
)


def check(args: ResourceValidationArgs, report: Report) -> None:
    if not blocks_by_default(args.props):
        return
    if any("Allow" in (rule.get("Action") or {}) for rule in web_acl_rules(args.props)):
        return
    report(
        f"web ACL {args.props.get('name', args.name)} blocks by default and allows nothing: "
        "every request is blocked.",
        None,
    )


POLICY = resource_policy(META, [WEB_ACL], check)
