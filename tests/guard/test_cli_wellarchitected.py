"""``guard wa`` through the CLI entry point: report (offline, against the golden prod plan and a
hand-written audit JSON), stacks, and plan and sync against a stubbed Well-Architected Tool."""

from __future__ import annotations

import hashlib
import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from guard import cli_wellarchitected
from guard.cli import main
from tests.conftest import ROOT

PLAN = "tests/data/plans/prod.json"
REPORT = ["wa", "report", "--review", "reviews/prod.yaml", "--plan", PLAN]
WID = "7d2f0c4b9a8e4f1d8c3b6a5e4d3c2b1a"
COMMIT = "4f2a9c1e8b7d6a5f4e3d2c1b0a9f8e7d6c5b4a39"
MILESTONE = "guard 4f2a9c1e8b7d"
NAME = "payments-review"
WA = "wellarchitected"

#: A small review for plan and sync: one answered question, one that does not apply.
REVIEW = "tests/data/wellarchitected/reviews/payments.yaml"
KEY = {"WorkloadId": WID, "LensAlias": WA}
NETWORK_PARAMS = {
    **KEY,
    "QuestionId": "network-protection",
    "SelectedChoices": ["sec_network_protection_create_layers", "sec_network_protection_layered"],
    "Notes": "WAF on every ALB.",
    "IsApplicable": True,
}
#: The workload as the Tool holds it once synced (regions in another order: compared as sets).
WORKLOAD = {
    "WorkloadId": WID,
    "WorkloadName": NAME,
    "Description": "The payments workload",
    "Environment": "PRODUCTION",
    "AccountIds": ["111111111111"],
    "AwsRegions": ["ap-northeast-1", "us-east-1"],
    "ReviewOwner": "platform@example.com",
    "Lenses": [WA],
}
COMPUTE_PARAMS = {
    **KEY,
    "QuestionId": "protect-compute",
    "SelectedChoices": [],
    "Notes": "No compute of our own.",
    "IsApplicable": False,
    "Reason": "OUT_OF_SCOPE",
}


@pytest.fixture(autouse=True)
def in_the_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    # The review's source, the policy pack and --plan are named relative to the repository.
    monkeypatch.chdir(ROOT)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def audit_json(tmp_path: Path, stack: str = "prod", gaps: tuple[str, ...] = ()) -> str:
    """A guard audit JSON (docs/audit.md's contract) with a gap of each kind in ``gaps``."""
    arn = "arn:aws:elasticloadbalancing:ap-northeast-1:111111111111:loadbalancer/app/energy-web/2"
    endpoint = {"product": "energy", "endpoint": "web", "arn": arn}
    status = "missing-web-acl" if "missing-web-acl" in gaps else "ok"
    acl = "arn:aws:wafv2:ap-northeast-1:111111111111:regional/webacl/guard-prod-energy-alb/1"
    severities = ("critical", "high", "medium", "low")
    document = {
        "stack": stack,
        "account": "111111111111",
        "regions": ["ap-northeast-1"],
        "generated_at": "2026-11-29T00:00:00+00:00",
        "coverage": {"uncovered": [], "gone": [], "covered": 6},
        "waf": [{**endpoint, "expected_web_acl": acl, "actual_web_acl": None, "status": status}],
        "alb_access_logs": None,
        "shield": {"subscription": None, "protections": [{**endpoint, "protected": True}]},
        "findings": {
            "securityhub": dict.fromkeys((*severities, "informational", "total"), 0),
            "guardduty": dict.fromkeys(severities, 0),
            "trusted_advisor": [],
        },
        "gaps": [{"kind": kind, "subject": "energy/web", "detail": "no web ACL"} for kind in gaps],
    }
    path = tmp_path / f"audit-{stack}.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return str(path)


# --- report -------------------------------------------------------------------------------------


def test_report_against_the_golden_plan_names_the_unchecked_audit_evidence(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = run(capsys, *REPORT)
    assert (code, err) == (0, "")
    assert out.startswith("Well-Architected review guard-prod (reviews/prod.yaml), stacks: prod\n")
    assert "CONTRADICTIONS" not in out
    assert "Evidence: 39 checked, 30 pass, 0 fail, 9 unchecked" in out
    unchecked = "(prod: no guard audit JSON given for this stack (--audit))"
    assert (
        "  network-protection / sec_network_protection_inspection\n"
        "    passes    policy waf-endpoint-coverage (prod: no finding in the plan)\n"
        "    passes    policy waf-required-managed-groups (prod: no finding in the plan)\n"
        f"    unchecked audit missing-web-acl {unchecked}\n"
        f"    unchecked audit uncovered-endpoint {unchecked}\n"
    ) in out
    assert out.count(f"{unchecked}\n") == 9
    assert "  Security: 5 high, 1 medium, 5 unanswered\n" in out


@pytest.mark.parametrize("fmt", ["text", "markdown", "json"])
def test_report_with_an_audit_gap_puts_the_contradiction_first(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fmt: str
) -> None:
    audit = audit_json(tmp_path, gaps=("missing-web-acl",))
    code, out, err = run(capsys, *REPORT, "--audit", audit, "--format", fmt)
    assert (code, err) == (1, "")
    if fmt == "json":
        document = json.loads(out)
        keys = list(document)
        # Contradictions lead in JSON too: before the questions and the evidence.
        assert keys.index("contradictions") < min(keys.index("questions"), keys.index("evidence"))
        (bad,) = document["contradictions"]
        assert (bad["question"], bad["choice"], bad["kind"], bad["name"], bad["status"]) == (
            "network-protection",
            "sec_network_protection_inspection",
            "audit",
            "missing-web-acl",
            "fails",
        )
        assert bad["stacks"][0]["detail"].endswith("energy/web: no web ACL")
        assert document["summary"] == {
            "high": 5,
            "medium": 1,
            "evidence": 39,
            "passes": 38,
            "fails": 1,
            "unchecked": 0,
        }
        return
    where = "1 gap(s) in the audit of 2026-11-29T00:00:00+00:00: energy/web: no web ACL"
    if fmt == "text":
        contradiction = out.index("CONTRADICTIONS (1): marked as met, but the evidence fails")
        assert (
            "  network-protection / sec_network_protection_inspection: audit missing-web-acl "
            f"(prod: {where})\n"
        ) in out
        assert f"    fails     audit missing-web-acl (prod: {where})\n" in out
    else:
        assert out.startswith("<!-- guard-wa:reviews/prod.yaml -->\n")
        assert "**1 contradiction(s)**" in out
        contradiction = out.index("#### Contradictions")
        assert (
            "| network-protection | `sec_network_protection_inspection` | audit missing-web-acl "
            f"| prod: {where} |"
        ) in out
    assert contradiction < out.index("Risks by pillar")


def test_report_with_a_clean_audit_passes_the_audit_evidence(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = run(capsys, *REPORT, "--audit", audit_json(tmp_path), "--format", "json")
    assert code == 0
    assert json.loads(out)["summary"]["passes"] == 39


def test_report_reads_plan_files_as_guard_diff_does(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    not_a_plan = tmp_path / "plan.json"
    not_a_plan.write_text('{"stack": "prod"}', encoding="utf-8")
    code, out, err = run(
        capsys, "wa", "report", "--review", "reviews/prod.yaml", "--plan", str(not_a_plan)
    )
    assert (code, out) == (2, "")
    assert err.splitlines()[0] == (
        f"--plan {not_a_plan}: not a guard plan JSON document (no resources); "
        "write one with guard plan --stack NAME --format json"
    )


def test_report_reads_audit_files_as_guard_audit_reads_previous(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    broken = tmp_path / "audit.json"
    broken.write_text('{"stack": "prod",\n  oops}', encoding="utf-8")
    code, out, err = run(capsys, *REPORT, "--audit", str(broken))
    assert (code, out) == (2, "")
    assert err.splitlines()[0].startswith(f"--audit {broken}:2:3: not JSON (")


def test_report_with_an_audit_of_another_stack_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    audit = audit_json(tmp_path, stack="staging")
    code, out, err = run(capsys, *REPORT, "--audit", audit)
    assert (code, out) == (2, "")
    assert f"--audit {audit} is of stack 'staging', which the review does not cover" in err
    assert "(workload.stacks: prod)" in err


def test_a_review_file_with_errors_exits_2_with_them_on_stderr(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    text = (ROOT / "reviews/prod.yaml").read_text(encoding="utf-8")
    text = text.replace("network-protection:", "network-protecton:").replace(
        "- audit: srt-role", "- audit: srt-rol"
    )
    review = tmp_path / "prod.yaml"
    review.write_text(text, encoding="utf-8")
    for argv in (["report", "--plan", PLAN], ["stacks"], ["plan"]):
        code, out, err = run(capsys, "wa", *argv, "--review", str(review))
        assert (code, out) == (2, "")
        assert err.startswith(f"{review}: 2 configuration errors\n")
        assert "answers.wellarchitected.network-protecton: no question" in err
        assert "(did you mean network-protection?)" in err
        assert "evidence[0].audit = 'srt-rol': unknown audit (did you mean srt-role?)" in err
        assert "Traceback" not in err


def test_stacks_prints_the_covered_stacks(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "wa", "stacks", "--review", "reviews/prod.yaml") == (0, "prod\n", "")


def test_report_plans_the_stack_when_no_plan_is_given(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        capsys, "wa", "report", "--review", "reviews/prod.yaml", "--format", "json"
    )
    assert (code, err) == (0, "")
    document = json.loads(out)
    statuses = {(c["kind"], c["name"]): c["status"] for c in document["evidence"]}
    assert {s for (kind, _), s in statuses.items() if kind != "audit"} == {"passes"}
    assert {s for (kind, _), s in statuses.items() if kind == "audit"} == {"unchecked"}


# --- plan and sync ------------------------------------------------------------------------------


class Tool:
    """A wellarchitected client behind a Stubber, handed to the command by ``_client``."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.client = boto3.client(
            "wellarchitected",
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        self.stubber = Stubber(self.client)
        self.regions: list[str] = []

        def client(args: Any, review: Any) -> Any:
            self.regions.append(review.tool_region)
            return self.client

        monkeypatch.setattr(cli_wellarchitected, "_client", client)

    def add(self, operation: str, response: dict[str, Any], params: dict[str, Any]) -> None:
        self.stubber.add_response(operation, response, params)

    def list_workloads(self, found: bool) -> None:
        summaries = [{"WorkloadId": WID, "WorkloadName": NAME, "Lenses": [WA]}] if found else []
        params = {"WorkloadNamePrefix": NAME, "MaxResults": 50}
        self.add("list_workloads", {"WorkloadSummaries": summaries}, params)

    def create_workload(self) -> None:
        self.add(
            "create_workload",
            {
                "WorkloadId": WID,
                "WorkloadArn": f"arn:aws:wellarchitected:us-east-1:111111111111:workload/{WID}",
            },
            {
                "WorkloadName": NAME,
                "Description": "The payments workload",
                "Environment": "PRODUCTION",
                "AccountIds": ["111111111111"],
                "AwsRegions": ["us-east-1", "ap-northeast-1"],
                "Lenses": [WA],
                "ReviewOwner": "platform@example.com",
                "ClientRequestToken": "guard-" + hashlib.sha256(NAME.encode()).hexdigest()[:40],
                "Tags": {"managed-by": "guard"},
            },
        )

    def list_answers(self) -> None:
        self.add(
            "list_answers",
            {**KEY, "AnswerSummaries": []},
            {**KEY, "MaxResults": 50},
        )

    def get_answer(self, params: dict[str, Any], matching: bool = True) -> None:
        """GetAnswer for the question of ``params``: as UpdateAnswer left it, or unanswered."""
        answer: dict[str, Any] = {"QuestionId": params["QuestionId"], "PillarId": "security"}
        if matching:
            answer.update({k: v for k, v in params.items() if k not in ("WorkloadId", "LensAlias")})
        self.add(
            "get_answer",
            {**KEY, "Answer": answer},
            {**KEY, "QuestionId": params["QuestionId"]},
        )

    def get_lens_review(self) -> None:
        pillars = [{"PillarId": "security", "RiskCounts": {"HIGH": 0, "NONE": 1, "UNANSWERED": 9}}]
        self.add(
            "get_lens_review",
            {"WorkloadId": WID, "LensReview": {"LensAlias": WA, "PillarReviewSummaries": pillars}},
            KEY,
        )


@pytest.fixture
def tool(monkeypatch: pytest.MonkeyPatch) -> Iterator[Tool]:
    stubbed = Tool(monkeypatch)
    with stubbed.stubber:
        yield stubbed
        stubbed.stubber.assert_no_pending_responses()


def test_plan_of_a_new_workload_reads_only(capsys: pytest.CaptureFixture[str], tool: Tool) -> None:
    tool.list_workloads(found=False)
    code, out, err = run(capsys, "wa", "plan", "--review", REVIEW)
    assert (code, err) == (0, "")
    assert out == textwrap.dedent(
        f"""\
        workload {NAME} (not created yet, us-east-1): 3 change(s)
          create-workload   {NAME}: lenses: wellarchitected
          update-answer     wellarchitected/network-protection: select sec_network_protection_create_layers, sec_network_protection_layered; notes changed
          update-answer     wellarchitected/protect-compute: not applicable (OUT_OF_SCOPE); notes changed
        """
    )
    assert tool.regions == ["us-east-1"]  # the first of the workload's regions


def test_first_sync_creates_the_workload_answers_and_milestone(
    capsys: pytest.CaptureFixture[str], tool: Tool
) -> None:
    tool.list_workloads(found=False)
    tool.create_workload()
    for params in (NETWORK_PARAMS, COMPUTE_PARAMS):
        tool.add("update_answer", {**KEY, "Answer": {}}, params)
    tool.add(
        "list_milestones",
        {"WorkloadId": WID, "MilestoneSummaries": []},
        {"WorkloadId": WID, "MaxResults": 50},
    )
    token = "guard-" + hashlib.sha256(f"{WID}\0{MILESTONE}".encode()).hexdigest()[:40]
    tool.add(
        "create_milestone",
        {"WorkloadId": WID, "MilestoneNumber": 1},
        {"WorkloadId": WID, "MilestoneName": MILESTONE, "ClientRequestToken": token},
    )
    tool.get_lens_review()
    code, out, err = run(capsys, "wa", "sync", "--review", REVIEW, "--apply", "--commit", COMMIT)
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        f"workload {NAME} ({WID}): 4 change(s) made",
        f"  create-workload   {NAME}: lenses: wellarchitected",
        "  update-answer     wellarchitected/network-protection: select "
        "sec_network_protection_create_layers, sec_network_protection_layered; notes changed",
        "  update-answer     wellarchitected/protect-compute: not applicable (OUT_OF_SCOPE); notes changed",
        f"  create-milestone  {MILESTONE}: milestone 1: commit {COMMIT}",
        f"milestone 1: {MILESTONE}",
        "the Tool's risks, wellarchitected security: 1 none, 9 unanswered",
    ]


def test_second_sync_against_a_matching_tool_writes_nothing(
    capsys: pytest.CaptureFixture[str], tool: Tool
) -> None:
    # Only reads are queued: any write would be an unexpected call, and the command would fail.
    tool.list_workloads(found=True)
    tool.add("get_workload", {"Workload": WORKLOAD}, {"WorkloadId": WID})
    tool.list_answers()
    tool.get_answer(NETWORK_PARAMS)
    tool.get_answer(COMPUTE_PARAMS)
    tool.get_lens_review()
    code, out, err = run(
        capsys, "wa", "sync", "--review", REVIEW, "--apply", "--commit", COMMIT, "--format", "json"
    )
    assert (code, err) == (0, "")
    result = json.loads(out)
    assert result["workload"] == NAME
    assert (result["applied"], result["milestone"], result["milestone_number"]) == ([], None, None)
    assert result["risk_counts"] == {WA: {"security": {"HIGH": 0, "NONE": 1, "UNANSWERED": 9}}}


def test_sync_with_a_bad_commit_exits_2_before_any_aws_call(
    capsys: pytest.CaptureFixture[str], tool: Tool
) -> None:
    code, out, err = run(capsys, "wa", "sync", "--review", REVIEW, "--apply", "--commit", "HEAD")
    assert (code, out) == (2, "")
    assert err.startswith("guard wa sync: --commit 'HEAD': not a git commit (7 to 40 hex digits)")
    assert tool.regions == []  # no client was even built


def test_access_denied_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str], tool: Tool
) -> None:
    # A workload created by hand, without guard's tag: the deploy role may read it, not edit it.
    tool.list_workloads(found=True)
    tool.add("get_workload", {"Workload": WORKLOAD}, {"WorkloadId": WID})
    tool.list_answers()
    tool.get_answer(NETWORK_PARAMS, matching=False)
    tool.get_answer(COMPUTE_PARAMS)
    tool.stubber.add_client_error(
        "update_answer",
        "AccessDeniedException",
        "User is not authorized to perform:\nwellarchitected:UpdateAnswer",
        403,
        NETWORK_PARAMS,
    )
    code, out, err = run(capsys, "wa", "sync", "--review", REVIEW, "--apply", "--commit", COMMIT)
    assert (code, out) == (2, "")
    error, *rest = err.splitlines()
    assert error.startswith(
        "guard wa sync: wellarchitected/network-protection: AWS rejected UpdateAnswer: "
        "AccessDeniedException: User is not authorized to perform: wellarchitected:UpdateAnswer. "
        "(guard's deploy role edits only workloads tagged managed-by=guard"
    )
    # One line: what failed, the hint, and that a rerun makes the rest.
    assert error.endswith("; a rerun makes what is left")
    assert rest == []
    assert "Traceback" not in err


def test_a_failure_after_a_write_does_not_say_nothing_was_changed(
    capsys: pytest.CaptureFixture[str], tool: Tool
) -> None:
    tool.list_workloads(found=False)
    tool.create_workload()
    tool.stubber.add_client_error(
        "update_answer", "AccessDeniedException", "Not authorized.", 403, NETWORK_PARAMS
    )
    code, out, err = run(capsys, "wa", "sync", "--review", REVIEW, "--apply", "--commit", COMMIT)
    assert (code, out) == (2, "")
    assert "AWS rejected UpdateAnswer: AccessDeniedException: Not authorized." in err
    assert "nothing was changed" not in err
    assert err.splitlines()[-1].endswith("; a rerun makes what is left")
