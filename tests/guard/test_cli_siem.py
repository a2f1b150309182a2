"""``guard siem reload`` through the CLI entry point, against the session's moto server.

The world (five days of WAF and ALB log objects) is test_siem_reload's; each test writes its
own stack file naming its own queue, and pins "today" so the range checks do not move with the
calendar. The command builds its clients from the default session (dummy credentials in the
environment) and ``--endpoint-url``.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from guard import cli_siem
from guard.cli import main
from tests.guard.test_siem_reload import (
    ACCOUNT,
    ALB_BUCKET,
    DIRECT_BUCKET,
    FIREHOSE_BUCKET,
    REGION,
    RELOADED,
    TODAY,
    Interrupting,
    PartlyFailing,
    World,
    world,
)

__all__ = ["world"]  # the fixture, re-exported for pytest

STACK = "siemtest"
#: The range of RELOADED, as the command line writes it.
RANGE = ["--from", "2026-11-21", "--to", "2026-11-22"]


@pytest.fixture(autouse=True)
def pinned_today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_siem, "today", lambda: TODAY)


def stack_file(
    tmp_path: Path,
    queue_arn: str | None,
    *,
    bucket: str = FIREHOSE_BUCKET,
    delivery: str = "firehose",
    alb: bool = True,
) -> Path:
    logs: dict[str, Any] = {"bucket": bucket, "delivery": delivery}
    if alb:
        logs["alb"] = {"bucket": ALB_BUCKET}
    config: dict[str, Any] = {
        "aws:region": REGION,
        "guard:account_id": ACCOUNT,
        "guard:products": [
            {
                "name": "shop",
                "owner": "team-shop",
                "endpoints": [
                    {
                        "name": "web",
                        "kind": "alb",
                        "arn": f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/"
                        "app/shop-web/0123456789abcdef",
                    }
                ],
                "waf": {"rate_limits": [{"name": "login", "limit": 100, "path": "/login"}]},
            }
        ],
        "guard:logs": logs,
    }
    if queue_arn is not None:
        config["guard:siem"] = {
            "loader_queue_arn": queue_arn,
            "loader_role_arn": f"arn:aws:iam::{ACCOUNT}:role/siem-es-loader",
        }
    path = tmp_path / f"Pulumi.{STACK}.yaml"
    path.write_text(yaml.safe_dump({"config": config}), encoding="utf-8")
    return path


def reload(
    capsys: pytest.CaptureFixture[str], world: World, config: Path, *extra: str
) -> tuple[int, str, str]:
    argv = ["siem", "reload", "--stack", STACK, "--config-file", str(config)]
    code = main([*argv, "--endpoint-url", world.url, *extra])
    out, err = capsys.readouterr()
    return code, out, err


def expected_keys(world: World, *buckets: str) -> set[tuple[str, str]]:
    return {(b, k) for b in buckets for k in world.keys(b, RELOADED)}


def received_keys(world: World, url: str) -> list[tuple[str, str]]:
    from urllib.parse import unquote_plus

    return [
        (r["s3"]["bucket"]["name"], unquote_plus(r["s3"]["object"]["key"]))
        for body in world.received(url)
        for r in body["Records"]
    ]


def wrap_sqs(monkeypatch: pytest.MonkeyPatch, wrap: Callable[[Any], Any]) -> None:
    """The command's session, with its SQS client wrapped (to inject SQS's failures)."""

    class Session:
        def __init__(self) -> None:
            self._session = boto3.Session()

        def client(self, service: str, **kwargs: Any) -> Any:
            made = self._session.client(service, **kwargs)  # type: ignore[call-overload]
            return wrap(made) if service == "sqs" else made

    monkeypatch.setattr(cli_siem, "new_session", Session)


def test_dry_run_reports_and_sends_nothing(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    arn, url = world.queue("cli-dry")
    checkpoint = tmp_path / "c.jsonl"
    code, out, err = reload(
        capsys, world, stack_file(tmp_path, arn), *RANGE, "--checkpoint", str(checkpoint)
    )
    assert (code, err) == (0, "")
    assert f"stack {STACK}: 2026-11-21 to 2026-11-22 (UTC days), dry run" in out
    assert f"waf  s3://{FIREHOSE_BUCKET} (WAF via Firehose): 8 objects" in out
    assert f"alb  s3://{ALB_BUCKET} (ALB): 5 objects" in out
    assert "total: 13 objects" in out
    assert f"queue: {arn}" in out
    assert re.search(r"loader time: (about|under) .+ \(an estimate: 0\.58 MB/s", out)
    assert "nothing was sent (dry run); to send the 13 messages:" in out
    assert f"guard siem reload --stack {STACK} --from 2026-11-21 --to 2026-11-22" in out
    assert out.rstrip().endswith("--apply")
    assert world.received(url) == []
    assert not checkpoint.exists()


def test_apply_sends_the_days_objects_once(
    world: World,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    arn, url = world.queue("cli-apply")
    config = stack_file(tmp_path, arn)
    code, out, err = reload(capsys, world, config, *RANGE, "--apply")
    assert (code, err) == (0, "")
    assert f"sent 13 messages to {arn}; skipped 0 already sent" in out
    assert out.rstrip().endswith("failed 0")
    keys = received_keys(world, url)
    assert sorted(keys) == sorted(expected_keys(world, FIREHOSE_BUCKET, ALB_BUCKET))

    default = Path(".guard") / f"siem-reload-{STACK}-all-2026-11-21-2026-11-22.jsonl"
    assert len(default.read_text().splitlines()) == 1 + 13
    code, out, _ = reload(capsys, world, config, *RANGE, "--apply")
    assert code == 0 and "sent 0 messages" in out and "skipped 13 already sent" in out
    assert world.received(url) == []
    code, out, _ = reload(capsys, world, config, *RANGE)
    assert code == 0 and out.endswith(
        f"nothing to send: every object is in the checkpoint {default}\n"
    )


def test_direct_s3_delivery_and_one_log(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    arn, url = world.queue("cli-direct")
    config = stack_file(tmp_path, arn, bucket=DIRECT_BUCKET, delivery="s3")
    checkpoint = str(tmp_path / "c.jsonl")
    code, out, _ = reload(
        capsys, world, config, *RANGE, "--log", "waf", "--apply", "--checkpoint", checkpoint
    )
    assert code == 0
    assert f"sent 8 messages to {arn}" in out
    assert sorted(received_keys(world, url)) == sorted(expected_keys(world, DIRECT_BUCKET))


def test_an_interrupted_run_resumes(
    world: World,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    arn, url = world.queue("cli-resume")
    config = stack_file(tmp_path, arn)
    checkpoint = ["--checkpoint", str(tmp_path / "c.jsonl")]
    with monkeypatch.context() as patch:
        wrap_sqs(patch, lambda sqs: Interrupting(sqs, 1))
        code, out, _ = reload(capsys, world, config, *RANGE, "--apply", *checkpoint)
    assert code == 130
    assert "sent 10 messages" in out and "interrupted: rerun the same command" in out

    code, out, _ = reload(capsys, world, config, *RANGE, "--apply", *checkpoint)
    assert code == 0 and "sent 3 messages" in out and "skipped 10 already sent" in out
    keys = received_keys(world, url)
    assert len(keys) == len(set(keys)) == 13


def test_messages_that_fail_are_listed_and_exit_1(
    world: World,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    arn, url = world.queue("cli-fail")
    wrap_sqs(monkeypatch, lambda sqs: PartlyFailing(sqs, transient={"0"}, faulty={"3"}))
    config = stack_file(tmp_path, arn)
    code, out, _ = reload(
        capsys, world, config, *RANGE, "--apply", "--checkpoint", str(tmp_path / "c.jsonl")
    )
    assert code == 1
    # Entry 0 of the first batch fails once and goes through on the resend; entry 3 is a
    # sender fault, reported.
    assert "sent 12 messages" in out and "; failed 1\n" in out
    assert out.count("failed: s3://") == 1 and ": InvalidMessageContents: " in out
    assert len(world.received(url)) == 12


@pytest.mark.parametrize(
    ("dates", "message"),
    [
        (["--from", "2026-13-01", "--to", "2026-11-22"], "'2026-13-01' is not a date written"),
        (["--from", "21/11/2026", "--to", "2026-11-22"], "'21/11/2026' is not a date written"),
    ],
)
def test_bad_dates_are_usage_errors(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str], dates: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        reload(capsys, world, stack_file(tmp_path, None), *dates)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("dates", "message"),
    [
        (
            ["--from", "2026-11-22", "--to", "2026-11-21"],
            "--from 2026-11-22 is after --to 2026-11-21: the range is empty",
        ),
        (["--from", "2026-11-21", "--to", "2026-11-26"], "--to 2026-11-26 is in the future"),
        (["--from", "2024-01-01", "--to", "2026-11-21"], "one run takes at most 400"),
    ],
)
def test_bad_ranges_exit_2_with_one_line(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str], dates: list[str], message: str
) -> None:
    arn, _ = world.queue("cli-range")
    code, out, err = reload(capsys, world, stack_file(tmp_path, arn), *dates)
    assert (code, out) == (2, "")
    assert err.startswith("guard siem reload: ") and message in err
    assert err.count("\n") == 1


def test_a_range_without_objects_is_a_plain_report(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    arn, _ = world.queue("cli-empty")
    code, out, err = reload(
        capsys, world, stack_file(tmp_path, arn), "--from", "2026-10-01", "--to", "2026-10-02"
    )
    assert (code, err) == (0, "")
    assert out == (
        f"no log objects from 2026-10-01 to 2026-10-02 (UTC days) in s3://{FIREHOSE_BUCKET} and "
        f"s3://{ALB_BUCKET}: nothing to send\n"
    )


def test_without_a_loader_queue_it_says_which_key_to_set(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = reload(capsys, world, stack_file(tmp_path, None), *RANGE)
    assert (code, out) == (2, "")
    assert "set guard:siem.loader_queue_arn" in err and err.count("\n") == 1


def test_alb_logs_need_their_bucket(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    arn, _ = world.queue("cli-noalb")
    config = stack_file(tmp_path, arn, alb=False)
    code, _, err = reload(capsys, world, config, *RANGE, "--log", "alb")
    assert code == 2 and "guard:logs.alb is not set" in err


def test_aws_errors_are_one_line_naming_the_call(
    world: World,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    missing = f"arn:aws:sqs:{REGION}:{ACCOUNT}:cli-no-such-queue"
    code, out, err = reload(capsys, world, stack_file(tmp_path, missing), *RANGE)
    assert (code, out) == (2, "")
    assert err == (
        f"guard siem reload: sqs GetQueueUrl on {missing}: the queue does not exist "
        "(guard:siem.loader_queue_arn)\n"
    )

    arn, _ = world.queue("cli-nobucket")
    config = stack_file(tmp_path, arn, bucket="guard-test-no-such-bucket", alb=False)
    code, _, err = reload(capsys, world, config, *RANGE)
    assert code == 2 and "s3://guard-test-no-such-bucket/waf/: the bucket does not exist" in err

    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    code, _, err = reload(capsys, world, stack_file(tmp_path, arn), *RANGE)
    assert code == 2 and "no AWS credentials" in err and err.count("\n") == 1


def test_an_invalid_stack_file_sends_nothing(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "Pulumi.bad.yaml"
    config.write_text("config:\n  aws:region: nowhere\n", encoding="utf-8")
    code, _, err = reload(capsys, world, config, *RANGE)
    assert code == 2 and err.rstrip().endswith("nothing was sent")


def test_rate_must_be_positive(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        reload(capsys, world, stack_file(tmp_path, None), *RANGE, "--rate", "0")
    assert exited.value.code == 2
    assert "'0' is not a positive number" in capsys.readouterr().err


def test_help_lists_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["siem", "reload", "--help"])
    text = capsys.readouterr().out
    codes = dict(re.findall(r"^  (\d+) +(.*)$", text.split("exit codes:\n", 1)[1], re.MULTILINE))
    assert set(codes) == {"0", "1", "2", "70", "130"}
    assert codes["1"].startswith("some messages were not sent")
    assert "--apply" in text and "checkpoint" in text and "dry run" in text
    with pytest.raises(SystemExit):
        main(["--help"])
    assert re.search(r"^    siem\b", capsys.readouterr().out, re.MULTILINE)


class Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


def test_progress_only_on_a_terminal_or_for_long_runs() -> None:
    quiet = Stream(tty=False)
    progress = cli_siem.Progress(cli_siem.LONG_RUN - 1, quiet)
    progress.update(500)
    progress.close()
    assert quiet.getvalue() == ""

    now = [0.0]
    log = Stream(tty=False)
    progress = cli_siem.Progress(5000, log, clock=lambda: now[0])
    progress.update(10)
    now[0] = cli_siem.PROGRESS_EVERY_SECONDS
    progress.update(10)
    progress.update(10)  # within the next interval: no line
    assert log.getvalue() == "sent 20 of 5,000\n"

    terminal = Stream(tty=True)
    progress = cli_siem.Progress(30, terminal)
    progress.update(30)
    progress.close()
    assert "sending" in terminal.getvalue() and "30/30" in terminal.getvalue()
