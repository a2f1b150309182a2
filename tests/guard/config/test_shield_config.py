"""guard:shield and endpoints' shield settings: each bad input gets one error naming the key path,
the bad value and what is allowed; valid input is normalised the way AWS wants it."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from guard.config import ConfigError, LoadedConfig, load_stack_config
from guard.config.errors import Problem
from tests.conftest import TODAY, minimal_product

ALERTS = {
    "slack": {
        "workspace_id": "T0EXAMPLE1",
        "normal_channel": "C0NORMAL01",
        "urgent_channel": "C0URGENT01",
    }
}
HEALTH_CHECK = "arn:aws:route53:::healthcheck/abcdef01-2345-6789-abcd-ef0123456789"
CONTACT = {"email": "oncall@example.com", "phone": "+81-3-0000-0000", "note": "SRE on-call"}
SHIELD: dict[str, Any] = {
    "subscription": "existing",
    "srt_access": {"role": "create", "log_buckets": ["example-waf-logs"]},
    "proactive_engagement": {"contacts": [CONTACT]},
    "escalation": {"support_case": True, "severity": "urgent", "dedupe_hours": 6},
}
SHIELD_PATH = ("guard:shield",)
ENDPOINT_SHIELD = ("guard:products", 0, "endpoints", 0, "shield")


def raw(
    shield: Any = SHIELD, alerts: Any = ALERTS, endpoint_shield: Any = None, **product: Any
) -> dict[str, str]:
    """Config exactly as the Pulumi engine hands it to the program: objects as JSON text."""
    store = minimal_product(**product)
    if endpoint_shield is not None:
        store["endpoints"][0]["shield"] = endpoint_shield
    config = {
        "aws:region": "ap-northeast-1",
        "guard:account_id": "111111111111",
        "guard:products": json.dumps([store]),
    }
    if shield is not None:
        config["guard:shield"] = json.dumps(shield)
    if alerts is not None:
        config["guard:alerts"] = json.dumps(alerts)
    return config


def load(**kwargs: Any) -> LoadedConfig:
    return load_stack_config(raw(**kwargs), "test.yaml", today=TODAY)


def only_problem(**kwargs: Any) -> Problem:
    with pytest.raises(ConfigError) as caught:
        load(**kwargs)
    problems = list(caught.value.problems)
    assert len(problems) == 1, [p.render("test.yaml") for p in problems]
    return problems[0]


def shield_with(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    shield = copy.deepcopy(SHIELD)
    target = shield
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return shield


def test_the_issue_example_is_valid_and_phones_become_e164() -> None:
    loaded = load(endpoint_shield={"health_check": HEALTH_CHECK, "l7_mitigation": "block"})
    shield = loaded.config.shield
    assert shield is not None and shield.proactive_engagement is not None
    # Dashes are for people; AWS accepts only +[1-9]\d{1,14}.
    assert shield.proactive_engagement.contacts[0].phone == "+81300000000"
    assert shield.contact_emails == ["oncall@example.com"]
    endpoint = loaded.config.products[0].endpoints[0].shield
    assert endpoint is not None and endpoint.protect is True
    assert loaded.warnings == ()


def test_endpoint_without_shield_block_is_protected_by_default() -> None:
    from guard.shield_checks import endpoint_shield

    config = load().config
    settings = endpoint_shield(config, config.products[0].endpoints[0].shield)
    assert settings is not None
    assert (settings.protect, settings.health_check, settings.l7_mitigation) == (True, None, "off")


def test_shield_needs_alerts_naming_both_keys() -> None:
    problem = only_problem(alerts=None)
    assert problem.path == SHIELD_PATH
    assert "guard:shield" in problem.message and "guard:alerts" in problem.message


def test_endpoint_shield_without_guard_shield_is_an_error() -> None:
    problem = only_problem(shield=None, endpoint_shield={"protect": True})
    assert problem.path == ENDPOINT_SHIELD
    assert "guard:shield" in problem.message


def test_l7_mitigation_without_guard_shield_is_an_error() -> None:
    problem = only_problem(shield=None, endpoint_shield={"l7_mitigation": "block"})
    assert problem.path == ENDPOINT_SHIELD and "guard:shield" in problem.message


def test_subscription_is_required_and_lists_choices() -> None:
    problem = only_problem(shield={"subscription": "yes"})
    assert problem.path == (*SHIELD_PATH, "subscription")
    assert problem.value == "yes"
    assert "'existing'" in problem.message and "'create'" in problem.message
    missing = only_problem(shield={})
    assert missing.path == (*SHIELD_PATH, "subscription")
    assert "required" in missing.message


def test_unknown_key_lists_allowed_keys() -> None:
    problem = only_problem(shield=shield_with(("srt_acess",), {}))
    assert problem.path == (*SHIELD_PATH, "srt_acess")
    for allowed in ("subscription", "srt_access", "proactive_engagement", "escalation"):
        assert allowed in problem.message


def test_proactive_engagement_needs_contacts() -> None:
    problem = only_problem(shield=shield_with(("proactive_engagement",), {}))
    assert problem.path == (*SHIELD_PATH, "proactive_engagement", "contacts")
    assert "1 to 10 contacts" in problem.message and "enabled: false" in problem.message


def test_disabled_proactive_engagement_needs_no_contacts() -> None:
    shield = load(shield=shield_with(("proactive_engagement",), {"enabled": False})).config.shield
    assert shield is not None and shield.contact_emails == []


def test_at_most_ten_contacts() -> None:
    contacts = [{"email": f"sre{i}@example.com"} for i in range(11)]
    problem = only_problem(shield=shield_with(("proactive_engagement", "contacts"), contacts))
    assert problem.path == (*SHIELD_PATH, "proactive_engagement", "contacts")
    assert "10" in problem.message


def test_duplicate_contact() -> None:
    contacts = [CONTACT, {"email": "OnCall@example.com"}]
    problem = only_problem(shield=shield_with(("proactive_engagement", "contacts"), contacts))
    assert problem.path == (*SHIELD_PATH, "proactive_engagement", "contacts")
    assert "oncall@example.com" in problem.message


@pytest.mark.parametrize(
    "phone", ["03-0000-0000", "+0-555-0100", "+81 (3) 0000 0000", "+1234567890123456"]
)
def test_phone_must_be_e164(phone: str) -> None:
    contacts = [{**CONTACT, "phone": phone}]
    problem = only_problem(shield=shield_with(("proactive_engagement", "contacts"), contacts))
    assert problem.path == (*SHIELD_PATH, "proactive_engagement", "contacts", 0, "phone")
    assert problem.value == phone
    assert "E.164" in problem.message and "+81-3-0000-0000" in problem.message


def test_email_shape() -> None:
    contacts = [{**CONTACT, "email": "oncall"}]
    problem = only_problem(shield=shield_with(("proactive_engagement", "contacts"), contacts))
    assert problem.path == (*SHIELD_PATH, "proactive_engagement", "contacts", 0, "email")
    assert "e-mail address" in problem.message


def test_contact_note_characters() -> None:
    contacts = [{**CONTACT, "note": "call <now>"}]
    problem = only_problem(shield=shield_with(("proactive_engagement", "contacts"), contacts))
    assert problem.path == (*SHIELD_PATH, "proactive_engagement", "contacts", 0, "note")
    assert "letters, digits, spaces" in problem.message


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:route53:::healthcheck/not-a-uuid",
        "arn:aws:route53::111111111111:healthcheck/abcdef01-2345-6789-abcd-ef0123456789",
        "abcdef01-2345-6789-abcd-ef0123456789",
    ],
)
def test_health_check_arn_shape(arn: str) -> None:
    problem = only_problem(endpoint_shield={"health_check": arn})
    assert problem.path == (*ENDPOINT_SHIELD, "health_check")
    assert problem.value == arn
    assert "arn:aws:route53:::healthcheck/" in problem.message


def test_l7_mitigation_values() -> None:
    problem = only_problem(endpoint_shield={"l7_mitigation": "drop"})
    assert problem.path == (*ENDPOINT_SHIELD, "l7_mitigation")
    assert (
        "'block'" in problem.message and "'count'" in problem.message and "'off'" in problem.message
    )


def test_l7_mitigation_needs_a_web_acl_from_this_repository(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every product gets a web ACL today; the check still goes through the WAF specs, so a
    # product without one (say, a future opt-out) cannot ask Shield to mitigate in its web ACL.
    import guard.shield_checks

    monkeypatch.setattr(guard.shield_checks, "buildable_web_acls", lambda product: [])
    problem = only_problem(endpoint_shield={"l7_mitigation": "count"})
    assert problem.path == (*ENDPOINT_SHIELD, "l7_mitigation")
    assert "REGIONAL web ACL" in problem.message and "off" in problem.message


def test_l7_mitigation_counts_shields_rule_group_against_the_wcu_limit() -> None:
    from guard.waf_rules import build_web_acl

    def big(wcu: int) -> list[dict[str, Any]]:
        return [{"vendor": "Vendor", "group": "Big", "wcu": wcu}]

    base = build_web_acl(load(managed_rules=big(1000)).config.products[0], "REGIONAL", "t").wcu
    rules = big(1000 + 4900 - base)  # the web ACL alone: 4900 WCU, allowed
    assert load(managed_rules=rules, endpoint_shield={"l7_mitigation": "off"})
    problem = only_problem(managed_rules=rules, endpoint_shield={"l7_mitigation": "block"})
    assert problem.path == (*ENDPOINT_SHIELD, "l7_mitigation")
    assert "5050 WCU" in problem.message and "5000" in problem.message


def test_unprotected_endpoint_cannot_have_health_check() -> None:
    problem = only_problem(endpoint_shield={"protect": False, "health_check": HEALTH_CHECK})
    assert problem.path == (*ENDPOINT_SHIELD, "health_check")
    assert "protect: true" in problem.message


def test_unprotected_endpoint_warns_about_the_policy() -> None:
    loaded = load(endpoint_shield={"protect": False})
    assert any("shield-endpoint-protected" in w for w in loaded.warnings)


def test_severity_values() -> None:
    problem = only_problem(shield=shield_with(("escalation", "severity"), "sev1"))
    assert problem.path == (*SHIELD_PATH, "escalation", "severity")
    assert "'urgent'" in problem.message and "'critical'" in problem.message


def test_dedupe_hours_range() -> None:
    problem = only_problem(shield=shield_with(("escalation", "dedupe_hours"), 500))
    assert problem.path == (*SHIELD_PATH, "escalation", "dedupe_hours")
    assert "168" in problem.message


def test_srt_role_create_or_arn() -> None:
    problem = only_problem(shield=shield_with(("srt_access", "role"), "yes"))
    assert problem.path == (*SHIELD_PATH, "srt_access", "role")
    assert "'create'" in problem.message and "arn:aws:iam::" in problem.message


def test_srt_role_in_this_account() -> None:
    arn = "arn:aws:iam::222222222222:role/shield-drt"
    problem = only_problem(shield=shield_with(("srt_access", "role"), arn))
    assert problem.path == (*SHIELD_PATH, "srt_access", "role")
    assert "111111111111" in problem.message


def test_log_bucket_names() -> None:
    problem = only_problem(shield=shield_with(("srt_access", "log_buckets"), ["Example_Logs"]))
    assert problem.path == (*SHIELD_PATH, "srt_access", "log_buckets", 0)
    assert "S3 bucket name" in problem.message
    twice = only_problem(shield=shield_with(("srt_access", "log_buckets"), ["logs-a", "logs-a"]))
    assert twice.path == (*SHIELD_PATH, "srt_access", "log_buckets")
    assert "logs-a" in twice.message


def test_errors_stop_guard_plan_with_exit_2(
    tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    import yaml

    from guard.cli import main

    stack = {
        "config": {
            "aws:region": "ap-northeast-1",
            "guard:account_id": "111111111111",
            "guard:products": [minimal_product()],
            "guard:shield": {"subscription": "create"},
        }
    }
    path = tmp_path / "Pulumi.bad.yaml"
    path.write_text(yaml.safe_dump(stack), encoding="utf-8")
    assert main(["plan", "--stack", "bad", "--config-file", str(path)]) == 2
    err = capsys.readouterr().err
    assert "guard:shield needs guard:alerts" in err
    assert "Traceback" not in err
