"""WCU of a recorded web ACL, from its rules and the stack's catalog (for marketplace groups)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from guard.waf_rules import statement_wcu, waf_for_tags
from policies.framework import stack_config, web_acl_rules


def web_acl_wcu(props: Mapping[str, Any]) -> int | None:
    """Total WCU, or None when a group's WCU is unknown to both the catalog and the config."""
    loaded = stack_config()
    found = waf_for_tags(loaded.config.products, props.get("tags")) if loaded else None
    waf = found[1] if found is not None else None
    try:
        return sum(statement_wcu(rule["Statement"], waf) for rule in web_acl_rules(props))
    except (KeyError, ValueError):
        return None
