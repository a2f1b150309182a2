"""``guard diff`` for Shield Advanced: protections, groups, SRT access, DDoS alarms, escalation.

Changes are read per endpoint (``product/endpoint``, from the catalog components' inputs): a
protection that goes takes its DDoS alarm, health check and L7 mitigation with it, and is said
in one line. It is built, like the detection and logs differs, from ``guard/diff_parts.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from guard import resource_types as rt
from guard.diff_model import (
    ALL_INPUTS,
    AreaDiffer,
    Change,
    Effect,
    Kind,
    PlanDocument,
)
from guard.diff_parts import (
    ALERT_TOPIC_RE,
    LOG_HANDLERS,
    SHARED_TYPES,
    Handler,
    Report,
    alarm_handlers,
    both,
    endpoint_names,
    env_handler,
    flip,
    inputs_changed,
    more_is_stronger,
    note,
    ordered,
    pairs,
    plumbing,
    presence,
    set_changes,
    side,
    toggle,
)
from guard.shield_alarms import watched_resource

# --- Shield ----------------------------------------------------------------------------------

SHIELD = "guard:shield:ShieldAdvanced"
ESCALATION = "guard:shield:SrtEscalation"
T = rt.SHIELD_TYPES
SEVERITIES = ("low", "normal", "high", "urgent", "critical")


class _Endpoints:
    """Endpoint names, and what came or went with each endpoint's protection.

    A protection that goes takes its DDoS alarm, health check, L7 mitigation and group
    membership with it: those are named on the protection's line rather than reported again.
    """

    def __init__(self, base: PlanDocument, head: PlanDocument) -> None:
        self.names = endpoint_names(base, head)
        self.moved: dict[str, Kind] = {}
        for pair in pairs(base.of_type(T["protection"]), head.of_type(T["protection"])):
            resource, kind = side(pair)
            if kind is not None:
                self.moved[str(resource.inputs.get("resourceArn"))] = kind
        self.extras: dict[str, list[str]] = {arn: [] for arn in self.moved}
        # A health check association names its protection by ID; both share the logical name.
        self.arn_by_key = {
            r.name: str(r.inputs.get("resourceArn"))
            for d in (base, head)
            for r in d.of_type(T["protection"])
        }

    def name(self, arn: Any) -> str:
        return self.names.get(str(arn), str(arn))

    def folded(self, arn: str, kind: Kind | None, what: str) -> bool:
        """Whether a change goes with its endpoint's protection (then noted on its line)."""
        if kind is not None and self.moved.get(arn) == kind:
            self.extras[arn].append(what)
            return True
        return False


def _endpoint_parts(
    base: PlanDocument, head: PlanDocument, ends: _Endpoints, out: list[Change]
) -> None:
    """DDoS alarms, health-check associations and L7 automatic responses, per endpoint."""
    ddos = [
        [a for a in d.within(SHIELD, rt.ALARM) if watched_resource(a.inputs)] for d in (base, head)
    ]
    for pair in pairs(*ddos):
        resource, kind = side(pair)
        arn = str(watched_resource(resource.inputs))
        report = Report("shield", ends.name(arn), out)
        if kind is None:
            handlers = alarm_handlers(f"{ends.name(arn)}'s DDoS alarm")
            inputs_changed(report, "ddos_alarm", *both(pair), handlers)
        elif not ends.folded(arn, kind, "its DDoS alarm"):
            text = f"a DDoS event on {ends.name(arn)} [now alerts|no longer alerts] the urgent "
            presence(report, kind, "ddos_alarm", pair, text + "route and the SRT escalation")
    for pair in pairs(base.of_type(T["health"]), head.of_type(T["health"])):
        resource, kind = side(pair)
        arn = ends.arn_by_key.get(resource.name, resource.name)
        report = Report("shield", ends.name(arn), out)
        if kind is None:
            handlers = {"healthCheckArn": note(f"{ends.name(arn)} is judged by health check")}
            inputs_changed(report, "health_check", *both(pair), handlers)
        elif not ends.folded(arn, kind, "health-based detection"):
            text = f"{ends.name(arn)} [gains|loses] health-based DDoS detection[ ({{}})|: slower, "
            text += "less accurate detection and no proactive engagement for it]"
            presence(
                report,
                kind,
                "health_check",
                pair,
                text.replace("{}", str(resource.inputs.get("healthCheckArn"))),
            )
    for pair in pairs(base.of_type(T["l7"]), head.of_type(T["l7"])):
        resource, kind = side(pair)
        arn, action = str(resource.inputs.get("resourceArn")), resource.inputs.get("action")
        report = Report("shield", ends.name(arn), out)
        if kind is None:
            scale = ordered(["COUNT", "BLOCK"], f"Shield's L7 mitigation on {ends.name(arn)}:")
            inputs_changed(report, "l7_mitigation", *both(pair), {"action": scale})
        elif not ends.folded(arn, kind, f"automatic L7 mitigation ({action})"):
            verb = "blocks" if action == "BLOCK" else "counts (does not block)"
            text = f"Shield [now {verb}|no longer mitigates] HTTP floods on {ends.name(arn)} automatically"
            came: Effect = "strengthens" if action == "BLOCK" else "neutral"
            presence(
                report, kind, "l7_mitigation", pair, text + flip(f"[| (was {action})]", kind), came
            )


def _groups(base: PlanDocument, head: PlanDocument, ends: _Endpoints, out: list[Change]) -> None:
    def members(report: Report, path: str, old: Any, new: Any) -> None:
        # Members whose protection came or went are said on the protection's line.
        gone = [m for m in old or [] if m not in (new or []) and ends.moved.get(m) != "removed"]
        came = [m for m in new or [] if m not in (old or []) and ends.moved.get(m) != "added"]
        text = f"{{}} [joins|leaves] the {report.subject} protection group"
        set_changes(report, path, gone, came, text, label=ends.name)

    handlers = {
        "members": members,
        "aggregation": note("the group's traffic is aggregated as"),
        "pattern": note("the group's members are chosen as"),
        "protectionGroupId": note("the group is renamed"),
        "resourceType": note("the group holds resources of type"),
    }
    for pair in pairs(base.of_type(T["group"]), head.of_type(T["group"])):
        resource, kind = side(pair)
        report = Report("shield", resource.name, out)
        path = f"groups[{resource.name}]"
        if kind is None:
            inputs_changed(report, path, *both(pair), handlers)
        else:
            count = len(resource.inputs.get("members") or [])
            text = f"Shield [now detects|no longer detects] attacks across {resource.name}'s "
            presence(report, kind, path, pair, text + f"{count} endpoint(s) as one group")


def _protections(
    base: PlanDocument, head: PlanDocument, ends: _Endpoints, out: list[Change]
) -> None:
    for pair in pairs(base.of_type(T["protection"]), head.of_type(T["protection"])):
        resource, kind = side(pair)
        arn = str(resource.inputs.get("resourceArn"))
        report = Report("shield", ends.name(arn), out)
        path = f"protections[{ends.name(arn)}]"
        if kind is None:
            inputs_changed(report, path, *both(pair), {"name": note("the protection is renamed")})
        else:
            extras = ends.extras.get(arn)
            text = f"{ends.name(arn)} [gains|loses] Shield Advanced protection"
            presence(
                report, kind, path, pair, text + (f" (with {', '.join(extras)})" if extras else "")
            )


def _srt_access(base: PlanDocument, head: PlanDocument, out: list[Change]) -> None:
    """The SRT's role association and the log buckets it may read during an attack."""
    report = Report("shield", "SRT access", out)

    def role(report: Report, path: str, old: Any, new: Any) -> None:
        text = f"the SRT acts through {new} (was {old}); guard does not know what that role may do"
        report.add("changed", path, old, new, "weakens", text + ": review it")

    for pair in pairs(base.of_type(T["drt_role"]), head.of_type(T["drt_role"])):
        resource, kind = side(pair)
        if kind is None:
            inputs_changed(report, "srt_access", *both(pair), {"roleArn": role})
        else:
            text = "the SRT [can now|can no longer] act on WAF and Shield during an attack"
            presence(
                report, kind, "srt_access.role", pair, f"{text} ({resource.inputs.get('roleArn')})"
            )
    for pair in pairs(base.of_type(T["drt_logs"]), head.of_type(T["drt_logs"])):
        resource, kind = side(pair)
        bucket = resource.inputs.get("logBucket")
        path = f"srt_access.log_buckets[{bucket}]"
        if kind is None:
            inputs_changed(report, path, *both(pair), {})
        else:
            text = f"the SRT [may now|can no longer] read s3://{bucket} during an attack"
            presence(report, kind, path, pair, text)


def _engagement(base: PlanDocument, head: PlanDocument, out: list[Change]) -> None:
    """Proactive engagement: whether the SRT calls when an attack starts, and whom."""
    report = Report("shield", "proactive engagement", out)

    def email(contact: Mapping[str, Any]) -> str:
        return str(contact.get("emailAddress", "")).lower()

    def contacts(report: Report, path: str, old: Any, new: Any) -> None:
        text = "the SRT [also contacts|no longer contacts] {} during an attack"
        set_changes(report, path, old or [], new or [], text, label=email)
        olds, news = {email(c): c for c in old or []}, {email(c): c for c in new or []}
        for address in sorted(olds.keys() & news.keys()):
            a, b = olds[address].get("phoneNumber"), news[address].get("phoneNumber")
            if a != b:
                effect: Effect = (
                    "weakens" if b is None else "strengthens" if a is None else "neutral"
                )
                text = (
                    f"the SRT calls {address} at {b}"
                    if b
                    else f"the SRT can no longer call {address}"
                )
                report.add("changed", f"{path}[{address}].phoneNumber", a, b, effect, text)
            a, b = olds[address].get("contactNotes"), news[address].get("contactNotes")
            if a != b:
                note(f"the SRT's note on {address}:")(
                    report, f"{path}[{address}].contactNotes", a, b
                )

    handlers = {
        "enabled": toggle("the SRT [now calls|no longer calls] the contacts when an attack starts"),
        "emergencyContacts": contacts,
    }
    for pair in pairs(base.of_type(T["engagement"]), head.of_type(T["engagement"])):
        resource, kind = side(pair)
        if kind is None:
            inputs_changed(report, "proactive_engagement", *both(pair), handlers)
            continue
        on = bool(resource.inputs.get("enabled"))
        whom = ", ".join(email(c) for c in resource.inputs.get("emergencyContacts") or [])
        text = (
            f"[the SRT now contacts {whom} when an attack starts"
            if on
            else f"[the SRT knows {whom}"
        )
        text += "|the SRT no longer contacts anyone when an attack starts]"
        presence(
            report, kind, "proactive_engagement", pair, text, "strengthens" if on else "neutral"
        )


def _subscription(base: PlanDocument, head: PlanDocument, out: list[Change]) -> None:
    report = Report("shield", "Shield Advanced", out)
    for pair in pairs(base.of_type(T["subscription"]), head.of_type(T["subscription"])):
        _, kind = side(pair)
        if kind is None:
            renewal = ordered(["DISABLED", "ENABLED"], "Shield Advanced auto-renewal:")
            inputs_changed(report, "subscription", *both(pair), {"autoRenew": renewal})
        else:
            # retain_on_delete: the subscription outlives its resource; only guard's hold goes.
            text = "[the stack now declares the Shield Advanced subscription (auto-renewing)|the "
            text += "Shield Advanced subscription leaves the stack (AWS keeps it); guard no longer "
            presence(report, kind, "subscription", pair, text + "keeps it renewing]")


def _dedupe(report: Report, path: str, old: Any, new: Any) -> None:
    # A longer window folds a new attack on the same resource into the earlier case.
    effect: Effect = "weakens" if int(new or 0) > int(old or 0) else "neutral"
    text = (
        f"a DDoS alarm within {new} hours of a case adds to it instead of opening one (was {old})"
    )
    report.add("changed", path, old, new, effect, text)


def _cc_emails(report: Report, path: str, old: Any, new: Any) -> None:
    before, after = ([e for e in str(v or "").split(",") if e] for v in (old, new))
    set_changes(report, path, before, after, "{} is [now|no longer] copied on DDoS support cases")


ESCALATION_VARIABLES: dict[str, Handler] = {
    "SUPPORT_CASE_ENABLED": toggle(
        "DDoS alarms [now open a support case for the SRT|no longer open a support case: the "
        "escalation only logs the case it would open]"
    ),
    "SUPPORT_SEVERITY": ordered(SEVERITIES, "DDoS support cases open at severity"),
    "DEDUPE_HOURS": _dedupe,
    "CC_EMAILS": _cc_emails,
    "SUPPORT_LANGUAGE": note("DDoS support cases are written in"),
}
ESCALATION_PLUMBING: dict[str, Handler] = {
    **LOG_HANDLERS,
    "maximumRetryAttempts": more_is_stronger("escalation retries:"),
    "maximumEventAgeInSeconds": more_is_stronger("escalation retried for", " s"),
    "messageRetentionSeconds": more_is_stronger("failed escalations kept for", " s"),
}


def _escalation(base: PlanDocument, head: PlanDocument, out: list[Change]) -> None:
    """The SRT escalation: one line when it comes or goes, else setting by setting."""
    report = Report("shield", "SRT escalation", out)
    old, new = base.of_type(ESCALATION), head.of_type(ESCALATION)
    children = pairs(base.within(ESCALATION, *SHARED_TYPES), head.within(ESCALATION, *SHARED_TYPES))
    if not old or not new:
        # Its function, queue, alarm and subscriptions come and go with it: one line for all.
        for pair in children:
            resource, kind = side(pair)
            if resource.type == rt.FUNCTION and kind is not None:
                env = (resource.inputs.get("environment") or {}).get("variables") or {}
                case = env.get("SUPPORT_CASE_ENABLED") == "true"
                what = (
                    "open a support case for the SRT"
                    if case
                    else "run the SRT escalation (no case)"
                )
                text = f"DDoS alarms [now|no longer] {what}"
                presence(
                    report, kind, "escalation", pair, text, "strengthens" if case else "neutral"
                )
        return
    for pair in children:
        resource, kind = side(pair)
        if resource.type == rt.SUBSCRIPTION and kind is not None:
            match = ALERT_TOPIC_RE.match(str(resource.inputs.get("topic")))
            where = match["region"] if match else str(resource.inputs.get("topic"))
            text = f"DDoS alarms in {where} [now|no longer] reach the escalation"
            presence(report, kind, f"subscriptions[{where}]", pair, text)
        elif resource.type == rt.FUNCTION:
            handlers = {"environment": env_handler(ESCALATION_VARIABLES)}
            plumbing(report, pair, "escalation function", handlers)
        elif resource.type == rt.ALARM:
            alarm = alarm_handlers("the failed-escalation alarm")
            plumbing(report, pair, "alarm on failed escalations", alarm)
        else:
            what = f"escalation {resource.type.split(':')[-1]} {resource.name}"
            plumbing(report, pair, what, ESCALATION_PLUMBING)


def compare(base: PlanDocument, head: PlanDocument) -> list[Change]:
    """Every Shield change from ``base`` to ``head``, and the shared-type fallback."""
    out: list[Change] = []
    ends = _Endpoints(base, head)
    # Alarms, health checks, L7 and groups first: what folds into a protection's line is then known.
    _endpoint_parts(base, head, ends, out)
    _groups(base, head, ends, out)
    _protections(base, head, ends, out)
    _srt_access(base, head, out)
    _engagement(base, head, out)
    _subscription(base, head, out)
    _escalation(base, head, out)
    return out


COVERS: dict[str, frozenset[str]] = {
    **dict.fromkeys(T.values(), ALL_INPUTS),
    # Shared with other areas: each reports those under its own components (within).
    **dict.fromkeys(SHARED_TYPES, ALL_INPUTS),
}
DIFFER = AreaDiffer("shield", COVERS, compare, within=("guard:shield:",))
