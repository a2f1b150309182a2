"""``guard diff``'s WAF lines: each kind of change a pull request makes to a web ACL, planned by
the real program on both sides, with the line and the effect a reviewer relies on."""

from __future__ import annotations

import json
from typing import Any

import pytest

from guard.diff_model import Change, PlanDocument
from guard.diff_waf_lists import uncovered
from guard.diff_waf_rules import rule_changes
from tests.conftest import alb_arn, minimal_product
from tests.guard.diff_plans import changes as area_changes
from tests.guard.diff_plans import only, plan

ACCESS = {"principal": "arn:aws:iam::123456789012:root", "external_id": {"secure": "v1:x"}}
BLOCKED = {"cidr": "203.0.113.0/24", "reason": "credential stuffing", "expires": "2027-01-31"}


def waf_diff(
    base: list[dict[str, Any]], head: list[dict[str, Any]], tuners: bool = False
) -> list[Change]:
    """The WAF changes between two product lists, each planned once per session."""
    extra = {"tuners": {"wafcharm": ACCESS}} if tuners else {}
    return area_changes(plan(products=base, **extra), plan(products=head, **extra), "waf")


def store(**waf: Any) -> dict[str, Any]:
    return minimal_product("store", **waf)


def test_narrowing_a_blocklist_entry_reports_the_addresses_it_stops_blocking() -> None:
    narrowed = {**BLOCKED, "cidr": "203.0.113.0/25"}
    changes = waf_diff([store(ip_blocklist=[BLOCKED])], [store(ip_blocklist=[narrowed])])
    change = only(changes, path="ip_sets[blocklist]")
    assert change.effect == "weakens"
    assert change.kind == "removed"
    assert change.before == "203.0.113.128/25"
    assert change.reason == (
        "blocklist loses 203.0.113.128/25 (credential stuffing, until 2027-01-31)"
    )
    assert change.subject == "store"


def test_a_new_blocklist_entry_strengthens_and_an_allowlist_entry_weakens() -> None:
    office = {"cidr": "198.51.100.10/32", "reason": "office egress"}
    changes = waf_diff([store()], [store(ip_blocklist=[BLOCKED], ip_allowlist=[office])])
    blocked = only(changes, path="ip_sets[blocklist]")
    assert (blocked.effect, blocked.after) == ("strengthens", "203.0.113.0/24")
    assert "blocks it (credential stuffing, until 2027-01-31)" in blocked.reason
    allowed = only(changes, path="ip_sets[allowlist]")
    assert (allowed.effect, allowed.after) == ("weakens", "198.51.100.10/32")
    assert allowed.reason == "allowlist gains 198.51.100.10/32: lets through it (office egress)"
    # The IP set rules come with the entries; they are not reported a second time.
    assert not [c for c in changes if c.path.startswith("rules[")]


def test_a_blocklist_entry_with_a_new_expiry_is_a_neutral_note() -> None:
    later = {**BLOCKED, "expires": "2027-06-30"}
    change = only(
        waf_diff([store(ip_blocklist=[BLOCKED])], [store(ip_blocklist=[later])]),
        path="ip_sets[blocklist][203.0.113.0/24].expires",
    )
    assert (change.effect, change.before, change.after) == ("neutral", "2027-01-31", "2027-06-30")


@pytest.mark.parametrize(
    ("limit", "window", "effect", "words"),
    [
        (1000, 300, "weakens", "rate-login allows more: 1000 requests / 300 s per client"),
        (50, 300, "strengthens", "rate-login allows fewer: 50 requests / 300 s per client"),
        (100, 600, "strengthens", "allows fewer: 100 requests / 600 s"),
        (100, 60, "weakens", "allows more: 100 requests / 60 s"),
    ],
)
def test_rate_limit_changes_compare_the_rate_they_allow(
    limit: int, window: int, effect: str, words: str
) -> None:
    head = store(
        rate_limits=[{"name": "login", "limit": limit, "window": window, "path": "/login"}]
    )
    change = only(waf_diff([store()], [head]), path="rules[rate-login].limit")
    assert change.effect == effect
    assert words in change.reason
    assert change.before == "100 requests / 300 s"


def test_a_rate_limit_on_another_path_or_keyed_on_a_header_weakens() -> None:
    head = store(
        rate_limits=[
            {"name": "login", "limit": 100, "path": "/signin", "key": "forwarded-ip"},
        ]
    )
    changes = waf_diff([store()], [head])
    scope = only(changes, path="rules[rate-login].scope")
    assert scope.effect == "weakens"
    assert scope.reason == (
        "rate-login now limits paths starting /signin (was paths starting /login)"
    )
    key = only(changes, path="rules[rate-login].key")
    assert key.effect == "weakens"
    assert "a client that sets the header picks its own key" in key.reason


@pytest.mark.parametrize(
    ("action", "effect", "words"),
    [
        ("count", "weakens", "rate-login now only counts"),
        ("captcha", "weakens", "answers over 100 requests / 300 s per IP on paths starting "),
        ("challenge", "weakens", "with challenge (was block)"),
    ],
)
def test_a_rule_that_stops_blocking_weakens(action: str, effect: str, words: str) -> None:
    head = store(rate_limits=[{"name": "login", "limit": 100, "path": "/login", "action": action}])
    change = only(waf_diff([store()], [head]), path="rules[rate-login].action")
    assert (change.effect, change.before, change.after) == (effect, "block", action)
    assert words in change.reason
    back = only(waf_diff([head], [store()]), path="rules[rate-login].action")
    assert back.effect == "strengthens"


def test_a_managed_group_removed_weakens_and_added_strengthens() -> None:
    base = store(managed_rules=[{"name": "common"}, {"name": "sqli"}])
    head = store(managed_rules=[{"name": "common"}])
    removed = only(waf_diff([base], [head]), path="rules[aws-sqli]")
    assert (removed.kind, removed.effect) == ("removed", "weakens")
    assert removed.reason.startswith(
        "rule aws-sqli is removed: AWS AWSManagedRulesSQLiRuleSet is no longer stopped"
    )
    added = only(waf_diff([head], [base]), path="rules[aws-sqli]")
    assert (added.kind, added.effect) == ("added", "strengthens")


def test_a_managed_group_in_count_mode_weakens() -> None:
    base = store(managed_rules=[{"name": "common"}, {"name": "sqli"}])
    head = store(
        managed_rules=[{"name": "common"}, {"name": "sqli", "mode": "count"}],
    )
    change = only(waf_diff([base], [head]), path="rules[aws-sqli].action")
    assert (change.effect, change.before, change.after) == ("weakens", "group actions", "count")
    assert change.reason == "aws-sqli now only counts AWS AWSManagedRulesSQLiRuleSet"


def test_an_exclusion_says_which_rule_stops_blocking_on_which_path() -> None:
    base = store(managed_rules=[{"name": "sqli"}])
    exclusion = {"rules": ["SQLi_QUERYARGUMENTS"], "paths": ["/search"], "reason": "book titles"}
    head = store(managed_rules=[{"name": "sqli", "exclusions": [exclusion]}])
    change = only(waf_diff([base], [head]), path="rules[aws-sqli].exclusions[SQLi_QUERYARGUMENTS]")
    assert change.effect == "weakens"
    assert change.reason == "SQLi_QUERYARGUMENTS no longer blocks on /search"
    assert (change.before, change.after) == ("blocks", ["/search"])
    # Taking it out again is the reverse, and the exclusion's own rule is not a second line.
    changes = waf_diff([head], [base])
    back = only(changes, path="rules[aws-sqli].exclusions[SQLi_QUERYARGUMENTS]")
    assert back.effect == "strengthens"
    assert not [c for c in changes if "exclusion-0" in c.path]


def test_an_exclusion_widened_to_another_path_weakens() -> None:
    one = {"rules": ["SQLi_QUERYARGUMENTS"], "paths": ["/search"]}
    two = {"rules": ["SQLi_QUERYARGUMENTS"], "paths": ["/search", "/api/search"]}
    base = store(managed_rules=[{"name": "sqli", "exclusions": [one]}])
    head = store(managed_rules=[{"name": "sqli", "exclusions": [two]}])
    change = only(waf_diff([base], [head]), path="rules[aws-sqli].exclusions[SQLi_QUERYARGUMENTS]")
    assert change.effect == "weakens"
    assert change.reason == "SQLi_QUERYARGUMENTS no longer blocks on /api/search"


def test_a_rule_counted_by_count_rules_weakens() -> None:
    base = store(managed_rules=[{"name": "common"}])
    head = store(managed_rules=[{"name": "common", "count_rules": ["SizeRestrictions_BODY"]}])
    change = only(
        waf_diff([base], [head]), path="rules[aws-common].count_rules[SizeRestrictions_BODY]"
    )
    assert change.effect == "weakens"
    assert change.reason == "SizeRestrictions_BODY now only counts (it no longer blocks anywhere)"


def test_a_managed_group_pinned_to_an_older_version_weakens() -> None:
    base = store(managed_rules=[{"name": "sqli", "version": "Version_2.0"}])
    head = store(managed_rules=[{"name": "sqli", "version": "Version_1.0"}])
    change = only(waf_diff([base], [head]), path="rules[aws-sqli].version")
    assert change.effect == "weakens"
    assert "goes back to Version_1.0" in change.reason
    newer = only(waf_diff([head], [base]), path="rules[aws-sqli].version")
    assert newer.effect == "neutral"


def test_the_default_action_of_an_allowlist_only_web_acl() -> None:
    office = {"cidr": "198.51.100.0/28", "reason": "office egress"}
    closed = store(default_action="block", ip_allowlist=[office], rate_limits=[])
    opened = store(default_action="allow", ip_allowlist=[office], rate_limits=[])
    change = only(waf_diff([closed], [opened]), path="default_action")
    assert (change.effect, change.before, change.after) == ("weakens", "block", "allow")
    assert only(waf_diff([opened], [closed]), path="default_action").effect == "strengthens"


def test_a_tuner_given_a_web_acl_weakens_and_so_does_taking_it_away() -> None:
    tuned = store(tuner={"service": "wafcharm"})
    added = only(waf_diff([store()], [tuned], tuners=True), path="tuner")
    assert (added.kind, added.effect) == ("added", "weakens")
    assert added.reason == (
        "wafcharm may now write its own rules (priorities 100+) into this web ACL; "
        "guard does not review them"
    )
    removed = only(waf_diff([tuned], [store()], tuners=True), path="tuner")
    assert removed.effect == "weakens"
    assert "wafcharm's rules are deleted" in removed.reason


def test_wcu_over_the_base_price_is_said() -> None:
    small = store(managed_rules=[{"name": "common"}])
    big = store(
        managed_rules=[
            {"name": n} for n in ("common", "sqli", "linux", "windows", "php", "known-bad-inputs")
        ]
    )
    change = only(waf_diff([small], [big]), path="wcu")
    assert change.effect == "neutral"
    assert change.before < 1500 < change.after
    assert "now over it" in change.reason


def test_an_endpoint_that_loses_its_web_acl_weakens() -> None:
    api = {"name": "api", "kind": "alb", "arn": alb_arn("store-api")}
    one = store()
    two = {**store(), "endpoints": [*store()["endpoints"], api]}
    removed = only(waf_diff([two], [one]), path="associations[store/api]")
    assert (removed.effect, removed.subject) == ("weakens", "store/api")
    assert removed.reason == (
        "store/api is no longer protected by any web ACL (was guard-test-store-alb)"
    )
    added = only(waf_diff([one], [two]), path="associations[store/api]")
    assert added.effect == "strengthens"


def test_a_new_product_adds_its_web_acl_and_a_removed_one_deletes_it() -> None:
    shop = store()
    blog = minimal_product("blog")
    added = waf_diff([shop], [shop, blog])
    web_acl = only(added, path="web_acl")
    assert (web_acl.kind, web_acl.effect, web_acl.subject) == ("added", "strengthens", "blog")
    assert only(added, path="associations[blog/web]").effect == "strengthens"
    # Its rules are the web ACL's, not a line each.
    assert not [c for c in added if c.path.startswith("rules[")]
    removed = only(waf_diff([shop, blog], [shop]), path="web_acl")
    assert removed.effect == "weakens"
    assert removed.reason.startswith("web ACL guard-test-blog-alb is deleted with its ")


def rule(name: str, priority: int, action: str) -> dict[str, Any]:
    statement = (
        {"IPSetReferenceStatement": {"ARN": f"arn:aws:wafv2:::ipset/{name}/1"}}
        if action == "Allow"
        else {"LabelMatchStatement": {"Scope": "LABEL", "Key": f"awswaf:x:{name}"}}
    )
    return {"Name": name, "Priority": priority, "Action": {action: {}}, "Statement": statement}


def test_a_block_rule_moved_behind_an_allow_rule_weakens() -> None:
    empty = PlanDocument.missing("test")
    old = [rule("trusted", 0, "Allow"), rule("bots", 10, "Block"), rule("scan", 20, "Block")]
    new = [rule("bots", 0, "Block"), rule("trusted", 10, "Allow"), rule("scan", 20, "Block")]
    (moved,) = rule_changes("store", old, new, empty, empty)
    assert (moved.kind, moved.path) == ("moved", "rules[bots].priority")
    assert moved.effect == "strengthens"
    old, new = new, old
    (moved,) = rule_changes("store", old, new, empty, empty)
    assert moved.kind == "moved"
    assert moved.effect == "weakens"
    assert "an allow rule now decides first" in moved.reason


def test_renumbering_without_a_new_order_is_no_move() -> None:
    empty = PlanDocument.missing("test")
    old = [rule("a", 0, "Block"), rule("b", 10, "Block")]
    new = [rule("a", 5, "Block"), rule("b", 50, "Block")]
    assert rule_changes("store", old, new, empty, empty) == []


def test_rate_limits_swapped_in_the_stack_file_move_one_rule() -> None:
    login = {"name": "login", "limit": 100, "path": "/login"}
    search = {"name": "search", "limit": 1000, "path": "/search"}
    changes = waf_diff([store(rate_limits=[login, search])], [store(rate_limits=[search, login])])
    moved = [c for c in changes if c.kind == "moved"]
    assert len(moved) == 1
    assert moved[0].effect == "neutral"


def test_uncovered_addresses_are_cut_to_the_fewest_cidrs() -> None:
    import ipaddress

    net = ipaddress.ip_network
    assert uncovered([net("10.0.0.0/8")], [net("10.0.0.0/9")]) == [net("10.128.0.0/9")]
    assert uncovered([net("10.0.0.0/24"), net("2001:db8::/32")], [net("10.0.0.0/8")]) == [
        net("2001:db8::/32")
    ]
    assert uncovered([net("10.0.0.0/25"), net("10.0.0.128/25")], [net("10.0.0.0/24")]) == []


def test_identical_plans_of_the_example_stack_have_no_change(example_plan: Any) -> None:
    from guard.diff import diff_documents
    from guard.report import render_json

    text = render_json(example_plan("prod"))
    base = PlanDocument.from_json(json.loads(text))
    head = PlanDocument.from_json(json.loads(text))
    same = diff_documents(base, head, base_label="a", head_label="b")
    assert same.changes == ()
    assert same.status == "unchanged"


def test_a_tuner_band_moved_is_a_neutral_line_with_both_bands() -> None:
    tuned = store(tuner={"service": "wafcharm"})
    moved = store(tuner={"service": "wafcharm", "priorities": {"from": 200}})
    change = only(waf_diff([tuned], [moved], tuners=True), path="tuner")
    assert (change.kind, change.effect) == ("changed", "neutral")
    assert change.reason == (
        "tuner band or reservation wafcharm 100+ (1100 WCU) → wafcharm 200+ (1100 WCU)"
    )
