"""A web ACL above 5,000 WCU is rejected by AWS: catch it before the deploy does."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, Severity

from guard.waf_rules import MAX_WCU
from policies.framework import Meta, Report
from policies.wcu import reserved, web_acl_wcu
from policies.web_acls import WebAclView, web_acl_policy

META = Meta(
    name="waf-capacity-limit",
    description=f"A web ACL uses at most {MAX_WCU} WCU (AWS's hard limit).",
    severity=Severity.HIGH,
    enforcement=EnforcementLevel.MANDATORY,
    remediation="drop a managed group, a marketplace group or an exclusion from the product's WAF.",
)


def check(acl: WebAclView, report: Report) -> None:
    wcu = web_acl_wcu(acl)
    if wcu is not None and wcu > MAX_WCU:
        report(f"web ACL {acl.name} needs {wcu} WCU{reserved(acl)}; AWS allows {MAX_WCU}.")


POLICY = web_acl_policy(META, check)
