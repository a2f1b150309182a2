"""``guard diff`` for the organization stack (area ``organization``): what every account of the
organization gets from the security tooling account.

GuardDuty's auto-enable per region (members, each feature) and this account's own detectors;
Security Hub's central configuration (the aggregator's linked regions, the configuration
policy's standards and disabled controls, the OUs and accounts it is associated with); the rule
that announces every account's findings; the Firewall Manager policies (the WAF baseline's
managed rule groups, rate limit and logging, Shield Advanced's automatic mitigation, the
accounts and tagged resources in scope); the delegation made from the management account.

Only the plan's resources under the ``guard:organization:`` components are read, never the
config. A change guard cannot order is reviewed, which weakens until someone reads it.

This module holds GuardDuty and the delegation, and runs the area's other parts:
:mod:`guard.diff_organization_hub` (Security Hub and the findings rule) and
:mod:`guard.diff_organization_fms` (Firewall Manager), built on
:mod:`guard.diff_organization_parts`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from guard import diff_organization_fms as fms
from guard import diff_organization_hub as hub
from guard import resource_types as rt
from guard.diff_detection import FREQUENCIES
from guard.diff_model import (
    ALL_INPUTS,
    AreaDiffer,
    Change,
    Effect,
    Kind,
    PlanDocument,
)
from guard.diff_organization_parts import HELD, PREFIX, changed, ours, region_of
from guard.diff_parts import (
    Handler,
    Pair,
    Report,
    appears,
    came_went,
    ordered,
    pairs,
    side,
    toggle,
)

GD_CONFIGURATION = "aws:guardduty/organizationConfiguration:OrganizationConfiguration"
GD_FEATURE = "aws:guardduty/organizationConfigurationFeature:OrganizationConfigurationFeature"
GD_ADMIN = "aws:guardduty/organizationAdminAccount:OrganizationAdminAccount"
HUB_ADMIN = "aws:securityhub/organizationAdminAccount:OrganizationAdminAccount"
FMS_ADMIN = "aws:fms/adminAccount:AdminAccount"

#: GuardDuty's auto-enable values (of members and of features), from the weakest.
AUTO_ENABLE = ("NONE", "NEW", "ALL")
MEMBERS = {
    "ALL": "every member account, existing and new",
    "NEW": "only accounts that join from now on",
    "NONE": "no member account",
}
#: What a delegation resource makes this account, by type.
ADMINS = {
    GD_ADMIN: "GuardDuty's delegated administrator",
    HUB_ADMIN: "Security Hub's delegated administrator",
    FMS_ADMIN: "Firewall Manager's administrator",
}


def _members(value: Any) -> str:
    return MEMBERS.get(str(value), str(value))


# --- GuardDuty ---------------------------------------------------------------------------------


Move = tuple[Any, Any]


def _auto_enable(what: str, follows: Move | None = None, followers: str = "") -> Handler:
    """An auto-enable setting: ALL > NEW > NONE; a value off that scale weakens. A change equal
    to ``follows`` (the setting it follows made the same move) is said with that setting, which
    names its ``followers``."""

    def handler(report: Report, path: str, old: Any, new: Any) -> None:
        if (old, new) == follows:
            return
        up = {old, new} <= set(AUTO_ENABLE) and AUTO_ENABLE.index(new) > AUTO_ENABLE.index(old)
        text = f"{what} {_members(new)} ({new}; was {old}: {_members(old)}){followers}"
        report.add("changed", path, old, new, "strengthens" if up else "weakens", text)

    return handler


def _moves(pairs_: list[Pair], key: str) -> dict[str, Move]:
    """``name -> (before, after)`` of an input that changed, for resources on both sides."""
    out = {}
    for before, after in pairs_:
        if before is not None and after is not None:
            move = before.inputs.get(key), after.inputs.get(key)
            if move[0] != move[1]:
                out[after.name] = move
    return out


def _auto_effects(value: Any) -> tuple[Effect, Effect]:
    """Declaring an auto-enable setting strengthens, and dropping it weakens, unless NONE."""
    return ("neutral", "neutral") if value == "NONE" else ("strengthens", "weakens")


def _org_extras(region: str, feature: str, follows: Move | None) -> Handler:
    """A feature's additional configurations (Runtime Monitoring's agents), each auto-enabled;
    a move equal to ``follows`` (its feature's, or the members') is said there."""

    def handler(report: Report, path: str, old: Any, new: Any) -> None:
        before, after = (
            {str(c.get("name")): c.get("autoEnable") for c in v or [] if isinstance(c, Mapping)}
            for v in (old, new)
        )
        for name in sorted(before.keys() | after.keys()):
            a, b, where = before.get(name), after.get(name), f"{path}[{name}]"
            what = f"GuardDuty in {region} auto-enables {feature}'s {name} for"
            if a is not None and b is not None:
                if a != b:
                    _auto_enable(what, follows)(report, where, a, b)
                continue
            kind: Kind = "added" if a is None else "removed"
            value = b if a is None else a
            effects = _auto_effects(value)
            text = (
                f"{what} {_members(value)} ({value})"
                if kind == "added"
                else f"GuardDuty in {region} no longer auto-enables {feature}'s {name} for "
                f"member accounts (was {value})"
            )
            report.add(kind, where, a, b, effects[0 if kind == "added" else 1], text)

    return handler


def _enabled_extras(region: str, feature: str) -> Handler:
    """This account's own feature's additional configurations, by the names enabled."""

    def handler(report: Report, path: str, old: Any, new: Any) -> None:
        a, b = (
            [str(c.get("name")) for c in v or [] if c.get("status") == "ENABLED"]
            for v in (old, new)
        )
        what = f"the administrator's GuardDuty in {region}"
        texts = (f"{what} starts {feature}'s {{}}", f"{what} stops {feature}'s {{}}")
        came_went(report, path, a, b, texts)

    return handler


def _by_region(found: list[Pair]) -> set[tuple[str, Kind]]:
    """The regions whose resource of ``found`` is added or removed, with which."""
    out = set()
    for pair in found:
        resource, kind = side(pair)
        if kind is not None:
            out.add((region_of(resource), kind))
    return out


def _guardduty(base: PlanDocument, head: PlanDocument, out: list[Change]) -> None:
    """The auto-enable settings: what every member account gets, per region."""
    configurations = pairs(ours(base, GD_CONFIGURATION), ours(head, GD_CONFIGURATION))
    features = pairs(ours(base, GD_FEATURE), ours(head, GD_FEATURE))
    whole = _by_region(configurations)
    # Features (and their agents) that move as the members do are said with the members' move.
    regions = {p[1].name: region_of(p[1]) for p in configurations if p[1] is not None}
    members = {
        regions[name]: move
        for name, move in _moves(configurations, "autoEnableOrganizationMembers").items()
    }
    moved = _moves(features, "autoEnable")
    followers: dict[str, list[str]] = {}
    for pair in features:
        feature = pair[1]
        if feature is not None and moved.get(feature.name) == members.get(region_of(feature)):
            followers.setdefault(region_of(feature), []).append(str(feature.inputs.get("name")))
    for pair in configurations:
        resource, kind = side(pair)
        region = region_of(resource)
        report = Report("organization", f"GuardDuty {region}", out)
        if kind is None:
            what = f"GuardDuty's organization configuration in {region}"
            names = sorted(followers.get(region, []))
            tail = f"; so do its features {', '.join(names)}" if names else ""
            move = _auto_enable(f"GuardDuty in {region} auto-enables", followers=tail)
            changed(report, "organization", pair, what, {"autoEnableOrganizationMembers": move})
            continue
        names = sorted(
            str(side(p)[0].inputs.get("name"))
            for p in features
            if side(p)[1] == kind and region_of(side(p)[0]) == region
        )
        value = resource.inputs.get("autoEnableOrganizationMembers")
        whom = f"{_members(value)} ({value})" + (f", with {', '.join(names)}" if names else "")
        texts = (
            f"GuardDuty in {region} now auto-enables {whom}",
            f"GuardDuty's organization configuration in {region} leaves the stack (it "
            f"auto-enabled {whom}): guard no longer keeps member accounts enabled there",
        )
        appears(report, kind, "organization", pair, texts, _auto_effects(value))
    for pair in features:
        resource, kind = side(pair)
        region, name = region_of(resource), str(resource.inputs.get("name", resource.name))
        if kind is not None and (region, kind) in whole:
            continue  # said with its region's configuration
        report = Report("organization", f"GuardDuty {region}", out)
        path = f"organization.features[{name}]"
        if kind is None:
            follows = members.get(region)
            handlers = {
                "autoEnable": _auto_enable(
                    f"GuardDuty in {region} auto-enables {name} for", follows
                ),
                "additionalConfigurations": _org_extras(
                    region, name, moved.get(resource.name, follows)
                ),
            }
            changed(report, path, pair, f"GuardDuty's {name} in {region}", handlers)
            continue
        value = resource.inputs.get("autoEnable")
        texts = (
            f"GuardDuty in {region} now auto-enables {name} for {_members(value)} ({value})",
            f"GuardDuty in {region} no longer auto-enables {name} for member accounts "
            f"(was {value})",
        )
        appears(report, kind, path, pair, texts, _auto_effects(value))


def _detectors(base: PlanDocument, head: PlanDocument, out: list[Change]) -> None:
    """This account's own detectors: the administrator's, one per region."""
    detectors = pairs(ours(base, rt.DETECTOR), ours(head, rt.DETECTOR))
    whole = _by_region(detectors)
    for pair in detectors:
        resource, kind = side(pair)
        region = region_of(resource)
        report = Report("organization", f"GuardDuty {region}", out)
        what = f"the administrator's GuardDuty detector in {region}"
        if kind is None:
            handlers = {
                "enable": toggle(f"{what} [runs again|is suspended: it produces no findings]"),
                "findingPublishingFrequency": ordered(
                    FREQUENCIES, f"updated findings in {region} are published after up to"
                ),
            }
            changed(report, "detector", pair, what, handlers)
            continue
        gone = f"{what} is deleted, with its findings history" + (HELD if resource.protect else "")
        appears(report, kind, "detector", pair, (f"{what} is created", gone))
    for pair in pairs(ours(base, rt.DETECTOR_FEATURE), ours(head, rt.DETECTOR_FEATURE)):
        resource, kind = side(pair)
        region, name = region_of(resource), str(resource.inputs.get("name", resource.name))
        if kind is not None and (region, kind) in whole:
            continue  # said with its detector
        report = Report("organization", f"GuardDuty {region}", out)
        path, what = f"detector.features[{name}]", f"the administrator's GuardDuty in {region}"
        if kind is None:
            handlers = {
                "status": toggle(f"{what} [starts|stops] {name}"),
                "additionalConfigurations": _enabled_extras(region, name),
            }
            changed(report, path, pair, f"the administrator's {name} in {region}", handlers)
            continue
        on = resource.inputs.get("status") == "ENABLED"
        effects: tuple[Effect, Effect] = (
            ("strengthens", "weakens") if on else ("neutral", "neutral")
        )
        appears(
            report, kind, path, pair, (f"{what} starts {name}", f"{what} stops {name}"), effects
        )


# --- delegation --------------------------------------------------------------------------------


def _delegation(base: PlanDocument, head: PlanDocument, out: list[Change]) -> None:
    """The one-time step from the management account: declared, then retained when removed."""
    report = Report("organization", "delegation", out)
    for type_token, role in ADMINS.items():
        for pair in pairs(ours(base, type_token), ours(head, type_token)):
            resource, kind = side(pair)
            account = resource.inputs.get("adminAccountId", resource.inputs.get("accountId"))
            where = f" in {region_of(resource)}" if type_token == GD_ADMIN else ""
            what, path = f"account {account} as {role}{where}", f"delegation[{resource.name}]"
            if kind is None:
                changed(report, path, pair, what, {})
                continue
            retained = resource.retain_on_delete
            if kind == "added":
                text = (
                    f"the stack now declares {what} (a one-time step from the management account)"
                )
            elif retained:
                text = f"{what} leaves the stack; it is retained in AWS (retain_on_delete), so "
                text += "only the state forgets it: the delegation stays"
            else:
                text = f"pulumi up deletes {what} (no retain_on_delete): the delegation ends"
            effect: Effect = "neutral" if kind == "added" or retained else "weakens"
            appears(report, kind, path, pair, (text, text), (effect, effect))


def compare(base: PlanDocument, head: PlanDocument) -> list[Change]:
    """Every change of what the organization stack gives its accounts, ``base`` to ``head``."""
    out: list[Change] = []
    _guardduty(base, head, out)
    _detectors(base, head, out)
    hub.security_hub(base, head, out)
    hub.routing(base, head, out)
    fms.firewall_manager(base, head, out)
    _delegation(base, head, out)
    return out


TYPES = (
    rt.DETECTOR,
    rt.DETECTOR_FEATURE,
    GD_CONFIGURATION,
    GD_FEATURE,
    *ADMINS,
    *hub.TYPES,
    *fms.TYPES,
)
DIFFER = AreaDiffer("organization", dict.fromkeys(TYPES, ALL_INPUTS), compare, within=(PREFIX,))
