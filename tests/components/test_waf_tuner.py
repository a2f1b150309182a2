"""A web ACL shared with a tuning service: guard's rules as WebAclRule children, the web ACL
ignoring its rule list, and what the policies and the plan make of it."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from guard.plan import PlanResult, run_program
from guard.policy_run import load_pack, run_policies
from guard.report import render_json, render_markdown, render_text
from guard.waf_rule_form import from_inputs
from guard.waf_rules import web_acls_for
from tests.conftest import ROOT, TODAY, load, minimal_product, of_type

WEB_ACL = "aws:wafv2/webAcl:WebAcl"
WEB_ACL_RULE = "aws:wafv2/webAclRule:WebAclRule"
IP_SET = "aws:wafv2/ipSet:IpSet"
ACCESS = {"principal": "arn:aws:iam::123456789012:root", "external_id": {"secure": "v1:x"}}
TUNED = {
    "tuner": {"service": "wafcharm"},
    "ip_blocklist": [{"cidr": "203.0.113.0/24", "reason": "abuse", "expires": "2027-06-30"}],
}


def tuned_plan(**overrides: Any) -> PlanResult:
    return _plan(json.dumps(overrides, sort_keys=True))


@cache
def _plan(overrides: str) -> PlanResult:
    waf = {**TUNED, **json.loads(overrides)}
    products = [minimal_product("shop", **waf), minimal_product("blog")]
    return run_program(load(products=products, tuners={"wafcharm": ACCESS}), "prod")


def acl(plan: PlanResult, name: str) -> Any:
    return next(r for r in of_type(plan, WEB_ACL) if r.inputs["name"] == name)


def test_a_tuned_web_acl_leaves_its_rule_list_alone() -> None:
    shop = acl(tuned_plan(), "guard-prod-shop-alb")
    assert "ruleJson" not in shop.inputs and "rules" not in shop.inputs
    assert set(shop.ignore_changes) == {"rules", "ruleJson"}
    document = json.loads(render_json(tuned_plan()))
    (recorded,) = [r for r in document["resources"] if r["urn"] == shop.urn]
    assert recorded["ignore_changes"] == ["rules", "ruleJson"]


def test_an_untuned_web_acl_keeps_its_rules_inline() -> None:
    blog = acl(tuned_plan(), "guard-prod-blog-alb")
    assert json.loads(blog.inputs["ruleJson"]) and blog.ignore_changes == ()
    assert not [r for r in of_type(tuned_plan(), WEB_ACL_RULE) if r.parent == blog.urn]


def test_guards_rules_are_children_of_the_web_acl_with_the_rules_guard_built() -> None:
    plan = tuned_plan()
    shop = acl(plan, "guard-prod-shop-alb")
    (spec,) = web_acls_for(plan.loaded.config.products[0], "prod")
    ip_sets = {r.inputs["name"]: r.state["arn"] for r in of_type(plan, IP_SET)}
    expected = spec.rules({s.key: ip_sets[s.name] for s in spec.ip_sets})
    children = [r for r in of_type(plan, WEB_ACL_RULE) if r.parent == shop.urn]
    assert all(r.inputs["webAclArn"] == shop.state["arn"] for r in children)
    rules = sorted((from_inputs(r.inputs) for r in children), key=lambda r: r["Priority"])
    assert rules == expected


def test_no_guard_rule_is_in_the_band_or_named_like_the_tuners() -> None:
    rules = [r.inputs for r in of_type(tuned_plan(), WEB_ACL_RULE)]
    assert rules and all(r["priority"] < 100 for r in rules)
    assert not any(r["name"].startswith("wafcharm-") for r in rules)


def test_after_band_rules_follow_the_band() -> None:
    tuner = {
        "service": "other",
        "rule_prefix": "t-",
        "wcu": 300,
        "priorities": {"from": 100, "to": 499},
    }
    plan = tuned_plan(tuner=tuner)
    by_name = {r.inputs["name"]: r.inputs["priority"] for r in of_type(plan, WEB_ACL_RULE)}
    assert by_name["block-ipv4"] < by_name["rate-login"] < 100
    assert 500 <= by_name["aws-common"] < by_name["aws-ip-reputation"]


def test_the_policies_judge_guards_own_rules() -> None:
    pack = [p for p in load_pack(ROOT / "policies") if p.name.startswith("waf-")]
    passing = run_policies(tuned_plan(), pack, today=TODAY).violations
    # Only the advisory cost notice: 1,100 WCU reserved for WafCharm takes it over 1,500.
    assert [(v.policy, v.mandatory) for v in passing] == [("waf-capacity-cost", False)]
    assert "of which 1100 reserved for wafcharm-* rules" in passing[0].message
    found = run_policies(tuned_plan(rate_limits=[]), pack, today=TODAY).violations
    (rate,) = [v for v in found if v.policy == "waf-rate-based-rule"]
    assert "guard-prod-shop-alb" in rate.message
    assert "wafcharm-* rules wafcharm writes are not visible offline" in rate.message


def test_the_plan_shows_the_band_in_its_place() -> None:
    text = render_text(tuned_plan())
    section = text.split("web ACL guard-prod-shop-alb", 1)[1].split("\n\n", 1)[0]
    lines = [
        line.split()
        for line in section.splitlines()
        if line.startswith("    ") and line.split()[0][0].isdigit()
    ]
    assert [line[0] for line in lines][-1] == "100+"
    assert "edited by WafCharm, about 1,100 WCU; not visible offline" in section
    assert "+ 1100 reserved = " in text.split("web ACL guard-prod-shop-alb", 1)[1].splitlines()[0]
    markdown = render_markdown(tuned_plan())
    assert "| 100+ | `wafcharm-*` | tuner |" in markdown
