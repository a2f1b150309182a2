"""Pulumi type tokens of the AWS resources guard declares, named once for the code that reasons
about them (the pipeline's permission table, its tests)."""

from __future__ import annotations

WEB_ACL = "aws:wafv2/webAcl:WebAcl"
#: One rule of a web ACL as its own resource: how guard owns its rules beside a tuner's.
WEB_ACL_RULE = "aws:wafv2/webAclRule:WebAclRule"
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
#: A function invoked by ``pulumi up`` (the SIEM's retention policy is applied so).
INVOCATION = "aws:lambda/invocation:Invocation"
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
#: Object ownership: set on the ALB log bucket (ELB's delivery), not the WAF log bucket.
BUCKET_OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
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
# An organization stack (guard:organization), in the delegated administrator's account.
GUARDDUTY_ORGANIZATION = "aws:guardduty/organizationConfiguration:OrganizationConfiguration"
GUARDDUTY_ORGANIZATION_FEATURE = (
    "aws:guardduty/organizationConfigurationFeature:OrganizationConfigurationFeature"
)
HUB_AGGREGATOR = "aws:securityhub/findingAggregator:FindingAggregator"
HUB_ORGANIZATION = "aws:securityhub/organizationConfiguration:OrganizationConfiguration"
HUB_POLICY = "aws:securityhub/configurationPolicy:ConfigurationPolicy"
HUB_POLICY_ASSOCIATION = (
    "aws:securityhub/configurationPolicyAssociation:ConfigurationPolicyAssociation"
)
FMS_POLICY = "aws:fms/policy:Policy"
#: The Firewall Manager baseline's own rate-based rule groups (``guard-<stack>-baseline-rate-*``).
RULE_GROUP = "aws:wafv2/ruleGroup:RuleGroup"
#: The one-time delegation, declared with the management account's provider: never the pipeline's.
DELEGATION_TYPES = (
    "aws:guardduty/organizationAdminAccount:OrganizationAdminAccount",
    "aws:securityhub/organizationAdminAccount:OrganizationAdminAccount",
    "aws:fms/adminAccount:AdminAccount",
)

#: The type token of every component guard declares (``guard:<area>:<Name>``), for what names a
#: component outside the code (a Well-Architected review's evidence). A test keeps it in step
#: with ``components/``.
COMPONENT_TYPES = (
    "guard:alerts:AlertRouting",
    "guard:catalog:Product",
    "guard:ci:CiIdentity",
    "guard:ci:CiRole",
    "guard:detection:ThreatDetection",
    "guard:iam:PermissionsBoundary",
    "guard:logs:AlbLogs",
    "guard:logs:WafLogs",
    "guard:logs:WafSampleDigest",
    "guard:organization:Delegation",
    "guard:organization:FirewallManagerPolicies",
    "guard:organization:OrganizationSecurity",
    "guard:shield:ShieldAdvanced",
    "guard:shield:SrtEscalation",
    "guard:siem:SiemRetention",
    "guard:tuner:TunerAccess",
    "guard:waf:ProductWaf",
)
