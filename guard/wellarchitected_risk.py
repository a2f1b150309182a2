"""Where a review stands, offline: each question's risk estimated from its answer, and the
improvement items (the best practices not met), by pillar.

The Tool computes a question's risk with rules AWS does not publish for its own lenses. This
estimate uses what is published: each best practice's "level of risk exposed if this best
practice is not established" (the catalog's ``risk``). A question is at the highest level among
the best practices its answer leaves unmet: HIGH, MEDIUM, or NONE when only low ones are left.
It is labelled an estimate wherever it is shown; ``guard wa sync`` prints the Tool's own counts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from guard.config.wellarchitected import Answer, Review
from guard.wellarchitected_catalog import Catalog, Choice, Question

#: The Tool's risk values (``Risk``), most severe first.
RISKS = ("HIGH", "MEDIUM", "NONE", "NOT_APPLICABLE", "UNANSWERED")
_LEVEL = {"high": "HIGH", "medium": "MEDIUM"}


@dataclass(frozen=True)
class QuestionRisk:
    """One question's estimated risk and the best practices its answer leaves unmet."""

    lens: str
    pillar: str
    question: Question
    risk: str
    #: Unmet best practices at high or medium risk, high first: the improvement items.
    improvements: tuple[Choice, ...]
    #: Unmet best practices whose risk level the catalog does not know.
    unknown: tuple[Choice, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "lens": self.lens,
            "pillar": self.pillar,
            "question": self.question.id,
            "title": self.question.title,
            "risk": self.risk,
            "improvements": [
                {"choice": c.id, "title": c.title, "risk": c.risk, "url": c.url}
                for c in self.improvements
            ],
            "unknown_risk": [c.id for c in self.unknown],
        }


def question_risk(question: Question, selected: Sequence[str] | None, applicable: bool) -> str:
    """The estimate for one question: ``selected`` is None when the review does not answer it."""
    return _risk_and_unmet(question, selected, applicable)[0]


def _risk_and_unmet(
    question: Question, selected: Sequence[str] | None, applicable: bool
) -> tuple[str, list[Choice]]:
    """The estimate and the best practices it leaves unmet (none for a question that does not
    apply or is not answered)."""
    if not applicable:
        return "NOT_APPLICABLE", []
    if not selected:
        return "UNANSWERED", []
    unmet = _unmet(question, selected)
    levels = {c.risk for c in unmet}
    risk = next((_LEVEL[level] for level in ("high", "medium") if level in levels), "NONE")
    return risk, unmet


def _unmet(question: Question, selected: Sequence[str]) -> list[Choice]:
    """The best practices not selected; all of them when "None of these" is."""
    none_choice = question.none_choice
    met = set() if none_choice in selected else set(selected)
    return [c for c in question.choices if c.id != none_choice and c.id not in met]


def _estimate(lens: str, catalog: Catalog, answers: Mapping[str, Answer]) -> list[QuestionRisk]:
    found = []
    for question in catalog.questions:
        answer = answers.get(question.id)
        applicable = answer is None or answer.not_applicable is None
        selected = answer.choice_ids() if answer is not None else None
        risk, unmet = _risk_and_unmet(question, selected, applicable)
        rank = {"high": 0, "medium": 1}
        improvements = sorted((c for c in unmet if c.risk in rank), key=lambda c: rank[c.risk])
        found.append(
            QuestionRisk(
                lens,
                question.pillar,
                question,
                risk,
                tuple(improvements),
                tuple(c for c in unmet if c.risk == "unknown"),
            )
        )
    return found


def estimate(review: Review) -> list[QuestionRisk]:
    """Every question of every reviewed lens, in catalog order."""
    found: list[QuestionRisk] = []
    for lens in review.workload.lenses:
        catalog = review.catalogs[lens]
        found += _estimate(lens, catalog, review.file.answers.get(lens, {}))
    return found


def counts_by_pillar(risks: Sequence[QuestionRisk]) -> dict[str, dict[str, dict[str, int]]]:
    """lens -> pillar -> risk -> questions, every risk present (zeros included)."""
    counts: dict[str, dict[str, dict[str, int]]] = {}
    for item in risks:
        pillar = counts.setdefault(item.lens, {}).setdefault(item.pillar, dict.fromkeys(RISKS, 0))
        pillar[item.risk] += 1
    return counts
