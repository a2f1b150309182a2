"""Whether what a review claims is true: each selected choice's evidence checked against the plans
of the stacks it covers (``guard plan``) and, when given, their last ``guard audit`` JSON.

- ``policy: NAME`` passes in a stack when its plan has no finding of that policy and no finding
  of it waived by a policy exception (a waived finding is a finding).
- ``audit: CHECK`` passes when the stack's audit JSON lists no gap of that kind; without an
  audit for the stack it is unchecked, never passed.
- ``component: TYPE`` passes when the stack's plan declares at least one such component.

A selected choice whose evidence fails in any covered stack is a contradiction: the review says
the practice is met and guard shows it is not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from guard.config.wellarchitected import Evidence, Review
from guard.diff_model import PlanDocument

PASSES, FAILS, UNCHECKED = "passes", "fails", "unchecked"
#: How many findings or gaps one check names before counting the rest.
SHOWN = 3


@dataclass(frozen=True)
class StackResult:
    """One evidence item in one stack."""

    stack: str
    status: str
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"stack": self.stack, "status": self.status, "detail": self.detail}


@dataclass(frozen=True)
class EvidenceCheck:
    """One evidence item of one selected choice, judged in every covered stack."""

    lens: str
    question_id: str
    choice_id: str
    kind: str
    name: str
    stacks: tuple[StackResult, ...]

    @property
    def status(self) -> str:
        statuses = {s.status for s in self.stacks}
        if FAILS in statuses:
            return FAILS
        return UNCHECKED if UNCHECKED in statuses or not statuses else PASSES

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}"

    def to_json(self) -> dict[str, Any]:
        return {
            "lens": self.lens,
            "question": self.question_id,
            "choice": self.choice_id,
            "kind": self.kind,
            "name": self.name,
            "status": self.status,
            "stacks": [s.to_json() for s in self.stacks],
        }


def _shown(texts: Sequence[str], separator: str = "; ", before_more: str = "; ") -> str:
    """The first :data:`SHOWN` texts, then how many more there are."""
    more = f"{before_more}and {len(texts) - SHOWN} more" if len(texts) > SHOWN else ""
    return separator.join(texts[:SHOWN]) + more


def _messages(items: Sequence[Mapping[str, Any]], key: str) -> str:
    return _shown([str(item.get(key, "")) for item in items])


def _policy(name: str, stack: str, plan: PlanDocument) -> StackResult:
    findings = [f for f in plan.policies if f.get("policy") == name]
    waived = [e for e in plan.exceptions_applied if e.get("policy") == name]
    if findings:
        count = f"{len(findings)} finding{'s' if len(findings) != 1 else ''}"
        return StackResult(stack, FAILS, f"{count}: {_messages(findings, 'message')}")
    if waived:
        reasons = _messages(waived, "reason")
        return StackResult(stack, FAILS, f"waived by guard:policy_exceptions ({reasons})")
    return StackResult(stack, PASSES, "no finding in the plan")


def _audit(check: str, stack: str, audit: Mapping[str, Any] | None) -> StackResult:
    if audit is None:
        return StackResult(stack, UNCHECKED, "no guard audit JSON given for this stack (--audit)")
    gaps = [g for g in audit.get("gaps", []) if g.get("kind") == check]
    when = audit.get("generated_at", "?")
    if gaps:
        listed = _shown([f"{g.get('subject')}: {g.get('detail')}" for g in gaps])
        return StackResult(stack, FAILS, f"{len(gaps)} gap(s) in the audit of {when}: {listed}")
    return StackResult(stack, PASSES, f"no {check} gap in the audit of {when}")


def _component(token: str, stack: str, plan: PlanDocument) -> StackResult:
    names = sorted(r.name for r in plan.resources if r.type == token)
    if not names:
        return StackResult(stack, FAILS, f"the plan declares no {token}")
    return StackResult(stack, PASSES, f"declared: {_shown(names, ', ', ' ')}")


def judge(
    evidence: Evidence,
    plans: Mapping[str, PlanDocument],
    audits: Mapping[str, Mapping[str, Any]],
) -> tuple[StackResult, ...]:
    """One evidence item in every covered stack (``plans`` is keyed by stack, in order)."""
    results = []
    for stack, plan in plans.items():
        if evidence.policy is not None:
            results.append(_policy(evidence.policy, stack, plan))
        elif evidence.audit is not None:
            results.append(_audit(evidence.audit, stack, audits.get(stack)))
        elif evidence.component is not None:
            results.append(_component(evidence.component, stack, plan))
    return tuple(results)


def check_evidence(
    review: Review,
    plans: Mapping[str, PlanDocument],
    audits: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[EvidenceCheck]:
    """Every evidence item of the review, judged against the plans (keyed by stack) and the
    audits (audit JSON documents keyed by stack)."""
    checks = []
    for lens, answers in review.file.answers.items():
        for question_id, answer in answers.items():
            for choice_id, items in answer.evidence_of().items():
                for item in items:
                    checks.append(
                        EvidenceCheck(
                            lens,
                            question_id,
                            choice_id,
                            item.kind,
                            item.name,
                            judge(item, plans, audits or {}),
                        )
                    )
    return checks


def contradictions(checks: Sequence[EvidenceCheck]) -> list[EvidenceCheck]:
    """The checks that fail: a choice the review marks as met whose evidence says otherwise."""
    return [c for c in checks if c.status == FAILS]
