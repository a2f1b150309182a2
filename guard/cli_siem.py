"""``guard siem reload``: replay a date range of WAF and ALB log objects into the SIEM loader's
SQS queue, one S3 event notification per object, as if S3 had just written them.

The arguments (:func:`add_siem_parser`, called by :mod:`guard.cli`) and the run
(:func:`run_siem`): the stack's config, the listing, the dry-run report or the send with its
progress and summary. The engine is :mod:`guard.siem_reload`; the message :mod:`guard.siem_events`.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from guard.cli_args import day
from guard.exit_codes import EXIT_CONFIG, EXIT_OK, EXIT_POLICY

if TYPE_CHECKING:  # boto3, botocore and tqdm load only when the command runs
    import boto3

    from guard.config import StackConfig
    from guard.siem_reload import Checkpoint, LogObject, LogSource, Summary

#: What a shell reports for a process stopped by Ctrl-C (128 + SIGINT).
EXIT_INTERRUPTED = 130
#: Without a terminal, a run of at least this many messages prints a progress line now and then.
LONG_RUN = 1000
PROGRESS_EVERY_SECONDS = 30.0
#: Failed objects listed one per line; the rest are counted.
MAX_LISTED_FAILURES = 20

RELOAD_DESCRIPTION = """\
Replay the WAF log objects (guard:logs.bucket) and ALB access log objects (guard:logs.alb.bucket)
of the UTC days --from to --to into the SIEM loader's SQS queue (guard:siem.loader_queue_arn):
one message per object, the S3 event notification S3 sends when an object is created, so the
loader (SIEM on Amazon OpenSearch Service's es-loader) indexes them again. Objects are listed
per day by key prefix, never the whole bucket. Without --apply it only lists them and reports
the count, the size, an estimate of the loader's time and the queue; nothing is sent.

With --apply every message is sent in batches of 10; the objects that reached the queue are
recorded in a checkpoint file after each batch, so an interrupted run, rerun with the same
arguments, sends only what is left. Loading an object twice rewrites the same documents (the
loader derives its document IDs from the log lines).
"""

RELOAD_EPILOG = """\
checkpoint (--checkpoint, default .guard/siem-reload-<stack>-<log>-<from>-<to>.jsonl):
  <log> is waf, alb or all. JSON lines: the queue first, then [bucket, key] per object sent,
  appended and fsynced after each batch. Remove it to send everything again.

exit codes:
  0   done: every message was sent (or skipped as already sent), a dry run, or no objects
  1   some messages were not sent (each listed with its reason); a rerun retries them
  2   usage or configuration error (a bad date, --from after --to, --to in the future, a range
      over 400 days, guard:siem.loader_queue_arn not set) or an AWS error (no credentials,
      access denied, a missing bucket or queue), on one line naming the call and resource
  130 interrupted (Ctrl-C): what was sent is in the checkpoint; rerun to send the rest
"""


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of messages/second")
    return value


def add_siem_parser(
    commands: Any, stack_help: str, config_file_help: str, internal_error_line: str
) -> None:
    """``guard siem``'s arguments (called by :mod:`guard.cli`)."""
    raw = argparse.RawDescriptionHelpFormatter
    siem = commands.add_parser(
        "siem",
        help="work with the SIEM that indexes the stack's logs (guard siem reload)",
        description="Work with the SIEM on Amazon OpenSearch Service that indexes the logs.",
    )
    actions = siem.add_subparsers(
        dest="siem_command", required=True, title="commands", metavar="COMMAND"
    )
    reload = actions.add_parser(
        "reload",
        help="replay a date range of WAF/ALB log objects into the SIEM loader's queue",
        description=RELOAD_DESCRIPTION,
        epilog=RELOAD_EPILOG + internal_error_line,
        formatter_class=raw,
    )
    reload.add_argument("--stack", required=True, help=stack_help)
    reload.add_argument("--config-file", type=Path, metavar="PATH", help=config_file_help)
    reload.add_argument(
        "--from",
        dest="start",
        required=True,
        type=day,
        metavar="YYYY-MM-DD",
        help="first UTC day (included)",
    )
    reload.add_argument(
        "--to",
        dest="end",
        required=True,
        type=day,
        metavar="YYYY-MM-DD",
        help="last UTC day (included; not after today)",
    )
    reload.add_argument(
        "--log",
        choices=("waf", "alb"),
        help="only these logs (default: WAF, and ALB when guard:logs.alb is set)",
    )
    reload.add_argument("--apply", action="store_true", help="send the messages (default: dry run)")
    reload.add_argument(
        "--rate",
        type=_rate,
        metavar="N",
        help="send at most N messages per second (default: as fast as SQS takes them); keeps "
        "live logs from waiting behind a long reload",
    )
    reload.add_argument(
        "--checkpoint", type=Path, metavar="PATH", help="the checkpoint file (see below)"
    )
    reload.add_argument(
        "--endpoint-url", help="send every AWS call to this endpoint (default: AWS's own)"
    )


def new_session() -> boto3.Session:
    """The boto3 session the reload runs with (the standard credential chain)."""
    import boto3

    return boto3.Session()


def today() -> date:
    return datetime.now(UTC).date()


def run_siem(args: argparse.Namespace) -> int:
    """``guard siem reload``: 0 done, 1 some messages failed, 2 usage/config/AWS error."""
    from guard.siem_reload import ReloadError

    try:
        return _reload(args)
    except ReloadError as error:
        sys.stdout.flush()
        print(f"guard siem reload: {error}", file=sys.stderr)
        return EXIT_CONFIG


def _reload(args: argparse.Namespace) -> int:
    from guard.config import ConfigError, load_stack_file
    from guard.config.loader import stack_file_for
    from guard.siem_reload import (
        Checkpoint,
        Lister,
        RateLimiter,
        ReloadError,
        Sender,
        check_range,
        client,
        default_checkpoint,
        message_for,
        queue_parts,
        queue_url,
    )

    days = check_range(args.start, args.end, today())
    path = args.config_file or Path(stack_file_for(args.stack))
    try:
        config = load_stack_file(path).config
    except ConfigError as error:
        print(error.render(), file=sys.stderr)
        print("nothing was sent", file=sys.stderr)
        return EXIT_CONFIG
    problem, sources, queue_arn = _inputs(config, args.log, path)
    if problem:
        print(f"guard siem reload: {problem}", file=sys.stderr)
        return EXIT_CONFIG
    queue_region = queue_parts(queue_arn)[0]
    checkpoint_path = args.checkpoint or default_checkpoint(
        args.stack, args.log or "all", args.start, args.end
    )
    checkpoint = Checkpoint(checkpoint_path, queue_arn)
    session = new_session()
    s3 = client(session, "s3", config.region, args.endpoint_url)
    sqs = client(session, "sqs", queue_region, args.endpoint_url)
    url = queue_url(sqs, queue_arn)
    objects = Lister(s3).list_objects(sources, days)
    out = sys.stdout
    span = f"{args.start} to {args.end} (UTC days)"
    if not objects:
        out.write(f"no log objects from {span} in {_buckets(sources)}: nothing to send\n")
        return EXIT_OK
    _report(out, args, sources, objects, checkpoint, queue_arn, span)
    if not args.apply:
        waiting = sum(1 for o in objects if not checkpoint.is_sent(o))
        if not waiting:
            out.write(f"nothing to send: every object is in the checkpoint {checkpoint.path}\n")
            return EXIT_OK
        out.write(f"nothing was sent (dry run); to send the {waiting:,} messages:\n")
        out.write(f"  {_apply_command(args)}\n")
        return EXIT_OK
    progress = Progress(sum(1 for o in objects if not checkpoint.is_sent(o)), sys.stderr)
    sender = Sender(
        sqs,
        url,
        checkpoint,
        RateLimiter(args.rate),
        lambda obj: message_for(obj, config.region, config.account_id),
        progress=progress.update,
    )
    try:
        sender.send(objects)
    except KeyboardInterrupt:
        progress.close()
        _summary(out, sender.summary, queue_arn, checkpoint.path)
        out.write("interrupted: rerun the same command to send the rest\n")
        return EXIT_INTERRUPTED
    except ReloadError:
        progress.close()
        _summary(out, sender.summary, queue_arn, checkpoint.path)
        raise
    finally:
        progress.close()
        checkpoint.close()
    _summary(out, sender.summary, queue_arn, checkpoint.path)
    return EXIT_POLICY if sender.summary.failed else EXIT_OK


def _inputs(
    config: StackConfig, log: str | None, path: Path
) -> tuple[str | None, list[LogSource], str]:
    """``(problem, sources, queue ARN)`` from the stack's config; ``problem`` for exit 2."""
    from guard.siem_reload import LogSource

    siem = config.siem
    queue = siem.loader_queue_arn if siem is not None else None
    if queue is None:
        return (
            f"{path}: set guard:siem.loader_queue_arn (the SIEM loader's SQS queue, "
            "arn:aws:sqs:<region>:<account>:<name>) to reload logs into it",
            [],
            "",
        )
    logs = config.logs
    sources = []
    if log in (None, "waf"):
        if logs is None:
            return f"{path}: guard:logs is not set: the stack keeps no WAF logs", [], queue
        sources.append(
            LogSource("waf", logs.bucket, logs.delivery, config.account_id, "guard:logs.bucket")
        )
    if log in (None, "alb"):
        alb = logs.alb if logs is not None else None
        if alb is not None:
            sources.append(
                LogSource("alb", alb.bucket, "alb", config.account_id, "guard:logs.alb.bucket")
            )
        elif log == "alb":
            return f"{path}: guard:logs.alb is not set: the stack keeps no ALB logs", [], queue
    return None, sources, queue


def _buckets(sources: Sequence[LogSource]) -> str:
    return " and ".join(f"s3://{s.bucket}" for s in sources)


def _report(
    out: IO[str],
    args: argparse.Namespace,
    sources: Sequence[LogSource],
    objects: Sequence[LogObject],
    checkpoint: Checkpoint,
    queue_arn: str,
    span: str,
) -> None:
    from guard.siem_reload import (
        ARCHIVED,
        LOADER_BYTES_PER_SECOND,
        LOADER_CONCURRENCY,
        LOADER_SECONDS_PER_OBJECT,
        human_bytes,
        human_duration,
        loader_seconds,
    )

    mode = "" if args.apply else ", dry run"
    out.write(f"guard siem reload, stack {args.stack}: {span}{mode}\n")
    for source in sources:
        mine = [o for o in objects if o.log == source.log]
        layout = {"firehose": "WAF via Firehose", "s3": "WAF direct to S3", "alb": "ALB"}
        size = sum(o.size for o in mine)
        out.write(
            f"  {source.log:<4} s3://{source.bucket} ({layout[source.layout]}): "
            f"{len(mine):,} objects, {human_bytes(size)}\n"
        )
    waiting = [o for o in objects if not checkpoint.is_sent(o)]
    total = sum(o.size for o in objects)
    out.write(f"  total: {len(objects):,} objects, {human_bytes(total)}\n")
    if len(waiting) < len(objects):
        out.write(
            f"  already sent: {len(objects) - len(waiting):,} (checkpoint {checkpoint.path})\n"
        )
    archived = sum(1 for o in waiting if o.storage_class in ARCHIVED)
    if archived:
        out.write(
            f"  archived: {archived:,} objects in Glacier Flexible Retrieval or Deep Archive "
            "cannot be loaded until restored; they are reported as failed\n"
        )
    out.write(f"  queue: {queue_arn}\n")
    seconds = loader_seconds(len(waiting), sum(o.size for o in waiting))
    out.write(
        f"  loader time: {human_duration(seconds)} (an estimate: "
        f"{LOADER_BYTES_PER_SECOND / 1e6:.2f} MB/s plus {LOADER_SECONDS_PER_OBJECT} s per object "
        f"per loader,\n    {LOADER_CONCURRENCY} loaders at once: the SIEM's default reserved "
        "concurrency)\n"
    )


def _apply_command(args: argparse.Namespace) -> str:
    words = ["guard", "siem", "reload", "--stack", args.stack]
    words += ["--from", str(args.start), "--to", str(args.end)]
    for flag, value in (
        ("--log", args.log),
        ("--config-file", args.config_file),
        ("--rate", args.rate),
        ("--checkpoint", args.checkpoint),
        ("--endpoint-url", args.endpoint_url),
    ):
        if value is not None:
            words += [flag, f"{value:g}" if isinstance(value, float) else str(value)]
    return shlex.join([*words, "--apply"])


def _summary(out: IO[str], summary: Summary, queue_arn: str, checkpoint: Path) -> None:
    out.write(
        f"sent {summary.sent:,} messages to {queue_arn}; skipped {summary.skipped:,} already "
        f"sent (checkpoint {checkpoint}); failed {len(summary.failed):,}\n"
    )
    for failure in summary.failed[:MAX_LISTED_FAILURES]:
        obj = failure.obj
        out.write(f"  failed: s3://{obj.bucket}/{obj.key}: {failure.code}: {failure.message}\n")
    if len(summary.failed) > MAX_LISTED_FAILURES:
        out.write(f"  ... and {len(summary.failed) - MAX_LISTED_FAILURES:,} more failed\n")


class Progress:
    """A tqdm bar on stderr when it is a terminal; otherwise, for a long run only, a plain line
    every :data:`PROGRESS_EVERY_SECONDS` (CI logs); short runs without a terminal stay quiet."""

    def __init__(self, total: int, stream: IO[str], clock: Any = time.monotonic) -> None:
        self._total, self._stream, self._clock = total, stream, clock
        self._done = 0
        self._bar: Any = None
        self._periodic = False
        self._next = 0.0
        if stream.isatty() and total:
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit="msg", file=stream, desc="sending")
        elif total >= LONG_RUN:
            self._periodic = True
            self._next = clock() + PROGRESS_EVERY_SECONDS

    def update(self, count: int) -> None:
        self._done += count
        if self._bar is not None:
            self._bar.update(count)
        elif self._periodic and self._clock() >= self._next:
            self._next = self._clock() + PROGRESS_EVERY_SECONDS
            self._stream.write(f"sent {self._done:,} of {self._total:,}\n")
            self._stream.flush()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
