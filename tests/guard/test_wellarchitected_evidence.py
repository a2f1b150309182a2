"""Evidence checks: a policy against the plan's findings and waivers, an audit check against the
stack's audit JSON, a component against the plan's resources, in every covered stack."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from guard import wellarchitected_evidence
from guard.config.wellarchitected import Evidence, Review
from guard.diff_model import PlanDocument
from guard.wellarchitected_evidence import (
    FAILS,
    PASSES,
    UNCHECKED,
    EvidenceCheck,
    StackResult,
    contradictions,
)
from tests.conftest import ROOT
from tests.guard.config.test_wellarchitected import WORKLOAD, load

GOLDEN: dict[str, Any] = json.loads((ROOT / "tests/data/plans/prod.json").read_text())
SRT = "guard:shield:SrtEscalation"


def plan(stack: str = "prod") -> dict[str, Any]:
    document = copy.deepcopy(GOLDEN)
    document["stack"] = stack
    return document


def finding(policy: str, message: str = "the finding") -> dict[str, Any]:
    return {
        "policy": policy,
        "severity": "high",
        "enforcement_level": "mandatory",
        "urn": "urn:pulumi:prod::guard::aws:wafv2/webAcl:WebAcl::x",
        "message": message,
    }


def without(document: dict[str, Any], type_token: str) -> dict[str, Any]:
    document["resources"] = [r for r in document["resources"] if r["type"] != type_token]
    return document


def audit(stack: str = "prod", *gaps: tuple[str, str, str]) -> dict[str, Any]:
    return {
        "stack": stack,
        "account": "111111111111",
        "regions": ["ap-northeast-1"],
        "generated_at": "2026-11-29T00:00:00+00:00",
        "coverage": {"uncovered": [], "gone": [], "covered": 6},
        "waf": [],
        "alb_access_logs": None,
        "shield": None,
        "findings": {},
        "gaps": [{"kind": k, "subject": s, "detail": d} for k, s, d in gaps],
    }


def _documents(plans: dict[str, dict[str, Any]]) -> dict[str, PlanDocument]:
    """The plan JSON the tests edit, read as guard reads a plan file."""
    return {stack: PlanDocument.from_json(document) for stack, document in plans.items()}


def judge(
    evidence: Evidence, plans: dict[str, dict[str, Any]], audits: dict[str, Any]
) -> tuple[StackResult, ...]:
    return wellarchitected_evidence.judge(evidence, _documents(plans), audits)


def check_evidence(
    review: Review, plans: dict[str, dict[str, Any]], audits: dict[str, Any] | None = None
) -> list[EvidenceCheck]:
    return wellarchitected_evidence.check_evidence(review, _documents(plans), audits)


def test_the_golden_plan_is_what_these_tests_edit() -> None:
    assert GOLDEN["stack"] == "prod"
    assert [r["name"] for r in GOLDEN["resources"] if r["type"] == SRT] == ["srt-escalation"]
    assert not any(f["policy"] == "waf-endpoint-coverage" for f in GOLDEN["policies"])
    assert GOLDEN["policy_exceptions_applied"] == []


# --- policy -------------------------------------------------------------------------------------


def test_policy_passes_without_a_finding_of_it() -> None:
    (result,) = judge(Evidence(policy="waf-endpoint-coverage"), {"prod": plan()}, {})
    assert (result.stack, result.status, result.detail) == (
        "prod",
        PASSES,
        "no finding in the plan",
    )


def test_policy_fails_with_a_finding_of_it() -> None:
    document = plan()
    document["policies"] += [
        finding("waf-endpoint-coverage", f"endpoint {n} has no web ACL") for n in range(5)
    ]
    (result,) = judge(Evidence(policy="waf-endpoint-coverage"), {"prod": document}, {})
    assert result.status == FAILS
    assert result.detail == (
        "5 findings: endpoint 0 has no web ACL; endpoint 1 has no web ACL; "
        "endpoint 2 has no web ACL; and 2 more"
    )
    # Another policy's finding in the same plan does not count.
    (other,) = judge(Evidence(policy="waf-logging-enabled"), {"prod": document}, {})
    assert other.status == PASSES


def test_policy_waived_by_an_exception_fails() -> None:
    document = plan()
    document["policy_exceptions_applied"] = [
        {
            "policy": "waf-endpoint-coverage",
            "urn": "urn:pulumi:prod::guard::guard:catalog:Product::ebook",
            "message": "endpoint ebook/cdn has no web ACL",
            "resource": "ebook",
            "reason": "CDN moves to the new distribution in December",
            "expires": "2026-12-31",
        }
    ]
    (result,) = judge(Evidence(policy="waf-endpoint-coverage"), {"prod": document}, {})
    assert result.status == FAILS
    assert result.detail == (
        "waived by guard:policy_exceptions (CDN moves to the new distribution in December)"
    )


# --- audit --------------------------------------------------------------------------------------


def test_audit_evidence_is_unchecked_without_an_audit_of_the_stack() -> None:
    evidence = Evidence(audit="missing-web-acl")
    (result,) = judge(evidence, {"prod": plan()}, {})
    assert result.status == UNCHECKED
    # An audit of another stack is not this stack's.
    (other,) = judge(evidence, {"prod": plan()}, {"staging": audit("staging")})
    assert other.status == UNCHECKED


def test_audit_evidence_fails_with_a_gap_of_its_kind() -> None:
    gaps = [("missing-web-acl", f"energy/{n}", "no web ACL is associated") for n in ("web", "api")]
    document = audit("prod", *gaps, ("no-waf-logging", "acl", "no logging"))
    (result,) = judge(Evidence(audit="missing-web-acl"), {"prod": plan()}, {"prod": document})
    assert result.status == FAILS
    assert result.detail == (
        "2 gap(s) in the audit of 2026-11-29T00:00:00+00:00: energy/web: no web ACL is "
        "associated; energy/api: no web ACL is associated"
    )


def test_audit_evidence_passes_without_a_gap_of_its_kind() -> None:
    document = audit("prod", ("no-waf-logging", "acl", "no logging"))
    (result,) = judge(Evidence(audit="missing-web-acl"), {"prod": plan()}, {"prod": document})
    assert result.status == PASSES
    assert result.detail == "no missing-web-acl gap in the audit of 2026-11-29T00:00:00+00:00"


# --- component ----------------------------------------------------------------------------------


def test_component_passes_when_declared_and_fails_when_missing() -> None:
    evidence = Evidence(component=SRT)
    (declared,) = judge(evidence, {"prod": plan()}, {})
    assert (declared.status, declared.detail) == (PASSES, "declared: srt-escalation")
    (missing,) = judge(evidence, {"prod": without(plan(), SRT)}, {})
    assert (missing.status, missing.detail) == (FAILS, f"the plan declares no {SRT}")


def test_component_names_at_most_three() -> None:
    (result,) = judge(Evidence(component="guard:waf:ProductWaf"), {"prod": plan()}, {})
    assert result.detail == "declared: corporate, ebook, energy and 1 more"


# --- a review ------------------------------------------------------------------------------------

REVIEW = """\
answers:
  wellarchitected:
    network-protection:
      selected:
        - sec_network_protection_layered
        - id: sec_network_protection_inspection
          evidence:
            - policy: waf-endpoint-coverage
            - audit: missing-web-acl
            - component: guard:waf:ProductWaf
    incident-response:
      selected:
        - id: sec_incident_response_identify_personnel
          evidence:
            - component: guard:shield:SrtEscalation
"""
TWO_STACKS = WORKLOAD.replace("stacks: [prod]", "stacks: [prod, staging]")


def test_check_evidence_lists_every_item_in_file_order(tmp_path: Path) -> None:
    checks = check_evidence(load(tmp_path, REVIEW), {"prod": plan()})
    assert [(c.question_id, c.choice_id, c.label, c.status) for c in checks] == [
        (
            "network-protection",
            "sec_network_protection_inspection",
            "policy waf-endpoint-coverage",
            PASSES,
        ),
        (
            "network-protection",
            "sec_network_protection_inspection",
            "audit missing-web-acl",
            UNCHECKED,
        ),
        (
            "network-protection",
            "sec_network_protection_inspection",
            "component guard:waf:ProductWaf",
            PASSES,
        ),
        (
            "incident-response",
            "sec_incident_response_identify_personnel",
            f"component {SRT}",
            PASSES,
        ),
    ]
    assert contradictions(checks) == []
    assert checks[1].to_json() == {
        "lens": "wellarchitected",
        "question": "network-protection",
        "choice": "sec_network_protection_inspection",
        "kind": "audit",
        "name": "missing-web-acl",
        "status": UNCHECKED,
        "stacks": [
            {
                "stack": "prod",
                "status": UNCHECKED,
                "detail": "no guard audit JSON given for this stack (--audit)",
            }
        ],
    }


@pytest.mark.parametrize("failing", ["prod", "staging"])
def test_a_failure_in_one_of_two_stacks_fails_the_check(tmp_path: Path, failing: str) -> None:
    review = load(tmp_path, REVIEW, TWO_STACKS)
    plans = {"prod": plan("prod"), "staging": plan("staging")}
    without(plans[failing], SRT)
    (check,) = [c for c in check_evidence(review, plans) if c.name == SRT]
    assert [(s.stack, s.status) for s in check.stacks] == [
        ("prod", FAILS if failing == "prod" else PASSES),
        ("staging", FAILS if failing == "staging" else PASSES),
    ]
    assert check.status == FAILS


def test_unchecked_in_one_stack_and_passing_in_the_other_is_unchecked(tmp_path: Path) -> None:
    review = load(tmp_path, REVIEW, TWO_STACKS)
    plans = {"prod": plan("prod"), "staging": plan("staging")}
    checks = check_evidence(review, plans, {"prod": audit("prod")})
    (check,) = [c for c in checks if c.kind == "audit"]
    assert [(s.stack, s.status) for s in check.stacks] == [("prod", PASSES), ("staging", UNCHECKED)]
    assert check.status == UNCHECKED


def test_contradictions_are_exactly_the_failing_checks(tmp_path: Path) -> None:
    review = load(tmp_path, REVIEW, TWO_STACKS)
    plans = {"prod": plan("prod"), "staging": without(plan("staging"), SRT)}
    plans["prod"]["policies"].append(finding("waf-endpoint-coverage"))
    audits = {"prod": audit("prod"), "staging": audit("staging")}
    checks = check_evidence(review, plans, audits)
    assert [c.status for c in checks] == [FAILS, PASSES, PASSES, FAILS]
    assert contradictions(checks) == [checks[0], checks[3]]
    assert contradictions(checks)[0].stacks[1].status == PASSES  # staging had no finding
