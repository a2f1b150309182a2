"""guard diff's policy area: findings new, resolved, changed, waived and about to expire.

Most pairs are plan documents written as dicts (only their ``policies`` and
``policy_exceptions_applied`` matter here); one pair runs the real policy pack on real plans.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import pytest

from guard.diff import diff_documents
from guard.diff_model import Change, PlanDocument
from guard.diff_policy import DIFFER, make_differ, policy_changes
from guard.plan import run_program
from guard.policy_run import load_pack, run_policies
from guard.report import render_json
from tests.conftest import ROOT, TODAY, load, minimal_product
from tests.guard.diff_plans import changes_of, only

ACL = "urn:pulumi:prod::guard::guard:waf:ProductWaf$aws:wafv2/webAcl:WebAcl::guard-prod-shop-alb"
WCU = "waf-capacity-cost"
RATE = "waf-rate-based-rule"


def finding(
    policy: str = WCU, message: str = "uses 2290 WCU. Fix: drop a group.", level: str = "advisory"
) -> dict[str, Any]:
    return {
        "policy": policy,
        "severity": "low",
        "enforcement_level": level,
        "urn": ACL,
        "message": message,
    }


def waiver(
    policy: str = RATE, expires: str = "2027-03-01", reason: str = "reviewed in PR 42"
) -> dict[str, Any]:
    return {
        "policy": policy,
        "urn": ACL,
        "message": "web ACL guard-prod-shop-alb has no rate-based rule.",
        "resource": "shop",
        "reason": reason,
        "expires": expires,
    }


def document(
    policies: Sequence[dict[str, Any]] = (), waived: Sequence[dict[str, Any]] = ()
) -> PlanDocument:
    return PlanDocument.from_json(
        {
            "stack": "prod",
            "resources": [],
            "policies": list(policies),
            "policy_exceptions_applied": list(waived),
        }
    )


def changes(base: PlanDocument, head: PlanDocument, today: date | None = None) -> list[Change]:
    return policy_changes(base, head, today)


def test_identical_documents_have_no_change() -> None:
    doc = document([finding()], [waiver()])
    assert changes(doc, doc) == []
    assert diff_documents(doc, doc, base_label="a", head_label="b").status == "unchanged"


def test_a_new_mandatory_finding_weakens() -> None:
    new = finding(
        RATE, "web ACL guard-prod-shop-alb has no rate-based rule. Fix: add one.", "mandatory"
    )
    change = only(changes(document(), document([new])))
    assert (change.area, change.subject, change.kind) == ("policy", RATE, "added")
    assert (change.path, change.effect) == ("findings[guard-prod-shop-alb]", "weakens")
    assert change.reason == (
        "new mandatory (low) finding on guard-prod-shop-alb: "
        "web ACL guard-prod-shop-alb has no rate-based rule."
    )


def test_a_new_advisory_finding_weakens_and_says_it_does_not_block() -> None:
    change = only(changes(document(), document([finding()])))
    assert change.effect == "weakens"
    assert "advisory (low) finding" in change.reason and "does not block deploys" in change.reason


def test_a_resolved_finding_strengthens() -> None:
    change = only(changes(document([finding()]), document()))
    assert (change.kind, change.effect) == ("removed", "strengthens")
    assert change.reason == "finding on guard-prod-shop-alb resolved: uses 2290 WCU."


def test_a_changed_message_is_one_neutral_change() -> None:
    base = document([finding(message="uses 2290 WCU.")])
    change = only(changes(base, document([finding(message="uses 2400 WCU.")])))
    assert (change.kind, change.effect) == ("changed", "neutral")
    assert change.reason == "finding on guard-prod-shop-alb now reads: uses 2400 WCU."
    assert change.before["message"] == "uses 2290 WCU."


def test_a_finding_turning_mandatory_weakens() -> None:
    base = document([finding()])
    change = only(changes(base, document([finding(level="mandatory")])))
    assert (change.kind, change.effect) == ("changed", "weakens")
    assert "is now mandatory (blocks deploys)" in change.reason


def test_a_finding_newly_waived_is_one_weakening_line() -> None:
    rate = finding(RATE, "web ACL guard-prod-shop-alb has no rate-based rule.", "mandatory")
    change = only(changes(document([rate]), document([], [waiver()])))
    assert (change.kind, change.path, change.effect) == (
        "added",
        "waivers[guard-prod-shop-alb]",
        "weakens",
    )
    assert change.reason == (
        f"{RATE} on guard-prod-shop-alb now waived until 2027-03-01 (reviewed in PR 42): "
        "web ACL guard-prod-shop-alb has no rate-based rule."
    )


def test_a_waiver_gone_with_its_finding_back_weakens_once() -> None:
    rate = finding(RATE, "web ACL guard-prod-shop-alb has no rate-based rule.", "mandatory")
    change = only(changes(document([], [waiver()]), document([rate])))
    assert (change.kind, change.effect) == ("removed", "weakens")
    assert "no longer applies: the finding is reported again, mandatory (low)" in change.reason


def test_a_waiver_gone_with_its_finding_is_neutral() -> None:
    change = only(changes(document([], [waiver()]), document()))
    assert (change.kind, change.effect) == ("removed", "neutral")
    assert change.reason.endswith("no longer applies: the finding is gone")


def test_a_waiver_extended_weakens() -> None:
    base = document([], [waiver()])
    change = only(changes(base, document([], [waiver(expires="2027-06-01")])))
    assert (change.kind, change.effect) == ("changed", "weakens")
    assert (
        change.reason
        == f"waiver of {RATE} on guard-prod-shop-alb now expires 2027-06-01 (was 2027-03-01)"
    )


def test_a_waiver_about_to_expire_gets_a_notice_only_with_a_day() -> None:
    doc = document([], [waiver(expires="2026-12-10")])
    assert changes(doc, doc) == []
    assert DIFFER.compare(doc, doc) == []
    notice = only(make_differ(date(2026, 11, 28)).compare(doc, doc))
    assert (notice.effect, notice.path) == ("neutral", "waivers[guard-prod-shop-alb].expires")
    assert (
        notice.reason == f"waiver of {RATE} on guard-prod-shop-alb expires 2026-12-10 (in 12 days)"
    )
    assert changes(doc, doc, date(2026, 11, 1)) == []
    expired = only(changes(doc, doc, date(2026, 12, 12)))
    assert expired.reason.endswith("expired 2026-12-10 (2 days ago)")


def test_a_stack_finding_is_on_the_stack() -> None:
    stack = {**finding("alerts-routes"), "urn": ""}
    assert only(changes(document(), document([stack]))).path == "findings[stack]"


# --- the real pack on real plans -----------------------------------------------------------------

PACK = load_pack(ROOT / "policies")


def checked(rate_limits: bool = True, **sections: Any) -> PlanDocument:
    """The plan JSON of a one-product stack with the pack's findings, as guard plan writes it."""
    product = minimal_product("store") if rate_limits else minimal_product("store", rate_limits=[])
    result = run_program(load(products=[product], **sections), "test")
    outcome = run_policies(result, PACK, today=TODAY)
    extra = {
        "policies": [v.to_json() for v in outcome.violations],
        "policy_exceptions_applied": outcome.exceptions,
    }
    return PlanDocument.from_json(json.loads(render_json(result, extra)))


@pytest.fixture(scope="module")
def plans() -> dict[str, PlanDocument]:
    expires = (TODAY + timedelta(days=20)).isoformat()
    exception = {
        "policy": RATE,
        "resource": "store",
        "reason": "reviewed in PR 7",
        "expires": expires,
    }
    return {
        "base": checked(),
        "unlimited": checked(rate_limits=False),
        "waived": checked(rate_limits=False, policy_exceptions=[exception]),
    }


def test_the_pack_finding_a_missing_rate_limit_weakens(plans: dict[str, PlanDocument]) -> None:
    result = diff_documents(plans["base"], plans["unlimited"], base_label="a", head_label="b")
    change = only(changes_of(result, "policy"), subject=RATE)
    assert (change.kind, change.effect) == ("added", "weakens")
    assert change.reason.startswith("new mandatory") and "guard-test-store-alb" in change.reason


def test_the_pack_finding_then_waived_is_one_line(plans: dict[str, PlanDocument]) -> None:
    found = changes(plans["unlimited"], plans["waived"], TODAY)
    waived = only(found, subject=RATE, kind="added")
    assert waived.effect == "weakens" and "reviewed in PR 7" in waived.reason
    notice = only(found, subject=RATE, kind="changed")
    assert notice.effect == "neutral" and notice.reason.endswith("(in 20 days)")
    assert len(found) == 2
