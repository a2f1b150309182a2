"""Where this repository's CI definitions live, and the stack list their scripts read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from guard.config.loader import STACKS_DIR_VARIABLE

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
CIRCLECI = ROOT / ".circleci" / "config.yml"
DEPENDABOT = ROOT / ".github" / "dependabot.yml"


def guard_stacks(stacks_dir: Path) -> list[dict[str, Any]]:
    """``guard stacks --format json`` over ``stacks_dir``, as the CI scripts run it."""
    result = subprocess.run(
        [sys.executable, "-m", "guard", "stacks", "--format", "json"],
        env={**os.environ, "PYTHONPATH": str(ROOT), STACKS_DIR_VARIABLE: str(stacks_dir)},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return list(json.loads(result.stdout)["stacks"])
