"""The README documents what users rely on: every policy, and the two commands it starts with."""

from __future__ import annotations

import re

from policies import all_policies, all_pull_request_policies
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text()
POLICY_TABLE = README.split("<!-- policy-table -->", 1)[1].split("<!-- /policy-table -->", 1)[0]


def test_every_policy_is_in_the_readme_table_with_its_level_and_severity() -> None:
    rows = {
        m["name"]: (m["level"], m["severity"])
        for m in re.finditer(
            r"^\| `(?P<name>[a-z0-9-]+)` \| (?P<level>\w+) \| (?P<severity>\w+) \|",
            POLICY_TABLE,
            re.M,
        )
    }
    for policy in all_policies():
        assert policy.enforcement_level is not None and policy.severity is not None
        level, severity = policy.enforcement_level.value, policy.severity.value
        assert rows.get(policy.name) == (level, severity), policy.name
    assert set(rows) == {p.name for p in all_policies()}


def test_every_pull_request_policy_is_in_its_readme_table() -> None:
    table = README.split("<!-- pull-request-policy-table -->", 1)[1].split("<!-- /", 1)[0]
    rows = {
        m["name"]: (m["level"], m["severity"])
        for m in re.finditer(
            r"^\| `(?P<name>[a-z0-9-]+)` \| (?P<level>\w+) \| (?P<severity>\w+) \|", table, re.M
        )
    }
    expected = {
        p.name: (p.meta.enforcement.value, p.meta.severity.value)
        for p in all_pull_request_policies()
    }
    assert rows == expected and expected


def test_readme_starts_with_the_setup_and_test_commands() -> None:
    first_block = README.split("```sh", 1)[1].split("```", 1)[0]
    assert "guard plan --stack prod" in first_block
    assert "pytest" in first_block
