"""An unexpected exception is a bug in guard: exit 70, one line on stderr, the traceback in a file.

CI must never read a crash as "a mandatory policy is violated" (1) or a configuration error (2).
``guard.cli.main`` itself still raises, so that tests see the real exception.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from guard import cli, crash
from tests.conftest import ROOT


def boom(args: object) -> int:
    raise RuntimeError("something guard did not expect\nover two lines")


def run_entry_point(argv: list[str]) -> int:
    try:
        return cli.run(argv)
    except SystemExit as exited:  # argparse's usage errors
        assert isinstance(exited.code, int)
        return exited.code


def test_a_crash_exits_70_with_one_line_and_a_crash_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli, "plan_command", boom)
    assert run_entry_point(["plan", "--stack", "prod"]) == cli.EXIT_INTERNAL == 70
    out, err = capsys.readouterr()
    assert out == ""
    (line,) = err.splitlines()
    assert line.startswith("guard: internal error, a bug in guard and not a problem with the stack")
    assert "RuntimeError: something guard did not expect over two lines" in line
    (crash,) = (tmp_path / ".guard").glob("crash-*.txt")
    assert f"details in {crash.relative_to(tmp_path)}" in line
    details = crash.read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in details and "in boom" in details
    assert details.startswith("guard ")


def test_without_a_writable_directory_the_details_go_to_stderr(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("")
    monkeypatch.setattr(crash, "CRASH_DIR", blocked / "sub")  # cannot be a directory
    monkeypatch.setattr(crash.tempfile, "gettempdir", lambda: str(blocked / "tmp"))
    monkeypatch.setattr(cli, "plan_command", boom)
    assert run_entry_point(["plan", "--stack", "prod"]) == 70
    err = capsys.readouterr().err
    assert err.splitlines()[0].endswith("no crash file could be written, the details follow")
    assert "Traceback (most recent call last)" in err


def test_falls_back_to_the_temporary_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("")
    monkeypatch.setattr(crash, "CRASH_DIR", blocked / "sub")
    monkeypatch.setattr(crash.tempfile, "gettempdir", lambda: str(tmp_path / "tmp"))
    monkeypatch.setattr(cli, "plan_command", boom)
    assert run_entry_point(["plan", "--stack", "prod"]) == 70
    (written,) = (tmp_path / "tmp").glob("crash-*.txt")
    assert str(written) in capsys.readouterr().err


def test_main_itself_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "plan_command", boom)
    with pytest.raises(RuntimeError):
        cli.main(["plan", "--stack", "prod"])


def test_usage_errors_and_interrupts_are_not_crashes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert run_entry_point(["plan"]) == 2  # argparse: --stack is required
    assert "internal error" not in capsys.readouterr().err

    def interrupted(args: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "plan_command", interrupted)
    with pytest.raises(KeyboardInterrupt):
        cli.run(["plan", "--stack", "prod"])
    assert not (tmp_path / ".guard").exists()


def test_the_exit_code_of_a_command_passes_through(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "plan_command", lambda args: 1)
    assert run_entry_point(["plan", "--stack", "prod"]) == 1


def test_python_m_guard_and_the_console_script_use_the_handler(tmp_path: Path) -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"guard": "guard.cli:entry_point"}
    # A crash in a real process, through python -m guard's own module.
    code = (
        "import runpy, sys, guard.cli as cli\n"
        "def boom(args):\n"
        "    raise ValueError('bug')\n"
        "cli.plan_command = boom\n"
        "sys.argv = ['guard', 'plan', '--stack', 'prod']\n"
        "runpy.run_module('guard', run_name='__main__')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 70, result.stderr
    assert len(result.stderr.splitlines()) == 1 and "ValueError: bug" in result.stderr
    assert "Traceback" not in result.stderr
    assert list((tmp_path / ".guard").glob("crash-*.txt"))


def test_a_reader_that_leaves_early_is_not_a_crash(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    # `guard plan | head`: writing to a pipe whose reader has gone raises BrokenPipeError.
    def closed_pipe(args: object) -> int:
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cli, "plan_command", closed_pipe)
    assert run_entry_point(["plan", "--stack", "prod"]) == cli.EXIT_BROKEN_PIPE == 141
    assert "internal error" not in capfd.readouterr().err
    assert not (tmp_path / ".guard").exists()
