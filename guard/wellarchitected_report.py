"""``guard wa report``'s output: where a review stands (estimated risks by pillar, improvement
items) and whether its evidence holds (contradictions first), as text, markdown or JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from guard.config.wellarchitected import Review
from guard.wellarchitected_evidence import FAILS, PASSES, UNCHECKED, EvidenceCheck
from guard.wellarchitected_risk import QuestionRisk, counts_by_pillar

RISK_NOTE = (
    "estimated offline from each best practice's published risk level; the Tool applies its own "
    "rules, and guard wa sync prints its counts"
)
_COUNTED = (
    ("HIGH", "high"),
    ("MEDIUM", "medium"),
    ("NONE", "no risk"),
    ("NOT_APPLICABLE", "not applicable"),
    ("UNANSWERED", "unanswered"),
)


@dataclass(frozen=True)
class ReviewReport:
    """A review's standing and its evidence, from one validation and one set of plans."""

    review: Review
    risks: tuple[QuestionRisk, ...]
    checks: tuple[EvidenceCheck, ...]

    @property
    def contradictions(self) -> list[EvidenceCheck]:
        return [c for c in self.checks if c.status == FAILS]

    @property
    def at_risk(self) -> list[QuestionRisk]:
        order = {"HIGH": 0, "MEDIUM": 1}
        return sorted((r for r in self.risks if r.risk in order), key=lambda r: order[r.risk])

    def summary(self) -> dict[str, int]:
        statuses = [c.status for c in self.checks]
        return {
            "high": sum(r.risk == "HIGH" for r in self.risks),
            "medium": sum(r.risk == "MEDIUM" for r in self.risks),
            "evidence": len(statuses),
            "passes": statuses.count(PASSES),
            "fails": statuses.count(FAILS),
            "unchecked": statuses.count(UNCHECKED),
        }

    def to_json(self) -> dict[str, Any]:
        w = self.review.workload
        return {
            "review": self.review.source,
            "workload": {
                "name": w.name,
                "environment": w.environment,
                "stacks": list(w.stacks),
                "lenses": list(w.lenses),
            },
            "catalogs": {
                lens: {"version": c.lens_version, "confirmed": c.confirmed}
                for lens, c in self.review.catalogs.items()
            },
            "summary": self.summary(),
            "contradictions": [c.to_json() for c in self.contradictions],
            "risk_source": "estimate",
            "risks": counts_by_pillar(self.risks),
            "questions": [r.to_json() for r in self.risks],
            "evidence": [c.to_json() for c in self.checks],
        }


def render_json(report: ReviewReport) -> str:
    return json.dumps(report.to_json(), indent=2) + "\n"


def _pillar_line(report: ReviewReport, lens: str, pillar: str, counts: dict[str, int]) -> str:
    catalog = report.review.catalogs[lens]
    parts = [f"{counts[key]} {label}" for key, label in _COUNTED if counts[key]]
    return f"{catalog.pillar_name(pillar)}: {', '.join(parts)}"


def _catalog_line(report: ReviewReport) -> str:
    parts = []
    for lens, catalog in report.review.catalogs.items():
        state = "from the Tool's API" if catalog.confirmed else "seeded from AWS's documentation"
        parts.append(f"{lens} lens {catalog.lens_version} ({state})")
    return "catalog: " + "; ".join(parts)


def _where(check: EvidenceCheck, status: str | None = None) -> str:
    """``prod: <detail>; staging: <detail>``, of the stacks with ``status`` when given."""
    return "; ".join(
        f"{s.stack}: {s.detail}" for s in check.stacks if status is None or s.status == status
    )


def _check_line(check: EvidenceCheck) -> str:
    return f"{check.question_id} / {check.choice_id}: {check.label} ({_where(check)})"


def render_text(report: ReviewReport) -> str:
    w = report.review.workload
    lines = [
        f"Well-Architected review {w.name} ({report.review.source}), stacks: {', '.join(w.stacks)}",
        _catalog_line(report),
        "",
    ]
    bad = report.contradictions
    if bad:
        lines.append(f"CONTRADICTIONS ({len(bad)}): marked as met, but the evidence fails")
        lines += [f"  {_check_line(c)}" for c in bad]
        lines.append("")
    lines.append(f"Risks by pillar ({RISK_NOTE}):")
    for lens, pillars in counts_by_pillar(report.risks).items():
        lines += [f"  {_pillar_line(report, lens, p, c)}" for p, c in pillars.items()]
    at_risk = report.at_risk
    if at_risk:
        lines += ["", "High and medium risks, with their improvement items:"]
        for item in at_risk:
            lines.append(f"  {item.risk:<6} {item.question.title} ({item.question.id})")
            for choice in item.improvements:
                url = f" {choice.url}" if choice.url else ""
                lines.append(f"         - [{choice.risk}] {choice.title} ({choice.id}){url}")
    s = report.summary()
    lines += [
        "",
        f"Evidence: {s['evidence']} checked, {s['passes']} pass, {s['fails']} fail, "
        f"{s['unchecked']} unchecked",
    ]
    current: tuple[str, str] | None = None
    for check in report.checks:
        if (check.question_id, check.choice_id) != current:
            current = (check.question_id, check.choice_id)
            lines.append(f"  {check.question_id} / {check.choice_id}")
        lines.append(f"    {check.status:<9} {check.label} ({_where(check)})")
    return "\n".join(lines) + "\n"


def marker(report: ReviewReport) -> str:
    """The hidden first line that finds the review's pull-request comment section again."""
    return f"<!-- guard-wa:{report.review.source} -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _fold(summary: str, rows: Sequence[str]) -> list[str]:
    return ["", f"<details><summary>{summary}</summary>", "", *rows, "", "</details>"]


def render_markdown(report: ReviewReport) -> str:
    w = report.review.workload
    s = report.summary()
    verdict = (
        f"**{len(report.contradictions)} contradiction(s)**"
        if report.contradictions
        else "no contradiction"
    )
    lines = [
        marker(report),
        f"### Well-Architected review: `{w.name}` ({report.review.source})",
        "",
        f"{verdict}; {s['high']} high and {s['medium']} medium risks (estimated); evidence: "
        f"{s['passes']} pass, {s['fails']} fail, {s['unchecked']} unchecked. {_catalog_line(report)}.",
    ]
    if report.contradictions:
        lines += ["", "#### Contradictions: marked as met, but the evidence fails", ""]
        lines += ["| question | choice | evidence | where |", "| --- | --- | --- | --- |"]
        for c in report.contradictions:
            where = _cell(_where(c, FAILS))
            lines.append(f"| {c.question_id} | `{c.choice_id}` | {c.label} | {where} |")
    lines += ["", f"#### Risks by pillar ({RISK_NOTE})", ""]
    lines += ["| pillar | " + " | ".join(label for _, label in _COUNTED) + " |"]
    lines += ["| --- " * (len(_COUNTED) + 1) + "|"]
    for lens, pillars in counts_by_pillar(report.risks).items():
        for pillar, counts in pillars.items():
            name = report.review.catalogs[lens].pillar_name(pillar)
            lines.append(f"| {name} | " + " | ".join(str(counts[k]) for k, _ in _COUNTED) + " |")
    items = []
    for item in report.at_risk:
        items.append(f"- **{item.risk}** {_cell(item.question.title)} (`{item.question.id}`)")
        for choice in item.improvements:
            title = f"[{choice.title}]({choice.url})" if choice.url else choice.title
            items.append(f"  - {choice.risk}: {title} (`{choice.id}`)")
    if items:
        lines += _fold(f"Improvement items ({len(report.at_risk)} questions)", items)
    rows = ["| status | question | choice | evidence |", "| --- | --- | --- | --- |"]
    rows += [
        f"| {c.status} | {c.question_id} | `{c.choice_id}` | {c.label} |" for c in report.checks
    ]
    if report.checks:
        lines += _fold(f"Evidence ({s['evidence']} checks)", rows)
    return "\n".join(lines) + "\n"
