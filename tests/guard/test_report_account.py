"""The account-level plan sections: what a reviewer reads about detection, alerts, logs, Shield
and CI, taken from the recorded resources of the fixture stacks (and variations of them)."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

import pytest

from guard import resource_types as rt
from guard.plan import PlanResult, ResourceRecord, run_program
from guard.report_account import account_sections, pattern_summary
from guard.report_sections import COLLAPSE_OVER
from tests.conftest import load

Plan = Callable[[str], PlanResult]
SLACK = {"workspace_id": "T0EXAMPLE1", "normal_channel": "C0NORM", "urgent_channel": "C0URG"}


def text(plan: PlanResult) -> str:
    return "\n".join(account_sections(plan, markdown=False))


def markdown(plan: PlanResult) -> str:
    return "\n".join(account_sections(plan, markdown=True))


def section(output: str, title: str) -> str:
    """One text section: from its title line to the blank line that ends it."""
    start = output.index(f"\n{title}:\n" if not output.startswith(f"{title}:") else f"{title}:")
    return output[start:].strip("\n").split("\n\n", 1)[0]


def edited(
    plan: PlanResult, type_token: str, change: Callable[[ResourceRecord], ResourceRecord | None]
) -> PlanResult:
    """The plan with each resource of a type replaced by ``change`` (None drops it)."""
    resources = []
    for record in plan.resources:
        kept = change(record) if record.type == type_token else record
        if kept is not None:
            resources.append(kept)
    return dataclasses.replace(plan, resources=resources)


def with_inputs(**inputs: Any) -> Callable[[ResourceRecord], ResourceRecord]:
    return lambda r: dataclasses.replace(r, inputs={**r.inputs, **inputs})


# --- GuardDuty and Security Hub --------------------------------------------------------------


def test_guardduty_shows_the_frequency_and_every_feature(example_plan: Plan) -> None:
    prod = section(text(example_plan("prod")), "GuardDuty")
    assert "  finding publishing frequency  FIFTEEN_MINUTES" in prod
    assert "  features (6):" in prod
    assert "RUNTIME_MONITORING      ENABLED (EKS_ADDON_MANAGEMENT ENABLED," in prod
    assert "finding publishing frequency  ONE_HOUR" in text(example_plan("staging"))


def test_guardduty_follows_the_resource_not_the_stack_file(example_plan: Plan) -> None:
    # The config of prod says FIFTEEN_MINUTES; what the program declares is what counts.
    plan = edited(
        example_plan("prod"), rt.DETECTOR, with_inputs(findingPublishingFrequency="SIX_HOURS")
    )
    assert "finding publishing frequency  SIX_HOURS" in text(plan)
    assert "FIFTEEN_MINUTES" not in text(plan)
    dropped = edited(example_plan("prod"), rt.DETECTOR_FEATURE, lambda r: None)
    assert "features                      none declared by this stack" in text(dropped)


def test_security_hub_lists_standards_and_disabled_controls_with_reasons(
    example_plan: Plan,
) -> None:
    hub = section(text(example_plan("prod")), "Security Hub")
    assert "AWS default standards off" in hub
    assert "    aws-foundational  AWS Foundational Security Best Practices v1.0.0" in hub
    assert "    cis-3.0           CIS AWS Foundations Benchmark v3.0.0" in hub
    assert (
        "    IAM.6  disabled in aws-foundational, cis-3.0: "
        "hardware MFA for root is held by the organisation"
    ) in hub


def test_a_control_reason_missing_from_the_resource_comes_from_the_stack_file_and_says_so(
    example_plan: Plan,
) -> None:
    plan = edited(example_plan("prod"), rt.CONTROL, with_inputs(updatedReason=None))
    assert (
        "IAM.6  disabled in aws-foundational, cis-3.0: hardware MFA for root is held by the "
        "organisation (from the stack file; not sent to AWS)"
    ) in text(plan)


# --- alert routes ----------------------------------------------------------------------------


def test_alert_routes_say_which_findings_reach_which_slack_channel(example_plan: Plan) -> None:
    routes = section(text(example_plan("prod")), "Alert routes")
    assert "guard-prod-urgent  workspace T0EXAMPLE1, channel C0URGENT01, from " in routes
    assert "from guard-prod-alerts-urgent (ap-northeast-1, us-east-1)" in routes
    assert (
        "GuardDuty: severity >= 7; resource.resourceType Instance -> guard-prod-alerts-urgent "
        "(ap-northeast-1) and Slack C0URGENT01"
    ) in routes
    assert (
        "GuardDuty: severity >= 4 and < 7; resource.resourceType Instance -> "
        "guard-prod-alerts-normal"
    ) in routes
    assert "resource.resourceType not Instance or AccessKey or S3Bucket" in routes
    # Trusted Advisor's rule reaches the topic through its formatter function.
    assert (
        "Trusted Advisor: status ERROR or WARN -> function guard-prod-trusted-advisor -> "
        "guard-prod-alerts-normal (us-east-1) and Slack C0NORMAL01"
    ) in routes
    assert "Security Hub: Severity.Label CRITICAL or HIGH;" in routes
    assert 'ProductArn not suffix "::product/aws/guardduty"' in routes


def test_email_subscribers_are_listed_where_they_exist(example_plan: Plan) -> None:
    prod = section(text(example_plan("prod")), "Alert routes")
    assert "email secops@example.com          on guard-prod-alerts-urgent (ap-northeast-1, " in prod
    assert "lambda guard-prod-srt-escalation  on guard-prod-alerts-urgent" in prod
    assert "email " not in text(example_plan("staging"))


def test_a_rule_without_target_and_an_unencrypted_topic_show(example_plan: Plan) -> None:
    plan = edited(example_plan("prod"), rt.EVENT_TARGET, lambda r: None)
    plan = edited(plan, rt.TOPIC, with_inputs(kmsMasterKeyId=None))
    routes = section(text(plan), "Alert routes")
    rules = [r for r in example_plan("prod").resources if r.type == rt.EVENT_RULE]
    assert routes.count("-> NO TARGET") == len([r for r in rules if r.inputs.get("eventPattern")])
    assert routes.count("NOT encrypted") == 4


@pytest.mark.parametrize(
    ("pattern", "summary"),
    [
        ('{"source": ["aws.guardduty"]}', "GuardDuty: every event"),
        (
            '{"source": ["aws.health"], "detail": {"service": [{"anything-but": ["EC2"]}], '
            '"eventTypeCode": [{"prefix": "AWS_"}]}}',
            'aws.health: service not EC2; eventTypeCode prefix "AWS_"',
        ),
        ('{"account": ["111111111111"]}', "any source: account 111111111111"),
        ("[unknown]", "unreadable pattern"),
    ],
)
def test_pattern_summary(pattern: str, summary: str) -> None:
    assert pattern_summary(pattern) == summary


# --- WAF logs --------------------------------------------------------------------------------


def test_waf_logs_show_bucket_lifecycle_delivery_and_athena(example_plan: Plan) -> None:
    logs = section(text(example_plan("prod")), "WAF logs")
    assert "web ACLs logging  5 logging configuration(s) for 5 web ACL(s)" in logs
    assert "bucket            s3://example-prod-waf-logs (ap-northeast-1)" in logs
    assert "    waf/             GLACIER_IR after 90 days, deleted after 400 days" in logs
    assert (
        "aws-waf-logs-guard-prod-us-east-1 (us-east-1)            Firehose to "
        "s3://example-prod-waf-logs/waf/region=us-east-1/"
    ) in logs
    assert "redacted          header authorization, header cookie, header x-api-key" in logs
    assert "filter            none: every request is logged" in logs
    assert "guard-prod-waf-logs: a query stops after 10 GB scanned" in logs
    assert "sample digest     Lambda guard-prod-waf-samples, cron(5 * * * ? *)" in logs


def test_a_stack_without_guard_logs_has_no_waf_logs_section(example_plan: Plan) -> None:
    assert "WAF logs" not in text(example_plan("staging"))
    assert "WAF logs" not in markdown(example_plan("staging"))


def test_a_web_acl_without_logging_is_named(example_plan: Plan) -> None:
    plan = edited(
        example_plan("prod"),
        rt.WAF_LOGGING,
        lambda r: None if r.name == "guard-prod-ebook-cf" else r,
    )
    assert "4 logging configuration(s) for 5 web ACL(s); NOT logging: guard-prod-ebook-cf" in text(
        plan
    )


def test_filter_and_default_retention_of_a_new_stack() -> None:
    loaded = load(
        alerts={"slack": SLACK}, logs={"bucket": "x-test-waf-logs", "filter": "blocked-and-counted"}
    )
    logs = section(text(run_program(loaded, "test")), "WAF logs")
    assert (
        "keep requests with any of action BLOCK, action COUNT, action CAPTCHA, action "
        "CHALLENGE, action EXCLUDED_AS_COUNT; drop the rest"
    ) in logs
    assert "    waf/             deleted after 365 days" in logs
    assert "GLACIER_IR" not in logs
    assert "sample digest     none" in logs


def test_differing_redactions_are_listed_per_web_acl(example_plan: Plan) -> None:
    plan = edited(
        example_plan("prod"),
        rt.WAF_LOGGING,
        lambda r: (
            dataclasses.replace(r, inputs={**r.inputs, "redactedFields": []})
            if r.name == "guard-prod-ebook-cf"
            else r
        ),
    )
    logs = section(text(plan), "WAF logs")
    assert "  redacted (5):" in logs
    assert "    guard-prod-ebook-cf         nothing" in logs


# --- Shield ----------------------------------------------------------------------------------


def test_shield_in_prod(example_plan: Plan) -> None:
    shield = section(text(example_plan("prod")), "Shield Advanced")
    assert "subscription          existing: bought outside this repository" in shield
    assert "SRT access            role guard-prod-shield-srt-access (created here; " in shield
    assert "AWSShieldDRTAccessPolicy" in shield
    assert "proactive engagement  on" in shield
    assert "    oncall@example.com  phone +81*******00" in shield
    assert "protections           7 in 4 protection group(s); health-based detection on 1" in shield
    assert "DDoS alarms           7\n" in shield
    assert (
        "support case: on, severity urgent; one case per resource per 6 hours; cc "
        "oncall@example.com, secops@example.com"
    ) in shield
    assert "guard-prod-ebook-cdn  BLOCK" in shield


def test_phone_numbers_never_appear_in_full(example_plan: Plan) -> None:
    for output in (text(example_plan("prod")), markdown(example_plan("prod"))):
        assert "+81300000000" not in output
        assert "+15550100" not in output
        assert "oncall@example.com" in output


def test_staging_escalation_opens_no_support_case(example_plan: Plan) -> None:
    shield = section(text(example_plan("staging")), "Shield Advanced")
    assert "support case: off" in shield
    assert "support case: on" not in shield
    assert "SRT access            none" in shield
    assert "proactive engagement  not declared" in shield
    assert "support case: off" in markdown(example_plan("staging"))


def test_escalation_settings_come_from_the_function(example_plan: Plan) -> None:
    def turned_off(record: ResourceRecord) -> ResourceRecord:
        env = record.inputs.get("environment", {}).get("variables", {})
        if "SUPPORT_CASE_ENABLED" not in env:
            return record
        variables = {**env, "SUPPORT_CASE_ENABLED": "false", "DEDUPE_HOURS": "0"}
        return dataclasses.replace(
            record, inputs={**record.inputs, "environment": {"variables": variables}}
        )

    shield = section(text(edited(example_plan("prod"), rt.FUNCTION, turned_off)), "Shield Advanced")
    assert "support case: off (logs the case it would open); no deduplication" in shield
    # Without the function, nothing claims an escalation.
    gone = edited(
        example_plan("prod"),
        rt.FUNCTION,
        lambda r: None if "SUPPORT_CASE_ENABLED" in str(r.inputs) else r,
    )
    assert "escalation            none: no function opens a support case" in text(gone)


def test_a_declared_subscription_and_an_unwatched_protection() -> None:
    loaded = load(alerts={"slack": SLACK}, shield={"subscription": "create"})
    plan = run_program(loaded, "test")
    shield = section(text(plan), "Shield Advanced")
    assert (
        "subscription             declared here, auto-renew ENABLED, protected from deletion"
        in (shield)
    )
    plan = edited(
        plan, rt.ALARM, lambda r: None if r.inputs.get("namespace") == "AWS/DDoSProtection" else r
    )
    assert "DDoS alarms              0; protections WITHOUT one: guard-test-store-web" in text(plan)


# --- CI identities ---------------------------------------------------------------------------


def test_ci_roles_are_grouped_by_the_provider_they_trust(example_plan: Plan) -> None:
    ci = section(text(example_plan("prod")), "CI identities (OIDC)")
    assert (
        "https://token.actions.githubusercontent.com                         audiences sts.amazonaws.com"
        in ci
    )
    github = ci.split("roles trusting token.actions.githubusercontent.com (4):", 1)[1]
    assert (
        "guard-prod-pipeline-preview           repo:example-org/security-infra:pull_request, "
        "repo:example-org/security-infra:ref:refs/heads/main"
    ) in github
    # A GitHub subject is never shown as trusted through CircleCI, nor the other way round.
    circleci = ci.split("roles trusting oidc.circleci.com/org/", 1)[1].split("roles trusting", 1)[0]
    assert "repo:" not in circleci
    assert "vcs-origin" not in github


def test_a_provider_not_declared_here_is_called_existing(example_plan: Plan) -> None:
    plan = edited(
        example_plan("prod"),
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider",
        lambda r: None if "github" in r.name else r,
    )
    assert (
        "roles trusting token.actions.githubusercontent.com (existing provider, not declared "
        "here) (4):"
    ) in text(plan)


# --- formats and absence ---------------------------------------------------------------------


def test_a_stack_of_web_acls_only_has_no_account_sections() -> None:
    plan = run_program(load(), "test")
    assert account_sections(plan, markdown=False) == []
    assert account_sections(plan, markdown=True) == []


def test_markdown_titles_bullets_and_long_lists_collapsed(example_plan: Plan) -> None:
    out = markdown(example_plan("prod"))
    for title in ("GuardDuty", "Security Hub", "Alert routes", "WAF logs", "Shield Advanced"):
        assert f"\n**{title}**\n" in f"\n{out}"
    assert "- finding publishing frequency: FIFTEEN\\_MINUTES" in out
    assert "- `IAM.6`: disabled in aws-foundational, cis-3.0: hardware MFA" in out
    # The only list of prod longer than COLLAPSE_OVER: GuardDuty's rule per route and type.
    assert out.count("<details>") == 1
    assert "<details><summary>event rules (which findings go where) (20)</summary>" in out

    def many(record: ResourceRecord) -> list[ResourceRecord]:
        return [
            dataclasses.replace(record, inputs={**record.inputs, "name": f"F{i}"})
            for i in range(COLLAPSE_OVER + 1)
        ]

    plan = example_plan("prod")
    features = [r for r in plan.resources if r.type == rt.DETECTOR_FEATURE][:1]
    bigger = dataclasses.replace(
        plan,
        resources=[r for r in plan.resources if r.type != rt.DETECTOR_FEATURE] + many(features[0]),
    )
    out = markdown(bigger)
    assert f"<details><summary>features ({COLLAPSE_OVER + 1})</summary>" in out
    assert "features (11):\n" not in out


def test_markdown_escapes_text_from_the_stack(example_plan: Plan) -> None:
    plan = edited(
        example_plan("prod"),
        rt.CONTROL,
        with_inputs(updatedReason="<img src=x onerror=alert(1)> *not bold* [link](http://x)"),
    )
    out = markdown(plan)
    assert re.search(r"(?<!\\)<img", out) is None
    assert "\\<img src=x onerror=alert(1)\\> \\*not bold\\* \\[link\\](http://x)" in out
