"""The ISM retention policy guard applies to the SIEM's domain: the exact body, read back."""

from __future__ import annotations

import json
from typing import Any

import pytest

from guard.siem_ism import (
    DEFAULT_INDICES,
    ISM_TEMPLATE_PRIORITY,
    SIEM_ROLLOVER,
    delete_after_days_of,
    hot_days_of,
    policy_id,
    retention_event,
    retention_policy,
)

ENDPOINT = "https://vpc-aes-siem-abcdefghijklmnopqrstuvwxyz.ap-northeast-1.es.amazonaws.com"


def policy(**overrides: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "hot_days": 7,
        "warm_days": None,
        "indices": list(DEFAULT_INDICES),
        "description": "guard prod: WAF and ELB logs",
    }
    return retention_policy(**{**arguments, **overrides})


def test_the_siem_index_names_and_a_priority_above_the_siems_own() -> None:
    assert DEFAULT_INDICES == ("log-aws-waf-*", "log-aws-elb-*")
    # Above the SIEM's rollover100gb (priority 0) and its index templates (0 to 5), as its docs
    # ask of overriding templates (>= 10).
    assert ISM_TEMPLATE_PRIORITY == 10
    assert policy_id("prod") == "guard-prod-retention"


def test_hot_then_delete_is_the_exact_create_policy_body() -> None:
    assert policy() == {
        "policy": {
            "description": "guard prod: WAF and ELB logs",
            "default_state": "hot",
            "states": [
                {
                    "name": "hot",
                    "actions": [],
                    "transitions": [
                        {"state_name": "delete", "conditions": {"min_index_age": "7d"}}
                    ],
                },
                {"name": "delete", "actions": [{"delete": {}}], "transitions": []},
            ],
            "ism_template": [
                {"index_patterns": ["log-aws-elb-*", "log-aws-waf-*"], "priority": 10}
            ],
        }
    }


def test_warm_days_migrate_to_ultrawarm_then_delete_after_hot_plus_warm() -> None:
    states = policy(hot_days=7, warm_days=30)["policy"]["states"]
    assert states == [
        {
            "name": "hot",
            "actions": [],
            "transitions": [{"state_name": "warm", "conditions": {"min_index_age": "7d"}}],
        },
        {
            "name": "warm",
            "actions": [
                {
                    "retry": {"count": 5, "backoff": "exponential", "delay": "1h"},
                    "warm_migration": {},
                }
            ],
            "transitions": [{"state_name": "delete", "conditions": {"min_index_age": "37d"}}],
        },
        {"name": "delete", "actions": [{"delete": {}}], "transitions": []},
    ]


def test_rollover_for_a_siem_rotating_with_index_rotation_auto() -> None:
    body = policy(indices=["log-aws-waf-0*"], rollover=SIEM_ROLLOVER)
    hot = body["policy"]["states"][0]
    assert hot["actions"] == [{"rollover": {"min_size": "100gb"}}]
    assert hot_days_of(body) == 7


def test_the_same_settings_give_the_same_body_whatever_the_order() -> None:
    one = policy(indices=["log-aws-waf-*", "log-aws-elb-*"])
    other = policy(indices=["log-aws-elb-*", "log-aws-waf-*", "log-aws-elb-*"])
    assert json.dumps(one, sort_keys=True) == json.dumps(other, sort_keys=True)
    assert one == policy()


@pytest.mark.parametrize(
    "overrides",
    [
        {"hot_days": 0},
        {"hot_days": -1},
        {"hot_days": True},
        {"hot_days": 1.5},
        {"hot_days": "7"},
        {"warm_days": 0},
        {"indices": []},
        {"indices": "log-aws-waf-*"},
        {"indices": ["*"]},
        {"indices": ["Log-aws-waf-*"]},
        {"indices": ["_all"]},
        {"indices": ["-log-aws-waf-*"]},
        {"indices": ["log-aws-waf-*,log-aws-elb-*"]},
        {"indices": ["log aws"]},
        {"description": " "},
        {"rollover": {}},
    ],
)
def test_settings_outside_what_ism_accepts_are_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        policy(**overrides)


@pytest.mark.parametrize(("hot", "warm", "delete"), [(1, None, 1), (7, None, 7), (7, 30, 37)])
def test_reading_a_policy_back(hot: int, warm: int | None, delete: int) -> None:
    body = policy(hot_days=hot, warm_days=warm)
    assert hot_days_of(body) == hot
    assert delete_after_days_of(body) == delete


def test_reading_the_policy_as_the_domain_stores_it() -> None:
    """The GET answer's policy (server fields, default retries) reads the same."""
    stored = policy(hot_days=14, warm_days=7)["policy"]
    stored |= {"policy_id": "guard-prod-retention", "schema_version": 1, "error_notification": None}
    for state in stored["states"]:
        state["actions"] = [
            {"retry": {"count": 3, "backoff": "exponential", "delay": "1m"}, **a}
            for a in state["actions"]
        ]
    assert (hot_days_of({"policy": stored}), delete_after_days_of({"policy": stored})) == (14, 21)


def _with(body: dict[str, Any], change: Any) -> dict[str, Any]:
    copy = json.loads(json.dumps(body))
    change(copy["policy"])
    return copy


def _hot(p: dict[str, Any]) -> dict[str, Any]:
    return p["states"][0]


@pytest.mark.parametrize(
    "change",
    [
        lambda p: p.clear(),
        lambda p: p.update(states={}),
        lambda p: p.update(default_state="ingest"),
        lambda p: _hot(p)["transitions"][0]["conditions"].update(min_index_age="168h"),
        lambda p: _hot(p)["transitions"][0]["conditions"].update(min_doc_count=5),
        lambda p: _hot(p)["transitions"][0].update(conditions={"min_size": "50gb"}),
        lambda p: _hot(p)["transitions"][0].update(state_name="gone"),
        lambda p: _hot(p)["transitions"].append(_hot(p)["transitions"][0]),
        lambda p: p["states"][1]["transitions"].append({"state_name": "hot"}),
        lambda p: p["states"][2].update(actions=[]),
        lambda p: p["states"][1]["transitions"][0]["conditions"].update(min_index_age="5d"),
        lambda p: p.update(default_state="delete"),
    ],
)
def test_a_body_of_another_shape_is_a_value_error(change: Any) -> None:
    body = _with(policy(hot_days=7, warm_days=30), change)
    with pytest.raises(ValueError):
        hot_days_of(body)
    with pytest.raises(ValueError):
        delete_after_days_of(body)


@pytest.mark.parametrize("body", [None, [], "policy", {"states": []}, {"policy": []}])
def test_what_is_not_a_policy_body_is_a_value_error(body: Any) -> None:
    with pytest.raises(ValueError):
        hot_days_of(body)
    with pytest.raises(ValueError):
        delete_after_days_of(body)


def test_the_event_of_the_retention_function() -> None:
    body = policy()
    event = retention_event(
        endpoint=ENDPOINT + "/",
        region="ap-northeast-1",
        policy_id="guard-prod-retention",
        body=body,
    )
    assert event == {
        "endpoint": ENDPOINT,
        "region": "ap-northeast-1",
        "policy_id": "guard-prod-retention",
        "policy": body,
    }
    json.dumps(event)  # the Invocation's input is JSON


@pytest.mark.parametrize(
    "arguments",
    [
        {"endpoint": "vpc-aes-siem-abc.ap-northeast-1.es.amazonaws.com"},
        {"region": ""},
        {"policy_id": ""},
        {"body": {"policy": {}}},
    ],
)
def test_an_event_the_function_could_not_apply_is_refused(arguments: dict[str, Any]) -> None:
    defaults: dict[str, Any] = {
        "endpoint": ENDPOINT,
        "region": "ap-northeast-1",
        "policy_id": "guard-prod-retention",
        "body": policy(),
    }
    with pytest.raises(ValueError):
        retention_event(**{**defaults, **arguments})
