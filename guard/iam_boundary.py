"""The permissions boundary of every role guard creates: ``guard-<stack>-boundary``.

A role's effective permissions are what its own policies allow **and** its boundary allows, and
an explicit deny in either refuses. The deploy role may create and change roles only with this
boundary attached (:mod:`guard.ci_permissions`), so nothing it creates, changes or passes to a
service can do more than the boundary allows; the boundary in turn refuses what would let any of
those roles escape or switch off guard's protections.

The boundary allows everything its denies leave, like the default boundary of AWS CDK's
bootstrap: product pipelines' needs are open-ended (their ``ci.permissions`` are the user's),
and a role's own policies are still what grants anything. What it refuses, to every role guard
creates, the pipeline's included:

* any change to IAM users, groups, OIDC and SAML providers, the boundary, the pipeline roles and
  their managed policies (looking at them is allowed);
* creating or changing a role without this boundary, or removing a boundary;
* passing or assuming a role other than guard's own and those the products' statements name;
* deleting the GuardDuty detector, disabling Security Hub, cancelling Shield Advanced, stopping
  or deleting CloudTrail trails, moving the Pulumi secrets key's alias;
* for the pipeline roles: changing the policy of, or untagging, a KMS key guard does not own;
* in an organization stack (``guard:organization``): making or unmaking a delegated
  administrator (GuardDuty, Security Hub, Firewall Manager) and every AWS Organizations write,
  which are the management account's.

And, to every role except the pipeline's deploy role (and the SRT role, which Shield's
responders use during an attack): changing GuardDuty, Security Hub or Shield settings and
findings (in an organization stack, Firewall Manager's policies and Security Hub's configuration
policy targets too); reconfiguring or deleting guard's web ACLs, IP sets, logging, any ALB's web
ACL association, alert topics, rules, alarms, Chatbot channels, functions, log groups, queues,
delivery streams, the log bucket and guard's KMS keys; changing guard's roles; tagging anything
``managed-by=guard``; and, to every role but the two pipeline roles, the Pulumi state bucket.
Every pattern is built from names that do not change with everyday config (products, endpoints,
rules), so those changes never need an administrator.
"""

from __future__ import annotations

from typing import Any

from guard.ci_scope import ROLE_HANDOVER_ACTIONS, PipelineScope

POLICY_VERSION = "2012-10-17"
#: IAM's limit for a managed policy document, counted without whitespace.
MAX_MANAGED_POLICY_CHARS = 6_144

#: What a principal may still do to IAM things it may not change: look at them.
IAM_READS = ("iam:Get*", "iam:List*")
#: Role writes that support the ``iam:PermissionsBoundary`` condition key.
BOUNDED_ROLE_ACTIONS = (
    "iam:CreateRole",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:AttachRolePolicy",
    "iam:DetachRolePolicy",
    "iam:UpdateAssumeRolePolicy",
)
DETECTION_SHUTDOWN = (
    "guardduty:DeleteDetector",
    "guardduty:Disassociate*",
    "securityhub:DisableSecurityHub",
    "securityhub:Disassociate*",
    "shield:DeleteSubscription",
    "cloudtrail:StopLogging",
    "cloudtrail:DeleteTrail",
)
#: Security services are account singletons: only the pipeline changes any of their settings.
SECURITY_SERVICE_WRITES = (
    "guardduty:Create*",
    "guardduty:Update*",
    "guardduty:Delete*",
    "guardduty:Archive*",
    "guardduty:Disable*",
    "guardduty:Disassociate*",
    "guardduty:Stop*",
    "guardduty:Decline*",
    "securityhub:Create*",
    "securityhub:Update*",
    "securityhub:Delete*",
    "securityhub:Disable*",
    "securityhub:BatchDisable*",
    "securityhub:BatchUpdate*",
    "securityhub:BatchDelete*",
    "securityhub:Disassociate*",
    "shield:Delete*",
    "shield:Disable*",
    "shield:Disassociate*",
    "shield:Update*",
    "shield:UntagResource",
    "elasticloadbalancing:SetWebAcl",
)
#: An organization stack's account sets detection and Firewall Manager for every account:
#: only its pipeline changes the policies and their targets.
ORGANIZATION_SERVICE_WRITES = (
    "fms:Put*",
    "fms:Delete*",
    "fms:*ssociate*",
    "fms:UntagResource",
    "securityhub:StartConfigurationPolicy*",
)
#: Making (or unmaking) the delegated administrator, and AWS Organizations itself, are the
#: management account's, once, with a person's credentials: no role of an organization stack
#: does them. Organizations' reads are Describe* and List*; its writes, by their first letters
#: (Accept, Attach, Cancel, Close, Create, Decline, Delete, Deregister, Detach, Disable, Enable,
#: Invite, Leave, Move, Put, Register, Remove, Tag, Terminate, Untag, Update), as short patterns
#: for IAM's size limit. tests/guard/test_ci_organization.py holds them to every write, no read.
ORGANIZATIONS_WRITE_STARTS = (
    "A",
    "C",
    "Dec",
    "Del",
    "Der",
    "Det",
    "Dis",
    "E",
    "I",
    "Le",
    "M",
    "P",
    "R",
    "T",
    "U",
)
DELEGATION_ACTIONS = (
    "guardduty:*OrganizationAdminAccount",
    "securityhub:*OrganizationAdminAccount",
    "fms:*ssociateAdminAccount",
    "fms:PutAdminAccount",
    *(f"organizations:{start}*" for start in ORGANIZATIONS_WRITE_STARTS),
)
#: Actions that reconfigure or delete guard's own resources; only the pipeline may.
PROTECTION_ACTIONS = (
    "wafv2:Update*",
    "wafv2:Delete*",
    "wafv2:PutLoggingConfiguration",
    "wafv2:*sociateWebACL",
    "sns:DeleteTopic",
    "sns:SetTopicAttributes",
    "sns:*Permission",
    "events:PutRule",
    "events:DeleteRule",
    "events:DisableRule",
    "events:*Targets",
    "cloudwatch:PutMetricAlarm",
    "cloudwatch:DeleteAlarms",
    "cloudwatch:DisableAlarmActions",
    "chatbot:*SlackChannelConfiguration",
    "lambda:UpdateFunction*",
    "lambda:PutFunction*",
    "lambda:DeleteFunction*",
    "lambda:*Permission",
    "lambda:InvokeFunction",
    "logs:Delete*",
    "logs:*RetentionPolicy",
    "firehose:DeleteDeliveryStream",
    "firehose:UpdateDestination",
    "sqs:DeleteQueue",
    "sqs:SetQueueAttributes",
    "sqs:PurgeQueue",
    "s3:PutBucket*",
    "s3:DeleteBucket*",
    "s3:DeleteObject*",
    # Encryption, lifecycle, replication, inventory...: every bucket setting named so (one
    # pattern keeps the boundary under IAM's size limit with two log buckets).
    "s3:Put*Configuration",
)
#: What only the pipeline may do to a key tagged managed-by=guard.
GUARD_KEY_ACTIONS = (
    "kms:PutKeyPolicy",
    "kms:ScheduleKeyDeletion",
    "kms:Disable*",
    "kms:CreateGrant",
    "kms:*Resource",
    "kms:*Alias",
)


def _statement(
    sid: str, actions: Any, resources: Any, condition: dict[str, Any] | None = None
) -> dict[str, Any]:
    statement: dict[str, Any] = {"Sid": sid, "Effect": "Deny", "Action": actions}
    statement["Resource"] = resources
    if condition:
        statement["Condition"] = condition
    return statement


def _all_but_reads(
    sid: str, resources: Any, condition: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Deny every action on IAM ``resources`` except looking at them (only IAM and STS act on
    them: assuming or passing a role is refused too)."""
    statement: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Deny",
        "NotAction": list(IAM_READS),
        "Resource": resources,
    }
    if condition:
        statement["Condition"] = condition
    return statement


def protected_resources(s: PipelineScope) -> list[str]:
    """guard's own resources, as patterns that do not change when the config does.

    Every resource guard names carries ``guard-<stack>-`` (web ACLs, IP sets, topics, rules,
    alarms, Chatbot channels, functions, log groups, delivery streams, queues), so one pattern
    over every service covers them; the load balancers guard protects and the log buckets do not.
    """
    resources = [s.arn("*", f"*{s.prefix}*"), s.load_balancers]
    for bucket in (s.logs_bucket, s.alb_logs_bucket):
        if bucket is not None:
            resources += s.bucket(bucket)
    return resources


#: With a WAF tuner, ``wafv2:Update*`` less UpdateWebACL (IAM action names take * and ? only:
#: UpdateIPSet, UpdateRegexPatternSet and UpdateRuleGroup, UpdateManagedRuleSetVersionExpiryDate).
UPDATES_BUT_WEB_ACLS = ("wafv2:UpdateIPSet", "wafv2:UpdateR*", "wafv2:UpdateM*")


def _protection_actions(s: PipelineScope) -> list[str]:
    if not s.tuner_roles:
        return list(PROTECTION_ACTIONS)
    return [
        *(a for a in PROTECTION_ACTIONS if a != "wafv2:Update*"),
        *UPDATES_BUT_WEB_ACLS,
    ]


def _web_acl_edits(s: PipelineScope, responders: list[str]) -> list[dict[str, Any]]:
    """A WAF tuner's role (guard:tuners) edits its rules in guard's web ACLs, beside the deploy
    and SRT roles; its own policy names the web ACLs it tunes (the tuner-role-scope policy holds
    it to that). Without tuners, ProtectionsViaPipeline's wafv2:Update* covers web ACLs."""
    if not s.tuner_roles:
        return []
    return [
        _statement(
            "WebAclEdits",
            ["wafv2:UpdateWebACL"],
            [s.web_acls],
            {"ArnNotEquals": {"aws:PrincipalArn": [*responders, *s.tuner_roles]}},
        )
    ]


def boundary_policy(s: PipelineScope) -> dict[str, Any]:
    """The boundary document for the stack in ``s`` (plain data, fits a managed policy)."""
    not_deployer = {"ArnNotEquals": {"aws:PrincipalArn": s.deploy_role}}
    responders = [s.deploy_role] + ([s.srt_role_arn] if s.srt_role_arn else [])
    statements: list[dict[str, Any]] = [
        {"Sid": "AllowUnlessDenied", "Effect": "Allow", "Action": "*", "Resource": "*"},
        # Users, groups, identity providers, the boundary and the pipeline roles: look only.
        _all_but_reads(
            "FixedIdentities",
            [
                s.arn("iam", "user/*", ""),
                s.arn("iam", "group/*", ""),
                s.arn("iam", "oidc-provider/*", ""),
                s.arn("iam", "saml-provider/*", ""),
                s.boundary,
                *s.pipeline_roles,
                s.pipeline_policies,
            ],
        ),
        _statement("BoundaryStays", ["iam:DeleteRolePermissionsBoundary"], "*"),
        # Acting as a role outside the boundary would step around it: only guard's own roles and
        # the roles the products' reviewed statements name may be passed or assumed.
        {
            "Sid": "OnlyKnownRolesHandedOver",
            "Effect": "Deny",
            "Action": list(ROLE_HANDOVER_ACTIONS),
            "NotResource": [
                s.role_pattern,
                *([s.srt_role_arn] if s.srt_role_arn else []),
                *s.product_role_targets,
            ],
        },
        _statement(
            "RolesNeedTheBoundary",
            list(BOUNDED_ROLE_ACTIONS),
            "*",
            {"StringNotEquals": {"iam:PermissionsBoundary": s.boundary}},
        ),
        _statement("DetectionStaysOn", list(DETECTION_SHUTDOWN), "*"),
        _statement(
            "SecurityServicesViaPipeline",
            [*SECURITY_SERVICE_WRITES, *(ORGANIZATION_SERVICE_WRITES if s.organization else ())],
            "*",
            {"ArnNotEquals": {"aws:PrincipalArn": responders}},
        ),
        _statement(
            "ProtectionsViaPipeline",
            _protection_actions(s),
            protected_resources(s),
            {"ArnNotEquals": {"aws:PrincipalArn": responders}},
        ),
        *_web_acl_edits(s, responders),
        _all_but_reads("GuardRolesViaPipeline", s.role_pattern, not_deployer),
        _statement(
            "GuardKeysViaPipeline",
            list(GUARD_KEY_ACTIONS),
            [s.keys],
            {"StringEquals": {"aws:ResourceTag/managed-by": "guard"}, **not_deployer},
        ),
        _statement(
            "GuardTagViaPipeline",
            "*",
            "*",
            {"StringEquals": {"aws:RequestTag/managed-by": "guard"}, **not_deployer},
        ),
        _statement(
            "PipelineLeavesOtherKeys",
            ["kms:PutKeyPolicy", "kms:UntagResource"],
            [s.keys],
            {
                "StringNotEquals": {"aws:ResourceTag/managed-by": "guard"},
                "ArnEquals": {"aws:PrincipalArn": list(s.pipeline_roles)},
            },
        ),
    ]
    if s.organization:
        statements.append(_statement("ManagementAccountOnly", list(DELEGATION_ACTIONS), "*"))
    if s.state_bucket is not None:
        statements.append(
            _statement(
                "StateIsPipelines",
                "s3:*",
                list(s.bucket(s.state_bucket)),
                {"ArnNotEquals": {"aws:PrincipalArn": list(s.pipeline_roles)}},
            )
        )
    if s.secrets_alias is not None:
        statements.append(
            _statement(
                "SecretsAliasFixed",
                ["kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias"],
                s.arn("kms", s.secrets_alias),
            )
        )
    return {"Version": POLICY_VERSION, "Statement": statements}
