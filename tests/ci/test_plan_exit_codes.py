"""How CI reads ``guard plan``'s exit status: 1 a mandatory policy, 2 a configuration error, and 70
an internal error in guard (a bug) that must not be reported as a policy violation.

The steps run as the CI systems run them (bash -eo pipefail) with a stand-in ``.venv/bin/guard``
that exits with the status under test and, for 70, leaves a crash file as guard does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ci.test_circleci import circleci, command_script
from tests.ci.test_workflows import index_of, load, steps

CRASH = "Traceback (most recent call last):\n  RuntimeError: the bug\n"
INTERNAL = "internal error in guard (a bug), not a policy violation"


def fake_guard(cwd: Path, status: int, output: str = "") -> None:
    """``.venv/bin/guard`` printing ``output`` and exiting ``status``; 70 leaves a crash file."""
    bin_dir = cwd / ".venv" / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    crash = (
        'mkdir -p .guard && printf "%s" "$CRASH" > ".guard/crash-20260101T000000Z-$$.txt"\n'
        if status == 70
        else ""
    )
    guard = bin_dir / "guard"
    guard.write_text(
        f'#!/usr/bin/env bash\n{crash}printf "%s" "{output}"\nexit {status}\n', encoding="utf-8"
    )
    guard.chmod(0o755)
    python = bin_dir / "python"
    if not python.exists():
        python.symlink_to(sys.executable)


def bash(script: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=cwd,
        env={"PATH": os.environ["PATH"], "CRASH": CRASH, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


# --- GitHub: preview -----------------------------------------------------------------------


def preview_step(name: str) -> str:
    job = load("preview.yml")["jobs"]["plan"]
    return str(steps(job)[index_of(job, lambda s: s.get("name") == name)]["run"])


@pytest.mark.parametrize(
    ("status", "comment"),
    [
        (2, "exited with 2, a configuration error"),
        (70, "exited with 70, an internal error in guard (a bug), not a policy violation"),
    ],
)
def test_preview_comment_says_what_an_empty_plan_means(
    tmp_path: Path, status: int, comment: str
) -> None:
    fake_guard(tmp_path, status)
    output, summary = tmp_path / "github_output", tmp_path / "summary"
    result = bash(
        preview_step("Offline plan"),
        tmp_path,
        STACK="mine",
        GITHUB_OUTPUT=str(output),
        GITHUB_STEP_SUMMARY=str(summary),
    )
    assert result.returncode == 0, result.stderr  # the comment is posted before failing
    assert output.read_text() == f"status={status}\n"
    assert comment in (tmp_path / "comment.md").read_text()


@pytest.mark.parametrize(
    ("status", "message"),
    [
        ("1", "::error::guard plan exited with 1: a mandatory policy is violated"),
        ("2", "::error::guard plan: configuration error"),
        ("70", f"::error::guard plan exited with 70: {INTERNAL}"),
        ("3", "::error::guard plan exited with 3"),
    ],
)
def test_preview_fails_with_the_meaning_of_the_status(
    tmp_path: Path, status: str, message: str
) -> None:
    (tmp_path / ".guard").mkdir()
    (tmp_path / ".guard" / "crash-20260101T000000Z-1.txt").write_text(CRASH)
    result = bash(preview_step("Fail if the plan failed"), tmp_path, PLAN_STATUS=status)
    assert result.returncode == 1
    assert result.stdout.startswith(message)
    # The traceback reaches the log only for an internal error.
    assert ("RuntimeError: the bug" in result.stdout) == (status == "70")
    assert ("mandatory policy" in result.stdout) == (status == "1")


# --- GitHub: deploy ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (0, ""),
        (1, "::error::guard plan exited with 1: a mandatory policy is violated"),
        (2, "::error::guard plan exited with 2: configuration error"),
        (70, f"::error::guard plan exited with 70: {INTERNAL}"),
    ],
)
def test_deploy_gate_reports_the_meaning_of_the_status(
    tmp_path: Path, status: int, message: str
) -> None:
    fake_guard(tmp_path, status, output="# plan")
    job = load("deploy.yml")["jobs"]["deploy"]
    gate = steps(job)[index_of(job, lambda s: "guard plan" in s.get("run", ""))]["run"]
    summary = tmp_path / "summary"
    result = bash(gate, tmp_path, STACK="mine", GITHUB_STEP_SUMMARY=str(summary))
    assert result.returncode == status
    assert summary.read_text() == "# plan"
    assert result.stdout.startswith(message) if message else result.stdout == ""
    assert ("RuntimeError: the bug" in result.stdout) == (status == 70)


# --- CircleCI ------------------------------------------------------------------------------


def test_circleci_offline_plans_report_an_internal_error(tmp_path: Path) -> None:
    if shutil.which("jq") is None:
        pytest.skip("jq is not installed")
    assert circleci()["commands"]["offline-plans"]
    fake_guard(tmp_path, 70)
    (tmp_path / "stacks.json").write_text('{"stacks": [{"name": "a"}, {"name": "b"}]}')
    result = bash(command_script("offline-plans"), tmp_path)
    assert result.returncode == 1
    assert f"guard plan a: {INTERNAL}" in result.stdout
    assert f"guard plan b: {INTERNAL}" in result.stdout
    assert "a mandatory policy is violated" not in result.stdout
    # Each stack's traceback is shown once and kept with the plans (stored as artifacts).
    assert result.stdout.count("RuntimeError: the bug") == 2
    kept = sorted(p.name for p in (tmp_path / "plan").glob("*crash-*.txt"))
    assert [name.split("-", 1)[0] for name in kept] == ["a", "b"]
    assert not list((tmp_path / ".guard").glob("crash-*.txt"))
