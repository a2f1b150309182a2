"""Checks that need more than one field: uniqueness, ARNs against the stack, the rule catalog,
IP list overlaps, and each web ACL against AWS's limits and API model."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date
from typing import Any

from guard.aws_model import request_errors
from guard.config.base import GLOBAL_REGION
from guard.config.errors import KeyPath, Problem, StackNameError
from guard.config.products import (
    ALB_ARN_RE,
    CLOUDFRONT_ARN_RE,
    WAF_RULE_GROUP_ARN_RE,
    Product,
    WafConfig,
)
from guard.config.stack import StackConfig
from guard.suggest import did_you_mean
from guard.tuner import tuned_wafs
from guard.tuner_policy import tuner_permissions
from guard.waf_catalog import load_catalog
from guard.waf_rules import (
    INCLUDED_WCU,
    MAX_WCU,
    BandTooNarrow,
    WebAclSpec,
    catalog_complete,
    waf_owner,
    web_acls_for,
)

P = "guard:products"


def wafs_of(product: Product, base: KeyPath) -> list[tuple[str | None, WafConfig, KeyPath]]:
    """Each WAF setting of a product with its key path: ``waf``, then ``waf_profiles.<name>``."""
    return [
        (name, waf, (*base, "waf") if name is None else (*base, "waf_profiles", name))
        for name, waf in product.all_wafs()
    ]


def _duplicates(names: Iterable[str], base: KeyPath, field: str, what: str) -> list[Problem]:
    problems = []
    seen: Counter[str] = Counter()
    for index, name in enumerate(names):
        seen[name] += 1
        if seen[name] == 2:
            problems.append(
                Problem((*base, index, field), f"duplicate {what}: names must be unique", name)
            )
    return problems


def unique_names(config: StackConfig, warnings: list[str], today: date) -> list[Problem]:
    problems = _duplicates((p.name for p in config.products), (P,), "name", "product name")
    arn_owner: dict[str, KeyPath] = {}
    for i, product in enumerate(config.products):
        base: KeyPath = (P, i)
        problems += _duplicates(
            (e.name for e in product.endpoints), (*base, "endpoints"), "name", "endpoint name"
        )
        for _, waf, waf_path in wafs_of(product, base):
            problems += _duplicates(
                (r.name for r in waf.rate_limits),
                (*waf_path, "rate_limits"),
                "name",
                "rate limit name",
            )
            problems += _duplicates(
                (m.key for m in waf.managed_rules),
                (*waf_path, "managed_rules"),
                "name",
                "managed rule group",
            )
            problems += _duplicates(
                (g.name for g in waf.external_rule_groups),
                (*waf_path, "external_rule_groups"),
                "name",
                "external rule group name",
            )
        for j, endpoint in enumerate(product.endpoints):
            if (
                endpoint.waf_profile is not None
                and endpoint.waf_profile not in product.waf_profiles
            ):
                declared = (
                    ", ".join(product.waf_profiles) or "none (add waf_profiles to the product)"
                )
                problems.append(
                    Problem(
                        (*base, "endpoints", j, "waf_profile"),
                        f"no such WAF profile in product {product.name}"
                        f"{did_you_mean(endpoint.waf_profile, product.waf_profiles)}; "
                        f"its profiles: {declared}",
                        endpoint.waf_profile,
                    )
                )
            path = (*base, "endpoints", j, "arn")
            if endpoint.arn in arn_owner:
                problems.append(
                    Problem(
                        path,
                        "this resource is already an endpoint elsewhere in the stack; "
                        "a resource can have only one web ACL",
                        endpoint.arn,
                    )
                )
            arn_owner.setdefault(endpoint.arn, path)
        used = {e.waf_profile for e in product.endpoints}
        for profile in product.waf_profiles:
            if profile not in used:
                warnings.append(
                    f"{product.name}: WAF profile {profile} is used by no endpoint, so it has no "
                    "web ACL; set endpoints[].waf_profile or remove it"
                )
    return problems


def arns_match_stack(config: StackConfig, warnings: list[str], today: date) -> list[Problem]:
    problems = []
    for i, product in enumerate(config.products):
        for j, endpoint in enumerate(product.endpoints):
            path = (P, i, "endpoints", j, "arn")
            match = (ALB_ARN_RE if endpoint.kind == "alb" else CLOUDFRONT_ARN_RE).match(
                endpoint.arn
            )
            assert match is not None, "shape checked by the model"
            if endpoint.kind == "alb" and match["region"] != config.region:
                problems.append(
                    Problem(
                        path,
                        f"the load balancer is in {match['region']}, but this stack deploys "
                        f"to {config.region} (aws:region); a regional web ACL can only protect "
                        "resources in its own region",
                        endpoint.arn,
                    )
                )
            if match["account"] != config.account_id:
                problems.append(
                    Problem(
                        path,
                        f"account {match['account']} is not this stack's account "
                        f"{config.account_id} (guard:account_id)",
                        endpoint.arn,
                    )
                )
        for profile, waf, waf_path in wafs_of(product, (P, i)):
            problems += _external_groups(config, product, profile, waf, waf_path)
    return problems


def _external_groups(
    config: StackConfig, product: Product, profile: str | None, waf: WafConfig, waf_path: KeyPath
) -> list[Problem]:
    problems = []
    for k, group in enumerate(waf.external_rule_groups):
        rg_path: KeyPath = (*waf_path, "external_rule_groups", k, "arn")
        m = WAF_RULE_GROUP_ARN_RE.match(group.arn)
        assert m is not None
        wanted = "alb" if group.scope == "REGIONAL" else "cloudfront"
        if not any(e.waf_profile == profile for e in product.endpoints_of(wanted)):
            problems.append(
                Problem(
                    rg_path,
                    f"a {group.scope} rule group, but {waf_owner(product.name, profile)} protects "
                    f"no {wanted} endpoint",
                    group.arn,
                )
            )
        if group.scope == "REGIONAL" and m["region"] != config.region:
            problems.append(
                Problem(rg_path, f"rule group region must be {config.region}", group.arn)
            )
        if group.scope == "CLOUDFRONT" and m["region"] != GLOBAL_REGION:
            problems.append(
                Problem(rg_path, f"CloudFront rule groups live in {GLOBAL_REGION}", group.arn)
            )
    return problems


def managed_rules_known(config: StackConfig, warnings: list[str], today: date) -> list[Problem]:
    """Every group alias and rule name is in the catalog (rule names in any case, or as the
    label spelling the plan and WAF logs show), with "did you mean" for near misses."""
    catalog = load_catalog()
    problems = []
    for i, product in enumerate(config.products):
        for profile, waf, waf_path in wafs_of(product, (P, i)):
            for j, ref in enumerate(waf.managed_rules):
                base: KeyPath = (*waf_path, "managed_rules", j)
                if ref.name is None:
                    continue
                group = catalog.get(ref.name)
                if group is None:
                    problems.append(
                        Problem(
                            (*base, "name"),
                            f"unknown managed rule group alias{did_you_mean(ref.name, catalog)}; "
                            f"allowed: {', '.join(catalog)}",
                            ref.name,
                        )
                    )
                    continue
                named = [
                    ((*base, "count_rules", k), rule) for k, rule in enumerate(ref.count_rules)
                ] + [
                    ((*base, "exclusions", k, "rules", n), rule)
                    for k, exclusion in enumerate(ref.exclusions)
                    for n, rule in enumerate(exclusion.rules)
                ]
                for path, rule in named:
                    if group.lookup(rule) is None:
                        close = group.suggest(rule)
                        hint = f" (did you mean {' or '.join(close)}?)" if close else ""
                        problems.append(
                            Problem(
                                path,
                                f"{group.name} has no such rule{hint}; its rules: "
                                f"{', '.join(group.rule_names)}",
                                rule,
                            )
                        )
                if (ref.count_rules or ref.exclusions) and ref.mode == "count":
                    warnings.append(
                        f"{waf_owner(product.name, profile)}: managed group {ref.name} is in count mode; "
                        "its count_rules and exclusions change nothing until it blocks"
                    )
    return problems


def ip_lists(config: StackConfig, warnings: list[str], today: date) -> list[Problem]:
    problems = []
    for i, product in enumerate(config.products):
        for profile, waf, waf_path in wafs_of(product, (P, i)):
            where = waf_owner(product.name, profile)
            for list_name, entries in (
                ("ip_blocklist", waf.ip_blocklist),
                ("ip_allowlist", waf.ip_allowlist),
            ):
                problems += _duplicates(
                    (e.cidr for e in entries), (*waf_path, list_name), "cidr", "CIDR"
                )
                for entry in entries:
                    if entry.expires is not None and entry.expires < today:
                        warnings.append(
                            f"{where}: {list_name} entry {entry.cidr} expired on "
                            f"{entry.expires.isoformat()} ({entry.reason}); remove it or extend it"
                        )
            for j, blocked in enumerate(waf.ip_blocklist):
                for allowed in waf.ip_allowlist:
                    a, b = blocked.network, allowed.network
                    if a.version == b.version and a.overlaps(b):
                        problems.append(
                            Problem(
                                (*waf_path, "ip_blocklist", j, "cidr"),
                                f"overlaps the allowlist entry {allowed.cidr} ({allowed.reason}); "
                                "an IP cannot be both allowed and blocked",
                                blocked.cidr,
                            )
                        )
    return problems


def default_actions(config: StackConfig, warnings: list[str], today: date) -> list[Problem]:
    """An allowlist-only web ACL (``default_action: block``) has an allowlist, and says when its
    other rules or its count mode change nothing."""
    problems = []
    for i, product in enumerate(config.products):
        for profile, waf, waf_path in wafs_of(product, (P, i)):
            if waf.default_action != "block":
                continue
            where = waf_owner(product.name, profile)
            if not waf.ip_allowlist:
                problems.append(
                    Problem(
                        (*waf_path, "ip_allowlist"),
                        "default_action: block lets through only what the allowlist matches; "
                        "with no entries the web ACL blocks every request. Add the office and "
                        "VPN CIDRs, or use default_action: allow",
                    )
                )
            if waf.mode == "count":
                warnings.append(
                    f"{where}: mode count does not count the default action; an allowlist-only "
                    "web ACL still blocks every request outside the allowlist"
                )
            others = len(waf.managed_rules) + len(waf.rate_limits) + len(waf.external_rule_groups)
            if others:
                warnings.append(
                    f"{where}: in an allowlist-only web ACL the {others} managed group(s), rate "
                    "limit(s) and external group(s) only see requests outside the allowlist, "
                    "which the default action blocks anyway"
                )
    return problems


def create_web_acl_request(spec: WebAclSpec, region: str, account_id: str) -> dict[str, Any]:
    """The CreateWebACL request AWS would receive, with well-formed stand-in IP set ARNs."""
    scope_part = "regional" if spec.scope == "REGIONAL" else "global"
    arns = {
        s.key: f"arn:aws:wafv2:{region}:{account_id}:{scope_part}/ipset/{s.name}/00000000-0000-4000-8000-000000000000"
        for s in spec.ip_sets
    }
    return {
        "Name": spec.name,
        "Scope": spec.scope,
        "DefaultAction": {spec.default_action.capitalize(): {}},
        "Description": f"guard: {spec.product}",
        "Rules": spec.rules(arns),
        "VisibilityConfig": {
            "SampledRequestsEnabled": True,
            "CloudWatchMetricsEnabled": True,
            "MetricName": spec.metric_name,
        },
    }


def _rule_of(error: str, spec: WebAclSpec) -> str:
    if error.startswith(
        (
            "Rules[",
            "Invalid value for parameter Rules[",
            "Unknown parameter in Rules[",
            "Missing required parameter in Rules[",
        )
    ):
        index = int(error.split("Rules[", 1)[1].split("]", 1)[0])
        return f" rule {spec.rules_template[index]['Name']}"
    return ""


def web_acls_valid(config: StackConfig, warnings: list[str], today: date) -> list[Problem]:
    """Each web ACL: a name no other web ACL of the stack has, within 5,000 WCU, and a request
    AWS's own API model accepts."""
    problems = []
    owners: dict[str, str] = {}
    for i, product in enumerate(config.products):
        if not catalog_complete(product):
            continue  # managed_rules_known has reported it; the web ACL cannot be built
        try:
            specs = web_acls_for(product, "stack")
        except BandTooNarrow as err:
            waf_path: KeyPath = (
                (P, i, "waf") if err.profile is None else (P, i, "waf_profiles", err.profile)
            )
            problems.append(
                Problem(
                    (*waf_path, "tuner", "priorities", "from"),
                    f"{err}; start the band higher, or list more rule kinds in tuner.after_band",
                )
            )
            continue
        for spec in specs:
            where = waf_owner(product.name, spec.profile)
            path: KeyPath = (
                (P, i, "waf") if spec.profile is None else (P, i, "waf_profiles", spec.profile)
            )
            problems += _tuner_problems(spec, path)
            # Product shop-static and shop's profile static would both be
            # guard-<stack>-shop-static-alb.
            if owners.setdefault(spec.name, where) != where:
                problems.append(
                    Problem(
                        (P, i, "name") if spec.profile is None else path,
                        f"its web ACL would be named like {owners[spec.name]}'s "
                        f"({spec.name.replace('guard-stack-', 'guard-<stack>-')}); rename the "
                        "product or the profile",
                    )
                )
            share = (
                f" ({spec.wcu} for guard's rules, {spec.tuner.wcu} reserved for the "
                f"{spec.tuner.rule_prefix}* rules)"
                if spec.tuner is not None
                else ""
            )
            if spec.total_wcu > MAX_WCU:
                problems.append(
                    Problem(
                        path,
                        f"the {spec.scope} web ACL needs {spec.total_wcu} WCU{share}; AWS allows "
                        f"at most {MAX_WCU}: drop a managed group or a rule",
                    )
                )
            elif spec.total_wcu > INCLUDED_WCU:
                warnings.append(
                    f"{where}: the {spec.scope} web ACL uses {spec.total_wcu} WCU{share}, over "
                    f"the {INCLUDED_WCU} included in the base price; every 500 more cost extra"
                )
            request = create_web_acl_request(spec, config.region, config.account_id)
            for error in request_errors("wafv2", "CreateWebACL", request):
                problems.append(
                    Problem(
                        path,
                        f"AWS would reject the {spec.scope} web ACL{_rule_of(error, spec)}: {error}",
                    )
                )
    return problems


def _tuner_problems(spec: WebAclSpec, path: KeyPath) -> list[Problem]:
    """guard's rules stay out of the tuner's way: no name with its prefix, no priority in its
    band (guard numbers its rules around the band; this proves the numbering)."""
    tuner = spec.tuner
    if tuner is None:
        return []
    problems = []
    for rule in spec.rules_template:
        name, priority = str(rule["Name"]), int(rule["Priority"])
        if name.startswith(tuner.rule_prefix):
            problems.append(
                Problem(
                    (*path, "tuner", "rule_prefix"),
                    f"guard's rule {name} starts with the tuner's prefix, so the tuner would "
                    "take it for its own; choose a prefix no guard rule name starts with",
                    tuner.rule_prefix,
                )
            )
        if tuner.priorities.contains(priority):
            problems.append(
                Problem(
                    (*path, "tuner", "priorities"),
                    f"guard's rule {name} would have priority {priority}, inside the tuner's "
                    f"band {tuner.priorities.describe()}",
                )
            )
    return problems


def tuners_used(config: StackConfig, warnings: list[str], today: date) -> list[Problem]:
    """Each tuner has a way in (``guard:tuners``), each declared role has something to tune, and
    a tuner in an allowlist-only web ACL is said to be pointless."""
    used = {t.tuner.service for t in tuned_wafs(config)}
    for service in sorted(used - set(config.tuners)):
        warnings.append(
            f"{service} tunes web ACLs but guard:tuners.{service} is not declared: the service "
            "needs a role to assume (docs/wafcharm.md, step 1)"
        )
    for service in sorted(set(config.tuners) - used):
        warnings.append(
            f"guard:tuners.{service} declares a role, but no product's waf has a tuner with "
            f"service: {service}; the role can edit nothing (its WAF permissions name no web ACL)"
        )
    problems = []
    for service, access in sorted(config.tuners.items()):
        try:
            scoped = tuner_permissions(config.model_copy(update={"tuners": {}}), "stack", service)
        except StackNameError:
            continue  # reported when the stack is planned under its real name
        taken = {st.get("Sid") for st in (scoped or {}).get("Statement", [])}
        for k, statement in enumerate(access.statements):
            if statement.Sid is not None and statement.Sid in taken:
                problems.append(
                    Problem(
                        ("guard:tuners", service, "statements", k, "Sid"),
                        "guard's own statements of the tuner role use this Sid; IAM needs each "
                        "Sid once in a policy: choose another",
                        statement.Sid,
                    )
                )
    for tuned in tuned_wafs(config):
        if tuned.waf.default_action == "block":
            warnings.append(
                f"{waf_owner(tuned.product.name, tuned.profile)}: a tuner in an allowlist-only "
                "web ACL only sees requests the allowlist does not match, which the default "
                "action blocks anyway"
            )
    return problems
