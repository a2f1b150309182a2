"""``guard plan --all``: every stack of the stacks directory planned by worker processes, one row
per stack with the same counts as ``guard plan --stack NAME`` gives, and one exit code.

The stacks are small (two single-endpoint stacks and a copy of the prod fixture), so that each
``--all`` run takes a second or two.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from guard import cli_plan, plan_all
from guard.cli import main
from guard.config.loader import STACKS_DIR_VARIABLE
from guard.plan_all import Finding, Report, StackRow
from tests.conftest import ROOT, STACKS
from tests.stack_files import write_stack_file

TODAY = "2026-11-25"
POLICIES = str(ROOT / "policies")
#: The keys each row of the JSON report has, in this order.
ROW_KEYS = ["stack", "resources", "mandatory", "advisory", "seconds", "result", "errors"]


def small_stack(directory: Path, name: str, *, detection: bool = True) -> Path:
    """A one-endpoint stack; without ``detection`` it violates two mandatory policies
    (guardduty-enabled, securityhub-standard)."""
    path = write_stack_file(directory, name)
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    staging = yaml.safe_load((STACKS / "Pulumi.staging.yaml").read_text(encoding="utf-8"))
    document["config"]["guard:alerts"] = staging["config"]["guard:alerts"]
    if detection:
        document["config"]["guard:detection"] = staging["config"]["guard:detection"]
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def three_stacks(directory: Path) -> Path:
    """alpha (one endpoint), beta (one endpoint, two mandatory findings) and gamma (the prod
    fixture: an advisory finding)."""
    directory.mkdir(parents=True, exist_ok=True)
    small_stack(directory, "alpha")
    small_stack(directory, "beta", detection=False)
    (directory / "Pulumi.gamma.yaml").write_text(
        (STACKS / "Pulumi.prod.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    return directory


def broken_stack(directory: Path) -> None:
    (directory / "Pulumi.broken.yaml").write_text(
        'config:\n  aws:region: ap-northeast-1\n  guard:account_id: "12"\n', encoding="utf-8"
    )


def plan_all_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict, str]:
    code = main(["plan", "--all", "--format", "json", "--today", TODAY, *args])
    out, err = capsys.readouterr()
    return code, json.loads(out), err


def counts(row: dict[str, Any]) -> tuple[Any, ...]:
    """A row without its time."""
    return tuple(v for k, v in row.items() if k != "seconds")


@pytest.fixture(scope="module")
def stacks_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    directory = three_stacks(tmp_path_factory.mktemp("plan-all") / "stacks")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(STACKS_DIR_VARIABLE, str(directory))
        patch.chdir(ROOT)
        yield directory


@pytest.fixture(scope="module")
def report(stacks_dir: Path) -> dict[str, Any]:
    """``guard plan --all --format json --jobs 2``, in-process (the workers are forked)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["plan", "--all", "--format", "json", "--today", TODAY, "--jobs", "2"])
    document: dict[str, Any] = json.loads(out.getvalue())
    document["exit_code"] = code
    return document


@pytest.fixture
def own_stacks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A stacks directory of this test's own, to add to: the two small stacks."""
    directory = tmp_path / "stacks"
    directory.mkdir()
    small_stack(directory, "alpha")
    small_stack(directory, "beta")
    monkeypatch.setenv(STACKS_DIR_VARIABLE, str(directory))
    monkeypatch.chdir(tmp_path)  # crash files go to ./.guard
    return directory


def test_one_row_per_stack_with_the_counts_of_its_own_plan(
    report: dict[str, Any], stacks_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = report["stacks"]
    assert [r["stack"] for r in rows] == ["alpha", "beta", "gamma"]
    assert [list(r)[: len(ROW_KEYS)] for r in rows] == [ROW_KEYS] * 3
    for row in rows:
        code = main(["plan", "--stack", row["stack"], "--format", "json", "--today", TODAY])
        single = json.loads(capsys.readouterr().out)
        levels = [p["enforcement_level"] for p in single["policies"]]
        mandatory = [p for p in single["policies"] if p["enforcement_level"] == "mandatory"]
        assert row["resources"] == len(single["resources"]) > 0
        assert row["mandatory"] == levels.count("mandatory")
        assert row["advisory"] == levels.count("advisory")
        assert [(f["policy"], f["message"]) for f in row["findings"]] == [
            (p["policy"], p["message"]) for p in mandatory
        ]
        assert row["result"] == ("policy" if code == 1 else "ok")
        assert row["errors"] == []
    alpha, beta, gamma = rows
    assert (alpha["result"], beta["result"], gamma["result"]) == ("ok", "policy", "ok")
    assert beta["mandatory"] == 2 and gamma["advisory"] >= 1  # counted apart
    assert report["exit_code"] == 1
    summary = report["summary"]
    assert summary["stacks"] == 3 and summary["jobs"] == 2
    assert (summary["ok"], summary["policy"], summary["invalid"]) == (2, 1, 0)
    assert summary["resources"] == sum(r["resources"] for r in rows)
    assert summary["exit_code"] == 1


def test_the_console_command_plans_with_its_process_pool(
    report: dict[str, Any], stacks_dir: Path
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "guard", "plan", "--all", "--format", "json", "--today", TODAY],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, STACKS_DIR_VARIABLE: str(stacks_dir)},
        check=False,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr  # beta violates a mandatory policy
    assert result.stderr == ""  # not a terminal: no progress lines
    document = json.loads(result.stdout)
    assert [counts(r) for r in document["stacks"]] == [counts(r) for r in report["stacks"]]


def test_one_job_gives_the_same_rows_as_two(
    report: dict[str, Any], stacks_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, document, _ = plan_all_json(capsys, "--jobs", "1")
    assert code == 1
    assert document["summary"]["jobs"] == 1
    assert [counts(r) for r in document["stacks"]] == [counts(r) for r in report["stacks"]]


def test_without_fork_the_stacks_are_planned_in_this_process(
    report: dict[str, Any],
    stacks_dir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(plan_all, "can_fork", lambda: False)
    code, document, _ = plan_all_json(capsys)
    assert code == 1
    assert [counts(r) for r in document["stacks"]] == [counts(r) for r in report["stacks"]]


def test_text_and_markdown_show_one_row_per_stack_and_the_totals(
    stacks_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", "--all", "--today", TODAY, "--jobs", "2"]) == 1
    text = capsys.readouterr().out
    lines = text.splitlines()
    assert lines[0].split() == [
        "stack",
        "resources",
        "mandatory",
        "advisory",
        "time",
        "(s)",
        "result",
    ]
    assert [line.split()[0] for line in lines[1:4]] == ["alpha", "beta", "gamma"]
    assert [line.split()[-1] for line in lines[1:4]] == ["ok", "policy", "ok"]
    assert lines[4] == ""
    assert lines[5].startswith("3 stacks (2 ok, 1 policy), ") and lines[5].endswith(" 2 jobs")
    assert lines[6:8] == ["", "beta: 2 mandatory violation(s)"]

    assert main(["plan", "--all", "--format", "markdown", "--today", TODAY, "--jobs", "1"]) == 1
    markdown = capsys.readouterr().out.splitlines()
    assert markdown[0] == plan_all.MARKDOWN_MARKER
    header = markdown.index("| stack | resources | mandatory | advisory | time (s) | result |")
    rows = markdown[header + 2 : header + 5]
    assert [r.split(" | ")[0] for r in rows] == ["| `alpha`", "| `beta`", "| `gamma`"]
    assert markdown[header + 5] == ""
    assert markdown[header + 6].endswith("1 job")


def test_an_invalid_stack_is_reported_and_the_others_are_planned(
    own_stacks: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken_stack(own_stacks)
    small_stack(own_stacks, "nodetect", detection=False)
    code, document, err = plan_all_json(capsys, "--policy-pack", POLICIES)
    assert code == 2  # invalid outranks a policy violation
    rows = {r["stack"]: r for r in document["stacks"]}
    assert list(rows) == ["alpha", "beta", "broken", "nodetect"]
    broken = rows["broken"]
    assert broken["result"] == "invalid"
    assert broken["resources"] is broken["mandatory"] is None
    assert any("guard:account_id" in e and "Pulumi.broken.yaml:3" in e for e in broken["errors"])
    assert "Pulumi.broken.yaml:3" in err  # also on stderr, as guard plan --stack prints it
    assert rows["alpha"]["result"] == rows["beta"]["result"] == "ok"
    assert rows["nodetect"]["result"] == "policy"
    assert document["summary"]["invalid"] == 1 and document["summary"]["exit_code"] == 2

    assert main(["plan", "--all", "--today", TODAY, "--policy-pack", POLICIES]) == 2
    text, err = capsys.readouterr()
    assert "broken: invalid\n" in text and "must match" in text
    # Listed under the table, once: not repeated on stderr as for JSON readers.
    assert "Pulumi.broken.yaml:3" not in err


def test_a_mandatory_violation_exits_1_and_lists_the_findings(
    own_stacks: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    small_stack(own_stacks, "nodetect", detection=False)
    assert main(["plan", "--all", "--today", TODAY, "--policy-pack", POLICIES]) == 1
    text = capsys.readouterr().out
    row = next(line for line in text.splitlines() if line.startswith("nodetect "))
    assert row.split()[2:4] == ["2", "0"] and row.endswith(" policy")
    details = text.split("\nnodetect: 2 mandatory violation(s)\n", 1)[1]
    assert "  guardduty-enabled on stack: guard:detection is not configured" in details
    assert "  securityhub-standard on stack: " in details

    code, document, _ = plan_all_json(capsys, "--policy-pack", POLICIES)
    assert code == 1
    nodetect = document["stacks"][-1]
    assert [f["policy"] for f in nodetect["findings"]] == [
        "guardduty-enabled",
        "securityhub-standard",
    ]

    assert (
        main(["plan", "--all", "--format", "markdown", "--today", TODAY, "--policy-pack", POLICIES])
        == 1
    )
    markdown = capsys.readouterr().out
    assert "| `nodetect` |" in markdown and "| **policy** |" in markdown
    assert "### `nodetect`: 2 mandatory violation(s)" in markdown


def test_a_crash_in_one_stack_exits_70_and_the_others_are_planned(
    own_stacks: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = cli_plan.plan_stack

    def plan_stack(stack: str, **options: Any) -> cli_plan.StackPlan:
        if stack == "beta":
            raise RuntimeError("a bug in the program")
        return real(stack, **options)

    monkeypatch.setattr(cli_plan, "plan_stack", plan_stack)  # the forked workers inherit it
    code, document, err = plan_all_json(capsys, "--policy-pack", POLICIES)
    assert code == 70
    rows = {r["stack"]: r for r in document["stacks"]}
    assert rows["beta"]["result"] == "crashed"
    [line] = rows["beta"]["errors"]
    assert "RuntimeError: a bug in the program" in line and "details in .guard/crash-" in line
    crash_file = Path(line.rsplit("details in ", 1)[1])
    assert "Traceback" in crash_file.read_text(encoding="utf-8")
    assert rows["alpha"]["result"] == "ok"
    assert "RuntimeError: a bug in the program" in err


def test_a_worker_that_dies_costs_only_its_stack(
    own_stacks: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real, parent = cli_plan.plan_stack, os.getpid()

    def plan_stack(stack: str, **options: Any) -> cli_plan.StackPlan:
        if stack == "alpha" and os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(stack, **options)

    monkeypatch.setattr(cli_plan, "plan_stack", plan_stack)
    code, document, _ = plan_all_json(capsys, "--policy-pack", POLICIES, "--jobs", "1")
    assert code == 70
    rows = {r["stack"]: r for r in document["stacks"]}
    assert rows["alpha"]["result"] == "crashed"
    assert rows["alpha"]["errors"] == [
        "internal error: the worker process planning it died (SIGKILL, perhaps out of memory)"
    ]
    # One worker: the stack after alpha was planned by the worker that replaced it.
    assert rows["beta"]["result"] == "ok"


@pytest.mark.parametrize(
    "args",
    [
        ["plan", "--all", "--stack", "prod"],
        ["plan"],
        ["plan", "--all", "--jobs", "0"],
        ["plan", "--all", "--jobs", "two"],
    ],
)
def test_argument_errors_are_usage_errors(args: list[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(args)
    assert exited.value.code == 2


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--all", "--config-file", "stacks/Pulumi.prod.yaml"], "--config-file cannot be used"),
        (["--all", "--base", "HEAD"], "--base cannot be used"),
        (["--stack", "alpha", "--jobs", "2"], "--jobs goes with --all"),
    ],
)
def test_options_that_do_not_go_together_exit_2(
    args: list[str], said: str, stacks_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", *args]) == 2
    out, err = capsys.readouterr()
    assert out == "" and said in err


def test_usage_errors_from_the_console_command() -> None:
    for args in (["--all", "--stack", "prod"], ["--all", "--config-file", "x.yaml"]):
        result = subprocess.run(
            [sys.executable, "-m", "guard", "plan", *args],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
        )
        assert result.returncode == 2, args
        assert result.stdout == "" and "usage: guard plan" in result.stderr


def test_no_stack_files_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(STACKS_DIR_VARIABLE, str(tmp_path))
    assert main(["plan", "--all"]) == 2
    assert "no stack files" in capsys.readouterr().err


def test_a_policy_pack_that_cannot_be_loaded_exits_2(
    stacks_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plan", "--all", "--policy-pack", str(tmp_path)]) == 2
    out, err = capsys.readouterr()
    assert out == "" and "not a policy pack" in err


def row(stack: str, result: str, **fields: Any) -> StackRow:
    return StackRow(stack, result, 0.5, **fields)


@pytest.mark.parametrize(
    ("results", "code"),
    [
        (["ok", "ok"], 0),
        (["ok", "policy"], 1),
        (["policy", "invalid"], 2),
        (["invalid", "crashed", "policy"], 70),
    ],
)
def test_exit_code_precedence(results: list[str], code: int) -> None:
    rows = [row(f"s{i}", result) for i, result in enumerate(results)]
    assert Report(rows, 1.0, 2).exit_code == code


def test_markdown_shows_findings_as_written() -> None:
    finding = Finding("waf-x", "guard-a|b", "a <script> | `tick` *star* @team")
    report = Report(
        [row("a", "policy", resources=3, mandatory=1, advisory=0, findings=(finding,))], 1.0, 1
    )
    markdown = plan_all.render_markdown(report)
    line = next(x for x in markdown.splitlines() if x.startswith("- "))
    assert "<script>" not in line and "&lt;script&gt;" in line
    assert "\\|" in line and "\\`tick\\`" in line and "@\u200bteam" in line


def test_progress_lines_go_to_a_terminal_only(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal:
        def __init__(self, tty: bool) -> None:
            self.tty, self.text = tty, ""

        def isatty(self) -> bool:
            return self.tty

        def write(self, text: str) -> int:
            self.text += text
            return len(text)

        def flush(self) -> None:
            pass

    for tty in (True, False):
        terminal = Terminal(tty)
        monkeypatch.setattr(sys, "stderr", terminal)
        progress = plan_all._progress(2)
        progress(row("a", "ok", resources=3, mandatory=0, advisory=0))
        progress(row("b", "invalid", errors=("x",)))
        monkeypatch.undo()
        expected = "guard plan --all: [1/2] a: ok (3 resources, 0.5 s)\nguard plan --all: [2/2] b: invalid (0.5 s)\n"
        assert terminal.text == (expected if tty else "")


def test_the_subpackages_cover_guards_resource_types() -> None:
    names = plan_all.aws_subpackages()
    assert {"wafv2", "iam", "lambda_", "shield", "guardduty"} <= set(names)
    assert "lambda" not in names
