"""Post an hourly digest of the requests AWS WAF blocked or counted to Slack, through AWS Chatbot.

EventBridge invokes this function at minute 5 of every hour. For each web ACL of the stack it
reads the rules (GetWebACL), asks WAF for the sampled requests of each rule over the previous
full hour (GetSampledRequests), keeps those WAF blocked or counted, and publishes one AWS
Chatbot custom notification to the stack's "normal" SNS topic. Nothing is posted for an hour in
which nothing was blocked or counted.

Sampled requests are WAF's own sample, at most ``MAX_SAMPLES`` per rule and window; the digest
is a nudge to look, and the WAF logs in Athena hold every request. Every count it shows is of
requests: a sample stands for ``Weight`` requests (1 when WAF leaves it out). Request data comes from the
internet (paths, countries): it is shortened, stripped of control characters and escaped before
it reaches Slack, so a crafted path cannot mention @channel or forge a link.

A web ACL that cannot be read is reported in the digest and then fails the invocation (after
publishing what was read), so the function's Errors metric and its alarm show the gap; the
asynchronous invocation is not retried, which would post the same hour twice.

Runtime: Python 3.12, boto3 from the runtime only.

Environment:
    WEB_ACLS          JSON list of {"name", "scope": REGIONAL|CLOUDFRONT, "arn"}
    TOPIC_ARN         the SNS topic AWS Chatbot relays to Slack
    STACK             the guard stack, for the title and thread
    WINDOW_MINUTES    minutes sampled, ending at the hour of the schedule (default 60, max 180)
    MAX_SAMPLES       samples asked per rule, 1 to 500 (default 100)
    ATHENA_WORKGROUP  where the saved WAF log queries live, named in the digest

IAM needed by the function role: wafv2:GetWebACL and wafv2:GetSampledRequests on the web ACLs,
sns:Publish on the topic, and kms:GenerateDataKey*/kms:Decrypt through SNS for its key.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_wafv2 import WAFV2Client

LOGGER_NAME = "guard.waf_samples"
#: The actions the digest reports; EXCLUDED_AS_COUNT is a managed rule overridden to count.
KEPT_ACTIONS: Mapping[str, str] = {"BLOCK": "blocked", "COUNT": "counted"}
ACTION_ALIASES: Mapping[str, str] = {"EXCLUDED_AS_COUNT": "COUNT"}
#: GetSampledRequests reaches back three hours; MaxItems is 1 to 500.
MAX_WINDOW_MINUTES = 180
MAX_SAMPLES_LIMIT = 500
#: Slack renders at most 3,000 characters of one text block; keep room for Chatbot's framing.
MAX_DESCRIPTION = 2800
MAX_TITLE = 250
MAX_RULE_LINES = 8
MAX_CLIENTS = 3
MAX_EXAMPLES = 3
MAX_FIELD = 80
RETRIES = Config(retries={"mode": "standard", "max_attempts": 5})

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

logger = logging.getLogger(LOGGER_NAME)
logger.setLevel(logging.INFO)


class SettingsError(ValueError):
    """The function's environment is invalid; raised so that the misconfiguration is loud."""


class SamplingFailed(RuntimeError):
    """Some web ACLs could not be sampled; the digest posted says which."""


@dataclass(frozen=True)
class WebAcl:
    name: str
    scope: str
    arn: str

    @property
    def id(self) -> str:
        # arn:aws:wafv2:<region>:<account>:<regional|global>/webacl/<name>/<id>
        return self.arn.rsplit("/", 1)[-1]

    @property
    def region(self) -> str:
        """WAF's API for a web ACL is in its region (us-east-1 for CloudFront)."""
        return self.arn.split(":")[3]


@dataclass(frozen=True)
class Settings:
    web_acls: tuple[WebAcl, ...]
    topic_arn: str
    stack: str
    window_minutes: int
    max_samples: int
    workgroup: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        source = dict(os.environ) if env is None else dict(env)
        try:
            raw_acls = json.loads(source.get("WEB_ACLS", ""))
            web_acls = tuple(
                WebAcl(str(a["name"]), str(a["scope"]), str(a["arn"])) for a in raw_acls
            )
        except (ValueError, TypeError, KeyError):
            raise SettingsError(
                'WEB_ACLS must be a JSON list of {"name", "scope", "arn"} objects'
            ) from None
        for acl in web_acls:
            if acl.scope not in ("REGIONAL", "CLOUDFRONT") or not acl.arn.startswith(
                "arn:aws:wafv2:"
            ):
                raise SettingsError(f"WEB_ACLS entry {acl.name!r}: bad scope or ARN")
        topic_arn = source.get("TOPIC_ARN", "")
        if not topic_arn.startswith("arn:aws:sns:"):
            raise SettingsError(f"TOPIC_ARN={topic_arn!r} is not an SNS topic ARN")
        window = _int(source, "WINDOW_MINUTES", 60, 1, MAX_WINDOW_MINUTES)
        samples = _int(source, "MAX_SAMPLES", 100, 1, MAX_SAMPLES_LIMIT)
        return cls(
            web_acls=web_acls,
            topic_arn=topic_arn,
            stack=source.get("STACK", "") or "unknown",
            window_minutes=window,
            max_samples=samples,
            workgroup=source.get("ATHENA_WORKGROUP", ""),
        )


def _int(source: Mapping[str, str], key: str, default: int, low: int, high: int) -> int:
    raw = source.get(key, str(default)).strip()
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{key}={raw!r} is not an integer") from None
    if not low <= value <= high:
        raise SettingsError(f"{key}={value} must be {low} to {high}")
    return value


# --------------------------------------------------------------------------------------------
# Seams: clients and the clock, replaced by the tests.
# --------------------------------------------------------------------------------------------


def utcnow() -> datetime:
    return datetime.now(UTC)


def waf_client(region: str) -> WAFV2Client:
    """WAF's API for one region (AWS_ENDPOINT_URL is honoured by boto3)."""
    return boto3.client("wafv2", region_name=region, config=RETRIES)


def sns_client(region: str) -> SNSClient:
    return boto3.client("sns", region_name=region, config=RETRIES)


# --------------------------------------------------------------------------------------------
# Sampling.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    action: str  # BLOCK or COUNT
    rule: str  # the web ACL's rule
    inner_rule: str  # the rule inside a rule group, or ""
    client_ip: str
    country: str
    method: str
    uri: str
    #: How many requests this sample stands for: WAF weights a sample above 1 when it stands
    #: for several requests with the same characteristics (GetSampledRequests ``Weight``).
    weight: int = 1


@dataclass
class RuleSamples:
    rule: str
    matched: int  # WAF's PopulationSize: requests the rule matched in the window
    samples: list[Sample]


@dataclass
class AclSamples:
    acl: WebAcl
    rules: list[RuleSamples] = field(default_factory=list)
    error: str | None = None

    @property
    def samples(self) -> list[Sample]:
        return [s for r in self.rules for s in r.samples]


def window_end(event: Mapping[str, Any]) -> datetime:
    """The hour the scheduled event belongs to: consecutive runs tile the hours exactly."""
    raw = event.get("time") if isinstance(event, Mapping) else None
    when = utcnow()
    if isinstance(raw, str):
        # A hand-made test event may carry anything; then the current hour it is.
        with contextlib.suppress(ValueError):
            when = datetime.fromisoformat(raw.replace("Z", "+00:00")).astimezone(UTC)
    return when.replace(minute=0, second=0, microsecond=0)


def inner_rule_name(raw: str) -> str:
    """The rule's own name from ``RuleNameWithinRuleGroup``.

    WAF writes it as ``<vendor>#<group>#<rule>`` (``AWS#AWSManagedRulesSQLiRuleSet#SQLi_BODY``);
    the web ACL's rule already names the group, and rule names cannot hold ``#``, so the part
    after the last ``#`` is the rule. A name without ``#`` is kept as it is.
    """
    return raw.rsplit("#", 1)[-1]


def _weight(raw: Mapping[str, Any]) -> int:
    try:
        weight = int(raw.get("Weight", 1))
    except (TypeError, ValueError):
        return 1
    return weight if weight > 0 else 1


def _sample(raw: Mapping[str, Any], rule: str) -> Sample | None:
    action = str(raw.get("Action", ""))
    action = ACTION_ALIASES.get(action, action)
    if action not in KEPT_ACTIONS:
        return None
    request = raw.get("Request") or {}
    return Sample(
        action=action,
        rule=rule,
        inner_rule=inner_rule_name(str(raw.get("RuleNameWithinRuleGroup") or "")),
        client_ip=str(request.get("ClientIP", "")),
        country=str(request.get("Country", "")),
        method=str(request.get("Method", "")),
        uri=str(request.get("URI", "")),
        weight=_weight(raw),
    )


def sample_web_acl(
    client: WAFV2Client, acl: WebAcl, start: datetime, end: datetime, max_samples: int
) -> list[RuleSamples]:
    """The blocked and counted samples of every rule of one web ACL in [start, end)."""
    web_acl = client.get_web_acl(Name=acl.name, Scope=acl.scope, Id=acl.id)["WebACL"]  # type: ignore[arg-type]
    found = []
    for rule in web_acl.get("Rules", []):
        response = client.get_sampled_requests(
            WebAclArn=acl.arn,
            RuleMetricName=rule["VisibilityConfig"]["MetricName"],
            Scope=acl.scope,  # type: ignore[arg-type]
            TimeWindow={"StartTime": start, "EndTime": end},
            MaxItems=max_samples,
        )
        kept = [
            sample
            for raw in response.get("SampledRequests", [])
            if (sample := _sample(raw, rule["Name"])) is not None
        ]
        if kept:
            found.append(RuleSamples(rule["Name"], int(response.get("PopulationSize", 0)), kept))
    return found


# --------------------------------------------------------------------------------------------
# The digest.
# --------------------------------------------------------------------------------------------


def clean(text: str, limit: int = MAX_FIELD) -> str:
    """Internet-supplied text made safe for Slack mrkdwn inside `code`: no control characters,
    no backticks to break out, &, < and > escaped (Slack's own escaping), and short."""
    text = _CONTROL.sub("", text).replace("`", "'")
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _weighted(keys: Sequence[tuple[str, int]]) -> Counter[str]:
    """Requests per key, each sample counted by its weight."""
    counter: Counter[str] = Counter()
    for key, weight in keys:
        counter[key] += weight
    return counter


def requests(samples: Sequence[Sample]) -> int:
    """The requests the samples stand for."""
    return sum(s.weight for s in samples)


def _counts(samples: Sequence[Sample]) -> str:
    by_action = _weighted([(s.action, s.weight) for s in samples])
    return ", ".join(f"{by_action[a]} {word}" for a, word in KEPT_ACTIONS.items() if by_action[a])


def _rule_line(rule: RuleSamples) -> str:
    inner = _weighted([(s.inner_rule, s.weight) for s in rule.samples if s.inner_rule])
    detail = ", ".join(f"{clean(name)} {n}" for name, n in inner.most_common(3))
    return (
        f"• `{clean(rule.rule)}`: {_counts(rule.samples)}"
        + (f" ({detail})" if detail else "")
        + f" of ≈{rule.matched:,} matched"
    )


def _client(sample: Sample) -> str:
    country = f" ({clean(sample.country, 3)})" if sample.country else ""
    return f"{clean(sample.client_ip, 45)}{country}"


def _acl_block(result: AclSamples) -> list[str]:
    acl = result.acl
    lines = [f"*{clean(acl.name)}* ({acl.scope})"]
    if result.error is not None:
        lines.append(f"• could not be sampled: {clean(result.error, 200)}")
        return lines
    rules = sorted(result.rules, key=lambda r: requests(r.samples), reverse=True)
    lines += [_rule_line(r) for r in rules[:MAX_RULE_LINES]]
    if len(rules) > MAX_RULE_LINES:
        lines.append(f"• … and {len(rules) - MAX_RULE_LINES} more rules")
    samples = result.samples
    clients = _weighted([(_client(s), s.weight) for s in samples]).most_common(MAX_CLIENTS)
    lines.append("Top clients: " + ", ".join(f"{c} {n}" for c, n in clients))
    seen: set[tuple[str, str, str]] = set()
    examples = []
    for s in samples:
        key = (s.action, s.rule, s.uri)
        if key not in seen:
            seen.add(key)
            by = s.rule + (f" / {s.inner_rule}" if s.inner_rule else "")
            examples.append(
                f"• {s.action} `{clean(s.method, 10)} {clean(s.uri)}` from {_client(s)} "
                f"by `{clean(by)}`"
            )
    if examples:
        lines += ["Examples:", *examples[:MAX_EXAMPLES]]
    return lines


def _fit(lines: Sequence[str], limit: int) -> str:
    text = "\n".join(lines)
    if len(text) <= limit:
        return text
    tail = "\n… (shortened; the saved Athena queries have the full picture)"
    cut = text[: limit - len(tail)]
    return cut[: cut.rfind("\n")] + tail if "\n" in cut else cut + tail


def build_notification(
    settings: Settings, results: Sequence[AclSamples], start: datetime, end: datetime
) -> dict[str, Any] | None:
    """The AWS Chatbot custom notification, or None when there is nothing to say."""
    shown = [r for r in results if r.samples or r.error is not None]
    if not shown:
        return None
    samples = [s for r in results for s in r.samples]
    span = f"{start:%Y-%m-%d %H:%M} to {end:%H:%M} UTC"
    summary = _counts(samples) or "no samples"
    title = f"WAF {settings.stack}: {summary} in sampled requests, {span}"[:MAX_TITLE]
    lines: list[str] = []
    for result in shown:
        lines += _acl_block(result)
        lines.append("")
    next_steps = [
        "Sampled requests are WAF's sample (up to "
        f"{settings.max_samples} per rule); ≈matched is the rule's total in the hour.",
    ]
    if settings.workgroup:
        next_steps.append(
            f"Full logs: Athena workgroup `{settings.workgroup}`, saved queries "
            '"WAF: top blocked client IPs" and "WAF: blocked requests on a path".'
        )
    return {
        "version": "1.0",
        "source": "custom",
        "id": f"guard-{settings.stack}-waf-samples-{end:%Y%m%dT%H%MZ}",
        "content": {
            "textType": "client-markdown",
            "title": title,
            "description": _fit(lines[:-1], MAX_DESCRIPTION),
            "nextSteps": next_steps,
            "keywords": ["WAF", settings.stack],
        },
        "metadata": {
            # One thread a day keeps hourly digests from crowding the channel.
            "threadId": f"guard-{settings.stack}-waf-samples-{end:%Y-%m-%d}",
            "summary": title,
            "eventType": "WafSampleDigest",
            "additionalContext": {"windowStart": start.isoformat(), "windowEnd": end.isoformat()},
        },
    }


def _error_text(err: Exception) -> str:
    if isinstance(err, ClientError):
        error = err.response.get("Error", {})
        return f"{error.get('Code', 'error')}: {error.get('Message', '')}".strip(": ")
    return type(err).__name__


def lambda_handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """Sample every web ACL for the hour before the scheduled time and post one digest."""
    settings = Settings.from_env()
    end = window_end(event)
    start = end - timedelta(minutes=settings.window_minutes)
    results = []
    for acl in settings.web_acls:
        try:
            rules = sample_web_acl(waf_client(acl.region), acl, start, end, settings.max_samples)
            results.append(AclSamples(acl, rules))
        except (ClientError, BotoCoreError) as err:
            logger.error("cannot sample %s: %s", acl.name, _error_text(err))
            results.append(AclSamples(acl, error=_error_text(err)))
    notification = build_notification(settings, results, start, end)
    if notification is not None:
        region = settings.topic_arn.split(":")[3]
        sns_client(region).publish(TopicArn=settings.topic_arn, Message=json.dumps(notification))
    failed = sorted(r.acl.name for r in results if r.error is not None)
    summary = {
        "window": [start.isoformat(), end.isoformat()],
        "posted": notification is not None,
        "samples": {r.acl.name: len(r.samples) for r in results},
        "failed": failed,
    }
    logger.info("digest %s", json.dumps(summary))
    if failed:
        raise SamplingFailed(f"could not sample {', '.join(failed)}")
    return summary
