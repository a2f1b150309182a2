"""The SIEM's retention as an OpenSearch ISM policy: plain data in, the request body out.

SIEM on Amazon OpenSearch Service (aws-samples/siem-on-amazon-opensearch-service) has no
retention setting. guard writes its own Index State Management policy, ``guard-<stack>-retention``,
which a Lambda (``functions/siem_retention/handler.py``) PUTs to ``_plugins/_ism/policies/<id>``
on deploy: indices stay ``hot_days`` in the hot tier, optionally move to UltraWarm with the
``warm_migration`` action for ``warm_days``, and are then deleted. Ages are ISM's
``min_index_age``, counted from each index's creation, so an index is deleted ``hot_days`` (+
``warm_days``) after it was created, whatever it holds.

How it coexists with the SIEM's own ISM policy (an index has exactly one):

* The SIEM installs one policy, ``rollover100gb`` (``source/lambda/deploy_es/data.ini``,
  ``[index_state_management_policies]``): a 100 GB rollover with ``ism_template``
  ``log-*-00*`` at priority 0. It only concerns logs whose ``index_rotation`` is ``auto`` in the
  SIEM's user.ini (indices ``log-aws-waf-000001``... behind a rollover alias set by the
  ``log-aws-waf_rollover`` index template, ``data.ini [index-rollover]``). WAF and ELB logs rotate
  ``monthly`` by default (``source/lambda/es_loader/aws.ini``, ``[DEFAULT] index_rotation``):
  ``log-aws-waf-2026-11``, no alias, no SIEM policy. So by default guard's policy carries no
  rollover action, and must not: ISM fails a rollover action on an index without a rollover
  alias (index-management ``AttemptRolloverStep``; "The rollover policy misses rollover_alias
  index setting" in https://docs.opensearch.org/latest/im-plugin/ism/error-prevention/resolutions/).
* For a SIEM switched to ``index_rotation = auto`` for these logs, guard's template (priority
  ``ISM_TEMPLATE_PRIORITY``) would win over ``rollover100gb`` on new rollover indices and the
  rollover would be lost: pass ``rollover=SIEM_ROLLOVER`` so the hot state first rolls over on the
  SIEM's own condition, and give patterns that match only the rollover indices (``log-aws-waf-0*``).
* ``ISM_TEMPLATE_PRIORITY`` decides which policy a *new* index gets; existing indices keep
  theirs. The Lambda attaches guard's policy to matching indices that have none and reports, never
  takes over, those another policy manages.

With monthly indices, a ``hot_days`` shorter than a month deletes the current month's index while
the SIEM still writes to it (it re-creates it on the next write): such stacks should rotate
``daily`` in the SIEM's user.ini. The first deploy attaches the policy to existing indices, and
ISM then deletes those already older than the retention within minutes.

Request body shape: https://docs.opensearch.org/latest/im-plugin/ism/policies/ and
https://docs.opensearch.org/latest/im-plugin/ism/api/#create-policy.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

#: The SIEM's index names for WAF and ALB/NLB/CLB logs, with its rotation suffix: ``index_name =
#: log-aws-waf`` ([waf]) and ``log-aws-elb`` ([alb], [nlb], [clb]) in
#: source/lambda/es_loader/aws.ini of aws-samples/siem-on-amazon-opensearch-service.
DEFAULT_INDICES: tuple[str, ...] = ("log-aws-waf-*", "log-aws-elb-*")

#: Priority of guard's ism_template. ISM gives a new index the matching template of the highest
#: priority (index-management ManagedIndexCoordinator.findMatchingPolicy) and refuses a policy
#: whose template overlaps another policy's at the same priority (ISMTemplateService
#: findConflictingPolicyTemplates): the SIEM's ``rollover100gb`` uses ``log-*-00*`` at 0
#: (source/lambda/deploy_es/data.ini), which overlaps ``log-aws-waf-*``. The SIEM's docs ask for
#: priority 10 or greater for templates that override its pre-configured ones (docs/
#: configure_siem.md, "Changing OpenSearch Service Configuration Settings"; its own templates use
#: 0 to 5), and its upgrades re-PUT only its own policy ids (deploy_es/index.py upsert_policy),
#: so guard's policy and priority survive them.
ISM_TEMPLATE_PRIORITY: int = 10

#: The SIEM's own rollover condition (``rollover100gb`` in source/lambda/deploy_es/data.ini), for
#: stacks whose SIEM rotates these logs with ``index_rotation = auto``.
SIEM_ROLLOVER: Mapping[str, str] = {"min_size": "100gb"}

#: UltraWarm migrations are slow and retried; AWS's sample hot-warm policy retries 5 times an hour
#: apart (https://docs.aws.amazon.com/opensearch-service/latest/developerguide/ism.html). All three
#: fields are given, as ISM stores them, so the stored policy compares equal to this one.
WARM_RETRY: Mapping[str, Any] = {"count": 5, "backoff": "exponential", "delay": "1h"}

HOT, WARM, DELETE = "hot", "warm", "delete"
_AGE_RE = re.compile(r"^([1-9][0-9]*)d$")
#: Index names are lowercase, do not start with _ or -, and hold no space , : " + / \ | ? # > <
#: ("Index naming restrictions", https://docs.opensearch.org/latest/api-reference/index-apis/
#: create-index/); '*' is the pattern wildcard. A pattern of only '*' would also match the security
#: plugin's system indices (ISM API docs, "Add policy").
_PATTERN_RE = re.compile(r"^[a-z0-9*][^\\/?\"<>| ,#:+A-Z]{0,254}$")


def policy_id(stack: str) -> str:
    """The id of the stack's retention policy in the domain."""
    return f"guard-{stack}-retention"


def _days(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a whole number of days, 1 or more, got {value!r}")
    return value


def check_index_pattern(pattern: object) -> str:
    """``pattern`` if it is an index name or pattern ISM can take, else ValueError saying why
    (the config model uses it too, so the stack file and the policy refuse the same patterns)."""
    if not isinstance(pattern, str) or not _PATTERN_RE.match(pattern):
        raise ValueError(
            f"index pattern {pattern!r} is not an OpenSearch index name or pattern: lowercase, "
            "'*' as wildcard, none of space , : \" + / \\ | ? # > <, not starting with _ or -, "
            "e.g. log-aws-waf-*"
        )
    if set(pattern) == {"*"}:
        raise ValueError(f"index pattern {pattern!r} would match every index, system ones too")
    return pattern


def sorted_patterns(indices: Sequence[str]) -> list[str]:
    """The patterns checked, sorted and unique: the same set always gives the same body, and
    so no update."""
    if isinstance(indices, str) or not indices:
        raise ValueError("indices must be a non-empty list of index patterns")
    return sorted({check_index_pattern(pattern) for pattern in indices})


def retention_policy(
    *,
    hot_days: int,
    warm_days: int | None,
    indices: Sequence[str],
    description: str,
    rollover: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The body of ``PUT _plugins/_ism/policies/<policy_id>`` keeping ``indices`` for
    ``hot_days`` (then ``warm_days`` in UltraWarm when set) before deleting them.

    ``rollover`` (e.g. ``SIEM_ROLLOVER``) makes the hot state roll over first, for indices behind
    a rollover alias only (see the module docstring).
    """
    hot = _days("hot_days", hot_days)
    warm = None if warm_days is None else _days("warm_days", warm_days)
    if not isinstance(description, str) or not description.strip():
        raise ValueError("description must be a non-empty string")
    patterns = sorted_patterns(indices)
    hot_actions: list[dict[str, Any]] = []
    if rollover is not None:
        if not rollover:
            raise ValueError("rollover needs at least one condition, e.g. {'min_size': '100gb'}")
        hot_actions.append({"rollover": dict(sorted(rollover.items()))})
    delete_state = {"name": DELETE, "actions": [{"delete": {}}], "transitions": []}
    if warm is None:
        states = [
            {"name": HOT, "actions": hot_actions, "transitions": [_transition(DELETE, hot)]},
            delete_state,
        ]
    else:
        states = [
            {"name": HOT, "actions": hot_actions, "transitions": [_transition(WARM, hot)]},
            {
                "name": WARM,
                "actions": [{"retry": dict(WARM_RETRY), "warm_migration": {}}],
                "transitions": [_transition(DELETE, hot + warm)],
            },
            delete_state,
        ]
    return {
        "policy": {
            "description": description,
            "default_state": HOT,
            "states": states,
            "ism_template": [{"index_patterns": patterns, "priority": ISM_TEMPLATE_PRIORITY}],
        }
    }


def _transition(state: str, days: int) -> dict[str, Any]:
    return {"state_name": state, "conditions": {"min_index_age": f"{days}d"}}


def _chain(body: Any) -> list[tuple[Mapping[str, Any], int | None]]:
    """The states from the default one along their single transitions, each with the age
    (days) that leads out of it; the last one deletes. ValueError for any other shape."""
    policy = body.get("policy") if isinstance(body, Mapping) else None
    if not isinstance(policy, Mapping):
        raise ValueError("not an ISM policy body: no 'policy' object")
    states = policy.get("states")
    if not isinstance(states, list) or not all(isinstance(s, Mapping) for s in states):
        raise ValueError("not an ISM policy body: 'states' is not a list of objects")
    by_name = {s.get("name"): s for s in states}
    chain: list[tuple[Mapping[str, Any], int | None]] = []
    name = policy.get("default_state")
    while True:
        state = by_name.get(name)
        if state is None or any(state is seen for seen, _ in chain):
            raise ValueError(f"state {name!r} is missing or reached twice")
        actions = state.get("actions") or []
        transitions = state.get("transitions") or []
        if any(isinstance(a, Mapping) and DELETE in a for a in actions):
            if transitions:
                raise ValueError(f"state {name!r} deletes but still has transitions")
            chain.append((state, None))
            return chain
        if len(transitions) != 1 or not isinstance(transitions[0], Mapping):
            raise ValueError(f"state {name!r} needs exactly one transition, or a delete action")
        conditions = transitions[0].get("conditions")
        age = conditions.get("min_index_age") if isinstance(conditions, Mapping) else None
        if not isinstance(conditions, Mapping) or set(conditions) != {"min_index_age"}:
            raise ValueError(f"state {name!r} does not transition on min_index_age alone")
        match = _AGE_RE.match(age) if isinstance(age, str) else None
        if match is None:
            raise ValueError(f"state {name!r} transitions at {age!r}, not a whole number of days")
        days = int(match.group(1))
        if chain and days <= (chain[-1][1] or 0):
            raise ValueError(f"state {name!r} is left at {days}d, before the state it follows")
        chain.append((state, days))
        name = transitions[0].get("state_name")


def hot_days_of(body: Any) -> int:
    """Days an index stays in the default (hot) state of a policy body ``retention_policy`` made."""
    days = _chain(body)[0][1]
    if days is None:
        raise ValueError("the default state deletes at once: no hot days")
    return days


def delete_after_days_of(body: Any) -> int:
    """Days after its creation at which the policy deletes an index (hot plus warm days)."""
    chain = _chain(body)
    days = chain[-2][1] if len(chain) >= 2 else None
    if days is None:
        raise ValueError("the policy never waits before deleting")
    return days


def retention_event(*, endpoint: str, region: str, policy_id: str, body: dict) -> dict:
    """The retention function's event: where to apply which policy (its ``handler`` docstring)."""
    if not isinstance(endpoint, str) or not endpoint.startswith(("https://", "http://")):
        raise ValueError(f"endpoint must be an https:// URL, got {endpoint!r}")
    if not region or not policy_id:
        raise ValueError("region and policy_id must be non-empty")
    hot_days_of(body)  # the function only applies bodies of this module's shape
    return {
        "endpoint": endpoint.rstrip("/"),
        "region": region,
        "policy_id": policy_id,
        "policy": body,
    }
