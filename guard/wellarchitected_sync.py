"""Sync a Well-Architected review file to the AWS Well-Architected Tool.

The review file (:mod:`guard.wellarchitected_desired`) says what the workload and its answers
should be; this module reads what the Tool holds, plans the differences (:func:`plan_sync`) and
makes them (:func:`apply_sync`), then records the commit as a milestone.

Reads: ``ListWorkloads`` (by name prefix, every page, exact name match), ``GetWorkload``,
``ListAnswers`` (every page, for answers the file does not manage), ``GetAnswer`` per answer the
file states (``ListAnswers`` carries no notes), ``ListMilestones`` and ``GetLensReview``.
Writes: ``CreateWorkload``, ``UpdateWorkload`` (changed fields only), ``AssociateLenses``,
``UpdateAnswer`` and ``CreateMilestone``, each only when the Tool differs, so a second run
against a matching Tool writes nothing and records no milestone.

The Tool answers a write that races another writer with ``ConflictException``; those writes are
retried with exponential backoff, re-reading first so a change someone else already made is not
made twice. Other failures stop the sync at once: botocore's own retry configuration already
covers throttling. Creation calls carry client request tokens derived from what they create, so
a call repeated after a lost response does not create a second workload or milestone.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from guard.aws_errors import describe_failure, error_parts
from guard.wellarchitected_desired import REVIEW_TAG, DesiredAnswer, DesiredWorkload

if TYPE_CHECKING:
    from mypy_boto3_wellarchitected import WellArchitectedClient

#: The most a list call returns per page (ListWorkloads, ListAnswers and ListMilestones alike).
PAGE_SIZE = 50
#: The first backoff after a ConflictException, in seconds; doubled after each further one.
FIRST_BACKOFF = 0.5
_CONFLICT = "ConflictException"
_COMMIT = re.compile(r"[0-9a-fA-F]{7,40}")


#: The calls that write. A denied one is usually the deploy role's tag condition at work.
WRITES = ("CreateWorkload", "UpdateWorkload", "AssociateLenses", "UpdateAnswer", "CreateMilestone")
_ACCESS_DENIED = ("AccessDenied", "AccessDeniedException")


class SyncError(Exception):
    """A sync step failed; the message is one line saying which step and why.

    ``denied_write`` is True when AWS refused one of the :data:`WRITES` for lack of permission.
    """

    def __init__(self, message: str, *, denied_write: bool = False) -> None:
        super().__init__(message)
        self.denied_write = denied_write


@dataclass(frozen=True)
class Change:
    """One write the sync makes (or would make): what kind, to what, and in one line, how."""

    #: ``create-workload``, ``update-workload``, ``associate-lenses``, ``update-answer`` or
    #: ``create-milestone``.
    kind: str
    #: The workload name, the answer's ``lens/question`` subject, or the milestone name.
    subject: str
    detail: str

    def to_json(self) -> dict[str, str]:
        """The change as a JSON object."""
        return {"kind": self.kind, "subject": self.subject, "detail": self.detail}


@dataclass(frozen=True)
class SyncPlan:
    """What the sync would change, in the order it would change it."""

    #: None when the workload does not exist yet.
    workload_id: str | None
    #: The workload first, then its lenses, then answers sorted by subject.
    changes: tuple[Change, ...]
    #: Subjects answered in the Tool that the file does not answer: left as they are.
    unmanaged: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        """The plan as a JSON object."""
        return {
            "workload_id": self.workload_id,
            "changes": [change.to_json() for change in self.changes],
            "unmanaged": list(self.unmanaged),
        }


@dataclass(frozen=True)
class SyncResult:
    """What a sync changed, the milestone it recorded, and the Tool's risk figures afterwards."""

    workload_id: str
    #: The writes made, in order, the milestone last; changes someone else made first are not.
    applied: tuple[Change, ...]
    #: The milestone this sync created, or None (nothing changed, or it already existed).
    milestone: str | None
    milestone_number: int | None
    #: How many times a ConflictException was backed off from.
    retries: int
    #: Lens alias -> pillar id -> risk (``HIGH``, ``MEDIUM``, ...) -> question count.
    risk_counts: dict[str, dict[str, dict[str, int]]]

    def to_json(self) -> dict[str, Any]:
        """The result as a JSON object."""
        return {
            "workload_id": self.workload_id,
            "applied": [change.to_json() for change in self.applied],
            "milestone": self.milestone,
            "milestone_number": self.milestone_number,
            "retries": self.retries,
            "risk_counts": self.risk_counts,
        }


def milestone_name(commit: str) -> str:
    """``guard 0123456789ab``: the milestone recording the review file at ``commit``."""
    if not _COMMIT.fullmatch(commit):
        raise ValueError(f"not a git commit (7 to 40 hex digits): {commit!r}")
    return "guard " + commit[:12]


def _token(*parts: str) -> str:
    # Deterministic, so a create repeated after a lost response is recognised by the Tool as
    # the same request rather than making a second workload or milestone.
    digest = hashlib.sha256("\0".join(parts).encode()).hexdigest()
    return "guard-" + digest[:40]


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _failed(subject: str, error: BotoCoreError | ClientError) -> SyncError:
    # describe_failure ends with a full stop, and AWS's messages often end with their own.
    line = _one_line(describe_failure(error)).rstrip(".")
    denied = (
        isinstance(error, ClientError)
        and error.operation_name in WRITES
        and error_parts(error)[0] in _ACCESS_DENIED
    )
    return SyncError(f"{subject}: {line}.", denied_write=denied)


def _read(subject: str, call: Callable[..., Any], **params: Any) -> Any:
    """One read; any failure becomes a one-line SyncError naming ``subject``."""
    try:
        return call(**params)
    except (BotoCoreError, ClientError) as error:
        raise _failed(subject, error) from error


def all_pages(call: Callable[..., Any], **params: Any) -> Iterator[Any]:
    """Every page of a Well-Architected list call, following ``NextToken`` (botocore has no
    paginators for this service); ``MaxResults`` is the largest the Tool allows."""
    params = {**params, "MaxResults": PAGE_SIZE}
    while True:
        page = call(**params)
        yield page
        if not page.get("NextToken"):
            return
        params["NextToken"] = page["NextToken"]


def _pages(subject: str, call: Callable[..., Any], **params: Any) -> Iterator[Any]:
    """:func:`all_pages`, each call's failure a one-line SyncError naming ``subject``."""
    return all_pages(lambda **page_params: _read(subject, call, **page_params), **params)


def find_workload(client: WellArchitectedClient, name: str) -> str | None:
    """The ID of the workload named exactly ``name``, or None; SyncError if two have the name."""
    # The filter is a prefix: "payments" also lists "payments-staging".
    found = [
        summary["WorkloadId"]
        for page in _pages(name, client.list_workloads, WorkloadNamePrefix=name)
        for summary in page.get("WorkloadSummaries", [])
        if summary.get("WorkloadName") == name
    ]
    if len(found) > 1:
        raise SyncError(f"{name}: {len(found)} workloads have this name: {', '.join(found)}.")
    return found[0] if found else None


@dataclass(frozen=True)
class _ToolAnswer:
    """The parts of an answer the file manages, as the Tool holds them."""

    selected: frozenset[str]
    notes: str
    applicable: bool
    reason: str | None


#: A question nobody has answered: what a new workload or newly associated lens holds.
_UNANSWERED = _ToolAnswer(frozenset(), "", True, None)


def _tool_answer(answer: Any) -> _ToolAnswer:
    return _ToolAnswer(
        selected=frozenset(answer.get("SelectedChoices", [])),
        notes=str(answer.get("Notes", "")).strip(),
        # The Tool leaves IsApplicable out of answers it has never been told otherwise about.
        applicable=bool(answer.get("IsApplicable", True)),
        reason=answer.get("Reason"),
    )


def _answer_detail(want: DesiredAnswer, have: _ToolAnswer) -> str | None:
    """How ``have`` must change to become ``want``, in one line; None when it matches."""
    parts: list[str] = []
    if not want.applicable:
        # Choices of a question that does not apply mean nothing, so only these are compared.
        if have.applicable or (want.reason is not None and have.reason != want.reason):
            parts.append(f"not applicable ({want.reason})" if want.reason else "not applicable")
    else:
        if not have.applicable:
            parts.append("applicable")
        wanted = set(want.selected)
        if added := sorted(wanted - have.selected):
            parts.append("select " + ", ".join(added))
        if removed := sorted(have.selected - wanted):
            parts.append("unselect " + ", ".join(removed))
    if want.notes.strip() != have.notes:
        parts.append("notes changed")
    return "; ".join(parts) or None


def _get_answer(
    client: WellArchitectedClient, workload_id: str, want: DesiredAnswer
) -> _ToolAnswer:
    response = _read(
        want.subject,
        client.get_answer,
        WorkloadId=workload_id,
        LensAlias=want.lens,
        QuestionId=want.question_id,
    )
    return _tool_answer(response.get("Answer", {}))


def _set_difference(label: str, want: Sequence[str], have: Sequence[str]) -> str | None:
    added, removed = sorted(set(want) - set(have)), sorted(set(have) - set(want))
    if not added and not removed:
        return None
    return f"{label}: " + " ".join(
        [f"+{item}" for item in added] + [f"-{item}" for item in removed]
    )


def _workload_drift(want: DesiredWorkload, have: Any) -> tuple[dict[str, Any], list[str]]:
    """The UpdateWorkload fields that differ, and a phrase for each."""
    fields: dict[str, Any] = {}
    phrases: list[str] = []
    if have.get("Description", "") != want.description:
        fields["Description"] = want.description
        phrases.append("description changed")
    if have.get("Environment") != want.environment:
        fields["Environment"] = want.environment
        phrases.append(f"environment: {have.get('Environment', '-')} -> {want.environment}")
    if have.get("ReviewOwner", "") != want.review_owner:
        fields["ReviewOwner"] = want.review_owner
        phrases.append("review owner changed")
    if phrase := _set_difference("account IDs", want.account_ids, have.get("AccountIds", [])):
        fields["AccountIds"] = list(want.account_ids)
        phrases.append(phrase)
    if phrase := _set_difference("regions", want.regions, have.get("AwsRegions", [])):
        fields["AwsRegions"] = list(want.regions)
        phrases.append(phrase)
    return fields, phrases


def _list_answers(client: WellArchitectedClient, workload_id: str, lens: str) -> list[Any]:
    pages = _pages(lens, client.list_answers, WorkloadId=workload_id, LensAlias=lens)
    return [summary for page in pages for summary in page.get("AnswerSummaries", [])]


@dataclass(frozen=True)
class _Planned:
    """A plan, with what applying it needs beyond the changes' one-line details."""

    plan: SyncPlan
    #: UpdateWorkload's changed fields (without WorkloadId); empty when none changed.
    workload_fields: dict[str, Any]
    missing_lenses: tuple[str, ...]
    #: The desired answers behind the plan's update-answer changes, by subject.
    answers: dict[str, DesiredAnswer]


def _by_subject(
    workload: DesiredWorkload, answers: Sequence[DesiredAnswer]
) -> dict[str, DesiredAnswer]:
    by_subject: dict[str, DesiredAnswer] = {}
    for answer in answers:
        if answer.lens not in workload.lenses:
            raise SyncError(f"{answer.subject}: lens {answer.lens} is not one the workload uses.")
        if answer.subject in by_subject:
            raise SyncError(f"{answer.subject}: answered twice.")
        by_subject[answer.subject] = answer
    return dict(sorted(by_subject.items()))


def _plan(
    client: WellArchitectedClient, workload: DesiredWorkload, answers: Sequence[DesiredAnswer]
) -> _Planned:
    desired = _by_subject(workload, answers)
    workload_id = find_workload(client, workload.name)
    changes: list[Change] = []
    to_answer: dict[str, DesiredAnswer] = {}
    if workload_id is None:
        changes.append(
            Change("create-workload", workload.name, "lenses: " + ", ".join(workload.lenses))
        )
        # A new workload's questions are all unanswered: nothing to read.
        for subject, want in desired.items():
            if detail := _answer_detail(want, _UNANSWERED):
                changes.append(Change("update-answer", subject, detail))
                to_answer[subject] = want
        return _Planned(SyncPlan(None, tuple(changes), ()), {}, (), to_answer)

    have = _read(workload.name, client.get_workload, WorkloadId=workload_id)["Workload"]
    fields, phrases = _workload_drift(workload, have)
    if fields:
        changes.append(Change("update-workload", workload.name, "; ".join(phrases)))
    associated = set(have.get("Lenses", []))
    missing = tuple(lens for lens in workload.lenses if lens not in associated)
    if missing:
        changes.append(Change("associate-lenses", workload.name, "lenses: +" + ", +".join(missing)))

    answered: set[str] = set()
    for lens in workload.lenses:
        if lens in missing:
            continue  # Not associated yet: the Tool holds no answers for it.
        for summary in _list_answers(client, workload_id, lens):
            if summary.get("SelectedChoices") or summary.get("IsApplicable") is False:
                answered.add(f"{lens}/{summary['QuestionId']}")
    unmanaged = tuple(sorted(answered - set(desired)))

    for subject, want in desired.items():
        current = _UNANSWERED if want.lens in missing else _get_answer(client, workload_id, want)
        if detail := _answer_detail(want, current):
            changes.append(Change("update-answer", subject, detail))
            to_answer[subject] = want
    return _Planned(SyncPlan(workload_id, tuple(changes), unmanaged), fields, missing, to_answer)


def plan_sync(
    client: WellArchitectedClient, workload: DesiredWorkload, answers: Sequence[DesiredAnswer]
) -> SyncPlan:
    """What :func:`apply_sync` would change; reads only."""
    return _plan(client, workload, answers).plan


class _Writer:
    """Makes writes, retrying ConflictException with backoff, and counts the retries."""

    def __init__(self, sleep: Callable[[float], None], max_attempts: int) -> None:
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {max_attempts}")
        self.sleep = sleep
        self.max_attempts = max_attempts
        self.retries = 0

    def write(
        self,
        subject: str,
        call: Callable[..., Any],
        params: dict[str, Any],
        settled: Callable[[], bool] | None = None,
    ) -> Any | None:
        """``call(**params)``'s response, or None when ``settled()`` says it is no longer needed."""
        for attempt in range(1, self.max_attempts + 1):
            try:
                return call(**params)
            except ClientError as error:
                code, message = error_parts(error)
                if code != _CONFLICT:
                    raise _failed(subject, error) from error
                if attempt == self.max_attempts:
                    raise SyncError(
                        f"{subject}: {error.operation_name} still conflicted with another "
                        f"writer after {attempt} attempts: {message or code}."
                    ) from error
            except BotoCoreError as error:
                raise _failed(subject, error) from error
            self.retries += 1
            self.sleep(FIRST_BACKOFF * 2 ** (attempt - 1))
            # Another writer may have made this very change; making it again would conflict
            # again (or record a second milestone), so look before retrying.
            if settled is not None and settled():
                return None
        raise AssertionError("unreachable: the last attempt returns or raises")


def _answer_params(workload_id: str, want: DesiredAnswer) -> dict[str, Any]:
    params: dict[str, Any] = {
        "WorkloadId": workload_id,
        "LensAlias": want.lens,
        "QuestionId": want.question_id,
        "SelectedChoices": list(want.selected),
        "Notes": want.notes.strip(),
        "IsApplicable": want.applicable,
    }
    if not want.applicable and want.reason is not None:
        params["Reason"] = want.reason
    return params


def _find_milestone(client: WellArchitectedClient, workload_id: str, name: str) -> bool:
    # any() stops at the page that has it: later pages are not read.
    return any(
        milestone.get("MilestoneName") == name
        for page in _pages(name, client.list_milestones, WorkloadId=workload_id)
        for milestone in page.get("MilestoneSummaries", [])
    )


def _risk_counts(
    client: WellArchitectedClient, workload_id: str, lenses: Sequence[str]
) -> dict[str, dict[str, dict[str, int]]]:
    counts: dict[str, dict[str, dict[str, int]]] = {}
    for lens in lenses:
        review = _read(lens, client.get_lens_review, WorkloadId=workload_id, LensAlias=lens)
        counts[lens] = {
            pillar["PillarId"]: {risk: int(n) for risk, n in pillar.get("RiskCounts", {}).items()}
            for pillar in review.get("LensReview", {}).get("PillarReviewSummaries", [])
        }
    return counts


def apply_sync(
    client: WellArchitectedClient,
    workload: DesiredWorkload,
    answers: Sequence[DesiredAnswer],
    *,
    commit: str,
    sleep: Callable[[float], None] = time.sleep,
    max_attempts: int = 5,
) -> SyncResult:
    """Make the Tool hold what the file says; record ``commit`` as a milestone if it changed."""
    name = milestone_name(commit)  # A bad commit fails before anything is written.
    writer = _Writer(sleep, max_attempts)
    planned = _plan(client, workload, answers)
    workload_id = planned.plan.workload_id
    applied: list[Change] = []
    for change in planned.plan.changes:
        if change.kind == "create-workload":
            params: dict[str, Any] = {
                "WorkloadName": workload.name,
                "Description": workload.description,
                "Environment": workload.environment,
                "AccountIds": list(workload.account_ids),
                "AwsRegions": list(workload.regions),
                "Lenses": list(workload.lenses),
                "ReviewOwner": workload.review_owner,
                "ClientRequestToken": _token(workload.name),
                # The deploy role may create and edit only workloads with guard's tag.
                "Tags": dict([REVIEW_TAG]),
            }
            # Not retried on conflict: the request cannot change between attempts (its token is
            # fixed), so a conflict such as a name taken since find_workload needs a person.
            workload_id = _read(workload.name, client.create_workload, **params)["WorkloadId"]
            applied.append(change)
            continue
        assert workload_id is not None  # Only create-workload runs without one.
        if change.kind == "update-workload":
            params = {"WorkloadId": workload_id, **planned.workload_fields}
            writer.write(change.subject, client.update_workload, params)
        elif change.kind == "associate-lenses":
            params = {"WorkloadId": workload_id, "LensAliases": list(planned.missing_lenses)}
            writer.write(change.subject, client.associate_lenses, params)
        else:
            want = planned.answers[change.subject]
            settled = _answer_settled(client, workload_id, want)
            response = writer.write(
                change.subject, client.update_answer, _answer_params(workload_id, want), settled
            )
            if response is None:
                continue  # Someone else made this change while we backed off.
        applied.append(change)

    if workload_id is None:  # Unreachable: a plan without a workload creates one.
        raise SyncError(f"{workload.name}: no workload ID after the sync.")
    synced_id: str = workload_id
    created: str | None = None
    number: int | None = None
    if applied and not _find_milestone(client, synced_id, name):
        params = {
            "WorkloadId": synced_id,
            "MilestoneName": name,
            "ClientRequestToken": _token(synced_id, name),
        }
        response = writer.write(
            name,
            client.create_milestone,
            params,
            lambda: _find_milestone(client, synced_id, name),
        )
        if response is not None:
            created, number = name, response.get("MilestoneNumber")
            applied.append(Change("create-milestone", name, f"milestone {number}: commit {commit}"))
    return SyncResult(
        workload_id=synced_id,
        applied=tuple(applied),
        milestone=created,
        milestone_number=number,
        retries=writer.retries,
        risk_counts=_risk_counts(client, synced_id, workload.lenses),
    )


def _answer_settled(
    client: WellArchitectedClient, workload_id: str, want: DesiredAnswer
) -> Callable[[], bool]:
    def settled() -> bool:
        return _answer_detail(want, _get_answer(client, workload_id, want)) is None

    return settled
