"""Measure ``guard plan --all --format json`` on N account stacks of E endpoints and one
organization stack.

    .venv/bin/python benchmarks/plan_all.py [--sizes 5,10,25,50] [--endpoints 14] [--jobs N]
                                            [--repeat 1] [--no-org]

For each N of ``--sizes``, a temporary directory (``$GUARD_STACKS_DIR`` of the run) gets N
account stacks, ``Pulumi.account-NN.yaml``, each in its own account (``1000000000NN``) with
``--endpoints`` endpoints, and one organization stack, ``Pulumi.organization.yaml`` (the
delegated administrator: GuardDuty, Security Hub and Firewall Manager for the organization).
An account stack has the products of the tests' prod stack (tests/stacks/Pulumi.prod.yaml)
repeated and renamed until it has E endpoints, its ARNs moved to its own account, its alerts,
and ``guard:detection: {managed_by: organization}``. ``--no-org`` leaves out the organization
stack and the ``managed_by`` key (for a tree whose config does not have them yet).

Each run is ``python -m guard plan --all --format json`` in its own process, its wall time
(``wall s``, the median of ``--repeat`` runs) measured from the start to the exit; ``cpu s``
is the user and system CPU time of the whole process tree (``os.wait4``). On a shared machine
the wall time moves with the other load and the CPU time much less: when ``cpu s`` is not
about ``jobs`` times ``wall s``, the cores were busy with something else. Memory:

- ``max MiB``: the largest single process of the run (the plan's parent or one of its
  workers): ``os.wait4``'s ``ru_maxrss``, which covers the children the process waited for;
- ``RSS MiB`` / ``PSS MiB``: the largest sum over the process tree, sampled every 100 ms from
  /proc (RSS counts the pages the forked workers share with their parent once per process, PSS
  divides them among the processes that share them: PSS is what the tree costs the machine).
  ``-`` where /proc cannot be read.

Then, per size: seconds per stack, and the time ratio to the smallest size against its stack
ratio (growth). The first run of the smallest size is untimed (bytecode, disk cache). Every run
must plan every stack (result ok or policy); the benchmark stops otherwise.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
PROD = ROOT / "tests" / "stacks" / "Pulumi.prod.yaml"
PROD_ACCOUNT = "111111111111"
REGION = "ap-northeast-1"
ORG_STACK = "organization"
#: The organization stack (the delegated administrator's account).
ORGANIZATION: dict[str, Any] = {
    "aws:region": REGION,
    "guard:account_id": "222222222222",
    "guard:alerts": {
        "slack": {
            "workspace_id": "T0EXAMPLE1",
            "normal_channel": "C0ORGNORM1",
            "urgent_channel": "C0ORGURGE1",
        }
    },
    "guard:organization": {
        "management_account_id": "333333333333",
        "root_id": "r-abcd",
        "regions": ["ap-northeast-1", "us-east-1"],
        "guardduty": {"auto_enable": "all", "features": ["s3-data-events", "runtime-monitoring"]},
        "security_hub": {
            "standards": ["aws-foundational", "cis-3.0"],
            "disabled_controls": [
                {
                    "control": "IAM.6",
                    "reason": "hardware MFA for root is managed by the management account's "
                    "break-glass process",
                }
            ],
        },
        "firewall_manager": {
            "waf_baseline": {
                "managed_rules": ["known-bad-inputs", "ip-reputation", "common"],
                "rate_limit": {"limit": 2000, "window": 300},
                "exclude_tag": {"managed-by": "guard"},
                "logging": {"bucket": "aws-waf-logs-org-central"},
            },
            "shield": {"automatic_l7_mitigation": "count"},
        },
    },
}
#: Product keys an account stack leaves out: they need top-level areas it does not declare
#: (guard:ci for ``ci``, guard:shield for an endpoint's ``shield``).
DROPPED_PRODUCT_KEYS = ("ci",)
DROPPED_ENDPOINT_KEYS = ("shield",)
TIMES = "\N{MULTIPLICATION SIGN}"
PAGE = os.sysconf("SC_PAGE_SIZE")
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def account_id(index: int) -> str:
    """``1000000000NN``: the account of account stack ``index`` (1-based)."""
    return str(100_000_000_000 + index)


def _unique_arn(arn: str, account: str, tag: str) -> str:
    """``arn`` in ``account``, its resource name made unique with ``tag``."""
    arn = arn.replace(PROD_ACCOUNT, account)
    digest = hashlib.sha256(f"{arn}#{tag}".encode()).hexdigest()
    if ":loadbalancer/app/" in arn:
        prefix, name, _ = arn.rsplit("/", 2)
        return f"{prefix}/{name[:20]}-{tag}/{digest[:16]}"
    if ":distribution/" in arn:
        return arn.rsplit("/", 1)[0] + "/E" + digest[:12].upper()
    return arn


def in_account(value: Any, account: str) -> Any:
    """``value`` with the prod stack's account ID replaced by ``account`` in every string."""
    if isinstance(value, dict):
        return {k: in_account(v, account) for k, v in value.items()}
    if isinstance(value, list):
        return [in_account(v, account) for v in value]
    if isinstance(value, str):
        return value.replace(PROD_ACCOUNT, account)
    return value


def account_products(index: int, endpoints: int) -> list[dict[str, Any]]:
    """The prod products, copied and renamed until they have ``endpoints`` endpoints, in the
    account of stack ``index``."""
    templates = yaml.safe_load(PROD.read_text(encoding="utf-8"))["config"]["guard:products"]
    account = account_id(index)
    products: list[dict[str, Any]] = []
    left, copy_index = endpoints, 0
    while left > 0:
        for template in templates:
            if left <= 0:
                break
            product = copy.deepcopy(template)
            for key in DROPPED_PRODUCT_KEYS:
                product.pop(key, None)
            # Every ARN (endpoints, rule groups) moves to the stack's own account.
            product = in_account(product, account)
            if copy_index:
                product["name"] = f"{template['name'][:24]}-{copy_index}"
            product["endpoints"] = product["endpoints"][:left]
            for endpoint in product["endpoints"]:
                for key in DROPPED_ENDPOINT_KEYS:
                    endpoint.pop(key, None)
                endpoint["arn"] = _unique_arn(endpoint["arn"], account, str(copy_index))
            for group in product.get("waf", {}).get("external_rule_groups", []):
                group["name"] = (
                    f"{group['name'][:24]}-{copy_index}" if copy_index else group["name"]
                )
            products.append(product)
            left -= len(product["endpoints"])
        copy_index += 1
    return products


def account_stack(index: int, endpoints: int, *, org: bool) -> dict[str, Any]:
    config: dict[str, Any] = {
        "aws:region": REGION,
        "guard:account_id": account_id(index),
        "guard:products": account_products(index, endpoints),
        "guard:alerts": {
            "slack": {
                "workspace_id": "T0EXAMPLE1",
                "normal_channel": f"C0NORM{index:04d}",
                "urgent_channel": f"C0URGE{index:04d}",
            }
        },
    }
    if org:
        config["guard:detection"] = {"managed_by": "organization"}
    return {"config": config}


def write_stacks(folder: Path, stacks: int, endpoints: int, *, org: bool) -> list[Path]:
    """``stacks`` account stacks (and the organization stack with ``org``) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(1, stacks + 1):
        path = folder / f"Pulumi.account-{index:02d}.yaml"
        document = account_stack(index, endpoints, org=org)
        path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        paths.append(path)
    if org:
        path = folder / f"Pulumi.{ORG_STACK}.yaml"
        path.write_text(yaml.safe_dump({"config": ORGANIZATION}, sort_keys=False))
        paths.append(path)
    return paths


def endpoint_count(path: Path) -> int:
    config = yaml.safe_load(path.read_text(encoding="utf-8"))["config"]
    return sum(len(p["endpoints"]) for p in config.get("guard:products", []))


# --- memory of a process tree --------------------------------------------------------------------


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (/proc/PID/task/TID/children)."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        try:
            tasks = list(Path(f"/proc/{current}/task").iterdir())
        except OSError:
            continue
        for task in tasks:
            try:
                queue += [int(c) for c in (task / "children").read_text().split()]
            except (OSError, ValueError):
                continue
    return found


def tree_memory(pid: int) -> tuple[int, int | None]:
    """The RSS and PSS bytes of ``pid``'s process tree (PSS None when a member's could not be
    read: a process that just exited, or /proc/PID/smaps_rollup not readable here)."""
    rss, pss = 0, 0
    pss_complete = True
    for member in descendants(pid):
        proc = Path(f"/proc/{member}")
        try:
            rss += int((proc / "statm").read_text().split()[1]) * PAGE
            rollup = (proc / "smaps_rollup").read_text().splitlines()
            pss += int(next(x for x in rollup if x.startswith("Pss:")).split()[1]) * 1024
        except (OSError, IndexError, StopIteration, ValueError):
            pss_complete = False
    return rss, (pss if pss_complete else None)


@dataclass
class Sampler:
    """The peak RSS and PSS sums of a process tree, every ``interval`` seconds, in a thread
    (a sample missing a member's PSS does not count for the PSS peak)."""

    pid: int
    interval: float = 0.1
    peak_rss: int = 0
    peak_pss: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> Sampler:
        if Path("/proc/self/statm").exists():
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            rss, pss = tree_memory(self.pid)
            self.peak_rss = max(self.peak_rss, rss)
            self.peak_pss = max(self.peak_pss, pss or 0)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


# --- runs --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    seconds: float
    max_mib: float
    rss_mib: float | None
    pss_mib: float | None
    #: User and system CPU seconds of the whole process tree.
    cpu_seconds: float
    document: dict[str, Any]


def plan_all_command(jobs: int | None) -> list[str]:
    command = [sys.executable, "-m", "guard", "plan", "--all", "--format", "json"]
    return command + (["--jobs", str(jobs)] if jobs else [])


def run_once(folder: Path, jobs: int | None) -> Run:
    """One ``guard plan --all`` of the stacks in ``folder``; stops unless all were planned."""
    env = {**CHILD_ENV, "GUARD_STACKS_DIR": str(folder)}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(
            plan_all_command(jobs), cwd=ROOT, stdout=out, stderr=err, env=env
        )
        with Sampler(process.pid) as sampler:
            _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read().decode(errors="replace")
    if code not in (0, 1):
        raise SystemExit(f"guard plan --all in {folder} exited {code}:\n{stderr[-3000:]}")
    document = json.loads(stdout)
    unplanned = [s for s in document["stacks"] if s["result"] not in ("ok", "policy")]
    if unplanned:
        raise SystemExit(f"stacks not planned: {json.dumps(unplanned, indent=2)[:3000]}")
    mib = 1024 * 1024
    return Run(
        elapsed,
        usage.ru_maxrss / 1024,
        sampler.peak_rss / mib if sampler.peak_rss > 0 else None,
        sampler.peak_pss / mib if sampler.peak_pss > 0 else None,
        usage.ru_utime + usage.ru_stime,
        document,
    )


@dataclass
class Size:
    stacks: int
    endpoints: int
    runs: list[Run] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return statistics.median(r.seconds for r in self.runs)

    @property
    def cpu_seconds(self) -> float:
        return statistics.median(r.cpu_seconds for r in self.runs)

    @property
    def resources(self) -> int:
        return int(self.runs[0].document["summary"]["resources"])

    @property
    def jobs(self) -> int:
        return int(self.runs[0].document["summary"]["jobs"])

    def peak(self, name: str) -> float | None:
        values = [getattr(r, name) for r in self.runs if getattr(r, name) is not None]
        return max(values) if values else None


HEADER = (
    f"{'stacks':>6} {'endpoints':>9} {'resources':>9} {'jobs':>4} {'wall s':>7} "
    f"{'s/stack':>7} {'cpu s':>7} {'max MiB':>7} {'RSS MiB':>7} {'PSS MiB':>7} {'time ' + TIMES:>7} "
    f"{'stacks ' + TIMES:>8}"
)


def row(size: Size, smallest: Size) -> str:
    def mib(value: float | None) -> str:
        return f"{value:>7.0f}" if value is not None else f"{'-':>7}"

    return (
        f"{size.stacks:>6} {size.endpoints:>9} {size.resources:>9} {size.jobs:>4} "
        f"{size.seconds:>7.2f} {size.seconds / size.stacks:>7.3f} {size.cpu_seconds:>7.2f} "
        f"{mib(size.peak('max_mib'))} "
        f"{mib(size.peak('rss_mib'))} {mib(size.peak('pss_mib'))} "
        f"{size.seconds / smallest.seconds:>7.2f} {size.stacks / smallest.stacks:>8.1f}"
    )


def growth(smallest: Size, largest: Size) -> str:
    seconds = largest.seconds / smallest.seconds
    stacks = largest.stacks / smallest.stacks
    verdict = "linear or better" if seconds <= stacks else "worse than linear"
    marginal = (largest.seconds - smallest.seconds) / (largest.stacks - smallest.stacks)
    return (
        f"{smallest.stacks}→{largest.stacks} stacks: time {TIMES}{seconds:.2f} for "
        f"{TIMES}{stacks:.1f} stacks ({verdict}); {marginal:.3f} s per added stack"
    )


def machine() -> str:
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count() or 1
    return (
        f"machine: {os.cpu_count()} CPUs ({usable} usable by this process), "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--sizes", default="5,10,25,50", help="numbers of account stacks (default: %(default)s)"
    )
    parser.add_argument(
        "--endpoints", type=int, default=14, help="endpoints per account stack (default: 14)"
    )
    parser.add_argument("--jobs", type=int, help="guard plan --jobs (default: guard's own)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per size (default: 1)")
    parser.add_argument(
        "--no-org",
        dest="org",
        action="store_false",
        help="no organization stack, no guard:detection.managed_by",
    )
    args = parser.parse_args(argv)
    args.sizes = sorted({int(s) for s in args.sizes.split(",")})
    if args.repeat < 1 or args.sizes[0] < 1 or args.endpoints < 1:
        parser.error("--repeat, --sizes and --endpoints must be positive")
    if args.jobs is not None and args.jobs < 1:
        parser.error("--jobs must be positive")
    return args


def benchmark(args: argparse.Namespace, folder: Path) -> list[Size]:
    print(machine())
    org = "with" if args.org else "without"
    print(f"{args.endpoints} endpoints per account stack, {org} the organization stack")
    sizes: list[Size] = []
    for stacks in args.sizes:
        directory = folder / f"stacks-{stacks}"
        paths = write_stacks(directory, stacks, args.endpoints, org=args.org)
        sizes.append(Size(len(paths), sum(endpoint_count(p) for p in paths)))
        if len(sizes) == 1:
            run_once(directory, args.jobs)  # untimed: bytecode and disk cache
            print(HEADER, flush=True)
        for _ in range(args.repeat):
            sizes[-1].runs.append(run_once(directory, args.jobs))
        print(row(sizes[-1], sizes[0]), flush=True)
    if len(sizes) > 1:
        print(growth(sizes[0], sizes[-1]))
    return sizes


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory() as name:
        benchmark(args, Path(name))


if __name__ == "__main__":
    main()
