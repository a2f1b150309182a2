"""Shield Advanced for every endpoint: protections, DDoS alarms, SRT access and escalation.

Everything policies judge is built from plain config data (endpoint ARNs, alarm dimensions, IAM
documents), so ``pulumi preview`` and ``guard plan`` can decide the Shield policies before any
resource exists. Shield's API is global and served from us-east-1, so every Shield resource uses
the us-east-1 provider; a DDoSDetected metric lives where its resource lives (us-east-1 for
CloudFront, the stack's region for an ALB), and so does its alarm and the topic it notifies.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_aws as aws
from pulumi_aws.shield import ProactiveEngagementEmergencyContactArgsDict

from components.iam import PermissionsBoundary, bounded_role, service_trust_policy
from components.lambda_function import FunctionSpec, lambda_function
from components.product import ProductProtection
from components.providers import GLOBAL_REGION, Providers, opts
from components.routes import AlertRoutes
from components.tags import guard_tags
from guard.ci_scope import srt_role_name
from guard.config.products import Endpoint, Product
from guard.config.shield import (
    DEFAULT_ENDPOINT_SHIELD,
    EmergencyContact,
    EndpointShield,
    Escalation,
)
from guard.config.stack import StackConfig
from guard.shield_alarms import DDOS_METRIC, DDOS_NAMESPACE

DRT_PRINCIPAL = "drt.shield.amazonaws.com"
DRT_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AWSShieldDRTAccessPolicy"
#: AWS's limit on a protection group ID: 1 to 36 of [a-zA-Z0-9-].
MAX_GROUP_ID = 36

#: The escalation function's code: the folder, relative to the repository root where Pulumi runs.
FUNCTION_CODE = "functions/srt_escalation"
HANDLER = "handler.lambda_handler"
RUNTIME = "python3.12"
#: Lambda's limits for asynchronous invocations (SNS invokes asynchronously): 2 retries, 6 hours.
MAX_RETRY_ATTEMPTS = 2
MAX_EVENT_AGE_SECONDS = 6 * 60 * 60
#: Enough for a burst of alarms on several endpoints at once without one waiting on another, and
#: a cap on Support API calls if something upstream loops.
RESERVED_CONCURRENCY = 5
TIMEOUT_SECONDS = 60
#: Escalation logs are evidence for the post-incident review and a Shield cost-protection claim.
LOG_RETENTION_DAYS = 365
#: SQS's maximum: a failed escalation stays for two weeks for someone to read and replay.
DLQ_RETENTION_SECONDS = 14 * 24 * 60 * 60


def alarm_name(stack: str, product: str, endpoint: str) -> str:
    """The DDoSDetected alarm's name; the escalation handler and the drill rely on this shape."""
    return f"guard-{stack}-{product}-{endpoint}-ddos"


def metric_region(endpoint: Endpoint, stack_region: str) -> str:
    """Where Shield publishes the endpoint's DDoSDetected metric."""
    return GLOBAL_REGION if endpoint.kind == "cloudfront" else stack_region


def protection_group_id(stack: str, product: str) -> str:
    """``guard-<stack>-<product>``, shortened with a stable hash when over AWS's 36 characters."""
    wanted = f"guard-{stack}-{product}"
    if len(wanted) <= MAX_GROUP_ID:
        return wanted
    digest = hashlib.sha256(wanted.encode()).hexdigest()[:8]
    return f"{wanted[: MAX_GROUP_ID - 9].rstrip('-')}-{digest}"


def settings_of(endpoint: Endpoint) -> EndpointShield:
    return endpoint.shield or DEFAULT_ENDPOINT_SHIELD


def escalation_sentence(escalation: Escalation | None) -> str:
    """What happens after the alarm, as the stack deploys it (never a case it would not open)."""
    if escalation is None:
        return "no SRT escalation is configured, so no support case is opened."
    if not escalation.support_case:
        return "the SRT escalation logs the case it would open (support_case: false)."
    return "the SRT escalation opens a support case."


def ddos_alarm_args(
    stack: str,
    product: Product,
    endpoint: Endpoint,
    topic_arn: pulumi.Input[str],
    escalation: Escalation | None = None,
) -> dict[str, Any]:
    """The alarm's arguments, as plain data apart from the topic (known to policies at preview)."""
    return {
        "name": alarm_name(stack, product.name, endpoint.name),
        "alarm_description": (
            f"Shield Advanced detected a DDoS event on {product.name}/{endpoint.name} "
            f"({endpoint.arn}); {escalation_sentence(escalation)}"
        ),
        "namespace": DDOS_NAMESPACE,
        "metric_name": DDOS_METRIC,
        "dimensions": {"ResourceArn": endpoint.arn},
        "statistic": "Sum",
        "period": 60,
        "evaluation_periods": 1,
        "datapoints_to_alarm": 1,
        "threshold": 1,
        "comparison_operator": "GreaterThanOrEqualToThreshold",
        # Shield publishes DDoSDetected only while it watches an event: no data means no attack.
        "treat_missing_data": "notBreaching",
        # ALARM pages the on-call and starts the escalation; OK tells them the event is over.
        "alarm_actions": [topic_arn],
        "ok_actions": [topic_arn],
    }


def escalation_policy(
    *, region: str, account_id: str, function_name: str, queue_name: str, support_case: bool
) -> dict[str, Any]:
    """The escalation function's permissions: only what the handler calls, as plain JSON."""
    statements: list[dict[str, Any]] = []
    if support_case:
        statements += [
            # The Support API has no resource-level permissions: "*" is the only valid resource.
            {
                "Sid": "OpenAndFindDdosCases",
                "Effect": "Allow",
                "Action": ["support:CreateCase", "support:DescribeCases"],
                "Resource": "*",
            },
            # Attack details for the case body; Shield documents these reads with "*" as well.
            {
                "Sid": "ReadAttackDetails",
                "Effect": "Allow",
                "Action": ["shield:ListAttacks", "shield:DescribeAttack"],
                "Resource": "*",
            },
        ]
    log_group = f"arn:aws:logs:{region}:{account_id}:log-group:/aws/lambda/{function_name}"
    statements += [
        # The group is declared here, so the function needs no logs:CreateLogGroup.
        {
            "Sid": "WriteOwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"{log_group}:*",
        },
        {
            "Sid": "DeadLetterOnFailure",
            "Effect": "Allow",
            "Action": "sqs:SendMessage",
            "Resource": f"arn:aws:sqs:{region}:{account_id}:{queue_name}",
        },
    ]
    return {"Version": "2012-10-17", "Statement": statements}


def _contact(contact: EmergencyContact) -> ProactiveEngagementEmergencyContactArgsDict:
    entry: ProactiveEngagementEmergencyContactArgsDict = {"email_address": contact.email}
    if contact.phone is not None:
        entry["phone_number"] = contact.phone
    if contact.note is not None:
        entry["contact_notes"] = contact.note
    return entry


class ShieldAdvanced(pulumi.ComponentResource):
    """Shield Advanced for a stack: what ``guard:shield`` and the endpoints' ``shield`` declare.

    Children: the subscription (``subscription: create`` only; protected and retained), a
    protection per endpoint, a protection group per product, health-check associations,
    automatic layer-7 mitigation, proactive engagement, the SRT's role and log buckets, a
    DDoSDetected alarm per protection and the :class:`SrtEscalation` function.
    """

    protection_arns: dict[str, pulumi.Output[str]]
    alarm_names: list[str]

    def __init__(
        self,
        config: StackConfig,
        *,
        stack: str,
        providers: Providers,
        routes: AlertRoutes | None,
        products: Sequence[ProductProtection],
        boundary: PermissionsBoundary,
        opts_: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("guard:shield:ShieldAdvanced", "shield", None, opts_)
        shield = config.shield
        if shield is None:
            raise ValueError("ShieldAdvanced needs guard:shield")
        if routes is None:
            # Config validation refuses this; kept so a wiring mistake fails loudly, not silently.
            raise ValueError("guard:shield needs guard:alerts: DDoS alarms notify the urgent route")
        shield_provider = providers.us_east_1
        tags = guard_tags(stack)
        self.protection_arns = {}
        self.alarm_names = []

        subscription: aws.shield.Subscription | None = None
        if shield.subscription == "create":
            # A one-year commitment: protect stops `pulumi destroy`; retain_on_delete keeps the
            # subscription if the resource leaves the program; skip_destroy keeps auto-renew as
            # is should the provider's delete ever run.
            subscription = aws.shield.Subscription(
                "subscription",
                auto_renew="ENABLED",
                skip_destroy=True,
                opts=opts(self, shield_provider, protect=True, retain_on_delete=True),
            )
        after_subscription = [subscription] if subscription is not None else []

        alarm_regions: set[str] = set()
        for entry in products:
            product = entry.product
            product_tags = guard_tags(stack, product.name, product.owner)
            protections: list[aws.shield.Protection] = []
            members: list[str] = []
            for endpoint in product.endpoints:
                settings = settings_of(endpoint)
                if not settings.protect:
                    continue
                key = f"{product.name}-{endpoint.name}"
                protection = aws.shield.Protection(
                    key,
                    name=f"guard-{stack}-{key}",
                    resource_arn=endpoint.arn,
                    tags=product_tags,
                    opts=opts(self, shield_provider, depends_on=after_subscription),
                )
                protections.append(protection)
                members.append(endpoint.arn)
                self.protection_arns[f"{product.name}/{endpoint.name}"] = protection.arn
                if settings.health_check is not None:
                    # Health-based detection: faster, more accurate detection, and the basis of
                    # proactive engagement.
                    aws.shield.ProtectionHealthCheckAssociation(
                        key,
                        shield_protection_id=protection.id,
                        health_check_arn=settings.health_check,
                        opts=opts(self, shield_provider),
                    )
                if settings.l7_mitigation != "off":
                    # Shield adds its own rule group to the endpoint's web ACL, so the web ACL
                    # (and for an ALB its association) must exist first.
                    aws.shield.ApplicationLayerAutomaticResponse(
                        key,
                        resource_arn=endpoint.arn,
                        action=settings.l7_mitigation.upper(),
                        opts=opts(self, shield_provider, depends_on=[protection, entry.waf]),
                    )
                region = metric_region(endpoint, config.region)
                alarm_regions.add(region)
                args = ddos_alarm_args(
                    stack,
                    product,
                    endpoint,
                    routes.topic_arn("urgent", region),
                    config.shield.escalation if config.shield else None,
                )
                aws.cloudwatch.MetricAlarm(
                    f"{key}-ddos",
                    tags=product_tags,
                    **args,
                    opts=opts(self, providers.for_region(region), depends_on=[protection]),
                )
                self.alarm_names.append(args["name"])
            if members:
                # One group per product: Shield detects and reports across the product's
                # endpoints together (SUM: their traffic adds up to the product's).
                aws.shield.ProtectionGroup(
                    product.name,
                    protection_group_id=protection_group_id(stack, product.name),
                    pattern="ARBITRARY",
                    aggregation="SUM",
                    members=members,
                    tags=product_tags,
                    opts=opts(self, shield_provider, depends_on=protections),
                )

        drt_association = self._srt_access(config, stack, shield_provider, tags, boundary)
        engagement = shield.proactive_engagement
        if engagement is not None:
            aws.shield.ProactiveEngagement(
                "proactive-engagement",
                enabled=engagement.enabled,
                emergency_contacts=[_contact(c) for c in engagement.contacts],
                opts=opts(
                    self,
                    shield_provider,
                    depends_on=[
                        *after_subscription,
                        *([drt_association] if drt_association else []),
                    ],
                ),
            )

        self.escalation: SrtEscalation | None = None
        if shield.escalation is not None and alarm_regions:
            self.escalation = SrtEscalation(
                shield.escalation,
                config,
                stack=stack,
                providers=providers,
                topic_arns={r: routes.topic_arn("urgent", r) for r in sorted(alarm_regions)},
                failure_topic_arn=routes.topic_arn("urgent", config.region),
                cc_emails=shield.contact_emails,
                boundary=boundary,
                opts_=pulumi.ResourceOptions(parent=self),
            )
        self.register_outputs(
            {"protection_arns": self.protection_arns, "alarm_names": self.alarm_names}
        )

    def _srt_access(
        self,
        config: StackConfig,
        stack: str,
        provider: aws.Provider,
        tags: dict[str, str],
        boundary: PermissionsBoundary,
    ) -> aws.shield.DrtAccessRoleArnAssociation | None:
        """The SRT's role (declared or existing), its association and the log buckets it reads."""
        assert config.shield is not None
        access = config.shield.srt_access
        if access is None:
            return None
        role_arn: pulumi.Input[str]
        if access.role == "create":
            role = bounded_role(
                "srt-access",
                name=srt_role_name(stack),
                description="Lets the Shield Response Team inspect and change WAF and Shield "
                "settings during a DDoS event (AWSShieldDRTAccessPolicy)",
                trust=service_trust_policy(DRT_PRINCIPAL),
                boundary=boundary,
                tags=tags,
                opts_=opts(self, provider),
            )
            attachment = aws.iam.RolePolicyAttachment(
                "srt-access",
                role=role.name,
                policy_arn=DRT_POLICY_ARN,
                opts=opts(self, provider),
            )
            role_arn = role.arn
            depends: list[pulumi.Resource] = [attachment]
        else:
            role_arn, depends = access.role, []
        association = aws.shield.DrtAccessRoleArnAssociation(
            "srt-access",
            role_arn=role_arn,
            opts=opts(self, provider, depends_on=depends),
        )
        for bucket in access.log_buckets:
            # Shield adds a statement for the SRT role to the bucket's policy.
            aws.shield.DrtAccessLogBucketAssociation(
                f"srt-logs-{bucket}",
                log_bucket=bucket,
                role_arn_association_id=association.id,
                opts=opts(self, provider),
            )
        return association


class SrtEscalation(pulumi.ComponentResource):
    """The function that opens a DDoS support case for the SRT when a DDoSDetected alarm fires.

    One function in the stack's region, subscribed to the urgent topic of every region that has
    DDoS alarms (SNS delivers across regions): deduplication is per resource in the Support API,
    which is global, so a second copy would add a role, a queue and a log group to watch and
    nothing else. Failures are retried by Lambda, then kept in an encrypted dead-letter queue whose
    depth pages the urgent route.
    """

    function: aws.lambda_.Function

    def __init__(
        self,
        escalation: Escalation,
        config: StackConfig,
        *,
        stack: str,
        providers: Providers,
        topic_arns: dict[str, pulumi.Output[str]],
        failure_topic_arn: pulumi.Input[str],
        cc_emails: Sequence[str],
        boundary: PermissionsBoundary,
        opts_: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("guard:shield:SrtEscalation", "srt-escalation", None, opts_)
        provider = providers.regional
        tags = guard_tags(stack)
        name = f"guard-{stack}-srt-escalation"
        queue_name = f"{name}-dlq"

        queue = aws.sqs.Queue(
            "dlq",
            name=queue_name,
            sqs_managed_sse_enabled=True,
            message_retention_seconds=DLQ_RETENTION_SECONDS,
            tags=tags,
            opts=opts(self, provider),
        )
        self.function = lambda_function(
            self,
            FunctionSpec(
                name=name,
                description="Opens a Shield Response Team support case when a guard DDoS alarm "
                "fires",
                role_description="guard SRT escalation: open DDoS support cases, write its own logs",
                code=FUNCTION_CODE,
                handler=HANDLER,
                runtime=RUNTIME,
                timeout=TIMEOUT_SECONDS,
                log_days=LOG_RETENTION_DAYS,
                policy=escalation_policy(
                    region=config.region,
                    account_id=config.account_id,
                    function_name=name,
                    queue_name=queue_name,
                    support_case=escalation.support_case,
                ),
                environment={
                    "SUPPORT_SEVERITY": escalation.severity,
                    "DEDUPE_HOURS": str(escalation.dedupe_hours),
                    "CC_EMAILS": ",".join(cc_emails),
                    "SUPPORT_CASE_ENABLED": "true" if escalation.support_case else "false",
                    "SUPPORT_LANGUAGE": escalation.language,
                },
                reserved_concurrency=RESERVED_CONCURRENCY,
            ),
            provider=provider,
            tags=tags,
            boundary=boundary,
        )
        aws.lambda_.FunctionEventInvokeConfig(
            "async",
            function_name=self.function.name,
            maximum_retry_attempts=MAX_RETRY_ATTEMPTS,
            maximum_event_age_in_seconds=MAX_EVENT_AGE_SECONDS,
            # The on-failure record carries the SNS event and the error, ready to replay.
            destination_config={"on_failure": {"destination": queue.arn}},
            opts=opts(self, provider),
        )
        aws.cloudwatch.MetricAlarm(
            "dlq-depth",
            name=f"{name}-failed",
            alarm_description="An SRT escalation failed after Lambda's retries; read the "
            f"message in {queue_name} and open the DDoS case by hand (docs/shield.md).",
            namespace="AWS/SQS",
            metric_name="ApproximateNumberOfMessagesVisible",
            dimensions={"QueueName": queue_name},
            statistic="Maximum",
            period=300,
            evaluation_periods=1,
            threshold=1,
            comparison_operator="GreaterThanOrEqualToThreshold",
            treat_missing_data="notBreaching",
            # In the queue's region, like the queue: CloudWatch notifies topics of its own region.
            alarm_actions=[failure_topic_arn],
            tags=tags,
            opts=opts(self, provider, depends_on=[queue]),
        )
        for region, topic_arn in topic_arns.items():
            permission = aws.lambda_.Permission(
                f"sns-{region}",
                action="lambda:InvokeFunction",
                function=self.function.name,
                principal="sns.amazonaws.com",
                source_arn=topic_arn,
                opts=opts(self, provider),
            )
            # The subscription lives with its topic; the function may be in another region.
            aws.sns.TopicSubscription(
                f"urgent-{region}",
                topic=topic_arn,
                protocol="lambda",
                endpoint=self.function.arn,
                opts=opts(self, providers.for_region(region), depends_on=[permission]),
            )
        self.register_outputs({"function_arn": self.function.arn, "dlq_arn": queue.arn})
