"""Advisory: a change that raises the monthly estimate by more than ``guard:costs.review_above``."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, Severity

from guard.costs_delta import signed_usd
from guard.diff_model import PullRequestChange
from guard.prices import money_text
from policies.framework import Meta, PullRequestPolicy

META = Meta(
    name="costs-review-above",
    description=(
        "A pull request that raises the stack's monthly cost estimate by more than "
        "guard:costs.review_above (default USD 100) needs its cost reviewed."
    ),
    severity=Severity.LOW,
    enforcement=EnforcementLevel.ADVISORY,
    remediation=(
        "check the drivers listed: protect with Shield only what needs it, share web ACLs, drop "
        "paid groups that never match; or raise guard:costs.review_above if the cost is expected."
    ),
)


def check(change: PullRequestChange) -> list[str]:
    costs = change.costs
    if costs is None or round(costs.delta, 2) <= costs.review_above:
        return []
    return [
        f"this change raises the monthly estimate by {signed_usd(costs.delta)[1:]}, above "
        f"guard:costs.review_above (USD {money_text(costs.review_above)}); drivers: "
        f"{costs.drivers_text(limit=2)}"
    ]


POLICY = PullRequestPolicy(META, check)
