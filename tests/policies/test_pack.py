"""The pack as a whole: metadata on every rule, and guard plan failing on broken stacks."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pytest
import yaml

from guard.config import load_stack_file
from guard.plan import run_program
from guard.policy_run import load_pack, run_policies
from guard.program import main
from policies import all_policies
from tests.conftest import ROOT, STACKS, TODAY


def test_every_policy_has_metadata_and_its_own_module() -> None:
    policies = all_policies()
    assert len({p.name for p in policies}) == len(policies)
    for policy in policies:
        assert (
            policy.description
            and policy.severity is not None
            and policy.enforcement_level is not None
        )
        assert policy.remediation_steps, policy.name
    modules = {p.stem for p in (ROOT / "policies" / "rules").glob("*.py") if p.stem != "__init__"}
    assert {p.name.replace("-", "_") for p in policies} == modules


def test_importing_the_pack_does_not_start_a_server() -> None:
    code = "import policies, policies.framework; policies.all_policies(); print('ok')"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == "ok"


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_example_stacks_pass_every_mandatory_policy(stack: str, example_plan: Callable) -> None:
    outcome = run_policies(example_plan(stack), load_pack(ROOT / "policies"), today=TODAY)
    assert [v for v in outcome.violations if v.mandatory] == []


def test_staging_shows_its_exceptions(example_plan: Callable) -> None:
    outcome = run_policies(example_plan("staging"), load_pack(ROOT / "policies"), today=TODAY)
    assert outcome.exceptions and all(
        e["policy"] == "waf-required-managed-groups" for e in outcome.exceptions
    )
    later = run_policies(
        example_plan("staging"),
        load_pack(ROOT / "policies"),
        today=TODAY.replace(year=2027, month=2),
    )
    assert any(v.policy == "waf-required-managed-groups" and v.mandatory for v in later.violations)
    assert any(v.policy == "policy-exceptions-valid" for v in later.violations)


def plan_with(extra: Callable[[], object]) -> list[str]:
    def program() -> None:
        main()
        extra()

    loaded = load_stack_file(STACKS / "Pulumi.prod.yaml", today=TODAY)
    outcome = run_policies(run_program(loaded, "prod", program), all_policies(), today=TODAY)
    return sorted({v.policy for v in outcome.violations if v.mandatory})


def test_iam_user_fails_the_plan() -> None:
    assert plan_with(lambda: aws.iam.User("deployer")) == ["iam-no-users-or-keys"]


def test_wildcard_trust_fails_the_plan() -> None:
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}],
    }
    # A role made outside components.iam.bounded_role also lacks the permissions boundary.
    assert plan_with(lambda: aws.iam.Role("open", assume_role_policy=json.dumps(trust))) == [
        "iam-no-wildcard-principal",
        "iam-permissions-boundary",
    ]


def test_alb_without_association_fails_the_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    # A regression in the WAF component that dropped associations must not reach a deploy.
    class NoAssociation(pulumi.CustomResource):
        def __init__(self, name: str, **_: object) -> None:
            pulumi.log.debug(f"association {name} dropped")

    monkeypatch.setattr(aws.wafv2, "WebAclAssociation", NoAssociation)
    assert plan_with(lambda: None) == ["waf-endpoint-coverage"]


def test_cli_exits_1_naming_the_policy(tmp_path: Path) -> None:
    document = yaml.safe_load((STACKS / "Pulumi.prod.yaml").read_text())
    # Drop the rate limits of the corporate product: waf-rate-based-rule must fail.
    corporate = next(p for p in document["config"]["guard:products"] if p["name"] == "corporate")
    del corporate["waf"]["rate_limits"]
    broken = tmp_path / "Pulumi.prod.yaml"
    broken.write_text(yaml.safe_dump(document, sort_keys=False))
    result = subprocess.run(
        [sys.executable, "-m", "guard", "plan", "--stack", "prod", "--config-file", str(broken)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "waf-rate-based-rule" in result.stdout and "guard-prod-corporate-alb" in result.stdout
