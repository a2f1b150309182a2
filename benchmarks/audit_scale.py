"""Measure ``guard audit`` against a moto server with many ALBs and findings.

The account: ``--albs`` internet-facing ALBs (half of them in the stack, with the planned web
ACL; half uncovered), ``--findings`` Security Hub findings (imported 100 per call), 500
GuardDuty findings and Trusted Advisor summaries, answered as the tests answer them
(tests/guard/audit_world.py). The audit runs in this process (moto's server too, on
127.0.0.1), ``--repeat`` times; seeding is not timed. Wall time per run, the API calls one run
makes and the process's peak RSS (moto's included) are reported.

    .venv/bin/python benchmarks/audit_scale.py [--albs 200] [--findings 5000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--albs", type=int, default=200)
    parser.add_argument("--findings", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    for key in [k for k in os.environ if k.startswith("AWS_")]:
        del os.environ[key]
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="ap-northeast-1",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )
    from moto.server import ThreadedMotoServer

    import guard.audit
    from guard.cli import main as guard_main
    from tests.guard.audit_world import World, asff, stack_file

    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    world = World(f"http://{host}:{port}")

    started = time.perf_counter()
    subnets = world.subnets()
    acl = world.web_acl("guard-bench-shop-alb")
    endpoints = []
    for i in range(args.albs):
        arn = world.alb(f"alb-{i}", subnets, tags={"team": f"t{i % 7}"})
        if i % 2 == 0:
            world.associate(acl, arn)
            endpoints.append({"name": f"web-{i}", "kind": "alb", "arn": arn})
    world.securityhub(
        [
            asff(i, ("CRITICAL", "HIGH", "MEDIUM", "LOW")[i % 4], control=f"S3.{1 + i % 20}")
            for i in range(args.findings)
        ]
    )
    world.guardduty([1.0 + (i % 90) / 10 for i in range(500)])
    world.trusted_advisor({})
    seeded = time.perf_counter() - started
    workdir = Path(tempfile.mkdtemp(prefix="guard-audit-bench-"))
    path = stack_file(workdir / "Pulumi.bench.yaml", endpoints, shield=False)
    guard.audit.new_session = world.session

    argv = [
        "audit",
        "--stack",
        "bench",
        "--config-file",
        str(path),
        "--endpoint-url",
        world.url,
        "--format",
        "json",
    ]
    times, calls = [], 0
    for _ in range(args.repeat):
        world.calls.clear()
        began = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            code = guard_main(argv)
        times.append(time.perf_counter() - began)
        calls = len(world.calls)
        assert code == 1, code  # the uncovered half and the critical findings are gaps
    server.stop()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"account: {args.albs} ALBs ({len(endpoints)} in the stack), {args.findings} Security Hub "
        f"findings, 500 GuardDuty findings; seeded in {seeded:.1f} s"
    )
    print(
        f"guard audit: median {statistics.median(times):.2f} s, min {min(times):.2f} s, "
        f"max {max(times):.2f} s over {args.repeat} runs; {calls} API calls per run; "
        f"peak RSS {peak:.0f} MiB (moto's server included)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
