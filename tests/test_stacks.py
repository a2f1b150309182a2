"""The user's own stacks: every file in stacks/ plans cleanly, whatever files are there.

The example stacks are the user's to change or delete; this test follows the directory, so a new
stack file is checked by the same test run that checks the code (the other tests use their own
fixtures in tests/stacks).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from guard.cli import main
from tests.conftest import ROOT

USER_STACKS = sorted((ROOT / "stacks").glob("Pulumi.*.yaml"))


@pytest.mark.parametrize("path", USER_STACKS, ids=lambda p: p.name)
def test_stack_file_plans_cleanly(
    path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)  # the policy pack is ./policies, as in CI
    name = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
    status = main(["plan", "--stack", name, "--config-file", str(path), "--format", "json"])
    out, err = capsys.readouterr()
    # 1: a mandatory policy is violated (listed in the JSON), 2: a configuration error (stderr).
    assert status == 0, err or json.loads(out)["policies"]
