"""A Well-Architected review file (``reviews/<workload>.yaml``): the workload, its answers, and
the evidence in guard behind each answer.

The file is validated offline, like a stack file: unknown keys, question IDs and choice IDs are
errors with "did you mean", every error of the file in one run, each with its line. Questions
and choices come from the lens's catalog (:mod:`guard.wellarchitected_catalog`); the names that
evidence may use (policies, audit checks, components, stacks) come from the caller, so this
module knows no engine.

    workload:
      name: guard-prod
      description: Every internet-facing product of the company and the accounts behind them
      environment: production          # or preproduction
      regions: [ap-northeast-1, us-east-1]
      account_ids: ["111111111111"]
      review_owner: platform-team@example.com
      stacks: [prod]                   # the guard stacks whose plans back the evidence
      lenses: [wellarchitected]        # the default
    answers:
      wellarchitected:                 # lens alias
        network-protection:            # question ID
          selected:
            - sec_network_protection_create_layers
            - id: sec_network_protection_inspection
              evidence:
                - policy: waf-endpoint-coverage
                - audit: missing-web-acl
                - component: guard:waf:ProductWaf
          notes: ...
        protect-compute:
          not_applicable:
            reason: out_of_scope
            note: The workload runs no compute of its own.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints, ValidationError, model_validator

from guard.config import yaml_reader
from guard.config.base import AccountId, Region, StrictModel
from guard.config.errors import ConfigError, KeyPath, Problem
from guard.config.validation_errors import one_per_misspelling, problem_from
from guard.suggest import did_you_mean
from guard.wellarchitected_catalog import Catalog, CatalogError, load_catalog
from guard.wellarchitected_desired import DesiredAnswer, DesiredWorkload

#: The lens every workload review has unless it says otherwise.
DEFAULT_LENS = "wellarchitected"
#: The API's limit on an answer's notes (``Notes``, 2,084 characters).
MAX_NOTES = 2084

Notes = Annotated[str, StringConstraints(max_length=MAX_NOTES, strip_whitespace=True)]
#: What the API's ``AnswerReason`` takes, as written in review files.
NotApplicableReason = Literal[
    "out_of_scope", "business_priorities", "architecture_constraints", "other"
]


class Evidence(StrictModel):
    """What guard enforces for a choice: exactly one of a policy, an audit check, a component."""

    policy: str | None = None
    audit: str | None = None
    component: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Evidence:
        named = [k for k in ("policy", "audit", "component") if getattr(self, k) is not None]
        if len(named) != 1:
            raise ValueError(
                "name exactly one of policy (a policy of the pack), audit (a guard audit "
                "check) or component (a guard component's type token)"
            )
        return self

    @property
    def kind(self) -> str:
        return "policy" if self.policy else "audit" if self.audit else "component"

    @property
    def name(self) -> str:
        return self.policy or self.audit or self.component or ""


class SelectedChoice(StrictModel):
    """A selected choice: its ID alone, or its ID with what guard enforces for it."""

    # Lax: the short form below reaches the model as Python data, where strict mode would refuse
    # a list for the tuple. Unknown keys are still errors.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False)

    id: str
    evidence: tuple[Evidence, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _from_id(cls, data: Any) -> Any:
        # ``- sec_x`` is the short form of ``- id: sec_x``.
        return {"id": data} if isinstance(data, str) else data


class NotApplicable(StrictModel):
    """Why a question does not apply to the workload."""

    reason: NotApplicableReason
    note: Annotated[
        str, StringConstraints(min_length=3, max_length=MAX_NOTES, strip_whitespace=True)
    ]


class Answer(StrictModel):
    """One question's answer: the choices met and notes, or why the question does not apply."""

    selected: tuple[SelectedChoice, ...] = ()
    notes: Notes = ""
    not_applicable: NotApplicable | None = None

    @model_validator(mode="after")
    def _applicable_or_not(self) -> Answer:
        if self.not_applicable is not None and (self.selected or self.notes):
            raise ValueError(
                "a question that does not apply has no selected choices or notes: write the "
                "explanation in not_applicable.note"
            )
        return self

    def choice_ids(self) -> list[str]:
        return [c.id for c in self.selected]

    def evidence_of(self) -> dict[str, tuple[Evidence, ...]]:
        """The evidence of each selected choice that names some."""
        return {c.id: c.evidence for c in self.selected if c.evidence}


class Workload(StrictModel):
    """The workload as the Tool records it, and the guard stacks it covers."""

    name: Annotated[str, StringConstraints(min_length=3, max_length=100)]
    description: Annotated[str, StringConstraints(min_length=3, max_length=250)]
    environment: Literal["production", "preproduction"]
    regions: tuple[Region, ...] = Field(min_length=1, max_length=50)
    account_ids: tuple[AccountId, ...] = Field(min_length=1, max_length=100)
    review_owner: Annotated[str, StringConstraints(min_length=3, max_length=255)]
    stacks: tuple[str, ...] = Field(min_length=1)
    lenses: tuple[str, ...] = Field(default=(DEFAULT_LENS,), min_length=1)
    #: The Region whose Well-Architected Tool holds the review (default: the first of regions).
    tool_region: Region | None = None

    @property
    def review_region(self) -> str:
        """Where the Tool holds this review (the Tool is regional, like its workloads)."""
        return self.tool_region or self.regions[0]

    @model_validator(mode="after")
    def _listed_once(self) -> Workload:
        for name in ("regions", "account_ids", "stacks", "lenses"):
            values = getattr(self, name)
            twice = sorted({v for v in values if values.count(v) > 1})
            if twice:
                raise ValueError(f"{name} lists {', '.join(twice)} more than once")
        return self


class ReviewFile(StrictModel):
    """The whole review file: the workload, then answers by lens alias and question ID."""

    workload: Workload
    answers: dict[str, dict[str, Answer]] = Field(default_factory=dict)


@dataclass(frozen=True)
class Vocabulary:
    """The names evidence and coverage may use, from the engine that loads the review."""

    policies: tuple[str, ...]
    audit_checks: tuple[str, ...]
    components: tuple[str, ...]
    stacks: tuple[str, ...]
    #: Where the Tool is offered (botocore's endpoint data); empty: not checked.
    tool_regions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Review:
    """A validated review file with the catalogs of its lenses."""

    source: str
    file: ReviewFile
    catalogs: Mapping[str, Catalog] = field(default_factory=dict)

    @property
    def workload(self) -> Workload:
        return self.file.workload

    @property
    def tool_region(self) -> str:
        """Where the Tool holds this review."""
        return self.workload.review_region

    def desired_workload(self) -> DesiredWorkload:
        w = self.file.workload
        return DesiredWorkload(
            name=w.name,
            description=w.description,
            environment=w.environment.upper(),
            account_ids=tuple(w.account_ids),
            regions=tuple(w.regions),
            lenses=tuple(w.lenses),
            review_owner=w.review_owner,
        )

    def desired_answers(self) -> list[DesiredAnswer]:
        """Every answer of the file, in file order per lens."""
        found = []
        for lens, answers in self.file.answers.items():
            for question_id, answer in answers.items():
                skipped = answer.not_applicable
                found.append(
                    DesiredAnswer(
                        lens=lens,
                        question_id=question_id,
                        selected=() if skipped else tuple(sorted(answer.choice_ids())),
                        notes=skipped.note if skipped else answer.notes,
                        applicable=skipped is None,
                        reason=skipped.reason.upper() if skipped else None,
                    )
                )
        return found


def load_review(path: Path, vocabulary: Vocabulary) -> Review:
    """Read and validate a review file; :class:`ConfigError` lists every problem with its line."""
    source = str(path)
    parsed = yaml_reader.parse(yaml_reader.read_text(path, "the review file"), source)
    document = parsed.document
    problems: list[Problem] = list(parsed.problems)
    if not isinstance(document, Mapping):
        raise ConfigError(source, [*problems, Problem((), "must be a mapping (workload, answers)")])
    review: ReviewFile | None = None
    try:
        # JSON mode: strict models take YAML's lists for their tuples there, as stack files do.
        review = ReviewFile.model_validate_json(json.dumps(document))
    except ValidationError as err:
        errors = one_per_misspelling(err.errors(), ReviewFile)
        problems += [problem_from(e, ReviewFile, tuple) for e in errors]
    catalogs, catalog_problems = _catalogs(document)
    problems += catalog_problems
    # The checks walk the document as written, so that a file with a bad type in one place still
    # gets its misspelt question IDs reported in the same run.
    problems += _answer_problems(document, catalogs, vocabulary)
    problems += _stack_problems(document, vocabulary)
    if review is not None:
        problems += _tool_region_problems(review, vocabulary)
    if problems or review is None:
        located = ConfigError(source, problems).with_lines(parsed.lines)
        # In the file's order, whichever check found them.
        ordered = sorted(located.problems, key=lambda p: p.line or 0)
        raise ConfigError(source, ordered)
    return Review(source, review, catalogs)


def _catalogs(document: Mapping[str, Any]) -> tuple[dict[str, Catalog], list[Problem]]:
    workload = document.get("workload")
    lenses = workload.get("lenses", [DEFAULT_LENS]) if isinstance(workload, Mapping) else []
    answers = document.get("answers")
    answered = list(answers) if isinstance(answers, Mapping) else []
    catalogs: dict[str, Catalog] = {}
    problems: list[Problem] = []
    listed = [lens for lens in lenses if isinstance(lens, str)] if isinstance(lenses, list) else []
    for index, lens in enumerate(listed):
        try:
            catalogs[lens] = load_catalog(lens)
        except CatalogError as err:
            problems.append(Problem(("workload", "lenses", index), str(err), lens))
    for lens in answered:
        if isinstance(workload, Mapping) and lens not in listed:
            problems.append(
                Problem(
                    ("answers", lens),
                    f"answers a lens the workload does not list{did_you_mean(str(lens), listed)}; "
                    f"workload.lenses: {', '.join(listed) or '(none)'}",
                )
            )
    return catalogs, problems


def _answer_problems(
    document: Mapping[str, Any], catalogs: Mapping[str, Catalog], vocabulary: Vocabulary
) -> list[Problem]:
    answers = document.get("answers")
    if not isinstance(answers, Mapping):
        return []
    problems: list[Problem] = []
    for lens, questions in answers.items():
        catalog = catalogs.get(lens)
        if catalog is None or not isinstance(questions, Mapping):
            continue
        known = [q.id for q in catalog.questions]
        for question_id, answer in questions.items():
            path: KeyPath = ("answers", lens, question_id)
            question = catalog.question(str(question_id))
            if question is None:
                problems.append(
                    Problem(
                        path,
                        f"no question {question_id!r} in the {lens} lens (catalog "
                        f"{catalog.lens_version}){did_you_mean(str(question_id), known)}",
                    )
                )
                continue
            if isinstance(answer, Mapping):
                problems += _choice_problems(answer, question.choices, path, vocabulary)
                none_choice = question.none_choice
                ids = set(_selected_ids(answer))
                if none_choice in ids and len(ids) > 1:
                    problems.append(
                        Problem(
                            (*path, "selected"),
                            f"{none_choice} (None of these) cannot be selected with other choices",
                        )
                    )
    return problems


def _choice_id(item: Any) -> str | None:
    """A selected item's choice ID as written: ``- sec_x`` or ``- id: sec_x``."""
    choice_id = item.get("id") if isinstance(item, Mapping) else item
    return choice_id if isinstance(choice_id, str) else None


def _selected_ids(answer: Mapping[str, Any]) -> list[str]:
    selected = answer.get("selected")
    if not isinstance(selected, list):
        return []
    return [choice_id for item in selected if (choice_id := _choice_id(item)) is not None]


def _choice_problems(
    answer: Mapping[str, Any], choices: Iterable[Any], path: KeyPath, vocabulary: Vocabulary
) -> list[Problem]:
    selected = answer.get("selected")
    if not isinstance(selected, list):
        return []
    known = [c.id for c in choices]
    problems: list[Problem] = []
    seen: set[str] = set()
    for index, item in enumerate(selected):
        choice_id = _choice_id(item)
        if choice_id is None:
            continue
        where: KeyPath = (*path, "selected", index) + (() if isinstance(item, str) else ("id",))
        if choice_id not in known:
            problems.append(
                Problem(
                    where,
                    f"not a choice of {path[-1]}{did_you_mean(choice_id, known)}; "
                    f"its choices: {', '.join(known)}",
                    choice_id,
                )
            )
        elif choice_id in seen:
            problems.append(Problem(where, "selected twice", choice_id))
        seen.add(choice_id)
        if isinstance(item, Mapping):
            problems += _evidence_problems(
                item.get("evidence"), (*path, "selected", index), vocabulary
            )
    return problems


def _evidence_problems(evidence: Any, path: KeyPath, vocabulary: Vocabulary) -> list[Problem]:
    if not isinstance(evidence, list):
        return []
    allowed = {
        "policy": (vocabulary.policies, "the pack's policies"),
        "audit": (vocabulary.audit_checks, "guard audit's checks"),
        "component": (vocabulary.components, "guard's components"),
    }
    problems = []
    for index, item in enumerate(evidence):
        if not isinstance(item, Mapping):
            continue
        for kind, (names, what) in allowed.items():
            name = item.get(kind)
            if isinstance(name, str) and name not in names:
                problems.append(
                    Problem(
                        (*path, "evidence", index, kind),
                        f"unknown {kind}{did_you_mean(name, names)}; {what}: {', '.join(names)}",
                        name,
                    )
                )
    return problems


def _stack_problems(document: Mapping[str, Any], vocabulary: Vocabulary) -> list[Problem]:
    workload = document.get("workload")
    stacks = workload.get("stacks") if isinstance(workload, Mapping) else None
    if not isinstance(stacks, list):
        return []
    known = vocabulary.stacks
    return [
        Problem(
            ("workload", "stacks", index),
            f"no such stack{did_you_mean(stack, known)}; the stacks: {', '.join(known) or 'none'}",
            stack,
        )
        for index, stack in enumerate(stacks)
        if isinstance(stack, str) and stack not in known
    ]


def _tool_region_problems(review: ReviewFile, vocabulary: Vocabulary) -> list[Problem]:
    w = review.workload
    region = w.review_region
    offered = vocabulary.tool_regions
    if not offered or region in offered:
        return []
    key: KeyPath = ("workload", "tool_region") if w.tool_region else ("workload", "regions", 0)
    return [
        Problem(
            key,
            f"the Well-Architected Tool is not offered in {region}"
            f"{did_you_mean(region, offered)}; set workload.tool_region to one of: "
            f"{', '.join(offered)}",
            region,
        )
    ]
