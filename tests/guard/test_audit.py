"""``guard audit`` end to end: the real command against a moto server on 127.0.0.1.

The account is seeded through boto3 (tests/guard/audit_world.py); the stack file names the
ALBs moto created. What moto lacks (GuardDuty findings, Shield's DRT access, Trusted Advisor
summaries) is answered with model-validated responses; the README's testing section lists them.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from guard.cli import main
from tests.conftest import topic_with_queue
from tests.guard.audit_world import (
    ACCOUNT,
    REGION,
    World,
    asff,
    audit_json,
    open_world,
    stack_file,
    world,
)

__all__ = ["world"]  # the fixture, re-exported for pytest

#: The stack's ALB access log bucket (guard:logs.alb) in the seeded account.
ALB_BUCKET = "example-audit-alb-logs"
ORPHAN = (
    f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/app/shop-old/0fedcba987654321"
)
SRT_ROLE = f"arn:aws:iam::{ACCOUNT}:role/guard-audit-shield-srt-access"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["audit", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def seeded(world: World, tmp_path: Path) -> dict[str, Any]:
    """The account of most tests: one covered ALB, one with the wrong web ACL, one uncovered,
    one internal, a planned ALB that is gone, a covered distribution, findings of every kind."""
    subnets = world.subnets()
    web = world.alb("shop-web", subnets, tags={"team": "shop"})
    api = world.alb("shop-api", subnets)
    blog = world.alb("blog-web", subnets, tags={"team": "blog", "env": "prod"})
    world.alb("intranet", subnets, scheme="internal")
    planned_alb = world.web_acl("guard-audit-shop-alb")
    legacy = world.web_acl("legacy-acl", logged=False)
    world.associate(planned_alb, web)
    world.associate(legacy, api)
    planned_cf = world.web_acl("guard-audit-shop-cf", scope="CLOUDFRONT")
    cdn = world.distribution("shop-cdn", planned_cf)
    world.shield([web, cdn], srt_role=SRT_ROLE)
    findings = [
        asff(0, "CRITICAL", control="S3.8", age_days=40),
        asff(1, "CRITICAL", control="S3.8"),
    ]
    findings += [asff(2 + i, "HIGH", control="EC2.19") for i in range(3)]
    findings += [asff(5, "MEDIUM", control=None)]
    findings += [asff(6, "HIGH", workflow="RESOLVED"), asff(7, "CRITICAL", record="ARCHIVED")]
    findings += [asff(100 + i, "LOW", control="IAM.1") for i in range(150)]  # two pages
    world.securityhub(findings)
    world.guardduty([9.5, 8.0, 5.0, 2.0] + [1.0] * 60)  # GetFindings in batches of 50
    world.trusted_advisor({})
    # Both planned ALBs log where the stack's hand-off says (the gaps are elsewhere).
    world.access_logs(web, ALB_BUCKET, "alb/shop/web")
    world.access_logs(api, ALB_BUCKET, "alb/shop/api")
    path = stack_file(
        tmp_path / "Pulumi.audit.yaml",
        [
            {"name": "web", "kind": "alb", "arn": web},
            {"name": "api", "kind": "alb", "arn": api},
            {"name": "old", "kind": "alb", "arn": ORPHAN},
            {"name": "cdn", "kind": "cloudfront", "arn": cdn},
        ],
        alb_bucket=ALB_BUCKET,
    )
    return {"web": web, "api": api, "blog": blog, "cdn": cdn, "path": path}


def audit_args(world: World, path: Path, *extra: str) -> list[str]:
    return ["--stack", "audit", "--config-file", str(path), "--endpoint-url", world.url, *extra]


@dataclass(frozen=True)
class SeededRun:
    """One audit of the seeded account, shared by the tests that only read its JSON."""

    seed: dict[str, Any]
    code: int
    document: dict[str, Any]
    calls: tuple[str, ...]


@pytest.fixture(scope="module")
def seeded_run(moto_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeededRun]:
    with pytest.MonkeyPatch.context() as monkeypatch:
        account = open_world(moto_url, monkeypatch)
        seed = seeded(account, tmp_path_factory.mktemp("seeded"))
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            code = main(["audit", *audit_args(account, seed["path"], "--format", "json")])
        yield SeededRun(seed, code, audit_json(out.getvalue()), tuple(account.calls))


def test_coverage_finds_the_uncovered_the_gone_and_the_covered(seeded_run: SeededRun) -> None:
    seed, document = seeded_run.seed, seeded_run.document
    assert seeded_run.code == 1
    assert document["stack"] == "audit" and document["account"] == ACCOUNT
    coverage = document["coverage"]
    assert coverage["covered"] == 3  # web, api and the distribution
    (uncovered,) = coverage["uncovered"]  # the internal ALB is not internet-facing
    assert uncovered["arn"] == seed["blog"]
    assert uncovered["name"] == "blog-web" and uncovered["web_acl"] is None
    assert uncovered["tags"] == {"env": "prod", "team": "blog"}
    assert uncovered["dns_name"].startswith("blog-web")
    assert coverage["gone"] == [
        {"product": "shop", "endpoint": "old", "kind": "alb", "arn": ORPHAN}
    ]


def test_web_acl_associations_and_logging_against_the_plan(seeded_run: SeededRun) -> None:
    seed, document = seeded_run.seed, seeded_run.document
    rows = {row["endpoint"]: row for row in document["waf"]}
    assert rows["web"]["status"] == "ok" and rows["web"]["logging"] is True
    assert rows["api"]["status"] == "wrong-web-acl"
    assert (rows["api"]["expected_web_acl"], rows["api"]["actual_web_acl"]) == (
        "guard-audit-shop-alb",
        "legacy-acl",
    )
    assert rows["cdn"] == rows["cdn"] | {"status": "ok", "actual_web_acl": "guard-audit-shop-cf"}
    gaps = {(g["kind"], g["subject"]) for g in document["gaps"]}
    assert ("wrong-web-acl", "shop/api") in gaps
    assert ("uncovered-endpoint", seed["blog"]) in gaps
    assert ("gone-endpoint", "shop/old") in gaps


def test_a_planned_web_acl_without_logging_is_a_gap(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    subnets = world.subnets()
    web = world.alb("shop-web", subnets)
    world.associate(world.web_acl("guard-audit-shop-alb", logged=False), web)
    path = stack_file(
        tmp_path / "s.yaml",
        [{"name": "web", "kind": "alb", "arn": web}],
        shield=False,
        detection=False,
    )
    world.trusted_advisor({})
    code, out, err = run(capsys, *audit_args(world, path, "--format", "json"))
    assert out, err
    document = audit_json(out)
    assert document["waf"][0]["logging"] is False
    assert [g["kind"] for g in document["gaps"]] == ["no-waf-logging"]
    assert code == 1


def test_shield_state_and_a_missing_protection(seeded_run: SeededRun) -> None:
    document = seeded_run.document
    shield = document["shield"]
    assert shield["subscription"]["active"] is True
    assert shield["srt_role"] == SRT_ROLE
    protections = {p["endpoint"]: p["protected"] for p in shield["protections"]}
    assert protections == {"web": True, "api": False, "cdn": True}
    gaps = [
        g for g in document["gaps"] if g["kind"].startswith(("missing-shield", "srt", "shield"))
    ]
    assert gaps == [
        {
            "kind": "missing-shield-protection",
            "subject": "shop/api",
            "detail": "the stack protects it with Shield Advanced; the account has no protection",
        }
    ]


def test_no_shield_subscription_is_a_gap_when_the_stack_uses_shield(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    subnets = world.subnets()
    web = world.alb("shop-web", subnets)
    world.associate(world.web_acl("guard-audit-shop-alb"), web)
    world.trusted_advisor({})
    path = stack_file(
        tmp_path / "s.yaml", [{"name": "web", "kind": "alb", "arn": web}], detection=False
    )
    code, out, _ = run(capsys, *audit_args(world, path, "--format", "json"))
    document = audit_json(out)
    assert document["shield"]["subscription"] is None
    kinds = [g["kind"] for g in document["gaps"]]
    assert kinds == ["shield-subscription", "missing-shield-protection"] or kinds == [
        "missing-shield-protection",
        "shield-subscription",
    ]
    assert code == 1


def test_findings_board_counts_active_new_and_notified_findings_only(
    seeded_run: SeededRun,
) -> None:
    document = seeded_run.document
    hub = document["findings"]["securityhub"]
    # The resolved HIGH and the archived CRITICAL are not on the board; 150 LOW span two pages.
    assert (hub["critical"], hub["high"], hub["medium"], hub["low"]) == (2, 3, 1, 150)
    assert hub["total"] == 156
    assert [row["control"] for row in hub["by_control"]] == ["S3.8", "EC2.19", "IAM.1"]
    assert hub["by_control"][0] == {"control": "S3.8", "count": 2, "critical": 2, "high": 0}
    assert hub["oldest_days"] in (39, 40)
    assert hub["disabled_controls"] == [{"control": "IAM.6", "reason": "root MFA held by the org"}]
    duty = document["findings"]["guardduty"]
    assert duty == {"critical": 1, "high": 1, "medium": 1, "low": 61}
    kinds = {g["kind"] for g in document["gaps"]}
    assert {"securityhub-critical-high", "guardduty-critical-high"} <= kinds


def test_trend_against_a_previous_audit(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed = seeded(world, tmp_path)
    _, first, _ = run(capsys, *audit_args(world, seed["path"], "--format", "json"))
    previous = json.loads(first)
    previous["findings"]["securityhub"].update(critical=5, high=9, total=200)
    previous["generated_at"] = "2026-11-22T00:00:00+00:00"
    (tmp_path / "previous.json").write_text(json.dumps(previous))
    args = audit_args(world, seed["path"], "--previous", str(tmp_path / "previous.json"))
    _, text, _ = run(capsys, *args)
    assert "since 2026-11-22T00:00:00+00:00: critical 5 → 2, high 9 → 3, total 200 → 156" in text


def test_trusted_advisor_checks_in_warning_and_error(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed = seeded(world, tmp_path)
    names = [
        c["name"]
        for c in world.client("support", "us-east-1").describe_trusted_advisor_checks(
            language="en"
        )["checks"]
    ]
    world.trusted_advisor({names[0]: "error", names[1]: "warning", names[2]: "not_available"})
    _, out, _ = run(capsys, *audit_args(world, seed["path"], "--format", "json"))
    advisor = audit_json(out)["findings"]["trusted_advisor"]
    assert [(c["name"], c["status"], c["flagged"]) for c in advisor] == [
        (names[0], "error", 2),
        (names[1], "warning", 2),
    ] or {(c["name"], c["status"]) for c in advisor} == {(names[0], "error"), (names[1], "warning")}


def test_a_support_plan_without_trusted_advisor_is_reported_not_failed(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed = seeded(world, tmp_path)
    world.trusted_advisor(None)
    code, out, err = run(capsys, *audit_args(world, seed["path"]))
    assert code == 1  # the seeded gaps, not an error
    assert "Trusted Advisor: not available: the account's support plan" in out
    assert err == ""


def test_a_clean_account_exits_0_and_markdown_says_so(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    subnets = world.subnets()
    web = world.alb("shop-web", subnets)
    world.associate(world.web_acl("guard-audit-shop-alb"), web)
    world.securityhub([asff(1, "LOW")])
    world.guardduty([2.0])
    world.trusted_advisor({})
    path = stack_file(
        tmp_path / "s.yaml", [{"name": "web", "kind": "alb", "arn": web}], shield=False
    )
    code, out, err = run(capsys, *audit_args(world, path, "--format", "markdown"))
    assert code == 0, out + err
    assert out.startswith("## guard audit: `audit` (no gaps)")
    assert "### Gaps" not in out


def test_wrong_account_is_refused_with_one_line(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # moto answers for 123456789012; the stack is another account's.
    other = "arn:aws:elasticloadbalancing:ap-northeast-1:111111111111:loadbalancer/app/w/0123456789abcdef"
    path = stack_file(
        tmp_path / "s.yaml", [{"name": "web", "kind": "alb", "arn": other}], account="111111111111"
    )
    code, out, err = run(capsys, *audit_args(world, path))
    assert code == 2 and out == ""
    assert err == (
        "guard audit: the credentials are for account 123456789012, the stack is for "
        "111111111111 (guard:account_id): assume a role in the stack's account\n"
    )


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (
            "AccessDeniedException",
            "guard audit: AccessDeniedException: securityhub GetFindings in ap-northeast-1; the "
            "audit role needs securityhub:GetFindings",
        ),
        (
            "ThrottlingException",
            "guard audit: securityhub GetFindings in ap-northeast-1 was still throttled",
        ),
    ],
)
def test_access_denied_and_throttling_are_one_clear_line(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str], code: str, expected: str
) -> None:
    seed = seeded(world, tmp_path)
    world.answer("securityhub", "GetFindings", {"Error": {"Code": code, "Message": "no"}})
    status, out, err = run(capsys, *audit_args(world, seed["path"]))
    assert status == 2 and out == ""
    assert err.startswith(expected) and err.count("\n") == 1
    assert "Traceback" not in err


def test_no_credentials_and_unreachable_endpoint(
    world: World,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import botocore.config

    import guard.audit_aws

    subnets = world.subnets()
    web = world.alb("shop-web", subnets)
    path = stack_file(tmp_path / "s.yaml", [{"name": "web", "kind": "alb", "arn": web}])
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    status, _, err = run(capsys, *audit_args(world, path))
    assert status == 2
    assert err.startswith("guard audit: no AWS credentials: ")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setattr(
        guard.audit_aws,
        "RETRIES",
        botocore.config.Config(retries={"max_attempts": 1}, connect_timeout=1),
    )
    status, _, err = run(
        capsys,
        "--stack",
        "audit",
        "--config-file",
        str(path),
        "--endpoint-url",
        "http://127.0.0.1:9",
    )
    assert (status, err) == (2, "guard audit: cannot reach http://127.0.0.1:9/\n")


def test_an_invalid_stack_file_is_exit_2_before_any_call(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("config:\n  aws:region: ap-northeast-1\n  guard:acount_id: '1'\n")
    status, out, err = run(capsys, *audit_args(world, path))
    assert status == 2 and out == ""
    assert "acount_id" in err and "nothing was audited" in err
    assert world.calls == []


def test_an_unreadable_previous_file_is_exit_2(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed = seeded(world, tmp_path)
    (tmp_path / "p.json").write_text('{"findings": {}}')
    status, _, err = run(
        capsys, *audit_args(world, seed["path"], "--previous", str(tmp_path / "p.json"))
    )
    assert status == 2
    assert err.startswith(f"guard audit: --previous {tmp_path / 'p.json'}: not a guard audit JSON")


def test_notify_publishes_a_chatbot_summary_to_the_normal_topic(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed = seeded(world, tmp_path)
    sqs = world.client("sqs")
    _, queue = topic_with_queue(world.client("sns"), sqs, "guard-audit-alerts-normal")
    code, _, err = run(capsys, *audit_args(world, seed["path"], "--notify"))
    assert code == 1, err
    (message,) = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    notification = json.loads(message["Body"])
    assert notification["version"] == "1.0" and notification["source"] == "custom"
    assert notification["content"]["title"].endswith("guard audit of audit: 6 gaps")
    assert "*Security Hub:* 2 critical, 3 high" in notification["content"]["description"]


def test_notify_needs_alerts(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    subnets = world.subnets()
    web = world.alb("shop-web", subnets)
    path = stack_file(
        tmp_path / "s.yaml",
        [{"name": "web", "kind": "alb", "arn": web}],
        alerts=False,
        shield=False,
        detection=False,
    )
    status, _, err = run(capsys, *audit_args(world, path, "--notify"))
    assert status == 2 and "--notify needs guard:alerts" in err
    assert world.calls == []


def test_the_calls_made_are_the_documented_read_only_ones(seeded_run: SeededRun) -> None:
    """AUDIT_ACTIONS is what test_audit_permissions proves the preview role may do."""
    from guard.audit_aws import AUDIT_ACTIONS

    assert set(seeded_run.calls) == set(AUDIT_ACTIONS)


def test_an_alb_in_a_region_not_read_is_not_called_gone(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed = seeded(world, tmp_path)
    _, out, _ = run(
        capsys, *audit_args(world, seed["path"], "--format", "json", "--region", "eu-west-1")
    )
    document = audit_json(out)
    assert document["regions"] == ["eu-west-1"]
    assert document["coverage"]["gone"] == []  # the stack's ALBs are in ap-northeast-1
    assert document["coverage"]["uncovered"] == []


def test_json_file_holds_the_same_audit_as_the_report(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed = seeded(world, tmp_path)
    target = tmp_path / "posture.json"
    code, out, _ = run(
        capsys, *audit_args(world, seed["path"], "--format", "markdown", "--json-file", str(target))
    )
    assert code == 1 and out.startswith("## guard audit: `audit` (6 gaps)")
    document = json.loads(target.read_text())
    assert len(document["gaps"]) == 6
    assert document["findings"]["securityhub"]["critical"] == 2
    # Not written when the audit could not be made.
    world.answer("securityhub", "GetFindings", {"Error": {"Code": "AccessDenied", "Message": "no"}})
    target.unlink()
    code, _, _ = run(capsys, *audit_args(world, seed["path"], "--json-file", str(target)))
    assert code == 2 and not target.exists()


# --- ALB access logs (guard:logs.alb) -----------------------------------------------------------


def test_alb_access_logs_that_are_off_or_go_elsewhere_are_gaps(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    subnets = world.subnets()
    web = world.alb("shop-web", subnets)
    api = world.alb("shop-api", subnets)
    admin = world.alb("shop-admin", subnets)
    acl = world.web_acl("guard-audit-shop-alb")
    for arn in (web, api, admin):
        world.associate(acl, arn)
    world.access_logs(web, ALB_BUCKET, "alb/shop/web")  # as the hand-off says
    world.access_logs(api, "team-shop-logs", "api")  # on, into the team's own bucket
    world.access_logs(admin, enabled=False)  # off
    world.trusted_advisor({})
    endpoints = [
        {"name": name, "kind": "alb", "arn": arn}
        for name, arn in (("web", web), ("api", api), ("admin", admin))
    ]
    path = stack_file(
        tmp_path / "s.yaml", endpoints, shield=False, detection=False, alb_bucket=ALB_BUCKET
    )
    code, out, err = run(capsys, *audit_args(world, path, "--format", "json"))
    assert code == 1, err
    document = audit_json(out)
    rows = {row["endpoint"]: row for row in document["alb_access_logs"]}
    assert rows["web"] == {
        "product": "shop",
        "endpoint": "web",
        "arn": web,
        "expected": {"bucket": ALB_BUCKET, "prefix": "alb/shop/web"},
        "enabled": True,
        "bucket": ALB_BUCKET,
        "prefix": "alb/shop/web",
        "status": "ok",
    }
    assert (rows["api"]["status"], rows["api"]["bucket"]) == ("elsewhere", "team-shop-logs")
    assert (rows["admin"]["status"], rows["admin"]["enabled"]) == ("off", False)
    expects = "; the stack expects example-audit-alb-logs/alb/shop/{0} (access_logs.s3.bucket"
    gaps = [(g["kind"], g["subject"], g["detail"]) for g in document["gaps"]]
    assert [(kind, subject) for kind, subject, _ in gaps] == [
        ("alb-access-logs", "shop/admin"),
        ("alb-access-logs", "shop/api"),
    ]
    assert gaps[0][2].startswith("off" + expects.format("admin"))
    assert gaps[1][2].startswith("elsewhere: team-shop-logs/api" + expects.format("api"))
    assert "stack output alb_access_logs" in gaps[1][2]

    _, text, _ = run(capsys, *audit_args(world, path))
    assert "ALB access logs: 1 of 3 planned ALBs log to the stack's bucket" in text
    assert (
        "  shop/api: elsewhere: team-shop-logs/api (expected example-audit-alb-logs/alb/shop/api)"
        in text
    )
    assert "  shop/admin: off (expected example-audit-alb-logs/alb/shop/admin)" in text
    assert "[alb-access-logs] shop/admin: off; the stack expects" in text
    _, markdown, _ = run(capsys, *audit_args(world, path, "--format", "markdown"))
    assert "| alb-access-logs | `shop/api` | elsewhere: team-shop-logs/api;" in markdown
    assert "  shop/admin: off (expected example-audit-alb-logs/alb/shop/admin)" in markdown


def test_without_guard_logs_alb_access_logs_are_not_read_or_judged(
    world: World, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    subnets = world.subnets()
    web = world.alb("shop-web", subnets)  # access logs off
    world.associate(world.web_acl("guard-audit-shop-alb"), web)
    world.trusted_advisor({})
    path = stack_file(
        tmp_path / "s.yaml",
        [{"name": "web", "kind": "alb", "arn": web}],
        shield=False,
        detection=False,
    )
    code, out, _ = run(capsys, *audit_args(world, path, "--format", "json"))
    document = audit_json(out)
    assert document["alb_access_logs"] is None
    assert document["gaps"] == [] and code == 0
    assert "elbv2.DescribeLoadBalancerAttributes" not in world.calls
    _, text, _ = run(capsys, *audit_args(world, path))
    assert "ALB access logs" not in text
