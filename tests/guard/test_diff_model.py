"""Reading plan documents for ``guard diff``, and the leaf comparison the engine reports with."""

from __future__ import annotations

import pytest

from guard.diff_model import PlanDocument, PlanDocumentError, leaf_changes


@pytest.mark.parametrize(
    ("document", "words"),
    [
        ([], "not an object"),
        ({"resources": []}, "no stack"),
        ({"stack": "prod"}, "no resources"),
        ({"stack": "prod", "resources": [{"urn": "x"}]}, "a resource lacks urn, type or name"),
    ],
)
def test_a_file_that_is_not_a_plan_is_refused_with_what_it_lacks(
    document: object, words: str
) -> None:
    with pytest.raises(PlanDocumentError, match=words) as raised:
        PlanDocument.from_json(document, "old.json")
    assert str(raised.value).startswith("old.json: ")


def test_a_plan_without_annotations_reads_as_none() -> None:
    plan = PlanDocument.from_json({"stack": "prod", "resources": []})
    assert plan.annotations == {}
    assert plan.exists


def test_leaf_changes_name_each_differing_path_and_read_json_text() -> None:
    before = {"policy": '{"Statement": [{"Action": "s3:GetObject"}]}', "n": 1, "same": [1]}
    after = {"policy": '{"Statement": [{"Action": "s3:*"}]}', "n": 2, "same": [1], "new": True}
    assert leaf_changes(before, after) == [
        ("n", 1, 2),
        ("new", None, True),
        ("policy.Statement[0].Action", "s3:GetObject", "s3:*"),
    ]


def test_a_parent_chain_that_loops_ends_instead_of_hanging() -> None:
    """A hand-edited plan file may name a resource as its own ancestor."""
    looped = {"type": "guard:x:A", "name": "a", "parent": "b", "inputs": {}}
    plan = PlanDocument.from_json(
        {
            "stack": "prod",
            "resources": [
                {**looped, "urn": "a"},
                {**looped, "urn": "b", "type": "guard:x:B", "name": "b", "parent": "a"},
            ],
        }
    )
    assert plan.ancestor_types(plan.by_urn["a"]) == ["guard:x:B"]
