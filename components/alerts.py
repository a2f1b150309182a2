"""Alert routing: the normal and urgent SNS topics, and their way to Slack through AWS Chatbot.

Each region that raises alerts (the stack's region, and us-east-1 for Trusted Advisor events and
CloudFront's DDoS metrics) gets a pair of topics encrypted with a customer managed KMS key. Both
regions' topics of a route feed one Chatbot Slack channel configuration, so a route is one
channel whatever the region. This is the only component that creates alert topics: the others
publish to the ARNs in :attr:`AlertRouting.routes`.

The key and topic policies are built from plain data (names, account, region), not from
resource outputs, so the policy pack can judge them at preview time.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws

from components.iam import PermissionsBoundary, bounded_role, service_trust_policy
from components.providers import GLOBAL_REGION, Providers, opts
from components.routes import AlertRoutes, Route
from components.tags import guard_tags
from guard.ci_scope import chatbot_role_name
from guard.config.stack import StackConfig

ROUTES: tuple[Route, ...] = ("normal", "urgent")
#: The AWS services that publish alerts: EventBridge rules and CloudWatch alarms.
PUBLISHERS = ("events.amazonaws.com", "cloudwatch.amazonaws.com")
#: Chatbot's API is served only in us-east-2, us-west-2, eu-west-1 and ap-southeast-1 (not in
#: us-east-1); a configuration made there receives from SNS topics in every region.
CHATBOT_REGION = "us-east-2"
#: Caps what anyone in the channel can do through Chatbot, whatever the channel role allows.
CHATBOT_GUARDRAILS = ("arn:aws:iam::aws:policy/ReadOnlyAccess",)
#: AWS's "notifications only" permissions for a Chatbot channel role: read alarm graphs.
CHATBOT_ROLE_ACTIONS = ("cloudwatch:Describe*", "cloudwatch:Get*", "cloudwatch:List*")
#: What the account itself may do on its topics (the SNS default owner permissions).
ACCOUNT_TOPIC_ACTIONS = (
    "sns:GetTopicAttributes",
    "sns:SetTopicAttributes",
    "sns:AddPermission",
    "sns:RemovePermission",
    "sns:DeleteTopic",
    "sns:Subscribe",
    "sns:ListSubscriptionsByTopic",
    "sns:Publish",
)


def alert_regions(region: str) -> list[str]:
    """The regions with alert topics: the stack's and us-east-1 (once, if they are the same)."""
    return list(dict.fromkeys([region, GLOBAL_REGION]))


def topic_name(stack: str, route: Route) -> str:
    return f"guard-{stack}-alerts-{route}"


def topic_arn(stack: str, route: Route, region: str, account_id: str) -> str:
    return f"arn:aws:sns:{region}:{account_id}:{topic_name(stack, route)}"


def key_policy(account_id: str) -> dict[str, Any]:
    """The alert key's policy: the account administers it, EventBridge and CloudWatch encrypt.

    SNS encrypts each message with a data key made for the publisher, so the publishing services
    need kms:GenerateDataKey* and kms:Decrypt on the topic's key; without them every alert is
    dropped silently. No aws:SourceAccount condition here: EventBridge's request to KMS does not
    carry it (the conditions sit on the topic policy, which every publication passes first).
    """
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AccountAdministers",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "AlertPublishersEncrypt",
                "Effect": "Allow",
                "Principal": {"Service": list(PUBLISHERS)},
                "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
                "Resource": "*",
            },
        ],
    }


def topic_policy(account_id: str, arn: str) -> dict[str, Any]:
    """An alert topic's policy: EventBridge and CloudWatch of this account publish, the account
    manages, and nothing is published without TLS."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AccountManages",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"},
                "Action": list(ACCOUNT_TOPIC_ACTIONS),
                "Resource": arn,
            },
            {
                "Sid": "AlertPublishers",
                "Effect": "Allow",
                "Principal": {"Service": list(PUBLISHERS)},
                "Action": "sns:Publish",
                "Resource": arn,
                # Only rules and alarms of this account: no confused deputy from another one.
                "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
            },
            {
                "Sid": "TlsOnly",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "sns:Publish",
                "Resource": arn,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ],
    }


def chatbot_role_policy() -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ReadAlarmGraphs",
                "Effect": "Allow",
                "Action": list(CHATBOT_ROLE_ACTIONS),
                "Resource": "*",
            }
        ],
    }


class AlertRouting(pulumi.ComponentResource):
    """The alert topics of every route and region, and their Slack channels via AWS Chatbot."""

    routes: AlertRoutes

    def __init__(
        self,
        config: StackConfig,
        *,
        stack: str,
        providers: Providers,
        boundary: PermissionsBoundary,
        opts_: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("guard:alerts:AlertRouting", f"guard-{stack}-alerts", None, opts_)
        alerts = config.alerts
        if alerts is None:
            raise ValueError("AlertRouting needs guard:alerts")
        account = config.account_id
        tags = guard_tags(stack)
        topics: dict[tuple[Route, str], aws.sns.Topic] = {}
        for region in alert_regions(config.region):
            provider = providers.for_region(region)
            key = aws.kms.Key(
                f"alerts-{region}",
                description=f"guard {stack}: encrypts the alert topics in {region}",
                enable_key_rotation=True,
                deletion_window_in_days=30,
                policy=json.dumps(key_policy(account)),
                tags=tags,
                # A deleted key cannot decrypt what it encrypted: an administrator's decision.
                opts=opts(self, provider, protect=True),
            )
            aws.kms.Alias(
                f"alerts-{region}",
                name=f"alias/guard-{stack}-alerts",
                target_key_id=key.key_id,
                opts=opts(self, provider),
            )
            for route in ROUTES:
                name = topic_name(stack, route)
                topic = aws.sns.Topic(
                    f"alerts-{route}-{region}",
                    name=name,
                    display_name=f"guard {stack} {route}",
                    kms_master_key_id=key.arn,
                    tags={**tags, "route": route},
                    opts=opts(self, provider),
                )
                aws.sns.TopicPolicy(
                    f"alerts-{route}-{region}",
                    arn=topic.arn,
                    policy=json.dumps(
                        topic_policy(account, topic_arn(stack, route, region, account))
                    ),
                    opts=opts(self, provider),
                )
                topics[(route, region)] = topic
                if route == "urgent":
                    for email in alerts.emails:
                        aws.sns.TopicSubscription(
                            f"alerts-urgent-{region}-{email}",
                            topic=topic.arn,
                            protocol="email",
                            endpoint=email,
                            opts=opts(self, provider),
                        )

        role = bounded_role(
            "alerts-chatbot",
            name=chatbot_role_name(stack),
            description="AWS Chatbot: posts guard's alerts to Slack (notifications only)",
            trust=service_trust_policy("chatbot.amazonaws.com"),
            boundary=boundary,
            tags=tags,
            opts_=opts(self, providers.regional),
        )
        aws.iam.RolePolicy(
            "alerts-chatbot",
            role=role.name,
            policy=json.dumps(chatbot_role_policy()),
            opts=opts(self, providers.regional),
        )
        channels = {"normal": alerts.slack.normal_channel, "urgent": alerts.slack.urgent_channel}
        for route in ROUTES:
            aws.chatbot.SlackChannelConfiguration(
                f"alerts-{route}",
                configuration_name=f"guard-{stack}-{route}",
                iam_role_arn=role.arn,
                slack_team_id=alerts.slack.workspace_id,
                slack_channel_id=channels[route],
                sns_topic_arns=[topics[(route, r)].arn for r in alert_regions(config.region)],
                guardrail_policy_arns=list(CHATBOT_GUARDRAILS),
                logging_level="ERROR",
                # pulumi-aws 7 manages a resource in another region through the same provider
                # (and its account pin) when given ``region``.
                region=CHATBOT_REGION,
                tags={**tags, "route": route},
                opts=opts(self, providers.regional),
            )

        self.routes = AlertRoutes(topics={k: t.arn for k, t in topics.items()})
        self.register_outputs(
            {
                "topics": {
                    f"{route}@{region}": arn for (route, region), arn in self.routes.topics.items()
                }
            }
        )
