"""WCU of a recorded web ACL: guard's rules, from the stack's catalog (for marketplace and
external groups), plus the capacity reserved for a tuner's rules."""

from __future__ import annotations

from guard.waf_rules import statement_wcu
from policies.web_acls import WebAclView


def web_acl_wcu(acl: WebAclView) -> int | None:
    """Total WCU, or None when a group's WCU is unknown to both the catalog and the config."""
    try:
        own = sum(statement_wcu(rule["Statement"], acl.waf) for rule in acl.rules)
    except (KeyError, ValueError):
        return None
    return own + (acl.tuner.wcu if acl.tuner is not None else 0)


def reserved(acl: WebAclView) -> str:
    """How the total divides, for a message: '' without a tuner."""
    if acl.tuner is None:
        return ""
    return f" (of which {acl.tuner.wcu} reserved for {acl.tuner.rule_prefix}* rules)"
