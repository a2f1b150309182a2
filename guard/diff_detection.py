"""``guard diff`` for threat detection and alert routing (areas ``detection`` and ``alerts``).

Detection: GuardDuty's detector and features, Security Hub's account, standards and disabled
controls, and the EventBridge rules that route findings to a channel, whose patterns are
compared as the sets of events they match: a narrower pattern weakens, a wider one strengthens,
and one guard cannot order weakens. Alerts: the SNS topics of each route, the AWS Chatbot
Slack channels they feed, and the e-mail subscribers of the urgent route.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from guard import resource_types as rt
from guard.detection_catalog import arn_resource, standard_of_arn
from guard.diff_model import (
    ALL_INPUTS,
    AreaDiffer,
    Change,
    Effect,
    PlanDocument,
    PlanResource,
    compact,
    parse_json_text,
)
from guard.diff_parts import (
    ALERT_TOPIC_RE,
    Handler,
    Report,
    both,
    flip,
    inputs_changed,
    note,
    ordered,
    pairs,
    presence,
    review,
    set_changes,
    side,
    target_name,
    toggle,
)

DETECTION = "guard:detection:ThreatDetection"
ALERTS = "guard:alerts:AlertRouting"
#: The components this differ reads its types under (area names of the type tokens).
DETECTION_PREFIX, ALERTS_PREFIX = "guard:detection:", "guard:alerts:"
#: GuardDuty's republishing intervals, from the slowest (weakest) to the fastest.
FREQUENCIES = ("SIX_HOURS", "ONE_HOUR", "FIFTEEN_MINUTES")
#: An event pattern's source, as the service and what its events are called.
SERVICES = {
    "aws.guardduty": ("GuardDuty", "findings"),
    "aws.securityhub": ("Security Hub", "findings"),
    "aws.trustedadvisor": ("Trusted Advisor", "check results"),
}
#: Pattern fields every rule of a service has: the rest says which events a route takes.
ENVELOPE = ("source", "detail-type")


# --- GuardDuty and Security Hub ----------------------------------------------------------------


def _guardduty(base: PlanDocument, head: PlanDocument, out: list[Change]) -> None:
    report = Report("detection", "GuardDuty", out)
    handlers: dict[str, Handler] = {
        "enable": toggle("GuardDuty [starts again|stops: no new findings]"),
        "findingPublishingFrequency": ordered(
            FREQUENCIES, "updated GuardDuty findings now reach Slack after up to"
        ),
    }
    for pair in pairs(base.within(DETECTION, rt.DETECTOR), head.within(DETECTION, rt.DETECTOR)):
        resource, kind = side(pair)
        if kind is None:
            inputs_changed(report, "detector", *both(pair), handlers)
        else:
            text = (
                "GuardDuty [is enabled|is deleted: no threat detection, its findings history lost]"
            )
            presence(report, kind, "detector", pair, text)
    features = (d.within(DETECTION, rt.DETECTOR_FEATURE) for d in (base, head))
    for pair in pairs(*features):
        resource, kind = side(pair)
        name = str(resource.inputs.get("name", resource.name))
        path = f"features[{name}]"
        if kind is None:
            feature: dict[str, Handler] = {
                "status": toggle(f"GuardDuty [starts|stops] {name}"),
                "additionalConfigurations": _extras(name),
            }
            inputs_changed(report, path, *both(pair), feature)
        else:
            on = resource.inputs.get("status") == "ENABLED"
            text = f"GuardDuty [{'starts' if on else 'declares (disabled)'}|stops] {name}"
            presence(report, kind, path, pair, text, "strengthens" if on else "neutral")


def _extras(feature: str) -> Handler:
    """A feature's additional configurations (Runtime Monitoring's agent management)."""

    def handler(report: Report, path: str, old: Any, new: Any) -> None:
        def enabled(values: Any) -> list[str]:
            return [str(c.get("name")) for c in values or [] if c.get("status") == "ENABLED"]

        text = f"GuardDuty [starts|stops] {feature}'s {{}}"
        set_changes(report, path, enabled(old), enabled(new), text)

    return handler


def standard_name(arn: Any) -> tuple[str, str]:
    """A standards ARN as the catalog's alias and title; else its resource part, twice."""
    standard = standard_of_arn(arn)
    if standard is None:
        return arn_resource(arn), arn_resource(arn)
    return standard.alias, standard.title


def _security_hub(base: PlanDocument, head: PlanDocument, out: list[Change]) -> None:
    report = Report("detection", "Security Hub", out)
    account: dict[str, Handler] = {
        "autoEnableControls": toggle(
            "new controls of subscribed standards [are|are no longer] enabled automatically"
        ),
        "enableDefaultStandards": toggle(
            "Security Hub [also|no longer] enables its default standards"
        ),
        "controlFindingGenerator": note("Security Hub generates control findings as"),
    }
    for pair in pairs(base.within(DETECTION, rt.HUB), head.within(DETECTION, rt.HUB)):
        _, kind = side(pair)
        if kind is None:
            inputs_changed(report, "account", *both(pair), account)
        else:
            text = "Security Hub [is enabled|is disabled: no standard checks, no findings]"
            presence(report, kind, "account", pair, text)
    for pair in pairs(base.within(DETECTION, rt.STANDARD), head.within(DETECTION, rt.STANDARD)):
        resource, kind = side(pair)
        alias, title = standard_name(resource.inputs.get("standardsArn"))
        if kind is None:
            inputs_changed(report, f"standards[{alias}]", *both(pair), {})
        else:
            text = f"Security Hub [now checks|stops checking] {title}"
            presence(report, kind, f"standards[{alias}]", pair, text)
    for pair in pairs(base.within(DETECTION, rt.CONTROL), head.within(DETECTION, rt.CONTROL)):
        resource, kind = side(pair)
        alias, title = standard_name(resource.inputs.get("standardsArn"))
        control = resource.inputs.get("securityControlId")
        path = f"controls[{alias}/{control}]"
        checked = f"{control} [is checked again|is no longer checked] in {title}"
        if kind is None:
            handlers = {
                "associationStatus": toggle(checked),
                "updatedReason": note(f"why {control} is disabled in {title}:"),
            }
            inputs_changed(report, path, *both(pair), handlers)
            continue
        before, after = (dict(r.inputs) if r is not None else None for r in pair)
        if resource.inputs.get("associationStatus") != "DISABLED":
            # An enabled control is AWS's default: declaring it or not changes no check.
            text = f"guard [now|no longer] asserts that {control} is checked in {title}"
            report.add(kind, path, before, after, "neutral", flip(text, kind))
        elif kind == "added":
            why = resource.inputs.get("updatedReason")
            report.add(kind, path, before, after, "weakens", flip(checked, "removed") + f": {why}")
        else:
            report.add(kind, path, before, after, "strengthens", flip(checked, "added"))


# --- routing: EventBridge rules and targets ----------------------------------------------------


def flat(pattern: Any, prefix: str = "") -> dict[str, list[Any]]:
    """An event pattern as ``field path -> match list``."""
    out: dict[str, list[Any]] = {}
    for key, value in (pattern if isinstance(pattern, Mapping) else {}).items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, Mapping):
            out.update(flat(value, path))
        else:
            out[path] = value if isinstance(value, list) else [value]
    return out


def _operator(values: list[Any], name: str) -> Any:
    """The operand of a list holding one ``{name: ...}`` matcher (numeric, anything-but)."""
    if len(values) == 1 and isinstance(values[0], Mapping) and set(values[0]) == {name}:
        return values[0][name]
    return None


def _interval(values: list[Any]) -> tuple[float, float] | None:
    """A numeric matcher as its bounds (``>`` read as ``>=``: equal bounds are not compared)."""
    ops = _operator(values, "numeric")
    if not isinstance(ops, list):
        return None
    low, high = float("-inf"), float("inf")
    for op, bound in zip(ops[::2], ops[1::2], strict=False):
        if op in (">", ">=", "="):
            low = max(low, float(bound))
        if op in ("<", "<=", "="):
            high = min(high, float(bound))
    return low, high


def _words(value: Any) -> str:
    """One operand in words, without brackets (reasons use ``[a|b]`` as markup)."""
    if isinstance(value, list):
        return ", ".join(_words(v) for v in value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {_words(v)}" for k, v in value.items())
    return value if isinstance(value, str) else compact(value)


def _matcher_words(value: Any) -> str:
    """One element of a match list: a value or a ``{operator: operand}`` matcher."""
    if isinstance(value, Mapping) and len(value) == 1:
        ((op, arg),) = value.items()
        if op == "numeric" and isinstance(arg, list):
            return " and ".join(
                f"{o} {bound}" for o, bound in zip(arg[::2], arg[1::2], strict=False)
            )
        if op == "anything-but":
            return f"anything but {_words(arg)}"
        if op == "exists":
            return "present" if arg else "absent"
        return f"{op} {_words(arg)}"
    return _words(value)


def describe(values: list[Any] | None) -> str:
    """A match list as a reader says it: ``>= 7.0``, ``CRITICAL, HIGH``, ``anything but X``;
    a list holding matchers is an OR of them."""
    if values is None:
        return "anything"
    if any(isinstance(v, Mapping) for v in values):
        return " or ".join(_matcher_words(v) for v in values)
    return ", ".join(_words(v) for v in values)


def _matching(old: list[Any], new: list[Any]) -> tuple[Effect, str]:
    """Whether a field's new match list takes fewer events (weakens) or more (strengthens)."""
    a, b = _interval(old), _interval(new)
    if a and b:
        if a != b and b[0] >= a[0] and b[1] <= a[1]:
            return "weakens", "fewer"
        if a != b and b[0] <= a[0] and b[1] >= a[1]:
            return "strengthens", "more"
        return "weakens", "different"
    a_but, b_but = _operator(old, "anything-but"), _operator(new, "anything-but")
    if a_but is not None and b_but is not None:
        # An operand may be a dict ({"suffix": ...}): compared by its JSON text.
        a_set, b_set = (
            {compact(v) for v in (x if isinstance(x, list) else [x])} for x in (a_but, b_but)
        )
        return ("strengthens", "more") if b_set < a_set else ("weakens", "fewer")
    if (
        a_but is None
        and b_but is None
        and all(not isinstance(v, Mapping | list) for v in [*old, *new])
    ):
        return ("weakens", "values") if set(old) - set(new) else ("strengthens", "values")
    return "weakens", "different"


def route_of(rule: PlanResource | None, target: PlanResource | None) -> str:
    """The route a rule announces to: its target's alert topic, else the rule's ``route`` tag."""
    match = ALERT_TOPIC_RE.match(str(target.inputs.get("arn"))) if target else None
    if match:
        return match["route"]
    return str(((rule.inputs.get("tags") or {}) if rule else {}).get("route", "?"))


def _rule_words(rule: PlanResource, target: PlanResource | None) -> tuple[str, str, str, str]:
    """A rule's service, its events' noun, its route and the summary of what it matches."""
    matches = flat(parse_json_text(rule.inputs.get("eventPattern")) or {})
    source = (matches.get("source") or [None])[0]
    service, noun = SERVICES.get(str(source), (rule.name, "events"))
    fields = [(k, v) for k, v in matches.items() if k not in ENVELOPE]
    # The first condition, and the resource type that tells GuardDuty's rules of a route apart.
    shown = fields[:1] + [(k, v) for k, v in fields[1:] if k.endswith(".resourceType")]
    summary = ", ".join(f"{k.rsplit('.', 1)[-1]} {describe(v)}" for k, v in shown) or "all"
    return service, noun, route_of(rule, target), summary


def pattern(who: str, channel: str, judge_matchers: bool = True) -> Handler:
    """Which events a rule sends ``who`` (``GuardDuty findings``) to ``channel``: a condition
    added narrows it (weakens), one dropped widens it, a value lost weakens. Matchers (numeric,
    anything-but) are compared as the events they take; without ``judge_matchers``, reviewed."""

    def handler(report: Report, path: str, old: Any, new: Any) -> None:
        before, after = flat(old), flat(new)
        for field in sorted(before.keys() | after.keys()):
            a, b = before.get(field), after.get(field)
            if a == b:
                continue
            short = field.rsplit(".", 1)[-1]
            if a is None or b is None:
                # A new condition narrows the rule; a condition dropped widens it.
                effect: Effect = "weakens" if a is None else "strengthens"
                reason = (
                    f"fewer {who} reach {channel}: only those with {short} {describe(b)}"
                    if a is None
                    else f"more {who} reach {channel}: any {short} (was {describe(a)})"
                )
            elif judge_matchers or all(not isinstance(v, Mapping | list) for v in [*a, *b]):
                effect, how = _matching(a, b)
                lost, gained = [v for v in a if v not in b], [v for v in b if v not in a]
                parts = [f"with {short} {describe(lost)} no longer reach"] if lost else []
                parts += [f"with {short} {describe(gained)} now reach"] if gained else []
                reason = (
                    f"{who} " + " and ".join(parts) + f" {channel}"
                    if how == "values"
                    else f"{how} {who} reach {channel}: {short} {describe(b)} (was {describe(a)})"
                )
            else:
                effect = "weakens"
                reason = f"{who} reach {channel} with {short} {describe(b)} (was {describe(a)})"
                reason += ": review it"
            report.add("changed", f"{path}.{field}", a, b, effect, reason)

    return handler


def _routing(base: PlanDocument, head: PlanDocument, out: list[Change]) -> None:
    """The rules that announce findings, and their targets (which route's topic)."""
    targets = [
        {t.inputs.get("rule"): t for t in d.within(DETECTION, rt.EVENT_TARGET)}
        for d in (base, head)
    ]
    moved_rules: dict[str, str] = {}
    for pair in pairs(base.within(DETECTION, rt.EVENT_RULE), head.within(DETECTION, rt.EVENT_RULE)):
        resource, kind = side(pair)
        rule_name = resource.inputs.get("name")
        target = targets[1].get(rule_name) or targets[0].get(rule_name)
        service, noun, route, summary = _rule_words(resource, target)
        report = Report("detection", service, out)
        path = f"rules[{resource.name}]"
        if kind is None:
            handlers = {
                "eventPattern": pattern(f"{service} {noun}", f"the {route} channel"),
                "name": note("the rule is renamed"),
                "state": toggle(f"the rule [announces|no longer announces] {service} {noun}"),
            }
            inputs_changed(report, path, *both(pair), handlers)
        else:
            # Its target comes and goes with it.
            moved_rules[str(rule_name)] = kind
            text = f"{service} {noun} ({summary}) [now|no longer] reach the {route} channel"
            presence(report, kind, path, pair, text)
    # The head's rule names a target's service and route; the base's, a target that went.
    rules = {
        r.inputs.get("name"): r for d in (base, head) for r in d.within(DETECTION, rt.EVENT_RULE)
    }
    for pair in pairs(
        base.within(DETECTION, rt.EVENT_TARGET), head.within(DETECTION, rt.EVENT_TARGET)
    ):
        resource, kind = side(pair)
        rule_name = str(resource.inputs.get("rule"))
        if kind is not None and moved_rules.get(rule_name) == kind:
            continue
        rule = rules.get(rule_name)
        service, noun, route, summary = (
            _rule_words(rule, resource) if rule else (rule_name, "events", "?", "")
        )
        report = Report("detection", service, out)
        path = f"rules[{rule.name if rule else rule_name}].target"
        if kind is not None:
            where = target_name(str(resource.inputs.get("arn")))
            text = f"{service} {noun} ({summary}) [now also go to|no longer go to] {where}"
            presence(report, kind, path, pair, text)
            continue
        handlers = {
            "arn": rerouted(f"{service} {noun} ({summary})"),
            "inputTransformer": slack_message(f"{service} event"),
        }
        inputs_changed(report, path, *both(pair), handlers)


def rerouted(what: str) -> Handler:
    """A rule's target moved: to the urgent route strengthens; anywhere else weakens (another
    region's or account's topic may not even receive the rule's events)."""

    def handler(report: Report, path: str, old: Any, new: Any) -> None:
        a, b = (ALERT_TOPIC_RE.match(str(v)) for v in (old, new))
        up = bool(a and b and (a["route"], b["route"]) == ("normal", "urgent"))
        text = f"{what} now go to {target_name(str(new))} (was {target_name(str(old))})"
        report.add("moved", path, old, new, "strengthens" if up else "weakens", text)

    return handler


def slack_message(what: str) -> Handler:
    """A target's input transformer: the Slack message built from each of ``what``."""

    def handler(report: Report, path: str, old: Any, new: Any) -> None:
        # A template Chatbot cannot render drops the alert silently; guard does not render it.
        text = f"the Slack message built from each {what} changes: check that it still renders"
        report.add("changed", path, old, new, "weakens", text)

    return handler


# --- alerts: topics, Slack channels, e-mail ----------------------------------------------------


def _route(resource: PlanResource) -> str:
    tags = resource.inputs.get("tags") or {}
    match = ALERT_TOPIC_RE.match(str(resource.inputs.get("topic", "")))
    return str(tags.get("route") or (match["route"] if match else resource.name))


def _region(arn: Any) -> str:
    match = ALERT_TOPIC_RE.match(str(arn))
    return match["region"] if match else str(arn)


def _slack_handlers(route: str) -> dict[str, Handler]:
    """A Slack channel configuration's inputs: where the route's alerts go, who may act."""

    def moved(what: str) -> Handler:
        def handler(report: Report, path: str, old: Any, new: Any) -> None:
            text = f"{route} alerts move to Slack {what} {new} (was {old})"
            report.add("moved", path, old, new, "neutral", text)

        return handler

    def topics(report: Report, path: str, old: Any, new: Any) -> None:
        text = f"{route} alerts raised in {{}} [now reach|no longer reach] Slack"
        set_changes(report, path, old or [], new or [], text, label=_region)

    def guardrails(report: Report, path: str, old: Any, new: Any) -> None:
        text = "guardrail {} [now caps|no longer caps] what the channel's members can do"
        set_changes(report, path, old or [], new or [], text)

    return {
        "slackChannelId": moved("channel"),
        "slackTeamId": moved("workspace"),
        "snsTopicArns": topics,
        "guardrailPolicyArns": guardrails,
        "loggingLevel": note("Chatbot logs its errors at level"),
        "configurationName": note("the configuration is renamed"),
    }


def _alerts(base: PlanDocument, head: PlanDocument, out: list[Change]) -> None:
    for pair in pairs(base.within(ALERTS, rt.CHATBOT), head.within(ALERTS, rt.CHATBOT)):
        resource, kind = side(pair)
        route = _route(resource)
        report = Report("alerts", f"{route} route", out)
        if kind is not None:
            text = f"{route} alerts [now reach|no longer reach] Slack channel {resource.inputs.get('slackChannelId')}"
            presence(report, kind, "slack", pair, text)
            continue

        inputs_changed(report, "slack", *both(pair), _slack_handlers(route))
    emails = [d.within(ALERTS, rt.SUBSCRIPTION) for d in (base, head)]
    for pair in pairs(*emails):
        resource, kind = side(pair)
        route, endpoint = _route(resource), resource.inputs.get("endpoint")
        region = _region(resource.inputs.get("topic"))
        report = Report("alerts", f"{route} route", out)
        path = f"emails[{endpoint}].{region}"
        if kind is None:
            inputs_changed(report, path, *both(pair), {})
        else:
            text = f"{endpoint} [now receives|no longer receives] {route} alerts raised in {region}"
            presence(report, kind, path, pair, text)
    for pair in pairs(base.within(ALERTS, rt.TOPIC), head.within(ALERTS, rt.TOPIC)):
        resource, kind = side(pair)
        route, region = _route(resource), str(resource.region)
        report = Report("alerts", f"{route} route", out)
        path = f"topics[{region}]"
        if kind is None:
            inputs_changed(report, path, *both(pair), {"kmsMasterKeyId": _topic_key})
        else:
            text = f"{route} alerts raised in {region} [now have a topic|have nowhere to go: their topic is deleted]"
            presence(report, kind, path, pair, text)


def _topic_key(report: Report, path: str, old: Any, new: Any) -> None:
    if not new:
        report.add("changed", path, old, new, "weakens", "alerts are no longer encrypted at rest")
    elif not old:
        report.add("changed", path, old, new, "strengthens", f"alerts are now encrypted with {new}")
    else:
        review(report, path, old, new)  # another key: who may use it is the key policy's say


def compare(base: PlanDocument, head: PlanDocument) -> list[Change]:
    """Every detection and alerting change from ``base`` to ``head``."""
    out: list[Change] = []
    _guardduty(base, head, out)
    _security_hub(base, head, out)
    _routing(base, head, out)
    _alerts(base, head, out)
    return out


DIFFER = AreaDiffer(
    "detection",
    {
        **dict.fromkeys(
            (
                rt.DETECTOR,
                rt.DETECTOR_FEATURE,
                rt.HUB,
                rt.STANDARD,
                rt.CONTROL,
                rt.CHATBOT,
                rt.TOPIC,
            ),
            ALL_INPUTS,
        ),
        # Shared with other areas: each reports those under its own components (within).
        **dict.fromkeys((rt.EVENT_RULE, rt.EVENT_TARGET, rt.SUBSCRIPTION), ALL_INPUTS),
    },
    compare,
    within=(DETECTION_PREFIX, ALERTS_PREFIX),
)
