"""The WAF area of ``guard diff``: what changes in each web ACL, as a reviewer judges it.

Per web ACL (subject: its product or ``product/profile``, ``(CloudFront)`` for that scope): the
default action, its rules (``guard/diff_waf_rules.py``), the tuner's band and WCU, guard's WCU against the base price; the IP lists by the addresses they
cover (``guard/diff_waf_lists.py``); and which endpoint each web ACL protects.

The rules are read as AWS's JSON from the recorded resources (inline ``ruleJson`` or
``WebAclRule`` children), exactly as the plan's report and the policies read them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from guard.diff_model import ALL_INPUTS, AreaDiffer, Change, PlanDocument, PlanResource
from guard.diff_parts import endpoint_names
from guard.diff_waf_lists import ip_list_changes, web_acl_name_of
from guard.diff_waf_rules import rule_changes, waf_change
from guard.resource_types import ASSOCIATION, IP_SET, WEB_ACL, WEB_ACL_RULE
from guard.waf_rule_form import rules_by_web_acl
from guard.waf_rules import INCLUDED_WCU, owner_tags, waf_owner

Rule = Mapping[str, Any]

#: The component each product's catalog entry (its endpoints) is recorded as.
PRODUCT = "guard:catalog:Product"


def subject_of(web_acl: PlanResource) -> str:
    """``ebook``, ``ebook/static (CloudFront)``: whose web ACL it is, as users write it."""
    product, profile = owner_tags(web_acl.inputs.get("tags"))
    owner = waf_owner(str(product or web_acl.name), profile)
    return f"{owner} (CloudFront)" if web_acl.inputs.get("scope") == "CLOUDFRONT" else owner


def waf_changes(base: PlanDocument, head: PlanDocument) -> list[Change]:
    """Every WAF change from ``base`` to ``head``."""
    out: list[Change] = []
    old_acls = {r.urn: r for r in base.of_type(WEB_ACL)}
    new_acls = {r.urn: r for r in head.of_type(WEB_ACL)}
    old_rules = rules_by_web_acl((r.type, r.urn, r.parent, r.inputs) for r in base.resources)
    new_rules = rules_by_web_acl((r.type, r.urn, r.parent, r.inputs) for r in head.resources)
    for urn in sorted(set(old_acls) | set(new_acls)):
        before, after = old_acls.get(urn), new_acls.get(urn)
        if before is None or after is None:
            out.append(_acl_added_or_removed(before, after, old_rules, new_rules))
            continue
        subject = subject_of(after)
        out += _default_action(subject, before, after)
        out += rule_changes(subject, old_rules[urn], new_rules[urn], base, head)
        out += _tuner_and_wcu(subject, urn, before, after, base, head)
    out += ip_list_changes(base, head, {**old_acls, **new_acls}, subject_of)
    out += association_changes(base, head)
    return out


def _acl_added_or_removed(
    before: PlanResource | None,
    after: PlanResource | None,
    old_rules: Mapping[str, Sequence[Rule]],
    new_rules: Mapping[str, Sequence[Rule]],
) -> Change:
    if after is not None:
        rules = new_rules.get(after.urn, [])
        default = next(iter(after.inputs.get("defaultAction") or {"allow": {}}))
        return waf_change(
            subject_of(after),
            "added",
            "web_acl",
            None,
            after.name,
            "strengthens",
            f"new web ACL {after.name}: default {default}, {len(rules)} rule(s)",
        )
    assert before is not None
    rules = old_rules.get(before.urn, [])
    return waf_change(
        subject_of(before),
        "removed",
        "web_acl",
        before.name,
        None,
        "weakens",
        f"web ACL {before.name} is deleted with its {len(rules)} rule(s)",
    )


def _default_action(subject: str, before: PlanResource, after: PlanResource) -> list[Change]:
    old = next(iter(before.inputs.get("defaultAction") or {"allow": {}}))
    new = next(iter(after.inputs.get("defaultAction") or {"allow": {}}))
    if old == new:
        return []
    weakens = new == "allow"
    return [
        waf_change(
            subject,
            "changed",
            "default_action",
            old,
            new,
            "weakens" if weakens else "strengthens",
            "a request no rule stops now reaches the application (default allow)"
            if weakens
            else "only requests an allow rule matches get through now (default block)",
        )
    ]


def _tuner_and_wcu(
    subject: str,
    urn: str,
    before: PlanResource,
    after: PlanResource,
    base: PlanDocument,
    head: PlanDocument,
) -> list[Change]:
    old_note = base.annotations.get(urn) or {}
    new_note = head.annotations.get(urn) or {}
    out = []
    old_shared = "rules" in before.ignore_changes
    new_shared = "rules" in after.ignore_changes
    old_tuner, new_tuner = old_note.get("tuner"), new_note.get("tuner")
    # A plan from before annotations has no tuner note: only the rule list sharing compares.
    noted = bool(old_note) and bool(new_note)
    if old_shared != new_shared or (noted and old_tuner != new_tuner):
        if new_shared and not old_shared:
            who = (new_tuner or {}).get("service", "a tuner")
            band = (new_tuner or {}).get("priorities", "?")
            reason = (
                f"{who} may now write its own rules (priorities {band}) into this web ACL; "
                "guard does not review them"
            )
            out.append(waf_change(subject, "added", "tuner", None, new_tuner, "weakens", reason))
        elif old_shared and not new_shared:
            who = (old_tuner or {}).get("service", "the tuner")
            reason = f"the next pulumi up replaces the rule list: {who}'s rules are deleted"
            out.append(waf_change(subject, "removed", "tuner", old_tuner, None, "weakens", reason))
        else:
            out.append(
                waf_change(
                    subject,
                    "changed",
                    "tuner",
                    old_tuner,
                    new_tuner,
                    "neutral",
                    f"tuner band or reservation {_tuner_words(old_tuner)} → "
                    f"{_tuner_words(new_tuner)}",
                )
            )
    old_wcu, new_wcu = _total_wcu(old_note), _total_wcu(new_note)
    if old_wcu is not None and new_wcu is not None and old_wcu != new_wcu:
        reason = f"{old_wcu} → {new_wcu} WCU of the {INCLUDED_WCU} the base price includes"
        if old_wcu <= INCLUDED_WCU < new_wcu:
            reason += "; now over it: every 500 WCU more cost extra per request"
        elif new_wcu <= INCLUDED_WCU < old_wcu:
            reason += "; back within it"
        out.append(waf_change(subject, "changed", "wcu", old_wcu, new_wcu, "neutral", reason))
    return out


def _tuner_words(tuner: Mapping[str, Any] | None) -> str:
    if not tuner:
        return "none"
    return f"{tuner.get('service')} {tuner.get('priorities')} ({tuner.get('wcu')} WCU)"


def _total_wcu(note: Mapping[str, Any]) -> int | None:
    if "wcu" not in note:
        return None  # a plan from before annotations: no WCU figure to compare
    return int(note["wcu"]) + int((note.get("tuner") or {}).get("wcu", 0))


def _protections(plan: PlanDocument) -> dict[str, str]:
    """Which web ACL (by name) each resource ARN gets: ALB associations and CloudFront hand-offs."""
    found = {
        str(r.inputs.get("resourceArn")): web_acl_name_of(str(r.inputs.get("webAclArn")))
        for r in plan.of_type(ASSOCIATION)
    }
    handoffs = plan.outputs.get("cloudfront_web_acls") or {}
    for item in handoffs.values() if isinstance(handoffs, Mapping) else []:
        found[str(item.get("distribution"))] = web_acl_name_of(str(item.get("web_acl_arn")))
    return found


def association_changes(base: PlanDocument, head: PlanDocument) -> list[Change]:
    """Endpoints that gain, lose or change the web ACL that protects them."""
    old, new = _protections(base), _protections(head)
    names = endpoint_names(base, head)
    out = []
    for arn in sorted(set(old) | set(new)):
        before, after = old.get(arn), new.get(arn)
        if before == after:
            continue
        endpoint = names.get(arn, arn)
        path = f"associations[{endpoint}]"
        if before is None:
            out.append(
                waf_change(
                    endpoint,
                    "added",
                    path,
                    None,
                    after,
                    "strengthens",
                    f"{endpoint} is now protected by web ACL {after}",
                )
            )
        elif after is None:
            out.append(
                waf_change(
                    endpoint,
                    "removed",
                    path,
                    before,
                    None,
                    "weakens",
                    f"{endpoint} is no longer protected by any web ACL (was {before})",
                )
            )
        else:
            out.append(
                waf_change(
                    endpoint,
                    "changed",
                    path,
                    before,
                    after,
                    "weakens",
                    f"{endpoint} moves to web ACL {after} (was {before}): review its rules",
                )
            )
    return out


DIFFER = AreaDiffer(
    "waf",
    {
        WEB_ACL: frozenset(
            {"defaultAction", "ruleJson", "rules", "description", "name", "scope", "ignore_changes"}
        ),
        WEB_ACL_RULE: ALL_INPUTS,
        IP_SET: frozenset({"addresses", "ipAddressVersion", "name", "scope", "description"}),
        ASSOCIATION: ALL_INPUTS,
        # The catalog: its endpoints are read through the associations they get.
        PRODUCT: frozenset({"endpoints", "owner"}),
    },
    waf_changes,
)
