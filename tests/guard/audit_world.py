"""A live account for ``guard audit`` tests: a moto server on 127.0.0.1 seeded through boto3,
plus model-validated answers for the few APIs moto does not implement.

moto implements what the audit reads about load balancers, CloudFront, WAF, Shield
subscriptions and protections, Security Hub findings and Trusted Advisor's check list. It does
not implement GuardDuty ``ListFindings``/``GetFindings``, Shield ``DescribeDRTAccess`` and the
Support API's ``DescribeTrustedAdvisorCheckSummaries``. For those, :class:`World` answers through
botocore's own ``before-call`` hook (the mechanism ``botocore.stub.Stubber`` uses), after
validating each answer against the operation's output shape in botocore's service model, so an
answer AWS could not give fails the test instead of passing it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
import yaml
from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.validate import validate_parameters

from tests.conftest import moto_api

REGION = "ap-northeast-1"
ACCOUNT = "123456789012"  # moto's account for unknown access keys
#: The operations moto lacks, answered by :meth:`World.answer`.
NOT_IN_MOTO = (
    ("guardduty", "ListFindings"),
    ("guardduty", "GetFindings"),
    ("shield", "DescribeDRTAccess"),
    ("support", "DescribeTrustedAdvisorCheckSummaries"),
)


def validated(service: str, operation: str, response: dict[str, Any]) -> dict[str, Any]:
    """``response`` if it fits ``operation``'s output shape in botocore's model, else an error."""
    model = botocore.session.get_session().get_service_model(service)
    shape = model.operation_model(operation).output_shape
    assert shape is not None, f"{service} {operation} has no output"
    validate_parameters(response, shape)
    return response


@dataclass
class World:
    """The seeded account and the answers for what moto lacks."""

    url: str
    answers: dict[tuple[str, str], Any] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)

    def client(self, service: str, region: str = REGION) -> Any:
        return boto3.client(service, region_name=region, endpoint_url=self.url)  # type: ignore[call-overload]

    # -- answers for what moto lacks -------------------------------------------------------

    def answer(self, service: str, operation: str, response: Any) -> None:
        """Answer ``operation`` with ``response`` (a dict, or a callable of the params)."""
        if not callable(response) and "Error" not in response:
            validated(service, operation, response)
        self.answers[(service, operation)] = response

    def session(self) -> boto3.Session:
        session = boto3.Session()
        session.events.register("before-parameter-build", self._keep_params)
        session.events.register("before-call", self._before_call)
        return session

    @staticmethod
    def _keep_params(params: Mapping[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["api_params"] = dict(params)

    def _before_call(self, model: Any, context: dict[str, Any], **_: Any) -> Any:
        key = (model.service_model.service_name, model.name)
        self.calls.append(f"{key[0]}.{key[1]}")
        if key not in self.answers:
            return None  # moto answers
        response = self.answers[key]
        if callable(response):
            response = validated(key[0], key[1], response(context.get("api_params", {})))
        status = 400 if "Error" in response else 200
        return AWSResponse("http://127.0.0.1", status, HTTPHeaders(), None), response

    # -- seeding -----------------------------------------------------------------------------

    def subnets(self, region: str = REGION) -> list[str]:
        ec2 = self.client("ec2", region)
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        return [
            ec2.create_subnet(
                VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{region}{z}"
            )["Subnet"]["SubnetId"]
            for i, z in enumerate("ac")
        ]

    def alb(
        self,
        name: str,
        subnets: list[str],
        *,
        scheme: str = "internet-facing",
        tags: Mapping[str, str] | None = None,
        region: str = REGION,
    ) -> str:
        tagged = {"Tags": [{"Key": k, "Value": v} for k, v in tags.items()]} if tags else {}
        answer = self.client("elbv2", region).create_load_balancer(
            Name=name, Subnets=subnets, Scheme=scheme, Type="application", **tagged
        )
        return str(answer["LoadBalancers"][0]["LoadBalancerArn"])

    def web_acl(self, name: str, *, scope: str = "REGIONAL", logged: bool = True) -> str:
        region = REGION if scope == "REGIONAL" else "us-east-1"
        waf = self.client("wafv2", region)
        arn = str(
            waf.create_web_acl(
                Name=name,
                Scope=scope,
                DefaultAction={"Allow": {}},
                VisibilityConfig={
                    "SampledRequestsEnabled": True,
                    "CloudWatchMetricsEnabled": True,
                    "MetricName": name,
                },
                Rules=[],
            )["Summary"]["ARN"]
        )
        if logged:
            waf.put_logging_configuration(
                LoggingConfiguration={
                    "ResourceArn": arn,
                    "LogDestinationConfigs": [f"arn:aws:s3:::aws-waf-logs-{name}"],
                }
            )
        return arn

    def access_logs(
        self, load_balancer_arn: str, bucket: str = "", prefix: str = "", *, enabled: bool = True
    ) -> None:
        """Turn the ALB's access logs on (into ``bucket``/``prefix``) or off, as its owner would."""
        self.client("elbv2").modify_load_balancer_attributes(
            LoadBalancerArn=load_balancer_arn,
            Attributes=[
                {"Key": "access_logs.s3.enabled", "Value": "true" if enabled else "false"},
                {"Key": "access_logs.s3.bucket", "Value": bucket},
                {"Key": "access_logs.s3.prefix", "Value": prefix},
            ],
        )

    def associate(self, web_acl_arn: str, resource_arn: str) -> None:
        self.client("wafv2").associate_web_acl(WebACLArn=web_acl_arn, ResourceArn=resource_arn)

    def distribution(self, reference: str, web_acl_arn: str = "") -> str:
        config = {
            "CallerReference": reference,
            "Comment": reference,
            "Enabled": True,
            "WebACLId": web_acl_arn,
            "Origins": {
                "Quantity": 1,
                "Items": [
                    {
                        "Id": "origin",
                        "DomainName": f"{reference}.example.com",
                        "CustomOriginConfig": {
                            "HTTPPort": 80,
                            "HTTPSPort": 443,
                            "OriginProtocolPolicy": "https-only",
                        },
                    }
                ],
            },
            "DefaultCacheBehavior": {
                "TargetOriginId": "origin",
                "ViewerProtocolPolicy": "redirect-to-https",
                "MinTTL": 0,
                "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
            },
        }
        answer = self.client("cloudfront", "us-east-1").create_distribution(
            DistributionConfig=config
        )
        return str(answer["Distribution"]["ARN"])

    def shield(self, protected: list[str], *, srt_role: str | None) -> None:
        """A subscription (moto reports proactive engagement ENABLED), protections, the SRT role."""
        shield = self.client("shield", "us-east-1")
        shield.create_subscription()
        for i, arn in enumerate(protected):
            shield.create_protection(Name=f"p{i}", ResourceArn=arn)
        self.answer("shield", "DescribeDRTAccess", {"RoleArn": srt_role} if srt_role else {})

    def securityhub(self, findings: list[dict[str, Any]]) -> None:
        hub = self.client("securityhub")
        hub.enable_security_hub(EnableDefaultStandards=False)
        for start in range(0, len(findings), 100):
            answer = hub.batch_import_findings(Findings=findings[start : start + 100])
            assert answer["FailedCount"] == 0, answer

    def guardduty(self, severities: list[float]) -> None:
        detector = self.client("guardduty").create_detector(Enable=True)["DetectorId"]
        ids = [f"{i:032x}" for i in range(len(severities))]
        by_id = dict(zip(ids, severities, strict=True))

        def list_findings(params: Mapping[str, Any]) -> dict[str, Any]:
            assert params["DetectorId"] == detector
            criterion = params["FindingCriteria"]["Criterion"]
            assert criterion == {"service.archived": {"Equals": ["false"]}}
            start = int(params.get("NextToken") or 0)
            page = ids[start : start + params["MaxResults"]]
            following = start + len(page)
            return {
                "FindingIds": page,
                **({"NextToken": str(following)} if following < len(ids) else {}),
            }

        def get_findings(params: Mapping[str, Any]) -> dict[str, Any]:
            assert len(params["FindingIds"]) <= 50
            return {
                "Findings": [guardduty_finding(i, by_id[i], detector) for i in params["FindingIds"]]
            }

        self.answer("guardduty", "ListFindings", list_findings)
        self.answer("guardduty", "GetFindings", get_findings)

    def trusted_advisor(self, statuses: Mapping[str, str] | None) -> None:
        """Check summaries by check name; None: a Basic support plan (the API is refused)."""
        if statuses is None:
            self.answer(
                "support",
                "DescribeTrustedAdvisorCheckSummaries",
                {
                    "Error": {
                        "Code": "SubscriptionRequiredException",
                        "Message": "AWS Premium Support Subscription is required to use this service.",
                    }
                },
            )
            self.answers[("support", "DescribeTrustedAdvisorChecks")] = self.answers[
                ("support", "DescribeTrustedAdvisorCheckSummaries")
            ]
            return
        checks = self.client("support", "us-east-1").describe_trusted_advisor_checks(language="en")[
            "checks"
        ]
        ids = {c["id"]: c["name"] for c in checks}

        def summaries(params: Mapping[str, Any]) -> dict[str, Any]:
            assert len(params["checkIds"]) <= 100
            return {
                "summaries": [
                    {
                        "checkId": check,
                        "timestamp": "2026-11-29T00:00:00Z",
                        "status": statuses.get(ids[check], "ok"),
                        "hasFlaggedResources": ids[check] in statuses,
                        "resourcesSummary": {
                            "resourcesProcessed": 10,
                            "resourcesFlagged": 2 if ids[check] in statuses else 0,
                            "resourcesIgnored": 0,
                            "resourcesSuppressed": 0,
                        },
                        "categorySpecificSummary": {},
                    }
                    for check in params["checkIds"]
                ]
            }

        self.answer("support", "DescribeTrustedAdvisorCheckSummaries", summaries)


def guardduty_finding(finding_id: str, severity: float, detector: str) -> dict[str, Any]:
    return {
        "AccountId": ACCOUNT,
        "Arn": f"arn:aws:guardduty:{REGION}:{ACCOUNT}:detector/{detector}/finding/{finding_id}",
        "CreatedAt": "2026-11-20T00:00:00.000Z",
        "Id": finding_id,
        "Region": REGION,
        "Resource": {"ResourceType": "Instance"},
        "SchemaVersion": "2.0",
        "Severity": severity,
        "Type": "Recon:EC2/PortProbeUnprotectedPort",
        "UpdatedAt": "2026-11-20T00:00:00.000Z",
        "Service": {"Archived": False},
    }


def asff(
    number: int,
    label: str,
    *,
    control: str | None = "S3.8",
    workflow: str = "NEW",
    record: str = "ACTIVE",
    age_days: int = 3,
    now: datetime | None = None,
) -> dict[str, Any]:
    """An ASFF finding as Security Hub's BatchImportFindings takes it."""
    when = (now or datetime.now(UTC)) - timedelta(days=age_days)
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    finding: dict[str, Any] = {
        "SchemaVersion": "2018-10-08",
        "Id": f"finding-{number}",
        "ProductArn": f"arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default",
        "GeneratorId": f"security-control/{control}" if control else "custom-scanner",
        "AwsAccountId": ACCOUNT,
        "Types": ["Software and Configuration Checks"],
        "CreatedAt": stamp,
        "UpdatedAt": stamp,
        "FirstObservedAt": stamp,
        "Severity": {"Label": label},
        "Title": f"finding {number}",
        "Description": f"finding {number}",
        "Resources": [{"Type": "AwsS3Bucket", "Id": f"arn:aws:s3:::bucket-{number}"}],
        "Workflow": {"Status": workflow},
        "RecordState": record,
    }
    if control:
        finding["Compliance"] = {"Status": "FAILED", "SecurityControlId": control}
    return finding


def stack_file(
    path: Path,
    endpoints: list[dict[str, Any]],
    *,
    shield: bool = True,
    alerts: bool = True,
    detection: bool = True,
    account: str = ACCOUNT,
    alb_bucket: str | None = None,
) -> Path:
    """A stack file with one product whose endpoints are the given ALB/CloudFront ARNs;
    ``alb_bucket``: the stack keeps ALB access logs there (guard:logs.alb)."""
    config: dict[str, Any] = {
        "aws:region": REGION,
        "guard:account_id": account,
        "guard:products": [
            {
                "name": "shop",
                "owner": "team-shop",
                "endpoints": endpoints,
                "waf": {"rate_limits": [{"name": "login", "limit": 100, "path": "/login"}]},
            }
        ],
        "guard:logs": {"bucket": "aws-waf-logs-audit-test", "retention_days": 90},
    }
    if alb_bucket is not None:
        config["guard:logs"]["alb"] = {"bucket": alb_bucket, "retention_days": 90}
    if alerts:
        config["guard:alerts"] = {
            "slack": {
                "workspace_id": "T0EXAMPLE1",
                "normal_channel": "C0NORMAL01",
                "urgent_channel": "C0URGENT01",
            }
        }
    if detection:
        config["guard:detection"] = {
            "security_hub": {
                "disabled_controls": [{"control": "IAM.6", "reason": "root MFA held by the org"}]
            }
        }
    if shield:
        config["guard:shield"] = {
            "subscription": "existing",
            "srt_access": {"role": "create"},
            "proactive_engagement": {
                "contacts": [{"email": "oncall@example.com", "phone": "+81300000000"}]
            },
        }
    path.write_text(yaml.safe_dump({"config": config}, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def world(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """A reset moto account, boto3 pointed at it with dummy credentials, the audit's session
    hooked to answer what moto lacks."""
    yield open_world(moto_url, monkeypatch)


def open_world(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> World:
    """Reset moto and point boto3 and the audit at it, undone when ``monkeypatch`` is."""
    moto_api(moto_url, "/moto-api/reset")
    for key in list(os.environ):
        if key.startswith("AWS_"):
            monkeypatch.delenv(key)
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    world = World(moto_url)
    import guard.audit

    monkeypatch.setattr(guard.audit, "new_session", world.session)
    return world


def audit_json(text: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(text)
    return document
