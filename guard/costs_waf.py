"""The WAF's cost drivers: per web ACL, its fee, its rules by kind, the requests it inspects,
capacity above 1,500 WCU and the paid managed rule groups; Shield Advanced includes the first
three for the resources it protects.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from guard.costs_view import PlanView, Resource
from guard.resource_types import (
    ASSOCIATION,
    SHIELD_TYPES,
    WEB_ACL,
    WEB_ACL_RULE,
)
from guard.waf_rules import INCLUDED_WCU

PROTECTION = SHIELD_TYPES["protection"]
#: WAF bills capacity above the included WCU in blocks of this many.
WCU_BLOCK = 500
#: Statement kinds, as a reader counts a web ACL's rules.
RULE_KINDS = {
    "ratebasedstatement": "rate-based rules",
    "managedrulegroupstatement": "managed rule groups",
    "rulegroupreferencestatement": "rule groups",
    "ipsetreferencestatement": "IP set rules",
}
#: The paid AWS managed rule groups guard prices, or names in a note.
BOT_CONTROL = "AWSManagedRulesBotControlRuleSet"
ATP = "AWSManagedRulesATPRuleSet"
ACFP = "AWSManagedRulesACFPRuleSet"


def _statement_kind(statement: Any) -> str:
    if isinstance(statement, Mapping) and statement:
        return RULE_KINDS.get(str(next(iter(statement))).lower(), "other rules")
    return "other rules"


def _lower_keys(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k).lower(): _lower_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_lower_keys(v) for v in value]
    return value


def web_acl_rules(view: PlanView, acl: Resource) -> list[Mapping[str, Any]]:
    """A web ACL's rules with lower-cased keys: its ``ruleJson``, or its WebAclRule children."""
    inputs = acl.get("inputs") or {}
    text = inputs.get("ruleJson")
    rules: list[Any] = []
    if isinstance(text, str):
        try:
            rules = list(json.loads(text))
        except ValueError:
            rules = []
    elif isinstance(inputs.get("rules"), list):
        rules = list(inputs["rules"])
    rules += [
        r.get("inputs") or {} for r in view.children[str(acl["urn"])] if r["type"] == WEB_ACL_RULE
    ]
    return [_lower_keys(rule) for rule in rules if isinstance(rule, Mapping)]


class ShieldCoverage:
    """Which web ACLs serve only resources that Shield Advanced protects.

    ALB web ACLs: every resource associated with them. CloudFront web ACLs are attached by the
    distribution, outside guard, so the product's protected distributions stand for them.
    """

    def __init__(self, view: PlanView) -> None:
        self.view = view
        self.protected = {
            str((p.get("inputs") or {}).get("resourceArn")) for p in view.of(PROTECTION)
        }
        self.cloudfront_products = {
            view.product(p)
            for p in view.of(PROTECTION)
            if str((p.get("inputs") or {}).get("resourceArn", "")).startswith("arn:aws:cloudfront:")
        }
        self.served: dict[str, list[str]] = defaultdict(list)
        for association in view.of(ASSOCIATION):
            inputs = association.get("inputs") or {}
            # A web ACL's ARN: arn:aws:wafv2:<region>:<account>:regional/webacl/<name>/<id>
            parts = str(inputs.get("webAclArn", "")).split("/")
            if len(parts) >= 3:
                self.served[parts[-2]].append(str(inputs.get("resourceArn")))

    def covers(self, acl: Resource) -> bool:
        inputs = acl.get("inputs") or {}
        if inputs.get("scope") == "CLOUDFRONT":
            return self.view.product(acl) in self.cloudfront_products
        served = self.served.get(str(inputs.get("name") or acl["name"]), [])
        return bool(served) and all(arn in self.protected for arn in served)


def _paid_groups(
    view: PlanView, acl: Resource, rules: list[Mapping[str, Any]], requests: int, assumption: str
) -> None:
    for rule in rules:
        group = (rule.get("statement") or {}).get("managedrulegroupstatement")
        if not isinstance(group, Mapping):
            continue
        vendor, name = str(group.get("vendorname", "")), str(group.get("name", ""))
        if vendor != "AWS":
            view.sink.note(
                f"{name} from {vendor} on {acl['name']}: an AWS Marketplace subscription, "
                "billed at the seller's price (not in AWS's price list)"
            )
        elif name == BOT_CONTROL:
            configs = json.dumps(group.get("managedrulegroupconfigs") or [])
            level = "targeted" if "TARGETED" in configs else "common"
            view.add(acl, f"waf.bot_control_{level}", f"Bot Control ({level}) subscription", 1)
            view.add(
                acl,
                f"waf.bot_control_{level}_requests",
                f"requests Bot Control ({level}) analyses",
                requests,
                assumption=assumption,
            )
        elif name == ATP:
            view.add(acl, "waf.fraud_control_atp", "account takeover prevention subscription", 1)
            view.sink.note(
                f"login attempts account takeover prevention analyses on {acl['name']} are billed "
                "per 1,000 beyond the free tier; guard:costs has no login figure, so not estimated"
            )
        elif name == ACFP:
            view.sink.note(
                f"account creation fraud prevention on {acl['name']}: a subscription and a fee per "
                "request analysed, not in guard's price list"
            )


def _capacity(view: PlanView, acl: Resource, requests: int, assumption: str) -> None:
    """Requests times each block of 500 WCU above 1,500: guard's rules plus the capacity a
    tuner may fill (its reserve, an upper bound: its rules are not in the plan)."""
    note = view.annotations.get(str(acl["urn"])) or {}
    own = note.get("wcu")
    if not isinstance(own, (int, float)):
        return
    reserved = (note.get("tuner") or {}).get("wcu") or 0
    total = int(own) + int(reserved)
    if total <= INCLUDED_WCU:
        return
    blocks = math.ceil((total - INCLUDED_WCU) / WCU_BLOCK)
    parts = f"{int(own):,} WCU" + (
        f" + up to {int(reserved):,} reserved for {note['tuner'].get('rule_prefix', '')}* rules"
        if reserved
        else ""
    )
    view.add(
        acl,
        "waf.wcu_above_included",
        f"requests x {blocks} block(s) of {WCU_BLOCK} WCU above {INCLUDED_WCU:,} ({parts})",
        requests * blocks,
        assumption=assumption,
    )


def waf(view: PlanView) -> None:
    """Per web ACL: the web ACL, its rules by kind, requests, capacity above 1,500 WCU, and the
    paid managed rule groups. Shield Advanced includes the first three for resources it
    protects; the Price List bills those as ``ShieldProtected-*`` usage."""
    coverage = ShieldCoverage(view)
    tuned = False
    for acl in view.of(WEB_ACL):
        product = view.product(acl)
        rules = web_acl_rules(view, acl)
        covered = coverage.covers(acl)
        prefix = "waf.shield_protected_" if covered else "waf."
        note = "included in Shield Advanced for protected resources" if covered else None
        view.add(acl, f"{prefix}web_acl", "web ACL", 1, note=note)
        kinds: dict[str, int] = defaultdict(int)
        for rule in rules:
            kinds[_statement_kind(rule.get("statement"))] += 1
        for kind, count in sorted(kinds.items()):
            view.add(acl, f"{prefix}rule", kind, count, note=note)
        requests, assumption = view.config.for_product("requests_per_month", product)
        view.add(
            acl,
            f"{prefix}requests",
            "requests inspected",
            requests,
            assumption=assumption,
            note=note,
        )
        _capacity(view, acl, requests, assumption)
        _paid_groups(view, acl, rules, requests, assumption)
        # A tuner shares the web ACL (its band in the annotations), or ships a rule group.
        tuned = (
            tuned
            or "tuner" in (view.annotations.get(str(acl["urn"])) or {})
            or any("rulegroupreferencestatement" in (r.get("statement") or {}) for r in rules)
        )
    if tuned:
        view.sink.note(
            "a tuning service's own rules (WafCharm's, in the web ACL or its rule group) and its "
            "subscription are billed by AWS and the service as it adds them; the plan cannot "
            "count them"
        )
