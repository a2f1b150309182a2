"""Reviewed exceptions waive exactly what they name: a product, one of its endpoints or profiles,
or a glob over logical names, never longer than guard:policy_settings.max_exception_days."""

from __future__ import annotations

import copy
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from guard.config import ConfigError, load_stack_file
from guard.plan import run_program
from guard.policy_run import PolicyOutcome, load_pack, run_policies
from guard.report import policy_sections
from tests.conftest import ROOT, TODAY

COMPANY = ROOT / "tests" / "data" / "company" / "Pulumi.company.yaml"
PACK = load_pack(ROOT / "policies")


def company(**changes: Any) -> dict[str, Any]:
    document = yaml.safe_load(COMPANY.read_text())
    return copy.deepcopy(document) | changes


def without_rate_limits(document: dict[str, Any]) -> dict[str, Any]:
    """shop's web ACL (web and api) and its static profile's web ACL lose their rate limits."""
    shop = document["config"]["guard:products"][0]
    shop["waf"]["rate_limits"] = []
    shop["waf_profiles"]["static"]["rate_limits"] = []
    return document


def plan(tmp_path: Path, document: dict[str, Any], *exceptions: dict[str, Any]) -> PolicyOutcome:
    document["config"]["guard:policy_exceptions"] = [
        {"reason": "reviewed in PR 42", "expires": (TODAY + timedelta(days=30)).isoformat(), **e}
        for e in exceptions
    ]
    path = tmp_path / "Pulumi.company.yaml"
    path.write_text(yaml.safe_dump(document))
    loaded = load_stack_file(path, today=TODAY)
    return run_policies(run_program(loaded, "company"), PACK, today=TODAY)


def failing(outcome: PolicyOutcome, policy: str) -> list[str]:
    return sorted(v.urn.rsplit("::", 1)[-1] for v in outcome.violations if v.policy == policy)


def waived(outcome: PolicyOutcome) -> list[str]:
    return sorted(e["urn"].rsplit("::", 1)[-1] for e in outcome.exceptions)


RATE = "waf-rate-based-rule"


def test_without_exceptions_both_web_acls_fail(tmp_path: Path) -> None:
    outcome = plan(tmp_path, without_rate_limits(company()))
    assert failing(outcome, RATE) == ["guard-company-shop-alb", "guard-company-shop-static-cf"]


def test_a_profile_waives_only_its_own_web_acl(tmp_path: Path) -> None:
    outcome = plan(
        tmp_path, without_rate_limits(company()), {"policy": RATE, "resource": "shop/static"}
    )
    assert failing(outcome, RATE) == ["guard-company-shop-alb"]
    assert waived(outcome) == ["guard-company-shop-static-cf"]


def test_an_endpoint_does_not_waive_a_web_acl_it_shares(tmp_path: Path) -> None:
    # shop/web shares guard-company-shop-alb with shop/api: waiving web must not silence api.
    outcome = plan(
        tmp_path, without_rate_limits(company()), {"policy": RATE, "resource": "shop/web"}
    )
    assert failing(outcome, RATE) == ["guard-company-shop-alb", "guard-company-shop-static-cf"]
    assert outcome.exceptions == []


def test_the_product_waives_all_of_its_web_acls(tmp_path: Path) -> None:
    outcome = plan(tmp_path, without_rate_limits(company()), {"policy": RATE, "resource": "shop"})
    assert failing(outcome, RATE) == []
    assert waived(outcome) == ["guard-company-shop-alb", "guard-company-shop-static-cf"]


def test_a_glob_over_logical_names_still_works(tmp_path: Path) -> None:
    outcome = plan(
        tmp_path, without_rate_limits(company()), {"policy": RATE, "resource": "*-static-cf"}
    )
    assert failing(outcome, RATE) == ["guard-company-shop-alb"]


def test_a_waived_finding_is_shown_once_with_its_message_reason_and_expiry(
    tmp_path: Path,
) -> None:
    outcome = plan(
        tmp_path, without_rate_limits(company()), {"policy": RATE, "resource": "shop/static"}
    )
    text = "\n".join(policy_sections(outcome, markdown=False))
    assert text.count("WAIVED") == 1
    assert "guard-company-shop-static-cf has no rate-based rule" in text
    assert "reviewed in PR 42" in text and (TODAY + timedelta(days=30)).isoformat() in text
    # The finding itself is not printed as a violation as well.
    assert (
        "MANDATORY high     waf-rate-based-rule: web ACL guard-company-shop-static-cf" not in text
    )


def write(tmp_path: Path, *exceptions: dict[str, Any], settings: Any = None) -> Path:
    document = company()
    document["config"]["guard:policy_exceptions"] = list(exceptions)
    if settings is not None:
        document["config"]["guard:policy_settings"] = settings
    path = tmp_path / "Pulumi.company.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def errors(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_stack_file(path, today=TODAY)
    return [p.render(str(path)) for p in caught.value.problems]


def exception(resource: str, days: int = 30) -> dict[str, Any]:
    return {
        "policy": RATE,
        "resource": resource,
        "reason": "reviewed in PR 42",
        "expires": (TODAY + timedelta(days=days)).isoformat(),
    }


def test_an_exception_longer_than_the_maximum_is_an_error(tmp_path: Path) -> None:
    (found,) = errors(write(tmp_path, exception("shop", days=366)))
    assert "guard:policy_exceptions[0].expires" in found and "at most 365 days" in found


def test_the_maximum_is_a_setting(tmp_path: Path) -> None:
    path = write(tmp_path, exception("shop", days=60), settings={"max_exception_days": 30})
    (found,) = errors(path)
    assert "at most 30 days" in found
    load_stack_file(
        write(tmp_path, exception("shop", days=30), settings={"max_exception_days": 30}),
        today=TODAY,
    )


@pytest.mark.parametrize(
    ("resource", "expected"),
    [
        ("shop/statik", "shop has no endpoint or WAF profile statik (did you mean static?)"),
        ("shoop/web", "no product shoop (did you mean shop?)"),
    ],
)
def test_a_product_path_must_name_what_exists(tmp_path: Path, resource: str, expected: str) -> None:
    (found,) = errors(write(tmp_path, exception(resource)))
    assert "guard:policy_exceptions[0].resource" in found and expected in found
