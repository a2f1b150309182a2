"""detection-managed-by-organization: a member stack's "the organization enables detection here"
is true of an organization stack planned from the same stacks directory, or carries a reviewed
exception."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from guard.cli_plan import plan_stack
from guard.config.loader import STACKS_DIR_VARIABLE
from guard.organization_coverage import coverage, organization_stacks
from tests.conftest import ROOT, TODAY

EXAMPLE = ROOT / "examples" / "organization"
POLICY = "detection-managed-by-organization"


@pytest.fixture
def repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the organization example (stacks/ and defaults/), as GUARD_STACKS_DIR."""
    shutil.copytree(EXAMPLE, tmp_path / "organization")
    stacks = tmp_path / "organization" / "stacks"
    monkeypatch.setenv(STACKS_DIR_VARIABLE, str(stacks))
    monkeypatch.chdir(ROOT)  # the policy pack is ./policies
    return stacks


def edit(path: Path, change: Callable[[dict[str, Any]], None]) -> None:
    document = yaml.safe_load(path.read_text())
    change(document["config"])
    path.write_text(yaml.safe_dump(document))


def findings(stack: str) -> list[str]:
    plan = plan_stack(stack, config_file=None, policy_pack=ROOT / "policies", today=TODAY)
    return [v.message for v in plan.outcome.violations if v.policy == POLICY]


def test_members_beside_the_organization_stack_pass(repository: Path) -> None:
    assert findings("shop-prod") == []
    assert findings("ebook-prod") == []


def test_a_member_without_an_organization_stack_fails(repository: Path) -> None:
    (repository / "Pulumi.org.yaml").unlink()
    (message,) = findings("shop-prod")
    assert "no organization stack enables GuardDuty and Security Hub" in message
    assert "444444444444 in ap-northeast-1" in message


def test_a_member_outside_the_organizations_regions_fails(repository: Path) -> None:
    def move(config: dict[str, Any]) -> None:
        config["aws:region"] = "eu-west-1"
        for product in config["guard:products"]:
            for endpoint in product["endpoints"]:
                endpoint["arn"] = endpoint["arn"].replace("ap-northeast-1", "eu-west-1")

    edit(repository / "Pulumi.shop-prod.yaml", move)
    (message,) = findings("shop-prod")
    assert "org runs detection in ap-northeast-1, us-east-1, not eu-west-1" in message


def test_a_member_not_targeted_by_security_hub_fails(repository: Path) -> None:
    def only_the_shop(config: dict[str, Any]) -> None:
        config["guard:organization"]["security_hub"]["targets"] = [{"account": "444444444444"}]

    edit(repository / "Pulumi.org.yaml", only_the_shop)
    assert findings("shop-prod") == []
    (message,) = findings("ebook-prod")
    assert "Security Hub targets do not include 555555555555" in message


def test_a_reviewed_exception_waives_it(repository: Path) -> None:
    (repository / "Pulumi.org.yaml").unlink()

    def waive(config: dict[str, Any]) -> None:
        config["guard:policy_exceptions"] = [
            {
                "policy": POLICY,
                "resource": "*",
                "reason": "the organization stack lands next week",
                "expires": "2026-12-20",
            }
        ]

    edit(repository / "Pulumi.shop-prod.yaml", waive)
    plan = plan_stack("shop-prod", config_file=None, policy_pack=ROOT / "policies", today=TODAY)
    assert not [v for v in plan.outcome.violations if v.policy == POLICY]
    assert [e["policy"] for e in plan.outcome.exceptions] == [POLICY]


def test_ou_membership_is_assumed_and_said(repository: Path) -> None:
    (found,) = organization_stacks(repository)
    result = coverage("999999999999", "us-east-1", [found])
    assert result.stack == "org"
    assert result.assumed is not None and "ou-abcd-11111111" in result.assumed


def test_the_management_account_is_not_auto_enabled(repository: Path) -> None:
    (found,) = organization_stacks(repository)
    result = coverage("333333333333", "ap-northeast-1", [found])
    assert result.stack is None
    assert "management account" in result.gaps[0]


def test_an_organization_that_auto_enables_no_one_covers_no_one(repository: Path) -> None:
    def none(config: dict[str, Any]) -> None:
        config["guard:organization"]["guardduty"]["auto_enable"] = "none"

    edit(repository / "Pulumi.org.yaml", none)
    (message,) = findings("shop-prod")
    assert "does not auto-enable GuardDuty" in message


def test_a_member_may_leave_its_findings_to_the_organizations_channel(repository: Path) -> None:
    def no_routes(config: dict[str, Any]) -> None:
        del config["guard:defaults"]
        config["guard:detection"] = {"managed_by": "organization"}

    edit(repository / "Pulumi.ebook-prod.yaml", no_routes)
    plan = plan_stack("ebook-prod", config_file=None, policy_pack=ROOT / "policies", today=TODAY)
    assert not plan.outcome.failed
    types = {r.type for r in plan.result.resources}
    # No alert routes and no finding rules: the organization stack announces this account's.
    assert "aws:sns/topic:Topic" not in types
    assert "aws:cloudwatch/eventRule:EventRule" not in types
    assert "aws:guardduty/detector:Detector" not in types
