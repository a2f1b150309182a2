"""DDoS escalation drill: run the SRT escalation Lambda against a local moto sandbox.

``guard drill ddos --stack NAME --endpoint PRODUCT/ENDPOINT`` calls :func:`ddos_command`. The
drill never claims what the deployed stack would not do: it runs the stack's own Pulumi program
under mocks and takes what it simulates from the plan (:mod:`guard.drill_plan`): the endpoint's
``DDoSDetected`` alarm (name, region, the topics it notifies) and the escalation function
subscribed to that topic, with its environment variables as deployed. An endpoint without an
alarm, or an alarm no escalation function listens to, is refused (exit 2) with the reason.

It then builds the exact SNS event the function receives when that alarm goes from OK to ALARM,
invokes the real handler in-process against a moto server bound to 127.0.0.1 with the function's
environment, and prints the support case it opened, the earlier case it deduplicated against, or
(``support_case: false``) that it would not open one.

No real AWS endpoint is ever contacted: every ``AWS_*`` variable is removed for the duration of
the drill, the config and credentials files are pointed at ``/dev/null``, dummy credentials are
set, a fresh boto3 default session is used, and the drill refuses to invoke the handler unless the
clients the handler builds resolve to a loopback endpoint. The process environment and boto3's
default session are restored afterwards.

Between runs the drill's support cases are kept in ``state_path`` (for instance
``.guard/drill/<stack>.json``, gitignored), so a second run shows the deduplication; deleting the
file (``--fresh``) forgets them. moto's CreateCase always stamps the wall-clock time and a random
case id, so neither replaying the API calls nor moto's recorder can restore a case "opened 3 hours
ago". The drill therefore re-seeds moto's in-memory Support backend directly (the moto server runs
in this process) with each recorded case's original id, subject and creation time. The handler
then finds them through the real DescribeCases API call, exactly as it would on AWS.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import ipaddress
import json
import logging
import os
import sys
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

import boto3

from functions.srt_escalation import handler
from guard.drill_plan import DrillRefusal, DrillTarget, alarm_time, build_alarm_event

STATE_VERSION = 1
EXIT_OK, EXIT_FAILED, EXIT_REFUSED = 0, 1, 2
_QUIET_LOGGERS = ("werkzeug", "flask.app")
#: The variables the handler reads (its module docstring). A Lambda sees only its own
#: environment, so the drill hides these from the shell that runs it and sets the function's.
HANDLER_VARIABLES = (
    "SUPPORT_SEVERITY",
    "DEDUPE_HOURS",
    "CC_EMAILS",
    "SUPPORT_CASE_ENABLED",
    "SUPPORT_LANGUAGE",
    "LOG_LEVEL",
)


class DrillError(Exception):
    """A drill precondition failed (state file, sandbox, safety check)."""


@dataclass(frozen=True)
class _LambdaContext:
    """The two attributes of the Lambda context object the handler reads."""

    function_name: str
    aws_request_id: str


# --------------------------------------------------------------------------------------------
# State file.
# --------------------------------------------------------------------------------------------


def _load_state(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DrillError(f"cannot read drill state {path}: {exc}") from exc
    cases = doc.get("cases") if isinstance(doc, dict) else None
    if doc.get("version") != STATE_VERSION or not isinstance(cases, list):
        raise DrillError(f"drill state {path} has an unknown format (expected version 1)")
    for case in cases:
        if not isinstance(case, dict) or not all(
            isinstance(case.get(k), str) for k in ("caseId", "subject", "timeCreated")
        ):
            raise DrillError(f"drill state {path} holds a malformed case: {case!r}")
    return cases


def _save_state(path: Path, stack: str, cases: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    doc = {"version": STATE_VERSION, "stack": stack, "cases": cases}
    tmp.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


# --------------------------------------------------------------------------------------------
# Sandbox plumbing.
# --------------------------------------------------------------------------------------------


def _is_loopback_url(url: str | None) -> bool:
    if not url:
        return False
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https"):
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@contextlib.contextmanager
def _sandbox_env(overrides: dict[str, str]) -> Iterator[None]:
    """Hide every AWS_* and handler variable, apply ``overrides``, use a fresh boto3 session;
    undo all of it afterwards."""
    saved = dict(os.environ)
    saved_session = boto3.DEFAULT_SESSION
    try:
        for key in list(os.environ):
            if key.startswith("AWS_") or key in HANDLER_VARIABLES:
                del os.environ[key]
        os.environ.update(overrides)
        # A default session created earlier in this process has cached its config file and
        # credentials; a fresh one sees only the sandbox environment.
        boto3.DEFAULT_SESSION = None
        yield
    finally:
        boto3.DEFAULT_SESSION = saved_session
        for key in set(os.environ) - set(saved):
            del os.environ[key]
        for key, value in saved.items():
            if os.environ.get(key) != value:
                os.environ[key] = value


@contextlib.contextmanager
def _quiet_moto_server() -> Iterator[None]:
    # moto answers unimplemented Shield calls with a 500 and werkzeug logs the traceback; the
    # handler already reports "attack details unavailable", so the drill output stays readable.
    loggers = [logging.getLogger(name) for name in _QUIET_LOGGERS]
    levels = [lg.level for lg in loggers]
    try:
        for lg in loggers:
            lg.setLevel(logging.CRITICAL)
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def _reset_moto(url: str) -> None:
    # moto keeps its backends in module globals shared by every server in this process; start
    # each drill from empty so only the recorded cases exist.
    if not _is_loopback_url(url):
        raise DrillError(f"refusing to reset non-loopback endpoint {url}")
    # S310: the URL was just checked to be http(s) on a loopback host.
    request = urllib.request.Request(f"{url}/moto-api/reset", method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        response.read()


def _seed_cases(backend: Any, case_type: Any, cases: list[dict[str, Any]]) -> None:
    for rec in cases:
        case = case_type(
            case_id=rec["caseId"],
            subject=rec["subject"],
            service_code=rec.get("serviceCode"),
            category_code=rec.get("categoryCode"),
            severity_code=rec.get("severityCode"),
            communication_body=rec.get("communicationBody", ""),
            cc_email_addresses=rec.get("ccEmailAddresses", []),
            language=rec.get("language", "en"),
            attachment_set_id=None,
        )
        # The point of seeding through the backend: keep the original creation time.
        case.time_created = rec["timeCreated"]
        backend.cases[rec["caseId"]] = case


def _case_record(
    case: Any, *, created: datetime, product: str, endpoint: str, arn: str
) -> dict[str, Any]:
    # Read what moto stored from CreateCase, before any DescribeCases call: moto's DescribeCases
    # advances each case's status and severity on every read (a fake lifecycle).
    return {
        "caseId": case.case_id,
        "subject": case.subject,
        "serviceCode": case.service_code,
        "categoryCode": case.category_code,
        "severityCode": case.severity_code,
        "ccEmailAddresses": list(case.cc_email_addresses or []),
        "language": case.language,
        "communicationBody": case.communication_body,
        # moto stamps wall-clock time; the drill's clock (possibly simulated) is what the handler
        # compared against, so the case is recorded at that time.
        "timeCreated": handler.format_support_time(created),
        "product": product,
        "endpoint": endpoint,
        "resourceArn": arn,
    }


# --------------------------------------------------------------------------------------------
# Output.
# --------------------------------------------------------------------------------------------


def _print_logs(out: TextIO, captured: str) -> None:
    lines = [line for line in captured.splitlines() if line.strip()]
    print("Lambda log (JSON lines):", file=out)
    for line in lines or ["(nothing logged)"]:
        print(f"  {line}", file=out)
    print(file=out)


def _print_case(out: TextIO, rec: dict[str, Any]) -> None:
    cc = ", ".join(rec.get("ccEmailAddresses") or []) or "(none)"
    print(f"  case id    {rec['caseId']}", file=out)
    print(f"  opened     {rec['timeCreated']}", file=out)
    print(f"  subject    {rec['subject']}", file=out)
    print(f"  severity   {rec.get('severityCode')}", file=out)
    print(f"  service    {rec.get('serviceCode')} / category {rec.get('categoryCode')}", file=out)
    print(f"  language   {rec.get('language')}", file=out)
    print(f"  cc         {cc}", file=out)
    print("  body", file=out)
    for line in str(rec.get("communicationBody", "")).splitlines():
        print(f"    | {line}", file=out)


def _age(clock: datetime, time_created: str) -> str:
    created = handler.parse_case_time(time_created)
    if created is None:
        return "at an unknown time"
    minutes = int((clock - created).total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60} min ago"


def _case_enabled(environment: dict[str, str]) -> bool:
    # The handler's own default (true) when the variable is absent.
    return environment.get("SUPPORT_CASE_ENABLED", "true").strip().lower() != "false"


def _print_header(
    out: TextIO, *, target: DrillTarget, url: str, clock: datetime, state_path: Path, seeded: int
) -> None:
    alarm, function = target.alarm, target.function
    variables = " ".join(f"{k}={v}" for k, v in sorted(function.environment.items()))
    print(
        f"guard drill ddos: stack {target.stack}, endpoint {target.product}/{target.endpoint}",
        file=out,
    )
    print(f"  resource   {target.resource_arn}", file=out)
    print(
        f"  alarm      {alarm.name} ({alarm.region}), OK -> ALARM at {alarm_time(clock)}",
        file=out,
    )
    print(f"  notifies   {', '.join(alarm.actions)}", file=out)
    if alarm.notified:
        print(f"             which reach {', '.join(alarm.notified)}", file=out)
    print(
        f"  function   {function.name} ({function.region}), subscribed to {function.topic_arn}",
        file=out,
    )
    print(f"  env        {variables or '(none)'}", file=out)
    print("             (alarm, topic and function as the stack's plan declares them)", file=out)
    print(f"  sandbox    moto server {url} (no real AWS endpoint is contacted)", file=out)
    if _case_enabled(function.environment):
        print(
            "  note       moto does not implement Shield ListAttacks/DescribeAttack, so the body "
            "says attack details are unavailable; on AWS the Lambda fills them in",
            file=out,
        )
    print(f"  state      {state_path} ({seeded} earlier drill case(s) re-seeded)", file=out)
    print(file=out)


def _print_not_opened(out: TextIO, target: DrillTarget, summary: dict[str, Any]) -> None:
    environment = target.function.environment
    print(
        f"Result: NO CASE - {target.function.name} would not open a case (support_case: false)",
        file=out,
    )
    print(
        "  As deployed it runs with SUPPORT_CASE_ENABLED="
        f"{environment.get('SUPPORT_CASE_ENABLED', '')}: it logged the case it would open (see "
        "its log above) and made no Support API call.",
        file=out,
    )
    cc = ", ".join(c for c in environment.get("CC_EMAILS", "").split(",") if c) or "(none)"
    for item in summary["would_open"]:
        print(f"  subject    {item['subject']}", file=out)
    print(f"  severity   {environment.get('SUPPORT_SEVERITY', '(handler default)')}", file=out)
    print(f"  cc         {cc}", file=out)
    reached = ", ".join(target.alarm.notified) or "no person (no Slack channel or subscriber)"
    print(
        f"  The alarm still reaches {reached}; during a real event someone opens the case by hand "
        "(docs/shield.md), or set support_case: true with Business or Enterprise Support.",
        file=out,
    )


# --------------------------------------------------------------------------------------------
# Entry points.
# --------------------------------------------------------------------------------------------


def run_ddos_drill(
    target: DrillTarget, *, state_path: Path, out: TextIO, now: datetime | None = None
) -> int:
    """Run the DDoS escalation drill for the alarm and function of ``target``.

    Returns 0 when the handler did what the drill reports (opened a case, deduplicated, or with
    ``SUPPORT_CASE_ENABLED=false`` only logged it), 1 on failure. ``now`` is the drill's clock
    (default: the current time); naive values are taken as UTC.
    """
    clock = now if now is not None else datetime.now(UTC)
    clock = (clock if clock.tzinfo else clock.replace(tzinfo=UTC)).astimezone(UTC)
    try:
        from moto.server import ThreadedMotoServer
        from moto.support.models import SupportCase, support_backends
    except ImportError:
        print(
            "drill failed: the drill needs moto's server extra (pip install 'moto[server]', "
            "part of guard's dev dependencies)",
            file=out,
        )
        return EXIT_FAILED
    try:
        recorded = _load_state(state_path)
    except DrillError as exc:
        print(f"drill failed: {exc}. Delete it (guard drill ddos --fresh) to start over.", file=out)
        return EXIT_FAILED

    function = target.function
    event = build_alarm_event(target.alarm, topic_arn=function.topic_arn, when=clock)
    context = _LambdaContext(
        function_name=f"{function.name} (drill)", aws_request_id=str(uuid.uuid4())
    )
    account_id = target.account_id
    # Lambda reserves AWS_* names, so a deployed function cannot have them; never let one steer
    # the sandbox's clients.
    function_env = {k: v for k, v in function.environment.items() if not k.startswith("AWS_")}

    with _quiet_moto_server():
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            url = f"http://{host}:{port}"
            if not _is_loopback_url(url):
                print(f"drill refused: sandbox endpoint {url} is not loopback", file=out)
                return EXIT_FAILED
            env = {
                # The function's environment as the plan declares it, nothing made up.
                **function_env,
                "AWS_ENDPOINT_URL": url,
                "AWS_ACCESS_KEY_ID": "drill",
                "AWS_SECRET_ACCESS_KEY": "drill",
                "AWS_DEFAULT_REGION": handler.SUPPORT_REGION,
                "AWS_REGION": function.region or handler.SUPPORT_REGION,
                "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                "AWS_EC2_METADATA_DISABLED": "true",
                "AWS_LAMBDA_FUNCTION_NAME": context.function_name,
                # moto files the cases under the stack's account, like AWS would.
                "MOTO_ACCOUNT_ID": account_id,
            }
            with _sandbox_env(env):
                return _drill_in_sandbox(
                    url=url,
                    out=out,
                    event=event,
                    context=context,
                    clock=clock,
                    recorded=recorded,
                    # Looked up after the reset inside: moto's reset replaces backend objects.
                    backend_of=lambda: support_backends[account_id][handler.SUPPORT_REGION],
                    case_type=SupportCase,
                    target=target,
                    state_path=state_path,
                )
        finally:
            server.stop()


def _drill_in_sandbox(
    *,
    url: str,
    out: TextIO,
    event: dict[str, Any],
    context: _LambdaContext,
    clock: datetime,
    recorded: list[dict[str, Any]],
    backend_of: Callable[[], Any],
    case_type: Any,
    target: DrillTarget,
    state_path: Path,
) -> int:
    # Check what the handler's own client factories resolve to, after every override boto3
    # honours (service-specific variables, config file, ignore flags) has been applied.
    for client in (handler.support_client(), handler.shield_client()):
        if not _is_loopback_url(client.meta.endpoint_url):
            print(
                f"drill refused: the handler's {client.meta.service_model.service_name} client "
                f"would call {client.meta.endpoint_url}, not the loopback sandbox; no call made",
                file=out,
            )
            return EXIT_FAILED
    try:
        _reset_moto(url)
    except (DrillError, OSError) as exc:
        print(f"drill failed: cannot reset the moto sandbox: {exc}", file=out)
        return EXIT_FAILED
    backend = backend_of()
    _seed_cases(backend, case_type, recorded)
    _print_header(
        out, target=target, url=url, clock=clock, state_path=state_path, seeded=len(recorded)
    )

    captured = io.StringIO()
    try:
        with contextlib.redirect_stdout(captured):
            settings = handler.load_settings()
            summary = handler.handle(event, settings=settings, now=clock, context=context)
    except Exception as exc:
        _print_logs(out, captured.getvalue())
        print(f"Result: FAILED - the handler raised {type(exc).__name__}: {exc}", file=out)
        print("  In AWS, Lambda would retry this event and then send it to the DLQ.", file=out)
        return EXIT_FAILED
    _print_logs(out, captured.getvalue())

    if summary["would_open"] and not settings.case_enabled:
        _print_not_opened(out, target, summary)
        return EXIT_OK
    new_records = [
        _case_record(
            backend.cases[item["caseId"]],
            created=clock,
            product=target.product,
            endpoint=target.endpoint,
            arn=item["resourceArn"],
        )
        for item in summary["opened"]
    ]
    if new_records:
        _save_state(state_path, target.stack, recorded + new_records)
        for rec in new_records:
            print("Result: support case OPENED", file=out)
            _print_case(out, rec)
    for item in summary["deduplicated"]:
        earlier = next((c for c in recorded if c["caseId"] == item["caseId"]), None)
        print(
            f"Result: DEDUPLICATED - case {item['caseId']} for this resource was opened "
            f"{_age(clock, item['timeCreated'])}, within the {settings.dedupe_hours} h window; "
            "no new case.",
            file=out,
        )
        if earlier is not None:
            _print_case(out, earlier)
        print(
            f"  (forget the drill's earlier cases with --fresh, i.e. delete {state_path})",
            file=out,
        )
    if not new_records and not summary["deduplicated"]:
        print(
            f"Result: FAILED - the handler neither opened nor deduplicated a case: {summary}",
            file=out,
        )
        return EXIT_FAILED
    return EXIT_OK


def ddos_command(args: argparse.Namespace) -> int:
    """``guard drill ddos``: plan the stack, read the endpoint's escalation path, rehearse it.

    ``args``: ``stack``, ``endpoint`` (``PRODUCT/ENDPOINT``), ``config_file`` (or None),
    ``state_dir``, ``fresh``. Returns 0 (the drill showed what the stack does), 1 (the handler
    failed, or the sandbox was unsafe) or 2 (config error, unknown endpoint, or the stack would
    not escalate this endpoint: nothing is run, the reason goes to stderr).
    """
    from guard.config import ConfigError, load_stack_file
    from guard.config.errors import StackNameError
    from guard.config.loader import stack_file_for
    from guard.drill_plan import drill_target
    from guard.plan import run_program

    path = args.config_file or Path(stack_file_for(args.stack))
    try:
        loaded = load_stack_file(path)
    except ConfigError as error:
        print(error.render(), file=sys.stderr)
        return EXIT_REFUSED
    config = loaded.config
    product_name, _, endpoint_name = args.endpoint.partition("/")
    product = next((p for p in config.products if p.name == product_name), None)
    endpoint = (
        next((e for e in product.endpoints if e.name == endpoint_name), None) if product else None
    )
    if product is None or endpoint is None:
        known = ", ".join(f"{p.name}/{e.name}" for p in config.products for e in p.endpoints)
        print(
            f"guard drill: no endpoint {args.endpoint!r} in {path}; endpoints: {known}",
            file=sys.stderr,
        )
        return EXIT_REFUSED
    try:
        plan = run_program(loaded, args.stack)
    except StackNameError as error:
        print(f"{path}: stack {args.stack}: {error}", file=sys.stderr)
        return EXIT_REFUSED
    try:
        target = drill_target(
            plan, config, stack=args.stack, product=product.name, endpoint=endpoint
        )
    except DrillRefusal as refusal:
        print(f"guard drill: refused for stack {args.stack}: {refusal}", file=sys.stderr)
        print("nothing was run", file=sys.stderr)
        return EXIT_REFUSED
    state_path = args.state_dir / f"{args.stack}.json"
    if args.fresh:
        state_path.unlink(missing_ok=True)
    return run_ddos_drill(target, state_path=state_path, out=sys.stdout)
