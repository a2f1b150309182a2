"""A web ACL above 5,000 WCU is rejected by AWS: catch it before the deploy does."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, ResourceValidationArgs, Severity

from guard.waf_rules import MAX_WCU
from policies.framework import WEB_ACL, Meta, Report, resource_policy
from policies.wcu import web_acl_wcu

META = Meta(
    name="waf-capacity-limit",
    description=f"A web ACL uses at most {MAX_WCU} WCU (AWS's hard limit).",
    severity=Severity.HIGH,
    enforcement=EnforcementLevel.MANDATORY,
    remediation="drop a managed group, a marketplace group or an exclusion from the product's WAF.",
)


def check(args: ResourceValidationArgs, report: Report) -> None:
    wcu = web_acl_wcu(args.props)
    if wcu is not None and wcu > MAX_WCU:
        report(
            f"web ACL {args.props.get('name', args.name)} needs {wcu} WCU; AWS allows {MAX_WCU}.",
            None,
        )


POLICY = resource_policy(META, [WEB_ACL], check)
