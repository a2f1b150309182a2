"""Threat detection: GuardDuty, Security Hub and Trusted Advisor, announced through the alert routes.

GuardDuty and Security Hub run in the stack's region; Trusted Advisor publishes its events in
us-east-1 only, so its rule lives there and uses that region's topics. Every rule's target turns
the event into an AWS Chatbot custom notification (title, severity, account, region, resource
and a console link) with the catalog's input transformers. Patterns are JSON built from plain
data, so the plan and the policy pack see exactly what EventBridge will match.
"""

from __future__ import annotations

import json
from typing import cast

import pulumi
import pulumi_aws as aws

from components.providers import GLOBAL_REGION, Providers, opts
from components.routes import AlertRoutes, Route
from components.tags import guard_tags
from guard.config.stack import StackConfig
from guard.detection_catalog import (
    EventPattern,
    InputTransformer,
    guardduty_features,
    guardduty_routes,
    guardduty_transformer,
    route_securityhub,
    securityhub_pattern,
    securityhub_transformer,
    standard_arn,
    trusted_advisor_pattern,
    trusted_advisor_transformer,
)

#: GuardDuty findings also reach Security Hub; its own rule announces them, so the Security Hub
#: rules leave them out rather than post every GuardDuty finding twice.
ANNOUNCED_ELSEWHERE = ("GuardDuty",)


class ThreatDetection(pulumi.ComponentResource):
    """GuardDuty, Security Hub and Trusted Advisor, each finding routed to its Slack channel."""

    def __init__(
        self,
        config: StackConfig,
        *,
        stack: str,
        providers: Providers,
        routes: AlertRoutes | None,
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

        # GuardDuty: the detector holds the findings history, so it is protected from deletion.
        detector = aws.guardduty.Detector(
            "guardduty",
            enable=True,
            finding_publishing_frequency=detection.guardduty.publishing_frequency,
            tags=self._tags,
            opts=opts(self, regional, protect=True),
        )
        for alias, feature in zip(
            detection.guardduty.features,
            guardduty_features(detection.guardduty.features),
            strict=True,
        ):
            aws.guardduty.DetectorFeature(
                f"guardduty-{alias}",
                detector_id=detector.id,
                name=feature.name,
                status="ENABLED",
                # Only Runtime Monitoring has sub-settings; the others send none.
                additional_configurations=[
                    {"name": extra, "status": "ENABLED"}
                    for extra in feature.additional_configuration
                ]
                or None,
                opts=opts(self, regional),
            )
        for route, pattern in guardduty_routes().items():
            self._rule(
                f"guardduty-{route}",
                f"GuardDuty findings for the {route} channel",
                pattern,
                cast(Route, route),
                region,
                guardduty_transformer(),
                regional,
            )

        # Security Hub: standards chosen explicitly, one finding per control across standards.
        hub = detection.security_hub
        account = aws.securityhub.Account(
            "securityhub",
            enable_default_standards=False,
            control_finding_generator="SECURITY_CONTROL",
            auto_enable_controls=True,
            opts=opts(self, regional, protect=True),
        )
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
        for route, labels in route_securityhub(hub.notify).items():
            self._rule(
                f"securityhub-{route}",
                f"Security Hub {', '.join(labels)} findings (new, active)",
                securityhub_pattern(labels, exclude_products=ANNOUNCED_ELSEWHERE),
                cast(Route, route),
                region,
                securityhub_transformer(),
                regional,
                depends_on=[account],
            )

        # Trusted Advisor: no resource to enable (the checks run for every account); only the rule.
        self._rule(
            "trusted-advisor",
            f"Trusted Advisor checks turning {', '.join(detection.trusted_advisor.notify)}",
            trusted_advisor_pattern(detection.trusted_advisor.notify),
            "normal",
            GLOBAL_REGION,
            trusted_advisor_transformer(),
            providers.us_east_1,
        )
        self.register_outputs({})

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
        rule = aws.cloudwatch.EventRule(
            name,
            name=f"guard-{self._stack}-{name}",
            description=f"guard: {description}, to the {route} channel",
            event_pattern=json.dumps(pattern),
            tags={**self._tags, "route": route},
            opts=opts(self, provider, depends_on=depends_on or []),
        )
        aws.cloudwatch.EventTarget(
            name,
            rule=rule.name,
            target_id=f"{route}-alerts",
            arn=self._routes.topic_arn(route, region),
            input_transformer={
                "input_paths": transformer["input_paths"],
                "input_template": transformer["input_template"],
            },
            opts=opts(self, provider),
        )
