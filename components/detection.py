"""Threat detection: GuardDuty, Security Hub and Trusted Advisor, announced through the alert routes.

GuardDuty and Security Hub run in the stack's region; Trusted Advisor publishes its events in
us-east-1 only, so its rule lives there and uses that region's topics. GuardDuty and Security
Hub rules turn the event into an AWS Chatbot custom notification (title, severity, account,
region, resource and a console link) with input transformers (``guard.detection_messages``);
GuardDuty has one rule per route and resource type, because a transformer cannot choose the
details block to read. Trusted Advisor's rule invokes a small formatter function
(``functions/trusted_advisor``) that publishes to the normal topic in us-east-1: the values of
its events sit under keys no InputPath can reach. Patterns are JSON built from plain data, so
the plan and the policy pack see exactly what EventBridge will match.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, cast

import pulumi
import pulumi_aws as aws

from components.iam import PermissionsBoundary
from components.lambda_function import (
    FunctionSpec,
    errors_alarm,
    invoked_by_rule,
    lambda_function,
)
from components.providers import GLOBAL_REGION, Providers, opts
from components.routes import AlertRoutes, Route
from components.tags import guard_tags
from guard.config.alerts import SecurityHubConfig
from guard.config.stack import StackConfig
from guard.detection_catalog import (
    EventPattern,
    guardduty_features,
    guardduty_rules,
    route_securityhub,
    securityhub_pattern,
    standard_arn,
    trusted_advisor_pattern,
)
from guard.detection_messages import (
    InputTransformer,
    guardduty_transformer,
    securityhub_transformer,
)

#: GuardDuty findings also reach Security Hub; its own rule announces them, so the Security Hub
#: rules leave them out rather than post every GuardDuty finding twice.
ANNOUNCED_ELSEWHERE = ("GuardDuty",)

#: The Trusted Advisor formatter: the folder, relative to the repository root where Pulumi runs.
FORMATTER_CODE = "functions/trusted_advisor"
FORMATTER_HANDLER = "handler.lambda_handler"
FORMATTER_RUNTIME = "python3.12"
FORMATTER_TIMEOUT_SECONDS = 30
FORMATTER_LOG_DAYS = 30


def formatter_name(stack: str) -> str:
    return f"guard-{stack}-trusted-advisor"


def formatter_policy(*, stack: str, account_id: str, topic_arn: str) -> dict[str, Any]:
    """The formatter's permissions: publish to the normal topic in us-east-1, write its logs."""
    region = GLOBAL_REGION
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PublishAlerts",
                "Effect": "Allow",
                "Action": ["sns:Publish"],
                "Resource": [topic_arn],
            },
            {
                # The alert topics are encrypted: SNS asks KMS for a data key as the publisher.
                # AlertRoutes exposes topics, not their key: "any key of the region, via SNS".
                "Sid": "EncryptThroughSns",
                "Effect": "Allow",
                "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
                "Resource": [f"arn:aws:kms:{region}:{account_id}:key/*"],
                "Condition": {"StringEquals": {"kms:ViaService": f"sns.{region}.amazonaws.com"}},
            },
            {
                "Sid": "WriteOwnLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [
                    f"arn:aws:logs:{region}:{account_id}:log-group:/aws/lambda/"
                    f"{formatter_name(stack)}:*"
                ],
            },
        ],
    }


class ThreatDetection(pulumi.ComponentResource):
    """GuardDuty, Security Hub and Trusted Advisor, each finding routed to its Slack channel."""

    def __init__(
        self,
        config: StackConfig,
        *,
        stack: str,
        providers: Providers,
        routes: AlertRoutes | None,
        boundary: PermissionsBoundary,
        opts_: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("guard:detection:ThreatDetection", f"guard-{stack}-detection", None, opts_)
        detection = config.detection
        if detection is None or routes is None:
            # The config cross checks reject guard:detection without guard:alerts first.
            raise ValueError("ThreatDetection needs guard:detection and guard:alerts")
        self._stack = stack
        self._routes = routes
        self._tags = guard_tags(stack)
        region = config.region
        regional = providers.regional

        # An organization's delegated administrator enables GuardDuty and Security Hub here
        # (guard:organization): this stack only routes its own account's findings.
        managed = detection.managed_by == "organization"
        if not managed:
            account_detector(
                self,
                "guardduty",
                detection.guardduty.features,
                detection.guardduty.publishing_frequency,
                regional,
                self._tags,
            )
        # One rule per route and resource type: each message reads its type's details block.
        for rule in guardduty_rules():
            kind = rule.resource.resource_type if rule.resource else "other resource type"
            self._rule(
                rule.name,
                f"GuardDuty findings on a {kind} for the {rule.route} channel",
                rule.pattern,
                cast(Route, rule.route),
                region,
                guardduty_transformer(rule.resource),
                regional,
            )

        hub = detection.security_hub
        account = None if managed else self._security_hub(hub, region, regional)
        for route, labels in route_securityhub(hub.notify).items():
            self._rule(
                f"securityhub-{route}",
                f"Security Hub {', '.join(labels)} findings (new, active)",
                securityhub_pattern(labels, exclude_products=ANNOUNCED_ELSEWHERE),
                cast(Route, route),
                region,
                securityhub_transformer(),
                regional,
                depends_on=[account] if account is not None else None,
            )

        # Trusted Advisor: no resource to enable (the checks run for every account); a rule in
        # us-east-1 whose formatter function posts to the normal route there.
        self._trusted_advisor(config, detection.trusted_advisor.notify, boundary, providers)
        self.register_outputs({})

    def _security_hub(
        self, hub: SecurityHubConfig, region: str, regional: aws.Provider
    ) -> aws.securityhub.Account:
        """The account's own hub, its standards and disabled controls."""
        account = account_hub(self, regional)
        # One lookup per standard: resolving an ARN reads botocore's partition data.
        arns = {alias: standard_arn(alias, region) for alias in hub.standards}
        subscriptions: dict[str, aws.securityhub.StandardsSubscription] = {}
        for alias in hub.standards:
            subscriptions[alias] = aws.securityhub.StandardsSubscription(
                f"securityhub-{alias}",
                standards_arn=arns[alias],
                opts=opts(self, regional, depends_on=[account]),
            )
        for control in hub.disabled_controls:
            for alias in control.standards or hub.standards:
                aws.securityhub.StandardsControlAssociation(
                    f"securityhub-{alias}-{control.control}",
                    standards_arn=arns[alias],
                    security_control_id=control.control,
                    association_status="DISABLED",
                    updated_reason=control.reason,
                    opts=opts(self, regional, depends_on=[subscriptions[alias]]),
                )
        return account

    def _trusted_advisor(
        self,
        config: StackConfig,
        notify: list[str],
        boundary: PermissionsBoundary,
        providers: Providers,
    ) -> None:
        from components.alerts import topic_arn as alert_topic_arn

        provider = providers.us_east_1
        name = formatter_name(self._stack)
        topic = self._routes.topic_arn("normal", GLOBAL_REGION)
        function = lambda_function(
            self,
            FunctionSpec(
                name=name,
                description="Posts Trusted Advisor check results to the normal alert route",
                role_description="guard Trusted Advisor formatter: post to the normal route",
                code=FORMATTER_CODE,
                handler=FORMATTER_HANDLER,
                runtime=FORMATTER_RUNTIME,
                timeout=FORMATTER_TIMEOUT_SECONDS,
                log_days=FORMATTER_LOG_DAYS,
                # The same ARN AlertRoutes hands out, as plain text for the policy pack.
                policy=formatter_policy(
                    stack=self._stack,
                    account_id=config.account_id,
                    topic_arn=alert_topic_arn(
                        self._stack, "normal", GLOBAL_REGION, config.account_id
                    ),
                ),
                environment={"TOPIC_ARN": topic, "STACK": self._stack},
            ),
            provider=provider,
            tags=self._tags,
            boundary=boundary,
        )
        # EventBridge invokes asynchronously; the function publishes last, so Lambda's retries
        # after an error cannot post twice. A result still lost raises the alarm below.
        aws.lambda_.FunctionEventInvokeConfig(
            "trusted-advisor",
            function_name=function.name,
            maximum_retry_attempts=2,
            opts=opts(self, provider),
        )
        rule = self._rule_only(
            "trusted-advisor",
            f"Trusted Advisor checks turning {', '.join(notify)}",
            trusted_advisor_pattern(notify),
            "normal",
            provider,
        )
        invoked_by_rule(
            self,
            "trusted-advisor",
            rule=rule,
            function=function,
            provider=provider,
            target_id="normal-formatter",
        )
        errors_alarm(
            self,
            "trusted-advisor-failed",
            function_name=name,
            function=function,
            description="The Trusted Advisor formatter failed: a check result did not "
            f"reach Slack. Read the /aws/lambda/{name} log group (docs/alerts.md).",
            topic_arn=topic,
            provider=provider,
            tags=self._tags,
        )

    def _rule_only(
        self,
        name: str,
        description: str,
        pattern: EventPattern,
        route: Route,
        provider: aws.Provider,
        depends_on: list[pulumi.Resource] | None = None,
    ) -> aws.cloudwatch.EventRule:
        return event_rule(
            self, name, self._stack, description, pattern, route, provider, self._tags, depends_on
        )

    def _rule(
        self,
        name: str,
        description: str,
        pattern: EventPattern,
        route: Route,
        region: str,
        transformer: InputTransformer,
        provider: aws.Provider,
        depends_on: list[pulumi.Resource] | None = None,
    ) -> None:
        rule = self._rule_only(name, description, pattern, route, provider, depends_on)
        announce_to(
            self, name, rule, route, self._routes.topic_arn(route, region), transformer, provider
        )


def event_rule(
    parent: pulumi.Resource,
    name: str,
    stack: str,
    description: str,
    pattern: EventPattern,
    route: Route,
    provider: aws.Provider,
    tags: dict[str, str],
    depends_on: list[pulumi.Resource] | None = None,
) -> aws.cloudwatch.EventRule:
    """An EventBridge rule guard names, describes and tags with the route it feeds."""
    return aws.cloudwatch.EventRule(
        name,
        name=f"guard-{stack}-{name}",
        description=f"guard: {description}, to the {route} channel",
        event_pattern=json.dumps(pattern),
        tags={**tags, "route": route},
        opts=opts(parent, provider, depends_on=depends_on or []),
    )


def announce_to(
    parent: pulumi.Resource,
    name: str,
    rule: aws.cloudwatch.EventRule,
    route: Route,
    topic_arn: pulumi.Input[str],
    transformer: InputTransformer,
    provider: aws.Provider,
) -> aws.cloudwatch.EventTarget:
    """The rule's events, as Chatbot notifications, to the route's topic."""
    return aws.cloudwatch.EventTarget(
        name,
        rule=rule.name,
        target_id=f"{route}-alerts",
        arn=topic_arn,
        input_transformer={
            "input_paths": transformer["input_paths"],
            "input_template": transformer["input_template"],
        },
        opts=opts(parent, provider),
    )


def account_detector(
    parent: pulumi.Resource,
    name: str,
    features: Sequence[str],
    publishing_frequency: str,
    provider: aws.Provider,
    tags: dict[str, str],
) -> aws.guardduty.Detector:
    """An account's GuardDuty detector with its features (config aliases) enabled.

    The detector holds the findings history, so it is protected from deletion.
    """
    detector = aws.guardduty.Detector(
        name,
        enable=True,
        finding_publishing_frequency=publishing_frequency,
        tags=tags,
        opts=opts(parent, provider, protect=True),
    )
    for alias, feature in zip(features, guardduty_features(features), strict=True):
        aws.guardduty.DetectorFeature(
            f"{name}-{alias}",
            detector_id=detector.id,
            name=feature.name,
            status="ENABLED",
            # Only Runtime Monitoring has sub-settings; the others send none.
            additional_configurations=[
                {"name": extra, "status": "ENABLED"} for extra in feature.additional_configuration
            ]
            or None,
            opts=opts(parent, provider),
        )
    return detector


def account_hub(parent: pulumi.Resource, provider: aws.Provider) -> aws.securityhub.Account:
    """An account's Security Hub: standards chosen explicitly (never AWS's defaults), one finding
    per control across standards, new controls on. Disabling it deletes its findings, so it is
    protected from deletion."""
    return aws.securityhub.Account(
        "securityhub",
        enable_default_standards=False,
        control_finding_generator="SECURITY_CONTROL",
        auto_enable_controls=True,
        opts=opts(parent, provider, protect=True),
    )
