"""Advisory: counting rules and blocklist entries carry an end date, and it has not passed.

Count-then-block only protects once it ends; a blocklist entry nobody revisits blocks forever.
"""

from __future__ import annotations

from datetime import date

from pulumi_policy import EnforcementLevel, Severity, StackValidationArgs

from guard.config.products import WafConfig
from guard.waf_rules import owner_tags, waf_owner
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
        owner_tags(r.props.get("tags")): r.urn for r in args.resources if r.resource_type == WEB_ACL
    }
    for product in loaded.config.products:
        for profile, waf in product.all_wafs():
            urn = acl_urns.get((product.name, profile))
            where = waf_owner(product.name, profile)
            for what, until in _time_boxed(waf):
                _judge(f"{where}: {what}", until, report, urn)


def _time_boxed(waf: WafConfig) -> list[tuple[str, date | None]]:
    """What counts or blocks only for a while, with the day it ends (None: no end given)."""
    found: list[tuple[str, date | None]] = []
    if waf.mode == "count":
        found.append(("waf.mode count", waf.count_until))
    for ref in waf.managed_rules:
        if ref.mode == "count":
            found.append((f"managed group {ref.key} mode count", ref.count_until))
        elif ref.count_rules:
            counted = f"count_rules {', '.join(ref.count_rules)}"
            found.append((f"managed group {ref.key} {counted}", ref.count_until))
    found += [
        (f"rate limit {limit.name} counting", limit.count_until)
        for limit in waf.rate_limits
        if limit.action == "count"
    ]
    found += [
        (f"external group {group.name} counting", group.count_until)
        for group in waf.external_rule_groups
        if group.mode == "count"
    ]
    found += [(f"blocklist entry {entry.cidr}", entry.expires) for entry in waf.ip_blocklist]
    return found


POLICY = stack_policy(META, check)
