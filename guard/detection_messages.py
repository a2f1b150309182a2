"""The Slack messages of detection findings: EventBridge input transformers that turn a GuardDuty
or Security Hub event into an AWS Chatbot ("Amazon Q Developer in chat applications") custom
notification, the only shape Chatbot renders for events it does not know natively:
https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html

Which events reach which rule is ``guard.detection_catalog``'s; Trusted Advisor's message is
made by a function (``functions/trusted_advisor``), because its values sit under keys that
EventBridge's InputPath syntax cannot reach.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Final, TypedDict

from guard.detection_catalog import GUARDDUTY_RESOURCE_PATH, GuardDutyResource


class InputTransformer(TypedDict):
    """Keyword arguments of Pulumi's ``aws.cloudwatch.EventTargetInputTransformerArgs``."""

    input_paths: dict[str, str]
    input_template: str


#: EventBridge limits (InputTransformer API reference): at most 100 paths, keys matching
#: [A-Za-z0-9_-]+ and not starting with "AWS", paths up to 256 characters, template up to 8192.
MAX_INPUT_PATHS: Final = 100
MAX_INPUT_PATH_LENGTH: Final = 256
MAX_INPUT_TEMPLATE_LENGTH: Final = 8192
INPUT_PATH_KEY = re.compile(r"^[A-Za-z0-9_-]+$")

_RAW = re.compile(r'"@@([A-Za-z0-9_-]+)@@"')


def _raw(name: str) -> str:
    """A marker that ``_template`` turns into a bare ``<name>``: a whole JSON value."""
    return f"@@{name}@@"


#: A ``\n`` escape that is not the end of an escaped backslash (``\\n``: backslash, then n).
_NEWLINE_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\n")


def _template(notification: Mapping[str, Any]) -> str:
    """Serialise a notification into an InputTemplate.

    EventBridge fills a placeholder in two ways. Standing alone as a JSON value it writes the
    extracted value as JSON, quoted and escaped. Inside a quoted string it pastes the value raw:
    "EventBridge doesn't escape values extracted by Input Path, when populating the Input
    Template" (EventBridge User Guide, input transformation, common issues). So free text that
    may hold quotes, backslashes or newlines (finding titles) only ever stands alone, and text
    composed around placeholders only embeds identifiers: account IDs, regions, ARNs, enums.
    json.dumps writes the static text, so its quotes and newlines are escaped correctly.

    Line breaks are written ``\u000a``, never ``\n``: both are the same JSON escape, but an
    implementation that rewrites the two characters ``\n`` into a raw newline before parsing
    the result (LocalStack's emulation does) would turn ``\n`` into invalid JSON, and AWS does
    not document what it does with them. ``\u000a`` is a newline under every reading.
    """
    text = json.dumps(notification, ensure_ascii=False)
    return _RAW.sub(r"<\1>", _NEWLINE_ESCAPE.sub(r"\1\\u000a", text))


def _notification(
    *,
    event_id: str,
    title: str,
    description: Sequence[str],
    next_steps: Sequence[str],
    keywords: Sequence[str],
    thread_id: str,
    summary: str,
    event_type: str,
    context: Mapping[str, str],
) -> dict[str, Any]:
    """A Chatbot custom notification: version "1.0" and source "custom" are required, and
    client-markdown is the only textType, rendered as Slack mrkdwn (*bold*, `code`)."""
    return {
        "version": "1.0",
        "source": "custom",
        "id": event_id,
        "content": {
            "textType": "client-markdown",
            "title": title,
            "description": "\n".join(description),
            "nextSteps": list(next_steps),
            "keywords": list(keywords),
        },
        "metadata": {
            # Updates to one finding arrive as new events; one thread per finding keeps them
            # together when the channel allows threaded notifications.
            "threadId": thread_id,
            "summary": summary,
            "eventType": event_type,
            "additionalContext": dict(context),
        },
    }


def guardduty_transformer(resource: GuardDutyResource | None = None) -> InputTransformer:
    """A GuardDuty finding as a Chatbot notification: title, severity, account, region, the
    resource and a link to the finding in the GuardDuty console.

    ``resource`` is the resource type the rule's pattern chose: the message reads that type's
    details block and nothing else (a sample finding fills them all). Without it (the fallback
    rule) the message names the resource type only. The identifiers go in code spans, so an
    identifier a finding lacks leaves an empty span, never a trailing blank.
    """
    paths = {
        "eventId": "$.id",
        # The console that holds the finding: the event's region (the administrator account's,
        # for member findings), which can differ from where the finding was generated.
        "consoleRegion": "$.region",
        "title": "$.detail.title",
        "severity": "$.detail.severity",
        "account": "$.detail.accountId",
        "region": "$.detail.region",
        "findingId": "$.detail.id",
        "findingType": "$.detail.type",
    }
    if resource is None:
        paths["resourceType"] = f"{GUARDDUTY_RESOURCE_PATH}.resourceType"
        resource_lines = ["*Resource type:* `<resourceType>`"]
    else:
        paths.update({placeholder: path for _, placeholder, path in resource.fields})
        resource_lines = [
            f"*{label}:* `<{placeholder}>`" for label, placeholder, _ in resource.fields
        ]
    # The finding link GuardDuty itself puts in the SourceUrl of the findings it sends to
    # Security Hub.
    link = (
        "https://<consoleRegion>.console.aws.amazon.com/guardduty/home?region=<consoleRegion>"
        "#/findings?macros=current&fId=<findingId>"
    )
    notification = _notification(
        event_id="<eventId>",
        title=_raw("title"),
        description=[
            ":rotating_light: *GuardDuty finding*",
            "*Severity:* <severity> (of 10)",
            "*Account:* `<account>`",
            "*Region:* `<region>`",
            *resource_lines,
            "*Type:* `<findingType>`",
            f"*Console:* {link}",
        ],
        next_steps=[
            "Investigate the finding from the console link above.",
            "Archive it in GuardDuty once it is handled or proven benign.",
        ],
        keywords=["GuardDuty", "severity <severity>", "<findingType>"],
        thread_id="guardduty-<findingId>",
        summary="GuardDuty severity <severity> finding in account <account>, <region>",
        event_type="GuardDutyFinding",
        context={"findingId": "<findingId>", "findingType": "<findingType>"},
    )
    return {"input_paths": paths, "input_template": _template(notification)}


def securityhub_transformer() -> InputTransformer:
    """A Security Hub (ASFF) finding as a Chatbot notification: title, severity label,
    account, region, first resource and a link to the finding in the Security Hub console."""
    finding = "$.detail.findings[0]"
    paths = {
        "eventId": "$.id",
        # The region whose Security Hub holds the finding (the aggregation region, if any).
        "consoleRegion": "$.region",
        "title": f"{finding}.Title",
        "severity": f"{finding}.Severity.Label",
        "account": f"{finding}.AwsAccountId",
        "region": f"{finding}.Region",
        "findingId": f"{finding}.Id",
        # Security Hub's own copy of the product name: the top-level ProductName is optional
        # (GuardDuty's findings in AWS's example lack it). Forward slashes are InputPath syntax.
        "product": f"{finding}.ProductFields.aws/securityhub/ProductName",
        "generator": f"{finding}.GeneratorId",
        "resourceType": f"{finding}.Resources[0].Type",
        "resourceId": f"{finding}.Resources[0].Id",
    }
    # The Security Hub console's findings search on the finding ID; the ID is pasted as is.
    link = (
        "https://<consoleRegion>.console.aws.amazon.com/securityhub/home?region=<consoleRegion>"
        "#/findings?search=Id%3D%255Coperator%255C%253AEQUALS%255C%253A<findingId>"
    )
    notification = _notification(
        event_id="<eventId>",
        title=_raw("title"),
        description=[
            ":warning: *Security Hub finding*",
            "*Product:* `<product>`",
            "*Severity:* <severity>",
            "*Account:* `<account>`",
            "*Region:* `<region>`",
            "*Resource:* <resourceType> `<resourceId>`",
            "*Generator:* `<generator>`",
            f"*Console:* {link}",
        ],
        next_steps=[
            "Review the finding from the console link above.",
            "Set its workflow status to NOTIFIED, RESOLVED or SUPPRESSED once handled.",
        ],
        keywords=["<severity>", "<product>"],
        thread_id="securityhub-<findingId>",
        summary="Security Hub <severity> finding in account <account>, <region>",
        event_type="SecurityHubFinding",
        context={"findingId": "<findingId>", "generatorId": "<generator>"},
    )
    return {"input_paths": paths, "input_template": _template(notification)}


#: The input transformers by service. Trusted Advisor has none: the values its messages need
#: sit under keys with spaces and parentheses, which EventBridge's InputPath syntax does not
#: cover, so a function formats them (``functions/trusted_advisor``).
TRANSFORMERS: Mapping[str, Callable[[], InputTransformer]] = MappingProxyType(
    {
        "guardduty": guardduty_transformer,
        "securityhub": securityhub_transformer,
    }
)
