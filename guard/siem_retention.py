"""How long each side keeps the SIEM's logs: OpenSearch (the ISM policy guard applies) against
S3 (the log buckets' lifecycle), read from the resources a plan records.

The SIEM re-indexes old logs from S3 (``guard siem reload``), so S3 must keep every object the
loader is notified of at least as long as the domain keeps its index. Plain functions over the
engine's inputs (camelCase), shared by the plan's SIEM section and the policy that judges it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from guard.siem_ism import delete_after_days_of, hot_days_of


@dataclass(frozen=True)
class DomainRetention:
    """What the ISM policy in an invocation's input keeps, and for which indices."""

    policy_id: str
    indices: tuple[str, ...]
    hot_days: int
    delete_after_days: int


def domain_retention(event: Any) -> DomainRetention | None:
    """The retention a retention function's event applies; None if it is not such an event."""
    if not isinstance(event, Mapping) or not isinstance(event.get("policy"), Mapping):
        return None
    body = event["policy"]
    try:
        hot, delete = hot_days_of(body), delete_after_days_of(body)
    except ValueError:
        return None
    templates = (body.get("policy") or {}).get("ism_template") or []
    indices = tuple(p for t in templates for p in t.get("index_patterns") or [])
    return DomainRetention(str(event.get("policy_id", "?")), indices, hot, delete)


def expiration_days(rules: Iterable[Mapping[str, Any]], prefix: str) -> int | None:
    """The days after which an enabled lifecycle rule deletes objects under ``prefix``: the
    shortest of the rules whose filter prefix covers it (None when nothing expires them)."""
    days = [
        int((rule.get("expiration") or {})["days"])
        for rule in rules
        if rule.get("status") == "Enabled"
        and (rule.get("expiration") or {}).get("days")
        and prefix.startswith(str((rule.get("filter") or {}).get("prefix") or ""))
    ]
    return min(days) if days else None
