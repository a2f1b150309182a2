"""Measure ``guard siem reload``'s listing and sending against a local moto server.

    .venv/bin/python benchmarks/siem_reload.py [--objects 10000] [--days 10] [--repeat 3]

The bucket holds ``--objects`` WAF log objects in the Firehose layout
(``waf/region=<region>/<yyyy>/<MM>/<dd>/<HH>/...gz``), spread over two regions, ``--days`` UTC
days and 24 hours, written straight into moto's in-process backend (seeding is not timed). Each
run lists them with the engine the command uses (:class:`guard.siem_reload.Lister`: folder
discovery, then one prefix per region and day) and sends one S3 event message per object
(:class:`guard.siem_reload.Sender`: batches of 10, a checkpoint fsynced after each batch, no
``--rate``) to a fresh queue. moto's server runs in this process on 127.0.0.1: the figures are
the client's and moto's cost, not AWS's latency.

moto's SQS walks every message a queue holds on each send (moto 5.2: ``Queue.messages`` and the
delayed and in-flight counts, per message), so with 10,000 messages in one queue the last
batches take about 20 times as long as the first. The benchmark empties the queue through
moto's backend every :data:`PURGE_EVERY` batches (in-process, no HTTP call) and counts what SQS
acknowledged. A second sending row, ``engine``, swaps SQS for an in-process stand-in that
acknowledges every entry: what guard itself costs per message (building, batching, the fsynced
checkpoint).

Columns: ``items`` (objects listed, messages built or sent), ``calls`` (API calls), the median
``seconds`` over ``--repeat`` runs and ``items/s``.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

REGION = "ap-northeast-1"
ACCOUNT = "123456789012"  # moto's default account
BUCKET = "guard-bench-waf-logs"
REGIONS = ("ap-northeast-1", "us-east-1")
#: Batches between two purges of the benchmark queue (see the module docstring).
PURGE_EVERY = 10


def seed(objects: int, days: list[date]) -> None:
    """``objects`` keys in the Firehose layout, round-robin over regions, days and hours."""
    from moto.s3.models import s3_backends

    backend = s3_backends[ACCOUNT]["aws"]
    backend.create_bucket(BUCKET, REGION)
    body = os.urandom(512)
    for n in range(objects):
        region = REGIONS[n % len(REGIONS)]
        day = days[(n // len(REGIONS)) % len(days)]
        hour = n % 24
        stream = f"aws-waf-logs-guard-bench-{region}"
        key = (
            f"waf/region={region}/{day:%Y/%m/%d}/{hour:02d}/"
            f"{stream}-1-{day}-{hour:02d}-00-00-{n:08x}.gz"
        )
        backend.put_object(BUCKET, key, body)


class Purging:
    """The real SQS client; the queue is emptied (in moto's backend) every few batches."""

    def __init__(self, sqs: Any, name: str) -> None:
        from moto.sqs.models import sqs_backends

        self._sqs, self._name, self.calls = sqs, name, 0
        self._backend = sqs_backends[ACCOUNT][REGION]

    def send_message_batch(self, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls % PURGE_EVERY == 0:
            # moto allows one purge a minute, as SQS does; the benchmark is not SQS's client.
            self._backend.get_queue(self._name).last_purged_at = None
            self._backend.purge_queue(self._name)
        return self._sqs.send_message_batch(**kwargs)


class Acknowledging:
    """An in-process SQS stand-in: every entry succeeds at once."""

    def __init__(self) -> None:
        self.calls = 0

    def send_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, str]]) -> Any:
        self.calls += 1
        return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    for key in [k for k in os.environ if k.startswith("AWS_")]:
        del os.environ[key]
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )
    import boto3
    from moto.server import ThreadedMotoServer

    from guard.siem_reload import (
        Checkpoint,
        Lister,
        LogObject,
        LogSource,
        RateLimiter,
        Sender,
        client,
        message_for,
        queue_url,
    )

    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    days = [date(2026, 11, 1) + timedelta(days=n) for n in range(args.days)]
    began = time.perf_counter()
    seed(args.objects, days)
    seeded = time.perf_counter() - began

    session = boto3.Session()
    s3 = client(session, "s3", REGION, url)
    sqs = client(session, "sqs", REGION, url)
    source = LogSource("waf", BUCKET, "firehose", ACCOUNT, "guard:logs.bucket")
    workdir = Path(tempfile.mkdtemp(prefix="guard-siem-reload-bench-"))
    rows: dict[str, list[tuple[int, int, float]]] = {
        "listing": [],
        "building": [],
        "sending": [],
        "engine": [],
    }

    def send(
        objects: list[LogObject], name: str, wrap: Callable[[str], Any]
    ) -> tuple[int, int, float]:
        arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"
        target = queue_url(sqs, arn) if name.startswith("moto") else "stand-in"
        checkpoint = Checkpoint(workdir / f"{name}.jsonl", arn)
        stand_in = wrap(name)
        sender = Sender(
            stand_in,
            target,
            checkpoint,
            RateLimiter(None),
            lambda obj: message_for(obj, REGION, ACCOUNT),
        )
        began = time.perf_counter()
        summary = sender.send(objects)
        elapsed = time.perf_counter() - began
        checkpoint.close()
        assert summary.sent == len(objects) and not summary.failed, summary
        return summary.sent, stand_in.calls, elapsed

    for run in range(args.repeat):
        lister = Lister(s3)
        began = time.perf_counter()
        objects = lister.list_objects([source], days)
        rows["listing"].append((len(objects), lister.calls, time.perf_counter() - began))
        assert len(objects) == args.objects, len(objects)

        began = time.perf_counter()
        for obj in objects:
            message_for(obj, REGION, ACCOUNT)
        rows["building"].append((len(objects), 0, time.perf_counter() - began))

        sqs.create_queue(QueueName=f"moto-{run}")
        rows["sending"].append(send(objects, f"moto-{run}", lambda name: Purging(sqs, name)))
        rows["engine"].append(send(objects, f"engine-{run}", lambda _name: Acknowledging()))
    server.stop()

    print(
        f"{args.objects:,} objects over {args.days} days and {len(REGIONS)} regions, seeded in "
        f"{seeded:.1f} s; median of {args.repeat} runs; Python {sys.version.split()[0]}, moto "
        "in-process on 127.0.0.1"
    )
    print(f"{'phase':<9} {'items':>8} {'calls':>7} {'seconds':>8} {'items/s':>9}")
    for phase, runs in rows.items():
        items, calls, _ = runs[0]
        seconds = statistics.median(r[2] for r in runs)
        calls_text = f"{calls:,}" if calls else "-"
        print(f"{phase:<9} {items:>8,} {calls_text:>7} {seconds:>8.2f} {items / seconds:>9,.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
