"""The WAF part of a plan for people: one section per web ACL, with the endpoints it protects,
its default action, every CIDR of its IP lists and its rule table.

Everything shown is read from the recorded resources (what ``pulumi up`` would send to AWS); the
configuration only adds what no resource holds: the reason and expiry of an IP list entry, and
which rules keep blocking because they are the mandatory floor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from guard.config.products import FLOOR_GROUPS, IpEntry, Product, WafConfig
from guard.config.tuner import WafTuner
from guard.plan import PlanResult, ResourceRecord
from guard.resource_types import ALARM, ASSOCIATION, IP_SET, SHIELD_TYPES, WEB_ACL
from guard.shield_alarms import watched_resource
from guard.waf_catalog import load_catalog
from guard.waf_rule_form import rules_by_web_acl
from guard.waf_rules import (
    INCLUDED_WCU,
    managed_rule_name,
    owner_tags,
    statement_wcu,
    waf_for_tags,
    waf_owner,
)
from guard.waf_words import action_of, describe

PROTECTION = SHIELD_TYPES["protection"]


@dataclass(frozen=True)
class RuleLine:
    """One rule of a web ACL as a reviewer reads it."""

    priority: int
    name: str
    action: str
    what: str
    #: How the priority reads when it is a band (``100+``, ``100-999``), not one number.
    band: str | None = None

    @property
    def priority_text(self) -> str:
        return self.band if self.band is not None else str(self.priority)


@dataclass(frozen=True)
class IpListLine:
    """One CIDR of an IP set, with the reason (and expiry) a reviewer approved it for."""

    list_kind: str  # allow | block
    cidr: str
    reason: str
    expires: str | None


@dataclass(frozen=True)
class EndpointView:
    """An endpoint of the catalog and the web ACL the plan gives it (None: unprotected)."""

    product: str
    endpoint: str
    kind: str
    arn: str
    web_acl: ResourceRecord | None
    associated: bool


@dataclass(frozen=True)
class AclView:
    """One recorded web ACL with everything a reviewer needs to judge it."""

    record: ResourceRecord
    name: str
    owner: str  # product or product/profile
    scope: str
    default_action: str
    wcu: int  # guard's rules
    #: The tuner sharing the web ACL (its rules are edited in AWS and never visible offline).
    tuner: WafTuner | None
    endpoints: tuple[EndpointView, ...]
    ip_lists: tuple[IpListLine, ...]
    rules: tuple[RuleLine, ...]


def shares_rules(web_acl: ResourceRecord) -> bool:
    """Whether ``pulumi up`` leaves the web ACL's rule list to others (a tuner's band)."""
    return "rules" in web_acl.ignore_changes


def band_line(tuner: WafTuner) -> RuleLine:
    """The tuner's rules as one line, in their place in the rule order."""
    who = tuner.describe().split(" rules, ", 1)[1]
    return RuleLine(
        tuner.priorities.start,
        f"{tuner.rule_prefix}*",
        "tuner",
        f"{who}; not visible offline",
        band=tuner.priorities.describe(),
    )


def rule_lines(
    web_acl: ResourceRecord,
    rules: list[dict[str, Any]],
    ip_sets: Mapping[str, ResourceRecord] | None = None,
    waf: WafConfig | None = None,
) -> list[RuleLine]:
    """The rules in priority order; IP set rules say how many CIDRs they hold, in count mode
    the floor groups say that they keep blocking, and a tuner's band is one line."""
    lines = []
    for rule in rules:
        what = describe(rule["Statement"])
        action = action_of(rule)
        ip_set = (ip_sets or {}).get(str(rule["Name"]))
        if ip_set is not None:
            count = len(ip_set.inputs.get("addresses") or [])
            version = ip_set.inputs.get("ipAddressVersion")
            what = f"{rule['Name'].split('-')[0]}list: {count} {version} CIDR(s), listed above"
        group = rule["Statement"].get("ManagedRuleGroupStatement", {}).get("Name")
        floor = waf is not None and waf.mode == "count" and group in _floor_group_names()
        if floor and action == "group actions":
            what += "; keeps blocking in count mode (the mandatory floor)"
        lines.append(RuleLine(rule["Priority"], rule["Name"], action, what))
    if waf is not None and waf.tuner is not None and shares_rules(web_acl):
        lines.append(band_line(waf.tuner))
        lines.sort(key=lambda line: line.priority)
    return lines


def _floor_group_names() -> set[str]:
    """AWS's names of the groups a product or profile in count mode keeps blocking."""
    catalog = load_catalog()
    return {catalog[alias].name for alias in FLOOR_GROUPS}


def _owner_of(record: ResourceRecord) -> str:
    product, profile = owner_tags(record.inputs.get("tags"))
    return waf_owner(str(product), profile)


def endpoint_views(plan: PlanResult) -> list[EndpointView]:
    """Every endpoint of the catalog, with the recorded web ACL that protects it."""
    acls = {(_owner_of(r), r.inputs.get("scope")): r for r in plan.resources if r.type == WEB_ACL}
    associated = {r.inputs.get("resourceArn") for r in plan.resources if r.type == ASSOCIATION}
    views = []
    for product in plan.loaded.config.products:
        for endpoint in product.endpoints:
            owner = waf_owner(product.name, endpoint.waf_profile)
            views.append(
                EndpointView(
                    product.name,
                    endpoint.name,
                    endpoint.kind,
                    endpoint.arn,
                    acls.get((owner, endpoint.scope)),
                    endpoint.arn in associated,
                )
            )
    return views


def _ip_list_lines(
    ip_sets: Mapping[str, ResourceRecord], waf: WafConfig | None
) -> list[IpListLine]:
    approved: dict[tuple[str, str], IpEntry] = {}
    if waf is not None:
        approved.update({("allow", e.cidr): e for e in waf.ip_allowlist})
        approved.update({("block", e.cidr): e for e in waf.ip_blocklist})
    lines = []
    for key in sorted(ip_sets, key=lambda k: (not k.startswith("allow"), k)):
        kind = key.split("-")[0]
        for cidr in ip_sets[key].inputs.get("addresses") or []:
            entry = approved.get((kind, cidr))
            lines.append(
                IpListLine(
                    kind,
                    cidr,
                    entry.reason if entry else "(no reason recorded)",
                    entry.expires.isoformat() if entry and entry.expires else None,
                )
            )
    return lines


def acl_views(plan: PlanResult) -> list[AclView]:
    """Every recorded web ACL, products in the stack file's order."""
    products: list[Product] = list(plan.loaded.config.products)
    views = endpoint_views(plan)
    ip_set_records = {str(r.inputs.get("name")): r for r in plan.resources if r.type == IP_SET}
    rules_of = rules_by_web_acl((r.type, r.urn, r.parent, r.inputs) for r in plan.resources)
    order = {p.name: i for i, p in enumerate(products)}
    records = sorted(
        (r for r in plan.resources if r.type == WEB_ACL),
        key=lambda r: order.get(str((r.inputs.get("tags") or {}).get("product")), len(order)),
    )
    out = []
    for record in records:
        name = str(record.inputs.get("name"))
        found = waf_for_tags(products, record.inputs.get("tags"))
        waf = found[1] if found is not None else None
        ip_sets = {
            key: ip_set_records[f"{name}-{key}"]
            for key in ("allow-ipv4", "allow-ipv6", "block-ipv4", "block-ipv6")
            if f"{name}-{key}" in ip_set_records
        }
        rules = rules_of[record.urn]
        try:
            wcu = sum(statement_wcu(r["Statement"], waf) for r in rules)
        except (KeyError, ValueError):
            wcu = 0
        default = next(iter(record.inputs.get("defaultAction") or {"allow": {}}))
        out.append(
            AclView(
                record,
                name,
                _owner_of(record),
                str(record.inputs.get("scope")),
                str(default),
                wcu,
                waf.tuner if waf is not None and shares_rules(record) else None,
                tuple(v for v in views if v.web_acl is record),
                tuple(_ip_list_lines(ip_sets, waf)),
                tuple(rule_lines(record, rules, ip_sets, waf)),
            )
        )
    return out


def shield_line(view: EndpointView, plan: PlanResult) -> str:
    """What Shield Advanced does for an endpoint, read from the recorded resources."""
    protected = any(
        r.type == PROTECTION and r.inputs.get("resourceArn") == view.arn for r in plan.resources
    )
    if not protected:
        return "not protected by Shield Advanced"
    alarms = [
        r for r in plan.resources if r.type == ALARM and watched_resource(r.inputs) == view.arn
    ]
    if not alarms:
        return "Shield Advanced protection, NO DDoS alarm"
    alarm = alarms[0]
    return f"Shield Advanced protection, DDoS alarm {alarm.inputs.get('name')} ({alarm.region})"


def hand_off(view: EndpointView) -> str:
    if view.kind == "alb":
        return "associated" if view.associated else "NOT ASSOCIATED"
    return f"exported as cloudfront_web_acls[{view.product}/{view.endpoint}]"


def _default_line(acl: AclView) -> str:
    if acl.default_action == "block":
        return "default: block (allowlist only: a request no allow rule matches is blocked)"
    # A CAPTCHA or challenge rule stops a request too, not only a block rule.
    return (
        "default: allow (a request that no rule blocks, challenges or answers with a CAPTCHA "
        "reaches the application)"
    )


def wcu_text(acl: AclView) -> str:
    """``1190 / 1500`` or, with a tuner, ``1190 + 1100 reserved = 2290 / 1500``."""
    if acl.tuner is None:
        return f"{acl.wcu} / {INCLUDED_WCU}"
    total = acl.wcu + acl.tuner.wcu
    return f"{acl.wcu} + {acl.tuner.wcu} reserved = {total} / {INCLUDED_WCU}"


def _ip_text(line: IpListLine) -> str:
    expiry = f" (expires {line.expires})" if line.expires else ""
    return f"{line.cidr}  {line.reason}{expiry}"


def render_waf_text(plan: PlanResult) -> list[str]:
    """The web ACLs, then any endpoint left without one, as text lines."""
    out: list[str] = []
    for acl in acl_views(plan):
        out.append(f"web ACL {acl.name} ({acl.owner}, {acl.scope}): {wcu_text(acl)} WCU")
        out.append(f"  {_default_line(acl)}")
        out.append(f"  protects {len(acl.endpoints)} endpoint(s):")
        for view in acl.endpoints:
            out.append(f"    {view.product}/{view.endpoint} ({view.kind}) {view.arn}")
            out.append(f"      {hand_off(view)}; {shield_line(view, plan)}")
        for kind in ("allow", "block"):
            entries = [line for line in acl.ip_lists if line.list_kind == kind]
            if entries:
                out.append(f"  {kind}list ({len(entries)}):")
                out += [f"    {_ip_text(line)}" for line in entries]
        width = max((len(r.name) for r in acl.rules), default=0)
        pad = max((len(r.priority_text) for r in acl.rules), default=4)
        own = [r for r in acl.rules if r.band is None]
        out.append(f"  rules ({len(own)}):" if acl.rules else "  rules: none")
        for rule in acl.rules:
            out.append(
                f"    {rule.priority_text:>{max(pad, 4)}}  {rule.name:<{width}}  "
                f"{rule.action:<13}  {rule.what}"
            )
        out.append("")
    for view in endpoint_views(plan):
        if view.web_acl is None:
            out += [f"{view.product}/{view.endpoint} ({view.kind}) {view.arn}", "  no web ACL", ""]
    return out


def render_waf_markdown(plan: PlanResult) -> list[str]:
    """The endpoint table, then each web ACL's details (collapsed) as markdown lines."""
    out = [
        "| product / endpoint | kind | web ACL | default | WCU | hand-off | Shield Advanced |",
        "|---|---|---|---|---|---|---|",
    ]
    acls = acl_views(plan)
    by_record = {id(a.record): a for a in acls}
    for view in endpoint_views(plan):
        acl = by_record.get(id(view.web_acl)) if view.web_acl is not None else None
        name = f"`{acl.name}`" if acl else "**none**"
        default = acl.default_action if acl else ""
        wcu = wcu_text(acl) if acl else ""
        out.append(
            f"| {view.product}/{view.endpoint} | {view.kind} | {name} | {default} | {wcu} "
            f"| {hand_off(view)} | {shield_line(view, plan)} |"
        )
    out.append("")
    for acl in acls:
        endpoints = ", ".join(f"{v.product}/{v.endpoint}" for v in acl.endpoints)
        out += [
            f"<details><summary><code>{acl.name}</code> ({acl.owner}): default "
            f"{acl.default_action}, {len([r for r in acl.rules if r.band is None])} rules, "
            f"{len(acl.ip_lists)} CIDRs</summary>",
            "",
            f"{_default_line(acl)}; protects {endpoints or 'no endpoint'}.",
            "",
        ]
        if acl.ip_lists:
            out += ["| list | CIDR | reason | expires |", "|---|---|---|---|"]
            out += [
                f"| {line.list_kind} | `{line.cidr}` | {line.reason} | {line.expires or ''} |"
                for line in acl.ip_lists
            ]
            out.append("")
        out += ["| priority | rule | action | matches |", "|---:|---|---|---|"]
        out += [f"| {r.priority_text} | `{r.name}` | {r.action} | {r.what} |" for r in acl.rules]
        out += ["", "</details>", ""]
    return out


def waf_annotations(plan: PlanResult) -> dict[str, dict[str, Any]]:
    """What the configuration says about each web ACL that no recorded input holds, by URN.

    The plan JSON's ``annotations`` (README, "Plan JSON"): each IP list entry's reason and
    expiry, each exclusion's reason, guard's own WCU and the tuner sharing the web ACL, so that
    ``guard diff`` can say why an entry or exclusion is there. Nothing here is deployed.
    """
    products: list[Product] = list(plan.loaded.config.products)
    out: dict[str, dict[str, Any]] = {}
    for acl in acl_views(plan):
        found = waf_for_tags(products, acl.record.inputs.get("tags"))
        exclusions = {}
        if found is not None:
            for ref in found[1].managed_rules:
                for index, exclusion in enumerate(ref.exclusions):
                    if exclusion.reason:
                        exclusions[f"{managed_rule_name(ref)}-exclusion-{index}"] = exclusion.reason
        note: dict[str, Any] = {
            "ip_entries": [
                {"list": e.list_kind, "cidr": e.cidr, "reason": e.reason, "expires": e.expires}
                for e in acl.ip_lists
            ],
            "exclusion_reasons": exclusions,
            "wcu": acl.wcu,
        }
        if acl.tuner is not None:
            note["tuner"] = {
                "service": acl.tuner.service,
                "rule_prefix": acl.tuner.rule_prefix,
                "priorities": acl.tuner.priorities.describe(),
                "wcu": acl.tuner.wcu,
            }
        out[acl.record.urn] = note
    return out
