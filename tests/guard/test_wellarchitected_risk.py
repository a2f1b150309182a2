"""The offline risk estimate: a question is at the highest published risk level among the best
practices its answer leaves unmet (HIGH, MEDIUM, or NONE when only low ones are left)."""

from __future__ import annotations

from pathlib import Path

import pytest

from guard.wellarchitected_catalog import Question, load_catalog
from guard.wellarchitected_risk import (
    RISKS,
    QuestionRisk,
    counts_by_pillar,
    estimate,
    question_risk,
)
from tests.guard.config.test_wellarchitected import load

CATALOG = load_catalog("wellarchitected")


def question(question_id: str) -> Question:
    found = CATALOG.question(question_id)
    assert found is not None, question_id
    return found


NETWORK = question("network-protection")
TRANSIT = question("protect-data-transit")


def by_question(risks: list[QuestionRisk]) -> dict[str, QuestionRisk]:
    return {r.question.id: r for r in risks}


def test_the_catalog_levels_the_tests_rely_on() -> None:
    assert {c.id: c.risk for c in NETWORK.choices} == {
        "sec_network_protection_create_layers": "high",
        "sec_network_protection_layered": "high",
        "sec_network_protection_inspection": "medium",
        "sec_network_auto_protect": "medium",
        "sec_network_protection_no": "none",
    }
    assert {c.id: c.risk for c in TRANSIT.choices}["sec_protect_data_transit_authentication"] == (
        "low"
    )


def test_unanswered_and_not_applicable() -> None:
    assert question_risk(NETWORK, None, True) == "UNANSWERED"
    assert question_risk(NETWORK, [], True) == "UNANSWERED"  # notes only
    assert question_risk(NETWORK, None, False) == "NOT_APPLICABLE"
    assert question_risk(NETWORK, ["sec_network_protection_layered"], False) == "NOT_APPLICABLE"


@pytest.mark.parametrize(
    ("selected", "risk"),
    [
        # A high practice missing.
        (["sec_network_protection_create_layers", "sec_network_protection_inspection"], "HIGH"),
        # Every high one met, a medium one missing.
        (
            [
                "sec_network_protection_create_layers",
                "sec_network_protection_layered",
                "sec_network_protection_inspection",
            ],
            "MEDIUM",
        ),
        # Everything met.
        (
            [
                "sec_network_protection_create_layers",
                "sec_network_protection_layered",
                "sec_network_protection_inspection",
                "sec_network_auto_protect",
            ],
            "NONE",
        ),
        # "None of these": every practice is unmet, so the highest level of the question.
        (["sec_network_protection_no"], "HIGH"),
    ],
)
def test_network_protection_levels(selected: list[str], risk: str) -> None:
    assert question_risk(NETWORK, selected, True) == risk


def test_only_a_low_practice_missing_is_no_risk() -> None:
    met = ["sec_protect_data_transit_key_cert_mgmt", "sec_protect_data_transit_encrypt"]
    assert question_risk(TRANSIT, met, True) == "NONE"
    assert question_risk(TRANSIT, met[:1], True) == "HIGH"


def test_none_of_these_is_the_highest_level_of_a_question_without_high_practices() -> None:
    # Every question of the seeded catalog has a high practice; a medium-only one is built here.
    medium_only = Question(
        "q",
        "security",
        "Q?",
        tuple(c for c in NETWORK.choices if c.risk in ("medium", "none")),
    )
    assert question_risk(medium_only, ["sec_network_protection_no"], True) == "MEDIUM"


REVIEW = """\
answers:
  wellarchitected:
    network-protection:
      selected: [sec_network_protection_create_layers]
    protect-data-transit:
      selected: [sec_protect_data_transit_key_cert_mgmt, sec_protect_data_transit_encrypt]
    protect-compute:
      not_applicable:
        reason: out_of_scope
        note: No compute of our own.
    incident-response:
      selected: [sec_incident_response_no]
    application-security:
      notes: The product teams answer it.
"""


def test_estimate_of_a_review(tmp_path: Path) -> None:
    risks = estimate(load(tmp_path, REVIEW))
    assert [r.question.id for r in risks] == [q.id for q in CATALOG.questions]
    found = by_question(risks)
    assert {q: found[q].risk for q in found} == {
        "securely-operate": "UNANSWERED",
        "identities": "UNANSWERED",
        "permissions": "UNANSWERED",
        "detect-investigate-events": "UNANSWERED",
        "network-protection": "HIGH",
        "protect-compute": "NOT_APPLICABLE",
        "data-classification": "UNANSWERED",
        "protect-data-rest": "UNANSWERED",
        "protect-data-transit": "NONE",
        "incident-response": "HIGH",
        "application-security": "UNANSWERED",
    }
    # Questions without a HIGH/MEDIUM/NONE estimate have no improvement items.
    assert found["protect-compute"].improvements == ()
    assert found["securely-operate"].improvements == ()
    # Only the low practice is unmet: no improvement item.
    assert found["protect-data-transit"].improvements == ()


def test_improvement_items_are_sorted_high_first(tmp_path: Path) -> None:
    found = by_question(estimate(load(tmp_path, REVIEW)))
    network = found["network-protection"]
    assert [c.id for c in network.improvements] == [
        "sec_network_protection_layered",
        "sec_network_protection_inspection",
        "sec_network_auto_protect",
    ]
    incident = found["incident-response"]
    levels = [c.risk for c in incident.improvements]
    assert levels == sorted(levels, key=["high", "medium"].index)
    assert levels[:2] == ["high", "high"] and set(levels[2:]) == {"medium"}
    # "None of these" lists every practice of the question but itself.
    assert len(incident.improvements) == len(question("incident-response").choices) - 1
    improvements = network.to_json()["improvements"]
    assert isinstance(improvements, list)
    assert improvements[0] == {
        "choice": "sec_network_protection_layered",
        "title": "Control traffic flow within your network layers",
        "risk": "high",
        "url": "https://docs.aws.amazon.com/wellarchitected/2024-06-27/framework/"
        "sec_network_protection_layered.html",
    }


def test_improvement_items_put_a_later_high_before_an_earlier_medium(tmp_path: Path) -> None:
    # securely-operate lists a medium practice before sec_securely_operate_threat_model (high).
    review = load(
        tmp_path,
        """\
        answers:
          wellarchitected:
            securely-operate:
              selected:
                - sec_securely_operate_multi_accounts
                - sec_securely_operate_aws_account
                - sec_securely_operate_control_objectives
                - sec_securely_operate_updated_threats
        """,
    )
    operate = by_question(estimate(review))["securely-operate"]
    assert [c.id for c in operate.improvements] == [
        "sec_securely_operate_threat_model",
        "sec_securely_operate_reduce_management_scope",
        "sec_securely_operate_automate_security_controls",
    ]


def test_counts_by_pillar_includes_zeros(tmp_path: Path) -> None:
    counts = counts_by_pillar(estimate(load(tmp_path, REVIEW)))
    assert counts == {
        "wellarchitected": {
            "security": {
                "HIGH": 2,
                "MEDIUM": 0,
                "NONE": 1,
                "NOT_APPLICABLE": 1,
                "UNANSWERED": 7,
            }
        }
    }
    assert list(counts["wellarchitected"]["security"]) == list(RISKS)
    assert counts_by_pillar([]) == {}
