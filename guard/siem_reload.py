"""``guard siem reload``'s engine: list a date range's log objects, replay them to the SIEM loader.

What the loader of SIEM on Amazon OpenSearch Service reads of a message
(aws-samples/siem-on-amazon-opensearch-service at 9b80183, v2.10.4), ``source/lambda/es_loader/``:

* ``index.py`` ``main()`` (lines 517-545): an SQS record's ``body`` is parsed as JSON; when it
  has ``Records``, every record in it is processed (S3 sends one per message; so does this);
* ``index.py`` ``extract_logfile_from_s3()`` (lines 52-62): ``s3.bucket.name`` and
  ``s3.object.key`` only, the key decoded with ``urllib.parse.unquote_plus`` (so it must be
  URL-encoded as S3 does it: :func:`guard.siem_events.encode_key`); the log type comes from the
  key's patterns in ``aws.ini`` (``aws-waf-logs-`` or ``_waflogs_`` for WAF,
  ``elasticloadbalancing_..._<ip>_<hash>.log.gz`` for ALB);
* ``siem/__init__.py`` ``LogS3.s3obj_size`` (lines 177-182): ``s3.object.size``, for metrics.

Nothing else of the record is read. Document IDs come from the log lines (an MD5 of the line,
or one of its fields: ``siem/__init__.py``, ``@id``, lines 683-706), so an object loaded twice
overwrites the same documents: a duplicate message costs loader time, not duplicate data.

Listing: ``ListObjectsV2`` by prefix only, one prefix per day and layout, found by listing the
layout's folders with ``Delimiter="/"`` (regions, web ACLs, products and endpoints); the whole
bucket is never listed. Sending: ``SendMessageBatch``, 10 entries (SQS's maximum) per call,
Ids unique per batch; botocore retries throttling (standard mode, :data:`MAX_ATTEMPTS`); entries
SQS reports ``Failed`` without ``SenderFault`` are resent up to :data:`MAX_ENTRY_RETRIES` times
with backoff, sender faults are reported at once. Each batch's successful entries are appended
to the checkpoint (one JSON line per object, flushed and fsynced) before the next batch: a rerun
skips them. A crash between SQS's answer and the fsync resends at most one batch.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal

from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
)

from guard.aws_errors import THROTTLED_CODES, error_parts
from guard.logs_layout import ALB_PREFIX, LOG_PREFIX, alb_log_prefix, waf_logs_prefix
from guard.siem_events import s3_event_message

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client
    from mypy_boto3_sqs.client import SQSClient
    from mypy_boto3_sqs.type_defs import SendMessageBatchRequestEntryTypeDef

Log = Literal["waf", "alb"]

#: The longest range one run takes: a year of logs (guard:logs.retention_days defaults to 365)
#: plus a month. It stops a mistyped year from queueing years of logs in front of live ones;
#: longer reloads run in chunks, each with its own checkpoint.
MAX_RANGE_DAYS = 400
#: SendMessageBatch takes at most 10 entries.
BATCH_SIZE = 10
#: botocore's standard retry mode (throttling and transient errors) for S3 and SQS calls.
MAX_ATTEMPTS = 10
RETRIES = Config(retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS})
#: Resends of the entries of a batch that SQS answered ``Failed`` (not a sender fault).
MAX_ENTRY_RETRIES = 5
RETRY_BASE_SECONDS = 0.5
RETRY_MAX_SECONDS = 8.0
#: Storage classes the loader cannot GET without a restore (Glacier IR is readable).
ARCHIVED = frozenset({"GLACIER", "DEEP_ARCHIVE"})

# The loader-time estimate (an estimate, printed as such). The SIEM documents no throughput;
# its maintainer wrote that "more than 2TB of logs ... in a day" takes "about 40 Lambda
# invocations" (aws-samples/siem-on-amazon-opensearch-service issue #348), about 0.58 MB/s per
# concurrent loader. Each object also costs an invocation, a GET and a bulk request: assumed
# 0.5 s. The loader runs at most ReservedConcurrency at once, 10 by default (docs/deployment.md).
LOADER_BYTES_PER_SECOND = 2e12 / 86_400 / 40
LOADER_SECONDS_PER_OBJECT = 0.5
LOADER_CONCURRENCY = 10

QUEUE_ARN_RE = re.compile(r"^arn:aws:sqs:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):(?P<name>.+)$")
_NO_QUEUE = {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}


class ReloadError(Exception):
    """A problem the user must fix (range, config, credentials, access, a missing bucket or
    queue): one line on stderr, exit 2."""


@dataclass(frozen=True, slots=True)
class LogObject:
    """One log object as ListObjectsV2 returns it."""

    log: Log
    bucket: str
    key: str
    size: int
    etag: str
    last_modified: datetime
    storage_class: str = "STANDARD"


@dataclass(frozen=True)
class LogSource:
    """A bucket and its key layout: ``firehose`` and ``s3`` (WAF deliveries) or ``alb``."""

    log: Log
    bucket: str
    layout: Literal["firehose", "s3", "alb"]
    account: str
    #: The stack file key naming the bucket, for error messages.
    config_key: str


# --- the date range ------------------------------------------------------------------------


def check_range(start: date, end: date, today: date) -> list[date]:
    """The days from ``start`` to ``end`` inclusive (UTC), or :class:`ReloadError`."""
    if start > end:
        raise ReloadError(
            f"--from {start} is after --to {end}: the range is empty (both days are included, "
            "--from first)"
        )
    if end > today:
        raise ReloadError(f"--to {end} is in the future (today is {today} UTC)")
    count = (end - start).days + 1
    if count > MAX_RANGE_DAYS:
        raise ReloadError(
            f"--from {start} --to {end} is {count} days; one run takes at most {MAX_RANGE_DAYS}: "
            "reload a longer period in chunks (each gets its own checkpoint)"
        )
    return [start + timedelta(days=n) for n in range(count)]


# --- key layouts ---------------------------------------------------------------------------


def _day_path(day: date) -> str:
    return f"{day:%Y/%m/%d}/"


def firehose_day_prefix(region: str, day: date) -> str:
    """``waf/region=<region>/<yyyy>/<MM>/<dd>/``: a day of one region's Firehose stream."""
    return f"{LOG_PREFIX}region={region}/{_day_path(day)}"


def waf_s3_day_prefix(account: str, region_segment: str, web_acl: str, day: date) -> str:
    """``AWSLogs/<account>/WAFLogs/<region|cloudfront>/<web-acl>/<yyyy>/<MM>/<dd>/``: a day of
    one web ACL logging straight to S3."""
    return f"{waf_logs_prefix(account)}{region_segment}/{web_acl}/{_day_path(day)}"


def alb_day_prefix(product: str, endpoint: str, account: str, region: str, day: date) -> str:
    """``alb/<product>/<endpoint>/AWSLogs/<account>/elasticloadbalancing/<region>/<yyyy>/<MM>/
    <dd>/``: a day of one ALB endpoint's access logs."""
    return f"{_alb_regions_prefix(product, endpoint, account)}{region}/{_day_path(day)}"


def _alb_regions_prefix(product: str, endpoint: str, account: str) -> str:
    return f"{alb_log_prefix(product, endpoint)}/AWSLogs/{account}/elasticloadbalancing/"


# --- AWS errors ----------------------------------------------------------------------------


@contextmanager
def aws_call(operation: str, resource: str, config_key: str = "") -> Iterator[None]:
    """Turn a failed AWS call into one :class:`ReloadError` line naming the call and resource."""
    where = f"{operation} on {resource}"
    try:
        yield
    except ClientError as error:
        code, message = error_parts(error)
        if code == "NoSuchBucket":
            hint = f" ({config_key})" if config_key else ""
            raise ReloadError(f"{where}: the bucket does not exist{hint}") from None
        if code in _NO_QUEUE:
            raise ReloadError(
                f"{where}: the queue does not exist (guard:siem.loader_queue_arn)"
            ) from None
        if code in THROTTLED_CODES:
            raise ReloadError(
                f"{where} was still throttled after {MAX_ATTEMPTS} attempts; try again later "
                "(a rerun resumes from the checkpoint)"
            ) from None
        raise ReloadError(f"{where}: {code}: {message}") from None
    except (NoCredentialsError, PartialCredentialsError):
        raise ReloadError(
            f"{where}: no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID/"
            "AWS_SECRET_ACCESS_KEY, or assume a role in the stack's account first"
        ) from None
    except EndpointConnectionError as error:
        raise ReloadError(f"{where}: cannot reach {error.kwargs.get('endpoint_url')}") from None
    except NoRegionError:
        raise ReloadError(f"{where}: no AWS region") from None
    except BotoCoreError as error:
        raise ReloadError(f"{where}: {error}") from None


# --- listing -------------------------------------------------------------------------------


class Lister:
    """ListObjectsV2 by prefix: folder discovery with ``Delimiter="/"``, then each day."""

    def __init__(self, s3: S3Client) -> None:
        self._s3 = s3
        self.calls = 0

    def children(self, source: LogSource, prefix: str) -> list[str]:
        """The folder names directly under ``prefix`` (without the prefix or trailing '/')."""
        names = []
        with aws_call("s3 ListObjectsV2", f"s3://{source.bucket}/{prefix}", source.config_key):
            pages = self._s3.get_paginator("list_objects_v2").paginate(
                Bucket=source.bucket, Prefix=prefix, Delimiter="/"
            )
            for page in pages:
                self.calls += 1
                for common in page.get("CommonPrefixes", []):
                    names.append(common["Prefix"][len(prefix) :].rstrip("/"))
        return names

    def objects(self, source: LogSource, prefix: str) -> Iterator[LogObject]:
        with aws_call("s3 ListObjectsV2", f"s3://{source.bucket}/{prefix}", source.config_key):
            pages = self._s3.get_paginator("list_objects_v2").paginate(
                Bucket=source.bucket, Prefix=prefix
            )
            for page in pages:
                self.calls += 1
                for item in page.get("Contents", []):
                    key = item["Key"]
                    if key.endswith("/"):  # a console-made "folder", not a log
                        continue
                    yield LogObject(
                        source.log,
                        source.bucket,
                        key,
                        int(item.get("Size", 0)),
                        str(item.get("ETag", "")),
                        item["LastModified"],
                        str(item.get("StorageClass", "STANDARD")),
                    )

    def day_prefixes(self, source: LogSource, days: Sequence[date]) -> list[str]:
        """Every per-day prefix of the source's layout over ``days``."""
        if source.layout == "firehose":
            regions = [
                name.removeprefix("region=")
                for name in self.children(source, LOG_PREFIX)
                if name.startswith("region=")
            ]
            return [firehose_day_prefix(r, day) for r in regions for day in days]
        if source.layout == "s3":
            prefixes = []
            for segment in self.children(source, waf_logs_prefix(source.account)):
                acl_root = f"{waf_logs_prefix(source.account)}{segment}/"
                for acl in self.children(source, acl_root):
                    prefixes += [waf_s3_day_prefix(source.account, segment, acl, d) for d in days]
            return prefixes
        prefixes = []
        for product in self.children(source, ALB_PREFIX):
            for endpoint in self.children(source, f"{ALB_PREFIX}{product}/"):
                root = _alb_regions_prefix(product, endpoint, source.account)
                for region in self.children(source, root):
                    prefixes += [
                        alb_day_prefix(product, endpoint, source.account, region, d) for d in days
                    ]
        return prefixes

    def list_objects(self, sources: Sequence[LogSource], days: Sequence[date]) -> list[LogObject]:
        """The sources' objects of ``days``, oldest first (the order the loader gets them)."""
        found = [
            obj
            for source in sources
            for prefix in self.day_prefixes(source, days)
            for obj in self.objects(source, prefix)
        ]
        return sorted(found, key=lambda o: (o.last_modified, o.bucket, o.key))


# --- the queue -----------------------------------------------------------------------------


def queue_parts(arn: str) -> tuple[str, str, str]:
    """``(region, account, name)`` of an SQS queue ARN."""
    match = QUEUE_ARN_RE.match(arn)
    if not match:
        raise ReloadError(f"{arn} is not an SQS queue ARN (guard:siem.loader_queue_arn)")
    return match["region"], match["account"], match["name"]


def queue_url(sqs: SQSClient, arn: str) -> str:
    """The queue's URL; fails (one line) when the queue is missing or not reachable."""
    _, account, name = queue_parts(arn)
    with aws_call("sqs GetQueueUrl", arn):
        return sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]


def message_for(obj: LogObject, region: str, account: str) -> str:
    return s3_event_message(
        bucket=obj.bucket,
        key=obj.key,
        size=obj.size,
        etag=obj.etag,
        last_modified=obj.last_modified,
        region=region,
        owner_account=account,
    )


# --- pacing --------------------------------------------------------------------------------


def batch_size(rate: float | None) -> int:
    """Entries per SendMessageBatch: 10, fewer under a ``--rate`` below 10 per second."""
    return BATCH_SIZE if rate is None else max(1, min(BATCH_SIZE, int(rate)))


class RateLimiter:
    """A token bucket: ``rate`` messages per second, holding at most one batch, so any window
    of ``t`` seconds sends at most ``rate * t`` plus one batch. ``None``: no limit."""

    def __init__(
        self,
        rate: float | None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = rate
        self.capacity = float(batch_size(rate))
        self._clock, self._sleep = clock, sleep
        self._tokens = self.capacity
        self._last = clock()

    def acquire(self, count: int) -> None:
        if self.rate is None:
            return
        while True:
            now = self._clock()
            self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
            self._last = now
            # The tolerance absorbs float rounding: without it, a bucket a hair short of
            # ``count`` asks for sleeps too short to move the clock, forever.
            if self._tokens >= count - 1e-9:
                self._tokens = max(0.0, self._tokens - count)
                return
            self._sleep(max((count - self._tokens) / self.rate, 1e-6))


def retry_delay(attempt: int) -> float:
    """Backoff before resending failed entries the ``attempt``-th time (1-based)."""
    return float(min(RETRY_MAX_SECONDS, RETRY_BASE_SECONDS * 2 ** (attempt - 1)))


# --- the checkpoint ------------------------------------------------------------------------


def default_checkpoint(stack: str, log: str, start: date, end: date) -> Path:
    """``.guard/siem-reload-<stack>-<log>-<from>-<to>.jsonl`` (relative to the working dir)."""
    return Path(".guard") / f"siem-reload-{stack}-{log}-{start}-{end}.jsonl"


class Checkpoint:
    """Which objects reached the queue: append-only JSON lines, fsynced after each batch.

    The first line names the queue (``{"guard siem reload": 1, "queue": ARN}``); each other line
    is ``[bucket, key]``. A torn last line (a crash mid-write) is dropped on open, so its
    objects are sent again: at least once, never lost.
    """

    HEADER = "guard siem reload"

    def __init__(self, path: Path, queue_arn: str) -> None:
        self.path = path
        self.queue_arn = queue_arn
        self.sent: set[tuple[str, str]] = set()
        self._stream: IO[str] | None = None
        if path.exists():
            self._read()

    def _read(self) -> None:
        try:
            data = self.path.read_bytes()
        except OSError as error:
            raise ReloadError(f"checkpoint {self.path}: {error.strerror}") from None
        complete = data[: data.rfind(b"\n") + 1]
        if len(complete) < len(data):
            with self.path.open("r+b") as stream:  # drop the torn tail before appending
                stream.truncate(len(complete))
        lines = complete.decode("utf-8", errors="replace").splitlines()
        if not lines:
            return  # created, but no batch got through: a fresh start
        try:
            header = json.loads(lines[0])
        except json.JSONDecodeError:
            header = None
        if not isinstance(header, dict) or header.get(self.HEADER) != 1:
            raise ReloadError(
                f"checkpoint {self.path} is not a guard siem reload checkpoint: pass another "
                "--checkpoint or remove the file"
            )
        if header.get("queue") != self.queue_arn:
            raise ReloadError(
                f"checkpoint {self.path} records messages sent to {header.get('queue')}, not "
                f"{self.queue_arn}: pass another --checkpoint"
            )
        for number, line in enumerate(lines[1:], start=2):
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                entry = None
            if not (
                isinstance(entry, list)
                and len(entry) == 2
                and all(isinstance(p, str) for p in entry)
            ):
                raise ReloadError(
                    f"checkpoint {self.path}:{number}: not a [bucket, key] line; remove the file "
                    "to start over (objects already sent would be sent again)"
                )
            self.sent.add((entry[0], entry[1]))

    def is_sent(self, obj: LogObject) -> bool:
        return (obj.bucket, obj.key) in self.sent

    def record(self, objects: Sequence[LogObject]) -> None:
        """Append ``objects`` and make them durable before the next batch goes out."""
        if not objects:
            return
        stream = self._open()
        stream.write("".join(json.dumps([o.bucket, o.key]) + "\n" for o in objects))
        stream.flush()
        os.fsync(stream.fileno())
        self.sent.update((o.bucket, o.key) for o in objects)

    def _open(self) -> IO[str]:
        if self._stream is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fresh = not self.path.exists() or self.path.stat().st_size == 0
                self._stream = self.path.open("a", encoding="utf-8")
            except OSError as error:
                raise ReloadError(f"checkpoint {self.path}: {error.strerror}") from None
            if fresh:
                self._stream.write(json.dumps({self.HEADER: 1, "queue": self.queue_arn}) + "\n")
        return self._stream

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None


# --- sending -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    """An object whose message did not reach the queue, and why."""

    obj: LogObject
    code: str
    message: str


@dataclass
class Summary:
    sent: int = 0
    skipped: int = 0
    failed: list[Failure] = field(default_factory=list)


class Sender:
    """Sends one S3 event message per object in batches of up to 10, paced, checkpointed."""

    def __init__(
        self,
        sqs: SQSClient,
        url: str,
        checkpoint: Checkpoint,
        limiter: RateLimiter,
        message: Callable[[LogObject], str],
        *,
        sleep: Callable[[float], None] = time.sleep,
        progress: Callable[[int], None] = lambda _n: None,
    ) -> None:
        self._sqs, self._url = sqs, url
        self._checkpoint, self._limiter = checkpoint, limiter
        self._message, self._sleep, self._progress = message, sleep, progress
        self.summary = Summary()

    def send(self, objects: Sequence[LogObject]) -> Summary:
        """Send every object the checkpoint does not have; ``summary`` is kept current, so a
        caller interrupted mid-run can still report it."""
        pending = []
        for obj in objects:
            if self._checkpoint.is_sent(obj):
                self.summary.skipped += 1
            elif obj.storage_class in ARCHIVED:
                self.summary.failed.append(
                    Failure(obj, "Archived", f"storage class {obj.storage_class}: restore first")
                )
            else:
                pending.append(obj)
        size = batch_size(self._limiter.rate)
        for start in range(0, len(pending), size):
            self._send_batch(pending[start : start + size])
        return self.summary

    def _send_batch(self, batch: Sequence[LogObject]) -> None:
        waiting = {str(i): obj for i, obj in enumerate(batch)}
        bodies = {i: self._message(obj) for i, obj in waiting.items()}
        last: dict[str, tuple[str, str]] = {}
        attempt = 0
        while waiting:
            self._limiter.acquire(len(waiting))
            entries: list[SendMessageBatchRequestEntryTypeDef] = [
                {"Id": i, "MessageBody": bodies[i]} for i in waiting
            ]
            with aws_call("sqs SendMessageBatch", self._url):
                answer = self._sqs.send_message_batch(QueueUrl=self._url, Entries=entries)
            delivered = [waiting.pop(e["Id"]) for e in answer.get("Successful", [])]
            self._checkpoint.record(delivered)
            self.summary.sent += len(delivered)
            self._progress(len(delivered))
            for failed in answer.get("Failed", []):
                reason = (failed.get("Code", "Failed"), failed.get("Message", ""))
                if failed.get("SenderFault"):  # the message itself is wrong: resending won't help
                    self._fail(waiting.pop(failed["Id"]), *reason)
                else:
                    last[failed["Id"]] = reason
            if not waiting:
                return
            attempt += 1
            if attempt > MAX_ENTRY_RETRIES:
                for i, obj in waiting.items():
                    code, text = last.get(i, ("NoResult", "SQS answered neither way"))
                    self._fail(obj, code, f"{text} (after {MAX_ENTRY_RETRIES} resends)")
                return
            self._sleep(retry_delay(attempt))

    def _fail(self, obj: LogObject, code: str, message: str) -> None:
        self.summary.failed.append(Failure(obj, code, message))
        self._progress(1)


# --- the estimate --------------------------------------------------------------------------


def loader_seconds(objects: int, total_bytes: int, concurrency: int = LOADER_CONCURRENCY) -> float:
    """The estimated time the loader needs for these objects (see the constants above)."""
    work = total_bytes / LOADER_BYTES_PER_SECOND + objects * LOADER_SECONDS_PER_OBJECT
    return work / concurrency


def human_duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes < 1:
        return "under a minute"
    hours, minutes = divmod(minutes, 60)
    return f"about {hours} h {minutes} min" if hours else f"about {minutes} min"


def human_bytes(count: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if count < 1024 or unit == "TiB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    raise AssertionError("unreachable")


def client(session: Any, service: str, region: str, endpoint_url: str | None) -> Any:
    """A boto3 client in botocore's standard retry mode."""
    return session.client(service, region_name=region, endpoint_url=endpoint_url, config=RETRIES)
