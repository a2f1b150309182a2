"""The diff engine: what no area's differ explains still reaches the reviewer, by URN and input
path; changes come weakening first; a new or removed stack says so; the JSON is byte-stable."""

from __future__ import annotations

import copy
import json
from typing import Any

from guard.diff import diff_documents
from guard.diff_model import PlanDocument
from tests.guard.diff_plans import only

STACK_URN = "urn:pulumi:prod::guard::pulumi:pulumi:Stack::guard-prod"
QUERY = "urn:pulumi:prod::guard::aws:ssm/parameter:Parameter::blocked"
KEY = "urn:pulumi:prod::guard::aws:kms/key:Key::logs"


def resource(urn: str, inputs: dict[str, Any], protect: bool = False) -> dict[str, Any]:
    type_token = urn.split("::")[2]
    return {
        "urn": urn,
        "type": type_token,
        "name": urn.rsplit("::", 1)[-1],
        "parent": STACK_URN,
        "region": "ap-northeast-1",
        "protect": protect,
        "inputs": inputs,
    }


BASE: dict[str, Any] = {
    "project": "guard",
    "stack": "prod",
    "resources": [
        resource(STACK_URN, {}),
        resource(QUERY, {"query": "SELECT 1", "tags": {"owner": "a"}}),
        resource(KEY, {"enableKeyRotation": True}, protect=True),
    ],
    "outputs": {},
    "warnings": [],
}


def compare(head: dict[str, Any], base: dict[str, Any] | None = None) -> Any:
    return diff_documents(
        PlanDocument.from_json(base or BASE),
        PlanDocument.from_json(head),
        base_label="base.json",
        head_label="head.json",
    )


def edited(**inputs: Any) -> dict[str, Any]:
    head = copy.deepcopy(BASE)
    head["resources"][1]["inputs"].update(inputs)
    return head


def test_a_resource_no_differ_knows_is_reported_by_urn_and_input_path() -> None:
    change = only(list(compare(edited(query="SELECT 2")).changes), path="query")
    assert change.area == "other"
    assert change.subject == "blocked (Parameter)"
    assert (change.before, change.after) == ("SELECT 1", "SELECT 2")
    # Unknown meaning: a reviewer has to look, so it counts as weakening.
    assert change.effect == "weakens"
    assert "guard does not know what this changes" in change.reason


def test_tags_are_descriptive_and_neutral() -> None:
    change = only(list(compare(edited(tags={"owner": "b"})).changes), path="tags.owner")
    assert change.effect == "neutral"


def test_a_removed_resource_weakens_and_an_added_one_is_neutral() -> None:
    head = copy.deepcopy(BASE)
    del head["resources"][1]
    removed = only(list(compare(head).changes), kind="removed")
    assert (removed.effect, removed.path) == ("weakens", QUERY)
    added = only(list(compare(BASE, base=head).changes), kind="added")
    assert added.effect == "neutral"


def test_losing_deletion_protection_weakens() -> None:
    head = copy.deepcopy(BASE)
    head["resources"][2]["protect"] = False
    change = only(list(compare(head).changes), path="protect")
    assert change.effect == "weakens"
    assert change.reason == "no longer protected from deletion"


def test_changes_come_weakening_first_then_strengthening_then_neutral() -> None:
    head = edited(query="SELECT 2", tags={"owner": "b"})
    head["resources"][2]["protect"] = False
    effects = [c.effect for c in compare(head).changes]
    assert effects == sorted(effects, key=["weakens", "strengthens", "neutral"].index)
    assert effects[0] == "weakens" and effects[-1] == "neutral"


def test_a_stack_new_at_the_head_or_gone_from_it_says_so() -> None:
    new = diff_documents(
        PlanDocument.missing("prod"), PlanDocument.from_json(BASE), base_label="a", head_label="b"
    )
    assert new.status == "new stack"
    assert [c.kind for c in new.changes] == ["added", "added"]
    gone = diff_documents(
        PlanDocument.from_json(BASE), PlanDocument.missing("prod"), base_label="a", head_label="b"
    )
    assert gone.status == "stack removed"
    assert gone.stack == "prod"
    assert {c.effect for c in gone.changes} == {"weakens"}


def test_identical_plans_are_unchanged() -> None:
    result = compare(copy.deepcopy(BASE))
    assert (result.status, result.changes) == ("unchanged", ())
    assert result.summary == {"weakens": 0, "strengthens": 0, "neutral": 0}


def test_the_json_document_is_the_documented_contract_and_byte_stable() -> None:
    head = edited(query="SELECT 2", tags={"owner": "b"})
    first = json.dumps(compare(head).to_json(), indent=2)
    second = json.dumps(compare(copy.deepcopy(head)).to_json(), indent=2)
    assert first == second
    document = json.loads(first)
    assert list(document) == [
        "stack",
        "base",
        "head",
        "status",
        "changes",
        "summary",
        "costs",
        "pull_request_policies",
    ]
    assert list(document["changes"][0]) == [
        "area",
        "subject",
        "kind",
        "path",
        "before",
        "after",
        "effect",
        "reason",
    ]
    assert document["summary"] == {"weakens": 1, "strengthens": 0, "neutral": 1}
    assert (document["base"], document["head"]) == ("base.json", "head.json")
