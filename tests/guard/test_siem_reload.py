"""``guard siem reload``'s engine against a real moto server on 127.0.0.1 (S3 and SQS).

The session's server (tests/conftest.py), seeded once, and again after another module's reset:
five UTC days of log objects in the three layouts (WAF via Firehose, WAF straight to S3, ALB
access logs), plus objects outside the day prefixes that a reload must never pick up. Each test
that sends gets its own queue. Failures SQS would report (throttled entries, sender faults) are
injected by wrapping the real client.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, cast
from urllib.parse import unquote_plus

import boto3
import pytest
from botocore.exceptions import ClientError

from guard.siem_reload import (
    MAX_ENTRY_RETRIES,
    Checkpoint,
    Lister,
    LogObject,
    LogSource,
    RateLimiter,
    ReloadError,
    Sender,
    alb_day_prefix,
    batch_size,
    check_range,
    firehose_day_prefix,
    human_bytes,
    human_duration,
    loader_seconds,
    message_for,
    queue_url,
    retry_delay,
    waf_s3_day_prefix,
)
from tests.aws_samples import load_sample

REGION = "ap-northeast-1"
ACCOUNT = "123456789012"  # moto's account: queue ARNs must name it
FIREHOSE_BUCKET = "guard-test-waf-logs"
DIRECT_BUCKET = "aws-waf-logs-guard-test"
ALB_BUCKET = "guard-test-alb-logs"
DAYS = [date(2026, 11, d) for d in range(20, 25)]
#: The two days the reload tests ask for.
RELOADED = [date(2026, 11, 21), date(2026, 11, 22)]
TODAY = date(2026, 11, 25)
FIREHOSE = LogSource("waf", FIREHOSE_BUCKET, "firehose", ACCOUNT, "guard:logs.bucket")
DIRECT = LogSource("waf", DIRECT_BUCKET, "s3", ACCOUNT, "guard:logs.bucket")
ALB = LogSource("alb", ALB_BUCKET, "alb", ACCOUNT, "guard:logs.alb.bucket")


@dataclass
class World:
    url: str
    session: boto3.Session
    #: bucket -> day -> keys of that day's log objects
    logs: dict[str, dict[date, list[str]]]

    def client(self, service: str) -> Any:
        return self.session.client(service, endpoint_url=self.url)  # type: ignore[call-overload]

    def keys(self, bucket: str, days: list[date]) -> set[str]:
        return {k for d in days for k in self.logs[bucket][d]}

    def queue(self, name: str) -> tuple[str, str]:
        """A new queue: ``(ARN, URL)``."""
        url = self.client("sqs").create_queue(QueueName=name)["QueueUrl"]
        return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}", url

    def received(self, url: str) -> list[dict[str, Any]]:
        """Every message body in the queue (each read once)."""
        sqs, bodies = self.client("sqs"), list[dict[str, Any]]()
        while True:
            answer = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=600, WaitTimeSeconds=0
            )
            if not answer.get("Messages"):
                return bodies
            bodies += [json.loads(m["Body"]) for m in answer["Messages"]]


#: ``(bucket, key, day or None, size)`` of every object the world holds; ``None``: an object no
#: reload may pick up.
Seed = tuple[str, str, date | None, int]


def _layout() -> list[Seed]:
    objects: list[Seed] = []
    for n, day in enumerate(DAYS):
        stamp = f"{day:%Y%m%d}"
        for region in ("ap-northeast-1", "us-east-1"):
            for hour in ("00", "23"):  # both ends of the UTC day
                stream = f"aws-waf-logs-guard-test-{region}"
                key = (
                    f"waf/region={region}/{day:%Y/%m/%d}/{hour}/"
                    f"{stream}-1-{day}-{hour}-00-00-{n:04x}.gz"
                )
                objects.append((FIREHOSE_BUCKET, key, day, 100 + n))
        for segment, acl in (
            ("ap-northeast-1", "guard-test-shop-alb"),
            ("cloudfront", "guard-test-shop-cf"),
        ):
            for hour, minute in (("00", "05"), ("23", "55")):
                key = (
                    f"AWSLogs/{ACCOUNT}/WAFLogs/{segment}/{acl}/{day:%Y/%m/%d}/{hour}/{minute}/"
                    f"{ACCOUNT}_waflogs_{segment}_{acl}_{stamp}T{hour}{minute}Z_{n:08x}.log.gz"
                )
                objects.append((DIRECT_BUCKET, key, day, 200 + n))
        for product, endpoint in (("shop", "web"), ("blog", "web")):
            key = (
                f"alb/{product}/{endpoint}/AWSLogs/{ACCOUNT}/elasticloadbalancing/{REGION}/"
                f"{day:%Y/%m/%d}/{ACCOUNT}_elasticloadbalancing_{REGION}_app.{product}-{endpoint}."
                f"0123456789abcdef_{stamp}T0005Z_198.51.100.7_{n:08x}.log.gz"
            )
            objects.append((ALB_BUCKET, key, day, 300 + n))
    alb_day = f"alb/shop/web/AWSLogs/{ACCOUNT}/elasticloadbalancing/{REGION}/2026/11/21/"
    # A key S3 must URL-encode in the event (space, plus, percent, equals, non-ASCII).
    objects.append((ALB_BUCKET, f"{alb_day}odd name+1%=é.log.gz", date(2026, 11, 21), 64))
    # Never part of a reload: Firehose's failed records, Athena's results, ELB's test file, the
    # next month, a key outside the layout, a folder marker.
    objects += [
        (FIREHOSE_BUCKET, "errors/2026/11/21/00/failed.gz", None, 10),
        (FIREHOSE_BUCKET, "athena-results/2026/11/21/q.csv", None, 10),
        (ALB_BUCKET, f"alb/shop/web/AWSLogs/{ACCOUNT}/ELBAccessLogTestFile", None, 10),
        (FIREHOSE_BUCKET, "waf/region=us-east-1/2026/12/21/00/x.gz", None, 10),
        (FIREHOSE_BUCKET, "waf/2026/11/21/00/no-region.gz", None, 10),
        (ALB_BUCKET, alb_day, None, 0),
    ]
    return objects


LAYOUT = _layout()
#: Written last: when it is there, so is everything else.
SENTINEL = (ALB_BUCKET, "seeded")


def _logs() -> dict[str, dict[date, list[str]]]:
    logs: dict[str, dict[date, list[str]]] = {
        b: {d: [] for d in DAYS} for b in (FIREHOSE_BUCKET, DIRECT_BUCKET, ALB_BUCKET)
    }
    for bucket, key, day, _ in LAYOUT:
        if day is not None:
            logs[bucket][day].append(key)
    return logs


def _ensure_seeded(s3: Any) -> None:
    """Seed the world unless it is there: the session's moto server is shared with other
    modules' tests, which reset it, and moto's state is per process, not per server."""
    try:
        s3.head_object(Bucket=SENTINEL[0], Key=SENTINEL[1])
        return
    except ClientError:
        pass
    for bucket in (FIREHOSE_BUCKET, DIRECT_BUCKET, ALB_BUCKET):
        try:
            s3.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION}
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "BucketAlreadyOwnedByYou":
                raise
    for bucket, key, _, size in LAYOUT:
        s3.put_object(Bucket=bucket, Key=key, Body=os.urandom(size))
    s3.put_object(Bucket=SENTINEL[0], Key=SENTINEL[1], Body=b"")


@pytest.fixture
def world(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> World:
    """The session's moto server (tests/conftest.py) holding the five days of logs, and dummy
    credentials in the environment (the command's default session reads them)."""
    for key in [k for k in os.environ if k.startswith(("AWS_", "MOTO_"))]:
        monkeypatch.delenv(key)
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    session = boto3.Session(region_name=REGION)
    _ensure_seeded(session.client("s3", endpoint_url=moto_url))
    return World(moto_url, session, _logs())


# --- the date range and the key layouts ------------------------------------------------------


def test_a_range_is_its_days_both_ends_included() -> None:
    assert check_range(date(2026, 11, 21), date(2026, 11, 22), TODAY) == RELOADED
    assert check_range(TODAY, TODAY, TODAY) == [TODAY]


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (date(2026, 11, 22), date(2026, 11, 21), "--from 2026-11-22 is after --to 2026-11-21"),
        (date(2026, 11, 20), date(2026, 11, 26), "--to 2026-11-26 is in the future"),
        (date(2025, 10, 20), date(2026, 11, 24), "401 days; one run takes at most 400"),
    ],
)
def test_bad_ranges_are_clear_errors(start: date, end: date, message: str) -> None:
    with pytest.raises(ReloadError, match=message):
        check_range(start, end, TODAY)


def test_day_prefixes_follow_each_layout() -> None:
    day = date(2026, 1, 5)
    assert firehose_day_prefix("us-east-1", day) == "waf/region=us-east-1/2026/01/05/"
    assert (
        waf_s3_day_prefix(ACCOUNT, "cloudfront", "shop-cf", day)
        == f"AWSLogs/{ACCOUNT}/WAFLogs/cloudfront/shop-cf/2026/01/05/"
    )
    assert (
        alb_day_prefix("shop", "web", ACCOUNT, REGION, day)
        == f"alb/shop/web/AWSLogs/{ACCOUNT}/elasticloadbalancing/{REGION}/2026/01/05/"
    )


# --- listing ---------------------------------------------------------------------------------


def test_lists_exactly_the_objects_of_the_days_by_prefix_only(world: World) -> None:
    s3 = world.client("s3")
    calls: list[dict[str, Any]] = []
    s3.meta.events.register(
        "provide-client-params.s3.ListObjectsV2", lambda params, **_: calls.append(dict(params))
    )
    objects = Lister(s3).list_objects([FIREHOSE, DIRECT, ALB], RELOADED)

    listed = {(o.bucket, o.key) for o in objects}
    expected = {
        (bucket, key)
        for bucket in (FIREHOSE_BUCKET, DIRECT_BUCKET, ALB_BUCKET)
        for key in world.keys(bucket, RELOADED)
    }
    assert listed == expected
    assert len(listed) == 2 * (4 + 4 + 2) + 1
    assert [o.last_modified for o in objects] == sorted(o.last_modified for o in objects)
    assert {o.log for o in objects if o.bucket == ALB_BUCKET} == {"alb"}
    # Every call names a prefix under the layout's root; none lists a bucket from its top.
    assert calls and all(c.get("Prefix") for c in calls)
    roots = ("waf/", f"AWSLogs/{ACCOUNT}/WAFLogs/", "alb/")
    assert all(c["Prefix"].startswith(roots) for c in calls)


def test_a_range_without_objects_lists_nothing(world: World) -> None:
    assert Lister(world.client("s3")).list_objects([FIREHOSE, ALB], [date(2026, 10, 1)]) == []


def test_a_missing_bucket_is_one_line_naming_the_call_and_the_key(world: World) -> None:
    missing = LogSource(
        "waf", "guard-test-no-such-bucket", "firehose", ACCOUNT, "guard:logs.bucket"
    )
    with pytest.raises(ReloadError) as raised:
        Lister(world.client("s3")).list_objects([missing], RELOADED)
    assert str(raised.value) == (
        "s3 ListObjectsV2 on s3://guard-test-no-such-bucket/waf/: the bucket does not exist "
        "(guard:logs.bucket)"
    )


def test_a_missing_queue_is_one_line_naming_it(world: World) -> None:
    arn = f"arn:aws:sqs:{REGION}:{ACCOUNT}:guard-test-no-such-queue"
    with pytest.raises(ReloadError, match=r"^sqs GetQueueUrl on arn:aws:sqs:.*: the queue does"):
        queue_url(world.client("sqs"), arn)


# --- sending ---------------------------------------------------------------------------------


def _objects(world: World) -> list[LogObject]:
    return Lister(world.client("s3")).list_objects([FIREHOSE, DIRECT, ALB], RELOADED)


def _sender(world: World, sqs: Any, url: str, checkpoint: Checkpoint, **kwargs: Any) -> Sender:
    limiter = kwargs.pop("limiter", RateLimiter(None))
    return Sender(
        sqs,
        url,
        checkpoint,
        limiter,
        lambda obj: message_for(obj, REGION, ACCOUNT),
        **kwargs,
    )


def _shape(value: Any) -> Any:
    """The keys at each level of a JSON document (values dropped)."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(v) for v in value]
    return type(value).__name__


def test_each_object_becomes_one_s3_event_like_the_aws_sample(world: World, tmp_path: Path) -> None:
    arn, url = world.queue("siem-shape")
    objects = _objects(world)
    checkpoint = Checkpoint(tmp_path / "c.jsonl", arn)
    summary = _sender(world, world.client("sqs"), url, checkpoint).send(objects)
    assert (summary.sent, summary.skipped, summary.failed) == (len(objects), 0, [])

    bodies = world.received(url)
    assert len(bodies) == len(objects)
    sample = load_sample("s3_event_object_created_put")
    # versionId: S3 sends it only for versioned buckets, and ListObjectsV2 does not return it.
    del sample["Records"][0]["s3"]["object"]["versionId"]
    s3 = world.client("s3")
    seen = set()
    for body in bodies:
        assert _shape(body) == _shape(sample)
        record = body["Records"][0]
        bucket, encoded = record["s3"]["bucket"]["name"], record["s3"]["object"]["key"]
        key = unquote_plus(encoded)  # what the SIEM loader does (es_loader/index.py)
        head = s3.head_object(Bucket=bucket, Key=key)
        assert record["s3"]["object"]["size"] == head["ContentLength"]
        assert record["s3"]["object"]["eTag"] == head["ETag"].strip('"')
        assert record["eventName"] == "ObjectCreated:Put" and record["eventVersion"] == "2.1"
        assert record["awsRegion"] == REGION
        assert record["s3"]["bucket"]["arn"] == f"arn:aws:s3:::{bucket}"
        assert " " not in encoded and "=" not in encoded
        seen.add((bucket, key))
    assert seen == {(o.bucket, o.key) for o in objects}
    odd = next(b for b in bodies if "odd" in b["Records"][0]["s3"]["object"]["key"])
    assert odd["Records"][0]["s3"]["object"]["key"].endswith("odd+name%2B1%25%3D%C3%A9.log.gz")
    assert len(checkpoint.sent) == len(objects)


class Interrupting:
    """The real SQS client, interrupted (Ctrl-C) on the ``after``-th SendMessageBatch."""

    def __init__(self, sqs: Any, after: int) -> None:
        self._sqs, self._after, self.calls = sqs, after, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sqs, name)

    def send_message_batch(self, **kwargs: Any) -> Any:
        self.calls += 1
        if self.calls > self._after:
            raise KeyboardInterrupt
        return self._sqs.send_message_batch(**kwargs)


def test_an_interrupted_run_resumes_without_duplicates(world: World, tmp_path: Path) -> None:
    arn, url = world.queue("siem-resume")
    objects = _objects(world)
    path = tmp_path / "c.jsonl"
    first = _sender(
        world, cast(Any, Interrupting(world.client("sqs"), 1)), url, Checkpoint(path, arn)
    )
    with pytest.raises(KeyboardInterrupt):
        first.send(objects)
    assert first.summary.sent == 10

    checkpoint = Checkpoint(path, arn)  # read back from disk, as a new process would
    assert len(checkpoint.sent) == 10
    second = _sender(world, world.client("sqs"), url, checkpoint).send(objects)
    assert (second.sent, second.skipped) == (len(objects) - 10, 10)

    keys = [b["Records"][0]["s3"]["object"]["key"] for b in world.received(url)]
    assert len(keys) == len(set(keys)) == len(objects)
    assert Checkpoint(path, arn).sent == {(o.bucket, o.key) for o in objects}


class PartlyFailing:
    """The real client, but SQS answers some entries ``Failed``: ``transient`` Ids fail
    (not the sender's fault) on their first ``times`` sends; ``faulty`` Ids always fail as
    sender faults. Each call's entry Ids are recorded."""

    def __init__(self, sqs: Any, transient: set[str], faulty: set[str], times: int = 1) -> None:
        self._sqs, self._transient, self._faulty, self._times = sqs, transient, faulty, times
        self._failures: dict[str, int] = {}
        self.sent_ids: list[list[str]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sqs, name)

    def send_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, str]]) -> Any:
        self.sent_ids.append([e["Id"] for e in Entries])
        passing, failed = [], []
        for entry in Entries:
            ident = entry["Id"]
            if ident in self._faulty:
                failed.append({"Id": ident, "SenderFault": True, "Code": "InvalidMessageContents"})
            elif ident in self._transient and self._failures.get(ident, 0) < self._times:
                self._failures[ident] = self._failures.get(ident, 0) + 1
                failed.append({"Id": ident, "SenderFault": False, "Code": "InternalError"})
            else:
                passing.append(entry)
        answer: dict[str, Any] = {"Successful": [], "Failed": []}
        if passing:
            answer = self._sqs.send_message_batch(QueueUrl=QueueUrl, Entries=passing)
        return {
            "Successful": answer.get("Successful", []),
            "Failed": [{**f, "Message": "try again"} for f in failed],
        }


def test_failed_entries_are_retried_and_sender_faults_reported(
    world: World, tmp_path: Path
) -> None:
    arn, url = world.queue("siem-partial")
    objects = _objects(world)[:10]
    sleeps: list[float] = []
    sqs = PartlyFailing(world.client("sqs"), transient={"1", "4"}, faulty={"7"})
    sender = _sender(
        world, cast(Any, sqs), url, Checkpoint(tmp_path / "c.jsonl", arn), sleep=sleeps.append
    )
    summary = sender.send(objects)

    assert sqs.sent_ids == [[str(i) for i in range(10)], ["1", "4"]]
    assert sleeps == [retry_delay(1)]
    assert summary.sent == 9
    [failure] = summary.failed
    assert failure.obj == objects[7] and failure.code == "InvalidMessageContents"
    assert len(world.received(url)) == 9


def test_entries_failing_every_resend_are_reported_not_dropped(
    world: World, tmp_path: Path
) -> None:
    arn, url = world.queue("siem-stuck")
    objects = _objects(world)[:3]
    sleeps: list[float] = []
    sqs = PartlyFailing(world.client("sqs"), transient={"2"}, faulty=set(), times=99)
    checkpoint = Checkpoint(tmp_path / "c.jsonl", arn)
    summary = _sender(world, cast(Any, sqs), url, checkpoint, sleep=sleeps.append).send(objects)

    assert len(sqs.sent_ids) == 1 + MAX_ENTRY_RETRIES
    assert sleeps == [retry_delay(n) for n in range(1, MAX_ENTRY_RETRIES + 1)]
    assert summary.sent == 2
    [failure] = summary.failed
    assert failure.obj == objects[2] and failure.code == "InternalError"
    assert f"after {MAX_ENTRY_RETRIES} resends" in failure.message
    assert (objects[2].bucket, objects[2].key) not in Checkpoint(tmp_path / "c.jsonl", arn).sent


def test_archived_objects_are_reported_not_sent(tmp_path: Path) -> None:
    archived = LogObject("waf", "b", "k", 1, "e", datetime(2026, 11, 21, tzinfo=UTC), "GLACIER")

    class NoCalls:
        def send_message_batch(self, **_: Any) -> Any:
            raise AssertionError("nothing to send")

    checkpoint = Checkpoint(tmp_path / "c.jsonl", "arn:aws:sqs:r:1:q")
    summary = Sender(cast(Any, NoCalls()), "u", checkpoint, RateLimiter(None), str).send([archived])
    assert summary.sent == 0 and summary.failed[0].code == "Archived"


# --- pacing ----------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.now += seconds


class Recording:
    """An SQS stand-in that records when (on the fake clock) each batch went out."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.batches: list[tuple[float, int]] = []

    def send_message_batch(self, *, QueueUrl: str, Entries: list[dict[str, str]]) -> Any:
        self.batches.append((self.clock.now, len(Entries)))
        return {"Successful": [{"Id": e["Id"]} for e in Entries], "Failed": []}


@pytest.mark.parametrize(("rate", "size"), [(5.0, 5), (25.0, 10), (0.5, 1)])
def test_rate_caps_messages_per_second(rate: float, size: int, tmp_path: Path) -> None:
    clock = FakeClock()
    sqs = Recording(clock)
    objects = [
        LogObject("waf", "b", f"k{i}", 1, "e", datetime(2026, 11, 21, tzinfo=UTC))
        for i in range(23)
    ]
    limiter = RateLimiter(rate, clock=clock, sleep=clock.sleep)
    checkpoint = Checkpoint(tmp_path / "c.jsonl", "arn:aws:sqs:r:1:q")
    Sender(cast(Any, sqs), "u", checkpoint, limiter, str).send(objects)

    assert batch_size(rate) == size
    assert {n for _, n in sqs.batches} <= {size, 23 % size or size}
    start, sent = 1000.0, 0
    for at, count in sqs.batches:
        sent += count
        # At most one batch ahead of the rate, at every moment.
        assert sent <= size + rate * (at - start) + 1e-9
    assert sent == 23
    assert sqs.batches[-1][0] - start >= (23 - size) / rate - 1e-9


def test_no_rate_never_sleeps() -> None:
    clock = FakeClock()
    limiter = RateLimiter(None, clock=clock, sleep=clock.sleep)
    for _ in range(100):
        limiter.acquire(10)
    assert clock.now == 1000.0


def test_backoff_doubles_and_is_capped() -> None:
    assert [retry_delay(n) for n in range(1, 7)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]


# --- the checkpoint --------------------------------------------------------------------------


def _obj(key: str) -> LogObject:
    return LogObject("waf", "b", key, 1, "e", datetime(2026, 11, 21, tzinfo=UTC))


def test_checkpoint_is_json_lines_and_drops_a_torn_tail(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "c.jsonl"
    checkpoint = Checkpoint(path, "arn:q")
    checkpoint.record([_obj("a"), _obj('b "quoted"\nkey')])
    checkpoint.close()
    lines = path.read_text().splitlines()
    assert json.loads(lines[0]) == {"guard siem reload": 1, "queue": "arn:q"}
    assert json.loads(lines[2]) == ["b", 'b "quoted"\nkey']

    with path.open("a") as stream:
        stream.write('["b", "torn')  # a crash in the middle of a write
    again = Checkpoint(path, "arn:q")
    assert again.sent == {("b", "a"), ("b", 'b "quoted"\nkey')}
    again.record([_obj("c")])
    again.close()
    assert Checkpoint(path, "arn:q").sent == {("b", "a"), ("b", 'b "quoted"\nkey'), ("b", "c")}


def test_checkpoint_of_another_queue_or_garbled_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    checkpoint = Checkpoint(path, "arn:q")
    checkpoint.record([_obj("a")])
    checkpoint.close()
    with pytest.raises(ReloadError, match="records messages sent to arn:q, not arn:other"):
        Checkpoint(path, "arn:other")
    path.write_text(path.read_text() + "not json\n")
    with pytest.raises(ReloadError, match=r"c.jsonl:3: not a \[bucket, key\] line"):
        Checkpoint(path, "arn:q")
    path.write_text("hello\n")
    with pytest.raises(ReloadError, match="is not a guard siem reload checkpoint"):
        Checkpoint(path, "arn:q")


# --- the estimate ----------------------------------------------------------------------------


def test_loader_estimate_grows_with_objects_and_bytes() -> None:
    assert loader_seconds(0, 0) == 0
    # 10 loaders, 0.5 s per object: 1,000 small objects take about 50 s.
    assert loader_seconds(1000, 0) == pytest.approx(50)
    # A day of 2 TB at 40 loaders is a day (the maintainer's figure the estimate rests on).
    assert loader_seconds(0, int(2e12), concurrency=40) == pytest.approx(86_400)


def test_durations_and_sizes_read_as_people_write_them() -> None:
    assert human_duration(20) == "under a minute"
    assert human_duration(14 * 60 + 20) == "about 14 min"
    assert human_duration(3900) == "about 1 h 5 min"
    assert human_bytes(512) == "512 B"
    assert human_bytes(3 * 1024**3 / 2) == "1.5 GiB"
