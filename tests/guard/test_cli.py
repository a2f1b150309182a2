"""``guard plan`` as users and CI run it: exit codes, formats, the JSON contract, determinism."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, STACKS


def guard(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "guard", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def prod_json() -> dict:
    result = guard("plan", "--stack", "prod", "--format", "json", "--today", "2026-11-25")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_json_contract(prod_json: dict) -> None:
    assert prod_json["project"] == "guard" and prod_json["stack"] == "prod"
    assert set(prod_json) >= {"project", "stack", "resources", "outputs", "warnings", "policies"}
    for resource in prod_json["resources"]:
        assert {"urn", "type", "name", "parent", "region", "inputs"} <= set(resource)
    acl = next(r for r in prod_json["resources"] if r["type"] == "aws:wafv2/webAcl:WebAcl")
    assert "ruleJson" in acl["inputs"] and "defaultAction" in acl["inputs"]  # camelCase, as sent
    for violation in prod_json["policies"]:
        assert set(violation) == {"policy", "severity", "enforcement_level", "urn", "message"}


def test_plan_is_byte_identical_across_runs(prod_json: dict) -> None:
    again = guard("plan", "--stack", "prod", "--format", "json", "--today", "2026-11-25")
    assert json.loads(again.stdout) == prod_json
    third = guard("plan", "--stack", "prod", "--format", "json", "--today", "2026-11-25")
    assert third.stdout == again.stdout


def test_text_and_markdown_show_each_endpoint() -> None:
    text = guard("plan", "--stack", "prod", "--today", "2026-11-25")
    assert text.returncode == 0, text.stderr
    assert "ebook/cdn (cloudfront)" in text.stdout and "aws-sqli-exclusion-0" in text.stdout
    markdown = guard("plan", "--stack", "staging", "--format", "markdown", "--today", "2026-11-25")
    assert markdown.stdout.startswith("<!-- guard-plan:staging -->")
    assert "| ebook/cdn | cloudfront |" in markdown.stdout


def test_config_error_exits_2_without_traceback(tmp_path: Path) -> None:
    text = (STACKS / "Pulumi.prod.yaml").read_text().replace("limit: 100\n", "limit: 5\n", 1)
    bad = tmp_path / "Pulumi.prod.yaml"
    bad.write_text(text)
    result = guard("plan", "--stack", "prod", "--config-file", str(bad))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"{bad}:" in result.stderr and "rate_limits[0].limit = 5" in result.stderr
    assert "nothing was planned or deployed" in result.stderr
    assert result.stdout == ""


def test_unknown_stack_exits_2() -> None:
    result = guard("plan", "--stack", "nope")
    assert result.returncode == 2 and "Pulumi.nope.yaml" in result.stderr
    assert "the stacks in" in result.stderr and "prod, staging" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "command",
    [
        ("plan", "--stack", "prdo"),
        ("bootstrap", "--stack", "prdo"),
        ("drill", "ddos", "--stack", "prdo", "--endpoint", "ebook/cdn"),
    ],
)
def test_unknown_stack_lists_the_stacks_with_did_you_mean(command: tuple[str, ...]) -> None:
    result = guard(*command)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"guard {command[0]}: no stack 'prdo': there is no {STACKS / 'Pulumi.prdo.yaml'} "
        f"(did you mean prod?); the stacks in {STACKS}/ are: prod, staging"
    ]
    assert result.stdout == ""


def test_unknown_stack_in_an_empty_directory(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GUARD_STACKS_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "guard", "plan", "--stack", "prod"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and result.stderr.rstrip().endswith("are: none")


def test_runs_from_the_pulumi_entry_point_too(tmp_path: Path) -> None:
    # __main__.py is what `pulumi up` executes; it must reject bad config the same way.
    code = (
        "import runpy, sys, json;"
        "from pulumi.runtime import config;"
        "config.set_all_config({'aws:region': 'ap-northeast-1', 'guard:account_id': '1'});"
        "runpy.run_path('__main__.py', run_name='__main__')"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2
    assert "guard:account_id = '1'" in result.stderr and "Traceback" not in result.stderr


def test_drill_ddos_is_guard_drill_ddos_command(monkeypatch: pytest.MonkeyPatch) -> None:
    import guard.drill
    from guard import cli

    seen = []

    def ddos_command(args: object) -> int:
        seen.append(args)
        return 2

    monkeypatch.setattr(guard.drill, "ddos_command", ddos_command)
    assert cli.main(["drill", "ddos", "--stack", "prod", "--endpoint", "ebook/cdn"]) == 2
    (args,) = seen
    assert vars(args) == {
        "command": "drill",
        "scenario": "ddos",
        "stack": "prod",
        "endpoint": "ebook/cdn",
        "config_file": None,
        "state_dir": Path(".guard/drill"),
        "fresh": False,
    }


def test_a_stack_name_too_long_for_aws_names_is_a_config_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Names built from the stack's name (the Firehose stream here) are only known once the
    # program runs; a name over AWS's limit is the stack's problem (2), not a bug in guard (70).
    from guard.cli import main

    stack = "production-tokyo-customer-facing-stack"
    code = main(["plan", "--stack", stack, "--config-file", str(STACKS / "Pulumi.prod.yaml")])
    err = capsys.readouterr().err
    assert code == 2
    assert f"stack {stack}: Firehose stream name aws-waf-logs-guard-{stack}-ap-northeast-1" in err
    assert "use a shorter stack name" in err and "internal error" not in err
