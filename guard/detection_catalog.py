"""Plain-data catalog for detection and alert routing: GuardDuty, Security Hub, Trusted Advisor.

Nothing here touches Pulumi or AWS. The names are AWS's own API values (checked against botocore's
models in the tests) and the event patterns are dicts exactly as EventBridge takes them (tested
against LocalStack's port of AWS event-ruler). The messages the rules post are
``guard.detection_messages``'s.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

EventPattern = dict[str, Any]

# --------------------------------------------------------------------------------------------
# GuardDuty
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GuardDutyFeature:
    """One GuardDuty detector feature, by its API name, with the sub-settings it needs on."""

    name: str  # DetectorFeature enum, e.g. "S3_DATA_EVENTS"
    additional_configuration: tuple[str, ...] = ()  # FeatureAdditionalConfiguration enum

    def configuration(self, enabled: bool = True) -> dict[str, Any]:
        """The feature as the GuardDuty API's DetectorFeatureConfiguration (CreateDetector and
        UpdateDetector ``Features`` items), so it can be validated against botocore's model."""
        status = "ENABLED" if enabled else "DISABLED"
        config: dict[str, Any] = {"Name": self.name, "Status": status}
        if self.additional_configuration:
            config["AdditionalConfiguration"] = [
                {"Name": name, "Status": status} for name in self.additional_configuration
            ]
        return config


#: Config alias -> feature. Runtime Monitoring is only useful with its agents managed by
#: GuardDuty; without the three agent-management settings it enables nothing on EKS, ECS Fargate
#: or EC2. EKS_RUNTIME_MONITORING is deliberately absent: RUNTIME_MONITORING supersedes it and
#: AWS advises against enabling both.
GUARDDUTY_FEATURES: Mapping[str, GuardDutyFeature] = MappingProxyType(
    {
        "s3-data-events": GuardDutyFeature("S3_DATA_EVENTS"),
        "eks-audit-logs": GuardDutyFeature("EKS_AUDIT_LOGS"),
        "ebs-malware-protection": GuardDutyFeature("EBS_MALWARE_PROTECTION"),
        "rds-login-events": GuardDutyFeature("RDS_LOGIN_EVENTS"),
        "lambda-network-logs": GuardDutyFeature("LAMBDA_NETWORK_LOGS"),
        "runtime-monitoring": GuardDutyFeature(
            "RUNTIME_MONITORING",
            (
                "EKS_ADDON_MANAGEMENT",
                "ECS_FARGATE_AGENT_MANAGEMENT",
                "EC2_AGENT_MANAGEMENT",
            ),
        ),
    }
)
DEFAULT_GUARDDUTY_FEATURES: tuple[str, ...] = tuple(GUARDDUTY_FEATURES)

#: GuardDuty's FindingPublishingFrequency enum. It only paces re-publication of *updated*
#: findings; new findings reach EventBridge within about five minutes whatever it is set to.
GUARDDUTY_PUBLISHING_FREQUENCIES: tuple[str, ...] = ("FIFTEEN_MINUTES", "ONE_HOUR", "SIX_HOURS")

#: Routing thresholds on GuardDuty's numeric severity (High starts at 7.0, Medium at 4.0).
GUARDDUTY_URGENT_MIN: Final = 7.0
GUARDDUTY_NORMAL_MIN: Final = 4.0
#: GuardDuty severities run from 1.0 to 10.0 (10.0 reached by Critical attack sequences).
_GUARDDUTY_SEVERITY_RANGE = (0.0, 10.0)


def guardduty_features(aliases: Sequence[str]) -> list[GuardDutyFeature]:
    """Resolve config aliases to features; an unknown alias is an error, not a silent skip."""
    unknown = [alias for alias in aliases if alias not in GUARDDUTY_FEATURES]
    if unknown:
        raise ValueError(
            f"unknown GuardDuty feature(s) {unknown}; known: {sorted(GUARDDUTY_FEATURES)}"
        )
    return [GUARDDUTY_FEATURES[alias] for alias in dict.fromkeys(aliases)]


# --------------------------------------------------------------------------------------------
# Security Hub
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SecurityHubStandard:
    """A Security Hub standard and the ARN that BatchEnableStandards takes for it."""

    alias: str
    title: str
    arn_template: str  # "{partition}" and, for regional standards, "{region}"

    @property
    def regional(self) -> bool:
        return "{region}" in self.arn_template

    def arn(self, region: str) -> str:
        # Imported here: botocore's endpoint data (read once per process) names the partition.
        from guard.aws_model import partition_of

        return self.arn_template.format(partition=partition_of(region), region=region)


def _standard(
    alias: str, title: str, resource: str, *, regional: bool = True
) -> SecurityHubStandard:
    region = "{region}" if regional else ""
    return SecurityHubStandard(alias, title, f"arn:{{partition}}:securityhub:{region}::{resource}")


#: ARNs as pulumi-aws's StandardsSubscription documents them and as the BatchEnableStandards API
#: example writes them ("arn:aws:securityhub:us-west-1::standards/pci-dss/v/3.2.1"). Findings'
#: ProductFields carry a region-less form that the API does not take. CIS v1.2.0 predates the regional "standards/" form: its ARN is the global
#: "ruleset/" one, with no region. The AWS Resource Tagging Standard exists (AWS documents it as
#: unavailable in Canada West (Calgary), China and GovCloud, which this catalog does not police).
SECURITY_HUB_STANDARDS: Mapping[str, SecurityHubStandard] = MappingProxyType(
    {
        s.alias: s
        for s in (
            _standard(
                "aws-foundational",
                "AWS Foundational Security Best Practices v1.0.0",
                "standards/aws-foundational-security-best-practices/v/1.0.0",
            ),
            _standard(
                "cis-1.2",
                "CIS AWS Foundations Benchmark v1.2.0",
                "ruleset/cis-aws-foundations-benchmark/v/1.2.0",
                regional=False,
            ),
            _standard(
                "cis-1.4",
                "CIS AWS Foundations Benchmark v1.4.0",
                "standards/cis-aws-foundations-benchmark/v/1.4.0",
            ),
            _standard(
                "cis-3.0",
                "CIS AWS Foundations Benchmark v3.0.0",
                "standards/cis-aws-foundations-benchmark/v/3.0.0",
            ),
            _standard("pci-dss", "PCI DSS v3.2.1", "standards/pci-dss/v/3.2.1"),
            _standard("nist-800-53", "NIST SP 800-53 Rev. 5", "standards/nist-800-53/v/5.0.0"),
            _standard(
                "aws-resource-tagging",
                "AWS Resource Tagging Standard v1.0.0",
                "standards/aws-resource-tagging-standard/v/1.0.0",
            ),
        )
    }
)

#: Security Hub control IDs (consolidated "SecurityControlId"): a service prefix that starts with
#: a capital and may hold digits (EC2, S3, Route53), a dot, and a number without leading zeros.
SECURITY_HUB_CONTROL_ID = re.compile(r"^[A-Z][A-Za-z0-9]*\.[1-9][0-9]*$")

#: ASFF Severity.Label, Workflow.Status and RecordState enums, most severe label first.
SECURITY_HUB_LABELS: tuple[str, ...] = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL")
SECURITY_HUB_URGENT_LABELS: tuple[str, ...] = ("CRITICAL", "HIGH")


def arn_resource(arn: object) -> str:
    """What follows "::" in a standards ARN: the catalog's templates differ only by partition
    and region before it."""
    return str(arn).split("::", 1)[-1]


def standard_of_arn(arn: object) -> SecurityHubStandard | None:
    """The catalog's standard a standards ARN names (any region or partition), or None."""
    resource = arn_resource(arn)
    for standard in SECURITY_HUB_STANDARDS.values():
        if arn_resource(standard.arn_template) == resource:
            return standard
    return None


def standard_alias(arn: object) -> str:
    """A standards ARN as the catalog's alias, else its resource part."""
    standard = standard_of_arn(arn)
    return standard.alias if standard is not None else arn_resource(arn)


def standard_arn(alias: str, region: str) -> str:
    """The ARN of a Security Hub standard in a region, e.g. for BatchEnableStandards."""
    try:
        standard = SECURITY_HUB_STANDARDS[alias]
    except KeyError:
        raise ValueError(
            f"unknown Security Hub standard {alias!r}; known: {sorted(SECURITY_HUB_STANDARDS)}"
        ) from None
    return standard.arn(region)


# --------------------------------------------------------------------------------------------
# EventBridge patterns
# --------------------------------------------------------------------------------------------

GUARDDUTY_SOURCE: Final = "aws.guardduty"
GUARDDUTY_DETAIL_TYPE: Final = "GuardDuty Finding"
SECURITYHUB_SOURCE: Final = "aws.securityhub"
SECURITYHUB_DETAIL_TYPE: Final = "Security Hub Findings - Imported"
#: Trusted Advisor is a global service whose events arrive on us-east-1's default bus (the region
#: of every sample found), so its rule belongs there; AWS rates their delivery "best effort".
TRUSTED_ADVISOR_SOURCE: Final = "aws.trustedadvisor"
TRUSTED_ADVISOR_DETAIL_TYPE: Final = "Trusted Advisor Check Item Refresh Notification"
#: The check-item statuses Trusted Advisor sends: red, yellow, green, and INFO for checks that
#: only report (the pattern accepts any of them; the default notifies ERROR and WARN).
TRUSTED_ADVISOR_STATUSES: tuple[str, ...] = ("ERROR", "WARN", "OK", "INFO")


@dataclass(frozen=True)
class GuardDutyResource:
    """A GuardDuty resource type and the fields of its details block a message shows.

    A finding fills the block of its ``resource.resourceType``, but sample findings
    (CreateSampleFindings) fill every block, and an input transformer cannot choose between
    them; so each type gets a rule of its own whose pattern names the type and whose message
    reads only that block.
    """

    resource_type: str  # detail.resource.resourceType
    slug: str  # the rule's name part: guardduty-<route>-<slug>
    fields: tuple[tuple[str, str, str], ...]  # (label, placeholder, JSONPath)


GUARDDUTY_RESOURCE_PATH: Final = "$.detail.resource"
_R = GUARDDUTY_RESOURCE_PATH
#: The resource types with a details block worth showing, by the ``resourceType`` values of
#: GuardDuty's findings; the paths are checked against botocore's ``Finding`` shape in the tests.
#: Every other type (S3Object, RDSLimitlessDB, ...) is named by a per-route fallback rule.
GUARDDUTY_RESOURCES: tuple[GuardDutyResource, ...] = (
    GuardDutyResource(
        "Instance", "instance", (("Instance", "instanceId", f"{_R}.instanceDetails.instanceId"),)
    ),
    GuardDutyResource(
        "AccessKey",
        "access-key",
        (
            ("IAM user", "userName", f"{_R}.accessKeyDetails.userName"),
            ("Access key", "accessKeyId", f"{_R}.accessKeyDetails.accessKeyId"),
        ),
    ),
    GuardDutyResource(
        "S3Bucket", "s3-bucket", (("S3 bucket", "bucketName", f"{_R}.s3BucketDetails[0].name"),)
    ),
    GuardDutyResource(
        "EKSCluster",
        "eks-cluster",
        (("EKS cluster", "eksCluster", f"{_R}.eksClusterDetails.name"),),
    ),
    GuardDutyResource(
        "ECSCluster",
        "ecs-cluster",
        (("ECS cluster", "ecsCluster", f"{_R}.ecsClusterDetails.name"),),
    ),
    GuardDutyResource(
        "Container",
        "container",
        (
            ("Container", "containerName", f"{_R}.containerDetails.name"),
            ("Image", "containerImage", f"{_R}.containerDetails.image"),
        ),
    ),
    GuardDutyResource(
        "RDSDBInstance",
        "rds-db-instance",
        (("RDS DB instance", "dbInstance", f"{_R}.rdsDbInstanceDetails.dbInstanceIdentifier"),),
    ),
    GuardDutyResource(
        "Lambda",
        "lambda",
        (("Lambda function", "lambdaFunction", f"{_R}.lambdaDetails.functionName"),),
    ),
)
#: The rule name part of the fallback rule of each route.
GUARDDUTY_OTHER: Final = "other"


def guardduty_pattern(
    min_severity: float,
    below: float | None = None,
    *,
    resource_type: str | None = None,
    other_than: Sequence[str] = (),
) -> EventPattern:
    """GuardDuty findings with ``min_severity <= severity`` and, if given, ``severity < below``,
    on a ``resource_type`` or on any type but ``other_than``.

    The bounds are half-open so adjacent routes (>= 7 urgent, 4 to < 7 normal) never overlap
    and never leave a gap: 6.95 is normal, 7.0 is urgent. ``anything-but`` alone does not match
    a finding without a resource type, so the fallback also takes an absent one.
    """
    low, high = _GUARDDUTY_SEVERITY_RANGE
    if not low <= min_severity <= high:
        raise ValueError(f"GuardDuty severity {min_severity} outside {low}..{high}")
    numeric: list[str | float] = [">=", float(min_severity)]
    if below is not None:
        if below <= min_severity:
            raise ValueError(f"empty severity range: {min_severity} <= severity < {below}")
        numeric += ["<", float(below)]
    detail: dict[str, Any] = {"severity": [{"numeric": numeric}]}
    if resource_type is not None and other_than:
        raise ValueError(
            "a GuardDuty pattern takes a resource type or types to leave out, not both"
        )
    if resource_type is not None:
        detail["resource"] = {"resourceType": [resource_type]}
    elif other_than:
        detail["resource"] = {
            "resourceType": [{"anything-but": list(dict.fromkeys(other_than))}, {"exists": False}]
        }
    return {
        "source": [GUARDDUTY_SOURCE],
        "detail-type": [GUARDDUTY_DETAIL_TYPE],
        "detail": detail,
    }


#: Each GuardDuty route's severity bounds, ``min <= severity < below`` (no upper bound: None).
GUARDDUTY_ROUTE_BOUNDS: Mapping[str, tuple[float, float | None]] = MappingProxyType(
    {
        "urgent": (GUARDDUTY_URGENT_MIN, None),
        "normal": (GUARDDUTY_NORMAL_MIN, GUARDDUTY_URGENT_MIN),
    }
)


def guardduty_routes() -> dict[str, EventPattern]:
    """The two GuardDuty severity routes, any resource; findings below 4.0 (Low) notify nobody."""
    return {route: guardduty_pattern(*bounds) for route, bounds in GUARDDUTY_ROUTE_BOUNDS.items()}


@dataclass(frozen=True)
class GuardDutyRule:
    """One EventBridge rule for GuardDuty: its route, pattern and message."""

    route: str
    resource: GuardDutyResource | None  # None: the route's fallback for every other type
    pattern: EventPattern

    @property
    def name(self) -> str:
        return f"guardduty-{self.route}-{self.resource.slug if self.resource else GUARDDUTY_OTHER}"


def guardduty_rules() -> list[GuardDutyRule]:
    """One rule per route and resource type, then each route's fallback: every finding of a
    route matches exactly one of its rules, whatever its resource type."""
    known = [r.resource_type for r in GUARDDUTY_RESOURCES]
    rules = []
    for route, bounds in GUARDDUTY_ROUTE_BOUNDS.items():
        for resource in GUARDDUTY_RESOURCES:
            rules.append(
                GuardDutyRule(
                    route,
                    resource,
                    guardduty_pattern(*bounds, resource_type=resource.resource_type),
                )
            )
        rules.append(GuardDutyRule(route, None, guardduty_pattern(*bounds, other_than=known)))
    return rules


#: The end of the ASFF ``ProductArn`` of the findings an AWS product sends to Security Hub, e.g.
#: "arn:aws:securityhub:us-east-1::product/aws/guardduty" (whatever the region or partition).
#: ProductArn is required in ASFF; the top-level ProductName is not, and GuardDuty's findings
#: in AWS's own example carry it only in ProductFields ("aws/securityhub/ProductName").
SECURITY_HUB_PRODUCT_ARN_SUFFIXES: Mapping[str, str] = MappingProxyType(
    {"GuardDuty": "::product/aws/guardduty"}
)


def securityhub_pattern(
    labels: Sequence[str], *, exclude_products: Sequence[str] = ()
) -> EventPattern:
    """New, active Security Hub findings whose severity label is one of ``labels``.

    ``detail.findings`` is an array of objects; EventBridge matches a nested field inside any
    element, and Security Hub sends one finding per event, so all conditions hold for the same
    finding. ``exclude_products`` (keys of ``SECURITY_HUB_PRODUCT_ARN_SUFFIXES``, e.g.
    "GuardDuty") drops findings that another rule already routes, so a GuardDuty finding is not
    announced twice. It matches on ProductArn: ``anything-but`` never matches a field that is
    absent, so excluding on the optional ProductName would drop every finding without one.
    """
    chosen = _checked(labels, SECURITY_HUB_LABELS, "Security Hub severity label")
    findings: dict[str, Any] = {
        "Severity": {"Label": chosen},
        "Workflow": {"Status": ["NEW"]},
        "RecordState": ["ACTIVE"],
    }
    if exclude_products:
        unknown = [p for p in exclude_products if p not in SECURITY_HUB_PRODUCT_ARN_SUFFIXES]
        if unknown:
            raise ValueError(
                f"unknown Security Hub product(s) {unknown}; "
                f"known: {sorted(SECURITY_HUB_PRODUCT_ARN_SUFFIXES)}"
            )
        suffixes = [SECURITY_HUB_PRODUCT_ARN_SUFFIXES[p] for p in dict.fromkeys(exclude_products)]
        suffix: str | list[str] = suffixes[0] if len(suffixes) == 1 else suffixes
        findings["ProductArn"] = [{"anything-but": {"suffix": suffix}}]
    return {
        "source": [SECURITYHUB_SOURCE],
        "detail-type": [SECURITYHUB_DETAIL_TYPE],
        "detail": {"findings": findings},
    }


def trusted_advisor_pattern(statuses: Sequence[str]) -> EventPattern:
    """Trusted Advisor check-item refreshes whose status is one of ``statuses``."""
    chosen = _checked(statuses, TRUSTED_ADVISOR_STATUSES, "Trusted Advisor status")
    return {
        "source": [TRUSTED_ADVISOR_SOURCE],
        "detail-type": [TRUSTED_ADVISOR_DETAIL_TYPE],
        "detail": {"status": chosen},
    }


def route_securityhub(notify: Sequence[str]) -> dict[str, list[str]]:
    """Split the labels to notify into routes: CRITICAL/HIGH urgent, the rest normal.

    A route with no label is left out, because EventBridge rejects an empty match list.
    """
    chosen = set(_checked(notify, SECURITY_HUB_LABELS, "Security Hub severity label"))
    routes = {
        "urgent": [label for label in SECURITY_HUB_URGENT_LABELS if label in chosen],
        "normal": [
            label
            for label in SECURITY_HUB_LABELS
            if label in chosen and label not in SECURITY_HUB_URGENT_LABELS
        ],
    }
    return {route: labels for route, labels in routes.items() if labels}


def _checked(values: Sequence[str], allowed: Sequence[str], what: str) -> list[str]:
    # A bare string is a Sequence[str] too; "HIGH" would become ["H", "I", "G", "H"].
    if isinstance(values, str):
        raise TypeError(f"{what}s must be a list, not the string {values!r}")
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise ValueError(f"unknown {what}(s) {unknown}; allowed: {list(allowed)}")
    if not values:
        raise ValueError(f"at least one {what} is required")
    return list(dict.fromkeys(values))
