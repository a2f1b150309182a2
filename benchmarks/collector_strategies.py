"""Why ``guard`` runs with the collector thresholds it has: one plan under each strategy, side by side.

    .venv/bin/python benchmarks/collector_strategies.py [--sizes 1,100] [--repeat 3]

Each strategy is a process that sets Python's cyclic collector up its way, then runs the command
exactly as the console script does (:func:`guard.cli.run`, then :func:`guard.process.leave`), on
the stacks ``benchmarks/plan_scale.py`` builds (7 endpoints per copy, every area declared):

- ``default``: Python's own thresholds (700, 10, 10), with the interpreter's teardown at exit;
- ``default+exit``: the same thresholds, leaving without teardown;
- ``freeze+exit``: ``gc.freeze()`` once guard's modules are imported;
- ``off+exit``: no collection at all;
- ``tuned+exit``: :data:`guard.process.COLLECTOR_THRESHOLDS` (what ``guard`` runs).

Runs rotate through the strategies (one of each, then again), so a machine that slows down
mid-run slows all of them; each strategy's median is printed with its ratio to ``default``'s
median from the same rounds, and the highest peak RSS. Every run's JSON must be byte-identical
to ``default``'s, or the benchmark stops.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

# benchmarks/ is first on sys.path when this file runs as a script.
from plan_scale import ROOT, Run, run_plan, timed, write_stack

SETUP = {
    "default": "",
    "default+exit": "",
    "freeze+exit": "import guard.plan, guard.program, guard.report\ngc.freeze()\n",
    "off+exit": "gc.disable()\n",
    "tuned+exit": "from guard import process\nprocess.tune_collector()\n",
}
RUN = """\
import gc, sys
from guard import cli
{setup}code = cli.run(sys.argv[1:])
{leave}
"""
LEAVE = "from guard import process\nprocess.leave(code)"


def command(strategy: str, stack: Path) -> list[str]:
    leave = "sys.exit(code)" if strategy == "default" else LEAVE
    script = RUN.format(setup=SETUP[strategy], leave=leave)
    plan = ["plan", "--stack", "prod", "--config-file", str(stack), "--format", "json"]
    return [sys.executable, "-c", script, *plan]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", default="1,100", help="copies of the prod products")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of every strategy")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        for copies in (int(s) for s in args.sizes.split(",")):
            stack, endpoints = write_stack(Path(name), copies)
            run_plan(stack, ROOT)  # warm-up: bytecode and disk cache
            runs: dict[str, list[Run]] = {s: [] for s in SETUP}
            for _ in range(args.repeat):
                for strategy in SETUP:
                    runs[strategy].append(timed(command(strategy, stack), ROOT, ok=(0, 1)))
            expected = runs["default"][0].stdout
            for strategy, done in runs.items():
                if any(r.stdout != expected for r in done):
                    raise SystemExit(f"{strategy}: the plan differs from the default's")
            base = statistics.median(r.seconds for r in runs["default"])
            print(f"{endpoints} endpoints ({args.repeat} rounds; output byte-identical in all)")
            print(f"  {'strategy':<14} {'median s':>9} {'ratio':>6} {'peak MiB':>9}")
            for strategy, done in runs.items():
                seconds = statistics.median(r.seconds for r in done)
                peak = max(r.peak_mib for r in done)
                print(f"  {strategy:<14} {seconds:>9.2f} {seconds / base:>6.2f} {peak:>9.0f}")


if __name__ == "__main__":
    main()
