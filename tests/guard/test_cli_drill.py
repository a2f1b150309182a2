"""``guard drill ddos`` end to end: a real CLI process, its own moto server, dedupe across runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def drill(endpoint: str, state_dir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "guard",
            "drill",
            "ddos",
            "--stack",
            "prod",
            "--endpoint",
            endpoint,
            "--state-dir",
            str(state_dir),
            *extra,
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_first_run_opens_a_case_second_run_deduplicates(tmp_path: Path) -> None:
    first = drill("ebook/cdn", tmp_path)
    assert first.returncode == 0, first.stderr
    assert "support case OPENED" in first.stdout
    assert "arn:aws:cloudfront::111111111111:distribution/E2EXAMPLE1" in first.stdout
    assert "distributed-denial-of-service" in first.stdout and "urgent" in first.stdout
    second = drill("ebook/cdn", tmp_path)
    assert second.returncode == 0, second.stderr
    assert "OPENED" not in second.stdout and "dedupl" in second.stdout.lower()
    other = drill("marketplace/web", tmp_path)
    assert "support case OPENED" in other.stdout
    fresh = drill("ebook/cdn", tmp_path, "--fresh")
    assert "support case OPENED" in fresh.stdout


def test_unknown_endpoint_is_a_clear_error(tmp_path: Path) -> None:
    result = drill("ebook/nope", tmp_path)
    assert result.returncode == 2
    assert "ebook/cdn" in result.stderr and "Traceback" not in result.stderr
