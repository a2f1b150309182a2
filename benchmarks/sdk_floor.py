"""What the Pulumi SDK alone costs a plan: the same resources, registered with none of guard.

    .venv/bin/python benchmarks/sdk_floor.py [--copies 100] [--repeat 3]

A plan's time is guard's work (config, components, policies, report) plus the SDK's per-resource
machinery under mocks (serialising inputs, the monitor's round trip, resolving every output).
This benchmark plans the ``benchmarks/plan_scale.py`` stack once to get its resources, then
times (inside a process with the console's collector thresholds) the registration of exactly
those resources (type, name, parent, inputs) as plain ``pulumi.CustomResource`` and
``ComponentResource`` objects through guard's own mock monitor, from the first registration
to the last output resolved. Nothing of guard's runs there but the monitor, and
the typed pulumi_aws classes (which also convert every output by its type) are not used, so it
is a lower bound: the part of a plan no change to guard can remove.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

# benchmarks/ is first on sys.path when this file runs as a script.
from plan_scale import ROOT, run_plan, timed, write_stack

REPLAY = """\
import json, sys, time
from pathlib import Path
from guard import process
process.tune_collector()
import pulumi
from guard.config import load_stack_file
from guard.plan import run_program

stack_file, plan_file = sys.argv[1:]
records = json.loads(Path(plan_file).read_text())["resources"]
by_urn = {r["urn"]: r for r in records}
depth = {}

def level(record):
    # Parents first: the plan is sorted by URN, and depth restores a valid registration order.
    if record["urn"] not in depth:
        parent = by_urn.get(record["parent"])
        depth[record["urn"]] = 0 if parent is None else level(parent) + 1
    return depth[record["urn"]]

def program():
    made = {}
    for record in sorted(records, key=level):
        kind, name, urn = record["type"], record["name"], record["urn"]
        if kind.startswith(("pulumi:pulumi:Stack", "pulumi:providers:")):
            continue
        options = pulumi.ResourceOptions(parent=made.get(record["parent"]))
        if kind.startswith("guard:"):
            made[urn] = pulumi.ComponentResource(kind, name, None, options)
        else:
            made[urn] = pulumi.CustomResource(kind, name, dict(record["inputs"]), options)

loaded = load_stack_file(Path(stack_file))  # for the mocks' account and region
start = time.perf_counter()
replayed = run_program(loaded, "prod", program)
print(time.perf_counter() - start, len(replayed.resources))
process.leave(0)
"""


def replay_command(stack: Path, plan: Path) -> list[str]:
    return [sys.executable, "-c", REPLAY, str(stack), str(plan)]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--copies", type=int, default=100, help="copies of the prod products")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        stack, endpoints = write_stack(folder, args.copies)
        first = run_plan(stack, ROOT)
        plan_file = folder / "plan.json"
        plan_file.write_bytes(first.stdout)
        document: dict[str, Any] = json.loads(first.stdout)
        plans: list[float] = []
        replays: list[float] = []
        for _ in range(args.repeat):
            plans.append(run_plan(stack, ROOT).seconds)
            seconds, count = timed(replay_command(stack, plan_file), ROOT).stdout.split()
            replays.append(float(seconds))
        planned = [
            r for r in document["resources"] if not r["type"].startswith("pulumi:providers:")
        ]
        if int(count) != len(planned):
            raise SystemExit(
                f"the replay registered {int(count)} resources, the plan {len(planned)}"
            )
        plan, replay = statistics.median(plans), statistics.median(replays)
        print(f"{endpoints} endpoints, {len(document['resources'])} resources ({args.repeat} runs)")
        print(f"  guard plan, the whole process          {plan:7.2f} s")
        print(f"  the same resources through the SDK     {replay:7.2f} s  ({replay / plan:.2f})")
        print("  (the import floor comes on top: benchmarks/plan_scale.py --floor)")


if __name__ == "__main__":
    main()
