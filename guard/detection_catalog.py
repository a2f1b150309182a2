"""Plain-data catalog for detection and alert routing: GuardDuty, Security Hub, Trusted Advisor.

Nothing here touches Pulumi or AWS. The names are AWS's own API values (checked against botocore's
models in the tests), the event patterns are dicts exactly as EventBridge takes them (tested
against LocalStack's port of AWS event-ruler), and the input transformers turn each event into an
AWS Chatbot ("Amazon Q Developer in chat applications") custom notification, the only shape
Chatbot renders for events it does not know natively:
https://docs.aws.amazon.com/chatbot/latest/adminguide/custom-notifs.html
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, TypedDict

EventPattern = dict[str, Any]

# --------------------------------------------------------------------------------------------
# GuardDuty
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GuardDutyFeature:
    """One GuardDuty detector feature, by its API name, with the sub-settings it needs on."""

    name: str  # DetectorFeature enum, e.g. "S3_DATA_EVENTS"
    additional_configuration: tuple[str, ...] = ()  # FeatureAdditionalConfiguration enum

    def configuration(self, enabled: bool = True) -> dict[str, Any]:
        """The feature as the GuardDuty API's DetectorFeatureConfiguration (CreateDetector and
        UpdateDetector ``Features`` items), so it can be validated against botocore's model."""
        status = "ENABLED" if enabled else "DISABLED"
        config: dict[str, Any] = {"Name": self.name, "Status": status}
        if self.additional_configuration:
            config["AdditionalConfiguration"] = [
                {"Name": name, "Status": status} for name in self.additional_configuration
            ]
        return config


#: Config alias -> feature. Runtime Monitoring is only useful with its agents managed by
#: GuardDuty; without the three agent-management settings it enables nothing on EKS, ECS Fargate
#: or EC2. EKS_RUNTIME_MONITORING is deliberately absent: RUNTIME_MONITORING supersedes it and
#: AWS advises against enabling both.
GUARDDUTY_FEATURES: Mapping[str, GuardDutyFeature] = MappingProxyType(
    {
        "s3-data-events": GuardDutyFeature("S3_DATA_EVENTS"),
        "eks-audit-logs": GuardDutyFeature("EKS_AUDIT_LOGS"),
        "ebs-malware-protection": GuardDutyFeature("EBS_MALWARE_PROTECTION"),
        "rds-login-events": GuardDutyFeature("RDS_LOGIN_EVENTS"),
        "lambda-network-logs": GuardDutyFeature("LAMBDA_NETWORK_LOGS"),
        "runtime-monitoring": GuardDutyFeature(
            "RUNTIME_MONITORING",
            (
                "EKS_ADDON_MANAGEMENT",
                "ECS_FARGATE_AGENT_MANAGEMENT",
                "EC2_AGENT_MANAGEMENT",
            ),
        ),
    }
)
DEFAULT_GUARDDUTY_FEATURES: tuple[str, ...] = tuple(GUARDDUTY_FEATURES)

#: GuardDuty's FindingPublishingFrequency enum. It only paces re-publication of *updated*
#: findings; new findings reach EventBridge within about five minutes whatever it is set to.
GUARDDUTY_PUBLISHING_FREQUENCIES: tuple[str, ...] = ("FIFTEEN_MINUTES", "ONE_HOUR", "SIX_HOURS")

#: Routing thresholds on GuardDuty's numeric severity (High starts at 7.0, Medium at 4.0).
GUARDDUTY_URGENT_MIN: Final = 7.0
GUARDDUTY_NORMAL_MIN: Final = 4.0
#: GuardDuty severities run from 1.0 to 10.0 (10.0 reached by Critical attack sequences).
_GUARDDUTY_SEVERITY_RANGE = (0.0, 10.0)


def guardduty_features(aliases: Sequence[str]) -> list[GuardDutyFeature]:
    """Resolve config aliases to features; an unknown alias is an error, not a silent skip."""
    unknown = [alias for alias in aliases if alias not in GUARDDUTY_FEATURES]
    if unknown:
        raise ValueError(
            f"unknown GuardDuty feature(s) {unknown}; known: {sorted(GUARDDUTY_FEATURES)}"
        )
    return [GUARDDUTY_FEATURES[alias] for alias in dict.fromkeys(aliases)]


# --------------------------------------------------------------------------------------------
# Security Hub
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SecurityHubStandard:
    """A Security Hub standard and the ARN that BatchEnableStandards takes for it."""

    alias: str
    title: str
    arn_template: str  # "{partition}" and, for regional standards, "{region}"

    @property
    def regional(self) -> bool:
        return "{region}" in self.arn_template

    def arn(self, region: str) -> str:
        return self.arn_template.format(partition=_partition(region), region=region)


def _standard(
    alias: str, title: str, resource: str, *, regional: bool = True
) -> SecurityHubStandard:
    region = "{region}" if regional else ""
    return SecurityHubStandard(alias, title, f"arn:{{partition}}:securityhub:{region}::{resource}")


#: ARNs as pulumi-aws's StandardsSubscription documents them and as the BatchEnableStandards API
#: example writes them ("arn:aws:securityhub:us-west-1::standards/pci-dss/v/3.2.1"). Findings'
#: ProductFields carry a region-less form that the API does not take. CIS v1.2.0 predates the regional "standards/" form: its ARN is the global
#: "ruleset/" one, with no region. The AWS Resource Tagging Standard exists (AWS documents it as
#: unavailable in Canada West (Calgary), China and GovCloud, which this catalog does not police).
SECURITY_HUB_STANDARDS: Mapping[str, SecurityHubStandard] = MappingProxyType(
    {
        s.alias: s
        for s in (
            _standard(
                "aws-foundational",
                "AWS Foundational Security Best Practices v1.0.0",
                "standards/aws-foundational-security-best-practices/v/1.0.0",
            ),
            _standard(
                "cis-1.2",
                "CIS AWS Foundations Benchmark v1.2.0",
                "ruleset/cis-aws-foundations-benchmark/v/1.2.0",
                regional=False,
            ),
            _standard(
                "cis-1.4",
                "CIS AWS Foundations Benchmark v1.4.0",
                "standards/cis-aws-foundations-benchmark/v/1.4.0",
            ),
            _standard(
                "cis-3.0",
                "CIS AWS Foundations Benchmark v3.0.0",
                "standards/cis-aws-foundations-benchmark/v/3.0.0",
            ),
            _standard("pci-dss", "PCI DSS v3.2.1", "standards/pci-dss/v/3.2.1"),
            _standard("nist-800-53", "NIST SP 800-53 Rev. 5", "standards/nist-800-53/v/5.0.0"),
            _standard(
                "aws-resource-tagging",
                "AWS Resource Tagging Standard v1.0.0",
                "standards/aws-resource-tagging-standard/v/1.0.0",
            ),
        )
    }
)

#: Security Hub control IDs (consolidated "SecurityControlId"): a service prefix that starts with
#: a capital and may hold digits (EC2, S3, Route53), a dot, and a number without leading zeros.
SECURITY_HUB_CONTROL_ID = re.compile(r"^[A-Z][A-Za-z0-9]*\.[1-9][0-9]*$")

#: ASFF Severity.Label, Workflow.Status and RecordState enums, most severe label first.
SECURITY_HUB_LABELS: tuple[str, ...] = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL")
SECURITY_HUB_URGENT_LABELS: tuple[str, ...] = ("CRITICAL", "HIGH")


def standard_arn(alias: str, region: str) -> str:
    """The ARN of a Security Hub standard in a region, e.g. for BatchEnableStandards."""
    try:
        standard = SECURITY_HUB_STANDARDS[alias]
    except KeyError:
        raise ValueError(
            f"unknown Security Hub standard {alias!r}; known: {sorted(SECURITY_HUB_STANDARDS)}"
        ) from None
    return standard.arn(region)


def _partition(region: str) -> str:
    """The ARN partition of a region, from botocore's endpoint data rather than a prefix guess."""
    import botocore.exceptions
    import botocore.session

    try:
        return str(botocore.session.get_session().get_partition_for_region(region))
    except botocore.exceptions.UnknownRegionError:
        raise ValueError(f"unknown AWS region {region!r}") from None


# --------------------------------------------------------------------------------------------
# EventBridge patterns
# --------------------------------------------------------------------------------------------

GUARDDUTY_SOURCE: Final = "aws.guardduty"
GUARDDUTY_DETAIL_TYPE: Final = "GuardDuty Finding"
SECURITYHUB_SOURCE: Final = "aws.securityhub"
SECURITYHUB_DETAIL_TYPE: Final = "Security Hub Findings - Imported"
#: Trusted Advisor is a global service whose events arrive on us-east-1's default bus (the region
#: of every sample found), so its rule belongs there; AWS rates their delivery "best effort".
TRUSTED_ADVISOR_SOURCE: Final = "aws.trustedadvisor"
TRUSTED_ADVISOR_DETAIL_TYPE: Final = "Trusted Advisor Check Item Refresh Notification"
TRUSTED_ADVISOR_STATUSES: tuple[str, ...] = ("ERROR", "WARN", "OK")


def guardduty_pattern(min_severity: float, below: float | None = None) -> EventPattern:
    """GuardDuty findings with ``min_severity <= severity`` and, if given, ``severity < below``.

    The bounds are half-open so adjacent routes (>= 7 urgent, 4 to < 7 normal) never overlap
    and never leave a gap: 6.95 is normal, 7.0 is urgent.
    """
    low, high = _GUARDDUTY_SEVERITY_RANGE
    if not low <= min_severity <= high:
        raise ValueError(f"GuardDuty severity {min_severity} outside {low}..{high}")
    numeric: list[str | float] = [">=", float(min_severity)]
    if below is not None:
        if below <= min_severity:
            raise ValueError(f"empty severity range: {min_severity} <= severity < {below}")
        numeric += ["<", float(below)]
    return {
        "source": [GUARDDUTY_SOURCE],
        "detail-type": [GUARDDUTY_DETAIL_TYPE],
        "detail": {"severity": [{"numeric": numeric}]},
    }


def guardduty_routes() -> dict[str, EventPattern]:
    """The two GuardDuty routes; findings below 4.0 (Low) notify nobody."""
    return {
        "urgent": guardduty_pattern(GUARDDUTY_URGENT_MIN),
        "normal": guardduty_pattern(GUARDDUTY_NORMAL_MIN, GUARDDUTY_URGENT_MIN),
    }


def securityhub_pattern(
    labels: Sequence[str], *, exclude_products: Sequence[str] = ()
) -> EventPattern:
    """New, active Security Hub findings whose severity label is one of ``labels``.

    ``detail.findings`` is an array of objects; EventBridge matches a nested field inside any
    element, and Security Hub sends one finding per event, so all conditions hold for the same
    finding. ``exclude_products`` (ASFF ``ProductName``, e.g. "GuardDuty") drops findings that
    another rule already routes, so a GuardDuty finding is not announced twice.
    """
    chosen = _checked(labels, SECURITY_HUB_LABELS, "Security Hub severity label")
    findings: dict[str, Any] = {
        "Severity": {"Label": chosen},
        "Workflow": {"Status": ["NEW"]},
        "RecordState": ["ACTIVE"],
    }
    if exclude_products:
        findings["ProductName"] = [{"anything-but": list(dict.fromkeys(exclude_products))}]
    return {
        "source": [SECURITYHUB_SOURCE],
        "detail-type": [SECURITYHUB_DETAIL_TYPE],
        "detail": {"findings": findings},
    }


def trusted_advisor_pattern(statuses: Sequence[str]) -> EventPattern:
    """Trusted Advisor check-item refreshes whose status is one of ``statuses``."""
    chosen = _checked(statuses, TRUSTED_ADVISOR_STATUSES, "Trusted Advisor status")
    return {
        "source": [TRUSTED_ADVISOR_SOURCE],
        "detail-type": [TRUSTED_ADVISOR_DETAIL_TYPE],
        "detail": {"status": chosen},
    }


def route_securityhub(notify: Sequence[str]) -> dict[str, list[str]]:
    """Split the labels to notify into routes: CRITICAL/HIGH urgent, the rest normal.

    A route with no label is left out, because EventBridge rejects an empty match list.
    """
    chosen = set(_checked(notify, SECURITY_HUB_LABELS, "Security Hub severity label"))
    routes = {
        "urgent": [label for label in SECURITY_HUB_URGENT_LABELS if label in chosen],
        "normal": [
            label
            for label in SECURITY_HUB_LABELS
            if label in chosen and label not in SECURITY_HUB_URGENT_LABELS
        ],
    }
    return {route: labels for route, labels in routes.items() if labels}


def _checked(values: Sequence[str], allowed: Sequence[str], what: str) -> list[str]:
    # A bare string is a Sequence[str] too; "HIGH" would become ["H", "I", "G", "H"].
    if isinstance(values, str):
        raise TypeError(f"{what}s must be a list, not the string {values!r}")
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise ValueError(f"unknown {what}(s) {unknown}; allowed: {list(allowed)}")
    if not values:
        raise ValueError(f"at least one {what} is required")
    return list(dict.fromkeys(values))


# --------------------------------------------------------------------------------------------
# Input transformers -> Chatbot custom notifications
# --------------------------------------------------------------------------------------------


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


def _template(notification: Mapping[str, Any]) -> str:
    """Serialise a notification into an InputTemplate.

    EventBridge fills a placeholder in two ways. Standing alone as a JSON value it writes the
    extracted value as JSON, quoted and escaped. Inside a quoted string it pastes the value raw:
    "EventBridge doesn't escape values extracted by Input Path, when populating the Input
    Template" (EventBridge User Guide, input transformation, common issues). So free text that
    may hold quotes, backslashes or newlines (finding titles) only ever stands alone, and text
    composed around placeholders only embeds identifiers: account IDs, regions, ARNs, enums.
    json.dumps writes the static text, so its quotes and newlines are escaped correctly.
    """
    return _RAW.sub(r"<\1>", json.dumps(notification, ensure_ascii=False))


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


#: GuardDuty has no uniform resource ARN: each resource type fills its own details block. The
#: event carries only the block for the finding's resource, so the others are empty strings.
_GUARDDUTY_RESOURCE_IDS: Mapping[str, str] = MappingProxyType(
    {
        "instanceId": "$.detail.resource.instanceDetails.instanceId",
        "accessKeyUser": "$.detail.resource.accessKeyDetails.userName",
        "bucketName": "$.detail.resource.s3BucketDetails[0].name",
        "eksCluster": "$.detail.resource.eksClusterDetails.name",
        "ecsCluster": "$.detail.resource.ecsClusterDetails.name",
        "dbInstance": "$.detail.resource.rdsDbInstanceDetails.dbInstanceIdentifier",
        "lambdaFunction": "$.detail.resource.lambdaDetails.functionName",
    }
)


def guardduty_transformer() -> InputTransformer:
    """A GuardDuty finding as a Chatbot notification: title, severity, account, region,
    resource and a link to the finding in the GuardDuty console."""
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
        "resourceType": "$.detail.resource.resourceType",
        **_GUARDDUTY_RESOURCE_IDS,
    }
    resource_ids = " ".join(f"<{name}>" for name in _GUARDDUTY_RESOURCE_IDS)
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
            f"*Resource:* <resourceType> {resource_ids}",
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
        "product": f"{finding}.ProductName",
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
            ":warning: *Security Hub finding* from <product>",
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


def trusted_advisor_transformer() -> InputTransformer:
    """A Trusted Advisor check-item refresh as a Chatbot notification: check name, status,
    account, the item's region, its resource and a link to the Trusted Advisor console."""
    paths = {
        "eventId": "$.id",
        "checkName": "$.detail.check-name",
        "status": "$.detail.status",
        "account": "$.account",
        # The flagged item's region; empty for global checks, which have no Region column.
        "region": "$.detail.check-item-detail.Region",
        "resourceId": "$.detail.resource_id",
        "itemId": "$.detail.uuid",
    }
    # The event names the check but not its check ID, so the link opens the console's
    # dashboard rather than the check itself.
    link = "https://console.aws.amazon.com/trustedadvisor/home#/dashboard"
    notification = _notification(
        event_id="<eventId>",
        title=_raw("checkName"),
        description=[
            ":mag: *Trusted Advisor check*",
            "*Status:* <status>",
            "*Account:* `<account>`",
            # No code spans: the region (global checks) and resource ID may be empty, and an
            # empty span shows as two stray backticks.
            "*Region:* <region>",
            "*Resource:* <resourceId>",
            f"*Console:* {link}",
        ],
        next_steps=["Open the check from the console link above and fix or exclude the item."],
        keywords=["Trusted Advisor", "<status>"],
        thread_id="trusted-advisor-<itemId>",
        summary="Trusted Advisor <status> in account <account>",
        event_type="TrustedAdvisorCheckItemRefresh",
        context={"itemId": "<itemId>"},
    )
    return {"input_paths": paths, "input_template": _template(notification)}


TRANSFORMERS: Mapping[str, Callable[[], InputTransformer]] = MappingProxyType(
    {
        "guardduty": guardduty_transformer,
        "securityhub": securityhub_transformer,
        "trusted-advisor": trusted_advisor_transformer,
    }
)
