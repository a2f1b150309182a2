"""Tests of scripts/refresh_wellarchitected_catalog.py against a stubbed Well-Architected client.

botocore's Stubber checks every request's parameters (expected_params) and every response against
the wellarchitected service model, so the calls are the ones the real API takes. The API's answers
are built from the committed catalog, then changed where a test needs it.
"""

from __future__ import annotations

import copy
import importlib.util
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from guard.wellarchitected_catalog import (
    NONE_TITLE,
    Catalog,
    catalog_path,
    load_catalog_file,
)

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "refresh_wellarchitected_catalog.py"


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("refresh_wellarchitected_catalog", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses look the module up by name while the class body runs.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


script = _load_script()
main = script.main
build_catalog = script.build_catalog
LensData = script.LensData

LENS = "wellarchitected"
WORKLOAD = "0123456789abcdef0123456789abcdef"
NOW = datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC)
SCRATCH_NAME = "guard-catalog-refresh-20261130T120000Z"
PILLARS = [("security", "Security")]


def client() -> Any:
    return boto3.client(
        "wellarchitected",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def answers_of(catalog: Catalog) -> list[dict[str, Any]]:
    """ListAnswers's AnswerSummaries for a catalog, links as ImprovementPlan urls."""
    answers = []
    for question in catalog.questions:
        choices = []
        for choice in question.choices:
            entry: dict[str, Any] = {"ChoiceId": choice.id, "Title": choice.title}
            if choice.url:
                entry["ImprovementPlan"] = {"DisplayText": choice.title, "Url": choice.url}
            choices.append(entry)
        answers.append(
            {
                "QuestionId": question.id,
                "PillarId": question.pillar,
                "QuestionTitle": question.title,
                "Choices": choices,
                "SelectedChoices": [],
                "IsApplicable": True,
                "Risk": "UNANSWERED",
            }
        )
    return answers


def stub_read(
    stubber: Stubber,
    answers: list[dict[str, Any]],
    *,
    pillars: list[tuple[str, str]] = PILLARS,
    version: str = "2024-06-27",
    lens: str = LENS,
) -> None:
    """GetLensReview, then ListAnswers in two pages."""
    stubber.add_response(
        "get_lens_review",
        {
            "WorkloadId": WORKLOAD,
            "LensReview": {
                "LensAlias": lens,
                "LensVersion": version,
                "PillarReviewSummaries": [
                    {"PillarId": pillar_id, "PillarName": name} for pillar_id, name in pillars
                ],
            },
        },
        {"WorkloadId": WORKLOAD, "LensAlias": lens},
    )
    half = len(answers) // 2
    stubber.add_response(
        "list_answers",
        {"WorkloadId": WORKLOAD, "AnswerSummaries": answers[:half], "NextToken": "page-2"},
        {"WorkloadId": WORKLOAD, "LensAlias": lens, "MaxResults": 50},
    )
    stubber.add_response(
        "list_answers",
        {"WorkloadId": WORKLOAD, "AnswerSummaries": answers[half:]},
        {"WorkloadId": WORKLOAD, "LensAlias": lens, "MaxResults": 50, "NextToken": "page-2"},
    )


def stub_create(stubber: Stubber, lens: str = LENS) -> None:
    stubber.add_response(
        "create_workload",
        {
            "WorkloadId": WORKLOAD,
            "WorkloadArn": f"arn:aws:wellarchitected:us-east-1:111111111111:workload/{WORKLOAD}",
        },
        {
            "WorkloadName": SCRATCH_NAME,
            "Description": script.SCRATCH_DESCRIPTION,
            "Environment": "PREPRODUCTION",
            "Lenses": [lens],
            "AwsRegions": ["us-east-1"],
            "ClientRequestToken": ANY,
        },
    )


def stub_delete(stubber: Stubber) -> None:
    stubber.add_response("delete_workload", {}, {"WorkloadId": WORKLOAD, "ClientRequestToken": ANY})


@pytest.fixture
def seed() -> Catalog:
    return load_catalog_file(catalog_path(LENS))


@pytest.fixture
def catalog_copy(tmp_path: Path) -> Path:
    path = tmp_path / "wellarchitected.yaml"
    shutil.copyfile(catalog_path(LENS), path)
    return path


def run(argv: list[str], wa: Any) -> int:
    return int(main(argv, client=wa, now=NOW))


# --- reading through a workload -------------------------------------------------------------


def test_two_pages_of_answers_give_the_catalog_in_api_order(
    catalog_copy: Path, seed: Catalog, capsys: pytest.CaptureFixture[str]
) -> None:
    wa = client()
    with Stubber(wa) as stubber:
        stub_read(stubber, answers_of(seed))
        code = run(["--catalog", str(catalog_copy), "--workload-id", WORKLOAD], wa)
        stubber.assert_no_pending_responses()
    out = capsys.readouterr().out
    assert code == 0
    new = load_catalog_file(catalog_copy)
    assert new.confirmed is True
    assert new.lens_version == "2024-06-27"
    assert new.source == (
        "Well-Architected Tool API (us-east-1), GetLensReview and ListAnswers of lens "
        f"wellarchitected through workload {WORKLOAD}, 2026-11-30, by "
        "scripts/refresh_wellarchitected_catalog.py"
    )
    # Everything else, risks and question sources included, is as it was.
    assert new.pillars == seed.pillars
    assert new.questions == seed.questions
    assert "confirmed: the catalog now comes from the API" in out
    assert "added" not in out and "removed" not in out and "risk unknown" not in out
    text = catalog_copy.read_text(encoding="utf-8")
    assert text.startswith(script.HEADER.format(lens=LENS) + "\n")
    assert f"Wrote {catalog_copy}." in out


def test_a_second_refresh_with_nothing_new_leaves_the_file_identical(
    catalog_copy: Path, seed: Catalog, capsys: pytest.CaptureFixture[str]
) -> None:
    wa = client()
    with Stubber(wa) as stubber:
        stub_read(stubber, answers_of(seed))
        assert run(["--catalog", str(catalog_copy), "--workload-id", WORKLOAD], wa) == 0
    first = catalog_copy.read_bytes()
    capsys.readouterr()
    later = datetime(2027, 1, 2, tzinfo=UTC)
    with Stubber(wa) as stubber:
        stub_read(stubber, answers_of(seed))
        code = main(
            ["--catalog", str(catalog_copy), "--workload-id", WORKLOAD], client=wa, now=later
        )
        stubber.assert_no_pending_responses()
    assert code == 0
    assert catalog_copy.read_bytes() == first
    assert "No changes: the catalog matches the API (lens wellarchitected 2024-06-27)." in (
        capsys.readouterr().out
    )


def test_risk_is_kept_for_known_choices_and_unknown_for_new_ones(
    catalog_copy: Path, seed: Catalog, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = answers_of(seed)
    network = next(a for a in answers if a["QuestionId"] == "network-protection")
    removed = network["Choices"].pop(3)  # sec_network_auto_protect
    network["Choices"].insert(
        2,
        {
            "ChoiceId": "sec_network_protection_new_practice",
            "Title": "Protect a new thing",
            "HelpfulResource": {"DisplayText": "x", "Url": "https://example.com/new"},
        },
    )
    network["QuestionTitle"] = "SEC 5. How do you protect your networks?"
    answers.append(
        {
            "QuestionId": "fault-isolation",
            "PillarId": "reliability",
            "QuestionTitle": "REL 10. How do you use fault isolation to protect your workload?",
            "Choices": [
                {"ChoiceId": "rel_fault_isolation_multiaz_region_system", "Title": "Deploy"},
                {"ChoiceId": "rel_fault_isolation_no", "Title": NONE_TITLE},
            ],
        }
    )
    wa = client()
    with Stubber(wa) as stubber:
        stub_read(
            stubber,
            answers,
            pillars=[("security", "Security"), ("reliability", "Reliability")],
            version="2025-02-25",
        )
        code = run(["--catalog", str(catalog_copy), "--workload-id", WORKLOAD], wa)
        stubber.assert_no_pending_responses()
    assert code == 0
    out = capsys.readouterr().out
    new = load_catalog_file(catalog_copy)
    assert new.lens_version == "2025-02-25"
    assert [p.id for p in new.pillars] == ["security", "reliability"]
    question = new.question("network-protection")
    assert question is not None
    assert question.title == "SEC 5. How do you protect your networks?"
    assert [c.id for c in question.choices] == [
        "sec_network_protection_create_layers",
        "sec_network_protection_layered",
        "sec_network_protection_new_practice",
        "sec_network_protection_inspection",
        "sec_network_protection_no",
    ]
    kept = seed.question("network-protection")
    assert kept is not None
    for choice_id in ("sec_network_protection_create_layers", "sec_network_protection_inspection"):
        assert question.choice(choice_id) == kept.choice(choice_id)
    new_choice = question.choice("sec_network_protection_new_practice")
    assert new_choice is not None
    assert (new_choice.risk, new_choice.url) == ("unknown", "https://example.com/new")
    reliability = new.question("fault-isolation")
    assert reliability is not None and reliability.pillar == "reliability"
    assert [c.risk for c in reliability.choices] == ["unknown", "none"]
    assert reliability.source is None

    assert "lens_version 2024-06-27 -> 2025-02-25" in out
    assert "pillar added: reliability (Reliability)" in out
    assert (
        "network-protection: title 'SEC 5. How do you protect your network resources?' -> "
        "'SEC 5. How do you protect your networks?'"
    ) in out
    assert "network-protection: choice added: sec_network_protection_new_practice" in out
    assert f"network-protection: choice removed: {removed['ChoiceId']}" in out
    assert "question added: reliability/fault-isolation (2 choices)" in out
    assert (
        "risk unknown: network-protection/sec_network_protection_new_practice (Protect a new "
        "thing); set it from https://example.com/new"
    ) in out
    assert "risk unknown: fault-isolation/rel_fault_isolation_multiaz_region_system" in out
    assert "rel_fault_isolation_no" not in out.split("risk unknown")[-1]


def test_urls_come_from_the_improvement_plan_then_helpful_resource_then_the_catalog(
    seed: Catalog,
) -> None:
    answers = answers_of(seed)
    choices = answers[0]["Choices"]
    choices[0] = {
        "ChoiceId": choices[0]["ChoiceId"],
        "Title": choices[0]["Title"],
        "HelpfulResource": {"Url": "https://example.com/helpful"},
        "ImprovementPlan": {"Url": "https://example.com/plan"},
    }
    choices[1] = {
        "ChoiceId": choices[1]["ChoiceId"],
        "Title": choices[1]["Title"],
        "HelpfulResource": {"Url": "https://example.com/helpful"},
    }
    choices[2] = {"ChoiceId": choices[2]["ChoiceId"], "Title": choices[2]["Title"]}
    data = LensData("2024-06-27", tuple(PILLARS), tuple(answers))
    new, warnings = build_catalog(data, LENS, "test", seed)
    assert warnings == []
    urls = [c.url for c in new.questions[0].choices[:3]]
    assert urls == [
        "https://example.com/plan",
        "https://example.com/helpful",
        seed.questions[0].choices[2].url,
    ]


def test_a_question_of_a_pillar_the_review_does_not_list_is_kept_with_a_warning(
    seed: Catalog,
) -> None:
    answers = answers_of(seed)[:1]
    answers[0]["PillarId"] = "mystery"
    data = LensData("1", tuple(PILLARS), tuple(answers))
    new, warnings = build_catalog(data, LENS, "test", seed)
    assert [(p.id, p.name) for p in new.pillars] == [("mystery", "mystery")]
    assert warnings == [
        "warning: pillar mystery is not in GetLensReview; named by its ID",
        "warning: pillar security has no questions; left out",
    ]


# --- the scratch workload -----------------------------------------------------------------------


def test_without_a_workload_id_a_scratch_workload_is_created_read_and_deleted(
    catalog_copy: Path, seed: Catalog, capsys: pytest.CaptureFixture[str]
) -> None:
    wa = client()
    with Stubber(wa) as stubber:
        stub_create(stubber)
        stub_read(stubber, answers_of(seed))
        stub_delete(stubber)
        code = run(["--catalog", str(catalog_copy)], wa)
        stubber.assert_no_pending_responses()
    out = capsys.readouterr().out
    assert code == 0
    assert f"Deleted the scratch workload {SCRATCH_NAME} ({WORKLOAD})." in out
    assert "through a scratch workload, 2026-11-30" in load_catalog_file(catalog_copy).source


def test_the_scratch_workload_is_deleted_when_list_answers_fails(
    catalog_copy: Path, seed: Catalog, capsys: pytest.CaptureFixture[str]
) -> None:
    before = catalog_copy.read_bytes()
    wa = client()
    with Stubber(wa) as stubber:
        stub_create(stubber)
        stubber.add_response(
            "get_lens_review",
            {"WorkloadId": WORKLOAD, "LensReview": {"LensAlias": LENS, "LensVersion": "1"}},
            {"WorkloadId": WORKLOAD, "LensAlias": LENS},
        )
        stubber.add_client_error(
            "list_answers",
            service_error_code="ThrottlingException",
            service_message="Rate exceeded",
            http_status_code=429,
            expected_params={"WorkloadId": WORKLOAD, "LensAlias": LENS, "MaxResults": 50},
        )
        stub_delete(stubber)
        code = run(["--catalog", str(catalog_copy)], wa)
        stubber.assert_no_pending_responses()
    out, err = capsys.readouterr()
    assert code == 2
    assert catalog_copy.read_bytes() == before
    assert f"Deleted the scratch workload {SCRATCH_NAME} ({WORKLOAD})." in out
    assert err == (
        "error: AWS rejected ListAnswers: ThrottlingException: Rate exceeded. Nothing was written.\n"
    )


def test_a_failed_delete_is_reported_with_the_workload_id(
    catalog_copy: Path, seed: Catalog, capsys: pytest.CaptureFixture[str]
) -> None:
    wa = client()
    with Stubber(wa) as stubber:
        stub_create(stubber)
        stub_read(stubber, answers_of(seed))
        stubber.add_client_error(
            "delete_workload",
            service_error_code="AccessDeniedException",
            service_message="not allowed to delete",
            http_status_code=403,
            expected_params={"WorkloadId": WORKLOAD, "ClientRequestToken": ANY},
        )
        code = run(["--catalog", str(catalog_copy)], wa)
        stubber.assert_no_pending_responses()
    err = capsys.readouterr().err
    assert code == 0  # the catalog was read: it is written, and the leftover is reported
    assert load_catalog_file(catalog_copy).confirmed is True
    assert err == (
        f"warning: the scratch workload {SCRATCH_NAME} ({WORKLOAD}) was not deleted: AWS rejected "
        "DeleteWorkload: AccessDeniedException: not allowed to delete. Delete it in the "
        "Well-Architected Tool console or with "
        f"`aws wellarchitected delete-workload --workload-id {WORKLOAD}`.\n"
    )


# --- failures and --dry-run ---------------------------------------------------------------------


def test_access_denied_gives_one_line_and_exit_2(
    catalog_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = catalog_copy.read_bytes()
    wa = client()
    with Stubber(wa) as stubber:
        stubber.add_client_error(
            "create_workload",
            service_error_code="AccessDeniedException",
            service_message="User: arn:aws:iam::111111111111:user/ci is not authorized\n"
            "to perform: wellarchitected:CreateWorkload",
            http_status_code=403,
            expected_params={
                "WorkloadName": SCRATCH_NAME,
                "Description": script.SCRATCH_DESCRIPTION,
                "Environment": "PREPRODUCTION",
                "Lenses": [LENS],
                "AwsRegions": ["us-east-1"],
                "ClientRequestToken": ANY,
            },
        )
        code = run(["--catalog", str(catalog_copy)], wa)
        stubber.assert_no_pending_responses()
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err == (
        "error: AWS rejected CreateWorkload: AccessDeniedException: User: "
        "arn:aws:iam::111111111111:user/ci is not authorized to perform: "
        "wellarchitected:CreateWorkload. Nothing was written.\n"
    )
    assert catalog_copy.read_bytes() == before


def test_dry_run_prints_the_diff_and_writes_nothing(
    catalog_copy: Path, seed: Catalog, capsys: pytest.CaptureFixture[str]
) -> None:
    before = catalog_copy.read_bytes()
    answers = answers_of(seed)
    answers[0]["Choices"][0]["Title"] = "Separate workloads with accounts"
    wa = client()
    with Stubber(wa) as stubber:
        stub_read(stubber, answers)
        code = run(["--catalog", str(catalog_copy), "--workload-id", WORKLOAD, "--dry-run"], wa)
        stubber.assert_no_pending_responses()
    out = capsys.readouterr().out
    assert code == 0
    assert catalog_copy.read_bytes() == before
    assert (
        "securely-operate/sec_securely_operate_multi_accounts: title "
        "'Separate workloads using accounts' -> 'Separate workloads with accounts'"
    ) in out
    assert f"+++ {catalog_copy} (refreshed)" in out
    assert "\n-confirmed: false\n" in out
    assert "\n+confirmed: true\n" in out
    assert "+            title: Separate workloads with accounts\n" in out
    assert "Wrote" not in out


def test_a_malformed_catalog_is_refused_before_any_call(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "wellarchitected.yaml"
    text = catalog_path(LENS).read_text(encoding="utf-8").replace("risk: high", "risk: severe", 1)
    path.write_text(text, encoding="utf-8")
    wa = client()
    with Stubber(wa):  # any call would fail: nothing is stubbed
        code = run(["--catalog", str(path), "--workload-id", WORKLOAD], wa)
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"error: the catalog is malformed: {path}: malformed")
    assert "risk: must be one of high, medium, low, none, unknown, got 'severe'" in err
    assert path.read_text(encoding="utf-8") == text


def test_a_new_lens_gets_a_new_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], seed: Catalog
) -> None:
    path = tmp_path / "serverless.yaml"
    answers = copy.deepcopy(answers_of(seed)[:2])
    wa = client()
    with Stubber(wa) as stubber:
        stub_read(stubber, answers, lens="serverless", version="2023-01-01")
        code = run(["--lens", "serverless", "--catalog", str(path), "--workload-id", WORKLOAD], wa)
        stubber.assert_no_pending_responses()
    out = capsys.readouterr().out
    assert code == 0
    assert "new catalog for lens serverless" in out
    new = load_catalog_file(path)
    assert new.lens == "serverless"
    assert {c.risk for q in new.questions for c in q.choices} == {"unknown", "none"}


def test_an_empty_lens_is_an_error(catalog_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = catalog_copy.read_bytes()
    wa = client()
    with Stubber(wa) as stubber:
        stub_read(stubber, [])
        code = run(["--catalog", str(catalog_copy), "--workload-id", WORKLOAD], wa)
    assert code == 2
    assert capsys.readouterr().err == (
        "error: ListAnswers returned no questions for lens wellarchitected. Nothing was written.\n"
    )
    assert catalog_copy.read_bytes() == before


@pytest.mark.usefixtures("without_aws_credentials")
def test_without_credentials_exits_2_with_one_line(
    catalog_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = catalog_copy.read_bytes()
    code = main(["--catalog", str(catalog_copy), "--region", "us-east-1"], now=NOW)
    err = capsys.readouterr().err
    assert code == 2
    assert err == (
        "error: no AWS credentials found. Use --profile, or set AWS_PROFILE or "
        "AWS_ACCESS_KEY_ID. Nothing was written.\n"
    )
    assert catalog_copy.read_bytes() == before


def test_an_unknown_profile_exits_2(catalog_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--catalog", str(catalog_copy), "--profile", "guard-test-no-such-profile"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: could not call AWS: ") and "guard-test-no-such-profile" in err
    assert err.count("\n") == 1
