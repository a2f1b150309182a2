"""``guard drill ddos`` end to end on the fixture stacks: plan, moto server, dedupe across runs.

The command is called as ``guard.cli`` will call it (``ddos_command`` with the parsed arguments);
conftest points ``GUARD_STACKS_DIR`` at tests/stacks.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from guard.drill import ddos_command
from tests.conftest import STACKS

PROD_ACCOUNT, STAGING_ACCOUNT = "111111111111", "123456789012"


def drill(
    capsys: pytest.CaptureFixture[str],
    stack: str,
    endpoint: str,
    state_dir: Path,
    *,
    fresh: bool = False,
    config_file: Path | None = None,
) -> tuple[int, str, str]:
    args = argparse.Namespace(
        stack=stack, endpoint=endpoint, config_file=config_file, state_dir=state_dir, fresh=fresh
    )
    code = ddos_command(args)
    out, err = capsys.readouterr()
    return code, out, err


def moto_case_ids(account: str) -> list[str]:
    from moto.support.models import support_backends

    return list(support_backends[account]["us-east-1"].cases)


def test_first_run_opens_a_case_second_run_deduplicates(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, first, err = drill(capsys, "prod", "ebook/cdn", tmp_path)
    assert code == 0, err
    assert "support case OPENED" in first
    assert "arn:aws:cloudfront::111111111111:distribution/E2EXAMPLE1" in first
    # What the plan declares, not what the drill assumes.
    assert "alarm      guard-prod-ebook-cdn-ddos (us-east-1)" in first
    assert "notifies   arn:aws:sns:us-east-1:111111111111:guard-prod-alerts-urgent" in first
    assert "function   guard-prod-srt-escalation (ap-northeast-1)" in first
    assert "SUPPORT_CASE_ENABLED=true" in first
    assert "distributed-denial-of-service" in first and "severity   urgent" in first
    assert "cc         oncall@example.com, secops@example.com" in first
    (case_id,) = moto_case_ids(PROD_ACCOUNT)
    assert f"case id    {case_id}" in first

    code, second, err = drill(capsys, "prod", "ebook/cdn", tmp_path)
    assert code == 0, err
    assert "OPENED" not in second
    assert f"DEDUPLICATED - case {case_id}" in second and "within the 6 h window" in second

    code, fresh, err = drill(capsys, "prod", "ebook/cdn", tmp_path, fresh=True)
    assert code == 0, err
    assert "support case OPENED" in fresh and "0 earlier drill case(s)" in fresh


def test_support_case_false_says_no_case_would_be_opened(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # staging: guard:shield.escalation.support_case: false, severity: normal.
    monkeypatch.setenv("SUPPORT_CASE_ENABLED", "true")
    code, out, err = drill(capsys, "staging", "marketplace/web", tmp_path)
    assert code == 0, err
    assert "would not open a case (support_case: false)" in out
    assert "SUPPORT_CASE_ENABLED=false" in out
    assert "support case disabled (SUPPORT_CASE_ENABLED=false): would open a normal" in out
    assert "still reaches Slack channel C0STGURGE1" in out
    assert "OPENED" not in out
    assert moto_case_ids(STAGING_ACCOUNT) == []
    assert not (tmp_path / "staging.json").exists()


def test_unknown_endpoint_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = drill(capsys, "prod", "ebook/nope", tmp_path)
    assert code == 2 and out == ""
    assert "no endpoint 'ebook/nope'" in err
    assert "ebook/cdn" in err and "marketplace/web" in err and "Traceback" not in err


def test_config_error_is_rendered_with_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    text = (STACKS / "Pulumi.prod.yaml").read_text().replace("limit: 100\n", "limit: 5\n", 1)
    bad = tmp_path / "Pulumi.prod.yaml"
    bad.write_text(text)
    code, out, err = drill(capsys, "prod", "ebook/cdn", tmp_path, config_file=bad)
    assert code == 2 and out == ""
    assert f"{bad}:" in err and "rate_limits[0].limit = 5" in err
    assert "Traceback" not in err


def test_unknown_stack_is_a_config_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = drill(capsys, "nope", "ebook/cdn", tmp_path)
    assert code == 2 and out == ""
    assert "Pulumi.nope.yaml" in err and "Traceback" not in err
