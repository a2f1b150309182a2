"""The ``guard`` process: tuned collector and fast exit change how fast a plan is, never what it
says, and never the exit code or a byte of stdout or stderr."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from guard import cli
from tests.conftest import ROOT, TODAY

#: The ``prod`` plan as recorded; every run compares today's plan with it, byte for byte.
RECORDED_PLAN = ROOT / "tests" / "data" / "plans" / "prod.json"
PLAN_ARGS = ["plan", "--stack", "prod", "--format", "json", "--today", TODAY.isoformat()]
REGENERATE = (
    "if the change is intended, record the new plan and review its diff: "
    f"GUARD_STACKS_DIR=tests/stacks python -m guard {' '.join(PLAN_ARGS)} "
    "> tests/data/plans/prod.json"
)


def python(code: str, **kwargs: object) -> subprocess.CompletedProcess[bytes]:
    # Buffered as a user's shell runs it (some CI runners export PYTHONUNBUFFERED).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    return subprocess.run(  # type: ignore[call-overload]
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        timeout=120,
        **kwargs,
    )


def test_the_console_command_plans_prod_byte_for_byte_as_recorded() -> None:
    # python -m guard is the console entry point: tuned collector, exit without teardown.
    result = subprocess.run(
        [sys.executable, "-m", "guard", *PLAN_ARGS],
        cwd=ROOT,
        capture_output=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == RECORDED_PLAN.read_bytes(), REGENERATE


PYTHON_DEFAULT_THRESHOLDS = (700, 10, 10)


@pytest.fixture
def default_collector() -> Iterator[None]:
    """Python's own collector thresholds for one test (the suite runs with guard's)."""
    tuned = gc.get_threshold()
    gc.set_threshold(*PYTHON_DEFAULT_THRESHOLDS)
    yield
    gc.set_threshold(*tuned)


def test_main_in_process_with_pythons_defaults_plans_the_same_bytes(
    default_collector: None, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    # In-process, with the interpreter's defaults: the tuning is not what makes the plan.
    assert gc.get_threshold() == PYTHON_DEFAULT_THRESHOLDS
    assert cli.main(PLAN_ARGS) == 0
    assert capsysbinary.readouterr().out == RECORDED_PLAN.read_bytes(), REGENERATE


def test_leave_keeps_the_exit_code_and_every_byte_of_stdout_and_stderr() -> None:
    code = (
        "import sys\n"
        "from guard.process import leave\n"
        "sys.stdout.write('x' * 3_000_000)\n"  # more than any pipe buffer holds
        "sys.stderr.write('stack file: one error, no newline')\n"
        "leave(2)\n"
    )
    result = python(code)
    assert result.returncode == 2
    assert result.stdout == b"x" * 3_000_000
    assert result.stderr == b"stack file: one error, no newline"


@pytest.mark.parametrize("code", [0, 1, 70])
def test_leave_passes_each_exit_code_through(code: int) -> None:
    assert python(f"from guard.process import leave; leave({code})").returncode == code


def test_a_reader_that_left_early_costs_no_traceback() -> None:
    code = (
        "import os, sys\n"
        "from guard.process import leave\n"
        "read, write = os.pipe()\n"
        "os.close(read)\n"
        "os.dup2(write, sys.stdout.fileno())\n"
        "sys.stdout.write('plan ' * 1_000)\n"  # fits the buffer: leave's flush meets the closed pipe
        "leave(1)\n"
    )
    result = python(code)
    assert result.returncode == 1
    assert b"Traceback" not in result.stderr and b"BrokenPipe" not in result.stderr


def test_a_thread_still_running_is_waited_for(tmp_path: Path) -> None:
    done = tmp_path / "written-after-main-returned"
    code = (
        "import threading, time\n"
        "from pathlib import Path\n"
        "from guard.process import leave\n"
        "def late():\n"
        "    time.sleep(0.3)\n"
        f"    Path({str(done)!r}).write_text('done')\n"
        "threading.Thread(target=late).start()\n"
        "leave(0)\n"
    )
    assert python(code).returncode == 0
    assert done.read_text() == "done"


def test_the_tuned_collector_still_frees_cyclic_garbage() -> None:
    # The thresholds make full passes rare; young cycles must still be collected, or memory
    # would grow with every resource as it does with the collector off.
    code = (
        "import gc\n"
        "from guard.process import tune_collector\n"
        "tune_collector()\n"
        "for _ in range(2_000_000):\n"
        "    node = []\n"
        "    node.append(node)\n"
        "assert gc.isenabled()\n"
        "print(gc.get_stats()[0]['collected'])\n"
    )
    result = python(code)
    assert result.returncode == 0, result.stderr.decode()
    assert int(result.stdout) >= 1_000_000
