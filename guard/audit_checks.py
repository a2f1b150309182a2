"""``guard audit``'s judgement: the live account (:mod:`guard.audit_aws`) against the stack's
plan (:mod:`guard.audit_expect`), as plain data.

Plain functions over plain data, no AWS calls: coverage (uncovered, gone, covered), the web ACL
and logging of each planned endpoint, where each planned ALB's access logs go (with
``guard:logs.alb``), Shield Advanced, and the findings board (Security Hub by
severity and control with the oldest finding's age and a trend against a previous audit,
GuardDuty by severity band, Trusted Advisor checks in warning or error). Every shortfall is a
:class:`Gap`; any gap makes the audit exit 1.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from guard.audit_aws import AccessLogs, Live, LiveEndpoint
from guard.audit_expect import AccessLogTarget, Expected, ExpectedEndpoint, arn_name

#: ASFF severity labels, most severe first; CRITICAL and HIGH are the ones driven to zero.
LABELS = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL")
#: GuardDuty's severity bands (lower bounds): Critical 9.0-10.0, High 7.0-8.9, Medium 4.0-6.9,
#: Low 1.0-3.9 (GuardDuty User Guide, "Severity levels for GuardDuty findings").
GUARDDUTY_BANDS = (("critical", 9.0), ("high", 7.0), ("medium", 4.0), ("low", 0.0))
#: Gap kinds, in the order a report lists them.
GAP_KINDS = (
    "uncovered-endpoint",
    "gone-endpoint",
    "missing-web-acl",
    "wrong-web-acl",
    "no-waf-logging",
    "alb-access-logs",
    "shield-subscription",
    "missing-shield-protection",
    "srt-role",
    "proactive-engagement",
    "securityhub-critical-high",
    "guardduty-critical-high",
    "detection-off",
)


@dataclass(frozen=True)
class Gap:
    kind: str
    subject: str
    detail: str

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind, "subject": self.subject, "detail": self.detail}


@dataclass
class Audit:
    """The audit's result; :meth:`to_json` is the documented contract (docs/audit.md)."""

    stack: str
    account: str
    regions: tuple[str, ...]
    generated_at: str
    coverage: dict[str, Any]
    waf: list[dict[str, Any]]
    shield: dict[str, Any]
    findings: dict[str, Any]
    gaps: list[Gap] = field(default_factory=list)
    #: One row per planned ALB the account has; None when the stack has no guard:logs.alb.
    alb_access_logs: list[dict[str, Any]] | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "account": self.account,
            "regions": list(self.regions),
            "generated_at": self.generated_at,
            "coverage": self.coverage,
            "waf": self.waf,
            "alb_access_logs": self.alb_access_logs,
            "shield": self.shield,
            "findings": self.findings,
            "gaps": [g.to_json() for g in self.gaps],
        }


def audit(
    expected: Expected,
    live: Live,
    *,
    now: datetime,
    regions: Sequence[str],
    previous: Mapping[str, Any] | None = None,
) -> Audit:
    """Judge the live account against the plan; ``previous`` is an earlier audit's JSON."""
    gaps: list[Gap] = []
    coverage = _coverage(expected, live, regions, gaps)
    waf = _waf(expected, live, gaps)
    access_logs = _access_logs(expected, live, gaps)
    shield = _shield(expected, live, now, gaps)
    findings = _findings(expected, live, now, previous, gaps)
    gaps.sort(key=lambda g: (GAP_KINDS.index(g.kind), g.subject))
    return Audit(
        expected.stack,
        live.account,
        tuple(regions),
        now.isoformat(timespec="seconds"),
        coverage,
        waf,
        shield,
        findings,
        gaps,
        alb_access_logs=access_logs,
    )


# --------------------------------------------------------------------------------------------
# Coverage and WAF
# --------------------------------------------------------------------------------------------


def _coverage(
    expected: Expected, live: Live, regions: Sequence[str], gaps: list[Gap]
) -> dict[str, Any]:
    planned = {e.arn: e for e in expected.endpoints}
    existing = {e.arn: e for e in live.endpoints}
    uncovered = [e for arn, e in sorted(existing.items()) if arn not in planned]
    # An ALB in a region the audit did not read is not known to be gone.
    gone = [
        e
        for arn, e in sorted(planned.items())
        if arn not in existing and (e.kind == "cloudfront" or e.region in regions)
    ]
    for endpoint in uncovered:
        acl = f"web ACL {arn_name(endpoint.web_acl)}" if endpoint.web_acl else "no web ACL"
        gaps.append(
            Gap(
                "uncovered-endpoint",
                endpoint.arn,
                f"internet-facing {_kind(endpoint.kind)} {endpoint.name} ({endpoint.dns_name}) "
                f"is in no product of the stack; {acl}",
            )
        )
    for planned_endpoint in gone:
        gaps.append(
            Gap(
                "gone-endpoint",
                planned_endpoint.label,
                f"{planned_endpoint.arn} is in the stack but not in the account (or not internet-facing): "
                "remove it from the stack file or restore it",
            )
        )
    return {
        "uncovered": [_uncovered_json(e) for e in uncovered],
        "gone": [
            {"product": e.product, "endpoint": e.endpoint, "kind": e.kind, "arn": e.arn}
            for e in gone
        ],
        "covered": sum(1 for arn in planned if arn in existing),
    }


def _kind(kind: str) -> str:
    return "ALB" if kind == "alb" else "CloudFront distribution"


def _uncovered_json(endpoint: LiveEndpoint) -> dict[str, Any]:
    return {
        "kind": endpoint.kind,
        "name": endpoint.name,
        "arn": endpoint.arn,
        "dns_name": endpoint.dns_name,
        "region": endpoint.region,
        "tags": dict(sorted(endpoint.tags.items())),
        "web_acl": endpoint.web_acl,
    }


def _waf(expected: Expected, live: Live, gaps: list[Gap]) -> list[dict[str, Any]]:
    existing = {e.arn: e for e in live.endpoints}
    rows = []
    for planned in expected.endpoints:
        found = existing.get(planned.arn)
        if found is None:
            continue  # reported as gone
        actual = arn_name(found.web_acl) if found.web_acl else None
        live_acl = live.web_acls.get(_acl_key(planned))
        logging = live_acl in live.logged_web_acls if live_acl else None
        status = _waf_status(planned, actual, logging)
        rows.append(
            {
                "product": planned.product,
                "endpoint": planned.endpoint,
                "arn": planned.arn,
                "expected_web_acl": planned.web_acl,
                "actual_web_acl": actual,
                "logging": logging,
                "status": status,
            }
        )
        if status == "missing-web-acl":
            gaps.append(
                Gap(
                    "missing-web-acl",
                    planned.label,
                    f"no web ACL is associated; the stack gives it {planned.web_acl} "
                    "(run pulumi up, or for CloudFront set the distribution's WebACLId)",
                )
            )
        elif status == "wrong-web-acl":
            gaps.append(
                Gap(
                    "wrong-web-acl",
                    planned.label,
                    f"associated with {actual}, the stack gives it {planned.web_acl}",
                )
            )
        if planned.logged and logging is False:
            gaps.append(
                Gap(
                    "no-waf-logging",
                    planned.web_acl or planned.label,
                    "the stack logs this web ACL but the account has no logging configuration",
                )
            )
    return rows


def _acl_key(planned: ExpectedEndpoint) -> tuple[str, str, str]:
    return (planned.scope, planned.acl_region, planned.web_acl or "")


def _waf_status(planned: ExpectedEndpoint, actual: str | None, logging: bool | None) -> str:
    if planned.web_acl is None:
        return "not-planned"  # the plan gives it none (a policy finding, not the audit's)
    if actual is None:
        return "missing-web-acl"
    if actual != planned.web_acl:
        return "wrong-web-acl"
    return "ok"


# --------------------------------------------------------------------------------------------
# ALB access logs
# --------------------------------------------------------------------------------------------


def _access_logs(expected: Expected, live: Live, gaps: list[Gap]) -> list[dict[str, Any]] | None:
    """Each planned ALB the audit read: are its access logs on, into the stack's bucket and
    prefix (the hand-off ``alb_access_logs``)? Off, or anywhere else, is a gap: logs that go
    elsewhere are outside the bucket's retention, evidence rules and Athena table."""
    targets = expected.alb_access_logs
    if targets is None:
        return None
    rows = []
    for planned in expected.endpoints:
        target = targets.get(planned.label)
        state = live.access_logs.get(planned.arn)
        if target is None or state is None:
            continue  # not an ALB of the hand-off, or not in the account (reported as gone)
        status = _access_log_status(target, state)
        rows.append(
            {
                "product": planned.product,
                "endpoint": planned.endpoint,
                "arn": planned.arn,
                "expected": {"bucket": target.bucket, "prefix": target.prefix},
                "enabled": state.enabled,
                "bucket": state.bucket or None,
                "prefix": state.prefix or None,
                "status": status,
            }
        )
        if status != "ok":
            gaps.append(Gap("alb-access-logs", planned.label, _access_log_detail(target, state)))
    return rows


def _access_log_status(target: AccessLogTarget, state: AccessLogs) -> str:
    if not state.enabled:
        return "off"
    if (state.bucket, state.prefix) != (target.bucket, target.prefix):
        return "elsewhere"
    return "ok"


def _access_log_detail(target: AccessLogTarget, state: AccessLogs) -> str:
    expected = (
        f"the stack expects {target.where} (access_logs.s3.bucket {target.bucket}, "
        f"access_logs.s3.prefix {target.prefix}; stack output alb_access_logs)"
    )
    if not state.enabled:
        return f"off; {expected}"
    return f"elsewhere: {state.bucket}/{state.prefix}; {expected}"


# --------------------------------------------------------------------------------------------
# Shield Advanced
# --------------------------------------------------------------------------------------------


def _shield(expected: Expected, live: Live, now: datetime, gaps: list[Gap]) -> dict[str, Any]:
    state = live.shield
    end = state.end_time
    if end is not None and end.tzinfo is None:
        end = end.replace(tzinfo=UTC)  # the API's timestamps are UTC
    active = state.subscribed and (end is None or end > now)
    protections = []
    existing = {e.arn for e in live.endpoints}
    for planned in expected.endpoints:
        if not planned.shield or planned.arn not in existing:
            continue
        protected = planned.arn in state.protected
        protections.append(
            {
                "product": planned.product,
                "endpoint": planned.endpoint,
                "arn": planned.arn,
                "protected": protected,
            }
        )
        if not protected:
            gaps.append(
                Gap(
                    "missing-shield-protection",
                    planned.label,
                    "the stack protects it with Shield Advanced; the account has no protection",
                )
            )
    if expected.shield and not active:
        gaps.append(
            Gap(
                "shield-subscription",
                expected.account,
                "the stack uses Shield Advanced but the account has no active subscription",
            )
        )
    if expected.shield and active and expected.srt_role and state.srt_role != expected.srt_role:
        gaps.append(
            Gap(
                "srt-role",
                expected.srt_role,
                f"the SRT role associated is {state.srt_role or 'none'}",
            )
        )
    if (
        expected.shield
        and active
        and expected.proactive_engagement
        and state.proactive_engagement != "ENABLED"
    ):
        gaps.append(
            Gap(
                "proactive-engagement",
                expected.account,
                f"the stack enables proactive engagement; the account's is "
                f"{state.proactive_engagement or 'not set'}",
            )
        )
    return {
        "subscription": {
            "active": active,
            "end_time": state.end_time.isoformat() if state.end_time else None,
            "auto_renew": state.auto_renew,
        }
        if state.subscribed
        else None,
        "srt_role": state.srt_role,
        "proactive_engagement": state.proactive_engagement,
        "protections": protections,
    }


# --------------------------------------------------------------------------------------------
# The findings board
# --------------------------------------------------------------------------------------------


def _findings(
    expected: Expected,
    live: Live,
    now: datetime,
    previous: Mapping[str, Any] | None,
    gaps: list[Gap],
) -> dict[str, Any]:
    hub = _securityhub(live.securityhub, now, expected, previous)
    _board_gaps("securityhub", hub, live.securityhub is None, live.securityhub_note, expected, gaps)
    guardduty = _guardduty(live.guardduty)
    _board_gaps("guardduty", guardduty, live.guardduty is None, live.guardduty_note, expected, gaps)
    advisor = live.trusted_advisor
    return {
        "securityhub": hub,
        "guardduty": guardduty,
        "trusted_advisor": [
            {
                "id": c.id,
                "name": c.name,
                "category": c.category,
                "status": c.status,
                "flagged": c.flagged,
            }
            for c in advisor or []
        ],
        "trusted_advisor_note": live.trusted_advisor_note if advisor is None else None,
    }


def _board_gaps(
    source: str,
    board: dict[str, Any],
    off: bool,
    note: str | None,
    expected: Expected,
    gaps: list[Gap],
) -> None:
    """A service that is off (a gap when the stack enables detection), or its Critical/High
    findings: the "drive to zero" target."""
    if off:
        board["note"] = note
        if expected.detection:
            gaps.append(Gap("detection-off", source, note or ""))
    elif board["critical"] or board["high"]:
        gaps.append(
            Gap(
                f"{source}-critical-high",
                expected.region,
                f"{board['critical']} critical and {board['high']} high active findings",
            )
        )


def _control_of(finding: Mapping[str, Any]) -> str | None:
    control = (finding.get("Compliance") or {}).get("SecurityControlId")
    if control:
        return str(control)
    generator = str(finding.get("GeneratorId", ""))
    return (
        generator.removeprefix("security-control/")
        if generator.startswith("security-control/")
        else None
    )


def _securityhub(
    findings: list[dict[str, Any]] | None,
    now: datetime,
    expected: Expected,
    previous: Mapping[str, Any] | None,
) -> dict[str, Any]:
    findings = findings or []
    labels = Counter(str((f.get("Severity") or {}).get("Label", "INFORMATIONAL")) for f in findings)
    by_control: dict[str, Counter[str]] = {}
    for finding in findings:
        control = _control_of(finding)
        if control is not None:
            label = str((finding.get("Severity") or {}).get("Label", "INFORMATIONAL"))
            by_control.setdefault(control, Counter())[label] += 1
    seen = [when for f in findings if (when := _first_seen(f)) is not None]
    oldest = min(seen, default=None)
    board: dict[str, Any] = {label.lower(): labels.get(label, 0) for label in LABELS}
    board["total"] = len(findings)
    board["by_control"] = [
        {
            "control": control,
            "count": sum(counts.values()),
            **{label.lower(): counts.get(label, 0) for label in ("CRITICAL", "HIGH")},
        }
        for control, counts in sorted(
            by_control.items(),
            key=lambda item: (
                -item[1].get("CRITICAL", 0),
                -item[1].get("HIGH", 0),
                -sum(item[1].values()),
                item[0],
            ),
        )
    ]
    board["oldest_days"] = (now - oldest).days if oldest else None
    board["disabled_controls"] = [
        {"control": c.control, "reason": c.reason} for c in expected.disabled_controls
    ]
    board["trend"] = _trend(board, previous)
    return board


def _first_seen(finding: Mapping[str, Any]) -> datetime | None:
    raw = finding.get("FirstObservedAt") or finding.get("CreatedAt")
    if not raw:
        return None
    try:
        return datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        return None


def _trend(board: Mapping[str, Any], previous: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if previous is None:
        return None
    before = previous["findings"]["securityhub"]
    return {
        "since": previous.get("generated_at"),
        **{
            key: {"before": before.get(key, 0), "now": board[key]}
            for key in ("critical", "high", "total")
        },
    }


def _guardduty(severities: list[float] | None) -> dict[str, Any]:
    bands = Counter(_band(s) for s in severities or [])
    return {name: bands.get(name, 0) for name, _ in GUARDDUTY_BANDS}


def _band(severity: float) -> str:
    return next(name for name, low in GUARDDUTY_BANDS if severity >= low)
