"""guard diff for the SIEM: how long the domain keeps its indices, and which indices.

The retention is the ISM policy in the retention function's invocation (what ``pulumi up``
applies). Keeping indices fewer days, or fewer index patterns under guard's policy, weakens what
an investigation can search without a reload; the function and its role are plumbing, reported
by the other areas (IAM) and the engine.
"""

from __future__ import annotations

from typing import Any

from guard import resource_types as rt
from guard.diff_model import AreaDiffer, Change, PlanDocument, parse_json_text
from guard.diff_parts import Report, pairs, side
from guard.siem_retention import DomainRetention, domain_retention

RETENTION = "guard:siem:SiemRetention"


def _retention(inputs: Any) -> DomainRetention | None:
    return domain_retention(parse_json_text((inputs or {}).get("input")))


def compare(base: PlanDocument, head: PlanDocument) -> list[Change]:
    out: list[Change] = []
    report = Report("siem", "SIEM retention", out)
    before_all, after_all = (
        base.within(RETENTION, rt.INVOCATION),
        head.within(RETENTION, rt.INVOCATION),
    )
    for pair in pairs(before_all, after_all):
        _, kind = side(pair)
        old, new = (_retention(r.inputs) if r is not None else None for r in pair)
        if kind == "added" and new is not None:
            report.gain(
                "retention",
                new.hot_days,
                "strengthens",
                f"guard now keeps {', '.join(new.indices)} {new.hot_days} days hot in the SIEM "
                f"(deleted at {new.delete_after_days} days) with ISM policy {new.policy_id}",
            )
            continue
        if kind == "removed" and old is not None:
            report.loss(
                "retention",
                old.hot_days,
                "neutral",
                f"guard no longer manages the SIEM's retention (ISM policy {old.policy_id} stays "
                "in the domain until someone deletes it)",
            )
            continue
        if old is None or new is None:
            continue
        for label, a, b in (
            ("hot_days", old.hot_days, new.hot_days),
            ("delete_after_days", old.delete_after_days, new.delete_after_days),
        ):
            if a != b:
                report.add(
                    "changed",
                    f"retention.{label}",
                    a,
                    b,
                    "strengthens" if b > a else "weakens",
                    f"the SIEM keeps indices {b} days {'hot' if label == 'hot_days' else 'in all'}"
                    f" (was {a})",
                )
        for pattern in sorted(set(old.indices) - set(new.indices)):
            report.loss(
                f"retention.indices[{pattern}]",
                pattern,
                "neutral",
                f"indices {pattern} are no longer given guard's retention policy",
            )
        for pattern in sorted(set(new.indices) - set(old.indices)):
            report.gain(
                f"retention.indices[{pattern}]",
                pattern,
                "neutral",
                f"indices {pattern} now get guard's retention policy",
            )
    return out


DIFFER = AreaDiffer("siem", {rt.INVOCATION: frozenset({"*"})}, compare, within=("guard:siem:",))
