"""The WAF component, run through the real program under Pulumi mocks on the example stacks."""

from __future__ import annotations

import json
from collections.abc import Callable

from guard.plan import PlanResult
from guard.waf_rules import web_acls_for
from tests.conftest import of_type

WEB_ACL = "aws:wafv2/webAcl:WebAcl"
IP_SET = "aws:wafv2/ipSet:IpSet"
ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"


def test_one_web_acl_per_product_and_scope(example_plan: Callable[[str], PlanResult]) -> None:
    plan = example_plan("prod")
    acls = {(r.inputs["name"], r.inputs["scope"], r.region) for r in of_type(plan, WEB_ACL)}
    assert acls == {
        ("guard-prod-marketplace-alb", "REGIONAL", "ap-northeast-1"),
        ("guard-prod-energy-alb", "REGIONAL", "ap-northeast-1"),
        ("guard-prod-ebook-alb", "REGIONAL", "ap-northeast-1"),
        ("guard-prod-ebook-cf", "CLOUDFRONT", "us-east-1"),
        ("guard-prod-corporate-alb", "REGIONAL", "ap-northeast-1"),
    }


def test_every_alb_is_associated_with_its_products_web_acl(
    example_plan: Callable[[str], PlanResult],
) -> None:
    plan = example_plan("prod")
    acl_arn = {r.urn: r.state["arn"] for r in of_type(plan, WEB_ACL)}
    by_arn = {r.state["arn"]: r.inputs["tags"]["product"] for r in of_type(plan, WEB_ACL)}
    associations = {
        r.inputs["resourceArn"]: by_arn[r.inputs["webAclArn"]] for r in of_type(plan, ASSOCIATION)
    }
    expected = {
        e.arn: p.name for p in plan.loaded.config.products for e in p.endpoints if e.kind == "alb"
    }
    assert associations == expected
    assert len(acl_arn) == 5


def test_each_web_acl_has_its_own_products_rules(example_plan: Callable[[str], PlanResult]) -> None:
    # Guards against the late-binding closure bug: every ACL once got the last product's rules.
    plan = example_plan("prod")
    ip_set_arns = {r.inputs["name"]: r.state["arn"] for r in of_type(plan, IP_SET)}
    for product in plan.loaded.config.products:
        for spec in web_acls_for(product, "prod"):
            recorded = next(r for r in of_type(plan, WEB_ACL) if r.inputs["name"] == spec.name)
            arns = {s.key: ip_set_arns[s.name] for s in spec.ip_sets}
            assert json.loads(recorded.inputs["ruleJson"]) == spec.rules(arns)


def test_web_acl_settings_and_tags(example_plan: Callable[[str], PlanResult]) -> None:
    for acl in of_type(example_plan("prod"), WEB_ACL):
        assert acl.inputs["defaultAction"] == {"allow": {}}
        assert acl.inputs["visibilityConfig"]["sampledRequestsEnabled"] is True
        assert acl.inputs["visibilityConfig"]["cloudwatchMetricsEnabled"] is True
        tags = acl.inputs["tags"]
        assert tags["managed-by"] == "guard" and tags["stack"] == "prod" and tags["product"]
        rules = json.loads(acl.inputs["ruleJson"])
        metrics = [r["VisibilityConfig"]["MetricName"] for r in rules]
        assert len(metrics) == len(set(metrics))


def test_ip_sets_split_by_version_and_parented(example_plan: Callable[[str], PlanResult]) -> None:
    plan = example_plan("prod")
    sets = {r.inputs["name"]: r for r in of_type(plan, IP_SET)}
    assert sets["guard-prod-marketplace-alb-block-ipv4"].inputs["addresses"] == ["203.0.113.0/24"]
    assert sets["guard-prod-marketplace-alb-block-ipv6"].inputs["addresses"] == [
        "2001:db8:dead::/48"
    ]
    assert sets["guard-prod-marketplace-alb-block-ipv6"].inputs["ipAddressVersion"] == "IPV6"
    assert sets["guard-prod-energy-alb-block-ipv4"].inputs["addresses"] == []
    waf_parents = {r.urn for r in plan.resources if r.type == "guard:waf:ProductWaf"}
    assert all(r.parent in waf_parents for r in [*of_type(plan, IP_SET), *of_type(plan, WEB_ACL)])


def test_cloudfront_hand_off_is_exported(example_plan: Callable[[str], PlanResult]) -> None:
    plan = example_plan("prod")
    cf_acl = next(r for r in of_type(plan, WEB_ACL) if r.inputs["scope"] == "CLOUDFRONT")
    assert plan.outputs["cloudfront_web_acls"] == {
        "ebook/cdn": {
            "distribution": "arn:aws:cloudfront::111111111111:distribution/E2EXAMPLE1",
            "web_acl_arn": cf_acl.state["arn"],
        }
    }
    assert not any(
        r.inputs.get("resourceArn", "").startswith("arn:aws:cloudfront")
        for r in of_type(plan, ASSOCIATION)
    )


def test_providers_pinned_to_the_stack_account(example_plan: Callable[[str], PlanResult]) -> None:
    providers = of_type(example_plan("staging"), "pulumi:providers:aws")
    # Provider inputs reach the engine as JSON text, as the provider's own config does.
    accounts = {
        p.inputs["region"]: tuple(json.loads(p.inputs["allowedAccountIds"])) for p in providers
    }
    assert set(accounts.items()) == {
        ("ap-northeast-1", ("123456789012",)),
        ("us-east-1", ("123456789012",)),
    }
