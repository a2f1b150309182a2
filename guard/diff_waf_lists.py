"""The IP lists of ``guard diff``: what each web ACL's allowlist and blocklist cover.

Lists are compared by the addresses they cover, not by their entries' text: narrowing
``203.0.113.0/24`` to ``203.0.113.0/25`` is read as "the blocklist loses 203.0.113.128/25". Each
line carries the entry's reason and expiry from the plan's annotations (README, "Plan JSON").
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from guard.diff_model import Change, Effect, PlanDocument, PlanResource
from guard.resource_types import IP_SET

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
LIST_SUFFIXES = ("-allow-ipv4", "-allow-ipv6", "-block-ipv4", "-block-ipv6")


def web_acl_name_of(arn: str) -> str:
    """``guard-prod-ebook-alb`` from ``arn:aws:wafv2:…:regional/webacl/guard-prod-ebook-alb/<id>``."""
    parts = arn.split("/")
    return parts[-2] if len(parts) >= 3 else arn


def _lists(plan: PlanDocument) -> dict[tuple[str, str], list[Network]]:
    """(web ACL name, allow|block) → the networks of its IPv4 and IPv6 sets."""
    out: dict[tuple[str, str], list[Network]] = {}
    for ip_set in plan.of_type(IP_SET):
        name = str(ip_set.inputs.get("name") or ip_set.name)
        suffix = next((s for s in LIST_SUFFIXES if name.endswith(s)), None)
        if suffix is None:
            continue
        key = (name.removesuffix(suffix), suffix.split("-")[1])
        out.setdefault(key, [])
        out[key] += [ipaddress.ip_network(str(a), strict=False) for a in _addresses(ip_set)]
    return out


def _addresses(ip_set: PlanResource) -> list[Any]:
    found = ip_set.inputs.get("addresses") or []
    return [a for a in found if isinstance(a, str) and "[" not in a]  # no "[unknown]"


def _collapsed(networks: Iterable[Network]) -> list[Network]:
    """IPv4 then IPv6, each merged into as few CIDRs as possible (collapse takes one version)."""
    given = list(networks)
    out: list[Network] = []
    for version in (4, 6):
        out += ipaddress.collapse_addresses(n for n in given if n.version == version)  # type: ignore[type-var]
    return out


def uncovered(networks: Iterable[Network], by: Iterable[Network]) -> list[Network]:
    """The parts of ``networks`` that no network of ``by`` covers, as few CIDRs as possible."""
    cover = list(by)
    left: list[Network] = []
    for network in _collapsed(networks):
        pieces = [network]
        for other in cover:
            if other.version != network.version:
                continue
            next_pieces: list[Network] = []
            for piece in pieces:
                if piece.subnet_of(other):  # type: ignore[arg-type]
                    continue
                if other.subnet_of(piece):  # type: ignore[arg-type]
                    next_pieces += list(piece.address_exclude(other))  # type: ignore[arg-type]
                else:
                    next_pieces.append(piece)
            pieces = next_pieces
        left += pieces
    return _collapsed(left)


def _entries(plan: PlanDocument, acl_urn: str | None, list_kind: str) -> list[Mapping[str, Any]]:
    note = plan.annotations.get(acl_urn or "") or {}
    return [e for e in note.get("ip_entries") or [] if e.get("list") == list_kind]


def _why(entries: list[Mapping[str, Any]], network: Network) -> str:
    """The reason (and expiry) of the entries that overlap ``network``."""
    found = []
    for entry in entries:
        try:
            listed = ipaddress.ip_network(str(entry.get("cidr")), strict=False)
        except ValueError:
            continue
        if listed.version == network.version and listed.overlaps(network):
            expires = f", until {entry['expires']}" if entry.get("expires") else ""
            found.append(f"{entry.get('reason')}{expires}")
    return f" ({'; '.join(dict.fromkeys(found))})" if found else ""


def ip_list_changes(
    base: PlanDocument,
    head: PlanDocument,
    acls: Mapping[str, PlanResource],
    subject_of: Callable[[PlanResource], str],
) -> list[Change]:
    """Addresses each web ACL's lists gain and lose, and entries whose reason or expiry changes.

    A list that appears or goes with its web ACL is reported with the web ACL, not per address.
    """
    by_name = {str(r.inputs.get("name") or r.name): r for r in acls.values()}
    old, new = _lists(base), _lists(head)
    out: list[Change] = []
    for acl_name, list_kind in sorted(set(old) | set(new)):
        acl = by_name.get(acl_name)
        if acl is None or (acl_name, list_kind) not in old or (acl_name, list_kind) not in new:
            continue
        subject = subject_of(acl)
        before, after = old[(acl_name, list_kind)], new[(acl_name, list_kind)]
        path = f"ip_sets[{list_kind}list]"
        blocks = list_kind == "block"
        for network in uncovered(before, after):
            effect: Effect = "weakens" if blocks else "strengthens"
            why = _why(_entries(base, acl.urn, list_kind), network)
            out.append(
                Change(
                    "waf",
                    subject,
                    "removed",
                    path,
                    str(network),
                    None,
                    effect,
                    f"{list_kind}list loses {network}{why}",
                )
            )
        for network in uncovered(after, before):
            effect = "strengthens" if blocks else "weakens"
            why = _why(_entries(head, acl.urn, list_kind), network)
            verb = "blocks" if blocks else "lets through"
            out.append(
                Change(
                    "waf",
                    subject,
                    "added",
                    path,
                    None,
                    str(network),
                    effect,
                    f"{list_kind}list gains {network}: {verb} it{why}",
                )
            )
        out += _entry_notes(base, head, acl.urn, subject, list_kind)
    return out


def _entry_notes(
    base: PlanDocument, head: PlanDocument, urn: str, subject: str, list_kind: str
) -> list[Change]:
    """Entries kept with another reason or expiry (read from both plans' annotations)."""
    old = {str(e.get("cidr")): e for e in _entries(base, urn, list_kind)}
    new = {str(e.get("cidr")): e for e in _entries(head, urn, list_kind)}
    out = []
    for cidr in sorted(set(old) & set(new)):
        before, after = old[cidr], new[cidr]
        if before.get("expires") != after.get("expires"):
            out.append(
                Change(
                    "waf",
                    subject,
                    "changed",
                    f"ip_sets[{list_kind}list][{cidr}].expires",
                    before.get("expires"),
                    after.get("expires"),
                    "neutral",
                    f"{list_kind}list entry {cidr} now expires "
                    f"{after.get('expires') or 'never'} (was {before.get('expires') or 'never'})",
                )
            )
        if before.get("reason") != after.get("reason"):
            out.append(
                Change(
                    "waf",
                    subject,
                    "changed",
                    f"ip_sets[{list_kind}list][{cidr}].reason",
                    before.get("reason"),
                    after.get("reason"),
                    "neutral",
                    f"{list_kind}list entry {cidr}: reason now {after.get('reason')!r}",
                )
            )
    return out
