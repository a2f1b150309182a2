"""DDoS escalation drill: run the SRT escalation Lambda against a local moto sandbox.

``guard drill ddos --stack NAME --endpoint PRODUCT/ENDPOINT`` calls :func:`run_ddos_drill`. The
drill builds the exact SNS event the Lambda receives when the endpoint's
``guard-<stack>-<product>-<endpoint>-ddos`` alarm goes from OK to ALARM, invokes the real handler
in-process against a moto server bound to 127.0.0.1, and prints the support case it opened, or the
earlier case it deduplicated against.

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

import contextlib
import io
import ipaddress
import json
import logging
import os
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

import boto3

from functions.srt_escalation import handler

STATE_VERSION = 1
# What a guard urgent topic is called is the stack component's business; the drill only needs a
# plausible ARN in the SNS envelope, which the handler does not read.
_TOPIC_SUFFIX = "urgent"
_QUIET_LOGGERS = ("werkzeug", "flask.app")


class DrillError(Exception):
    """A drill precondition failed (state file, sandbox, safety check)."""


@dataclass(frozen=True)
class _LambdaContext:
    """The two attributes of the Lambda context object the handler reads."""

    function_name: str
    aws_request_id: str


# --------------------------------------------------------------------------------------------
# Event construction.
# --------------------------------------------------------------------------------------------


def _region_display_name(region: str) -> str:
    """Return the display name CloudWatch writes in the notification's "Region" field."""
    try:
        import botocore.loaders

        endpoints = botocore.loaders.Loader().load_data("endpoints")
        for partition in endpoints.get("partitions", []):
            described = partition.get("regions", {}).get(region)
            if described and described.get("description"):
                return str(described["description"])
    except Exception:  # display sugar only; fall back to the code
        return region
    return region


def _alarm_time(moment: datetime) -> str:
    # CloudWatch's StateChangeTime format, e.g. "2015-06-03T17:43:27.123+0000".
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"


def build_alarm_event(
    *,
    stack: str,
    product: str,
    endpoint: str,
    resource_arn: str,
    alarm_region: str,
    account_id: str,
    when: datetime,
) -> dict[str, Any]:
    """Build the SNS-to-Lambda event for the endpoint's DDoSDetected alarm going OK -> ALARM.

    The message follows CloudWatch's alarm notification JSON (AlarmName, AlarmDescription,
    AWSAccountId, NewStateValue, NewStateReason, StateChangeTime, Region, AlarmArn,
    OldStateValue, Trigger{...}) inside the standard Lambda SNS record envelope.
    """
    alarm_name = f"guard-{stack}-{product}-{endpoint}-ddos"
    region_name = _region_display_name(alarm_region)
    stamp = _alarm_time(when)
    datapoint = when.astimezone(UTC).strftime("%d/%m/%y %H:%M:%S")
    message = {
        "AlarmName": alarm_name,
        "AlarmDescription": f"Shield Advanced detected a DDoS event on {product}/{endpoint}",
        "AWSAccountId": account_id,
        "AlarmConfigurationUpdatedTimestamp": stamp,
        "NewStateValue": "ALARM",
        "NewStateReason": (
            f"Threshold Crossed: 1 out of the last 1 datapoints [1.0 ({datapoint})] was greater "
            "than or equal to the threshold (1.0) (minimum 1 datapoint for OK -> ALARM "
            "transition)."
        ),
        "StateChangeTime": stamp,
        "Region": region_name,
        "AlarmArn": f"arn:aws:cloudwatch:{alarm_region}:{account_id}:alarm:{alarm_name}",
        "OldStateValue": "OK",
        "OKActions": [],
        "AlarmActions": [f"arn:aws:sns:{alarm_region}:{account_id}:guard-{stack}-{_TOPIC_SUFFIX}"],
        "InsufficientDataActions": [],
        "Trigger": {
            "MetricName": "DDoSDetected",
            "Namespace": "AWS/DDoSProtection",
            "StatisticType": "Statistic",
            "Statistic": "SUM",
            "Unit": None,
            "Dimensions": [{"value": resource_arn, "name": "ResourceArn"}],
            "Period": 60,
            "EvaluationPeriods": 1,
            "DatapointsToAlarm": 1,
            "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "Threshold": 1.0,
            "TreatMissingData": "notBreaching",
            "EvaluateLowSampleCountPercentile": "",
        },
    }
    topic_arn = f"arn:aws:sns:{alarm_region}:{account_id}:guard-{stack}-{_TOPIC_SUFFIX}"
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{topic_arn}:{uuid.uuid4()}",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": str(uuid.uuid4()),
                    "TopicArn": topic_arn,
                    "Subject": f'ALARM: "{alarm_name}" in {region_name}',
                    "Message": json.dumps(message),
                    "Timestamp": when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.")
                    + f"{when.microsecond // 1000:03d}Z",
                    "SignatureVersion": "1",
                    "Signature": "drill",
                    "SigningCertUrl": "",
                    "UnsubscribeUrl": "",
                    "MessageAttributes": {},
                },
            }
        ]
    }


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
    """Hide every AWS_* variable, apply ``overrides``, use a fresh boto3 session; undo after."""
    saved = dict(os.environ)
    saved_session = boto3.DEFAULT_SESSION
    try:
        for key in list(os.environ):
            if key.startswith("AWS_"):
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


# --------------------------------------------------------------------------------------------
# Entry point.
# --------------------------------------------------------------------------------------------


def run_ddos_drill(
    *,
    stack: str,
    product: str,
    endpoint: str,
    resource_arn: str,
    alarm_region: str,
    account_id: str,
    severity: str,
    dedupe_hours: int,
    cc_emails: Sequence[str],
    state_path: Path,
    out: TextIO,
    now: datetime | None = None,
) -> int:
    """Run the DDoS escalation drill for one endpoint; return 0 on success, 1 on failure.

    ``now`` is the drill's clock (default: the current time); naive values are taken as UTC.
    """
    clock = now if now is not None else datetime.now(UTC)
    clock = (clock if clock.tzinfo else clock.replace(tzinfo=UTC)).astimezone(UTC)
    alarm_name = f"guard-{stack}-{product}-{endpoint}-ddos"
    try:
        from moto.server import ThreadedMotoServer
        from moto.support.models import SupportCase, support_backends
    except ImportError:
        print(
            "drill failed: the drill needs moto's server extra (pip install 'moto[server]', "
            "part of guard's dev dependencies)",
            file=out,
        )
        return 1
    try:
        recorded = _load_state(state_path)
    except DrillError as exc:
        print(f"drill failed: {exc}. Delete it (guard drill ddos --fresh) to start over.", file=out)
        return 1

    event = build_alarm_event(
        stack=stack,
        product=product,
        endpoint=endpoint,
        resource_arn=resource_arn,
        alarm_region=alarm_region,
        account_id=account_id,
        when=clock,
    )
    context = _LambdaContext(
        function_name=f"guard-{stack}-srt-escalation (drill)", aws_request_id=str(uuid.uuid4())
    )

    with _quiet_moto_server():
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            url = f"http://{host}:{port}"
            if not _is_loopback_url(url):
                print(f"drill refused: sandbox endpoint {url} is not loopback", file=out)
                return 1
            env = {
                "AWS_ENDPOINT_URL": url,
                "AWS_ACCESS_KEY_ID": "drill",
                "AWS_SECRET_ACCESS_KEY": "drill",
                "AWS_DEFAULT_REGION": handler.SUPPORT_REGION,
                "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                "AWS_EC2_METADATA_DISABLED": "true",
                "AWS_LAMBDA_FUNCTION_NAME": context.function_name,
                # moto files the cases under the stack's account, like AWS would.
                "MOTO_ACCOUNT_ID": account_id,
                "SUPPORT_SEVERITY": severity,
                "DEDUPE_HOURS": str(dedupe_hours),
                "CC_EMAILS": ",".join(cc_emails),
                "SUPPORT_CASE_ENABLED": "true",
                "SUPPORT_LANGUAGE": "en",
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
                    header={
                        "stack": stack,
                        "endpoint": f"{product}/{endpoint}",
                        "resource": resource_arn,
                        "alarm": f"{alarm_name} ({alarm_region}), OK -> ALARM at "
                        f"{_alarm_time(clock)}",
                    },
                    stack=stack,
                    product=product,
                    endpoint=endpoint,
                    state_path=state_path,
                    dedupe_hours=dedupe_hours,
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
    header: dict[str, str],
    stack: str,
    product: str,
    endpoint: str,
    state_path: Path,
    dedupe_hours: int,
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
            return 1
    try:
        _reset_moto(url)
    except (DrillError, OSError) as exc:
        print(f"drill failed: cannot reset the moto sandbox: {exc}", file=out)
        return 1
    backend = backend_of()
    _seed_cases(backend, case_type, recorded)

    print(f"guard drill ddos: stack {header['stack']}, endpoint {header['endpoint']}", file=out)
    print(f"  resource   {header['resource']}", file=out)
    print(f"  alarm      {header['alarm']}", file=out)
    print(f"  sandbox    moto server {url} (no real AWS endpoint is contacted)", file=out)
    print(
        "  note       moto does not implement Shield ListAttacks/DescribeAttack, so the body "
        "says attack details are unavailable; on AWS the Lambda fills them in",
        file=out,
    )
    print(
        f"  state      {state_path} ({len(recorded)} earlier drill case(s) re-seeded)",
        file=out,
    )
    print(file=out)

    captured = io.StringIO()
    try:
        with contextlib.redirect_stdout(captured):
            settings = handler.load_settings()
            summary = handler.handle(event, settings=settings, now=clock, context=context)
    except Exception as exc:
        _print_logs(out, captured.getvalue())
        print(f"Result: FAILED - the handler raised {type(exc).__name__}: {exc}", file=out)
        print("  In AWS, Lambda would retry this event and then send it to the DLQ.", file=out)
        return 1
    _print_logs(out, captured.getvalue())

    new_records = [
        _case_record(
            backend.cases[item["caseId"]],
            created=clock,
            product=product,
            endpoint=endpoint,
            arn=item["resourceArn"],
        )
        for item in summary["opened"]
    ]
    if new_records:
        _save_state(state_path, stack, recorded + new_records)
        for rec in new_records:
            print("Result: support case OPENED", file=out)
            _print_case(out, rec)
    for item in summary["deduplicated"]:
        earlier = next((c for c in recorded if c["caseId"] == item["caseId"]), None)
        print(
            f"Result: DEDUPLICATED - case {item['caseId']} for this resource was opened "
            f"{_age(clock, item['timeCreated'])}, within the {dedupe_hours} h window; "
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
        return 1
    return 0
