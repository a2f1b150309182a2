"""Escalate AWS Shield Advanced DDoS detections to the Shield Response Team (SRT).

This Lambda is subscribed to a guard stack's "urgent" SNS topics. CloudWatch alarms named
``guard-<stack>-<product>-<endpoint>-ddos`` watch ``AWS/DDoSProtection`` ``DDoSDetected``
(dimension ``ResourceArn``) and publish the standard CloudWatch alarm notification there. When one
of them enters ALARM, this function opens a single AWS Support case in the DDoS service, which
routes it to the SRT, unless a case for the same resource ARN was opened within ``DEDUPE_HOURS``.

Everything else that reaches the topic (OK and INSUFFICIENT_DATA transitions, other alarms,
GuardDuty / Security Hub notifications in AWS Chatbot custom format, malformed messages) is logged
and ignored. Support API failures are logged with the remedy and re-raised: Lambda then retries the
asynchronous SNS invocation and finally sends the event to the dead-letter queue, so an escalation
that could not be made is never silently dropped.

Runtime: Python 3.12, boto3 from the runtime only, stdlib logging written as JSON lines to stdout.

Environment:
    SUPPORT_SEVERITY      low | normal | high | urgent | critical (default urgent)
    DEDUPE_HOURS          integer >= 0; 0 disables deduplication (default 24)
    CC_EMAILS             comma-separated addresses copied on the case, may be empty (max 10)
    SUPPORT_CASE_ENABLED  "true" / "false"; false logs what would be opened and calls nothing
    SUPPORT_LANGUAGE      case language, default "en"
    LOG_LEVEL             stdlib level name, default INFO

IAM needed by the function role: support:DescribeCases, support:CreateCase, and (best effort, for
attack details in the case body) shield:ListAttacks, shield:DescribeAttack.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_shield import ShieldClient
    from mypy_boto3_support import SupportClient
    from mypy_boto3_support.type_defs import CaseDetailsTypeDef, DescribeCasesResponseTypeDef

# The Support API and Shield Advanced's API are global services served from us-east-1 (aws
# partition). The client region is fixed instead of taken from AWS_REGION, which is the region the
# function happens to run in.
SUPPORT_REGION = "us-east-1"
SHIELD_REGION = "us-east-1"

DDOS_NAMESPACE = "AWS/DDoSProtection"
DDOS_METRIC = "DDoSDetected"
RESOURCE_ARN_DIMENSION = "ResourceArn"

SERVICE_CODE = "distributed-denial-of-service"
CATEGORY_CODE = "inbound-to-aws"
SEVERITIES = ("low", "normal", "high", "urgent", "critical")

# CreateCase limits from the Support API model: body 1..8000 characters, at most 10 CC addresses.
MAX_BODY_CHARS = 8000
MAX_CC_EMAILS = 10
# How far back to look for Shield attacks on the resource when writing the case body.
ATTACK_LOOKBACK = timedelta(hours=24)

LOGGER_NAME = "guard.srt_escalation"


# --------------------------------------------------------------------------------------------
# Logging: one JSON object per line on stdout.
# --------------------------------------------------------------------------------------------


class JsonFormatter(logging.Formatter):
    """Render a log record as one JSON line with the structured fields passed in ``extra``.

    Structured fields travel in ``extra={"data": {...}}`` so that tests (and humans reading the
    code) see the same names as CloudWatch Logs Insights queries will.
    """

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as a single-line JSON document."""
        doc: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if _request_id:
            doc["request_id"] = _request_id
        data = getattr(record, "data", None)
        if isinstance(data, dict):
            doc.update(data)
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str, sort_keys=False)


class StdoutJsonHandler(logging.Handler):
    """Write formatted records to whatever ``sys.stdout`` is at emit time.

    Lambda ships stdout lines to CloudWatch Logs. Looking the stream up per record (instead of
    binding it once like ``StreamHandler``) lets the drill and pytest capture the lines.
    """

    def emit(self, record: logging.LogRecord) -> None:
        """Write one JSON line."""
        try:
            sys.stdout.write(self.format(record) + "\n")
            sys.stdout.flush()
        except Exception:
            self.handleError(record)


def _build_logger() -> logging.Logger:
    log = logging.getLogger(LOGGER_NAME)
    if not any(isinstance(h, StdoutJsonHandler) for h in log.handlers):
        handler = StdoutJsonHandler()
        handler.setFormatter(JsonFormatter())
        log.addHandler(handler)
    # An unknown LOG_LEVEL must not break the cold start of an escalation path.
    level = logging.getLevelName(os.environ.get("LOG_LEVEL", "INFO").strip().upper())
    log.setLevel(level if isinstance(level, int) else logging.INFO)
    # The Lambda runtime installs its own text handler on the root logger; propagating would print
    # every line twice, once as JSON and once as text.
    log.propagate = False
    return log


logger = _build_logger()
_request_id: str | None = None


def _log(level: int, message: str, /, **fields: Any) -> None:
    logger.log(level, message, extra={"data": fields})


# --------------------------------------------------------------------------------------------
# Configuration and seams for tests and the drill.
# --------------------------------------------------------------------------------------------


class ConfigError(ValueError):
    """The function's environment is invalid; raised so that the misconfiguration is loud."""


@dataclass(frozen=True)
class Settings:
    """Escalation settings read from the function's environment at invocation time."""

    severity: str
    dedupe_hours: int
    cc_emails: tuple[str, ...]
    case_enabled: bool
    language: str

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        """Parse and validate the environment variables documented in the module docstring."""
        source = dict(os.environ) if env is None else env
        severity = source.get("SUPPORT_SEVERITY", "urgent").strip().lower()
        if severity not in SEVERITIES:
            raise ConfigError(
                f"SUPPORT_SEVERITY={severity!r} is not one of {', '.join(SEVERITIES)}"
            )
        raw_hours = source.get("DEDUPE_HOURS", "24").strip()
        try:
            dedupe_hours = int(raw_hours)
        except ValueError:
            raise ConfigError(f"DEDUPE_HOURS={raw_hours!r} is not an integer") from None
        if dedupe_hours < 0:
            raise ConfigError(f"DEDUPE_HOURS={dedupe_hours} must be >= 0")
        cc = tuple(e.strip() for e in source.get("CC_EMAILS", "").split(",") if e.strip())
        if len(cc) > MAX_CC_EMAILS:
            raise ConfigError(f"CC_EMAILS has {len(cc)} addresses; the Support API accepts 10")
        raw_enabled = source.get("SUPPORT_CASE_ENABLED", "true").strip().lower()
        if raw_enabled not in ("true", "false"):
            raise ConfigError(f"SUPPORT_CASE_ENABLED={raw_enabled!r} must be 'true' or 'false'")
        language = source.get("SUPPORT_LANGUAGE", "").strip() or "en"
        return cls(
            severity=severity,
            dedupe_hours=dedupe_hours,
            cc_emails=cc,
            case_enabled=raw_enabled == "true",
            language=language,
        )


def utcnow() -> datetime:
    """Return the current time; the clock seam tests and the drill replace."""
    return datetime.now(UTC)


def support_client() -> SupportClient:
    """Create the Support API client (us-east-1; AWS_ENDPOINT_URL is honoured by boto3)."""
    # Standard retry mode retries ThrottlingException with backoff before the error surfaces.
    config = Config(retries={"mode": "standard", "max_attempts": 3})
    return boto3.client("support", region_name=SUPPORT_REGION, config=config)


def shield_client() -> ShieldClient:
    """Create the Shield client used only for best-effort attack details."""
    # One attempt and short timeouts: attack details are a nice-to-have and must not delay or
    # endanger the escalation itself.
    config = Config(
        retries={"mode": "standard", "max_attempts": 1}, connect_timeout=3, read_timeout=5
    )
    return boto3.client("shield", region_name=SHIELD_REGION, config=config)


# --------------------------------------------------------------------------------------------
# Message parsing.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DdosAlarm:
    """The fields of a DDoSDetected alarm notification that the escalation needs."""

    alarm_name: str
    alarm_arn: str
    alarm_description: str
    account_id: str
    region: str
    region_name: str
    resource_arn: str
    new_state: str
    old_state: str
    state_reason: str
    state_change_time: str


def _dimension(trigger: dict[str, Any], name: str) -> str | None:
    # CloudWatch writes dimensions as [{"value": ..., "name": ...}]; accept either capitalisation.
    for dim in trigger.get("Dimensions") or []:
        if not isinstance(dim, dict):
            continue
        if (dim.get("name") or dim.get("Name")) == name:
            value = dim.get("value", dim.get("Value"))
            return str(value) if value is not None else None
    return None


def _region_from_arn(arn: str) -> str:
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 else ""


def _str(doc: dict[str, Any], key: str) -> str:
    value = doc.get(key)
    return "" if value is None else str(value)


def _as_ddos_alarm(message: dict[str, Any]) -> DdosAlarm | None:
    trigger = message.get("Trigger")
    if not isinstance(trigger, dict):
        return None
    if trigger.get("Namespace") != DDOS_NAMESPACE or trigger.get("MetricName") != DDOS_METRIC:
        return None
    alarm_arn = _str(message, "AlarmArn")
    return DdosAlarm(
        alarm_name=_str(message, "AlarmName"),
        alarm_arn=alarm_arn,
        alarm_description=_str(message, "AlarmDescription"),
        account_id=_str(message, "AWSAccountId"),
        # "Region" in the notification is a display name ("US East (N. Virginia)"); the code
        # comes from the alarm ARN.
        region=_region_from_arn(alarm_arn),
        region_name=_str(message, "Region"),
        resource_arn=_dimension(trigger, RESOURCE_ARN_DIMENSION) or "",
        new_state=_str(message, "NewStateValue"),
        old_state=_str(message, "OldStateValue"),
        state_reason=_str(message, "NewStateReason"),
        state_change_time=_str(message, "StateChangeTime"),
    )


# --------------------------------------------------------------------------------------------
# Support case helpers.
# --------------------------------------------------------------------------------------------


def case_subject(resource_arn: str) -> str:
    """Return the case subject for a resource.

    It depends on the ARN alone so that deduplication can find earlier cases by exact equality;
    a substring match would confuse ``.../E1`` with ``.../E12``.
    """
    return f"[guard] DDoS attack detected on {resource_arn}"


def format_support_time(moment: datetime) -> str:
    """Format a time the way the Support API writes it (UTC, milliseconds, "Z")."""
    # The Support API's own format, e.g. "2020-03-23T21:31:47.774Z" (aws-cli describe-cases doc).
    return (
        moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    )


def parse_case_time(value: str | None) -> datetime | None:
    """Parse a Support ``timeCreated`` value into an aware UTC datetime, or None."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    # AWS always answers in UTC with a "Z". moto 5.2 stamps cases with naive local time
    # (datetime.now().isoformat()); astimezone() on a naive value assumes local time, which is
    # exactly what moto meant (and UTC on Lambda).
    return parsed.astimezone(UTC)


def find_recent_case(
    client: SupportClient, *, resource_arn: str, since: datetime, language: str
) -> CaseDetailsTypeDef | None:
    """Return the newest case for ``resource_arn`` created at or after ``since``, if any.

    ``afterTime`` narrows the search server-side on AWS; resolved cases count because an
    escalation the SRT already closed inside the window is still an escalation of the same event.
    moto 5.2 ignores afterTime, beforeTime, maxResults and language and echoes the nextToken it is
    given, so creation time is re-checked here and a repeated token ends pagination.
    """
    subject = case_subject(resource_arn)
    best: tuple[datetime | None, CaseDetailsTypeDef] | None = None
    seen_tokens: set[str] = set()
    token: str | None = None
    while True:
        page: DescribeCasesResponseTypeDef
        common: dict[str, Any] = {
            "afterTime": format_support_time(since),
            "includeResolvedCases": True,
            "includeCommunications": False,
            "maxResults": 100,
            # DescribeCases only returns cases in the requested language (default en).
            "language": language,
        }
        if token:
            common["nextToken"] = token
        page = client.describe_cases(**common)
        for case in page.get("cases", []):
            if case.get("subject") != subject:
                continue
            created = parse_case_time(case.get("timeCreated"))
            # A case AWS returned for afterTime but whose time we cannot read is trusted to be in
            # the window: a second page to the SRT costs less than missing the first.
            if created is not None and created < since:
                continue
            if best is None or (created is not None and (best[0] is None or created > best[0])):
                best = (created, case)
        token = page.get("nextToken")
        if not token or token in seen_tokens:
            break
        seen_tokens.add(token)
    return best[1] if best else None


def _attack_details(resource_arn: str, now: datetime) -> str:
    """Summarise Shield's view of the attack; best effort, never raises."""
    try:
        client = shield_client()
        summaries = client.list_attacks(
            ResourceArns=[resource_arn],
            StartTime={"FromInclusive": now - ATTACK_LOOKBACK},
            MaxResults=20,
        ).get("AttackSummaries", [])
        if not summaries:
            return "No attack reported by AWS Shield ListAttacks in the last 24 hours yet."
        # Ongoing attacks (no EndTime) first, then the most recent start.
        summaries.sort(
            key=lambda s: (
                s.get("EndTime") is None,
                s.get("StartTime") or datetime.min.replace(tzinfo=UTC),
            ),
            reverse=True,
        )
        attack = client.describe_attack(AttackId=summaries[0]["AttackId"])["Attack"]
    except Exception as exc:  # best effort: details must never block the case
        code = exc.response["Error"].get("Code", "") if isinstance(exc, ClientError) else ""
        _log(
            logging.WARNING,
            "attack details unavailable; the case is opened without them",
            resource_arn=resource_arn,
            error=type(exc).__name__,
            error_code=code,
        )
        reason = code or type(exc).__name__
        return f"Attack details unavailable (Shield ListAttacks/DescribeAttack failed: {reason})."

    lines = [
        f"Attack ID: {attack.get('AttackId', '?')}",
        f"Start: {attack.get('StartTime', '?')}  End: {attack.get('EndTime') or 'ongoing'}",
    ]
    vectors = sorted(
        {v.get("VectorType", "") for s in summaries[:1] for v in s.get("AttackVectors", [])}
    )
    if vectors:
        lines.append("Vectors: " + ", ".join(v for v in vectors if v))
    for prop in attack.get("AttackProperties", [])[:5]:
        top = ", ".join(
            f"{c.get('Name')}={c.get('Value')}" for c in prop.get("TopContributors", [])[:5]
        )
        lines.append(
            f"{prop.get('AttackLayer', '?')} {prop.get('AttackPropertyIdentifier', '?')}: "
            f"total {prop.get('Total', '?')} {prop.get('Unit', '')}".rstrip()
            + (f"; top: {top}" if top else "")
        )
    mitigations = [m.get("MitigationName", "") for m in attack.get("Mitigations", [])]
    if mitigations:
        lines.append("Mitigations: " + ", ".join(m for m in mitigations if m))
    if len(summaries) > 1:
        lines.append(f"({len(summaries)} attacks reported in the last 24 hours)")
    return "\n".join(lines)


def case_body(alarm: DdosAlarm, settings: Settings, attack_details: str, context_line: str) -> str:
    """Compose the case description, clipped to the Support API's 8000 characters."""
    body = "\n".join(
        [
            "AWS Shield Advanced detected a DDoS event on a protected resource "
            f"(CloudWatch metric {DDOS_NAMESPACE} {DDOS_METRIC}). Please engage the Shield "
            "Response Team to help mitigate it.",
            "",
            f"Resource ARN: {alarm.resource_arn}",
            f"Alarm: {alarm.alarm_name}",
            f"Alarm ARN: {alarm.alarm_arn or 'unknown'}",
            f"Alarm description: {alarm.alarm_description or '-'}",
            f"Account: {alarm.account_id or 'unknown'}",
            f"Region: {alarm.region or 'unknown'} ({alarm.region_name or '-'})",
            f"State: {alarm.old_state or '?'} -> {alarm.new_state} at "
            f"{alarm.state_change_time or 'unknown'}",
            f"Reason: {alarm.state_reason or '-'}",
            "",
            "Attack details (AWS Shield):",
            attack_details,
            "",
            context_line,
            f"Further ALARM notifications for this resource within {settings.dedupe_hours} h "
            "are deduplicated against this case.",
        ]
    )
    if len(body) > MAX_BODY_CHARS:
        body = body[: MAX_BODY_CHARS - 20] + "\n[...truncated]"
    return body


_REMEDIES = {
    "SubscriptionRequiredException": (
        "the account has no Business, Enterprise On-Ramp or Enterprise support plan: "
        "enable Business support or set escalation.support_case: false for this stack"
    ),
    "AccessDeniedException": (
        "grant support:DescribeCases and support:CreateCase to the function's role"
    ),
    "ThrottlingException": "the Support API kept throttling after retries",
    "CaseCreationLimitExceeded": "the account reached its support case creation limit",
}


def _support_failure(operation: str, alarm: DdosAlarm, exc: ClientError | BotoCoreError) -> None:
    code = (
        exc.response["Error"].get("Code", "Unknown")
        if isinstance(exc, ClientError)
        else (type(exc).__name__)
    )
    remedy = _REMEDIES.get(code, "check the error and the function's role and network access")
    _log(
        logging.ERROR,
        f"Support API {operation} failed for {alarm.resource_arn}: {code}: {remedy}. "
        "Lambda retries the event, then sends it to the dead-letter queue. If the attack is "
        "ongoing, open a case in the Support Center (service DDoS) by hand now.",
        operation=operation,
        resource_arn=alarm.resource_arn,
        alarm_name=alarm.alarm_name,
        error_code=code,
        remedy=remedy,
    )


# --------------------------------------------------------------------------------------------
# Entry points.
# --------------------------------------------------------------------------------------------


def _ignore(summary: dict[str, Any], reason: str, level: int, message: str, **fields: Any) -> None:
    summary["ignored"].append({"reason": reason, **fields})
    _log(level, message, reason=reason, **fields)


def handle(
    event: dict[str, Any],
    *,
    settings: Settings,
    now: datetime,
    context: Any = None,
) -> dict[str, Any]:
    """Process every SNS record in ``event``; see the module docstring for the rules.

    Returns ``{"opened": [...], "deduplicated": [...], "would_open": [...], "ignored": [...]}``.
    Support API errors propagate after being logged.
    """
    global _request_id
    _request_id = getattr(context, "aws_request_id", None)
    try:
        return _handle_records(event, settings=settings, now=now, context=context)
    finally:
        _request_id = None


def _handle_records(
    event: dict[str, Any], *, settings: Settings, now: datetime, context: Any
) -> dict[str, Any]:
    summary: dict[str, Any] = {"opened": [], "deduplicated": [], "would_open": [], "ignored": []}
    support: SupportClient | None = None
    # Cases opened by this invocation, so two records for one resource in one event open one case
    # even if DescribeCases is slow to show the first.
    opened_here: dict[str, str] = {}
    function_name = getattr(context, "function_name", None) or os.environ.get(
        "AWS_LAMBDA_FUNCTION_NAME", "srt_escalation"
    )

    records = event.get("Records") if isinstance(event, dict) else None
    if not isinstance(records, list):
        _ignore(summary, "not-sns-event", logging.WARNING, "ignored: event has no SNS Records")
        return summary

    for record in records:
        sns = record.get("Sns") if isinstance(record, dict) else None
        if not isinstance(sns, dict):
            _ignore(summary, "not-sns-record", logging.WARNING, "ignored: record is not from SNS")
            continue
        message_id = str(sns.get("MessageId", ""))
        raw = sns.get("Message")
        try:
            message = json.loads(raw) if isinstance(raw, str) else None
        except json.JSONDecodeError as exc:
            _ignore(
                summary,
                "malformed-json",
                logging.WARNING,
                f"ignored: SNS message {message_id} is not valid JSON ({exc.msg})",
                message_id=message_id,
                snippet=str(raw)[:200],
            )
            continue
        if not isinstance(message, dict) or "AlarmName" not in message:
            # GuardDuty / Security Hub notifications arrive here in AWS Chatbot custom format
            # ({"version", "source": "custom", "content": {...}}) and are for humans only.
            source = message.get("source") if isinstance(message, dict) else None
            _ignore(
                summary,
                "not-an-alarm",
                logging.INFO,
                f"ignored: SNS message {message_id} is not a CloudWatch alarm notification",
                message_id=message_id,
                source=source,
            )
            continue
        alarm = _as_ddos_alarm(message)
        if alarm is None:
            _ignore(
                summary,
                "not-ddos-alarm",
                logging.INFO,
                f"ignored: alarm {message.get('AlarmName')} is not an "
                f"{DDOS_NAMESPACE} {DDOS_METRIC} alarm",
                message_id=message_id,
                alarm_name=message.get("AlarmName"),
            )
            continue
        if alarm.new_state != "ALARM":
            _ignore(
                summary,
                "not-alarm-state",
                logging.INFO,
                f"ignored: DDoS alarm {alarm.alarm_name} went {alarm.old_state} -> "
                f"{alarm.new_state}; only ALARM escalates",
                message_id=message_id,
                alarm_name=alarm.alarm_name,
                resource_arn=alarm.resource_arn,
                new_state=alarm.new_state,
            )
            continue
        if not alarm.resource_arn:
            # Retrying cannot add the missing dimension, so this is logged at ERROR (alarmable
            # through a metric filter) instead of raised.
            _ignore(
                summary,
                "no-resource-arn",
                logging.ERROR,
                f"cannot escalate: DDoS alarm {alarm.alarm_name} has no {RESOURCE_ARN_DIMENSION} "
                "dimension; fix the alarm definition",
                message_id=message_id,
                alarm_name=alarm.alarm_name,
            )
            continue

        subject = case_subject(alarm.resource_arn)
        if not settings.case_enabled:
            summary["would_open"].append({"resourceArn": alarm.resource_arn, "subject": subject})
            _log(
                logging.WARNING,
                f"support case disabled (SUPPORT_CASE_ENABLED=false): would open a "
                f"{settings.severity} DDoS case for {alarm.resource_arn}",
                resource_arn=alarm.resource_arn,
                alarm_name=alarm.alarm_name,
                subject=subject,
                severity=settings.severity,
                cc_emails=list(settings.cc_emails),
            )
            continue

        if alarm.resource_arn in opened_here:
            summary["deduplicated"].append(
                {"resourceArn": alarm.resource_arn, "caseId": opened_here[alarm.resource_arn]}
            )
            continue

        if support is None:
            support = support_client()

        if settings.dedupe_hours > 0:
            since = now - timedelta(hours=settings.dedupe_hours)
            try:
                existing = find_recent_case(
                    support,
                    resource_arn=alarm.resource_arn,
                    since=since,
                    language=settings.language,
                )
            except (ClientError, BotoCoreError) as exc:
                _support_failure("DescribeCases", alarm, exc)
                raise
            if existing is not None:
                entry = {
                    "resourceArn": alarm.resource_arn,
                    "caseId": existing.get("caseId", ""),
                    "displayId": existing.get("displayId", ""),
                    "timeCreated": existing.get("timeCreated", ""),
                }
                summary["deduplicated"].append(entry)
                _log(
                    logging.INFO,
                    f"deduplicated: case {entry['caseId']} for {alarm.resource_arn} was opened "
                    f"at {entry['timeCreated']}, within {settings.dedupe_hours} h; no new case",
                    resource_arn=alarm.resource_arn,
                    alarm_name=alarm.alarm_name,
                    case_id=entry["caseId"],
                    case_time_created=entry["timeCreated"],
                    dedupe_hours=settings.dedupe_hours,
                )
                continue

        details = _attack_details(alarm.resource_arn, now)
        context_line = (
            f"Opened automatically by guard's SRT escalation Lambda ({function_name}, request "
            f"{_request_id or 'n/a'}, SNS message {message_id or 'n/a'})."
        )
        body = case_body(alarm, settings, details, context_line)
        try:
            created = support.create_case(
                subject=subject,
                serviceCode=SERVICE_CODE,
                categoryCode=CATEGORY_CODE,
                severityCode=settings.severity,
                communicationBody=body,
                ccEmailAddresses=list(settings.cc_emails),
                language=settings.language,
                issueType="technical",
            )
        except (ClientError, BotoCoreError) as exc:
            _support_failure("CreateCase", alarm, exc)
            raise
        case_id = created["caseId"]
        opened_here[alarm.resource_arn] = case_id
        summary["opened"].append(
            {"resourceArn": alarm.resource_arn, "caseId": case_id, "subject": subject}
        )
        _log(
            logging.INFO,
            f"support case {case_id} opened for {alarm.resource_arn} "
            f"(severity {settings.severity})",
            resource_arn=alarm.resource_arn,
            alarm_name=alarm.alarm_name,
            case_id=case_id,
            severity=settings.severity,
            service_code=SERVICE_CODE,
            category_code=CATEGORY_CODE,
            cc_emails=list(settings.cc_emails),
        )

    _log(
        logging.INFO,
        "invocation summary",
        opened=len(summary["opened"]),
        deduplicated=len(summary["deduplicated"]),
        would_open=len(summary["would_open"]),
        ignored=len(summary["ignored"]),
    )
    return summary


def load_settings() -> Settings:
    """Read the settings from the environment, logging a ConfigError before raising it."""
    try:
        return Settings.from_env()
    except ConfigError as exc:
        # Raised, not swallowed: the event is retried and kept in the DLQ until the stack's
        # escalation settings are fixed.
        _log(logging.ERROR, f"invalid configuration: {exc}", error_code="ConfigError")
        raise


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda entry point (handler setting ``handler.lambda_handler``)."""
    return handle(event, settings=load_settings(), now=utcnow(), context=context)
