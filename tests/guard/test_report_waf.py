"""The WAF part of the plan says exactly what each web ACL allows and blocks: one section per web
ACL with its endpoints, default action, every CIDR with its reason, and the floor in count mode."""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest

from guard.config import load_stack_file
from guard.plan import PlanResult, run_program
from guard.report_waf import acl_views, render_waf_markdown, render_waf_text
from tests.conftest import ROOT, TODAY

COMPANY = ROOT / "tests" / "data" / "company" / "Pulumi.company.yaml"


@pytest.fixture(scope="module")
def company() -> PlanResult:
    return run_program(load_stack_file(COMPANY, today=TODAY), "company")


def section(text: str, name: str) -> str:
    """One web ACL's block of the text plan."""
    text += "\n\n"
    start = text.index(f"web ACL {name} ")
    return text[start : text.index("\n\n", start)]


def test_each_web_acl_is_shown_once_with_the_endpoints_it_protects(company: PlanResult) -> None:
    text = "\n".join(render_waf_text(company))
    assert text.count("web ACL guard-company-shop-alb ") == 1
    shop = section(text, "guard-company-shop-alb")
    assert "protects 2 endpoint(s)" in shop and "shop/web (alb)" in shop and "shop/api" in shop
    assert "shop/static" not in shop


def test_the_static_profile_has_its_own_rules(company: PlanResult) -> None:
    static = section("\n".join(render_waf_text(company)), "guard-company-shop-static-cf")
    assert "shop/static (cloudfront)" in static
    assert "rate-assets" in static and "rate-login" not in static and "checkout" not in static


def test_allowlist_only_shows_default_block_and_every_allowed_cidr(company: PlanResult) -> None:
    admin = section("\n".join(render_waf_text(company)), "guard-company-admin-alb")
    assert "default: block (allowlist only" in admin
    assert "198.51.100.0/28  office egress" in admin
    assert "192.0.2.64/27  VPN egress (expires 2027-06-30)" in admin
    assert "allow-ipv4  allow" in admin


def test_default_allow_is_said_too(company: PlanResult) -> None:
    blog = section("\n".join(render_waf_text(company)), "guard-company-blog-alb")
    assert "default: allow" in blog


def test_blocklist_entries_with_reason_and_expiry(company: PlanResult) -> None:
    shop = section("\n".join(render_waf_text(company)), "guard-company-shop-alb")
    assert (
        "203.0.113.0/25  card testing against /cart/checkout, WAF logs 2026-11 (expires 2027-02-28)"
        in shop
    )


def test_count_mode_says_the_floor_keeps_blocking(company: PlanResult) -> None:
    static = next(a for a in acl_views(company) if a.name == "guard-company-shop-static-cf")
    rules = {r.name: r for r in static.rules}
    assert rules["rate-assets"].action == "count"
    assert "keeps blocking in count mode" in rules["aws-known-bad-inputs"].what
    assert rules["aws-known-bad-inputs"].action == "group actions"


def test_the_cidrs_come_from_the_recorded_ip_sets(company: PlanResult) -> None:
    # An address the IP set resource does not hold is not shown, whatever the config says.
    changed = copy.deepcopy(company)
    for record in changed.resources:
        if record.inputs.get("name") == "guard-company-admin-alb-allow-ipv4":
            record.inputs["addresses"] = ["198.51.100.0/28"]
    admin = next(a for a in acl_views(changed) if a.name == "guard-company-admin-alb")
    assert [line.cidr for line in admin.ip_lists] == ["198.51.100.0/28"]


def test_markdown_lists_default_actions_and_cidrs(company: PlanResult) -> None:
    markdown = "\n".join(render_waf_markdown(company))
    assert "| admin/web | alb | `guard-company-admin-alb` | block |" in markdown
    assert "| allow | `192.0.2.64/27` | VPN egress | 2027-06-30 |" in markdown


def test_prod_endpoints_all_have_a_section(example_plan: Callable[[str], PlanResult]) -> None:
    text = "\n".join(render_waf_text(example_plan("prod")))
    assert "no web ACL" not in text
    for product in example_plan("prod").loaded.config.products:
        for endpoint in product.endpoints:
            assert f"{product.name}/{endpoint.name} ({endpoint.kind})" in text
