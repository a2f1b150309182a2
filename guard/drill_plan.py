"""What ``guard drill ddos`` simulates, read from the stack's own plan.

The drill must never claim what the deployed stack would not do, so it does not rebuild the
escalation path from the config: it runs the stack's real Pulumi program under mocks
(:func:`guard.plan.run_program`) and reads, from the recorded resources,

* the endpoint's alarm: an ``aws:cloudwatch/metricAlarm:MetricAlarm`` on ``AWS/DDoSProtection``
  ``DDoSDetected`` whose ``dimensions.ResourceArn`` is the endpoint's ARN, its name, region and
  alarm actions (the topics it notifies);
* the escalation function: an ``aws:lambda/function:Function`` running the escalation handler's
  code, subscribed (``aws:sns/topicSubscription:TopicSubscription``, protocol ``lambda``) to one
  of those topics and allowed to be invoked by it (``aws:lambda/permission:Permission``), with
  its environment variables as deployed.

When a piece is missing, :func:`drill_target` raises :class:`DrillRefusal` saying why, using the
config only to explain (no ``guard:shield``, ``shield.protect: false``, no ``escalation``).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from guard.shield_alarms import DDOS_METRIC, DDOS_NAMESPACE, watched_resource

if TYPE_CHECKING:
    from guard.config.products import Endpoint
    from guard.config.stack import StackConfig
    from guard.plan import PlanResult, ResourceRecord

ALARM_TYPE = "aws:cloudwatch/metricAlarm:MetricAlarm"
FUNCTION_TYPE = "aws:lambda/function:Function"
SUBSCRIPTION_TYPE = "aws:sns/topicSubscription:TopicSubscription"
PERMISSION_TYPE = "aws:lambda/permission:Permission"
SLACK_TYPE = "aws:chatbot/slackChannelConfiguration:SlackChannelConfiguration"
#: The escalation function's code folder and handler (components/shield.py); the drill runs this
#: very handler in-process, so a function running other code is not one it can simulate.
ESCALATION_CODE = "functions/srt_escalation"
ESCALATION_HANDLER = "handler.lambda_handler"
SNS_PRINCIPAL = "sns.amazonaws.com"
#: How the plan records inputs it cannot show (guard.plan._plain).
_UNSHOWN_VALUES = ("[unknown]", "[secret]")


class DrillRefusal(Exception):
    """The deployed stack would not escalate this endpoint's DDoS alarm; the message says why."""


@dataclass(frozen=True)
class PlannedAlarm:
    """The endpoint's DDoSDetected alarm as the plan declares it."""

    name: str
    region: str
    account_id: str
    description: str
    resource_arn: str
    actions: tuple[str, ...]
    statistic: str
    period: int
    evaluation_periods: int
    datapoints_to_alarm: int
    threshold: float
    comparison_operator: str
    treat_missing_data: str
    #: Who else the alarm's topics reach (Slack channels through AWS Chatbot, subscribers).
    notified: tuple[str, ...] = ()

    @property
    def arn(self) -> str:
        return f"arn:aws:cloudwatch:{self.region}:{self.account_id}:alarm:{self.name}"


@dataclass(frozen=True)
class PlannedFunction:
    """The escalation function subscribed to the alarm's topic, as the plan declares it."""

    name: str
    arn: str
    region: str
    topic_arn: str
    environment: dict[str, str]


@dataclass(frozen=True)
class DrillTarget:
    """Everything the drill simulates for one endpoint, all of it taken from the plan."""

    stack: str
    product: str
    endpoint: str
    alarm: PlannedAlarm
    function: PlannedFunction

    @property
    def resource_arn(self) -> str:
        return self.alarm.resource_arn

    @property
    def account_id(self) -> str:
        return self.alarm.account_id


def _int(value: Any, default: int) -> int:
    return (
        int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else default
    )


def _ddos_alarms(plan: PlanResult, resource_arn: str) -> list[ResourceRecord]:
    return [
        record
        for record in plan.resources
        if record.type == ALARM_TYPE and watched_resource(record.inputs) == resource_arn
    ]


def _planned_alarm(record: ResourceRecord, account_id: str, resource_arn: str) -> PlannedAlarm:
    inputs = record.inputs
    actions = inputs.get("alarmActions")
    threshold = inputs.get("threshold")
    return PlannedAlarm(
        name=str(inputs.get("name") or record.name),
        region=record.region or "",
        account_id=account_id,
        description=str(inputs.get("alarmDescription") or ""),
        resource_arn=resource_arn,
        actions=tuple(a for a in actions if isinstance(a, str))
        if isinstance(actions, list)
        else (),
        statistic=str(inputs.get("statistic") or "Sum"),
        period=_int(inputs.get("period"), 60),
        evaluation_periods=_int(inputs.get("evaluationPeriods"), 1),
        datapoints_to_alarm=_int(
            inputs.get("datapointsToAlarm"), _int(inputs.get("evaluationPeriods"), 1)
        ),
        threshold=float(threshold) if isinstance(threshold, (int, float)) else 1.0,
        comparison_operator=str(inputs.get("comparisonOperator") or ""),
        treat_missing_data=str(inputs.get("treatMissingData") or "missing"),
    )


def _notified(plan: PlanResult, topics: Sequence[str]) -> tuple[str, ...]:
    """The people-facing receivers of ``topics``: Slack channels and non-Lambda subscriptions."""
    found: list[str] = []
    for record in plan.resources:
        inputs = record.inputs
        if record.type == SLACK_TYPE:
            arns = inputs.get("snsTopicArns")
            if isinstance(arns, list) and any(t in arns for t in topics):
                found.append(f"Slack channel {inputs.get('slackChannelId')}")
        elif (
            record.type == SUBSCRIPTION_TYPE
            and inputs.get("topic") in topics
            and inputs.get("protocol") != "lambda"
        ):
            found.append(f"{inputs.get('protocol')} {inputs.get('endpoint')}")
    return tuple(dict.fromkeys(found))


def _paged(alarm: PlannedAlarm) -> str:
    return (
        ", ".join(alarm.notified)
        if alarm.notified
        else "no person (no Slack channel or subscriber)"
    )


def _arn_of(record: ResourceRecord) -> str | None:
    arn = record.state.get("arn")
    return arn if isinstance(arn, str) else None


def _is_escalation_code(record: ResourceRecord) -> bool:
    code = record.inputs.get("code")
    path = code.get("path") if isinstance(code, dict) else None
    return (
        isinstance(path, str)
        and path.rstrip("/") == ESCALATION_CODE
        and record.inputs.get("handler") == ESCALATION_HANDLER
    )


def _sns_may_invoke(plan: PlanResult, function: ResourceRecord, topic_arn: str) -> bool:
    """Whether a resource policy statement lets ``topic_arn`` invoke ``function``."""
    names = {function.inputs.get("name"), _arn_of(function)}
    for record in plan.resources:
        if record.type != PERMISSION_TYPE:
            continue
        inputs = record.inputs
        if (
            inputs.get("function") in names
            and inputs.get("action") in ("lambda:InvokeFunction", "lambda:*")
            and inputs.get("principal") == SNS_PRINCIPAL
            and inputs.get("sourceArn") in (None, topic_arn)
        ):
            return True
    return False


def _environment(record: ResourceRecord) -> dict[str, str]:
    environment = record.inputs.get("environment")
    variables = environment.get("variables") if isinstance(environment, dict) else None
    if not isinstance(variables, dict):
        return {}
    bad = sorted(k for k, v in variables.items() if not isinstance(v, str) or v in _UNSHOWN_VALUES)
    if bad:
        # A value the plan cannot show is a value the drill cannot run the handler with.
        raise DrillRefusal(
            f"the escalation function {record.inputs.get('name')}'s environment variables "
            f"{', '.join(bad)} are not known at plan time; the drill cannot run it as deployed"
        )
    return {str(k): str(v) for k, v in variables.items()}


def _subscribed_escalation(
    plan: PlanResult, topics: Sequence[str]
) -> tuple[PlannedFunction | None, list[str]]:
    """The escalation function subscribed to one of ``topics``, and notes on near misses."""
    functions = [r for r in plan.resources if r.type == FUNCTION_TYPE]
    by_arn = {arn: r for r in functions if (arn := _arn_of(r)) is not None}
    notes: list[str] = []
    for topic in topics:
        for sub in plan.resources:
            if sub.type != SUBSCRIPTION_TYPE or sub.inputs.get("topic") != topic:
                continue
            if sub.inputs.get("protocol") != "lambda":
                continue
            function = by_arn.get(str(sub.inputs.get("endpoint")))
            if function is None:
                notes.append(
                    f"{topic} invokes {sub.inputs.get('endpoint')}, which this stack does not declare"
                )
                continue
            name = str(function.inputs.get("name") or function.name)
            if not _is_escalation_code(function):
                notes.append(f"{name} is subscribed to {topic} but does not run {ESCALATION_CODE}")
                continue
            if not _sns_may_invoke(plan, function, topic):
                notes.append(
                    f"{name} is subscribed to {topic}, but no lambda:InvokeFunction permission "
                    f"lets {SNS_PRINCIPAL} invoke it from that topic, so SNS deliveries fail"
                )
                continue
            return (
                PlannedFunction(
                    name=name,
                    arn=_arn_of(function) or "",
                    region=function.region or "",
                    topic_arn=topic,
                    environment=_environment(function),
                ),
                notes,
            )
    return None, notes


def drill_target(
    plan: PlanResult, config: StackConfig, *, stack: str, product: str, endpoint: Endpoint
) -> DrillTarget:
    """Read the endpoint's DDoS alarm and its escalation function from ``plan``.

    Raises :class:`DrillRefusal` naming why the deployed stack would not escalate: no alarm
    (no ``guard:shield``, ``shield.protect: false``), an alarm that notifies nobody, or no
    escalation function subscribed to and invocable from the alarm's topic.
    """
    label = f"{product}/{endpoint.name}"
    records = _ddos_alarms(plan, endpoint.arn)
    if not records:
        if config.shield is None:
            why = (
                "the stack has no guard:shield section, so Shield Advanced protects none of its "
                "endpoints"
            )
        elif endpoint.shield is not None and not endpoint.shield.protect:
            why = f"{label} has shield: {{protect: false}}, so Shield Advanced does not protect it"
        else:
            why = "the stack's program declares none for its ARN"
        raise DrillRefusal(
            f"{label} has no {DDOS_NAMESPACE} {DDOS_METRIC} alarm in the plan: {why}. "
            "No alarm fires for it and nothing escalates, so there is nothing to rehearse."
        )
    record = sorted(records, key=lambda r: r.urn)[0]
    alarm = _planned_alarm(record, config.account_id, endpoint.arn)
    alarm = replace(alarm, notified=_notified(plan, alarm.actions))
    if record.inputs.get("actionsEnabled") is False:
        raise DrillRefusal(
            f"alarm {alarm.name} has actions_enabled: false: it notifies nobody when it fires, "
            "so nothing escalates"
        )
    if not alarm.actions:
        raise DrillRefusal(
            f"alarm {alarm.name} has no alarm actions: it notifies nobody when it fires, so "
            "nothing escalates"
        )
    function, notes = _subscribed_escalation(plan, alarm.actions)
    if function is None:
        topics = ", ".join(alarm.actions)
        if config.shield is not None and config.shield.escalation is None:
            why = "guard:shield.escalation is not set, so the stack has no escalation function"
        else:
            why = f"no escalation function ({ESCALATION_CODE}) is subscribed to it"
        detail = "".join(f"; {note}" for note in notes)
        raise DrillRefusal(
            f"alarm {alarm.name} notifies {topics}, but {why}{detail}. When it fires, it "
            f"reaches {_paged(alarm)}, but nobody opens a support case for the SRT."
        )
    return DrillTarget(
        stack=stack, product=product, endpoint=endpoint.name, alarm=alarm, function=function
    )


# --------------------------------------------------------------------------------------------
# The event the function receives when the planned alarm fires.
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


def alarm_time(moment: datetime) -> str:
    # CloudWatch's StateChangeTime format, e.g. "2015-06-03T17:43:27.123+0000".
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"


def build_alarm_event(alarm: PlannedAlarm, *, topic_arn: str, when: datetime) -> dict[str, Any]:
    """Build the SNS-to-Lambda event for ``alarm`` going OK -> ALARM, delivered via ``topic_arn``.

    The message follows CloudWatch's alarm notification JSON (AlarmName, AlarmDescription,
    AWSAccountId, NewStateValue, NewStateReason, StateChangeTime, Region, AlarmArn,
    OldStateValue, Trigger{...}) inside the standard Lambda SNS record envelope; names, actions
    and the trigger's settings are the planned alarm's own.
    """
    region_name = _region_display_name(alarm.region)
    stamp = alarm_time(when)
    datapoint = when.astimezone(UTC).strftime("%d/%m/%y %H:%M:%S")
    threshold = f"{alarm.threshold:.1f}"
    message = {
        "AlarmName": alarm.name,
        "AlarmDescription": alarm.description,
        "AWSAccountId": alarm.account_id,
        "AlarmConfigurationUpdatedTimestamp": stamp,
        "NewStateValue": "ALARM",
        "NewStateReason": (
            f"Threshold Crossed: 1 out of the last {alarm.evaluation_periods} datapoints "
            f"[{threshold} ({datapoint})] was greater than or equal to the threshold "
            f"({threshold}) (minimum {alarm.datapoints_to_alarm} datapoint for OK -> ALARM "
            "transition)."
        ),
        "StateChangeTime": stamp,
        "Region": region_name,
        "AlarmArn": alarm.arn,
        "OldStateValue": "OK",
        "OKActions": [],
        "AlarmActions": list(alarm.actions),
        "InsufficientDataActions": [],
        "Trigger": {
            "MetricName": DDOS_METRIC,
            "Namespace": DDOS_NAMESPACE,
            "StatisticType": "Statistic",
            "Statistic": alarm.statistic.upper(),
            "Unit": None,
            "Dimensions": [{"value": alarm.resource_arn, "name": "ResourceArn"}],
            "Period": alarm.period,
            "EvaluationPeriods": alarm.evaluation_periods,
            "DatapointsToAlarm": alarm.datapoints_to_alarm,
            "ComparisonOperator": alarm.comparison_operator,
            "Threshold": alarm.threshold,
            "TreatMissingData": alarm.treat_missing_data,
            "EvaluateLowSampleCountPercentile": "",
        },
    }
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
                    "Subject": f'ALARM: "{alarm.name}" in {region_name}',
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
