"""WCU of a recorded web ACL, from its rules and the stack's catalog (for marketplace groups)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from guard.waf_rules import statement_wcu
from policies.framework import stack_config, web_acl_rules


def web_acl_wcu(props: Mapping[str, Any]) -> int | None:
    """Total WCU, or None when a group's WCU is unknown to both the catalog and the config."""
    product_name = (props.get("tags") or {}).get("product")
    loaded = stack_config()
    product = None
    if loaded is not None:
        product = next((p for p in loaded.config.products if p.name == product_name), None)
    try:
        return sum(statement_wcu(rule["Statement"], product) for rule in web_acl_rules(props))
    except (KeyError, ValueError):
        return None
