"""Every web ACL blocks Log4j exploits (known bad inputs) and AWS's IP reputation list."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import EnforcementLevel, Severity

from guard.waf_catalog import IP_REPUTATION, KNOWN_BAD_INPUTS
from policies.framework import Meta, Report, blocks_by_default, statements
from policies.web_acls import WebAclView, web_acl_policy

META = Meta(
    name="waf-required-managed-groups",
    description="Every web ACL whose default action is allow includes "
    "AWSManagedRulesKnownBadInputsRuleSet with its Log4JRCE rules blocking (not overridden to "
    "count) and AWSManagedRulesAmazonIpReputationList, both not in count. waf.mode: count keeps "
    "both blocking; only a group's own mode: count counts them.",
    severity=Severity.HIGH,
    enforcement=EnforcementLevel.MANDATORY,
    remediation="list known-bad-inputs and ip-reputation in waf.managed_rules, without their own "
    "mode: count and without Log4JRCE rules in count_rules.",
    control="Checkov CKV_AWS_192",
)


def _group(
    rules: list[dict[str, Any]], name: str
) -> tuple[dict[str, Any], Mapping[str, Any]] | None:
    for rule in rules:
        for kind, body in statements(rule.get("Statement", {})):
            if (
                kind == "ManagedRuleGroupStatement"
                and body.get("VendorName") == "AWS"
                and body.get("Name") == name
            ):
                return rule, body
    return None


def _counts(rule: dict[str, Any]) -> bool:
    return "Count" in (rule.get("OverrideAction") or {})


def check(acl: WebAclView, report: Report) -> None:
    if blocks_by_default(acl.props):
        return  # allowlist-only: no request outside the allowlist reaches the application
    rules, name = acl.rules, acl.name
    bad_inputs = _group(rules, KNOWN_BAD_INPUTS)
    if bad_inputs is None:
        report(
            f"web ACL {name} lacks {KNOWN_BAD_INPUTS} (Log4j and other known exploits)"
            f"{acl.unseen()}."
        )
    else:
        rule, body = bad_inputs
        counted = [
            o.get("Name", "")
            for o in body.get("RuleActionOverrides", [])
            if "Count" in (o.get("ActionToUse") or {})
            and str(o.get("Name", "")).startswith("Log4JRCE")
        ]
        if _counts(rule):
            report(f"web ACL {name}: {KNOWN_BAD_INPUTS} only counts; Log4j exploits pass.")
        elif counted:
            report(f"web ACL {name}: {', '.join(counted)} set to count; Log4j exploits pass.")
    reputation = _group(rules, IP_REPUTATION)
    if reputation is None:
        report(f"web ACL {name} lacks {IP_REPUTATION}{acl.unseen()}.")
    elif _counts(reputation[0]):
        report(f"web ACL {name}: {IP_REPUTATION} only counts.")


POLICY = web_acl_policy(META, check)
