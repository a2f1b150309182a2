"""Advisory: counting rules and blocklist entries carry an end date, and it has not passed.

Count-then-block only protects once it ends; a blocklist entry nobody revisits blocks forever.
"""

from __future__ import annotations

from datetime import date

from pulumi_policy import EnforcementLevel, Severity, StackValidationArgs

from guard.config.products import WafConfig
from guard.waf_rules import PROFILE_TAG
from policies.framework import WEB_ACL, Meta, Report, stack_config, stack_policy, today

META = Meta(
    name="waf-staged-rollout-expiry",
    description="A product or rule group in count mode, a rule in count_rules, a counting rate "
    "limit or a blocklist entry has an expiry date (count_until / expires) that has not passed.",
    severity=Severity.MEDIUM,
    enforcement=EnforcementLevel.ADVISORY,
    remediation="set count_until (or expires) to the day the rollout ends; switch to block, or "
    "remove the entry, when it passes.",
)


def _judge(what: str, until: date | None, report: Report, urn: str | None) -> None:
    if until is None:
        report(f"{what} has no end date.", urn)
    elif until < today():
        report(f"{what} ended on {until.isoformat()}.", urn)


def check(args: StackValidationArgs, report: Report) -> None:
    loaded = stack_config()
    if loaded is None:
        return
    acl_urns = {
        (
            (r.props.get("tags") or {}).get("product"),
            (r.props.get("tags") or {}).get(PROFILE_TAG),
        ): (r.urn)
        for r in args.resources
        if r.resource_type == WEB_ACL
    }
    for product in loaded.config.products:
        for profile, waf in product.all_wafs():
            urn = acl_urns.get((product.name, profile))
            where = product.name if profile is None else f"{product.name}/{profile}"
            _judge_waf(where, waf, report, urn)


def _judge_waf(product: str, waf: WafConfig, report: Report, urn: str | None) -> None:
    if waf.mode == "count":
        _judge(f"{product}: waf.mode count", waf.count_until, report, urn)
    for ref in waf.managed_rules:
        if ref.mode == "count" or ref.count_rules:
            counted = (
                "mode count" if ref.mode == "count" else f"count_rules {', '.join(ref.count_rules)}"
            )
            _judge(
                f"{product}: managed group {ref.key} {counted}",
                ref.count_until,
                report,
                urn,
            )
    for limit in waf.rate_limits:
        if limit.action == "count":
            _judge(
                f"{product}: rate limit {limit.name} counting",
                limit.count_until,
                report,
                urn,
            )
    for group in waf.external_rule_groups:
        if group.mode == "count":
            _judge(
                f"{product}: external group {group.name} counting",
                group.count_until,
                report,
                urn,
            )
    for entry in waf.ip_blocklist:
        _judge(f"{product}: blocklist entry {entry.cidr}", entry.expires, report, urn)


POLICY = stack_policy(META, check)
