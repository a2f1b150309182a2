"""Tests of guard.wellarchitected_catalog: the committed catalog, parsing, errors and the layout."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from guard import wellarchitected_catalog as wac
from guard.wellarchitected_catalog import (
    NONE_TITLE,
    RISK_LEVELS,
    Catalog,
    CatalogError,
    Choice,
    Pillar,
    Question,
    available_lenses,
    catalog_path,
    dump_catalog,
    load_catalog,
    load_catalog_file,
    parse_catalog,
    split_header,
)

DOCS = "https://docs.aws.amazon.com/wellarchitected/2024-06-27/framework/"
SECURITY_QUESTIONS = (
    "securely-operate",
    "identities",
    "permissions",
    "detect-investigate-events",
    "network-protection",
    "protect-compute",
    "data-classification",
    "protect-data-rest",
    "protect-data-transit",
    "incident-response",
    "application-security",
)


@pytest.fixture
def committed() -> Catalog:
    return load_catalog("wellarchitected")


@pytest.fixture
def document() -> dict[str, Any]:
    """The committed file as plain YAML data, to break in tests."""
    return yaml.safe_load(catalog_path("wellarchitected").read_text(encoding="utf-8"))


@pytest.fixture
def uncached() -> Iterator[None]:
    load_catalog.cache_clear()
    yield
    load_catalog.cache_clear()


# --- the committed catalog ----------------------------------------------------------------------


def test_committed_catalog_is_the_unconfirmed_security_seed(committed: Catalog) -> None:
    assert committed.lens == "wellarchitected"
    assert committed.lens_version == "2024-06-27"
    assert committed.confirmed is False
    assert committed.pillars == (Pillar("security", "Security"),)
    assert tuple(q.id for q in committed.questions) == SECURITY_QUESTIONS
    assert [q.title.split(".")[0] for q in committed.questions] == [
        f"SEC {n}" for n in range(1, 12)
    ]
    assert {q.pillar for q in committed.questions} == {"security"}
    assert sum(len(q.choices) for q in committed.questions) == 63 + 11


def test_committed_catalog_round_trips_byte_for_byte() -> None:
    """The file is in the layout dump_catalog writes, so a refresh diff shows only real changes."""
    path = catalog_path("wellarchitected")
    text = path.read_text(encoding="utf-8")
    catalog = load_catalog_file(path)
    assert dump_catalog(catalog, split_header(text)) == text
    assert split_header(text).startswith("# ")
    assert "NOT CONFIRMED" in split_header(text)


def test_every_question_has_one_none_choice_last(committed: Catalog) -> None:
    for question in committed.questions:
        none_id = question.none_choice
        assert none_id is not None, question.id
        none = question.choice(none_id)
        assert none is not None
        assert (none.title, none.risk, none.url) == (NONE_TITLE, "none", None)
        assert question.choices[-1] == none
        assert sum(c.title == NONE_TITLE for c in question.choices) == 1


def test_ids_are_unique_across_the_catalog(committed: Catalog) -> None:
    question_ids = [q.id for q in committed.questions]
    choice_ids = [c.id for q in committed.questions for c in q.choices]
    assert len(set(question_ids)) == len(question_ids)
    assert len(set(choice_ids)) == len(choice_ids)


def test_best_practices_have_a_known_risk_and_their_2024_06_27_page(committed: Catalog) -> None:
    for number, question in enumerate(committed.questions, start=1):
        assert question.source == f"{DOCS}sec-{number:02d}.html"
        for choice in question.choices:
            if choice.title == NONE_TITLE:
                continue
            assert choice.risk in ("high", "medium", "low"), choice.id
            assert choice.url == f"{DOCS}{choice.id}.html"
            assert choice.id.startswith("sec_")


def test_lookups(committed: Catalog) -> None:
    network = committed.question("network-protection")
    assert network is not None
    assert network.title == "SEC 5. How do you protect your network resources?"
    assert network.none_choice == "sec_network_protection_no"
    layers = network.choice("sec_network_protection_create_layers")
    assert layers is not None and layers.risk == "high"
    assert network.choice("sec_detect_investigate_events_app_service_logging") is None
    assert committed.question("no-such-question") is None
    assert committed.pillar_name("security") == "Security"
    assert committed.pillar_name("reliability") == "reliability"
    logging = committed.question("detect-investigate-events")
    assert logging is not None
    assert logging.choice("sec_detect_investigate_events_app_service_logging") is not None


def test_load_catalog_is_cached(committed: Catalog) -> None:
    assert load_catalog("wellarchitected") is committed
    lenses = available_lenses()
    assert "wellarchitected" in lenses
    assert lenses == sorted(lenses)


# --- errors -------------------------------------------------------------------------------------


def test_missing_lens_names_the_lenses_there_are_and_the_script() -> None:
    with pytest.raises(CatalogError) as caught:
        load_catalog("serverless")
    have = ", ".join(available_lenses())
    assert "wellarchitected" in have
    assert str(caught.value) == (
        f"no catalog for lens serverless (have: {have}); "
        "run scripts/refresh_wellarchitected_catalog.py --lens serverless"
    )


def test_a_lens_that_is_not_a_file_name_has_no_catalog() -> None:
    with pytest.raises(CatalogError, match=r"^no catalog for lens \.\./wellarchitected \(have"):
        load_catalog("../wellarchitected")


def test_malformed_document_reports_every_problem_with_its_location(
    document: dict[str, Any],
) -> None:
    broken = copy.deepcopy(document)
    broken["owner"] = "someone"
    del broken["source"]
    broken["lens_version"] = yaml.safe_load("2024-06-27")  # a date: the file must quote it
    questions = broken["pillars"][0]["questions"]
    questions[4]["choices"][0]["risk"] = "critical"
    questions[4]["choices"][1]["id"] = questions[4]["choices"][0]["id"]
    questions[4]["choices"][2]["links"] = []
    questions[5]["id"] = questions[0]["id"]
    del questions[6]["title"]
    last = len(questions[7]["choices"]) - 1
    questions[7]["choices"][last]["risk"] = "low"
    broken["pillars"].append({"id": "security", "name": "Again", "questions": questions[:1]})

    with pytest.raises(CatalogError) as caught:
        parse_catalog(broken, "catalog.yaml")
    problems = caught.value.problems
    assert str(caught.value).startswith(
        f"catalog.yaml: malformed Well-Architected catalog ({len(problems)} problems):"
    )
    expected = [
        "owner: unknown key; expected one of: lens, lens_version, confirmed, source, pillars",
        "lens_version: must be non-empty text (quote it), got date",
        "source: is required",
        "pillars[0].questions[4].choices[0].risk: must be one of high, medium, low, none, "
        "unknown, got 'critical'",
        "pillars[0].questions[4].choices[1].id: duplicate choice "
        "'sec_network_protection_create_layers' (also choices[0])",
        "pillars[0].questions[4].choices[2].links: unknown key; expected one of: id, title, "
        "risk, url",
        "pillars[0].questions[5].id: duplicate question 'securely-operate' "
        "(also pillars[0].questions[0])",
        "pillars[0].questions[6].title: is required",
        f"pillars[0].questions[7].choices[{last}].risk: is 'none' exactly for the "
        "'None of these' choice, got 'low' for 'None of these'",
        "pillars[1].id: duplicate pillar 'security' (also pillars[0])",
        "pillars[1].questions[0].id: duplicate question 'securely-operate' "
        "(also pillars[0].questions[0])",
    ]
    assert sorted(problems) == sorted(expected)
    for problem in expected:
        assert f"  - {problem}" in str(caught.value)


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        (
            None,
            "must be a mapping with keys lens, lens_version, confirmed, source, pillars; got nothing",
        ),
        ({}, "is empty; expected keys lens, lens_version, confirmed, source, pillars"),
        (
            {
                "lens": "Well Architected",
                "lens_version": "1",
                "confirmed": "no",
                "source": "x",
                "pillars": [],
            },
            "lens: must be a lens alias: lowercase letters, digits, '-' and '_'",
        ),
        (
            {"lens": "x", "lens_version": "1", "confirmed": "no", "source": "x", "pillars": []},
            "confirmed: is required: true or false, got str",
        ),
        (
            {"lens": "x", "lens_version": "1", "confirmed": True, "source": "a\nb", "pillars": []},
            "source: must be one line without leading or trailing spaces",
        ),
        (
            {"lens": "x", "lens_version": "1", "confirmed": True, "source": "x", "pillars": []},
            "pillars: must be a non-empty list of pillars, got list",
        ),
        (
            {
                "lens": "x",
                "lens_version": "1",
                "confirmed": True,
                "source": "x",
                "pillars": [{"id": "p", "name": "P", "questions": [{"id": "q", "title": "Q"}]}],
            },
            "pillars[0].questions[0].choices: is required: a non-empty list of choices",
        ),
    ],
)
def test_malformed_shapes(document: Any, problem: str) -> None:
    with pytest.raises(CatalogError) as caught:
        parse_catalog(document, "x.yaml")
    assert problem in caught.value.problems


def test_two_none_choices_are_rejected() -> None:
    document = {
        "lens": "x",
        "lens_version": "1",
        "confirmed": True,
        "source": "s",
        "pillars": [
            {
                "id": "p",
                "name": "P",
                "questions": [
                    {
                        "id": "q",
                        "title": "Q",
                        "choices": [
                            {"id": "a_no", "title": NONE_TITLE, "risk": "none"},
                            {"id": "b_no", "title": NONE_TITLE, "risk": "none"},
                        ],
                    }
                ],
            }
        ],
    }
    with pytest.raises(CatalogError) as caught:
        parse_catalog(document, "x.yaml")
    assert caught.value.problems == (
        "pillars[0].questions[0].choices: has more than one 'None of these' choice",
    )


def test_duplicate_yaml_keys_and_bad_yaml_name_the_file(tmp_path: Path) -> None:
    duplicate = tmp_path / "dup.yaml"
    duplicate.write_text("lens: a\nlens: b\n", encoding="utf-8")
    with pytest.raises(
        CatalogError, match=rf"^{duplicate}: not valid YAML: .*duplicate key 'lens'"
    ):
        load_catalog_file(duplicate)
    missing = tmp_path / "missing.yaml"
    with pytest.raises(CatalogError, match=rf"^{missing}: cannot read the catalog"):
        load_catalog_file(missing)


def test_a_file_for_another_lens_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, uncached: None
) -> None:
    text = catalog_path("wellarchitected").read_text(encoding="utf-8")
    monkeypatch.setattr(wac, "CATALOG_DIR", tmp_path)
    (tmp_path / "serverless.yaml").write_text(text, encoding="utf-8")
    assert available_lenses() == ["serverless"]
    with pytest.raises(
        CatalogError,
        match=r"lens: is 'wellarchitected', but the file is the catalog of lens 'serverless'",
    ):
        load_catalog("serverless")


# --- the layout ---------------------------------------------------------------------------------


TRICKY = ("yes", "1.0", "a: b", "#x", "- item", "it's", "[x]", "null", 'quote "me"', "ü é")


def tricky_catalog() -> Catalog:
    best_practices = [
        Choice(f"c{i}", text, "unknown", f"https://example.com/{i}#{text}" if i % 2 else None)
        for i, text in enumerate(TRICKY)
    ]
    choices = (*best_practices, Choice("c_no", NONE_TITLE, "none"))
    return Catalog(
        lens="custom-lens",
        lens_version="2024-06-27",
        confirmed=True,
        source="API: GetLensReview, ListAnswers (us-east-1) # not a comment",
        pillars=(Pillar("p1", "Yes"), Pillar("p2", "Two: second")),
        questions=(
            Question("q1", "p1", "Q1. What: is it?", choices, None),
            Question("q2", "p2", "true", choices[:1], "https://example.com/q2"),
        ),
    )


def test_dump_then_parse_gives_the_same_catalog_for_tricky_text() -> None:
    catalog = tricky_catalog()
    text = dump_catalog(catalog, "# header\n")
    assert parse_catalog(yaml.safe_load(text), "t.yaml") == catalog
    assert 'lens_version: "2024-06-27"' in text
    assert 'title: "a: b"' in text
    assert "title: it's" in text
    assert "    name: Yes" not in text and '    name: "Yes"' in text
    assert text.startswith("# header\n\nlens: custom-lens\n")
    # A second dump of the parsed catalog is the same text.
    assert dump_catalog(parse_catalog(yaml.safe_load(text), "t.yaml"), split_header(text)) == text


def test_dump_without_url_or_source_omits_the_keys() -> None:
    text = dump_catalog(tricky_catalog(), "")
    assert text.startswith("lens: custom-lens\n")
    q1 = text.split("      - id: q2")[0]
    assert "        source:" not in q1
    assert "            url:" in q1
    none_block = q1.split("          - id: c_no\n")[1].split("  - id: p2\n")[0]
    assert none_block == "            title: None of these\n            risk: none\n"


def test_dump_makes_header_lines_comments() -> None:
    text = dump_catalog(tricky_catalog(), "first line\n# second\n\nlast\n")
    assert split_header(text) == "# first line\n# second\n#\n# last\n"


def test_dump_refuses_a_question_in_an_unlisted_pillar() -> None:
    catalog = tricky_catalog()
    orphan = Catalog(
        catalog.lens,
        catalog.lens_version,
        catalog.confirmed,
        catalog.source,
        catalog.pillars[:1],
        catalog.questions,
    )
    with pytest.raises(ValueError, match="question q2 is in pillar 'p2', not listed"):
        dump_catalog(orphan, "")


def test_risk_levels_are_the_contract() -> None:
    assert RISK_LEVELS == ("high", "medium", "low", "none", "unknown")
