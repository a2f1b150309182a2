"""``guard diff`` and ``guard plan --base`` in-process: the two forms, exit codes, usage errors,
files that are not plans, and which side an error comes from.

The base side of ``--base`` is replaced by a stand-in here (its real subprocess and worktree are
tested in test_diff_base.py); the weakening pairs change what the engine itself reports (a
resource's deletion protection), so that no area's wording is assumed.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from guard import cli, cli_plan, diff_base
from guard.diff import diff_documents
from guard.diff_model import PlanDocument
from guard.diff_render import render_json
from guard.plan import PlanResult
from guard.policy_run import load_pack, run_policies
from tests.conftest import ROOT, TODAY
from tests.guard.test_cli_help import exit_codes, help_of

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture(scope="module")
def prod_plan(example_plan: Callable[[str], PlanResult]) -> cli_plan.StackPlan:
    result = example_plan("prod")
    return cli_plan.StackPlan(
        result, run_policies(result, load_pack(ROOT / "policies"), today=TODAY)
    )


@pytest.fixture(scope="module")
def prod_document(prod_plan: cli_plan.StackPlan) -> dict[str, Any]:
    return prod_plan.document()


def unprotected(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with its first deletion-protected resource no longer protected."""
    changed = copy.deepcopy(document)
    resource = next(r for r in changed["resources"] if r["protect"])
    resource["protect"] = False
    return changed


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Run:
    def call(*argv: str) -> tuple[int, str, str]:
        code = cli.main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return call


@pytest.fixture
def files(tmp_path: Path, prod_document: dict[str, Any]) -> dict[str, Path]:
    """prod.json (the plan), weaker.json (a resource loses deletion protection)."""
    paths = {"prod": tmp_path / "prod.json", "weaker": tmp_path / "weaker.json"}
    paths["prod"].write_text(json.dumps(prod_document, indent=2), encoding="utf-8")
    paths["weaker"].write_text(json.dumps(unprotected(prod_document), indent=2), encoding="utf-8")
    return paths


# --- two files ---------------------------------------------------------------------------------


def test_the_same_plan_twice_is_no_change(run: Run, files: dict[str, Path]) -> None:
    prod = str(files["prod"])
    code, out, err = run("diff", prod, prod)
    assert (code, err) == (0, "")
    assert out == f"guard diff: stack prod ({prod} → {prod})\nno change to protections\n"
    code, out, _ = run("diff", prod, prod, "--format", "markdown", "--fail-on", "weakens")
    assert code == 0
    assert out.splitlines() == [
        "<!-- guard-plan:prod -->",
        f"no change to protections in `prod` (`{prod}` → `{prod}`)",
    ]


def test_a_weakening_change_exits_1_only_with_fail_on(run: Run, files: dict[str, Path]) -> None:
    prod, weaker = str(files["prod"]), str(files["weaker"])
    code, out, _ = run("diff", prod, weaker)
    assert code == 0  # a report, whatever it says
    assert out.splitlines()[1] == "1 change weakens protection — security review needed"
    assert re.search(r"^  WEAKENS +other ", out, re.MULTILINE)
    assert run("diff", prod, weaker, "--fail-on", "weakens")[0] == 1
    # The other way round the change strengthens protection: nothing to fail on.
    code, out, _ = run("diff", weaker, prod, "--fail-on", "weakens")
    assert code == 0 and "STRENGTHENS" in out


def test_json_output_is_the_contract_and_byte_stable(run: Run, files: dict[str, Path]) -> None:
    prod, weaker = files["prod"], files["weaker"]
    _, first, _ = run("diff", str(prod), str(weaker), "--format", "json")
    _, again, _ = run("diff", str(prod), str(weaker), "--format", "json")
    assert first == again
    expected = diff_documents(
        PlanDocument.from_json(json.loads(prod.read_text())),
        PlanDocument.from_json(json.loads(weaker.read_text())),
        base_label=str(prod),
        head_label=str(weaker),
    )
    assert first == render_json(expected)
    document = json.loads(first)
    assert document["base"] == str(prod) and document["head"] == str(weaker)
    assert document["status"] == "changed" and document["summary"]["weakens"] == 1


def test_markdown_comment_of_two_files(run: Run, files: dict[str, Path]) -> None:
    _, out, _ = run("diff", str(files["prod"]), str(files["weaker"]), "--format", "markdown")
    assert out.startswith("<!-- guard-plan:prod -->\n## guard diff: `prod`\n")
    assert "### Weakens protection (1)" in out


# --- usage and file errors ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ((), "give two plan JSON files (OLD.json NEW.json), or --stack NAME --base GIT_REF"),
        (("a.json",), "give two plan JSON files, OLD.json and NEW.json (got 1)"),
        (("a.json", "b.json", "c.json"), "(got 3)"),
        (("a.json", "b.json", "--stack", "prod"), "not both"),
        (("a.json", "b.json", "--base", "HEAD"), "not both"),
        (("a.json", "b.json", "--policy-pack", "policies"), "--policy-pack goes with"),
        (("--stack", "prod"), "--base GIT_REF is missing"),
        (("--base", "HEAD"), "--stack NAME is missing"),
    ],
)
def test_usage_errors_exit_2(run: Run, argv: tuple[str, ...], message: str) -> None:
    code, out, err = run("diff", *argv)
    assert code == 2 and out == ""
    assert err.startswith("usage: guard diff OLD.json NEW.json")
    (error,) = [line for line in err.splitlines() if line.startswith("guard diff: error: ")]
    assert message in error


def test_invalid_json_names_the_file_line_and_column(
    run: Run, files: dict[str, Path], tmp_path: Path
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "stack": "prod",\n  "resources": [,]\n}\n', encoding="utf-8")
    code, out, err = run("diff", str(files["prod"]), str(broken))
    assert code == 2 and out == ""
    assert err.splitlines() == [
        f"{broken}:3:17: not valid JSON: Expecting value",
        "guard diff: nothing was compared",
    ]


def test_files_that_are_not_plans_of_one_stack(
    run: Run, files: dict[str, Path], tmp_path: Path, prod_document: dict[str, Any]
) -> None:
    prod = str(files["prod"])
    not_plan = tmp_path / "stacks.json"
    not_plan.write_text('{"stacks": []}', encoding="utf-8")
    code, _, err = run("diff", str(not_plan), prod)
    assert code == 2 and f"{not_plan}: not a guard plan JSON document" in err
    code, _, err = run("diff", prod, str(tmp_path / "missing.json"))
    assert code == 2 and f"{tmp_path / 'missing.json'}: cannot read it" in err
    staging = tmp_path / "staging.json"
    staging.write_text(json.dumps({**prod_document, "stack": "staging"}), encoding="utf-8")
    code, _, err = run("diff", prod, str(staging))
    assert code == 2 and "compares two plans of one stack" in err


def test_help_describes_both_forms_formats_and_exit_codes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = help_of(capsys, "diff")
    assert "guard diff OLD.json NEW.json" in text and "--stack NAME --base GIT_REF" in text
    for fmt in ("text", "markdown", "json"):
        assert re.search(rf"^  {fmt} +\S", text, re.MULTILINE), fmt
    assert "(default: text" in text and "parallel" in text
    codes = exit_codes(text)
    assert set(codes) == {"0", "1", "2", "70"}
    assert "--fail-on weakens" in codes["1"]
    assert "base (GIT_REF) or working" in codes["2"]
    assert "diff" in help_of(capsys)


# --- --base, with a stand-in for the base side -------------------------------------------------


class FakeBase:
    """Stands in for guard.diff_base.BasePlan: returns ``document`` or raises ``error``."""

    made: list[FakeBase] = []
    document: PlanDocument | None = None
    error: Exception | None = None

    def __init__(self, stack: str, ref: str, **options: Any) -> None:
        self.stack, self.ref, self.options = stack, ref, options
        self.cancelled = False
        FakeBase.made.append(self)

    def start(self) -> FakeBase:
        return self

    def result(self) -> PlanDocument:
        if FakeBase.error is not None:
            raise FakeBase.error
        return FakeBase.document or PlanDocument.missing(self.stack)

    def cancel(self) -> None:
        self.cancelled = True


@pytest.fixture
def fake_base(
    monkeypatch: pytest.MonkeyPatch, prod_plan: cli_plan.StackPlan, prod_document: dict[str, Any]
) -> Iterator[list[str]]:
    """The base is prod with a resource unprotected; the working tree's plan is prod, counted."""
    planned: list[str] = []

    def plan_stack(stack: str, **options: Any) -> cli_plan.StackPlan:
        planned.append(stack)
        return prod_plan

    FakeBase.made, FakeBase.error = [], None
    FakeBase.document = PlanDocument.from_json(unprotected(prod_document), "base")
    monkeypatch.setattr(diff_base, "BasePlan", FakeBase)
    monkeypatch.setattr(cli_plan, "plan_stack", plan_stack)
    yield planned


def test_diff_with_base_compares_the_base_with_the_working_tree(
    run: Run, fake_base: list[str]
) -> None:
    code, out, err = run(
        "diff", "--stack", "prod", "--base", "origin/main", "--today", "2026-11-25", "--format",
        "json",
    )  # fmt: skip
    assert (code, err) == (0, ""), err
    document = json.loads(out)
    assert (document["base"], document["head"]) == ("origin/main", "working tree")
    assert document["summary"]["strengthens"] == 1  # the working tree protects it again
    (base,) = FakeBase.made
    assert (base.stack, base.ref) == ("prod", "origin/main")
    assert base.options == {"today": date(2026, 11, 25), "policy_pack": None}
    assert base.cancelled  # the worktree is always cleaned up
    assert fake_base == ["prod"]


@pytest.mark.parametrize("fmt", ["markdown", "text", "json"])
def test_plan_with_base_plans_the_working_tree_once(
    run: Run, fake_base: list[str], prod_plan: cli_plan.StackPlan, fmt: str
) -> None:
    code, out, err = run(
        "plan", "--stack", "prod", "--base", "abc123", "--format", fmt, "--today", "2026-11-25"
    )
    assert code == prod_plan.exit_code and err == ""
    assert fake_base == ["prod"]  # one plan of the working tree for the diff and the plan
    assert FakeBase.made[0].options["today"] == date(2026, 11, 25)
    if fmt == "markdown":
        assert out.startswith("<!-- guard-plan:prod -->\n## guard diff: `prod`\n")
        assert out.count("<!-- guard-plan:") == 1
        assert out.index("**no change weakens protection; 1 change**") < out.index(
            "<details><summary>Full plan</summary>"
        )
        assert "## guard plan: `prod`" in out and out.endswith("</details>\n")
    elif fmt == "text":
        assert out.startswith("guard diff: stack prod (abc123 → working tree)\n")
        assert "\nguard plan: stack prod (" in out
    else:
        document = json.loads(out)
        diff = document.pop("diff")
        assert document == prod_plan.document()
        assert diff["base"] == "abc123" and diff["summary"]["strengthens"] == 1
        assert list(json.loads(out)) == [*prod_plan.document(), "diff"]


def test_plan_base_refuses_config_file(run: Run) -> None:
    code, _, err = run("plan", "--stack", "prod", "--base", "HEAD", "--config-file", "x.yaml")
    assert code == 2 and "cannot be used with --config-file" in err


def test_errors_name_their_side(
    run: Run, fake_base: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    FakeBase.error = diff_base.BaseConfigError("base (origin/main): stacks/Pulumi.prod.yaml: bad")
    code, out, err = run("diff", "--stack", "prod", "--base", "origin/main")
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        "base (origin/main): stacks/Pulumi.prod.yaml: bad",
        "guard diff: nothing was compared",
    ]
    FakeBase.error = diff_base.BaseCrashError("base (origin/main): guard plan crashed")
    assert run("diff", "--stack", "prod", "--base", "origin/main")[0] == 70
    assert run("plan", "--stack", "prod", "--base", "origin/main")[0] == 70

    def broken(stack: str, **options: Any) -> cli_plan.StackPlan:
        raise cli_plan.PlanError("stacks/Pulumi.prod.yaml: 1 configuration error")

    FakeBase.error = None
    monkeypatch.setattr(cli_plan, "plan_stack", broken)
    code, _, err = run("diff", "--stack", "prod", "--base", "origin/main")
    assert code == 2
    assert err.splitlines()[0] == "working tree: stacks/Pulumi.prod.yaml: 1 configuration error"
    assert FakeBase.made[-1].cancelled


@pytest.mark.parametrize("fmt", ["markdown", "text", "json"])
def test_a_base_that_cannot_be_planned_leaves_the_plan_with_a_note(
    run: Run, fake_base: list[str], prod_plan: cli_plan.StackPlan, fmt: str
) -> None:
    """main's own stack file broken: the pull request that fixes it still gets its plan."""
    FakeBase.error = diff_base.BaseConfigError("base (origin/main): stacks/Pulumi.prod.yaml: bad")
    code, out, err = run("plan", "--stack", "prod", "--base", "origin/main", "--format", fmt)
    assert code == prod_plan.exit_code
    assert err.splitlines() == ["base (origin/main): stacks/Pulumi.prod.yaml: bad"]
    note = "no diff: origin/main could not be planned (base (origin/main): stacks/Pulumi.prod.yaml"
    if fmt == "json":
        document = json.loads(out)
        assert document["diff"] is None
        assert document["diff_error"].startswith(note)
    elif fmt == "markdown":
        marker, second = out.splitlines()[:2]
        assert marker == "<!-- guard-plan:prod -->"
        assert second.startswith("> **guard diff**: no diff: origin/main could not be planned")
        assert "## guard plan: `prod`" in out
    else:
        assert out.startswith(f"guard diff: {note}")
        assert "\nguard plan: stack prod (" in out


def test_a_stack_deleted_in_the_working_tree_is_removed(run: Run, fake_base: list[str]) -> None:
    gone = json.loads(render_json_of_base("gone"))
    FakeBase.document = PlanDocument.from_json(gone, "base")
    code, out, _ = run("diff", "--stack", "gone", "--base", "HEAD", "--format", "json")
    assert code == 0 and fake_base == []  # nothing to plan in the working tree
    assert json.loads(out)["status"] == "stack removed"
    FakeBase.document = None  # at neither side
    code, _, err = run("diff", "--stack", "gone", "--base", "HEAD")
    assert code == 2 and "no stack 'gone'" in err and "none at HEAD either" in err


def render_json_of_base(stack: str) -> str:
    """A small plan document of ``stack`` (one resource)."""
    return json.dumps(
        {
            "project": "guard",
            "stack": stack,
            "resources": [
                {
                    "urn": f"urn:pulumi:{stack}::guard::aws:sns/topic:Topic::alerts",
                    "type": "aws:sns/topic:Topic",
                    "name": "alerts",
                    "parent": None,
                    "region": "eu-west-1",
                    "protect": False,
                    "inputs": {"name": "alerts"},
                }
            ],
        }
    )


def test_a_bad_ref_or_no_repository_exits_2(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, plain = tmp_path / "repo", tmp_path / "plain"
    for directory in (repo, plain):
        directory.mkdir()
    git = [
        "git",
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@example.com",
        "-c",
        "commit.gpgsign=false",
    ]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "one"], cwd=repo, check=True)
    monkeypatch.chdir(repo)
    code, _, err = run("diff", "--stack", "prod", "--base", "no-such-ref")
    assert code == 2
    assert err.startswith("base (no-such-ref): 'no-such-ref' names no commit in this repository")
    monkeypatch.chdir(plain)
    code, _, err = run("plan", "--stack", "prod", "--base", "HEAD")
    assert code == 2 and "is not in a git repository" in err
