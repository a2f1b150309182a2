"""The plan's WAF tuners section: read from the recorded role and its policy."""

from __future__ import annotations

from guard.plan import run_program
from guard.report_account import account_sections
from tests.conftest import load, minimal_product

ACCESS = {"principal": "arn:aws:iam::123456789012:root", "external_id": {"secure": "v1:x"}}


def test_the_section_names_the_role_its_trust_and_what_it_may_edit() -> None:
    products = [minimal_product("shop", tuner={"service": "wafcharm"}), minimal_product("blog")]
    plan = run_program(load(products=products, tuners={"wafcharm": ACCESS}), "prod")
    text = "\n".join(account_sections(plan, markdown=False))
    section = text.split("WAF tuners:", 1)[1]
    assert (
        "role guard-prod-wafcharm  assumed by arn:aws:iam::123456789012:root with the external "
        "ID (a secret); register its ARN (output tuner_roles.wafcharm)" in section
    )
    (tune,) = [line for line in section.splitlines() if line.strip().startswith("TuneWebAcls")]
    assert "wafv2:UpdateWebACL on regional/webacl/guard-prod-shop-alb/*" in tune
    assert "blog" not in tune
    assert "v1:x" not in text


def test_no_section_without_tuners() -> None:
    plan = run_program(load(products=[minimal_product("shop")]), "prod")
    assert "WAF tuners" not in "\n".join(account_sections(plan, markdown=False))
