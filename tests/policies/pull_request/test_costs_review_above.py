"""``costs-review-above``: a pull request that raises the estimate past the threshold is flagged."""

from __future__ import annotations

from guard.diff import diff_documents
from guard.diff_render import render_text
from guard.policy_run import load_pull_request_policies
from tests.conftest import ROOT
from tests.guard.test_costs_delta import rule_price, with_rate_rules

PULL_REQUEST_POLICIES = load_pull_request_policies(ROOT / "policies")


def test_the_review_policy_is_advisory_and_fires_only_above_the_threshold() -> None:
    cheap = diff_documents(
        with_rate_rules(0, review_above=5),
        with_rate_rules(2, review_above=5),
        base_label="a",
        head_label="b",
        pull_request_policies=PULL_REQUEST_POLICIES,
    )
    assert 2 * rule_price() < 5 and cheap.findings == ()
    costly = diff_documents(
        with_rate_rules(0, review_above=1),
        with_rate_rules(2, review_above=1),
        base_label="a",
        head_label="b",
        pull_request_policies=PULL_REQUEST_POLICIES,
    )
    (finding,) = costly.findings
    assert finding["policy"] == "costs-review-above"
    assert finding["enforcement_level"] == "advisory"
    assert "above guard:costs.review_above (USD 1.00)" in finding["message"]
    assert "ADVISORY costs-review-above" in render_text(costly)
    assert costly.weakens == 0  # advisory: it never fails --fail-on weakens
    assert costly.to_json()["pull_request_policies"] == [finding]


def test_the_default_threshold_is_usd_100() -> None:
    many = diff_documents(
        with_rate_rules(0),
        with_rate_rules(0, requests_per_month={"default": 300_000_000}),
        base_label="a",
        head_label="b",
        pull_request_policies=PULL_REQUEST_POLICIES,
    )
    assert many.costs is not None and many.costs.delta > 100
    assert [f["policy"] for f in many.findings] == ["costs-review-above"]
