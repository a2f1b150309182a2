"""SNS topics are encrypted with a rotating customer managed key their publishers can use."""

from __future__ import annotations

import fnmatch
from typing import Any

from pulumi_policy import EnforcementLevel, PolicyResource, Severity, StackValidationArgs
from pulumi_policy.proxy import UnknownValueError

from policies.framework import Meta, Report, as_list, policy_document, stack_policy

META = Meta(
    name="sns-encrypted",
    description="Every SNS topic is encrypted with KMS. A key declared in the stack rotates, and "
    "when EventBridge rules or CloudWatch alarms publish to the topic, the key policy lets "
    "events.amazonaws.com or cloudwatch.amazonaws.com use kms:GenerateDataKey* and kms:Decrypt.",
    severity=Severity.HIGH,
    enforcement=EnforcementLevel.MANDATORY,
    remediation="publish to guard's alert topics (components/alerts.py) instead of a topic of "
    "your own; otherwise set kms_master_key_id to a customer managed key with rotation on "
    "and a key policy that admits the publishing services.",
    control="Security Hub SNS.1",
)
TOPIC = "aws:sns/topic:Topic"
KEY = "aws:kms/key:Key"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
ALARMS = {"aws:cloudwatch/metricAlarm:MetricAlarm", "aws:cloudwatch/compositeAlarm:CompositeAlarm"}
ALARM_ACTIONS = ("alarmActions", "okActions", "insufficientDataActions")
AWS_MANAGED_KEY = "alias/aws/sns"
#: What SNS asks KMS for on behalf of a publisher of an encrypted topic.
PUBLISH_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")
_UNKNOWN = object()


def _get(resource: PolicyResource, key: str) -> Any:
    try:
        return resource.props.get(key)
    except UnknownValueError:
        return _UNKNOWN


def _depends(resource: PolicyResource, keys: tuple[str, ...], on: PolicyResource) -> bool:
    return any(d.urn == on.urn for k in keys for d in resource.property_dependencies.get(k, []))


def _publishers(topic: PolicyResource, resources: list[PolicyResource]) -> set[str]:
    """The AWS services that publish to the topic, from the resources that name it."""
    services = set()
    for r in resources:
        if r.resource_type == TARGET and _depends(r, ("arn",), topic):
            services.add("events.amazonaws.com")
        elif r.resource_type in ALARMS and _depends(r, ALARM_ACTIONS, topic):
            services.add("cloudwatch.amazonaws.com")
    return services


def _allows(document: dict[str, Any], service: str, action: str) -> bool:
    for statement in as_list(document.get("Statement")):
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal")
        services = as_list(principal.get("Service")) if isinstance(principal, dict) else []
        if service not in services:
            continue
        if any(fnmatch.fnmatchcase(action, str(p)) for p in as_list(statement.get("Action"))):
            return True
    return False


def _check_key(
    topic: PolicyResource, key: PolicyResource, publishers: set[str], report: Report
) -> None:
    if _get(key, "enableKeyRotation") is not True:
        report(f"the key {key.name} of topic {topic.name} does not rotate.", key.urn)
    if not publishers:
        return
    document = _get(key, "policy")
    if document is _UNKNOWN:
        report(
            f"the policy of key {key.name} is only known after the update, so its use by "
            f"{', '.join(sorted(publishers))} cannot be checked: build it from plain data.",
            key.urn,
        )
        return
    parsed = policy_document(document) or {}
    for service in sorted(publishers):
        missing = [a for a in PUBLISH_ACTIONS if not _allows(parsed, service, a)]
        if missing:
            report(
                f"{service} publishes to topic {topic.name}, but the policy of key {key.name} "
                f"does not allow it {' and '.join(missing)}: every message would be dropped.",
                key.urn,
            )


def check(args: StackValidationArgs, report: Report) -> None:
    keys = {r.urn: r for r in args.resources if r.resource_type == KEY}
    for topic in (r for r in args.resources if r.resource_type == TOPIC):
        publishers = _publishers(topic, args.resources)
        declared = [
            keys[d.urn]
            for d in topic.property_dependencies.get("kmsMasterKeyId", [])
            if d.urn in keys
        ]
        if declared:
            for key in declared:
                _check_key(topic, key, publishers, report)
            continue
        key_id = _get(topic, "kmsMasterKeyId")
        if key_id is _UNKNOWN:
            continue  # computed from a resource outside this stack's declarations
        if not key_id:
            report(f"topic {topic.name} is not encrypted (no kms_master_key_id).", topic.urn)
        elif key_id == AWS_MANAGED_KEY and publishers:
            report(
                f"topic {topic.name} uses the AWS managed key {AWS_MANAGED_KEY}, which "
                f"{', '.join(sorted(publishers))} cannot use: their messages would be dropped.",
                topic.urn,
            )


POLICY = stack_policy(META, check)
