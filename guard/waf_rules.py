"""Build each product's web ACL rules as the AWS WAFv2 API's own JSON, and count their WCUs.

Plain functions over the typed config: no Pulumi here, so the rules can be unit tested, validated
against botocore's model, and judged by the policy pack at preview time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from guard.config.base import GLOBAL_REGION
from guard.config.products import (
    FLOOR_GROUPS,
    ExternalRuleGroup,
    ManagedRuleGroupRef,
    Product,
    RateLimit,
    WafConfig,
)
from guard.config.tuner import RuleKind, WafTuner
from guard.waf_catalog import load_catalog

Scope = Literal["REGIONAL", "CLOUDFRONT"]
Rule = dict[str, Any]

#: AWS's limit on one web ACL; above the free tier (1,500) every 500 WCUs cost extra.
MAX_WCU = 5000
INCLUDED_WCU = 1500
IP_VERSIONS = ("IPV4", "IPV6")
SCOPE_SUFFIX: Mapping[Scope, str] = {"REGIONAL": "alb", "CLOUDFRONT": "cf"}
#: The tag naming the WAF profile of a profile's web ACL and IP sets (absent for ``waf``).
PROFILE_TAG = "waf-profile"


@dataclass(frozen=True)
class IpSetSpec:
    """One IP set a web ACL refers to: a list (allow/block) in one IP version."""

    key: str  # e.g. "block-ipv4": also the rule name that refers to it
    list_kind: Literal["allow", "block"]
    ip_version: Literal["IPV4", "IPV6"]
    addresses: tuple[str, ...]
    name: str  # the AWS name of the IP set


@dataclass(frozen=True)
class WebAclSpec:
    """Everything needed to declare one web ACL (a product's ``waf`` or one of its profiles, in
    one scope) as plain data."""

    product: str
    profile: str | None  # None: the product's own ``waf``
    scope: Scope
    name: str
    metric_name: str
    default_action: Literal["allow", "block"]
    endpoints: tuple[str, ...]  # the names of the endpoints it protects
    ip_sets: tuple[IpSetSpec, ...]
    rules_template: tuple[Rule, ...]  # IP set ARNs are "{ipset:<key>}" placeholders
    wcu: int  # guard's own rules
    #: The tuning service that owns the rules named with its prefix and its band of priorities.
    tuner: WafTuner | None = None

    @property
    def total_wcu(self) -> int:
        """guard's rules plus the capacity reserved for the tuner's."""
        return self.wcu + (self.tuner.wcu if self.tuner is not None else 0)

    def rules(self, ip_set_arns: Mapping[str, str]) -> list[Rule]:
        """The rules with each IP set placeholder replaced by that set's ARN."""
        return [fill_arns(rule, ip_set_arns) for rule in self.rules_template]

    def rule_names(self) -> list[str]:
        return [str(rule["Name"]) for rule in self.rules_template]


def placeholder(key: str) -> str:
    return "{ipset:" + key + "}"


def fill_arns(value: Any, arns: Mapping[str, str]) -> Any:
    """``value`` with each IP set placeholder replaced by that set's ARN."""
    if isinstance(value, dict):
        return {k: fill_arns(v, arns) for k, v in value.items()}
    if isinstance(value, list):
        return [fill_arns(v, arns) for v in value]
    if isinstance(value, str) and value.startswith("{ipset:"):
        return arns[value[len("{ipset:") : -1]]
    return value


def placeholder_in(value: Any, key: str) -> bool:
    """Whether a rule (or part of one) refers to the IP set ``key``."""
    if isinstance(value, dict):
        return any(placeholder_in(v, key) for v in value.values())
    if isinstance(value, list):
        return any(placeholder_in(v, key) for v in value)
    return value == placeholder(key)


def _action(action: str, counting: bool) -> dict[str, Any]:
    return {"Count": {}} if counting else {action.capitalize(): {}}


def _visibility(metric: str) -> dict[str, Any]:
    return {
        "SampledRequestsEnabled": True,
        "CloudWatchMetricsEnabled": True,
        "MetricName": metric,
    }


def _path_match(path: str) -> dict[str, Any]:
    return {
        "ByteMatchStatement": {
            "SearchString": path,
            "FieldToMatch": {"UriPath": {}},
            "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
            "PositionalConstraint": "STARTS_WITH",
        }
    }


def _any_of(statements: Sequence[dict[str, Any]]) -> dict[str, Any]:
    if len(statements) == 1:
        return statements[0]
    return {"OrStatement": {"Statements": list(statements)}}


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9-]+", "-", text).strip("-").lower()[:60]


def managed_rule_name(ref: ManagedRuleGroupRef) -> str:
    if ref.name is not None:
        return f"aws-{ref.name}"
    return f"mkt-{_slug(str(ref.vendor))}-{_slug(str(ref.group))}"[:128]


def _ip_sets(waf: WafConfig, acl_name: str) -> list[IpSetSpec]:
    sets = []
    for list_kind, entries in (
        ("allow", waf.ip_allowlist),
        ("block", waf.ip_blocklist),
    ):
        for version in IP_VERSIONS:
            wanted = 4 if version == "IPV4" else 6
            addresses = tuple(sorted(e.cidr for e in entries if e.network.version == wanted))
            key = f"{list_kind}-{version.lower()}"
            sets.append(
                IpSetSpec(key, list_kind, version, addresses, f"{acl_name}-{key}")  # type: ignore[arg-type]
            )
    return sets


def _ip_rules(ip_sets: Sequence[IpSetSpec], counting: bool, metric_prefix: str) -> list[Rule]:
    rules = []
    for ip_set in ip_sets:
        if not ip_set.addresses:
            continue  # declared anyway, so the first entry later updates it in place
        # An allow rule never counts: it is what lets the allowlist through (and, in an
        # allowlist-only ACL, the only thing that does), in a staged rollout as after it.
        action = {"Allow": {}} if ip_set.list_kind == "allow" else _action("block", counting)
        rules.append(
            {
                "Name": ip_set.key,
                "Action": action,
                "Statement": {"IPSetReferenceStatement": {"ARN": placeholder(ip_set.key)}},
                "VisibilityConfig": _visibility(f"{metric_prefix}-{ip_set.key}"),
            }
        )
    return rules


def rate_limit_rule(limit: RateLimit, counting: bool, metric_prefix: str) -> Rule:
    statement: dict[str, Any] = {
        "Limit": limit.limit,
        "EvaluationWindowSec": limit.window,
        "AggregateKeyType": "IP" if limit.key == "ip" else "FORWARDED_IP",
    }
    if limit.key == "forwarded-ip":
        statement["ForwardedIPConfig"] = {
            "HeaderName": limit.forwarded_header,
            "FallbackBehavior": "MATCH",
        }
    if limit.path:
        statement["ScopeDownStatement"] = _path_match(limit.path)
    name = f"rate-{limit.name}"
    return {
        "Name": name,
        "Action": _action(limit.action, counting or limit.action == "count"),
        "Statement": {"RateBasedStatement": statement},
        "VisibilityConfig": _visibility(f"{metric_prefix}-{name}"),
    }


def _canonical(ref: ManagedRuleGroupRef, names: Sequence[str]) -> list[str]:
    """Rule names as AWS spells them (users may write a label's spelling or another case)."""
    if ref.name is None:
        return list(names)
    group = load_catalog()[ref.name]
    found = [group.lookup(name) for name in names]
    return [
        rule.name if rule is not None else name for rule, name in zip(found, names, strict=True)
    ]


def keeps_blocking(ref: ManagedRuleGroupRef) -> bool:
    """Whether the group is part of the floor that a product or profile in count mode keeps
    blocking (its own ``mode: count`` still counts it, which the policies then report)."""
    return ref.name in FLOOR_GROUPS


def group_counts(ref: ManagedRuleGroupRef, counting: bool) -> bool:
    """Whether a managed group only counts: its own mode, or the product's unless it is floor."""
    return ref.mode == "count" or (counting and not keeps_blocking(ref))


def managed_group_rule(ref: ManagedRuleGroupRef, counting: bool, metric_prefix: str) -> Rule:
    """A managed rule group; excluded and count_rules rules are overridden to count inside it."""
    if ref.name is not None:
        group = load_catalog()[ref.name]
        vendor, group_name, config = group.vendor, group.name, group.config
    else:
        vendor, group_name, config = str(ref.vendor), str(ref.group), None
    statement: dict[str, Any] = {"VendorName": vendor, "Name": group_name}
    if ref.version:
        statement["Version"] = ref.version
    counted = list(
        dict.fromkeys(
            _canonical(ref, [*ref.count_rules, *(r for e in ref.exclusions for r in e.rules)])
        )
    )
    if counted:
        statement["RuleActionOverrides"] = [
            {"Name": rule, "ActionToUse": {"Count": {}}} for rule in counted
        ]
    if config:
        statement["ManagedRuleGroupConfigs"] = [dict(config)]
    name = managed_rule_name(ref)
    return {
        "Name": name,
        "OverrideAction": {"Count": {}} if group_counts(ref, counting) else {"None": {}},
        "Statement": {"ManagedRuleGroupStatement": statement},
        "VisibilityConfig": _visibility(f"{metric_prefix}-{name}"),
    }


def exclusion_rules(ref: ManagedRuleGroupRef, counting: bool, metric_prefix: str) -> list[Rule]:
    """AWS's documented pattern: block on the excluded rules' labels unless the path is excepted."""
    if ref.name is None or not ref.exclusions:
        return []
    group = load_catalog()[ref.name]
    rules = []
    for index, exclusion in enumerate(ref.exclusions):
        labels = []
        for rule_name in exclusion.rules:
            managed = group.lookup(rule_name)
            assert managed is not None, "validated against the catalog before building"
            labels.append({"LabelMatchStatement": {"Scope": "LABEL", "Key": managed.label}})
        name = f"aws-{ref.name}-exclusion-{index}"
        rules.append(
            {
                "Name": name,
                "Action": _action("block", group_counts(ref, counting)),
                "Statement": {
                    "AndStatement": {
                        "Statements": [
                            _any_of(labels),
                            {
                                "NotStatement": {
                                    "Statement": _any_of([_path_match(p) for p in exclusion.paths])
                                }
                            },
                        ]
                    }
                },
                "VisibilityConfig": _visibility(f"{metric_prefix}-{name}"),
            }
        )
    return rules


def external_group_rule(group: ExternalRuleGroup, counting: bool, metric_prefix: str) -> Rule:
    name = f"ext-{group.name}"
    return {
        "Name": name,
        "OverrideAction": {"Count": {}} if counting or group.mode == "count" else {"None": {}},
        "Statement": {"RuleGroupReferenceStatement": {"ARN": group.arn}},
        "VisibilityConfig": _visibility(f"{metric_prefix}-{name}"),
    }


def waf_owner(product: str, profile: str | None) -> str:
    """Whose WAF settings these are, as users write it: ``product`` or ``product/profile``."""
    return product if profile is None else f"{product}/{profile}"


def owner_tags(tags: Mapping[str, str] | None) -> tuple[str | None, str | None]:
    """The ``(product, profile)`` a web ACL or IP set was built for, from its tags."""
    tags = tags or {}
    return tags.get("product"), tags.get(PROFILE_TAG)


def _stem(product: str, scope: Scope, profile: str | None) -> str:
    """``<product>[-<profile>]-alb|cf``: the metric prefix, and the name after ``guard-<stack>-``."""
    middle = product if profile is None else f"{product}-{profile}"
    return f"{middle}-{SCOPE_SUFFIX[scope]}"


def web_acl_region(scope: Scope, stack_region: str) -> str:
    """Where a web ACL lives (and logs): the stack's region, us-east-1 for CloudFront."""
    return GLOBAL_REGION if scope == "CLOUDFRONT" else stack_region


def web_acl_name(stack: str, product: str, scope: Scope, profile: str | None = None) -> str:
    """``guard-<stack>-<product>[-<profile>]-alb|cf``: products without profiles keep the names
    they always had, so adding profiles never replaces an existing web ACL."""
    return f"guard-{stack}-{_stem(product, scope, profile)}"


def build_web_acl(
    product: Product, scope: Scope, stack: str, profile: str | None = None
) -> WebAclSpec:
    """The web ACL of one product's ``waf`` (or profile) in one scope: allowlist, blocklist, rate
    limits, managed groups, external groups, then exclusion rules, numbered in that order."""
    waf = product.waf_of(profile)
    name = web_acl_name(stack, product.name, scope, profile)
    counting = waf.mode == "count"
    prefix = _stem(product.name, scope, profile)
    ip_sets = _ip_sets(waf, name)
    managed = waf.managed_rules
    kinds: list[tuple[RuleKind, list[Rule]]] = [
        (
            "ip-lists",
            [
                *_ip_rules([s for s in ip_sets if s.list_kind == "allow"], counting, prefix),
                *_ip_rules([s for s in ip_sets if s.list_kind == "block"], counting, prefix),
            ],
        ),
        ("rate-limits", [rate_limit_rule(r, counting, prefix) for r in waf.rate_limits]),
        ("managed-groups", [managed_group_rule(m, counting, prefix) for m in managed]),
        (
            "external-groups",
            [
                external_group_rule(g, counting, prefix)
                for g in waf.external_rule_groups
                if g.scope == scope
            ],
        ),
        # Exclusion rules match the labels their group adds: always after the groups, and on
        # the same side of a tuner's band.
        (
            "managed-groups",
            [rule for m in managed for rule in exclusion_rules(m, counting, prefix)],
        ),
    ]
    try:
        rules = number_rules(kinds, waf.tuner)
    except BandTooNarrow as err:
        err.profile = profile
        raise
    wcu = sum(rule_wcu(rule, waf) for rule in rules)
    kind = "alb" if scope == "REGIONAL" else "cloudfront"
    endpoints = tuple(e.name for e in product.endpoints_of(kind) if e.waf_profile == profile)
    return WebAclSpec(
        product.name,
        profile,
        scope,
        name,
        prefix,
        waf.default_action,
        endpoints,
        tuple(ip_sets),
        tuple(rules),
        wcu,
        waf.tuner,
    )


#: Gaps between guard's priorities leave room to slot a rule in without renumbering the rest.
PRIORITY_STEP = 10


class BandTooNarrow(ValueError):
    """guard's rules that go before a tuner's band do not fit below it."""

    profile: str | None = None  # set by build_web_acl: which WAF setting


def number_rules(
    kinds: Sequence[tuple[RuleKind, list[Rule]]], tuner: WafTuner | None
) -> list[Rule]:
    """Set each rule's priority; with a tuner, guard's rules stay outside its band.

    Without a tuner the rules are numbered 0, 10, 20, ... in the order allowlist, blocklist,
    rate limits, managed groups and their exclusions, external groups: a web ACL's rules are
    evaluated in that order. With one, the kinds the tuner's ``after_band`` names follow the band
    (from ``to + 1``, gaps of 10) and the others precede it, in gaps of 10 while they fit below
    ``from`` and closer together when they do not; more rules than priorities is an error.
    """
    if tuner is None:
        rules = [rule for _, group in kinds for rule in group]
        for index, rule in enumerate(rules):
            rule["Priority"] = index * PRIORITY_STEP
        return rules
    before = [rule for kind, group in kinds if kind not in tuner.after_band for rule in group]
    after = [rule for kind, group in kinds if kind in tuner.after_band for rule in group]
    band = tuner.priorities
    if len(before) > band.start:
        raise BandTooNarrow(
            f"{len(before)} guard rules go before the {tuner.rule_prefix}* band, which starts at "
            f"priority {band.start}: only {band.start} priorities are free below it"
        )
    step = min(PRIORITY_STEP, band.start // len(before)) if before else PRIORITY_STEP
    for index, rule in enumerate(before):
        rule["Priority"] = index * step
    for index, rule in enumerate(after):
        assert band.end is not None, "WafTuner refuses after_band without an upper end"
        rule["Priority"] = band.end + 1 + index * PRIORITY_STEP
    return [*before, *after]


def buildable_web_acls(product: Product) -> list[WebAclSpec]:
    """The product's web ACLs, or none when they cannot be built: a name missing from the
    catalog, or guard's rules not fitting around a tuner's band (the checks report which)."""
    if not catalog_complete(product):
        return []
    try:
        return web_acls_for(product, "stack")
    except BandTooNarrow:
        return []


def catalog_complete(product: Product) -> bool:
    """Whether every alias and rule name the product uses is in the catalog (else it cannot be built)."""
    catalog = load_catalog()
    for _, waf in product.all_wafs():
        for ref in waf.managed_rules:
            if ref.name is None:
                continue
            group = catalog.get(ref.name)
            named = [*ref.count_rules, *(r for e in ref.exclusions for r in e.rules)]
            if group is None or any(group.lookup(rule) is None for rule in named):
                return False
    return True


def web_acls_for(product: Product, stack: str) -> list[WebAclSpec]:
    """One web ACL per WAF setting (``waf``, then each profile) and scope that endpoints use
    (REGIONAL before CLOUDFRONT); a profile no endpoint chooses has none."""
    specs = []
    for profile, _ in product.all_wafs():
        for scope, kind in (("REGIONAL", "alb"), ("CLOUDFRONT", "cloudfront")):
            if any(e.waf_profile == profile for e in product.endpoints_of(kind)):
                specs.append(build_web_acl(product, scope, stack, profile))  # type: ignore[arg-type]
    return specs


def waf_for_tags(
    products: Sequence[Product], tags: Mapping[str, str] | None
) -> tuple[Product, WafConfig] | None:
    """The product and WAF settings a recorded web ACL was built from, by its tags."""
    name, profile = owner_tags(tags)
    product = next((p for p in products if p.name == name), None)
    if product is None:
        return None
    if profile is not None and profile not in product.waf_profiles:
        return None
    return product, product.waf_of(profile)


# --- WCU -------------------------------------------------------------------------------------

_BYTE_MATCH_WCU = {
    "EXACTLY": 2,
    "STARTS_WITH": 2,
    "ENDS_WITH": 2,
    "CONTAINS": 10,
    "CONTAINS_WORD": 10,
}


def statement_wcu(statement: Mapping[str, Any], waf: WafConfig | None = None) -> int:
    """WCUs of one statement, per the AWS WAF Developer Guide's table for each statement type.

    ``waf`` (the product's or profile's settings) gives the WCU of external and marketplace
    groups, which only the configuration knows."""
    ((kind, body),) = statement.items()
    if kind in ("AndStatement", "OrStatement"):
        return sum(statement_wcu(s, waf) for s in body["Statements"])
    if kind == "NotStatement":
        return statement_wcu(body["Statement"], waf)
    if kind == "IPSetReferenceStatement":
        return 1
    if kind == "LabelMatchStatement":
        return 1
    if kind == "ByteMatchStatement":
        transformations = [t for t in body["TextTransformations"] if t["Type"] != "NONE"]
        return _BYTE_MATCH_WCU[body["PositionalConstraint"]] + 10 * len(transformations)
    if kind == "RateBasedStatement":
        scope_down = body.get("ScopeDownStatement")
        return 2 + (statement_wcu(scope_down, waf) if scope_down else 0)
    if kind == "ManagedRuleGroupStatement":
        return _managed_wcu(body, waf)
    if kind == "RuleGroupReferenceStatement":
        if waf is not None:
            for group in waf.external_rule_groups:
                if group.arn == body["ARN"]:
                    return group.wcu
        raise ValueError(f"unknown rule group {body['ARN']}")
    raise ValueError(f"no WCU figure for statement type {kind}")


def _managed_wcu(body: Mapping[str, Any], waf: WafConfig | None) -> int:
    for group in load_catalog().values():
        if group.vendor == body["VendorName"] and group.name == body["Name"]:
            return group.wcu
    if waf is not None:
        for ref in waf.managed_rules:
            if ref.vendor == body["VendorName"] and ref.group == body["Name"] and ref.wcu:
                return ref.wcu
    raise ValueError(f"no WCU known for managed group {body['VendorName']}/{body['Name']}")


def rule_wcu(rule: Mapping[str, Any], waf: WafConfig | None = None) -> int:
    return statement_wcu(rule["Statement"], waf)
