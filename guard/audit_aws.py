"""What ``guard audit`` reads from the live account, with boto3, read-only.

Every call is a Describe/Get/List the preview role may make (ReadOnlyAccess plus the pipeline's
read grants; ``tests/guard/test_audit_permissions.py`` proves it with the IAM evaluator from
:data:`AUDIT_ACTIONS`). Every list is paginated; clients retry in botocore's adaptive mode. A
problem the user must fix before an audit can mean anything (no credentials, access denied, an
unreachable endpoint, throttling that outlasted the retries) becomes one :class:`AuditError`
line; the command exits 2 on it. A service the account cannot use (Security Hub not enabled,
no Shield subscription, a support plan without the Trusted Advisor API) is not an error: it is
reported as the state of the account.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
)

from guard.aws_errors import DENIED_CODES, THROTTLED_CODES, error_parts

#: The IAM action behind each API call the audit makes (``service:Operation`` as IAM names it).
AUDIT_ACTIONS: Mapping[str, str] = {
    "sts.GetCallerIdentity": "sts:GetCallerIdentity",
    "elbv2.DescribeLoadBalancers": "elasticloadbalancing:DescribeLoadBalancers",
    "elbv2.DescribeTags": "elasticloadbalancing:DescribeTags",
    "elbv2.DescribeLoadBalancerAttributes": "elasticloadbalancing:DescribeLoadBalancerAttributes",
    "wafv2.GetWebACLForResource": "wafv2:GetWebACLForResource",
    "wafv2.ListWebACLs": "wafv2:ListWebACLs",
    "wafv2.GetLoggingConfiguration": "wafv2:GetLoggingConfiguration",
    "cloudfront.ListDistributions": "cloudfront:ListDistributions",
    "cloudfront.ListTagsForResource": "cloudfront:ListTagsForResource",
    "shield.DescribeSubscription": "shield:DescribeSubscription",
    "shield.ListProtections": "shield:ListProtections",
    "shield.DescribeDRTAccess": "shield:DescribeDRTAccess",
    "securityhub.GetFindings": "securityhub:GetFindings",
    "guardduty.ListDetectors": "guardduty:ListDetectors",
    "guardduty.ListFindings": "guardduty:ListFindings",
    "guardduty.GetFindings": "guardduty:GetFindings",
    "support.DescribeTrustedAdvisorChecks": "support:DescribeTrustedAdvisorChecks",
    "support.DescribeTrustedAdvisorCheckSummaries": "support:DescribeTrustedAdvisorCheckSummaries",
}

#: CloudFront, the Support API and WAF's CLOUDFRONT scope answer in us-east-1 only.
GLOBAL_REGION = "us-east-1"
#: botocore's adaptive mode: exponential backoff plus client-side rate limiting on throttling.
MAX_ATTEMPTS = 8
RETRIES = Config(retries={"mode": "adaptive", "max_attempts": MAX_ATTEMPTS})
#: Security Hub answers InvalidAccessException when the hub is not enabled in the region.
_HUB_OFF = {"InvalidAccessException"}
#: The Support API answers SubscriptionRequiredException on Basic and Developer support plans.
_NO_SUPPORT_PLAN = {"SubscriptionRequiredException"}
T = TypeVar("T")


class AuditError(Exception):
    """A problem that makes the audit meaningless; one line for the user, exit 2."""


@dataclass(frozen=True)
class LiveEndpoint:
    """An internet-facing ALB or an enabled CloudFront distribution, as the account has it."""

    kind: str  # "alb" | "cloudfront"
    arn: str
    name: str
    dns_name: str
    region: str
    tags: dict[str, str]
    web_acl: str | None  # the associated web ACL's ARN (WAF Classic: its ID), None without one


@dataclass(frozen=True)
class ShieldState:
    """Shield Advanced as the account has it; ``subscribed`` False leaves the rest empty."""

    subscribed: bool
    end_time: datetime | None = None
    auto_renew: str | None = None  # ENABLED | DISABLED
    proactive_engagement: str | None = None  # ENABLED | DISABLED | PENDING
    srt_role: str | None = None
    protected: frozenset[str] = frozenset()


@dataclass(frozen=True)
class AccessLogs:
    """An ALB's access log attributes: ``access_logs.s3.enabled``, ``.bucket`` and ``.prefix``."""

    enabled: bool
    bucket: str
    prefix: str


@dataclass(frozen=True)
class TrustedAdvisorCheck:
    """A Trusted Advisor check in warning or error."""

    id: str
    name: str
    category: str
    status: str  # warning | error
    flagged: int


@dataclass
class Live:
    """Everything the audit read; each optional part is None when the source is unavailable."""

    account: str
    endpoints: list[LiveEndpoint] = field(default_factory=list)
    #: (scope, region, web ACL name) -> ARN: REGIONAL per region, CLOUDFRONT in us-east-1.
    web_acls: dict[tuple[str, str, str], str] = field(default_factory=dict)
    logged_web_acls: set[str] = field(default_factory=set)
    #: ALB ARN -> its access log attributes, read for the planned ALBs when the stack has
    #: guard:logs.alb.
    access_logs: dict[str, AccessLogs] = field(default_factory=dict)
    shield: ShieldState = field(default_factory=lambda: ShieldState(False))
    securityhub: list[dict[str, Any]] | None = None
    securityhub_note: str | None = None
    guardduty: list[float] | None = None
    guardduty_note: str | None = None
    trusted_advisor: list[TrustedAdvisorCheck] | None = None
    trusted_advisor_note: str | None = None


ClientFactory = Callable[[str, str], Any]


def client_factory(endpoint_url: str | None, session: boto3.Session | None = None) -> ClientFactory:
    """``factory(service, region)``: one client per pair, adaptive retries, optional endpoint."""
    session = session or boto3.Session()
    made: dict[tuple[str, str], Any] = {}

    def factory(service: str, region: str) -> Any:
        if (service, region) not in made:
            made[(service, region)] = session.client(
                service,  # type: ignore[call-overload]
                region_name=region,
                endpoint_url=endpoint_url,
                config=RETRIES,
            )
        return made[(service, region)]

    return factory


class AwsReader:
    """The audit's reads, each turning a user-fixable failure into :class:`AuditError`. The one
    write, ``--notify``'s publish, goes through :meth:`call` too, so it fails the same way."""

    def __init__(self, clients: ClientFactory) -> None:
        self._clients = clients

    def call(self, service: str, region: str, operation: str, **params: Any) -> Any:
        """One API call; a user-fixable failure becomes one :class:`AuditError` line."""
        client = self._clients(service, region)
        try:
            return getattr(client, _snake(operation))(**params)
        except ClientError as error:
            raise _client_error(error, service, region, operation) from None
        except (NoCredentialsError, PartialCredentialsError):
            raise AuditError(
                "no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, "
                "or assume the stack's preview role first"
            ) from None
        except EndpointConnectionError as error:
            raise AuditError(f"cannot reach {error.kwargs.get('endpoint_url', service)}") from None
        except NoRegionError:
            raise AuditError("no AWS region: pass --region or set AWS_REGION") from None
        except BotoCoreError as error:
            raise AuditError(f"{service} {operation} in {region}: {error}") from None

    def _pages(
        self,
        service: str,
        region: str,
        operation: str,
        items: str,
        page_key: str = "NextToken",
        next_key: str | None = None,
        **params: Any,
    ) -> Iterator[Any]:
        """Every item of every page; ``page_key`` is the request's paging parameter, ``next_key``
        the response's when it differs (ELB's Marker/NextMarker)."""
        while True:
            page = self.call(service, region, operation, **params)
            yield from page.get(items, []) or []
            following = page.get(next_key or page_key)
            if not following:
                return
            params[page_key] = following

    # -- identity --------------------------------------------------------------------------

    def account(self, region: str) -> str:
        return str(self.call("sts", region, "GetCallerIdentity")["Account"])

    # -- endpoints ---------------------------------------------------------------------------

    def load_balancers(self, region: str) -> list[LiveEndpoint]:
        """Internet-facing application load balancers in ``region``, with tags and web ACL."""
        found = [
            lb
            for lb in self._pages(
                "elbv2",
                region,
                "DescribeLoadBalancers",
                "LoadBalancers",
                page_key="Marker",
                next_key="NextMarker",
                PageSize=400,
            )
            if lb.get("Type") == "application" and lb.get("Scheme") == "internet-facing"
        ]
        arns = [str(lb["LoadBalancerArn"]) for lb in found]
        tags: dict[str, dict[str, str]] = {}
        for start in range(0, len(arns), 20):  # DescribeTags takes at most 20 ARNs
            answer = self.call(
                "elbv2", region, "DescribeTags", ResourceArns=arns[start : start + 20]
            )
            for described in answer.get("TagDescriptions", []):
                tags[described["ResourceArn"]] = {
                    t["Key"]: t.get("Value", "") for t in described.get("Tags", [])
                }
        return [
            LiveEndpoint(
                "alb",
                str(lb["LoadBalancerArn"]),
                str(lb.get("LoadBalancerName", "")),
                str(lb.get("DNSName", "")),
                region,
                tags.get(str(lb["LoadBalancerArn"]), {}),
                self.web_acl_for(str(lb["LoadBalancerArn"]), region),
            )
            for lb in found
        ]

    def access_logs(self, load_balancer_arn: str, region: str) -> AccessLogs:
        """The load balancer's ``access_logs.s3.*`` attributes (ELB User Guide, "Enable access
        logs": the attributes ``access_logs.s3.enabled``, ``access_logs.s3.bucket`` and
        ``access_logs.s3.prefix``). An attribute not returned counts as off or empty."""
        answer = self.call(
            "elbv2", region, "DescribeLoadBalancerAttributes", LoadBalancerArn=load_balancer_arn
        )
        attributes = {
            str(a.get("Key")): str(a.get("Value") or "") for a in answer.get("Attributes", [])
        }
        return AccessLogs(
            attributes.get("access_logs.s3.enabled", "false").lower() == "true",
            attributes.get("access_logs.s3.bucket", ""),
            attributes.get("access_logs.s3.prefix", ""),
        )

    def web_acl_for(self, resource_arn: str, region: str) -> str | None:
        answer = self.call("wafv2", region, "GetWebACLForResource", ResourceArn=resource_arn)
        web_acl = answer.get("WebACL")
        return str(web_acl["ARN"]) if web_acl else None

    def distributions(self, account: str) -> list[LiveEndpoint]:
        """Enabled CloudFront distributions (a disabled one serves nothing), with tags."""
        found = []
        marker: str | None = None
        while True:
            params = {"Marker": marker} if marker else {}
            page = self.call("cloudfront", GLOBAL_REGION, "ListDistributions", **params)
            listing = page.get("DistributionList", {})
            found += [d for d in listing.get("Items", []) or [] if d.get("Enabled", True)]
            marker = listing.get("NextMarker") if listing.get("IsTruncated") else None
            if not marker:
                break
        endpoints = []
        for summary in found:
            arn = str(
                summary.get("ARN") or f"arn:aws:cloudfront::{account}:distribution/{summary['Id']}"
            )
            answer = self.call("cloudfront", GLOBAL_REGION, "ListTagsForResource", Resource=arn)
            items = answer.get("Tags", {}).get("Items", []) or []
            endpoints.append(
                LiveEndpoint(
                    "cloudfront",
                    arn,
                    str(summary["Id"]),
                    str(summary.get("DomainName", "")),
                    GLOBAL_REGION,
                    {t["Key"]: t.get("Value", "") for t in items},
                    str(summary.get("WebACLId") or "") or None,
                )
            )
        return endpoints

    # -- WAF ---------------------------------------------------------------------------------

    def web_acls(self, scope: str, region: str) -> dict[str, str]:
        """Web ACL name -> ARN in one scope and region."""
        return {
            str(acl["Name"]): str(acl["ARN"])
            for acl in self._pages(
                "wafv2",
                region,
                "ListWebACLs",
                "WebACLs",
                page_key="NextMarker",
                Scope=scope,
                Limit=100,
            )
        }

    def is_logged(self, web_acl_arn: str, region: str) -> bool:
        """Whether the web ACL has a logging configuration (WAF answers "nonexistent" if not)."""
        try:
            self.call("wafv2", region, "GetLoggingConfiguration", ResourceArn=web_acl_arn)
        except _Unavailable:
            return False
        return True

    # -- Shield ------------------------------------------------------------------------------

    def shield(self) -> ShieldState:
        try:
            subscription = self.call("shield", GLOBAL_REGION, "DescribeSubscription")[
                "Subscription"
            ]
        except _Unavailable:
            return ShieldState(False)
        protected = frozenset(
            str(p["ResourceArn"])
            for p in self._pages(
                "shield", GLOBAL_REGION, "ListProtections", "Protections", MaxResults=100
            )
        )
        drt = self.call("shield", GLOBAL_REGION, "DescribeDRTAccess")
        return ShieldState(
            True,
            subscription.get("EndTime"),
            subscription.get("AutoRenew"),
            subscription.get("ProactiveEngagementStatus"),
            drt.get("RoleArn"),
            protected,
        )

    # -- findings ----------------------------------------------------------------------------

    def securityhub_findings(self, region: str) -> list[dict[str, Any]] | None:
        """Active findings whose workflow is NEW or NOTIFIED; None when the hub is off.

        The same criteria are applied again to what comes back, so a page that ignores the
        filter (an emulator, a future API change) cannot inflate the board.
        """
        filters = {
            "RecordState": [{"Value": "ACTIVE", "Comparison": "EQUALS"}],
            "WorkflowStatus": [
                {"Value": "NEW", "Comparison": "EQUALS"},
                {"Value": "NOTIFIED", "Comparison": "EQUALS"},
            ],
        }
        try:
            findings = list(
                self._pages(
                    "securityhub",
                    region,
                    "GetFindings",
                    "Findings",
                    Filters=filters,
                    MaxResults=100,
                )
            )
        except _Unavailable:
            return None
        return [
            f
            for f in findings
            if f.get("RecordState") == "ACTIVE"
            and (f.get("Workflow") or {}).get("Status", "NEW") in ("NEW", "NOTIFIED")
        ]

    def guardduty_severities(self, region: str) -> list[float] | None:
        """The severity of every unarchived finding; None without a detector."""
        detectors = list(self._pages("guardduty", region, "ListDetectors", "DetectorIds"))
        if not detectors:
            return None
        detector = str(detectors[0])
        ids = list(
            self._pages(
                "guardduty",
                region,
                "ListFindings",
                "FindingIds",
                DetectorId=detector,
                FindingCriteria={"Criterion": {"service.archived": {"Equals": ["false"]}}},
                MaxResults=50,
            )
        )
        severities = []
        for start in range(0, len(ids), 50):  # GetFindings takes at most 50 IDs
            answer = self.call(
                "guardduty",
                region,
                "GetFindings",
                DetectorId=detector,
                FindingIds=ids[start : start + 50],
            )
            severities += [
                float(f.get("Severity", 0))
                for f in answer.get("Findings", [])
                if not (f.get("Service") or {}).get("Archived", False)
            ]
        return severities

    def trusted_advisor(self) -> list[TrustedAdvisorCheck] | None:
        """Checks in warning or error; None when the support plan has no Trusted Advisor API."""
        try:
            checks = self.call(
                "support", GLOBAL_REGION, "DescribeTrustedAdvisorChecks", language="en"
            )["checks"]
            by_id = {str(c["id"]): c for c in checks}
            summaries = []
            ids = list(by_id)
            for start in range(0, len(ids), 100):
                answer = self.call(
                    "support",
                    GLOBAL_REGION,
                    "DescribeTrustedAdvisorCheckSummaries",
                    checkIds=ids[start : start + 100],
                )
                summaries += answer.get("summaries", [])
        except _Unavailable:
            return None
        flagged = [
            TrustedAdvisorCheck(
                str(s["checkId"]),
                str(by_id.get(str(s["checkId"]), {}).get("name", s["checkId"])),
                str(by_id.get(str(s["checkId"]), {}).get("category", "")),
                str(s["status"]),
                int((s.get("resourcesSummary") or {}).get("resourcesFlagged", 0)),
            )
            for s in summaries
            if s.get("status") in ("warning", "error")
        ]
        return sorted(flagged, key=lambda c: (c.status != "error", c.category, c.name))


class _Unavailable(AuditError):
    """The service is not usable in this account (not enabled, no subscription, no plan)."""


def _client_error(error: ClientError, service: str, region: str, operation: str) -> AuditError:
    code, message = error_parts(error)
    where = f"{service} {operation} in {region}"
    if code in DENIED_CODES:
        action = AUDIT_ACTIONS.get(f"{service}.{operation}", f"{service}:{operation}")
        return AuditError(
            f"{code}: {where}; the audit role needs {action} (the preview role has it, see "
            "docs/audit.md)"
        )
    if code in THROTTLED_CODES:
        return AuditError(
            f"{where} was still throttled after {MAX_ATTEMPTS} attempts; try again later"
        )
    if (
        code in _HUB_OFF
        or code in _NO_SUPPORT_PLAN
        or (service == "shield" and code == "ResourceNotFoundException")
        or (service == "wafv2" and code == "WAFNonexistentItemException")
    ):
        return _Unavailable(f"{where}: {code}: {message}")
    return AuditError(f"{where}: {code}: {message}")


def _snake(operation: str) -> str:
    """A botocore operation name as its boto3 method: GetWebACLForResource -> get_web_acl_for_resource."""
    from botocore import xform_name

    return str(xform_name(operation))
