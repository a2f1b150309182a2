"""Post a Trusted Advisor check-item refresh to Slack, through AWS Chatbot.

The Trusted Advisor rule in us-east-1 invokes this function with the event. It formats one AWS
Chatbot custom notification (check name, status, account, the item's region when there is one,
its resource, and every field of ``check-item-detail``) and publishes it to the stack's normal
SNS topic in us-east-1, which Chatbot relays to Slack.

An input transformer cannot do this: the useful values sit under keys such as "Access Key ID"
and "User Name (IAM or Root)", and EventBridge's InputPath syntax (dot notation, dashes,
underscores, alphanumerics, array indices, wildcards, forward slashes) has no way to reach a key
with spaces or parentheses. Some events also lack ``region``, ``resource_id`` or ``uuid``.

Every value comes from AWS or from whatever the checked resource is called: it is shortened,
stripped of control characters and escaped before it reaches Slack.

Runtime: Python 3.12, boto3 from the runtime only.

Environment:
    TOPIC_ARN   the SNS topic AWS Chatbot relays to Slack (the normal route in us-east-1)
    STACK       the guard stack, for the log lines

IAM needed by the function role: sns:Publish on the topic, and kms:GenerateDataKey*/kms:Decrypt
through SNS for its key.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

LOGGER_NAME = "guard.trusted_advisor"
SOURCE = "aws.trustedadvisor"
DETAIL_TYPE = "Trusted Advisor Check Item Refresh Notification"
CONSOLE = "https://console.aws.amazon.com/trustedadvisor/home#/dashboard"
#: Slack renders at most 3,000 characters of one text block; keep room for Chatbot's framing.
MAX_DESCRIPTION = 2800
MAX_TITLE = 250
MAX_FIELD = 120
MAX_DETAIL_FIELDS = 20
RETRIES = Config(retries={"mode": "standard", "max_attempts": 5})
STATUS_EMOJI = {
    "ERROR": ":red_circle:",
    "WARN": ":warning:",
    "OK": ":white_check_mark:",
    "INFO": ":information_source:",
}

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

logger = logging.getLogger(LOGGER_NAME)
logger.setLevel(logging.INFO)


class SettingsError(ValueError):
    """The function's environment is invalid; raised so that the misconfiguration is loud."""


def sns_client(region: str) -> SNSClient:
    """The seam the tests replace; AWS_ENDPOINT_URL is honoured by boto3."""
    return boto3.client("sns", region_name=region, config=RETRIES)


def clean(text: Any, limit: int = MAX_FIELD) -> str:
    """AWS- or internet-supplied text made safe for Slack mrkdwn inside `code`: no control
    characters, no backticks to break out, &, < and > escaped (Slack's own escaping), and short.
    (The WAF digest's rule; each function ships alone, so it is repeated here.)"""
    text = _CONTROL.sub(" ", str(text)).replace("`", "'")
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def label(key: Any) -> str:
    """A check-item-detail key as a bold label: ``*`` would end the bold early."""
    return clean(key, 60).replace("*", "")


def _present(value: Any) -> bool:
    return value is not None and str(value).strip() != ""


def thread_id(detail: Mapping[str, Any]) -> str:
    """One thread per checked item: Trusted Advisor's ``uuid``, or, for events without one, a
    stable hash of what names the item (check, resource, item details), never a bare prefix."""
    uuid = detail.get("uuid")
    if _present(uuid):
        return f"trusted-advisor-{clean(uuid, 80)}"
    identity = json.dumps(
        [detail.get("check-name"), detail.get("resource_id"), detail.get("check-item-detail")],
        sort_keys=True,
        default=str,
    )
    return f"trusted-advisor-{hashlib.sha256(identity.encode()).hexdigest()[:20]}"


def _fit(lines: list[str], limit: int) -> str:
    text = "\n".join(lines)
    if len(text) <= limit:
        return text
    tail = "\n… (shortened; the Trusted Advisor console has the whole item)"
    cut = text[: limit - len(tail)]
    return cut[: cut.rfind("\n")] + tail if "\n" in cut else cut + tail


def build_notification(event: Mapping[str, Any]) -> dict[str, Any]:
    """The AWS Chatbot custom notification for one check-item refresh event."""
    detail = event.get("detail")
    detail = detail if isinstance(detail, Mapping) else {}
    item = detail.get("check-item-detail")
    item = item if isinstance(item, Mapping) else {}
    check = clean(detail.get("check-name") or "Trusted Advisor check", MAX_TITLE)
    status = clean(detail.get("status") or "UNKNOWN", 10)
    account = clean(event.get("account") or "unknown", 20)
    lines = [f"{STATUS_EMOJI.get(status, ':mag:')} *Trusted Advisor check*", f"*Status:* {status}"]
    lines.append(f"*Account:* `{account}`")
    if _present(item.get("Region")):
        lines.append(f"*Region:* `{clean(item['Region'], 30)}`")
    if _present(detail.get("resource_id")):
        lines.append(f"*Resource:* `{clean(detail['resource_id'], 200)}`")
    shown = [(k, v) for k, v in item.items() if k != "Region" and _present(v)]
    lines += [f"*{label(k)}:* `{clean(v)}`" for k, v in shown[:MAX_DETAIL_FIELDS]]
    if len(shown) > MAX_DETAIL_FIELDS:
        lines.append(f"… and {len(shown) - MAX_DETAIL_FIELDS} more fields in the console")
    lines.append(f"*Console:* {CONSOLE}")
    thread = thread_id(detail)
    return {
        "version": "1.0",
        "source": "custom",
        "id": clean(event.get("id") or thread, 100),
        "content": {
            "textType": "client-markdown",
            "title": check,
            "description": _fit(lines, MAX_DESCRIPTION),
            "nextSteps": [
                "Open the check from the console link above and fix or exclude the item."
            ],
            "keywords": ["Trusted Advisor", status],
        },
        "metadata": {
            "threadId": thread,
            "summary": f"Trusted Advisor {status}: {check} in account {account}",
            "eventType": "TrustedAdvisorCheckItemRefresh",
            "additionalContext": {"checkName": check, "itemId": thread},
        },
    }


def topic_arn(env: Mapping[str, str] | None = None) -> str:
    value = (os.environ if env is None else env).get("TOPIC_ARN", "")
    if not value.startswith("arn:aws:sns:"):
        raise SettingsError(f"TOPIC_ARN={value!r} is not an SNS topic ARN")
    return value


def lambda_handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """Format the event and publish it; an event that is not a check-item refresh is ignored."""
    arn = topic_arn()
    if event.get("source") != SOURCE or event.get("detail-type") != DETAIL_TYPE:
        logger.warning("ignored an event that is not a Trusted Advisor check-item refresh")
        return {"posted": False}
    notification = build_notification(event)
    sns_client(arn.split(":")[3]).publish(TopicArn=arn, Message=json.dumps(notification))
    summary = {"posted": True, "threadId": notification["metadata"]["threadId"]}
    logger.info("posted %s", json.dumps(summary))
    return summary
