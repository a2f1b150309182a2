"""Tests of guard.wellarchitected_sync against a stubbed Well-Architected Tool.

moto does not emulate wellarchitected, so every call goes through botocore's Stubber on a real
client: each request is checked against ``expected_params`` and, like each response, against the
service model. A test fails if the sync makes a call it did not expect, or leaves one unmade.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from guard.wellarchitected_desired import DesiredAnswer, DesiredWorkload
from guard.wellarchitected_sync import (
    Change,
    SyncError,
    apply_sync,
    find_workload,
    milestone_name,
    plan_sync,
)

WID = "7d2f0c4b9a8e4f1d8c3b6a5e4d3c2b1a"
OTHER_WID = "0f9e8d7c6b5a49382716050403020100"
ACCOUNT = "111111111111"
COMMIT = "4f2a9c1e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a39"
MILESTONE = "guard 4f2a9c1e8b7d"
WA = "wellarchitected"
WHEN = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)

WORKLOAD = DesiredWorkload(
    name="payments-api",
    description="Payments API behind CloudFront, WAF and Shield Advanced",
    environment="PRODUCTION",
    account_ids=(ACCOUNT,),
    regions=("ap-southeast-2", "us-east-1"),
    lenses=(WA,),
    review_owner="platform-security@example.com",
)
NETWORK = DesiredAnswer(
    WA,
    "network-protection",
    ("sec_network_protection_create_layers", "sec_network_protection_layered"),
    "WAF on every ALB and CloudFront distribution.\n",
    True,
)
APPSEC = DesiredAnswer(WA, "application-security", (), "No code of our own.", False, "OUT_OF_SCOPE")
#: Named by the file but saying nothing: a new workload needs no write for it.
INCIDENT = DesiredAnswer(WA, "incident-response", (), "", True)
ANSWERS = (NETWORK, APPSEC, INCIDENT)


@pytest.fixture
def tool() -> Iterator[Tool]:
    client = boto3.client(
        "wellarchitected",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    with Stubber(client) as stubber:
        yield Tool(client, stubber)
        stubber.assert_no_pending_responses()


class Tool:
    """The stubbed Tool: each method queues one expected call and its response."""

    def __init__(self, client: Any, stubber: Stubber) -> None:
        self.client = client
        self.stubber = stubber

    def list_workloads(self, *names: tuple[str, str], token: str | None = None, after=None):
        params: dict[str, Any] = {"WorkloadNamePrefix": WORKLOAD.name, "MaxResults": 50}
        if after:
            params["NextToken"] = after
        response: dict[str, Any] = {
            "WorkloadSummaries": [
                {"WorkloadId": wid, "WorkloadName": name, "Owner": ACCOUNT, "Lenses": [WA]}
                for name, wid in names
            ]
        }
        if token:
            response["NextToken"] = token
        self.stubber.add_response("list_workloads", response, params)

    def get_workload(self, **overrides: Any) -> None:
        workload = {
            "WorkloadId": WID,
            "WorkloadName": WORKLOAD.name,
            "Description": WORKLOAD.description,
            "Environment": "PRODUCTION",
            "AccountIds": [ACCOUNT],
            # Another order than the file's: regions compare as sets.
            "AwsRegions": ["us-east-1", "ap-southeast-2"],
            "ReviewOwner": WORKLOAD.review_owner,
            "Lenses": [WA],
            "UpdatedAt": WHEN,
            "Owner": ACCOUNT,
        }
        workload.update(overrides)
        self.stubber.add_response("get_workload", {"Workload": workload}, {"WorkloadId": WID})

    def list_answers(self, lens: str = WA, *summaries: dict[str, Any], token=None, after=None):
        params: dict[str, Any] = {"WorkloadId": WID, "LensAlias": lens, "MaxResults": 50}
        if after:
            params["NextToken"] = after
        response: dict[str, Any] = {"WorkloadId": WID, "LensAlias": lens}
        response["AnswerSummaries"] = list(summaries)
        if token:
            response["NextToken"] = token
        self.stubber.add_response("list_answers", response, params)

    def get_answer(self, want: DesiredAnswer, **answer: Any) -> None:
        answer = {"QuestionId": want.question_id, "PillarId": "security", **answer}
        params = {"WorkloadId": WID, "LensAlias": want.lens, "QuestionId": want.question_id}
        response = {"WorkloadId": WID, "LensAlias": want.lens, "Answer": answer}
        self.stubber.add_response("get_answer", response, params)

    def get_matching(self, want: DesiredAnswer) -> None:
        """GetAnswer showing the answer as the file wants it (notes as the Tool stores them)."""
        if want.applicable:
            self.get_answer(want, SelectedChoices=list(want.selected), Notes=want.notes.strip())
        else:
            self.get_answer(want, IsApplicable=False, Reason=want.reason, Notes=want.notes)

    def update_answer(self, params: dict[str, Any], error: str | None = None) -> None:
        if error:
            self.stubber.add_client_error(
                "update_answer", error, "Resource was updated by another request.", 409, params
            )
            return
        response = {"WorkloadId": WID, "LensAlias": params["LensAlias"], "Answer": {}}
        self.stubber.add_response("update_answer", response, params)

    def list_milestones(self, *names: str, token=None, after=None, wid: str = WID) -> None:
        params: dict[str, Any] = {"WorkloadId": wid, "MaxResults": 50}
        if after:
            params["NextToken"] = after
        summaries = [
            {"MilestoneNumber": n, "MilestoneName": name, "RecordedAt": WHEN}
            for n, name in enumerate(names, start=1)
        ]
        response: dict[str, Any] = {"WorkloadId": wid, "MilestoneSummaries": summaries}
        if token:
            response["NextToken"] = token
        self.stubber.add_response("list_milestones", response, params)

    def create_milestone(self, number: int, wid: str = WID, error: str | None = None) -> None:
        token = milestone_token(wid)
        params = {"WorkloadId": wid, "MilestoneName": MILESTONE, "ClientRequestToken": token}
        if error:
            self.stubber.add_client_error("create_milestone", error, "Conflict.", 409, params)
            return
        response = {"WorkloadId": wid, "MilestoneNumber": number}
        self.stubber.add_response("create_milestone", response, params)

    def get_lens_review(self, wid: str = WID, lens: str = WA, high: int = 1) -> None:
        pillars = [
            {"PillarId": "security", "RiskCounts": {"HIGH": high, "NONE": 2, "UNANSWERED": 8}},
            {"PillarId": "reliability", "RiskCounts": {"UNANSWERED": 13}},
        ]
        review = {"LensAlias": lens, "PillarReviewSummaries": pillars}
        response = {"WorkloadId": wid, "LensReview": review}
        self.stubber.add_response(
            "get_lens_review", response, {"WorkloadId": wid, "LensAlias": lens}
        )

    def existing(self, *, workload: dict[str, Any] | None = None) -> None:
        """The reads before any answer: the workload found, read, and its answers listed."""
        self.list_workloads((WORKLOAD.name, WID))
        self.get_workload(**(workload or {}))
        self.list_answers(WA)


def milestone_token(wid: str) -> str:
    return "guard-" + hashlib.sha256(f"{wid}\0{MILESTONE}".encode()).hexdigest()[:40]


def answer_params(want: DesiredAnswer, wid: str = WID) -> dict[str, Any]:
    params: dict[str, Any] = {
        "WorkloadId": wid,
        "LensAlias": want.lens,
        "QuestionId": want.question_id,
        "SelectedChoices": list(want.selected),
        "Notes": want.notes.strip(),
        "IsApplicable": want.applicable,
    }
    if not want.applicable:
        params["Reason"] = want.reason
    return params


def recording() -> tuple[list[float], Any]:
    slept: list[float] = []
    return slept, slept.append


# --- milestone names --------------------------------------------------------------------------


def test_milestone_name_is_guard_and_the_short_commit() -> None:
    assert milestone_name(COMMIT) == MILESTONE
    assert milestone_name("4f2a9c1") == "guard 4f2a9c1"


@pytest.mark.parametrize("commit", ["", "4f2a9c", "main", "g" * 40, "a" * 41, "4f2a9c1 "])
def test_milestone_name_rejects_what_is_not_a_commit(commit: str) -> None:
    with pytest.raises(ValueError, match="not a git commit"):
        milestone_name(commit)


# --- finding the workload ---------------------------------------------------------------------


def test_find_workload_reads_every_page_and_ignores_prefix_only_matches(tool: Tool) -> None:
    tool.list_workloads(("payments-api-staging", OTHER_WID), token="page2")
    tool.list_workloads(("payments-api", WID), after="page2")
    assert find_workload(tool.client, "payments-api") == WID


def test_find_workload_prefix_only_match_is_no_workload(tool: Tool) -> None:
    tool.list_workloads(("payments-api-staging", OTHER_WID), ("payments-api2", WID))
    assert find_workload(tool.client, "payments-api") is None


def test_find_workload_two_exact_matches_is_an_error(tool: Tool) -> None:
    tool.list_workloads(("payments-api", WID), token="page2")
    tool.list_workloads(("payments-api", OTHER_WID), after="page2")
    with pytest.raises(SyncError, match="2 workloads have this name"):
        find_workload(tool.client, "payments-api")


# --- planning ---------------------------------------------------------------------------------


def test_plan_of_a_missing_workload_creates_it_and_states_answers(tool: Tool) -> None:
    tool.list_workloads(("payments-api-staging", OTHER_WID))
    plan = plan_sync(tool.client, WORKLOAD, ANSWERS)
    assert plan.workload_id is None
    assert plan.unmanaged == ()
    assert plan.changes == (
        Change("create-workload", "payments-api", "lenses: wellarchitected"),
        Change(
            "update-answer",
            "wellarchitected/application-security",
            "not applicable (OUT_OF_SCOPE); notes changed",
        ),
        Change(
            "update-answer",
            "wellarchitected/network-protection",
            "select sec_network_protection_create_layers, sec_network_protection_layered; notes changed",
        ),
    )
    assert plan.to_json()["changes"][0] == {
        "kind": "create-workload",
        "subject": "payments-api",
        "detail": "lenses: wellarchitected",
    }


def test_unmanaged_lists_tool_answers_the_file_does_not_name(tool: Tool) -> None:
    tool.list_workloads((WORKLOAD.name, WID))
    tool.get_workload()
    tool.list_answers(
        WA,
        {
            "QuestionId": "securely-operate",
            "SelectedChoices": ["sec_securely_operate_multi_accounts"],
        },
        {"QuestionId": "network-protection", "SelectedChoices": ["sec_network_protection_layered"]},
        {"QuestionId": "identities", "SelectedChoices": []},
        token="next",
    )
    tool.list_answers(
        WA,
        {"QuestionId": "data-classification", "IsApplicable": False, "Reason": "OTHER"},
        {"QuestionId": "permissions", "IsApplicable": True},
        after="next",
    )
    for want in sorted(ANSWERS, key=lambda a: a.subject):
        tool.get_matching(want)
    plan = plan_sync(tool.client, WORKLOAD, ANSWERS)
    assert plan.changes == ()
    assert plan.unmanaged == (
        "wellarchitected/data-classification",
        "wellarchitected/securely-operate",
    )
    assert plan.to_json() == {"workload_id": WID, "changes": [], "unmanaged": list(plan.unmanaged)}


def test_access_denied_is_one_line_sync_error(tool: Tool) -> None:
    tool.list_workloads((WORKLOAD.name, WID))
    tool.stubber.add_client_error(
        "get_workload",
        "AccessDeniedException",
        "User is not authorized to perform:\nwellarchitected:GetWorkload",
        403,
        {"WorkloadId": WID},
    )
    with pytest.raises(SyncError) as raised:
        plan_sync(tool.client, WORKLOAD, ANSWERS)
    message = str(raised.value)
    assert "\n" not in message
    assert message == (
        "payments-api: AWS rejected GetWorkload: AccessDeniedException: "
        "User is not authorized to perform: wellarchitected:GetWorkload."
    )


# --- applying ---------------------------------------------------------------------------------


def test_first_sync_creates_workload_answers_and_milestone(tool: Tool) -> None:
    tool.list_workloads()
    tool.stubber.add_response(
        "create_workload",
        {
            "WorkloadId": WID,
            "WorkloadArn": f"arn:aws:wellarchitected:us-east-1:{ACCOUNT}:workload/{WID}",
        },
        {
            "WorkloadName": "payments-api",
            "Description": "Payments API behind CloudFront, WAF and Shield Advanced",
            "Environment": "PRODUCTION",
            "AccountIds": [ACCOUNT],
            "AwsRegions": ["ap-southeast-2", "us-east-1"],
            "Lenses": [WA],
            "ReviewOwner": "platform-security@example.com",
            "ClientRequestToken": "guard-" + hashlib.sha256(b"payments-api").hexdigest()[:40],
            "Tags": {"managed-by": "guard"},
        },
    )
    tool.update_answer(
        {
            "WorkloadId": WID,
            "LensAlias": WA,
            "QuestionId": "application-security",
            "SelectedChoices": [],
            "Notes": "No code of our own.",
            "IsApplicable": False,
            "Reason": "OUT_OF_SCOPE",
        }
    )
    tool.update_answer(
        {
            "WorkloadId": WID,
            "LensAlias": WA,
            "QuestionId": "network-protection",
            "SelectedChoices": [
                "sec_network_protection_create_layers",
                "sec_network_protection_layered",
            ],
            "Notes": "WAF on every ALB and CloudFront distribution.",
            "IsApplicable": True,
        }
    )
    tool.list_milestones()
    tool.create_milestone(1)
    tool.get_lens_review()
    slept, sleep = recording()

    result = apply_sync(tool.client, WORKLOAD, ANSWERS, commit=COMMIT, sleep=sleep)

    assert result.workload_id == WID
    assert [(c.kind, c.subject) for c in result.applied] == [
        ("create-workload", "payments-api"),
        ("update-answer", "wellarchitected/application-security"),
        ("update-answer", "wellarchitected/network-protection"),
        ("create-milestone", MILESTONE),
    ]
    assert (result.milestone, result.milestone_number, result.retries) == (MILESTONE, 1, 0)
    assert result.risk_counts == {
        WA: {
            "security": {"HIGH": 1, "NONE": 2, "UNANSWERED": 8},
            "reliability": {"UNANSWERED": 13},
        }
    }
    assert slept == []
    as_json = result.to_json()
    assert as_json["milestone"] == MILESTONE
    assert as_json["applied"][-1]["kind"] == "create-milestone"


def test_second_sync_against_a_matching_tool_writes_nothing(tool: Tool) -> None:
    tool.existing()
    for want in sorted(ANSWERS, key=lambda a: a.subject):
        tool.get_matching(want)
    tool.get_lens_review()
    result = apply_sync(tool.client, WORKLOAD, ANSWERS, commit=COMMIT, sleep=recording()[1])
    assert result.applied == ()
    assert (result.milestone, result.milestone_number, result.retries) == (None, None, 0)
    assert result.risk_counts[WA]["security"]["HIGH"] == 1


def test_changed_notes_only_makes_one_update_answer(tool: Tool) -> None:
    tool.existing()
    tool.get_matching(APPSEC)
    tool.get_matching(INCIDENT)
    tool.get_answer(
        NETWORK,
        SelectedChoices=list(reversed(NETWORK.selected)),
        Notes="WAF on every ALB.",
        IsApplicable=True,
    )
    tool.update_answer(answer_params(NETWORK))
    tool.list_milestones("guard 0000000", token="more")
    tool.list_milestones("guard 1111111", after="more")
    tool.create_milestone(3)
    tool.get_lens_review()

    result = apply_sync(tool.client, WORKLOAD, ANSWERS, commit=COMMIT, sleep=recording()[1])

    assert result.applied == (
        Change("update-answer", "wellarchitected/network-protection", "notes changed"),
        Change("create-milestone", MILESTONE, f"milestone 3: commit {COMMIT}"),
    )
    assert result.milestone_number == 3


def test_answer_becoming_not_applicable_sends_is_applicable_false_and_reason(tool: Tool) -> None:
    tool.existing()
    tool.get_answer(
        APPSEC,
        SelectedChoices=["sec_appsec_review_code"],
        Notes="No code of our own.",
        IsApplicable=True,
    )
    tool.update_answer(
        {
            "WorkloadId": WID,
            "LensAlias": WA,
            "QuestionId": "application-security",
            "SelectedChoices": [],
            "Notes": "No code of our own.",
            "IsApplicable": False,
            "Reason": "OUT_OF_SCOPE",
        }
    )
    tool.list_milestones()
    tool.create_milestone(2)
    tool.get_lens_review()
    result = apply_sync(tool.client, WORKLOAD, (APPSEC,), commit=COMMIT, sleep=recording()[1])
    assert result.applied[0] == Change(
        "update-answer", "wellarchitected/application-security", "not applicable (OUT_OF_SCOPE)"
    )


def test_not_applicable_with_another_reason_is_changed_applicable_choices_ignored(
    tool: Tool,
) -> None:
    tool.existing()
    # Selected choices of a question that does not apply are not compared...
    tool.get_answer(
        APPSEC,
        SelectedChoices=["x"],
        IsApplicable=False,
        Reason="OUT_OF_SCOPE",
        Notes="No code of our own.",
    )
    # ...but its reason is.
    tool.get_answer(INCIDENT, IsApplicable=False, Reason="OTHER")
    plan = plan_sync(tool.client, WORKLOAD, (APPSEC, INCIDENT))
    assert plan.changes == (
        Change("update-answer", "wellarchitected/incident-response", "applicable"),
    )


def test_workload_drift_updates_only_the_changed_fields(tool: Tool) -> None:
    tool.existing(
        workload={"Environment": "PREPRODUCTION", "AwsRegions": ["ap-southeast-2", "eu-west-1"]}
    )
    tool.get_matching(NETWORK)
    tool.stubber.add_response(
        "update_workload",
        {"Workload": {"WorkloadId": WID}},
        {
            "WorkloadId": WID,
            "Environment": "PRODUCTION",
            "AwsRegions": ["ap-southeast-2", "us-east-1"],
        },
    )
    tool.list_milestones()
    tool.create_milestone(4)
    tool.get_lens_review()
    result = apply_sync(tool.client, WORKLOAD, (NETWORK,), commit=COMMIT, sleep=recording()[1])
    assert result.applied[0] == Change(
        "update-workload",
        "payments-api",
        "environment: PREPRODUCTION -> PRODUCTION; regions: +us-east-1 -eu-west-1",
    )
    assert len(result.applied) == 2


def test_missing_lens_is_associated_and_its_answers_written_without_reading(tool: Tool) -> None:
    workload = DesiredWorkload(**{**WORKLOAD.__dict__, "lenses": (WA, "serverless")})
    compute = DesiredAnswer(
        "serverless", "compute-limits", ("serverless_limits_reserved",), "", True
    )
    tool.existing()
    tool.get_matching(NETWORK)
    # No ListAnswers nor GetAnswer for serverless: it holds nothing until it is associated.
    tool.stubber.add_response(
        "associate_lenses", {}, {"WorkloadId": WID, "LensAliases": ["serverless"]}
    )
    tool.update_answer(answer_params(compute))
    tool.list_milestones()
    tool.create_milestone(5)
    tool.get_lens_review()
    tool.get_lens_review(lens="serverless")
    result = apply_sync(
        tool.client, workload, (NETWORK, compute), commit=COMMIT, sleep=recording()[1]
    )
    assert [c.kind for c in result.applied] == [
        "associate-lenses",
        "update-answer",
        "create-milestone",
    ]
    assert result.applied[0].detail == "lenses: +serverless"
    assert set(result.risk_counts) == {WA, "serverless"}


def test_conflict_on_update_answer_is_retried_with_backoff(tool: Tool) -> None:
    tool.existing()
    tool.get_answer(NETWORK, SelectedChoices=[], IsApplicable=True)
    tool.update_answer(answer_params(NETWORK), error="ConflictException")
    tool.get_answer(NETWORK, SelectedChoices=[], IsApplicable=True)
    tool.update_answer(answer_params(NETWORK), error="ConflictException")
    tool.get_answer(NETWORK, SelectedChoices=["sec_network_protection_layered"], IsApplicable=True)
    tool.update_answer(answer_params(NETWORK))
    tool.list_milestones()
    tool.create_milestone(6)
    tool.get_lens_review()
    slept, sleep = recording()
    result = apply_sync(tool.client, WORKLOAD, (NETWORK,), commit=COMMIT, sleep=sleep)
    assert slept == [0.5, 1.0]
    assert result.retries == 2
    assert [c.kind for c in result.applied] == ["update-answer", "create-milestone"]


def test_conflict_where_another_writer_made_the_change_stops_writing(tool: Tool) -> None:
    tool.existing()
    tool.get_answer(NETWORK, SelectedChoices=[], IsApplicable=True)
    tool.update_answer(answer_params(NETWORK), error="ConflictException")
    tool.get_matching(NETWORK)
    tool.get_lens_review()
    slept, sleep = recording()
    result = apply_sync(tool.client, WORKLOAD, (NETWORK,), commit=COMMIT, sleep=sleep)
    # Nothing this sync wrote stood, so no milestone either.
    assert (result.applied, result.milestone, result.retries) == ((), None, 1)
    assert slept == [0.5]


def test_conflict_on_every_attempt_is_a_sync_error(tool: Tool) -> None:
    tool.existing()
    tool.get_answer(NETWORK, IsApplicable=True)
    for attempt in range(3):
        tool.update_answer(answer_params(NETWORK), error="ConflictException")
        if attempt < 2:
            tool.get_answer(NETWORK, IsApplicable=True)
    slept, sleep = recording()
    with pytest.raises(SyncError) as raised:
        apply_sync(tool.client, WORKLOAD, (NETWORK,), commit=COMMIT, sleep=sleep, max_attempts=3)
    assert str(raised.value).startswith(
        "wellarchitected/network-protection: UpdateAnswer still conflicted with another writer "
        "after 3 attempts"
    )
    assert slept == [0.5, 1.0]


def test_other_errors_are_not_retried(tool: Tool) -> None:
    tool.existing(workload={"ReviewOwner": "someone-else@example.com"})
    tool.get_matching(NETWORK)
    params = {"WorkloadId": WID, "ReviewOwner": WORKLOAD.review_owner}
    tool.stubber.add_client_error(
        "update_workload", "ValidationException", "Bad owner.", 400, params
    )
    slept, sleep = recording()
    with pytest.raises(
        SyncError,
        match=r"^payments-api: AWS rejected UpdateWorkload: ValidationException: Bad owner\.$",
    ):
        apply_sync(tool.client, WORKLOAD, (NETWORK,), commit=COMMIT, sleep=sleep)
    assert slept == []


def test_existing_milestone_is_not_created_again(tool: Tool) -> None:
    tool.existing()
    tool.get_answer(NETWORK, IsApplicable=True)
    tool.update_answer(answer_params(NETWORK))
    tool.list_milestones("guard 0000000", token="more")
    tool.list_milestones("guard 1111111", MILESTONE, after="more")
    tool.get_lens_review()
    result = apply_sync(tool.client, WORKLOAD, (NETWORK,), commit=COMMIT, sleep=recording()[1])
    assert [c.kind for c in result.applied] == ["update-answer"]
    assert (result.milestone, result.milestone_number) == (None, None)


def test_conflict_on_create_milestone_stops_when_it_now_exists(tool: Tool) -> None:
    tool.existing()
    tool.get_answer(NETWORK, IsApplicable=True)
    tool.update_answer(answer_params(NETWORK))
    tool.list_milestones()
    tool.create_milestone(7, error="ConflictException")
    tool.list_milestones(MILESTONE)
    tool.get_lens_review()
    slept, sleep = recording()
    result = apply_sync(tool.client, WORKLOAD, (NETWORK,), commit=COMMIT, sleep=sleep)
    assert (result.milestone, result.retries, slept) == (None, 1, [0.5])
    assert [c.kind for c in result.applied] == ["update-answer"]


def test_bad_commit_fails_before_any_call(tool: Tool) -> None:
    with pytest.raises(ValueError, match="not a git commit"):
        apply_sync(tool.client, WORKLOAD, ANSWERS, commit="HEAD")
