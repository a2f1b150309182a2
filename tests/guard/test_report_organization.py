"""The plan's organization section: read from the recorded resources, with the one-time steps'
exact commands."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import yaml

from guard.config import load_stack_file
from guard.plan import PlanResult, run_program
from guard.report_account import account_sections
from tests.conftest import ROOT, TODAY

EXAMPLE = ROOT / "examples" / "organization" / "stacks" / "Pulumi.org.yaml"


def section(plan: PlanResult) -> str:
    text = "\n".join(account_sections(plan, markdown=False))
    start = text.index("Organization (delegated administrator):")
    return text[start : text.index("\n\n", start)]


def plan_of(path: Path) -> PlanResult:
    return run_program(load_stack_file(path, today=TODAY), "org")


def test_the_section_says_what_every_account_gets() -> None:
    text = section(plan_of(EXAMPLE))
    assert (
        "ap-northeast-1  members auto-enabled: ALL; features: RUNTIME_MONITORING, S3_DATA_EVENTS"
        in text
    )
    assert "in ap-northeast-1, linking SPECIFIED_REGIONS (us-east-1)" in text
    assert "standards aws-foundational, cis-3.0" in text
    # The reason reviewers wrote, although central configuration has no field for it.
    assert "IAM.6  hardware MFA for the root user" in text
    assert "ou-abcd-11111111  associated" in text
    assert "CRITICAL, HIGH to the urgent channel, naming the account" in text
    assert "rate limit 2000 per IP per 300 s" in text
    assert "except resources tagged managed-by=guard" in text
    assert "automatic L7 mitigation ENABLED (COUNT)" in text
    assert "of 30,000 characters" in text


def test_the_one_time_commands_name_the_exact_resources(tmp_path: Path) -> None:
    plain = section(plan_of(EXAMPLE))
    assert "not declared: set guard:organization.delegation.profile" in plain
    document = yaml.safe_load(EXAMPLE.read_text())
    document["config"]["guard:organization"]["delegation"] = {"profile": "org-management"}
    path = tmp_path / "Pulumi.org.yaml"
    path.write_text(yaml.safe_dump(document))
    plan = plan_of(path)
    text = section(plan)
    (line,) = [row for row in text.splitlines() if "one-time step 1" in row]
    # The engine's URNs: every ancestor's type but the root stack's (the mocks keep one).
    chain = "guard:organization:OrganizationSecurity$guard:organization:Delegation"
    admins = [r for r in plan.resources if r.type.endswith("AdminAccount")]
    assert len(admins) == 4
    for admin in admins:
        assert f"--target 'urn:pulumi:org::guard::{chain}${admin.type}::{admin.name}'" in line
    for region in ("ap-northeast-1", "us-east-1"):
        provider = f"urn:pulumi:org::guard::pulumi:providers:aws::aws-management-{region}"
        assert f"--target {provider}" in line
    assert line.count("--target") == 6
    # Adopting what delegation enabled: one import per detector, one for the hub.
    assert text.count("pulumi import --stack org") == 3
    assert "aws:securityhub/account:Account securityhub 222222222222" in text
    parent = (
        "urn:pulumi:org::guard::guard:organization:OrganizationSecurity::guard-org-organization"
    )
    assert f"--parent guard-org-organization={parent}" in text
    assert (
        "--provider aws-us-east-1=urn:pulumi:org::guard::pulumi:providers:aws::aws-us-east-1"
        in text
    )


def test_a_stack_without_guard_organization_has_no_section(
    example_plan: Callable[[str], PlanResult],
) -> None:
    text = "\n".join(account_sections(example_plan("prod"), markdown=False))
    assert "Organization (delegated administrator)" not in text
