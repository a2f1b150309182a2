"""The audit's judgement on plain data: no AWS, no plan run."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from guard.audit_aws import AccessLogs, Live, LiveEndpoint, ShieldState
from guard.audit_checks import GAP_KINDS, audit
from guard.audit_expect import AccessLogTarget, Expected, ExpectedEndpoint, arn_name

NOW = datetime(2026, 11, 29, tzinfo=UTC)
ALB = "arn:aws:elasticloadbalancing:ap-northeast-1:111111111111:loadbalancer/app/shop/1"
ACL = "arn:aws:wafv2:ap-northeast-1:111111111111:regional/webacl/guard-prod-shop-alb/abc"
TARGET = AccessLogTarget("example-prod-alb-logs", "alb/shop/web")


def expected(
    *,
    shield: bool = False,
    logged: bool = True,
    detection: bool = False,
    alb_logs: bool = False,
) -> Expected:
    return Expected(
        stack="prod",
        account="111111111111",
        region="ap-northeast-1",
        endpoints=(
            ExpectedEndpoint("shop", "web", "alb", ALB, "guard-prod-shop-alb", logged, shield),
        ),
        shield=shield,
        srt_role=None,
        proactive_engagement=None,
        detection=detection,
        disabled_controls=(),
        normal_topic=None,
        alb_access_logs={"shop/web": TARGET} if alb_logs else None,
    )


def live(**changes: object) -> Live:
    result = Live(
        "111111111111",
        endpoints=[LiveEndpoint("alb", ALB, "shop", "shop.example", "ap-northeast-1", {}, ACL)],
        web_acls={("REGIONAL", "ap-northeast-1", "guard-prod-shop-alb"): ACL},
        logged_web_acls={ACL},
        securityhub=[],
        guardduty=[],
        trusted_advisor=[],
    )
    for key, value in changes.items():
        setattr(result, key, value)
    return result


def test_a_matching_account_has_no_gaps() -> None:
    result = audit(expected(), live(), now=NOW, regions=("ap-northeast-1",))
    assert result.gaps == []
    assert result.coverage == {"uncovered": [], "gone": [], "covered": 1}
    assert result.waf[0]["status"] == "ok" and result.waf[0]["logging"] is True


@pytest.mark.parametrize(
    ("severity", "band"),
    [
        (10.0, "critical"),
        (9.0, "critical"),
        (8.9, "high"),
        (7.0, "high"),
        (6.9, "medium"),
        (4.0, "medium"),
        (3.9, "low"),
        (1.0, "low"),
    ],
)
def test_guardduty_bands_follow_guardduty_severity_levels(severity: float, band: str) -> None:
    result = audit(expected(), live(guardduty=[severity]), now=NOW, regions=("ap-northeast-1",))
    board = result.findings["guardduty"]
    assert board[band] == 1 and sum(board.values()) == 1
    gap = [g.kind for g in result.gaps]
    assert gap == (["guardduty-critical-high"] if band in ("critical", "high") else [])


def test_an_expired_subscription_is_not_active() -> None:
    ended = ShieldState(True, end_time=NOW - timedelta(days=1), auto_renew="DISABLED")
    result = audit(expected(shield=True), live(shield=ended), now=NOW, regions=("ap-northeast-1",))
    assert result.shield["subscription"]["active"] is False
    assert [g.kind for g in result.gaps] == ["shield-subscription", "missing-shield-protection"]


def test_detection_the_stack_enables_but_the_account_lacks_is_a_gap() -> None:
    off = live(securityhub=None, securityhub_note="Security Hub is not enabled in ap-northeast-1")
    result = audit(expected(detection=True), off, now=NOW, regions=("ap-northeast-1",))
    assert [(g.kind, g.subject) for g in result.gaps] == [("detection-off", "securityhub")]
    quiet = audit(expected(detection=False), off, now=NOW, regions=("ap-northeast-1",))
    assert quiet.gaps == [] and quiet.findings["securityhub"]["note"].startswith("Security Hub")


def test_gaps_come_in_the_documented_order() -> None:
    other = LiveEndpoint("alb", ALB + "0", "new", "new.example", "ap-northeast-1", {}, None)
    result = audit(
        expected(),
        live(
            endpoints=[
                other,
                LiveEndpoint("alb", ALB, "shop", "s", "ap-northeast-1", {}, None),
            ],
            logged_web_acls=set(),
            securityhub=[{"Severity": {"Label": "HIGH"}, "RecordState": "ACTIVE"}],
        ),
        now=NOW,
        regions=("ap-northeast-1",),
    )
    kinds = [g.kind for g in result.gaps]
    assert kinds == [
        "uncovered-endpoint",
        "missing-web-acl",
        "no-waf-logging",
        "securityhub-critical-high",
    ]
    assert kinds == sorted(kinds, key=GAP_KINDS.index)


def test_arn_name_reads_wafv2_arns_and_keeps_classic_ids() -> None:
    assert arn_name(ACL) == "guard-prod-shop-alb"
    assert (
        arn_name("473e64fd-f30b-4765-81a0-62ad96dd167a") == "473e64fd-f30b-4765-81a0-62ad96dd167a"
    )


def test_markdown_keeps_account_supplied_text_inert() -> None:
    from guard.audit_render import render_markdown

    hostile = LiveEndpoint(
        "alb",
        ALB + "0",
        "x",
        "x.example",
        "ap-northeast-1",
        {"note": "``` </details> <img> |"},
        None,
    )
    result = audit(
        expected(),
        live(endpoints=[*live().endpoints, hostile]),
        now=NOW,
        regions=("ap-northeast-1",),
    )
    text = render_markdown(result)
    assert "<img>" not in text.split("### Coverage")[0]  # the gaps table escapes it
    block = text.split("### Coverage, WAF and Shield\n\n")[1]
    fence = block.split("\n")[0]
    assert set(fence) == {"`"} and len(fence) > 3 and block.rstrip().endswith(fence)


# --- ALB access logs -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "status", "detail"),
    [
        (AccessLogs(True, "example-prod-alb-logs", "alb/shop/web"), "ok", None),
        (AccessLogs(False, "", ""), "off", "off; the stack expects example-prod-alb-logs/"),
        # Turned off after logging to the right place: still off.
        (AccessLogs(False, "example-prod-alb-logs", "alb/shop/web"), "off", "off; "),
        (
            AccessLogs(True, "team-logs", "shop"),
            "elsewhere",
            "elsewhere: team-logs/shop; the stack expects example-prod-alb-logs/alb/shop/web",
        ),
        # The right bucket under another prefix is outside the table and the lifecycle rule.
        (
            AccessLogs(True, "example-prod-alb-logs", "alb/shop/web/"),
            "elsewhere",
            "elsewhere: example-prod-alb-logs/alb/shop/web/;",
        ),
    ],
)
def test_alb_access_logs_are_judged_against_the_hand_off(
    state: AccessLogs, status: str, detail: str | None
) -> None:
    result = audit(
        expected(alb_logs=True),
        live(access_logs={ALB: state}),
        now=NOW,
        regions=("ap-northeast-1",),
    )
    (row,) = result.alb_access_logs or []
    assert row["status"] == status
    assert row["expected"] == {"bucket": "example-prod-alb-logs", "prefix": "alb/shop/web"}
    assert (row["enabled"], row["bucket"], row["prefix"]) == (
        state.enabled,
        state.bucket or None,
        state.prefix or None,
    )
    gaps = [(g.kind, g.subject, g.detail) for g in result.gaps]
    if detail is None:
        assert gaps == []
    else:
        ((kind, subject, text),) = gaps
        assert (kind, subject) == ("alb-access-logs", "shop/web")
        assert text.startswith(detail)
        assert text.endswith(
            "(access_logs.s3.bucket example-prod-alb-logs, access_logs.s3.prefix "
            "alb/shop/web; stack output alb_access_logs)"
        )


def test_alb_access_logs_are_not_judged_without_guard_logs_alb_or_for_a_gone_alb() -> None:
    off = {ALB: AccessLogs(False, "", "")}
    without = audit(expected(), live(access_logs=off), now=NOW, regions=("ap-northeast-1",))
    assert without.alb_access_logs is None and without.gaps == []
    assert without.to_json()["alb_access_logs"] is None
    # Not read (the ALB is gone, or in a region the audit did not read): no row, no gap here.
    unread = audit(expected(alb_logs=True), live(), now=NOW, regions=("ap-northeast-1",))
    assert unread.alb_access_logs == [] and unread.gaps == []


def test_alb_access_log_gaps_follow_waf_logging_and_render_in_every_format() -> None:
    from guard.audit_render import render_json, render_markdown, render_text

    result = audit(
        expected(alb_logs=True),
        live(logged_web_acls=set(), access_logs={ALB: AccessLogs(False, "", "")}),
        now=NOW,
        regions=("ap-northeast-1",),
    )
    assert [g.kind for g in result.gaps] == ["no-waf-logging", "alb-access-logs"]
    assert GAP_KINDS.index("no-waf-logging") < GAP_KINDS.index("alb-access-logs")
    text = render_text(result)
    assert "\nALB access logs: 0 of 1 planned ALBs log to the stack's bucket\n" in text
    assert "  shop/web: off (expected example-prod-alb-logs/alb/shop/web)\n" in text
    markdown = render_markdown(result)
    assert "| alb-access-logs | `shop/web` | off; the stack expects" in markdown
    assert "ALB access logs: 0 of 1" in markdown.split("### Coverage, WAF and Shield")[1]
    document = json.loads(render_json(result))
    assert list(document)[:7] == [
        "stack",
        "account",
        "regions",
        "generated_at",
        "coverage",
        "waf",
        "alb_access_logs",
    ]
    assert document["alb_access_logs"][0]["status"] == "off"
    # Without guard:logs.alb the text has no such section.
    assert "ALB access logs" not in render_text(
        audit(expected(), live(), now=NOW, regions=("ap-northeast-1",))
    )
