"""``guard --help``, each command's ``--help`` and ``--version``: plain text that says what each
command does, its formats and defaults, and its exit codes."""

from __future__ import annotations

import re
import tomllib

import pytest

from guard import cli
from tests.conftest import ROOT


def help_of(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as exited:
        cli.main([*argv, "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    # Plain text: no reStructuredText or Markdown markup.
    assert "`" not in out and "``" not in out and ":func:" not in out
    return out


def exit_codes(text: str) -> dict[str, str]:
    """``{"0": "done ...", ...}`` from an ``exit codes:`` block."""
    block = text.split("exit codes:\n", 1)[1]
    codes: dict[str, str] = {}
    for line in block.splitlines():
        match = re.match(r"  (\d+) +(.*)", line)
        if match:
            codes[match[1]] = match[2]
    return codes


def test_guard_help_describes_commands_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    text = help_of(capsys)
    for command in ("plan", "diff", "drill", "bootstrap", "audit", "stacks"):
        assert re.search(rf"^    {command}\b", text, re.MULTILINE), command
    assert "--version" in text and "GUARD_STACKS_DIR" in text
    codes = exit_codes(text)
    assert set(codes) == {"0", "1", "2", "70"}
    assert codes["70"].startswith("internal error: a bug in guard")
    assert ".guard/crash-" in text


def test_plan_help_describes_formats_default_and_exit_codes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = help_of(capsys, "plan")
    assert "offline" in text and "policy pack" in text
    assert "formats (--format, default: text):" in text
    for fmt in ("text", "markdown", "json"):
        assert re.search(rf"^  {fmt} +\S", text, re.MULTILINE), fmt
    assert "(default: text" in text  # on the option itself too
    codes = exit_codes(text)
    assert set(codes) == {"0", "1", "2", "70"}
    assert "mandatory policy is violated" in codes["1"]
    assert "configuration error" in codes["2"]


def test_plan_help_describes_all_and_jobs(capsys: pytest.CaptureFixture[str]) -> None:
    text = help_of(capsys, "plan")
    assert "(--stack STACK | --all)" in text  # one of the two, not both
    assert "--jobs N" in text and "the number of CPUs" in text
    assert re.search(r"^--all: plan every stack", text, re.MULTILINE)
    assert "--config-file and --base do not go with --all" in text
    after_70 = text.split("\n  70 ", 1)[1]
    assert "--all: a stack crashed" in after_70


def test_audit_help_describes_formats_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    text = help_of(capsys, "audit")
    assert "read-only" in text and "preview role" in text
    for fmt in ("text", "markdown", "json"):
        assert re.search(rf"^  {fmt} +\S", text, re.MULTILINE), fmt
    codes = exit_codes(text)
    assert set(codes) == {"0", "1", "2", "70"}
    assert codes["1"].startswith("audited, gaps") and codes["2"].startswith("the audit could not")


def test_drill_help_lists_its_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    text = help_of(capsys, "drill", "ddos")
    codes = exit_codes(text)
    assert set(codes) == {"0", "1", "2", "70"}
    assert codes["0"].startswith("the drill ran") and codes["2"].startswith("refused")
    assert "(default: .guard/drill)" in text


@pytest.mark.parametrize("command", ["bootstrap", "stacks"])
def test_other_commands_list_the_internal_error_code(
    capsys: pytest.CaptureFixture[str], command: str
) -> None:
    assert "70" in exit_codes(help_of(capsys, command))


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["--version"])
    assert exited.value.code == 0
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert capsys.readouterr().out == f"guard {project['version']}\n"


def test_version_falls_back_to_pyproject(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.metadata

    def missing(name: str) -> str:
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", missing)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert cli.version() == project["version"]
