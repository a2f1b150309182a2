"""Advisory: a web ACL above 1,500 WCU costs extra for every 500 WCU."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, ResourceValidationArgs, Severity

from guard.waf_rules import INCLUDED_WCU
from policies.framework import WEB_ACL, Meta, Report, resource_policy
from policies.wcu import web_acl_wcu

META = Meta(
    name="waf-capacity-cost",
    description=f"A web ACL above {INCLUDED_WCU} WCU is charged extra per request.",
    severity=Severity.LOW,
    enforcement=EnforcementLevel.ADVISORY,
    remediation="check that every group earns its WCU; move rarely matching groups to count or drop them.",
)


def check(args: ResourceValidationArgs, report: Report) -> None:
    wcu = web_acl_wcu(args.props)
    if wcu is not None and wcu > INCLUDED_WCU:
        report(
            f"web ACL {args.props.get('name', args.name)} uses {wcu} WCU, over the {INCLUDED_WCU} "
            "included in the base price.",
            None,
        )


POLICY = resource_policy(META, [WEB_ACL], check)
