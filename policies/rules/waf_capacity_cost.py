"""Advisory: a web ACL above 1,500 WCU costs extra for every 500 WCU."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, Severity

from guard.waf_rules import INCLUDED_WCU
from policies.framework import Meta, Report
from policies.wcu import reserved, web_acl_wcu
from policies.web_acls import WebAclView, web_acl_policy

META = Meta(
    name="waf-capacity-cost",
    description=f"A web ACL above {INCLUDED_WCU} WCU is charged extra per request.",
    severity=Severity.LOW,
    enforcement=EnforcementLevel.ADVISORY,
    remediation="check that every group earns its WCU; move rarely matching groups to count or drop them.",
)


def check(acl: WebAclView, report: Report) -> None:
    wcu = web_acl_wcu(acl)
    if wcu is not None and wcu > INCLUDED_WCU:
        report(
            f"web ACL {acl.name} uses {wcu} WCU{reserved(acl)}, over the {INCLUDED_WCU} "
            "included in the base price."
        )


POLICY = web_acl_policy(META, check)
