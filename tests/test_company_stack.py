"""Issue 10's "done when": a company of three products written down as intended.

A shop with two ALBs and a static-assets CloudFront distribution (its own WAF profile, rolled out
in count mode), an admin ALB for the office and VPN only, and a WordPress blog
(tests/data/company/Pulumi.company.yaml). Its plan passes, says exactly what is allowed and
blocked, and the drill claims no case the deployed stack would not open.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from guard.cli import main
from tests.conftest import ROOT

COMPANY = ROOT / "tests" / "data" / "company" / "Pulumi.company.yaml"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main([*args, "--stack", "company", "--config-file", str(COMPANY)])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)  # the policy pack is ./policies, as in CI


def test_the_plan_passes_every_mandatory_policy(
    at_root: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "plan", "--format", "json", "--today", "2026-11-25")
    document = json.loads(out)
    assert code == 0, document["policies"]
    # The one waiver is admin/web's Shield protection, and it waives nothing else.
    assert [(e["policy"], e["resource"]) for e in document["policy_exceptions_applied"]] == [
        ("shield-endpoint-protected", "admin/web")
    ]
    acls = {
        r["inputs"]["name"]: r["inputs"]
        for r in document["resources"]
        if r["type"] == "aws:wafv2/webAcl:WebAcl"
    }
    assert set(acls) == {
        "guard-company-shop-alb",
        "guard-company-shop-static-cf",
        "guard-company-admin-alb",
        "guard-company-blog-alb",
    }
    assert acls["guard-company-admin-alb"]["defaultAction"] == {"block": {}}
    assert all(
        acl["defaultAction"] == {"allow": {}}
        for name, acl in acls.items()
        if name != "guard-company-admin-alb"
    )
    static_rules = [r["Name"] for r in json.loads(acls["guard-company-shop-static-cf"]["ruleJson"])]
    assert "rate-login" not in static_rules and "rate-checkout" not in static_rules


def test_the_text_plan_says_who_is_allowed_and_what_is_blocked(
    at_root: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "plan", "--today", "2026-11-25")
    assert code == 0
    assert "web ACL guard-company-admin-alb (admin, REGIONAL)" in out
    assert "default: block (allowlist only" in out
    assert "198.51.100.0/28  office egress" in out and "192.0.2.64/27  VPN egress" in out
    assert "203.0.113.0/25  card testing against /cart/checkout" in out
    assert out.count("keeps blocking in count mode") == 2  # the static profile's floor


def test_the_drill_refuses_an_endpoint_without_a_ddos_alarm(
    at_root: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = run(
        capsys, "drill", "ddos", "--endpoint", "admin/web", "--state-dir", str(tmp_path)
    )
    assert code == 2 and out == ""
    assert "protect: false" in err and "OPENED" not in err


def test_the_drill_says_no_case_is_opened_without_support_cases(
    at_root: None, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = run(
        capsys, "drill", "ddos", "--endpoint", "shop/web", "--state-dir", str(tmp_path)
    )
    assert code == 0
    assert "would not open a case (support_case: false)" in out and "OPENED" not in out
