"""WAF rules in words: a rule's action and what its statement matches, as reviewers read them
(the plan's rule tables and ``guard diff``'s change lines say it the same way)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def action_of(rule: Mapping[str, Any]) -> str:
    """A rule's action as a reviewer reads it: ``block``, ``count``, ``allow``, ``captcha``,
    ``challenge``, or ``group actions`` for a rule group left to its own rules' actions."""
    if "Action" in rule:
        return next(iter(rule["Action"])).lower()
    override = next(iter(rule.get("OverrideAction", {"None": {}})))
    return "count" if override == "Count" else "group actions"


def describe(statement: Mapping[str, Any]) -> str:
    """A statement in words (``over 100 requests / 300 s per IP on paths starting /login``)."""
    ((kind, body),) = statement.items()
    if kind == "RateBasedStatement":
        key = (
            "IP"
            if body["AggregateKeyType"] == "IP"
            else body.get("ForwardedIPConfig", {}).get("HeaderName", "")
        )
        text = f"over {body['Limit']} requests / {body.get('EvaluationWindowSec', 300)} s per {key}"
        scope = body.get("ScopeDownStatement")
        return text + (f" on {describe(scope)}" if scope else "")
    if kind == "ByteMatchStatement":
        return f"paths starting {body['SearchString']}"
    if kind == "IPSetReferenceStatement":
        return "IP set"
    if kind == "ManagedRuleGroupStatement":
        counted = [o["Name"] for o in body.get("RuleActionOverrides", [])]
        suffix = f" (counting {', '.join(counted)})" if counted else ""
        return f"{body['VendorName']} {body['Name']}{suffix}"
    if kind == "RuleGroupReferenceStatement":
        return f"rule group {body['ARN'].split('/')[-2]}"
    if kind == "LabelMatchStatement":
        return f"label {body['Key'].rsplit(':', 1)[-1]}"
    if kind == "NotStatement":
        return f"not {describe(body['Statement'])}"
    if kind in ("AndStatement", "OrStatement"):
        joiner = " and " if kind == "AndStatement" else " or "
        return joiner.join(describe(s) for s in body["Statements"])
    return kind
