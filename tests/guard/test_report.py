"""What the plan shows a reviewer: Shield state per endpoint and each CI role's trusted subjects."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from guard.plan import PlanResult
from guard.report import boundary_line
from guard.report_waf import endpoint_views, shield_line


def test_shield_state_per_endpoint(example_plan: Callable[[str], PlanResult]) -> None:
    plan = example_plan("prod")
    cdn = next(v for v in endpoint_views(plan) if v.endpoint == "cdn")
    assert (
        shield_line(cdn, plan)
        == "Shield Advanced protection, DDoS alarm guard-prod-ebook-cdn-ddos (us-east-1)"
    )
    without_alarms = dataclasses.replace(
        plan,
        resources=[r for r in plan.resources if r.type != "aws:cloudwatch/metricAlarm:MetricAlarm"],
    )
    assert "NO DDoS alarm" in shield_line(cdn, without_alarms)
    unprotected = dataclasses.replace(
        plan, resources=[r for r in plan.resources if r.type != "aws:shield/protection:Protection"]
    )
    assert shield_line(cdn, unprotected) == "not protected by Shield Advanced"


def test_the_boundary_line_counts_the_roles_that_carry_it(
    example_plan: Callable[[str], PlanResult],
) -> None:
    plan = example_plan("prod")
    assert boundary_line(plan) == (
        "permissions boundary guard-prod-boundary on 11 of 11 roles; it, the pipeline roles "
        "and the OIDC providers change only by an administrator (docs/ci.md)"
    )
    first = next(r for r in plan.resources if r.type == "aws:iam/role:Role")
    unbounded = dataclasses.replace(
        first, inputs={k: v for k, v in first.inputs.items() if k != "permissionsBoundary"}
    )
    changed = dataclasses.replace(
        plan, resources=[unbounded if r is first else r for r in plan.resources]
    )
    line = boundary_line(changed)
    assert line is not None and "on 10 of 11 roles" in line
    assert boundary_line(dataclasses.replace(plan, resources=[])) is None
