"""The organization example: every stack in examples/organization/stacks plans cleanly, planned
together (the members' detection-managed-by-organization policy reads the organization stack)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from guard.cli import main
from guard.config.loader import STACKS_DIR_VARIABLE
from tests.conftest import ROOT

EXAMPLE_STACKS = ROOT / "examples" / "organization" / "stacks"


@pytest.mark.parametrize("path", sorted(EXAMPLE_STACKS.glob("Pulumi.*.yaml")), ids=lambda p: p.name)
def test_example_stack_plans_cleanly(
    path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv(STACKS_DIR_VARIABLE, str(EXAMPLE_STACKS))
    name = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
    status = main(["plan", "--stack", name, "--format", "json"])
    out, err = capsys.readouterr()
    assert status == 0, err or json.loads(out)["policies"]
