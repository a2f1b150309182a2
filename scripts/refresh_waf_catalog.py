"""Refresh guard/data/managed_rule_groups.yaml from AWS: each group's WCUs, rules and labels.

    python scripts/refresh_waf_catalog.py [--dry-run] [--region R] [--profile P] [--endpoint-url U]

Needs credentials allowed ``wafv2:DescribeManagedRuleGroup``. For every group in the catalog it
calls DescribeManagedRuleGroup (Scope=REGIONAL, the group's default version), takes the WCUs from
``Capacity``, the rules and their order from ``Rules[].Name``, and each rule's label from
``AvailableLabels``, then rewrites the file in one fixed layout so the diff shows only real
changes. Exit status: 0 done (or nothing to do), 2 on a malformed catalog, missing credentials or
an API error; nothing is written in that case.
"""

from __future__ import annotations

import argparse
import copy
import difflib
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import boto3
import yaml
from botocore.exceptions import BotoCoreError, ClientError

from guard.aws_errors import describe_failure
from guard.waf_catalog import (
    DEFAULT_PATH,
    LABEL_PREFIX,
    CatalogError,
    load_catalog_data,
    validate_catalog,
)

if TYPE_CHECKING:
    from mypy_boto3_wafv2 import WAFV2Client

Scope = Literal["REGIONAL", "CLOUDFRONT"]
SCOPE: Scope = "REGIONAL"
DEFAULT_REGION = "us-east-1"
#: Bot Control's targeted-level rules all start with this (AWS WAF Developer Guide).
TARGETED_PREFIX = "TGT_"

HEADER = """\
# AWS managed rule groups that guard knows by alias: vendor, name, WCUs, rules in AWS's order and
# the label each rule adds (exclusions match on it). See `source` for where the data came from.
# scripts/refresh_waf_catalog.py rewrites this file from the AWS API in exactly this layout;
# comments other than this header are not kept.
"""

ChangeKind = Literal["rule-added", "rule-removed", "rule-order", "wcu", "label", "warning"]


@dataclass(frozen=True)
class Change:
    """One difference between the catalog and AWS, or a warning about one."""

    alias: str
    kind: ChangeKind
    detail: str

    def __str__(self) -> str:
        prefix = "warning: " if self.kind == "warning" else ""
        return f"{prefix}{self.alias}: {self.detail}"


# ---------------------------------------------------------------------------------------------
# Writing the YAML
# ---------------------------------------------------------------------------------------------


def _quoted(text: str) -> str:
    # A JSON string is a valid YAML double-quoted scalar.
    return json.dumps(text, ensure_ascii=False)


def _plain_or_quoted(text: str) -> str:
    """Plain when YAML reads it back as the same string in a flow mapping, else quoted."""
    try:
        if yaml.safe_load(f"{{k: {text}}}") == {"k": text}:
            return text
    except yaml.YAMLError:
        pass
    return _quoted(text)


def dump_catalog(data: Mapping[str, Any]) -> str:
    """The catalog as YAML in guard's fixed layout: same data, same text."""
    lines = [HEADER.rstrip("\n"), "", "source:"]
    lines += [f"  - {_quoted(str(s))}" for s in data["source"]]
    lines.append(f"refreshed: {_quoted(str(data['refreshed']))}")
    lines.append("groups:")
    for alias, group in data["groups"].items():
        lines.append(f"  {alias}:")
        lines.append(f"    vendor: {_plain_or_quoted(str(group['vendor']))}")
        lines.append(f"    name: {_plain_or_quoted(str(group['name']))}")
        lines.append(f"    wcu: {int(group['wcu'])}")
        lines.append(f"    description: {_quoted(str(group['description']))}")
        lines.append("    rules:")
        for rule in group["rules"]:
            name = _plain_or_quoted(str(rule["name"]))
            lines.append(f"      - {{name: {name}, label: {_quoted(str(rule['label']))}}}")
        if group.get("config"):
            config = yaml.safe_dump(
                dict(group["config"]), default_flow_style=False, sort_keys=False
            )
            lines.append("    config:")
            lines += [f"      {line}" for line in config.splitlines()]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# Refreshing from the API
# ---------------------------------------------------------------------------------------------


def _normalized(text: str) -> str:
    return text.replace("_", "").lower()


def match_label(rule_name: str, labels: Sequence[str]) -> str | None:
    """The label whose last segment is the rule name, ignoring case and '_'.

    AWS spells labels differently from rule names (SQLi_QUERYARGUMENTS adds
    ...:SQLi_QueryArguments), so an exact match is preferred only as a tie-break.
    """
    candidates = [
        label
        for label in labels
        if label.startswith(LABEL_PREFIX)
        and _normalized(label.rsplit(":", 1)[-1]) == _normalized(rule_name)
    ]
    for label in candidates:
        if label.rsplit(":", 1)[-1] == rule_name:
            return label
    return candidates[0] if candidates else None


def _common_level_only(group: Mapping[str, Any]) -> bool:
    config = group.get("config") or {}
    bot_control = config.get("AWSManagedRulesBotControlRuleSet") or {}
    return bool(bot_control.get("InspectionLevel") == "COMMON")


def refresh_group(
    alias: str, group: Mapping[str, Any], response: Mapping[str, Any]
) -> tuple[dict[str, Any], list[Change]]:
    """One group updated from a DescribeManagedRuleGroup response."""
    new = copy.deepcopy(dict(group))
    changes: list[Change] = []

    capacity = response.get("Capacity")
    if capacity is not None and int(capacity) != group["wcu"]:
        changes.append(Change(alias, "wcu", f"WCU {group['wcu']} -> {capacity}"))
        new["wcu"] = int(capacity)

    names = [str(rule["Name"]) for rule in response.get("Rules", [])]
    if _common_level_only(group):
        # The catalog records the inspection level it configures; TGT_ rules never run there.
        names = [name for name in names if not name.startswith(TARGETED_PREFIX)]
    labels = [str(label["Name"]) for label in response.get("AvailableLabels", [])]
    old = {str(rule["name"]): str(rule["label"]) for rule in group["rules"]}

    rules = []
    for name in names:
        label = match_label(name, labels)
        existing = old.get(name)
        if label is None and existing is None:
            # Fail closed: a guessed label would make an exclusion rule never match, letting
            # through what the group blocks. Without the rule, configs naming it are rejected.
            changes.append(
                Change(
                    alias,
                    "warning",
                    f"AWS added rule {name} but no AvailableLabels entry matches it; not added. "
                    "Add it by hand with the label from the AWS WAF Developer Guide.",
                )
            )
            continue
        if label is None:
            assert existing is not None
            label = existing
            # AWS sometimes names a label differently from its rule
            # (UserAgent_BadBots_HEADER adds ...:BadBots_Header); that is fine while AWS lists it.
            if existing not in labels:
                changes.append(
                    Change(
                        alias,
                        "warning",
                        f"no label in AvailableLabels matches rule {name}; kept {existing}, "
                        "which AWS does not list. Check it in the AWS WAF Developer Guide.",
                    )
                )
        if existing is None:
            changes.append(Change(alias, "rule-added", f"rule added: {name} ({label})"))
        elif existing != label:
            changes.append(Change(alias, "label", f"{name}: label {existing} -> {label}"))
        rules.append({"name": name, "label": label})

    kept = {rule["name"] for rule in rules}
    for name in old:
        if name not in names:
            changes.append(Change(alias, "rule-removed", f"rule removed: {name}"))
    old_order = [name for name in old if name in kept]
    new_order = [rule["name"] for rule in rules if rule["name"] in old]
    if old_order != new_order:
        changes.append(Change(alias, "rule-order", "rules reordered as AWS lists them"))

    if not rules:
        changes.append(
            Change(alias, "warning", "AWS listed no usable rules; kept the catalog's rules")
        )
        rules = copy.deepcopy(list(group["rules"]))
    new["rules"] = rules
    return new, changes


def refresh(
    catalog: Mapping[str, Any],
    client: WAFV2Client | Any,
    *,
    scope: Scope = SCOPE,
    stamp: str | None = None,
) -> tuple[dict[str, Any], list[Change]]:
    """The catalog updated from DescribeManagedRuleGroup, and what changed.

    ``stamp`` replaces ``refreshed`` when anything other than a warning changed, so a run that
    finds nothing new leaves the file byte for byte as it was.
    """
    new = copy.deepcopy(dict(catalog))
    changes: list[Change] = []
    for alias, group in catalog["groups"].items():
        response = client.describe_managed_rule_group(
            VendorName=group["vendor"], Name=group["name"], Scope=scope
        )
        new["groups"][alias], group_changes = refresh_group(alias, group, response)
        changes += group_changes
    if stamp and any(change.kind != "warning" for change in changes):
        new["refreshed"] = stamp
    return new, changes


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Refresh the AWS managed rule group catalog from the AWS WAF API."
    )
    parser.add_argument("--dry-run", action="store_true", help="print the diff; write nothing")
    parser.add_argument(
        "--region", help=f"AWS region to call (default: profile's, else {DEFAULT_REGION})"
    )
    parser.add_argument("--profile", help="AWS named profile")
    parser.add_argument("--endpoint-url", help="WAFV2 endpoint, e.g. for a local emulator")
    parser.add_argument(
        "--catalog", type=Path, default=DEFAULT_PATH, help="catalog file (default: guard's)"
    )
    return parser


def _client(args: argparse.Namespace) -> tuple[Any, str]:
    session = boto3.Session(profile_name=args.profile, region_name=args.region)
    region = session.region_name or DEFAULT_REGION
    return session.client("wafv2", region_name=region, endpoint_url=args.endpoint_url), region


def _error(message: str) -> int:
    print(f"error: {message} Nothing was written.", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None, *, client: Any = None) -> int:
    """Run the refresh; ``client`` lets tests pass a stubbed WAFV2 client."""
    args = _parser().parse_args(argv)
    path: Path = args.catalog
    try:
        data = load_catalog_data(path)
        validate_catalog(data, path)
    except CatalogError as exc:
        return _error(f"the catalog is malformed: {exc}.")

    try:
        if client is None:
            client, region = _client(args)
        else:
            region = args.region or client.meta.region_name
        stamp = (
            f"{date.today().isoformat()} by scripts/refresh_waf_catalog.py from "
            f"DescribeManagedRuleGroup (Scope={SCOPE}, {region})"
        )
        new, changes = refresh(data, client, stamp=stamp)
    except (BotoCoreError, ClientError) as exc:
        return _error(describe_failure(exc))

    new_text = dump_catalog(new)
    try:
        validate_catalog(yaml.safe_load(new_text), path)
    except CatalogError as exc:
        return _error(f"the refreshed catalog would be invalid: {exc}.")

    for change in changes:
        print(change, file=sys.stderr if change.kind == "warning" else sys.stdout)
    if not any(change.kind != "warning" for change in changes):
        print("No changes: the catalog matches AWS.")

    old_text = path.read_text(encoding="utf-8")
    if args.dry_run:
        sys.stdout.writelines(
            difflib.unified_diff(
                old_text.splitlines(keepends=True),
                new_text.splitlines(keepends=True),
                fromfile=f"{path} (current)",
                tofile=f"{path} (refreshed)",
            )
        )
        return 0
    if new_text != old_text:
        path.write_text(new_text, encoding="utf-8")
        print(f"Wrote {path}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
