"""``guard stacks``: the list every workflow builds its per-stack jobs from.

The workflows trust this list for which stacks exist, in which order they deploy and which role
each job assumes, so these tests pin its contents, its order, its failure mode (one invalid file
lists nothing) and its byte-stable JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from guard.cli import main
from guard.config.loader import STACKS_DIR_VARIABLE
from guard.plan import PlanResult
from tests.conftest import ROOT, STACKS
from tests.stack_files import write_stack_file

KEYS = {
    "name",
    "file",
    "region",
    "account",
    "preview_role",
    "deploy_role",
    "backend",
    "secrets_provider",
    "deploy_order",
    "alerts",
}
KMS_PROVIDER = "awskms://alias/guard-mine-secrets?region=eu-west-1"


def stacks(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["stacks", *args])
    out, err = capsys.readouterr()
    return status, out, err


def listed(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    status, out, err = stacks(capsys, "--format", "json")
    assert status == 0, err
    document = json.loads(out)
    assert set(document) == {"stacks"}
    return list(document["stacks"])


@pytest.fixture
def stacks_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "stacks"
    directory.mkdir()
    monkeypatch.setenv(STACKS_DIR_VARIABLE, str(directory))
    return directory


# --- the fixture stacks ----------------------------------------------------------------------


def test_json_lists_the_fixture_stacks_in_deploy_order(
    capsys: pytest.CaptureFixture[str],
) -> None:
    entries = listed(capsys)
    # staging (deploy_order 10) before prod (20), though "prod" sorts first by name.
    assert [e["name"] for e in entries] == ["staging", "prod"]
    assert [e["deploy_order"] for e in entries] == [10, 20]
    for entry in entries:
        assert set(entry) == KEYS
        assert entry["file"] == str(STACKS / f"Pulumi.{entry['name']}.yaml")
        assert entry["region"] == "ap-northeast-1"
        assert entry["backend"] == "s3://example-pulumi-state"
        assert entry["secrets_provider"] is None
    # Both fixture stacks have guard:alerts: the weekly audit posts their summaries.
    assert [e["alerts"] for e in entries] == [True, True]
    assert {e["name"]: e["account"] for e in entries} == {
        "staging": "123456789012",
        "prod": "111111111111",
    }


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_roles_are_the_ones_the_stack_declares(
    capsys: pytest.CaptureFixture[str], example_plan: Callable[[str], PlanResult], stack: str
) -> None:
    (entry,) = [e for e in listed(capsys) if e["name"] == stack]
    declared = example_plan(stack).outputs["ci_roles"]["pipeline"]
    assert entry["preview_role"] == declared["preview"]
    assert entry["deploy_role"] == declared["deploy"]


def test_text_is_one_aligned_line_per_stack(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = stacks(capsys)
    assert status == 0
    lines = out.splitlines()
    assert [line.split()[0] for line in lines] == ["staging", "prod"]
    staging, prod = lines
    assert "123456789012" in staging and "order=10" in staging
    assert "s3://example-pulumi-state" in prod and "(no secretsprovider)" in prod
    # Aligned: every column starts at the same offset on both lines.
    for column in ("ap-northeast-1", "order=", "s3://", "(no secretsprovider)"):
        assert staging.index(column) == prod.index(column), column


def test_json_is_byte_identical_across_runs() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    runs = [
        subprocess.run(
            [sys.executable, "-m", "guard", "stacks", "--format", "json"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            check=False,
            timeout=120,
        )
        for _ in range(2)
    ]
    assert [r.returncode for r in runs] == [0, 0], runs[0].stderr
    assert runs[0].stdout == runs[1].stdout
    assert runs[0].stdout.endswith(b"}\n")
    document = json.loads(runs[0].stdout)
    for entry in document["stacks"]:
        assert list(entry) == sorted(entry)


def test_unknown_format_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["stacks", "--format", "yaml"])
    assert exited.value.code == 2
    assert "invalid choice: 'yaml'" in capsys.readouterr().err


# --- other directories -----------------------------------------------------------------------


def test_a_new_stack_alone_lists_only_it(
    stacks_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_stack_file(stacks_dir, "mine", pipeline={})
    (entry,) = listed(capsys)
    assert entry == {
        "name": "mine",
        "file": str(path),
        "region": "eu-west-1",
        "account": "123456789012",
        "preview_role": "arn:aws:iam::123456789012:role/guard-mine-pipeline-preview",
        "deploy_role": "arn:aws:iam::123456789012:role/guard-mine-pipeline-deploy",
        "backend": "s3://my-org-pulumi-state",
        "secrets_provider": None,
        "deploy_order": 100,
        "alerts": False,
    }


def test_file_is_the_path_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "stacks").mkdir()
    write_stack_file(tmp_path / "stacks", "mine", pipeline={})
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(STACKS_DIR_VARIABLE)  # the default: ./stacks
    (entry,) = listed(capsys)
    assert entry["file"] == "stacks/Pulumi.mine.yaml"


def test_order_is_deploy_order_then_name(
    stacks_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_stack_file(stacks_dir, "b-late", pipeline={"deploy_order": 200})
    write_stack_file(stacks_dir, "zeta", pipeline={"deploy_order": 0})
    write_stack_file(stacks_dir, "alpha", pipeline={})  # default 100
    write_stack_file(stacks_dir, "a-default")  # no pipeline: 100 as well
    assert [e["name"] for e in listed(capsys)] == ["zeta", "a-default", "alpha", "b-late"]


def test_an_empty_directory_lists_nothing(
    stacks_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (stacks_dir / "README.md").write_text("not a stack\n", encoding="utf-8")
    status, out, err = stacks(capsys, "--format", "json")
    assert (status, out, err) == (0, '{\n  "stacks": []\n}\n', "")
    status, out, _ = stacks(capsys)
    assert (status, out) == (0, "")


def test_one_broken_file_lists_nothing(
    stacks_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_stack_file(stacks_dir, "good", pipeline={})
    broken = write_stack_file(stacks_dir, "broken", pipeline={"deploy_order": -1})
    status, out, err = stacks(capsys, "--format", "json")
    assert status == 2
    assert out == ""
    assert f"{broken}:" in err and "guard:pipeline.deploy_order = -1" in err
    assert "good" not in err


def test_every_broken_file_is_reported(
    stacks_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (stacks_dir / "Pulumi.yamlerror.yaml").write_text("config: {\n", encoding="utf-8")
    write_stack_file(stacks_dir, "noregion").write_text(
        "config:\n  guard:account_id: '123456789012'\n", encoding="utf-8"
    )
    status, out, err = stacks(capsys)
    assert (status, out) == (2, "")
    assert "Pulumi.yamlerror.yaml" in err and "not valid YAML" in err
    assert "Pulumi.noregion.yaml" in err and "aws:region" in err


def test_a_file_name_that_is_no_stack_name_is_refused(
    stacks_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_stack_file(stacks_dir, "mine; rm -rf ~", pipeline={})
    status, out, err = stacks(capsys, "--format", "json")
    assert (status, out) == (2, "")
    assert "is not a stack name" in err


def test_a_stack_without_pipeline_has_no_roles_or_backend(
    stacks_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_stack_file(stacks_dir, "offline")
    (entry,) = listed(capsys)
    assert entry["preview_role"] is None
    assert entry["deploy_role"] is None
    assert entry["backend"] is None
    assert entry["deploy_order"] == 100


def test_the_secrets_provider_is_reported(
    stacks_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # What `pulumi stack init mine --secrets-provider awskms://...` writes at the top level.
    write_stack_file(
        stacks_dir,
        "mine",
        pipeline={},
        top={"secretsprovider": KMS_PROVIDER, "encryptedkey": "AQICAHh..."},
    )
    (entry,) = listed(capsys)
    assert entry["secrets_provider"] == KMS_PROVIDER
    _, out, _ = stacks(capsys)
    assert KMS_PROVIDER in out


def test_a_secrets_provider_that_is_not_a_url_is_refused(
    stacks_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_stack_file(stacks_dir, "mine", pipeline={}, top={"secretsprovider": "awskms://a\n::b"})
    status, out, err = stacks(capsys, "--format", "json")
    assert (status, out) == (2, "")
    assert "secretsprovider" in err


# --- --origin: where each config key comes from ---------------------------------------------

SHARED_DEFAULTS = """\
config:
  guard:alerts:
    slack:
      workspace_id: T0BASE0001
      normal_channel: C0BASE0001
      urgent_channel: C0BASE0002
"""
SHOP_STACK = """\
config:
  aws:region: ap-northeast-1
  guard:account_id: "444444444444"
  guard:defaults: ../defaults/baseline.yaml
  guard:alerts:
    slack: {normal_channel: C0SHOP0001}
  guard:products:
    - name: shop
      owner: team-shop
      endpoints:
        - name: web
          kind: alb
          arn: arn:aws:elasticloadbalancing:ap-northeast-1:444444444444:loadbalancer/app/web/0123456789abcdef
"""


@pytest.fixture
def shared(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """stacks/Pulumi.shop.yaml with defaults/baseline.yaml, in the working directory."""
    (tmp_path / "stacks").mkdir()
    (tmp_path / "defaults").mkdir()
    (tmp_path / "defaults" / "baseline.yaml").write_text(SHARED_DEFAULTS, encoding="utf-8")
    (tmp_path / "stacks" / "Pulumi.shop.yaml").write_text(SHOP_STACK, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(STACKS_DIR_VARIABLE)  # the default: ./stacks
    return tmp_path


SHOP_ORIGINS = {
    "aws:region": "stacks/Pulumi.shop.yaml:2",
    "guard:account_id": "stacks/Pulumi.shop.yaml:3",
    "guard:alerts.slack.normal_channel": "stacks/Pulumi.shop.yaml:6",
    "guard:alerts.slack.urgent_channel": "defaults/baseline.yaml:6",
    "guard:alerts.slack.workspace_id": "defaults/baseline.yaml:4",
    "guard:products": "stacks/Pulumi.shop.yaml:7",
}


def test_origin_json_adds_origins_per_stack(
    shared: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = stacks(capsys, "--format", "json", "--origin")
    assert (status, err) == (0, "")
    (entry,) = json.loads(out)["stacks"]
    assert set(entry) == KEYS | {"origins"}
    assert entry["origins"] == SHOP_ORIGINS
    assert list(entry["origins"]) == sorted(entry["origins"])
    # The defaults' alerts count: the weekly audit has a topic to post to.
    assert entry["alerts"] is True
    # Without --origin the document is what it always was.
    _, plain, _ = stacks(capsys, "--format", "json")
    assert json.loads(plain)["stacks"] == [{k: v for k, v in entry.items() if k != "origins"}]


def test_origin_text_follows_each_stack_line(
    shared: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, plain, _ = stacks(capsys)
    assert status == 0
    status, out, _ = stacks(capsys, "--origin")
    assert status == 0
    first, *rest = out.splitlines()
    assert first + "\n" == plain  # the stack's own line, unchanged
    assert rest == [
        "  aws:region                         stacks/Pulumi.shop.yaml:2",
        "  guard:account_id                   stacks/Pulumi.shop.yaml:3",
        "  guard:alerts.slack.normal_channel  stacks/Pulumi.shop.yaml:6",
        "  guard:alerts.slack.urgent_channel  defaults/baseline.yaml:6",
        "  guard:alerts.slack.workspace_id    defaults/baseline.yaml:4",
        "  guard:products                     stacks/Pulumi.shop.yaml:7",
    ]


def test_origin_of_stacks_without_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = stacks(capsys, "--format", "json", "--origin")
    assert status == 0
    for entry in json.loads(out)["stacks"]:
        origins = entry["origins"]
        assert origins["aws:region"].startswith(entry["file"] + ":")
        assert all(where.startswith(entry["file"] + ":") for where in origins.values())
    status, out, _ = stacks(capsys, "--origin")
    assert status == 0
    stack_lines = [line for line in out.splitlines() if not line.startswith("  ")]
    assert [line.split()[0] for line in stack_lines] == ["staging", "prod"]


def test_a_bad_default_lists_nothing(shared: Path, capsys: pytest.CaptureFixture[str]) -> None:
    baseline = shared / "defaults" / "baseline.yaml"
    baseline.write_text(SHARED_DEFAULTS.replace("C0BASE0002", "alerts"), encoding="utf-8")
    status, out, err = stacks(capsys, "--origin")
    assert (status, out) == (2, "")
    assert "  defaults/baseline.yaml:6: guard:alerts.slack.urgent_channel = 'alerts': " in err
    baseline.unlink()
    status, out, err = stacks(capsys, "--format", "json")
    assert (status, out) == (2, "")
    assert "stacks/Pulumi.shop.yaml:4: guard:defaults = '../defaults/baseline.yaml': " in err
