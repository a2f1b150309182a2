"""Measure ``guard plan --format json`` on stacks of 7, 70 and 700 endpoints.

    .venv/bin/python benchmarks/plan_scale.py [--sizes 1,10,100] [--repeat 3] [--compare REF] [--floor]

The stacks are the tests' ``prod`` stack (tests/stacks/Pulumi.prod.yaml) replicated ``--sizes``
times: each copy of its products gets new names and new (documentation-account) ARNs, so every
per-endpoint part (web ACLs, Shield protections, log delivery, CI roles) scales with it. Every
top-level area is declared (alerts, detection, shield, ci, pipeline, logs and the WafCharm tuner,
declared as stacks/Pulumi.prod.yaml does: ``waf.tuner`` on marketplace plus ``guard:tuners``);
the benchmark stops if the scaled stack lacks one. The stack files are written once and planned
by the current tree (A) and, with ``--compare REF``, by REF checked out in a temporary git
worktree (B), with the same interpreter: ``python -m`` puts the worktree first on sys.path.
Runs alternate A B A B, ``--repeat`` pairs per size; each plan is its own process.

Columns: ``endpoints`` and ``resources`` (of A's plan) per size; ``A s`` / ``B s`` the median wall
seconds; ``A MiB`` / ``B MiB`` the highest peak RSS of the runs (os.wait4's ru_maxrss);
``A/B`` the median of the pairwise time ratios; ``json`` whether one plan of each side printed
byte-identical JSON. Then the growth from each size to the next (time ratio for the endpoint
ratio) and, with ``--floor``, the import floor: a process that imports pulumi and the
pulumi_aws subpackages the smallest plan loads (found with ``-X importtime``) with the cyclic
collector off and exits without teardown, the least any plan process can take; it is printed
next to the smallest plan's time. One untimed plan per side comes first (a new worktree has no
bytecode yet).

Absolute times drift on a shared machine; the A/B ratio of one run is the figure that counts.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import importlib.util
import itertools
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from guard.diff_base import BaseConfigError, resolve, worktree

ROOT = Path(__file__).resolve().parents[1]
# The tests' copy of the prod example: the examples in stacks/ are the user's to replace.
PROD = ROOT / "tests" / "stacks" / "Pulumi.prod.yaml"
#: The top-level areas the scaled stacks must declare (the policy keys and guard:waf_tuner, a
#: default for products without ``waf.tuner``, are optional and absent from both examples).
AREAS = (
    "guard:alerts",
    "guard:detection",
    "guard:shield",
    "guard:ci",
    "guard:pipeline",
    "guard:logs",
    "guard:tuners",
)
#: The product stacks/Pulumi.prod.yaml tunes with WafCharm, and how (copied from that file).
TUNED_PRODUCT = "marketplace"
#: How many copies of it WafCharm tunes (the first ones).
TUNED_COPIES = 10
TUNER = {"service": "wafcharm"}
TUNERS = {
    "wafcharm": {
        "principal": "arn:aws:iam::123456789012:root",
        "external_id": {
            "secure": "v1:ZXhhbXBsZS1ub25jZQ==:ZXhhbXBsZS1jaXBoZXJ0ZXh0LW5vdC1hLXJlYWwtc2VjcmV0"
        },
    }
}
#: The packages a worktree must provide in place of the editable install.
PACKAGES = ("guard", "components", "policies", "functions")
#: The growth line's multiplication sign (escaped: ruff flags the literal one as ambiguous).
TIMES = "\N{MULTIPLICATION SIGN}"
IMPORT_LINE = re.compile(r"^import time:\s*\d+ \|\s*\d+ \|\s*(?P<name>\S+)\s*$")
#: The imports alone, at their cheapest: no cyclic collector, no teardown of the modules.
FLOOR_SCRIPT = """\
import gc, os, sys
gc.disable()
import pulumi, pulumi_aws
before = len(sys.modules)
for name in {names!r}:
    # pulumi_aws subpackages are lazy: any attribute outside pulumi's introspection set runs one.
    hasattr(getattr(pulumi_aws, name), "__all__")
if len(sys.modules) <= before:
    sys.exit("import floor: the pulumi_aws subpackages did not load")
sys.stdout.flush()
os._exit(0)
"""


def _fresh_arn(arn: str, copy_index: int) -> str:
    digest = hashlib.sha256(f"{arn}#{copy_index}".encode()).hexdigest()
    if ":loadbalancer/app/" in arn:
        prefix, name, _ = arn.rsplit("/", 2)
        return f"{prefix}/{name[:24]}-{copy_index}/{digest[:16]}"
    if ":distribution/" in arn:
        return arn.rsplit("/", 1)[0] + "/E" + digest[:12].upper()
    if ":healthcheck/" in arn:
        return arn.rsplit("/", 1)[0] + "/" + str(uuid.UUID(digest[:32]))
    return arn


def _product_copy(product: dict[str, Any], index: int) -> dict[str, Any]:
    clone = copy.deepcopy(product)
    if index:
        clone["name"] = f"{product['name'][:24]}-{index}"
        for endpoint in clone["endpoints"]:
            endpoint["arn"] = _fresh_arn(endpoint["arn"], index)
            shield = endpoint.get("shield", {})
            if "health_check" in shield:  # one Route 53 health check per resource
                shield["health_check"] = _fresh_arn(shield["health_check"], index)
        for group in clone.get("waf", {}).get("external_rule_groups", []):
            group["name"] = f"{group['name'][:24]}-{index}"
    return clone


def declare_tuner(config: dict[str, Any]) -> None:
    """The WafCharm tuner on the tuned product's WAF and its role, as the user example has them."""
    tuned = [p for p in config["guard:products"] if p["name"] == TUNED_PRODUCT]
    if not tuned:
        raise SystemExit(f"{PROD}: no product {TUNED_PRODUCT!r} to declare the WAF tuner on")
    for product in tuned:
        waf = product.setdefault("waf", {})
        waf["tuner"] = dict(TUNER)
        # The tests' copy names WafCharm's rule group itself; with the tuner declared, WafCharm
        # edits its own rules in the web ACL instead (as in the user example), not both.
        groups = [g for g in waf.get("external_rule_groups", []) if g["name"] != "wafcharm"]
        if groups:
            waf["external_rule_groups"] = groups
        else:
            waf.pop("external_rule_groups", None)
    config["guard:tuners"] = copy.deepcopy(TUNERS)


def require_areas(document: dict[str, Any]) -> None:
    """Stop unless the stack declares every area of AREAS."""
    missing = [area for area in AREAS if area not in document.get("config", {})]
    if missing:
        raise SystemExit(f"the scaled stack does not declare {', '.join(missing)}")


def scaled_config(copies: int) -> dict[str, Any]:
    """The prod stack file, with the tuner, its products repeated ``copies`` times."""
    document = yaml.safe_load(PROD.read_text())
    config = document["config"]
    declare_tuner(config)
    products = config["guard:products"]
    config["guard:products"] = [_product_copy(p, i) for i in range(copies) for p in products]
    # One WafCharm role lists every web ACL it tunes in an inline policy IAM caps at 10,240
    # characters (guard refuses more, about 80); a company tunes some products, not all.
    for product in config["guard:products"][TUNED_COPIES * len(products) :]:
        product["waf"].pop("tuner", None)
    require_areas(document)
    return document


def endpoint_count(document: dict[str, Any]) -> int:
    return sum(len(p["endpoints"]) for p in document["config"]["guard:products"])


def write_stack(folder: Path, copies: int) -> tuple[Path, int]:
    """The stack file of ``copies`` copies and its endpoint count."""
    document = scaled_config(copies)
    path = folder / f"Pulumi.scale{copies}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path, endpoint_count(document)


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_mib: float
    stdout: bytes
    stderr: bytes


#: Each plan runs as a user's does: with its bytecode cached after the warm-up (some shells and
#: CI images export PYTHONDONTWRITEBYTECODE, which would recompile guard's modules every run).
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(command: Sequence[str], cwd: Path, ok: Collection[int] = (0,)) -> Run:
    """Run ``command`` in its own process: wall seconds and that process's peak RSS."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=err, env=CHILD_ENV)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        run = Run(elapsed, usage.ru_maxrss / 1024, out.read(), err.read())
    if process.returncode not in ok:
        tail = run.stderr.decode(errors="replace")[-2000:]
        raise SystemExit(
            f"{' '.join(command[:6])} ... in {cwd} failed ({process.returncode}):\n{tail}"
        )
    return run


def plan_command(stack: Path, *options: str) -> list[str]:
    plan = ["plan", "--stack", "prod", "--config-file", str(stack), "--format", "json"]
    return [sys.executable, *options, "-m", "guard", *plan]


def run_plan(stack: Path, cwd: Path) -> Run:
    """One ``guard plan`` of ``stack`` by the tree at ``cwd`` (exit 1: policy findings, fine)."""
    return timed(plan_command(stack), cwd, ok=(0, 1))


def check_shadowing(tree: Path) -> None:
    """Stop unless ``python`` started in ``tree`` imports the worktree's packages."""
    names = [p for p in PACKAGES if (tree / p / "__init__.py").is_file()]
    if "guard" not in names:
        raise SystemExit(f"--compare: {tree} has no guard package")
    script = f"import {', '.join(names)}\n" + "".join(f"print({n}.__file__)\n" for n in names)
    files = timed([sys.executable, "-c", script], tree).stdout.decode().split()
    outside = [f for f in files if not Path(f).resolve().is_relative_to(tree.resolve())]
    if outside:
        raise SystemExit(f"--compare: started in {tree}, python imports {', '.join(outside)}")


@contextmanager
def baseline_tree(ref: str) -> Iterator[tuple[Path, str]]:
    """REF checked out in a temporary worktree, and its commit; removed again whatever happens
    (``guard diff --base``'s own worktree)."""
    try:
        top, commit = resolve(ref, ROOT)
        with worktree(top, commit, ref) as tree:
            check_shadowing(tree)
            yield tree, commit
    except BaseConfigError as error:
        raise SystemExit(f"--compare: {error}") from None


@dataclass
class Size:
    endpoints: int
    a: list[Run] = field(default_factory=list)
    b: list[Run] = field(default_factory=list)

    def runs(self, side: str) -> list[Run]:
        return self.a if side == "A" else self.b

    @property
    def resources(self) -> int:
        return len(json.loads(self.a[0].stdout)["resources"])


def median_seconds(runs: Sequence[Run]) -> float:
    return statistics.median(r.seconds for r in runs)


def peak_mib(runs: Sequence[Run]) -> float:
    return max(r.peak_mib for r in runs)


def pair_ratio(size: Size) -> float:
    """The median of the A/B time ratios of the runs made side by side."""
    return statistics.median(a.seconds / b.seconds for a, b in zip(size.a, size.b, strict=True))


def warm_up(stack: Path, tree: Path | None) -> None:
    """One untimed plan per side: a fresh worktree has no bytecode yet, and the disk cache is cold."""
    for cwd in (ROOT, tree):
        if cwd is not None:
            run_plan(stack, cwd)


def measure_size(stack: Path, endpoints: int, repeat: int, tree: Path | None) -> Size:
    size = Size(endpoints)
    for _ in range(repeat):
        size.a.append(run_plan(stack, ROOT))
        if tree is not None:
            size.b.append(run_plan(stack, tree))
    return size


def header(compare: bool) -> str:
    columns = f"{'endpoints':>9} {'resources':>9} {'A s':>7} {'A MiB':>7}"
    return columns + (f" {'B s':>7} {'B MiB':>7} {'A/B':>6} {'json':>7}" if compare else "")


def row(size: Size) -> str:
    line = f"{size.endpoints:>9} {size.resources:>9}"
    line += f" {median_seconds(size.a):>7.2f} {peak_mib(size.a):>7.0f}"
    if not size.b:
        return line
    same = "same" if size.a[0].stdout == size.b[0].stdout else "differs"
    line += f" {median_seconds(size.b):>7.2f} {peak_mib(size.b):>7.0f}"
    return line + f" {pair_ratio(size):>6.3f} {same:>7}"


def growth(first: Size, last: Size, side: str) -> str:
    seconds = median_seconds(last.runs(side)) / median_seconds(first.runs(side))
    endpoints = last.endpoints / first.endpoints
    verdict = "linear or better" if seconds <= endpoints else "worse than linear"
    return (
        f"{side}: {first.endpoints}→{last.endpoints} endpoints: "
        f"time {TIMES}{seconds:.1f} for {TIMES}{endpoints:.0f} endpoints ({verdict})"
    )


def pulumi_aws_subpackages() -> set[str]:
    """The subpackages of the installed pulumi_aws (found without importing it)."""
    spec = importlib.util.find_spec("pulumi_aws")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("--floor: pulumi_aws is not installed in this interpreter")
    folder = Path(next(iter(spec.submodule_search_locations)))
    return {p.parent.name for p in folder.glob("*/__init__.py")}


def loaded_subpackages(importtime: str, subpackages: Collection[str]) -> list[str]:
    """The pulumi_aws subpackages named in ``-X importtime`` output (``pulumi_aws.<sub>[.x]``)."""
    found: set[str] = set()
    for line in importtime.splitlines():
        match = IMPORT_LINE.match(line)
        parts = match["name"].split(".") if match else []
        if len(parts) > 1 and parts[0] == "pulumi_aws" and parts[1] in subpackages:
            found.add(parts[1])
    return sorted(found)


def import_floor(stack: Path, repeat: int) -> tuple[list[str], float]:
    """The subpackages the plan of ``stack`` loads, and the median time to import just those."""
    traced = timed(plan_command(stack, "-X", "importtime"), ROOT, ok=(0, 1))
    names = loaded_subpackages(traced.stderr.decode(), pulumi_aws_subpackages())
    if not names:
        raise SystemExit("--floor: -X importtime named no pulumi_aws subpackage")
    command = [sys.executable, "-c", FLOOR_SCRIPT.format(names=names)]
    return names, median_seconds([timed(command, ROOT) for _ in range(repeat)])


def floor_report(names: list[str], seconds: float, smallest: Size) -> str:
    against = ", ".join(
        f"{side} {median_seconds(runs):.2f} s (floor/plan {seconds / median_seconds(runs):.2f})"
        for side, runs in (("A", smallest.a), ("B", smallest.b))
        if runs
    )
    return (
        f"import floor (pulumi + {len(names)} pulumi_aws subpackages: {', '.join(names)}): "
        f"{seconds:.2f} s\n{smallest.endpoints}-endpoint plan: {against}"
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--sizes", default="1,10,100", help="copies of the prod products (7 endpoints each)"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs (A B pairs) per size")
    parser.add_argument("--compare", metavar="REF", help="also plan with this git revision (B)")
    parser.add_argument("--floor", action="store_true", help="time pulumi's imports alone too")
    args = parser.parse_args(argv)
    args.sizes = sorted({int(s) for s in args.sizes.split(",")})
    if args.repeat < 1 or args.sizes[0] < 1:
        parser.error("--repeat and --sizes must be positive")
    return args


def benchmark(args: argparse.Namespace, folder: Path, tree: Path | None) -> None:
    stacks = [write_stack(folder, copies) for copies in args.sizes]
    warm_up(stacks[0][0], tree)
    print(header(tree is not None), flush=True)
    sizes: list[Size] = []
    for stack, endpoints in stacks:
        sizes.append(measure_size(stack, endpoints, args.repeat, tree))
        print(row(sizes[-1]), flush=True)
    for first, last in itertools.pairwise(sizes):
        for side in ("A", "B") if tree is not None else ("A",):
            print(growth(first, last, side))
    if args.floor:
        names, seconds = import_floor(stacks[0][0], args.repeat)
        print(floor_report(names, seconds, sizes[0]))


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        if args.compare is None:
            benchmark(args, folder, None)
            return
        with baseline_tree(args.compare) as (tree, commit):
            print(f"A: {ROOT} (working tree)  B: {args.compare} ({commit[:12]})")
            benchmark(args, folder, tree)


if __name__ == "__main__":
    main()
