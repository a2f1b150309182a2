"""``guard diff``'s Shield area: pairs of plans of the real program that differ in one thing.

Plans are cached per config (:func:`plan`); where the program cannot produce a variation (a
health check changed in place, a member left out of a group), the head is the base's JSON with
one resource edited (:func:`edited`, :func:`without`), as each test's docstring says. The
helpers are in ``tests/guard/diff_plans.py``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from guard import resource_types as rt
from guard.diff_model import Change, PlanDocument
from guard.diff_parts import SHARED_TYPES
from guard.diff_shield import DIFFER
from tests.conftest import alb_arn, minimal_product
from tests.guard.diff_plans import ALERTS, changes, edited, only, plan, without

HEALTH = "arn:aws:route53:::healthcheck/abcdef01-2345-6789-abcd-ef0123456789"
OTHER_HEALTH = "arn:aws:route53:::healthcheck/00000000-2345-6789-abcd-ef0123456789"
SHIELD: dict[str, Any] = {
    "subscription": "existing",
    "srt_access": {"role": "create", "log_buckets": ["example-test-waf-logs"]},
    "proactive_engagement": {
        "contacts": [
            {"email": "oncall@example.com", "phone": "+81-3-0000-0000", "note": "SRE on-call"},
            {"email": "secops@example.com"},
        ]
    },
    "escalation": {},
}
PROTECTION, GROUP, HEALTH_CHECK = (rt.SHIELD_TYPES[k] for k in ("protection", "group", "health"))


# --- the stacks ----------------------------------------------------------------------------------


def product(web: dict[str, Any] | None = None, api: dict[str, Any] | None = None) -> Any:
    """The store product with two ALBs, ``web`` and ``api``, each with its own ``shield``."""
    store = minimal_product()
    store["endpoints"] = [
        {"name": name, "kind": "alb", "arn": alb_arn(f"store-{name}")}
        | ({"shield": settings} if settings is not None else {})
        for name, settings in (("web", web), ("api", api))
    ]
    return store


def stack(
    web: dict[str, Any] | None = None, api: dict[str, Any] | None = None, **shield: Any
) -> PlanDocument:
    """A stack with Shield (``shield`` overrides keys of :data:`SHIELD`; None drops one)."""
    settings = {k: v for k, v in {**SHIELD, **shield}.items() if v is not None}
    return plan(products=[product(web, api)], alerts=ALERTS, shield=settings)


def shield_changes(base: PlanDocument, head: PlanDocument) -> list[Change]:
    return changes(base, head, "shield")


# --- tests ---------------------------------------------------------------------------------------


def test_identical_plans_have_no_change() -> None:
    assert changes(stack(), stack(), "shield", "other") == []


def test_shield_added_protects_each_endpoint_and_starts_the_escalation() -> None:
    found = shield_changes(plan(products=[product()], alerts=ALERTS), stack())
    web = only(found, subject="store/web", kind="added", path="protections[store/web]")
    assert web.effect == "strengthens"
    assert "gains Shield Advanced protection (with its DDoS alarm)" in web.reason
    group = only(found, subject="store", kind="added", path="groups[store]")
    assert group.effect == "strengthens" and "2 endpoint(s)" in group.reason
    escalation = only(found, subject="SRT escalation", kind="added")
    assert escalation.effect == "strengthens" and "support case" in escalation.reason
    # The alarm, the escalation's function, queue and subscriptions have no line of their own.
    assert [c.path for c in found if c.subject == "SRT escalation"] == ["escalation"]
    assert not [c for c in found if c.path == "ddos_alarm"]
    assert {c.effect for c in found} == {"strengthens"}


def test_shield_removed_weakens_every_protection() -> None:
    found = shield_changes(stack(), plan(products=[product()], alerts=ALERTS))
    assert {c.effect for c in found} == {"weakens"}
    api = only(found, path="protections[store/api]")
    assert api.kind == "removed" and api.reason.startswith("store/api loses Shield Advanced")
    only(found, subject="SRT access", path="srt_access.role")
    only(found, subject="proactive engagement", kind="removed")


def test_endpoint_left_unprotected_is_one_weakening_line() -> None:
    found = shield_changes(stack(), stack(api={"protect": False}))
    change = only(found, subject="store/api")
    assert (change.kind, change.path, change.effect) == (
        "removed",
        "protections[store/api]",
        "weakens",
    )
    assert change.reason == "store/api loses Shield Advanced protection (with its DDoS alarm)"
    # Leaving the group goes with it.
    assert [c.path for c in found] == ["protections[store/api]"]


def test_health_check_added_and_removed() -> None:
    without_check, with_check = stack(), stack(web={"health_check": HEALTH})
    added = only(shield_changes(without_check, with_check), path="health_check")
    assert (added.subject, added.kind, added.effect) == ("store/web", "added", "strengthens")
    assert HEALTH in added.reason
    removed = only(shield_changes(with_check, without_check), path="health_check")
    assert (removed.kind, removed.effect) == ("removed", "weakens")
    assert "loses health-based DDoS detection" in removed.reason


def test_health_check_changed_in_place_is_neutral() -> None:
    """The program replaces an association whose check changes; edited JSON changes it in place."""
    base = stack(web={"health_check": HEALTH})
    head = edited(base, HEALTH_CHECK, "store-web", lambda i: i.update(healthCheckArn=OTHER_HEALTH))
    change = only(shield_changes(base, head))
    assert (change.path, change.kind, change.effect) == (
        "health_check.healthCheckArn",
        "changed",
        "neutral",
    )
    assert change.reason.startswith(f"store/web is judged by health check {OTHER_HEALTH}")


@pytest.mark.parametrize(
    ("before", "after", "kind", "effect", "words"),
    [
        ("block", "count", "changed", "weakens", "COUNT (was BLOCK)"),
        ("count", "block", "changed", "strengthens", "BLOCK (was COUNT)"),
        ("block", "off", "removed", "weakens", "no longer mitigates HTTP floods on store/web"),
        ("off", "block", "added", "strengthens", "now blocks HTTP floods on store/web"),
        ("off", "count", "added", "neutral", "counts (does not block)"),
    ],
)
def test_l7_mitigation(before: str, after: str, kind: str, effect: str, words: str) -> None:
    base, head = stack(web={"l7_mitigation": before}), stack(web={"l7_mitigation": after})
    change = only(shield_changes(base, head))
    assert (change.subject, change.kind, change.effect) == ("store/web", kind, effect)
    assert change.path.startswith("l7_mitigation")
    assert words in change.reason


def test_group_member_removed_weakens_and_added_strengthens() -> None:
    """The program groups every protected endpoint; edited JSON leaves one out."""
    base = stack()
    api = alb_arn("store-api")
    head = edited(base, GROUP, "store", lambda i: i.update(members=[alb_arn("store-web")]))
    gone = only(shield_changes(base, head))
    assert (gone.subject, gone.kind, gone.path, gone.effect) == (
        "store",
        "removed",
        "groups[store].members[store/api]",
        "weakens",
    )
    assert gone.before == api and "store/api leaves the store protection group" in gone.reason
    came = only(shield_changes(head, base))
    assert (came.kind, came.effect) == ("added", "strengthens")


def test_group_aggregation_change_is_neutral() -> None:
    """Edited JSON: the program always aggregates a product's group as SUM."""
    base = stack()
    head = edited(base, GROUP, "store", lambda i: i.update(aggregation="MAX"))
    change = only(shield_changes(base, head))
    assert (change.path, change.effect) == ("groups[store].aggregation", "neutral")
    assert "MAX (was SUM)" in change.reason


def test_srt_access_removed_weakens_role_and_log_buckets() -> None:
    found = shield_changes(stack(), stack(srt_access=None))
    role = only(found, path="srt_access.role")
    assert (role.subject, role.kind, role.effect) == ("SRT access", "removed", "weakens")
    assert "can no longer act on WAF and Shield" in role.reason
    bucket = only(found, path="srt_access.log_buckets[example-test-waf-logs]")
    assert bucket.effect == "weakens" and "can no longer read s3://example-test-waf-logs" in (
        bucket.reason
    )


def test_srt_log_bucket_added_strengthens() -> None:
    head = stack(
        srt_access={"role": "create", "log_buckets": ["example-test-waf-logs", "more-logs"]}
    )
    change = only(shield_changes(stack(), head))
    assert (change.path, change.kind, change.effect) == (
        "srt_access.log_buckets[more-logs]",
        "added",
        "strengthens",
    )


def test_srt_role_replaced_by_an_existing_one_weakens() -> None:
    existing = "arn:aws:iam::111111111111:role/existing-srt"
    head = stack(srt_access={"role": existing, "log_buckets": ["example-test-waf-logs"]})
    change = only(shield_changes(stack(), head))
    assert (change.subject, change.path, change.after, change.effect) == (
        "SRT access",
        "srt_access.roleArn",
        existing,
        "weakens",
    )
    assert f"the SRT acts through {existing}" in change.reason and "review it" in change.reason


def test_proactive_engagement_turned_off_weakens() -> None:
    contacts = SHIELD["proactive_engagement"]["contacts"]
    head = stack(proactive_engagement={"enabled": False, "contacts": contacts})
    change = only(shield_changes(stack(), head))
    assert (change.subject, change.path, change.effect) == (
        "proactive engagement",
        "proactive_engagement.enabled",
        "weakens",
    )
    assert "no longer calls the contacts" in change.reason


def test_emergency_contact_removed_weakens_and_added_strengthens() -> None:
    one = stack(proactive_engagement={"contacts": SHIELD["proactive_engagement"]["contacts"][:1]})
    found = shield_changes(stack(), one)
    # CC_EMAILS of the escalation follows the contacts.
    contact = only(found, subject="proactive engagement")
    assert (contact.kind, contact.effect) == ("removed", "weakens")
    assert contact.path == "proactive_engagement.emergencyContacts[secops@example.com]"
    assert "no longer contacts secops@example.com" in contact.reason
    cc = only(found, subject="SRT escalation")
    assert (cc.path, cc.effect) == ("environment.CC_EMAILS[secops@example.com]", "weakens")
    added = only(shield_changes(one, stack()), subject="proactive engagement")
    assert (added.kind, added.effect) == ("added", "strengthens")


def test_emergency_contact_losing_its_phone_weakens() -> None:
    contacts = [
        {"email": "oncall@example.com", "note": "SRE on-call"},
        {"email": "secops@example.com"},
    ]
    change = only(shield_changes(stack(), stack(proactive_engagement={"contacts": contacts})))
    assert change.path == "proactive_engagement.emergencyContacts[oncall@example.com].phoneNumber"
    assert change.effect == "weakens" and "can no longer call oncall@example.com" in change.reason


def test_ddos_alarm_removed_alone_weakens() -> None:
    """Edited JSON: the program declares an alarm with every protection."""
    base = stack()
    change = only(shield_changes(base, without(base, rt.ALARM, "store-web-ddos")))
    assert (change.subject, change.kind, change.path, change.effect) == (
        "store/web",
        "removed",
        "ddos_alarm",
        "weakens",
    )
    assert "no longer alerts the urgent route" in change.reason


def test_ddos_alarm_losing_a_target_weakens() -> None:
    """Edited JSON: the program always notifies the urgent topic."""
    base = stack()
    head = edited(base, rt.ALARM, "store-api-ddos", lambda i: i.update(alarmActions=[]))
    change = only(shield_changes(base, head))
    assert (change.subject, change.kind, change.effect) == ("store/api", "removed", "weakens")
    assert change.path.startswith("ddos_alarm.alarmActions[the urgent route in ap-northeast-1")
    assert "no longer notifies the urgent route" in change.reason


@pytest.mark.parametrize(
    ("escalation", "path", "effect", "words"),
    [
        ({"severity": "high"}, "environment.SUPPORT_SEVERITY", "weakens", "high (was urgent)"),
        ({"severity": "critical"}, "environment.SUPPORT_SEVERITY", "strengthens", "critical"),
        ({"support_case": False}, "environment.SUPPORT_CASE_ENABLED", "weakens", "only logs"),
        ({"dedupe_hours": 24}, "environment.DEDUPE_HOURS", "weakens", "within 24 hours"),
        ({"dedupe_hours": 1}, "environment.DEDUPE_HOURS", "neutral", "within 1 hours"),
        ({"language": "ja"}, "environment.SUPPORT_LANGUAGE", "neutral", "written in ja"),
    ],
)
def test_escalation_settings(escalation: Any, path: str, effect: str, words: str) -> None:
    found = [c for c in shield_changes(stack(), stack(escalation=escalation)) if c.path == path]
    change = only(found, subject="SRT escalation")
    assert change.effect == effect and words in change.reason


def test_escalation_removed_is_one_weakening_line() -> None:
    found = shield_changes(stack(), stack(escalation=None))
    # The DDoS alarms' descriptions say what follows them: descriptive, neutral.
    assert {c.effect for c in found if c.path.endswith("alarmDescription")} == {"neutral"}
    change = only([c for c in found if c.effect != "neutral"])
    assert (change.subject, change.kind, change.path) == ("SRT escalation", "removed", "escalation")
    assert change.effect == "weakens"
    assert change.reason == "DDoS alarms no longer open a support case for the SRT"


def test_escalation_losing_a_region_weakens() -> None:
    """Edited JSON: the program subscribes the escalation to every alarm region's topic."""
    base = stack()
    subscription = next(r for r in base.within("guard:shield:SrtEscalation", rt.SUBSCRIPTION))
    change = only(shield_changes(base, without(base, rt.SUBSCRIPTION, subscription.name)))
    assert (change.kind, change.effect) == ("removed", "weakens")
    assert change.reason == "DDoS alarms in ap-northeast-1 no longer reach the escalation"


def test_subscription_declared_strengthens() -> None:
    change = only(shield_changes(stack(), stack(subscription="create")))
    assert (change.subject, change.path, change.kind, change.effect) == (
        "Shield Advanced",
        "subscription",
        "added",
        "strengthens",
    )


def test_shared_types_outside_the_areas_are_reported_as_other() -> None:
    """Edited JSON: an alarm under no shield, detection, alerts or logs component."""
    base = stack()
    alarm = next(r for r in base.of_type(rt.ALARM) if r.name == "store-web-ddos")
    stray = replace(
        alarm, urn=alarm.urn.replace("store-web-ddos", "stray"), name="stray", parent=None
    )
    head = replace(base, resources=(*base.resources, stray))
    added = only(changes(base, head, "other"), kind="added")
    assert (added.subject, added.effect) == ("stray (MetricAlarm)", "neutral")
    removed = only(changes(head, base, "other"), kind="removed")
    assert removed.effect == "weakens" and "review it" in removed.reason
    assert changes(base, head, "shield") == []


def test_covers_every_shield_type_and_the_shared_ones() -> None:
    assert set(DIFFER.covers) == set(rt.SHIELD_TYPES.values()) | SHARED_TYPES
