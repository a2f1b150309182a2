"""What a stack's plan says the live account should have, for ``guard audit`` to compare.

Read from the resources the stack's own Pulumi program declares (the plan ``pulumi up`` would
apply), never from a second model of the stack: the web ACL each endpoint gets, which web ACLs
log, which resources Shield Advanced protects, the SRT role, proactive engagement, the Security
Hub controls switched off with their reasons, the topic of the normal alert route, and (with
``guard:logs.alb``) the bucket and prefix each ALB's access logs go to: the stack output
``alb_access_logs``, the hand-off its owners set.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from guard.plan import PlanResult
from guard.report_waf import endpoint_views
from guard.resource_types import CONTROL, SHIELD_TYPES, TOPIC, WAF_LOGGING


@dataclass(frozen=True)
class ExpectedEndpoint:
    """An endpoint of the stack and the web ACL the plan gives it."""

    product: str
    endpoint: str
    kind: str  # alb | cloudfront
    arn: str
    web_acl: str | None  # the planned web ACL's name
    logged: bool  # the plan declares a logging configuration for that web ACL
    shield: bool  # the plan declares a Shield Advanced protection for the endpoint

    @property
    def label(self) -> str:
        return f"{self.product}/{self.endpoint}"

    @property
    def region(self) -> str:
        """The region of an ALB (its ARN's); CloudFront is global and answers in us-east-1."""
        return self.arn.split(":")[3] or "us-east-1"

    @property
    def scope(self) -> str:
        """The WAF scope of its web ACL."""
        return "CLOUDFRONT" if self.kind == "cloudfront" else "REGIONAL"

    @property
    def acl_region(self) -> str:
        """Where its web ACL lives: the ALB's region, us-east-1 for CloudFront."""
        return self.region


@dataclass(frozen=True)
class AccessLogTarget:
    """Where an ALB's access logs should go: ``access_logs.s3.bucket`` and ``.prefix``."""

    bucket: str
    prefix: str

    @property
    def where(self) -> str:
        return f"{self.bucket}/{self.prefix}"


@dataclass(frozen=True)
class DisabledControl:
    control: str
    reason: str


@dataclass(frozen=True)
class Expected:
    """The stack's declared posture."""

    stack: str
    account: str
    region: str
    endpoints: tuple[ExpectedEndpoint, ...]
    shield: bool  # the stack manages Shield Advanced
    srt_role: str | None
    proactive_engagement: bool | None  # None: the stack does not manage it
    detection: bool
    disabled_controls: tuple[DisabledControl, ...]
    normal_topic: str | None  # ARN of the normal route's topic in the stack's region
    #: "<product>/<endpoint>" -> where its access logs go; None without guard:logs.alb.
    alb_access_logs: Mapping[str, AccessLogTarget] | None = None

    @property
    def regions(self) -> tuple[str, ...]:
        """The stack's region and every region of its ALBs: where uncovered ALBs are sought."""
        found = {self.region} | {e.region for e in self.endpoints if e.kind == "alb"}
        return tuple(sorted(found))


def arn_name(web_acl_arn: str) -> str:
    """The web ACL name in a WAFv2 ARN (``...:regional/webacl/NAME/ID``); a Classic ID as is."""
    parts = web_acl_arn.split("/")
    return parts[-2] if len(parts) >= 3 and "webacl" in parts else web_acl_arn


def access_log_targets(outputs: Mapping[str, Any]) -> dict[str, AccessLogTarget]:
    """The stack output ``alb_access_logs`` (AlbLogs.handoffs) as targets by endpoint label."""
    handoffs = outputs.get("alb_access_logs") or {}
    return {
        str(label): AccessLogTarget(str(handoff["bucket"]), str(handoff["prefix"]))
        for label, handoff in handoffs.items()
        if isinstance(handoff, Mapping)
    }


def expected_from_plan(plan: PlanResult) -> Expected:
    """The posture the stack declares, from the resources of its plan."""
    config = plan.loaded.config
    records = plan.resources
    logged = {
        arn_name(str(r.inputs.get("resourceArn", ""))) for r in records if r.type == WAF_LOGGING
    }
    protected = {
        str(r.inputs.get("resourceArn")) for r in records if r.type == SHIELD_TYPES["protection"]
    }
    endpoints = tuple(
        ExpectedEndpoint(
            view.product,
            view.endpoint,
            view.kind,
            view.arn,
            str(view.web_acl.inputs.get("name")) if view.web_acl is not None else None,
            view.web_acl is not None and str(view.web_acl.inputs.get("name")) in logged,
            view.arn in protected,
        )
        for view in endpoint_views(plan)
    )
    srt = [r for r in records if r.type == SHIELD_TYPES["drt_role"]]
    engagement = [r for r in records if r.type == SHIELD_TYPES["engagement"]]
    controls = tuple(
        sorted(
            {
                DisabledControl(
                    str(r.inputs.get("securityControlId")), str(r.inputs.get("updatedReason", ""))
                )
                for r in records
                if r.type == CONTROL and r.inputs.get("associationStatus") == "DISABLED"
            },
            key=lambda c: c.control,
        )
    )
    topics = [
        r
        for r in records
        if r.type == TOPIC
        and (r.inputs.get("tags") or {}).get("route") == "normal"
        and r.region == config.region
    ]
    # The ARN the plan records for the topic (the mocks build it as AWS does).
    normal_topic = str(topics[0].state["arn"]) if topics else None
    return Expected(
        stack=plan.stack,
        account=config.account_id,
        region=config.region,
        endpoints=endpoints,
        shield=config.shield is not None,
        srt_role=str(srt[0].inputs.get("roleArn")) if srt else None,
        proactive_engagement=bool(engagement[0].inputs.get("enabled")) if engagement else None,
        detection=config.detection is not None,
        disabled_controls=controls,
        normal_topic=normal_topic,
        alb_access_logs=(
            access_log_targets(plan.outputs)
            if config.logs is not None and config.logs.alb is not None
            else None
        ),
    )
