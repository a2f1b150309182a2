"""The DDoS drill: what it reads from the plan, what it refuses, and the sandboxed handler run.

The sandbox tests build the planned alarm and function by hand (no plan needed); the plan tests
read the fixture stacks and small stack files written under ``tmp_path``.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from functions.srt_escalation import handler
from guard import drill
from guard.drill import build_alarm_event, ddos_command, run_ddos_drill
from guard.drill_plan import DrillRefusal, DrillTarget, PlannedAlarm, PlannedFunction, drill_target
from guard.plan import PlanResult
from tests.conftest import minimal_product, raw_config

ACCOUNT = "111122223333"
WWW_ARN = f"arn:aws:cloudfront::{ACCOUNT}:distribution/E1WWWEXAMPLE"
API_ARN = (
    f"arn:aws:elasticloadbalancing:eu-west-1:{ACCOUNT}:loadbalancer/app/shop-api/50dc6c495c0c9188"
)
SLACK = {
    "workspace_id": "T0EXAMPLE1",
    "normal_channel": "C0NORMAL01",
    "urgent_channel": "C0URGENT01",
}


def planned(
    *,
    endpoint: str = "www",
    arn: str = WWW_ARN,
    region: str = "us-east-1",
    severity: str = "urgent",
    dedupe_hours: int = 24,
    support_case: bool = True,
) -> DrillTarget:
    """A target as drill_target reads it from a plan, for the sandbox tests."""
    topic = f"arn:aws:sns:{region}:{ACCOUNT}:guard-prod-alerts-urgent"
    return DrillTarget(
        stack="prod",
        product="shop",
        endpoint=endpoint,
        alarm=PlannedAlarm(
            name=f"guard-prod-shop-{endpoint}-ddos",
            region=region,
            account_id=ACCOUNT,
            description=f"Shield Advanced detected a DDoS event on shop/{endpoint}",
            resource_arn=arn,
            actions=(topic,),
            statistic="Sum",
            period=60,
            evaluation_periods=1,
            datapoints_to_alarm=1,
            threshold=1.0,
            comparison_operator="GreaterThanOrEqualToThreshold",
            treat_missing_data="notBreaching",
            notified=("Slack channel C0URGENT01",),
        ),
        function=PlannedFunction(
            name="guard-prod-srt-escalation",
            arn=f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:guard-prod-srt-escalation",
            region="eu-west-1",
            topic_arn=topic,
            environment={
                "SUPPORT_SEVERITY": severity,
                "DEDUPE_HOURS": str(dedupe_hours),
                "CC_EMAILS": "secops@example.com,oncall@example.com",
                "SUPPORT_CASE_ENABLED": "true" if support_case else "false",
                "SUPPORT_LANGUAGE": "en",
            },
        ),
    )


def run(state: Path, target: DrillTarget | None = None, **kwargs: Any) -> tuple[int, str]:
    out = io.StringIO()
    code = run_ddos_drill(target or planned(), state_path=state, out=out, **kwargs)
    return code, out.getvalue()


def state_cases(state: Path) -> list[dict[str, Any]]:
    return json.loads(state.read_text())["cases"]


def moto_cases(account: str) -> list[Any]:
    """The support cases in the drill's moto backend after the run (it resets at the start)."""
    from moto.support.models import support_backends

    return list(support_backends[account]["us-east-1"].cases.values())


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / ".guard" / "drill" / "prod.json"


# --------------------------------------------------------------------------------------------
# The sandboxed handler run.
# --------------------------------------------------------------------------------------------


def test_second_run_shows_the_dedupe(state: Path) -> None:
    code, first = run(state)
    assert code == 0, first
    assert "Result: support case OPENED" in first
    (case,) = state_cases(state)
    assert [c.case_id for c in moto_cases(ACCOUNT)] == [case["caseId"]]
    assert f"case id    {case['caseId']}" in first
    assert "subject    [guard] DDoS attack detected on " + WWW_ARN in first
    assert "severity   urgent" in first
    assert "service    distributed-denial-of-service / category inbound-to-aws" in first
    assert "cc         secops@example.com, oncall@example.com" in first
    assert "    | Alarm: guard-prod-shop-www-ddos" in first
    assert f"    | Resource ARN: {WWW_ARN}" in first
    assert "Attack details unavailable" in first  # moto has no Shield ListAttacks
    assert '"level": "INFO"' in first  # the Lambda's JSON log lines are shown

    code, second = run(state)
    assert code == 0, second
    assert f"Result: DEDUPLICATED - case {case['caseId']}" in second
    assert "OPENED" not in second
    assert "1 earlier drill case(s) re-seeded" in second
    assert len(state_cases(state)) == 1


def test_another_endpoint_opens_its_own_case(state: Path) -> None:
    assert run(state)[0] == 0
    code, out = run(state, planned(endpoint="api", arn=API_ARN, region="eu-west-1"))
    assert code == 0, out
    assert "Result: support case OPENED" in out
    assert "guard-prod-shop-api-ddos (eu-west-1)" in out
    assert [c["resourceArn"] for c in state_cases(state)] == [WWW_ARN, API_ARN]


def test_after_the_window_a_new_case_is_opened(state: Path) -> None:
    t0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    assert run(state, now=t0)[0] == 0
    code, within = run(state, now=t0 + timedelta(hours=23, minutes=59))
    assert code == 0 and "opened 23 h 59 min ago, within the 24 h window" in within
    code, after = run(state, now=t0 + timedelta(hours=24, minutes=1))
    assert code == 0 and "Result: support case OPENED" in after, after
    cases = state_cases(state)
    assert [c["timeCreated"] for c in cases] == [
        "2026-03-01T09:00:00.000Z",
        "2026-03-02T09:01:00.000Z",
    ]


def test_support_case_false_logs_the_case_and_opens_none(
    state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The shell's value must not stand in for the function's own.
    monkeypatch.setenv("SUPPORT_CASE_ENABLED", "true")
    code, out = run(state, planned(support_case=False, severity="normal"))
    assert code == 0, out
    assert "would not open a case (support_case: false)" in out
    assert "SUPPORT_CASE_ENABLED=false" in out
    assert "would open a normal DDoS case for " + WWW_ARN in out  # the Lambda's own log line
    assert "severity   normal" in out
    assert "still reaches Slack channel C0URGENT01" in out
    assert "OPENED" not in out and "DEDUPLICATED" not in out
    assert moto_cases(ACCOUNT) == []
    assert not state.exists()


def test_handler_failure_prints_the_error_and_returns_1(state: Path) -> None:
    code, out = run(state, planned(severity="sev1"))
    assert code == 1
    assert "Result: FAILED - the handler raised ConfigError" in out
    assert "SUPPORT_SEVERITY" in out
    assert '"message": "invalid configuration: SUPPORT_SEVERITY=' in out  # the Lambda's log line
    assert not state.exists()


def test_environment_and_boto3_session_are_restored(
    state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Settings that would steer boto3 away from the sandbox are hidden during the drill.
    monkeypatch.setenv(
        "AWS_ENDPOINT_URL_SUPPORT", "https://support.us-east-1.amazonaws.com.invalid"
    )
    monkeypatch.setenv("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true")
    monkeypatch.setenv("AWS_PROFILE", "production-admin")
    monkeypatch.setenv("SUPPORT_SEVERITY", "low")
    session = boto3.DEFAULT_SESSION
    before = dict(os.environ)

    code, out = run(state)

    assert code == 0, out
    assert "severity   urgent" in out
    assert dict(os.environ) == before
    assert boto3.DEFAULT_SESSION is session


def test_a_function_variable_cannot_steer_the_sandbox(state: Path) -> None:
    target = planned()
    env = {
        **target.function.environment,
        "AWS_ENDPOINT_URL_SUPPORT": "https://support.us-east-1.amazonaws.com.invalid",
    }
    steered = dataclasses.replace(
        target, function=dataclasses.replace(target.function, environment=env)
    )
    code, out = run(state, steered)
    assert code == 0, out
    assert "Result: support case OPENED" in out


def test_refuses_when_the_handler_would_reach_a_real_endpoint(
    state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = boto3.client(
        "support",
        region_name="us-east-1",
        endpoint_url="https://support.us-east-1.amazonaws.com.invalid",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    monkeypatch.setattr(handler, "support_client", lambda: real)
    code, out = run(state)
    assert code == 1
    assert "drill refused" in out and "https://support.us-east-1.amazonaws.com.invalid" in out
    assert not state.exists()


def test_corrupt_state_is_reported(state: Path) -> None:
    state.parent.mkdir(parents=True)
    state.write_text("{not json")
    code, out = run(state)
    assert code == 1 and "cannot read drill state" in out and "--fresh" in out


def test_loopback_check() -> None:
    assert drill._is_loopback_url("http://127.0.0.1:5000")
    assert drill._is_loopback_url("http://[::1]:5000")
    assert not drill._is_loopback_url("https://support.us-east-1.amazonaws.com.invalid")
    assert not drill._is_loopback_url("http://127.0.0.1.example.com")
    assert not drill._is_loopback_url(None)


# --------------------------------------------------------------------------------------------
# What the drill reads from the plan.
# --------------------------------------------------------------------------------------------


def prod_target(plan: PlanResult, label: str) -> DrillTarget:
    config = plan.loaded.config
    product, _, name = label.partition("/")
    endpoint = next(
        e for p in config.products if p.name == product for e in p.endpoints if e.name == name
    )
    return drill_target(plan, config, stack=plan.stack, product=product, endpoint=endpoint)


def test_reads_the_alarm_and_the_function_from_the_plan(
    example_plan: Callable[[str], PlanResult],
) -> None:
    target = prod_target(example_plan("prod"), "ebook/cdn")
    alarm, function = target.alarm, target.function
    # A CloudFront metric lives in us-east-1, and so do its alarm and the topic it notifies.
    assert (alarm.name, alarm.region) == ("guard-prod-ebook-cdn-ddos", "us-east-1")
    assert alarm.resource_arn == "arn:aws:cloudfront::111111111111:distribution/E2EXAMPLE1"
    assert alarm.actions == ("arn:aws:sns:us-east-1:111111111111:guard-prod-alerts-urgent",)
    assert "Slack channel C0URGENT01" in alarm.notified
    assert (function.name, function.region) == ("guard-prod-srt-escalation", "ap-northeast-1")
    assert function.topic_arn == alarm.actions[0]
    assert function.environment == {
        "SUPPORT_CASE_ENABLED": "true",
        "SUPPORT_SEVERITY": "urgent",
        "DEDUPE_HOURS": "6",
        "CC_EMAILS": "oncall@example.com,secops@example.com",
        "SUPPORT_LANGUAGE": "en",
    }


def test_staging_function_is_read_with_support_case_off(
    example_plan: Callable[[str], PlanResult],
) -> None:
    target = prod_target(example_plan("staging"), "marketplace/web")
    assert target.alarm.region == "ap-northeast-1"
    assert target.function.environment["SUPPORT_CASE_ENABLED"] == "false"
    assert target.function.environment["SUPPORT_SEVERITY"] == "normal"


def test_event_is_the_planned_alarm_notification(
    example_plan: Callable[[str], PlanResult],
) -> None:
    target = prod_target(example_plan("prod"), "ebook/cdn")
    event = build_alarm_event(
        target.alarm,
        topic_arn=target.function.topic_arn,
        when=datetime(2026, 3, 1, 9, 0, tzinfo=UTC),
    )
    (record,) = event["Records"]
    assert record["EventSource"] == "aws:sns"
    assert (
        record["Sns"]["TopicArn"] == "arn:aws:sns:us-east-1:111111111111:guard-prod-alerts-urgent"
    )
    message = json.loads(record["Sns"]["Message"])
    assert message["AlarmName"] == "guard-prod-ebook-cdn-ddos"
    assert (
        message["AlarmArn"]
        == "arn:aws:cloudwatch:us-east-1:111111111111:alarm:guard-prod-ebook-cdn-ddos"
    )
    assert message["AlarmActions"] == [record["Sns"]["TopicArn"]]
    assert (message["OldStateValue"], message["NewStateValue"]) == ("OK", "ALARM")
    assert message["Region"] == "US East (N. Virginia)"
    assert message["StateChangeTime"] == "2026-03-01T09:00:00.000+0000"
    trigger = message["Trigger"]
    assert (trigger["Namespace"], trigger["MetricName"]) == ("AWS/DDoSProtection", "DDoSDetected")
    assert trigger["Dimensions"] == [
        {"value": "arn:aws:cloudfront::111111111111:distribution/E2EXAMPLE1", "name": "ResourceArn"}
    ]


def without(plan: PlanResult, keep: Callable[[Any], bool]) -> PlanResult:
    return dataclasses.replace(plan, resources=[r for r in plan.resources if keep(r)])


def test_refuses_when_no_function_is_subscribed_to_the_alarm_topic(
    example_plan: Callable[[str], PlanResult],
) -> None:
    plan = without(
        example_plan("prod"),
        lambda r: (
            not (
                r.type == "aws:sns/topicSubscription:TopicSubscription"
                and r.inputs.get("protocol") == "lambda"
            )
        ),
    )
    with pytest.raises(DrillRefusal) as refusal:
        prod_target(plan, "ebook/cdn")
    message = str(refusal.value)
    assert "guard-prod-ebook-cdn-ddos notifies arn:aws:sns:us-east-1:111111111111:" in message
    assert "no escalation function (functions/srt_escalation) is subscribed to it" in message
    assert "reaches Slack channel C0URGENT01" in message
    assert "nobody opens a support case" in message


def test_refuses_when_sns_may_not_invoke_the_function(
    example_plan: Callable[[str], PlanResult],
) -> None:
    plan = without(example_plan("prod"), lambda r: r.type != "aws:lambda/permission:Permission")
    with pytest.raises(DrillRefusal) as refusal:
        prod_target(plan, "ebook/cdn")
    assert "guard-prod-srt-escalation is subscribed to" in str(refusal.value)
    assert "no lambda:InvokeFunction permission" in str(refusal.value)


def test_refuses_an_alarm_that_notifies_nobody(example_plan: Callable[[str], PlanResult]) -> None:
    plan = example_plan("prod")
    silenced = [
        dataclasses.replace(r, inputs={**r.inputs, "alarmActions": []})
        if r.inputs.get("name") == "guard-prod-ebook-cdn-ddos"
        else r
        for r in plan.resources
    ]
    with pytest.raises(DrillRefusal, match="guard-prod-ebook-cdn-ddos has no alarm actions"):
        prod_target(dataclasses.replace(plan, resources=silenced), "ebook/cdn")


# --------------------------------------------------------------------------------------------
# ddos_command on small stack files: refusals and the planned settings.
# --------------------------------------------------------------------------------------------


def write_stack(directory: Path, **sections: Any) -> Path:
    """``Pulumi.t.yaml`` from conftest's engine-shaped config (objects back to YAML)."""
    raw = raw_config(**sections)
    config = {k: json.loads(v) if v[:1] in "[{" else v for k, v in raw.items()}
    path = directory / "Pulumi.t.yaml"
    path.write_text(yaml.safe_dump({"config": config}), encoding="utf-8")
    return path


def command(
    stack_file: Path, endpoint: str, state_dir: Path, *, fresh: bool = False
) -> argparse.Namespace:
    return argparse.Namespace(
        stack="t", endpoint=endpoint, config_file=stack_file, state_dir=state_dir, fresh=fresh
    )


def refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, endpoint: str, **sections: Any
) -> str:
    """Run the drill with ``--fresh`` over an existing state file; check nothing was run."""
    state_dir = tmp_path / "drill"
    state_dir.mkdir()
    earlier = state_dir / "t.json"
    earlier.write_text('{"version": 1, "stack": "t", "cases": []}\n')
    code = ddos_command(command(write_stack(tmp_path, **sections), endpoint, state_dir, fresh=True))
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""  # no header, no handler, no case
    assert earlier.exists()  # --fresh is not applied to a drill that does not run
    assert "Traceback" not in err and "nothing was run" in err
    return err


def test_endpoint_with_protect_false_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    blog = minimal_product("blog")
    blog["endpoints"][0]["shield"] = {"protect": False}
    err = refused(
        capsys,
        tmp_path,
        "blog/web",
        products=[minimal_product("shop"), blog],
        alerts={"slack": SLACK},
        shield={"subscription": "existing", "escalation": {"support_case": True}},
    )
    assert "blog/web has no AWS/DDoSProtection DDoSDetected alarm" in err
    assert "shield: {protect: false}" in err


def test_stack_without_shield_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    err = refused(capsys, tmp_path, "store/web")
    assert "store/web has no AWS/DDoSProtection DDoSDetected alarm" in err
    assert "no guard:shield section" in err


def test_stack_without_escalation_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    err = refused(
        capsys, tmp_path, "store/web", alerts={"slack": SLACK}, shield={"subscription": "existing"}
    )
    assert "alarm guard-t-store-web-ddos notifies" in err
    assert "guard:shield.escalation is not set" in err
    assert "reaches Slack channel C0URGENT01, but nobody opens a support case" in err


def test_the_case_uses_the_planned_escalation_settings(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    stack_file = write_stack(
        tmp_path,
        alerts={"slack": SLACK},
        shield={
            "subscription": "existing",
            "proactive_engagement": {"contacts": [{"email": "sre@example.com"}]},
            "escalation": {"severity": "high", "dedupe_hours": 2, "language": "ja"},
        },
    )
    state_dir = tmp_path / "drill"
    assert ddos_command(command(stack_file, "store/web", state_dir)) == 0
    out = capsys.readouterr().out
    assert "Result: support case OPENED" in out
    assert "severity   high" in out and "language   ja" in out
    assert "cc         sre@example.com" in out
    assert "alarm      guard-t-store-web-ddos (ap-northeast-1)" in out
    assert "function   guard-t-srt-escalation (ap-northeast-1)" in out
    (case,) = moto_cases("111111111111")
    assert (case.severity_code, case.cc_email_addresses) == ("high", ["sre@example.com"])
    assert ddos_command(command(stack_file, "store/web", state_dir)) == 0
    assert "within the 2 h window" in capsys.readouterr().out
