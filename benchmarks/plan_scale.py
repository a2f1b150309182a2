"""Measure ``guard plan --format json`` on stacks of 7, 70 and 700 endpoints.

The stacks are the ``prod`` example replicated: each copy of its products gets new names and new
(documentation-account) ARNs, so every section of the example scales with it. Each plan runs in
its own process; wall time and that process's peak RSS are reported.

    .venv/bin/python benchmarks/plan_scale.py [--sizes 1,10,100] [--repeat 3]
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
# The tests' copy of the prod example: the examples in stacks/ are the user's to replace.
PROD = ROOT / "tests" / "stacks" / "Pulumi.prod.yaml"


def _fresh_arn(arn: str, copy_index: int) -> str:
    digest = hashlib.sha256(f"{arn}#{copy_index}".encode()).hexdigest()
    if ":loadbalancer/app/" in arn:
        return _alb(arn, copy_index, digest)
    if ":distribution/" in arn:
        return arn.rsplit("/", 1)[0] + "/E" + digest[:12].upper()
    return arn


def _alb(arn: str, copy_index: int, digest: str) -> str:
    prefix, name, _ = arn.rsplit("/", 2)
    return f"{prefix}/{name[:24]}-{copy_index}/{digest[:16]}"


def scaled_config(copies: int) -> dict[str, Any]:
    """The prod stack file with its products repeated ``copies`` times."""
    document = yaml.safe_load(PROD.read_text())
    config = document["config"]
    products = config["guard:products"]
    scaled = []
    for index in range(copies):
        for product in products:
            clone = copy.deepcopy(product)
            if index:
                clone["name"] = f"{product['name'][:24]}-{index}"
                for endpoint in clone["endpoints"]:
                    endpoint["arn"] = _fresh_arn(endpoint["arn"], index)
                for group in clone.get("waf", {}).get("external_rule_groups", []):
                    group["name"] = f"{group['name'][:24]}-{index}"
            scaled.append(clone)
    config["guard:products"] = scaled
    return document


def endpoint_count(document: dict[str, Any]) -> int:
    return sum(len(p["endpoints"]) for p in document["config"]["guard:products"])


def measure(stack_file: Path) -> tuple[float, float, int]:
    """(seconds, peak MiB, resources) of one ``guard plan`` process."""
    command = [
        sys.executable,
        "-m",
        "guard",
        "plan",
        "--stack",
        "prod",
        "--config-file",
        str(stack_file),
        "--format",
        "json",
    ]
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode not in (0, 1):
            raise SystemExit(
                f"guard plan failed ({process.returncode}): {process.stderr.read().decode() if process.stderr else ''}"
            )
        out.seek(0)
        resources = len(json.load(out)["resources"])
    return elapsed, usage.ru_maxrss / 1024, resources


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", default="1,10,100", help="copies of the prod products (7 endpoints each)"
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per size; the median is reported"
    )
    args = parser.parse_args()
    print(f"{'endpoints':>9} {'resources':>9} {'median s':>9} {'peak MiB':>9} {'s/endpoint':>10}")
    with tempfile.TemporaryDirectory() as folder:
        for copies in (int(s) for s in args.sizes.split(",")):
            document = scaled_config(copies)
            path = Path(folder) / f"Pulumi.scale{copies}.yaml"
            path.write_text(yaml.safe_dump(document, sort_keys=False))
            runs = sorted(measure(path) for _ in range(args.repeat))
            seconds, _, resources = runs[len(runs) // 2]
            count = endpoint_count(document)
            print(
                f"{count:>9} {resources:>9} {seconds:>9.2f} {max(r[1] for r in runs):>9.0f} {seconds / count:>10.4f}"
            )


if __name__ == "__main__":
    main()
