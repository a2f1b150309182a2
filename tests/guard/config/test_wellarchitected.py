"""The Well-Architected review file (``reviews/<workload>.yaml``): what it accepts, every error of
a file in one run with its line and key path, and the API values the sync is handed."""

from __future__ import annotations

import dataclasses
import re
import textwrap
from pathlib import Path

import pytest

from guard.cli_wellarchitected import _vocabulary
from guard.config import ConfigError, Problem
from guard.config.wellarchitected import Review, Vocabulary, load_review
from guard.wellarchitected_desired import DesiredAnswer, DesiredWorkload
from tests.conftest import ROOT

VOCABULARY = Vocabulary(
    policies=("waf-endpoint-coverage", "waf-logging-enabled", "iam-permissions-boundary"),
    audit_checks=("missing-web-acl", "no-waf-logging", "srt-role"),
    components=("guard:waf:ProductWaf", "guard:shield:SrtEscalation"),
    stacks=("prod", "staging"),
)

WORKLOAD = """\
workload:
  name: payments
  description: The payments workload
  environment: production
  regions: [ap-northeast-1, us-east-1]
  account_ids: ["111111111111"]
  review_owner: platform@example.com
  stacks: [prod]
"""

QA = ("answers", "wellarchitected")


def write_review(tmp_path: Path, answers: str, workload: str = WORKLOAD) -> Path:
    """A review file: ``workload`` then ``answers`` (YAML, dedented), in ``tmp_path``."""
    path = tmp_path / "review.yaml"
    path.write_text(workload + textwrap.dedent(answers), encoding="utf-8")
    return path


def load(tmp_path: Path, answers: str, workload: str = WORKLOAD) -> Review:
    return load_review(write_review(tmp_path, answers, workload), VOCABULARY)


def rejected(tmp_path: Path, answers: str, workload: str = WORKLOAD) -> ConfigError:
    path = write_review(tmp_path, answers, workload)
    with pytest.raises(ConfigError) as caught:
        load_review(path, VOCABULARY)
    return caught.value


def line_of(path: Path, fragment: str) -> int:
    """The 1-based line of the one line holding ``fragment`` as a word."""
    pattern = re.compile(re.escape(fragment) + r"(?![\w-])")
    text = path.read_text(encoding="utf-8")
    (index,) = [i for i, line in enumerate(text.splitlines(), 1) if pattern.search(line)]
    return index


def by_path(error: ConfigError) -> dict[tuple[str | int, ...], Problem]:
    return {p.path: p for p in error.problems}


def test_the_example_review_loads_with_the_engine_vocabulary() -> None:
    review = load_review(ROOT / "reviews" / "prod.yaml", _vocabulary(ROOT / "policies"))
    assert review.workload.name == "guard-prod"
    assert review.workload.stacks == ("prod",)
    assert set(review.catalogs) == {"wellarchitected"}
    network = review.file.answers["wellarchitected"]["network-protection"]
    evidence = network.evidence_of()["sec_network_protection_inspection"]
    assert [(e.kind, e.name) for e in evidence][2:] == [
        ("audit", "missing-web-acl"),
        ("audit", "uncovered-endpoint"),
        ("component", "guard:waf:ProductWaf"),
    ]


def test_misspelt_question_id_says_did_you_mean_with_line_and_path(tmp_path: Path) -> None:
    error = rejected(
        tmp_path,
        """\
        answers:
          wellarchitected:
            identities:
              selected: [sec_identities_unique]
            network-protectoin:
              selected: [sec_network_protection_create_layers]
        """,
    )
    (problem,) = error.problems
    assert problem.path == (*QA, "network-protectoin")
    assert "no question 'network-protectoin'" in problem.message
    assert "(did you mean network-protection?)" in problem.message
    assert problem.line == line_of(tmp_path / "review.yaml", "network-protectoin")
    assert problem.line == 13
    rendered = error.render()
    assert "review.yaml:13: answers.wellarchitected.network-protectoin: no question" in rendered


def test_misspelt_choice_id_says_did_you_mean_and_lists_the_choices(tmp_path: Path) -> None:
    error = rejected(
        tmp_path,
        """\
        answers:
          wellarchitected:
            network-protection:
              selected:
                - sec_network_protection_create_layers
                - id: sec_network_protection_inspektion
        """,
    )
    (problem,) = error.problems
    assert problem.path == (*QA, "network-protection", "selected", 1, "id")
    assert problem.value == "sec_network_protection_inspektion"
    assert problem.message.startswith(
        "not a choice of network-protection (did you mean sec_network_protection_inspection "
    )
    assert "its choices: sec_network_protection_create_layers, " in problem.message
    assert problem.line == line_of(tmp_path / "review.yaml", "sec_network_protection_inspektion")


def test_unknown_key_is_an_error_with_did_you_mean(tmp_path: Path) -> None:
    error = rejected(
        tmp_path,
        """\
        answers:
          wellarchitected:
            identities:
              selcted: [sec_identities_unique]
        """,
    )
    (problem,) = error.problems
    assert problem.path == (*QA, "identities", "selcted")
    assert problem.message == (
        "unknown key (did you mean selected?); allowed: selected, notes, not_applicable"
    )
    assert problem.line == line_of(tmp_path / "review.yaml", "selcted")


def test_every_mistake_of_a_file_is_reported_in_one_run(tmp_path: Path) -> None:
    workload = WORKLOAD.replace("environment: production", "environmnt: production")
    error = rejected(
        tmp_path,
        """\
        answers:
          wellarchitected:
            identitys:
              selected: [sec_identities_unique]
            permissions:
              selected: [sec_permissions_least_privilege]
              notes: 42
            network-protection:
              selected:
                - id: sec_network_protection_inspection
                  evidence:
                    - policy: waf-endpoint-coverag
        """,
        workload,
    )
    problems = by_path(error)
    assert set(problems) == {
        ("workload", "environmnt"),
        (*QA, "identitys"),
        (*QA, "permissions", "selected", 0),
        (*QA, "permissions", "notes"),
        (*QA, "network-protection", "selected", 0, "evidence", 0, "policy"),
    }
    # The misspelt required key is one mistake, not also "environment is missing".
    assert "did you mean environment?" in problems[("workload", "environmnt")].message
    assert "did you mean identities?" in problems[(*QA, "identitys")].message
    assert error.render().startswith(f"{tmp_path / 'review.yaml'}: 5 configuration errors\n")
    assert all(p.line for p in error.problems)


def test_unknown_evidence_names_the_allowed_ones(tmp_path: Path) -> None:
    error = rejected(
        tmp_path,
        """\
        answers:
          wellarchitected:
            network-protection:
              selected:
                - id: sec_network_protection_inspection
                  evidence:
                    - policy: waf-endpoint-coverag
                    - audit: missing-webacl
                    - component: guard:waf:Waf
        """,
    )
    base = (*QA, "network-protection", "selected", 0, "evidence")
    problems = by_path(error)
    assert set(problems) == {(*base, 0, "policy"), (*base, 1, "audit"), (*base, 2, "component")}
    policy = problems[(*base, 0, "policy")]
    assert policy.value == "waf-endpoint-coverag"
    assert policy.message == (
        "unknown policy (did you mean waf-endpoint-coverage?); the pack's policies: "
        "waf-endpoint-coverage, waf-logging-enabled, iam-permissions-boundary"
    )
    audit = problems[(*base, 1, "audit")].message
    assert "did you mean missing-web-acl?" in audit
    assert audit.endswith("missing-web-acl, no-waf-logging, srt-role")
    component = problems[(*base, 2, "component")].message
    assert component.endswith("guard:waf:ProductWaf, guard:shield:SrtEscalation")
    assert problems[(*base, 1, "audit")].line == line_of(tmp_path / "review.yaml", "missing-webacl")


def test_stack_not_in_the_vocabulary_is_an_error(tmp_path: Path) -> None:
    workload = WORKLOAD.replace("stacks: [prod]", "stacks: [prod, prd]")
    error = rejected(tmp_path, "answers: {}\n", workload)
    (problem,) = error.problems
    assert problem.path == ("workload", "stacks", 1)
    assert problem.value == "prd"
    assert problem.message == "no such stack (did you mean prod?); the stacks: prod, staging"


def test_none_of_these_with_another_choice_is_an_error(tmp_path: Path) -> None:
    error = rejected(
        tmp_path,
        """\
        answers:
          wellarchitected:
            network-protection:
              selected: [sec_network_protection_no, sec_network_protection_layered]
        """,
    )
    (problem,) = error.problems
    assert problem.path == (*QA, "network-protection", "selected")
    assert problem.message == (
        "sec_network_protection_no (None of these) cannot be selected with other choices"
    )
    # Alone it is a valid answer.
    alone = load(
        tmp_path,
        """\
        answers:
          wellarchitected:
            network-protection:
              selected: [sec_network_protection_no]
        """,
    )
    assert alone.desired_answers()[0].selected == ("sec_network_protection_no",)


def test_not_applicable_with_selected_choices_is_an_error(tmp_path: Path) -> None:
    error = rejected(
        tmp_path,
        """\
        answers:
          wellarchitected:
            protect-compute:
              selected: [sec_protect_compute_hardened_images]
              not_applicable:
                reason: out_of_scope
                note: No compute of our own.
        """,
    )
    (problem,) = error.problems
    assert problem.path == (*QA, "protect-compute")
    assert problem.message.startswith("a question that does not apply has no selected choices")
    assert problem.line == line_of(tmp_path / "review.yaml", "protect-compute")


def test_evidence_naming_two_kinds_is_an_error(tmp_path: Path) -> None:
    error = rejected(
        tmp_path,
        """\
        answers:
          wellarchitected:
            network-protection:
              selected:
                - id: sec_network_protection_inspection
                  evidence:
                    - policy: waf-endpoint-coverage
                      audit: missing-web-acl
        """,
    )
    (problem,) = error.problems
    assert problem.path == (*QA, "network-protection", "selected", 0, "evidence", 0)
    assert problem.message.startswith("name exactly one of policy")
    assert problem.line == line_of(tmp_path / "review.yaml", "policy")


def test_a_choice_selected_twice_is_an_error(tmp_path: Path) -> None:
    error = rejected(
        tmp_path,
        """\
        answers:
          wellarchitected:
            network-protection:
              selected:
                - sec_network_protection_layered
                - id: sec_network_protection_layered
                  evidence: [{policy: waf-endpoint-coverage}]
        """,
    )
    (problem,) = error.problems
    assert problem.path == (*QA, "network-protection", "selected", 1, "id")
    assert (problem.message, problem.value) == ("selected twice", "sec_network_protection_layered")


def test_a_lens_answered_but_not_listed_is_an_error(tmp_path: Path) -> None:
    error = rejected(
        tmp_path,
        """\
        answers:
          wellarchitectd:
            network-protection:
              selected: [sec_network_protection_layered]
        """,
    )
    (problem,) = error.problems
    assert problem.path == ("answers", "wellarchitectd")
    assert problem.message == (
        "answers a lens the workload does not list (did you mean wellarchitected?); "
        "workload.lenses: wellarchitected"
    )
    assert problem.line == line_of(tmp_path / "review.yaml", "wellarchitectd")


def test_desired_workload_and_answers_are_the_apis_values(tmp_path: Path) -> None:
    review = load(
        tmp_path,
        """\
        answers:
          wellarchitected:
            network-protection:
              selected:
                - sec_network_protection_layered
                - id: sec_network_protection_create_layers
                  evidence: [{component: guard:waf:ProductWaf}]
              notes: "  WAF on every ALB.  "
            protect-compute:
              not_applicable:
                reason: out_of_scope
                note: No compute of our own.
            application-security:
              not_applicable:
                reason: business_priorities
                note: Later.
        """,
    )
    assert review.desired_workload() == DesiredWorkload(
        name="payments",
        description="The payments workload",
        environment="PRODUCTION",
        account_ids=("111111111111",),
        regions=("ap-northeast-1", "us-east-1"),
        lenses=("wellarchitected",),
        review_owner="platform@example.com",
    )
    assert review.desired_answers() == [
        DesiredAnswer(
            "wellarchitected",
            "network-protection",
            ("sec_network_protection_create_layers", "sec_network_protection_layered"),
            "WAF on every ALB.",
            True,
            None,
        ),
        DesiredAnswer(
            "wellarchitected",
            "protect-compute",
            (),
            "No compute of our own.",
            False,
            "OUT_OF_SCOPE",
        ),
        DesiredAnswer(
            "wellarchitected", "application-security", (), "Later.", False, "BUSINESS_PRIORITIES"
        ),
    ]


def test_preproduction_and_tool_region(tmp_path: Path) -> None:
    review = load(tmp_path, "answers: {}\n")
    assert review.tool_region == "ap-northeast-1"  # the first of regions
    workload = WORKLOAD.replace("production", "preproduction") + "  tool_region: us-east-1\n"
    other = load(tmp_path, "answers: {}\n", workload)
    assert other.desired_workload().environment == "PREPRODUCTION"
    assert other.tool_region == "us-east-1"
    assert other.desired_answers() == []


@pytest.mark.parametrize("key", ["lenses", "stacks", "regions"])
def test_a_workload_list_names_each_value_once(tmp_path: Path, key: str) -> None:
    value = {"lenses": "wellarchitected", "stacks": "prod", "regions": "us-east-1"}[key]
    written = {
        "lenses": ("  stacks: [prod]\n", "  stacks: [prod]\n  lenses: [{v}, {v}]\n"),
        "stacks": ("  stacks: [prod]\n", "  stacks: [{v}, {v}]\n"),
        "regions": ("  regions: [ap-northeast-1, us-east-1]\n", "  regions: [{v}, {v}]\n"),
    }[key]
    workload = WORKLOAD.replace(written[0], written[1].format(v=value))
    error = rejected(tmp_path, "answers: {}\n", workload)
    (problem,) = error.problems
    assert problem.path == ("workload",)
    assert problem.message == f"{key} lists {value} more than once"


def test_none_of_these_selected_twice_is_only_a_repeat(tmp_path: Path) -> None:
    error = rejected(
        tmp_path,
        """\
        answers:
          wellarchitected:
            network-protection:
              selected: [sec_network_protection_no, sec_network_protection_no]
        """,
    )
    assert [p.message for p in error.problems] == ["selected twice"]


def test_a_blank_not_applicable_note_is_refused(tmp_path: Path) -> None:
    error = rejected(
        tmp_path,
        """\
        answers:
          wellarchitected:
            protect-compute:
              not_applicable: {reason: out_of_scope, note: "     "}
        """,
    )
    (problem,) = error.problems
    assert problem.path == (*QA, "protect-compute", "not_applicable", "note")


def test_errors_are_listed_in_the_file_s_order(tmp_path: Path) -> None:
    workload = WORKLOAD.replace("stacks: [prod]", "stacks: [prd]")
    error = rejected(
        tmp_path,
        """\
        answers:
          wellarchitected:
            network-protectoin:
              selected: [x]
            protect-compute:
              notes: 12
        """,
        workload,
    )
    lines = [p.line or 0 for p in error.problems]
    assert len(lines) == 3
    assert lines == sorted(lines)
    assert error.problems[0].path == ("workload", "stacks", 0)


def test_a_tool_region_without_the_tool_is_an_error(tmp_path: Path) -> None:
    vocabulary = _vocabulary(ROOT / "policies")
    assert "ap-northeast-1" in vocabulary.tool_regions
    path = write_review(tmp_path, "answers: {}\n", WORKLOAD + "  tool_region: ap-northeast-3\n")
    with pytest.raises(ConfigError) as caught:
        load_review(path, dataclasses.replace(vocabulary, stacks=("prod",)))
    (problem,) = caught.value.problems
    assert problem.path == ("workload", "tool_region")
    assert problem.value == "ap-northeast-3"
    assert "the Well-Architected Tool is not offered in ap-northeast-3" in problem.message
    assert problem.line == line_of(path, "ap-northeast-3")
