"""The account-level sections of ``guard plan``: detection, alert routes, WAF logs, Shield, CI.

Every section is read from the resources the program recorded, i.e. what ``pulumi up`` would
create, never from the stack file: if a component dropped or changed a setting, the plan shows
what will be deployed, not what was asked for. The config is read only for what no resource
carries, and the line then says so. Text and markdown render one model, so they cannot disagree.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from guard import resource_types as rt
from guard.detection_catalog import SECURITY_HUB_STANDARDS, standard_alias
from guard.plan import PlanResult, ResourceRecord
from guard.report_organization import organization_section
from guard.report_sections import (
    Item,
    PlanIndex,
    Section,
    after_marker,
    input_of,
    json_of,
    mask_phone,
    number_text,
    render_markdown,
    render_text,
    topic_names,
)
from guard.report_siem import siem_section
from guard.report_tuner import tuner_section
from guard.shield_alarms import watched_resource

OIDC_PROVIDER = "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
BUCKET = "aws:s3/bucket:Bucket"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
#: Components whose functions are told apart by who declares them (both are Lambda functions).
DIGEST_COMPONENT = "guard:logs:WafSampleDigest"
ESCALATION_COMPONENT = "guard:shield:SrtEscalation"
#: A stack may declare these areas with nothing inside (e.g. Shield with every endpoint
#: ``protect: false``); the component itself still says the area is there.
SHIELD_COMPONENT = "guard:shield:ShieldAdvanced"
LOGS_COMPONENT = "guard:logs:WafLogs"
_SOURCES = {"aws.guardduty": "GuardDuty", "aws.securityhub": "Security Hub"}
_SOURCES["aws.trustedadvisor"] = "Trusted Advisor"


def _matcher(values: Any) -> str:
    """An EventBridge value list, e.g. ``[{"numeric": [">=", 7]}]`` -> ``>= 7``; a list is OR."""
    if not isinstance(values, list):
        return json.dumps(values)
    parts = []
    for value in values:
        for op, arg in value.items() if isinstance(value, dict) else [("", value)]:
            if not op:
                parts.append(str(arg))
            elif op == "numeric" and isinstance(arg, list):
                pairs = zip(arg[::2], arg[1::2], strict=False)
                parts.append(" and ".join(f"{o} {number_text(n)}" for o, n in pairs))
            elif op == "anything-but":
                parts.append(f"not {_matcher(arg if isinstance(arg, list) else [arg])}")
            elif op == "exists":
                parts.append("present" if arg else "absent")
            else:
                parts.append(f"{op} {json.dumps(arg)}")
    return " or ".join(parts)


def _conditions(node: dict[str, Any], path: tuple[str, ...] = ()) -> list[str]:
    found = []
    for key, value in node.items():
        if isinstance(value, dict):
            found += _conditions(value, (*path, key))
            continue
        shown = (*path, key)
        # Security Hub wraps every field in ``findings`` (any finding may match): noise here.
        shown = shown[1:] if shown[0] == "findings" and len(shown) > 1 else shown
        found.append(f"{'.'.join(shown)} {_matcher(value)}")
    return found


def pattern_summary(pattern_json: str) -> str:
    """An event pattern in a line: the source, then each condition (the JSON plan has it all)."""
    pattern = json_of(pattern_json)
    if not isinstance(pattern, dict):
        return "unreadable pattern"
    sources = pattern.get("source")
    who = (
        " or ".join(_SOURCES.get(s, str(s)) for s in sources)
        if isinstance(sources, list)
        else "any source"
    )
    # detail-type only restates the source for guard's rules; anything else is shown.
    rest = {k: v for k, v in pattern.items() if k not in ("source", "detail-type", "detail")}
    conditions = _conditions(pattern.get("detail") or {}) + _conditions(rest)
    return f"{who}: {'; '.join(conditions) or 'every event'}"


# --- the sections ----------------------------------------------------------------------------


def _guardduty(ix: PlanIndex) -> Section | None:
    if not ix.of(rt.DETECTOR):
        return None
    section = Section("GuardDuty")
    for detector in ix.of(rt.DETECTOR):
        on = detector.inputs.get("enable", True)  # the provider's default is enabled
        section.fact(f"detector ({detector.region})", "enabled" if on else "DISABLED")
        frequency = input_of(detector, "findingPublishingFrequency", "SIX_HOURS (AWS default)")
        section.fact("finding publishing frequency", frequency)
        items = []
        for feature in ix.of(rt.DETECTOR_FEATURE):
            if feature.inputs.get("detectorId") != detector.state.get("id"):
                continue
            extra = [
                f"{c.get('name')} {c.get('status')}"
                for c in feature.inputs.get("additionalConfigurations") or []
            ]
            status = input_of(feature, "status") + (f" ({', '.join(extra)})" if extra else "")
            items.append((input_of(feature, "name"), status))
        section.listing("features", sorted(items), empty="none declared by this stack")
    return section


def _security_hub(ix: PlanIndex) -> Section | None:
    hubs, controls = ix.of(rt.HUB), ix.of(rt.CONTROL)
    if not (hubs or ix.of(rt.STANDARD) or controls):
        return None
    section = Section("Security Hub")
    for hub in hubs:
        i = hub.inputs
        defaults = "on" if i.get("enableDefaultStandards", True) else "off"
        auto = "enabled" if i.get("autoEnableControls", True) else "NOT enabled"
        generator = input_of(hub, "controlFindingGenerator", "AWS default")
        section.fact(
            f"account ({hub.region})",
            f"enabled; AWS default standards {defaults}; control findings {generator}; "
            f"new controls {auto} automatically",
        )
    standards = [standard_alias(s.inputs.get("standardsArn")) for s in ix.of(rt.STANDARD)]
    central = ix.plan.loaded.config.organization is not None
    section.listing(
        "standards",
        sorted(
            (alias, s.title if (s := SECURITY_HUB_STANDARDS.get(alias)) else "not in the catalog")
            for alias in standards
        ),
        # An organization stack subscribes through its central configuration policy.
        empty="from the central configuration policy (see Organization)" if central else "none",
    )
    detection = ix.plan.loaded.config.detection
    configured = (
        {c.control: c.reason for c in detection.security_hub.disabled_controls} if detection else {}
    )
    # One line per control and reason, naming its standards: the config disables per control.
    grouped: dict[tuple[str, str, str], list[str]] = defaultdict(list)
    for control in controls:
        control_id = input_of(control, "securityControlId")
        reason = control.inputs.get("updatedReason")
        if not reason and configured.get(control_id):
            reason = f"{configured[control_id]} (from the stack file; not sent to AWS)"
        status = input_of(control, "associationStatus").lower()
        grouped[(control_id, status, str(reason or "no reason"))].append(
            standard_alias(control.inputs.get("standardsArn"))
        )
    section.listing(
        "control associations",
        [
            (control, f"{status} in {', '.join(sorted(names))}: {reason}")
            for (control, status, reason), names in sorted(grouped.items())
        ],
    )
    return section


def _alert_routes(ix: PlanIndex) -> Section | None:
    topics, chatbots, targets = ix.of(rt.TOPIC), ix.of(rt.CHATBOT), ix.of(rt.EVENT_TARGET)
    rules = [r for r in ix.of(rt.EVENT_RULE) if r.inputs.get("eventPattern")]
    if not (topics or chatbots or rules):
        return None
    section = Section("Alert routes")
    channels = []
    for bot in chatbots:
        guardrails = [after_marker(a, "/") for a in bot.inputs.get("guardrailPolicyArns") or []]
        channels.append(
            (
                input_of(bot, "configurationName"),
                f"workspace {input_of(bot, 'slackTeamId')}, channel {input_of(bot, 'slackChannelId')}, "
                f"from {topic_names(bot.inputs.get('snsTopicArns') or [])}; guardrails "
                f"{', '.join(guardrails) or 'none'}; managed in {bot.region}",
            )
        )
    section.listing("Slack channels via AWS Chatbot", channels)
    topic_items = []
    for topic in topics:
        arn = topic.state.get("arn")
        alarms = sum(1 for a in ix.of(rt.ALARM) if arn in (a.inputs.get("alarmActions") or []))
        rule_count = sum(1 for t in targets if t.inputs.get("arn") == arn)
        encrypted = "KMS-encrypted" if topic.inputs.get("kmsMasterKeyId") else "NOT encrypted"
        topic_items.append(
            (
                topic_names([arn]),
                f"{encrypted}; {alarms} alarm(s), {rule_count} event rule(s) publish",
            )
        )
    section.listing("SNS topics", sorted(topic_items))
    subscribers: dict[tuple[str, str], list[str]] = defaultdict(list)
    for sub in ix.of(rt.SUBSCRIPTION):
        protocol, endpoint = input_of(sub, "protocol"), input_of(sub, "endpoint")
        endpoint = after_marker(endpoint, ":") if protocol == "lambda" else endpoint
        subscribers[(protocol, endpoint)].append(input_of(sub, "topic"))
    # AWS mails each address a link; until it is followed, alerts are not delivered.
    confirm = {"email": "; receives nothing until the address confirms AWS's e-mail"}
    section.listing(
        "subscriptions",
        [
            (f"{protocol} {endpoint}", f"on {topic_names(arns)}{confirm.get(protocol, '')}")
            for (protocol, endpoint), arns in sorted(subscribers.items())
        ],
    )
    # Each rule's target topic, and the Slack channels that topic feeds.
    feeds: dict[str, list[str]] = defaultdict(list)
    for bot in chatbots:
        for arn in bot.inputs.get("snsTopicArns") or []:
            feeds[arn].append(f"Slack {input_of(bot, 'slackChannelId')}")
    # A rule may invoke a function that formats the event and publishes to a topic itself.
    functions = {f.state.get("arn"): f for f in ix.of(rt.FUNCTION)}

    def destination(arn: str) -> str:
        function = functions.get(arn)
        variables = ((function.inputs.get("environment") or {}) if function else {}).get(
            "variables"
        ) or {}
        topic = variables.get("TOPIC_ARN")
        reached = " and ".join([topic_names([topic or arn]), *feeds.get(topic or arn, [])])
        return f"function {input_of(function, 'name')} -> {reached}" if function else reached

    rule_items = []
    for rule in rules:
        name = input_of(rule, "name")
        where = [
            destination(t.inputs["arn"])
            for t in targets
            if t.inputs.get("rule") == name and t.inputs.get("arn")
        ]
        off = rule.inputs.get("state") == "DISABLED" or rule.inputs.get("isEnabled") is False
        summary = pattern_summary(input_of(rule, "eventPattern"))
        rule_items.append(
            (
                f"{name} ({rule.region})",
                f"{'DISABLED; ' if off else ''}{summary} -> {'; '.join(where) or 'NO TARGET'}",
            )
        )
    section.listing("event rules (which findings go where)", sorted(rule_items))
    return section


def _redaction(config: ResourceRecord) -> str:
    fields = [
        f"header {body.get('name')}" if kind == "singleHeader" else kind
        for entry in config.inputs.get("redactedFields") or []
        for kind, body in entry.items()
    ]
    return ", ".join(fields) or "nothing"


def _log_filter(config: ResourceRecord) -> str:
    spec = config.inputs.get("loggingFilter")
    if not spec:
        return "none: every request is logged"
    rules = []
    for f in spec.get("filters") or []:
        # Each condition is {"actionCondition": {"action": ...}} or {"labelNameCondition": ...}.
        found = [
            f"{'action' if kind == 'actionCondition' else 'label'} {next(iter(body.values()))}"
            for condition in f.get("conditions") or []
            for kind, body in condition.items()
        ]
        which = "any" if f.get("requirement") == "MEETS_ANY" else "all"
        rules.append(
            f"{str(f.get('behavior')).lower()} requests with {which} of {', '.join(found)}"
        )
    return f"{'; '.join(rules)}; {str(spec.get('defaultBehavior')).lower()} the rest"


def _lifecycle(ix: PlanIndex, bucket: ResourceRecord) -> list[Item]:
    items = []
    for lifecycle in ix.depending(LIFECYCLE, bucket, "bucket"):
        for rule in lifecycle.inputs.get("rules") or []:
            parts = ["DISABLED"] if rule.get("status") != "Enabled" else []
            parts += [
                f"{t.get('storageClass')} after {t.get('days')} days"
                for t in rule.get("transitions") or []
            ]
            if days := (rule.get("expiration") or {}).get("days"):
                parts.append(f"deleted after {days} days")
            if days := (rule.get("noncurrentVersionExpiration") or {}).get("noncurrentDays"):
                parts.append(f"old versions kept {days} days")
            prefix = (rule.get("filter") or {}).get("prefix") or "(whole bucket)"
            items.append((prefix, ", ".join(parts) or "no action"))
    return items


def _stream_detail(stream: ResourceRecord) -> tuple[str, str]:
    """A Firehose stream's bucket, and how it delivers there."""
    s3 = stream.inputs.get("extendedS3Configuration") or {}
    bucket = after_marker(s3.get("bucketArn"), ":::")
    prefix = str(s3.get("prefix", "")).split("!", 1)[0]  # the static part, before expressions
    return bucket, (
        f"Firehose to s3://{bucket}/{prefix}, {s3.get('compressionFormat', 'UNCOMPRESSED')}, "
        f"every {s3.get('bufferingInterval')} s or {s3.get('bufferingSize')} MB"
    )


def _waf_logs(ix: PlanIndex) -> Section | None:
    configs = ix.of(rt.WAF_LOGGING)
    if not configs and not ix.of(LOGS_COMPONENT):
        return None
    section = Section("WAF logs")
    acls, logged = ix.of(rt.WEB_ACL), {c.inputs.get("resourceArn") for c in configs}
    silent = [input_of(a, "name") for a in acls if a.state.get("arn") not in logged]
    section.fact(
        "web ACLs logging",
        f"{len(configs)} logging configuration(s) for {len(acls)} web ACL(s)"
        + (f"; NOT logging: {', '.join(silent)}" if silent else ""),
    )
    by_destination: dict[str, int] = defaultdict(int)
    for config in configs:
        for destination in config.inputs.get("logDestinationConfigs") or []:
            by_destination[str(destination)] += 1
    delivery, buckets = [], []
    for destination, count in sorted(by_destination.items()):
        stream = ix.by_arn.get(destination)
        if destination.startswith("arn:aws:s3:::"):
            buckets.append(after_marker(destination, ":::"))
            label, detail = "direct", f"to s3://{buckets[-1]}"
        elif stream is not None and stream.type == rt.STREAM:
            target, detail = _stream_detail(stream)
            buckets.append(target)
            label = f"{input_of(stream, 'name')} ({stream.region})"
        else:
            label, detail = destination, "not declared by this stack"
        delivery.append((label, f"{detail}; {count} web ACL(s)"))
    section.listing("delivery", delivery)
    for name in dict.fromkeys(buckets):
        bucket = next((b for b in ix.of(BUCKET) if b.inputs.get("bucket") == name), None)
        if bucket is None:
            section.fact("bucket", f"s3://{name} (not declared by this stack)")
            continue
        kept = "protected from deletion" if bucket.protect else "NOT protected from deletion"
        section.fact("bucket", f"s3://{name} ({bucket.region}), {kept}")
        section.listing(f"lifecycle of {name}", _lifecycle(ix, bucket))
    # Redaction and filter are per web ACL; shown once when they are all the same.
    for label, describe in (("redacted", _redaction), ("filter", _log_filter)):
        values = {describe(c) for c in configs}
        if len(values) <= 1:
            section.fact(label, next(iter(values), "n/a"))
        else:
            section.listing(label, sorted((c.name, describe(c)) for c in configs))
    for workgroup in ix.of(rt.WORKGROUP):
        settings = workgroup.inputs.get("configuration") or {}
        cutoff = settings.get("bytesScannedCutoffPerQuery")
        limit = f"a query stops after {number_text(cutoff / 1024**3)} GB scanned" if cutoff else ""
        enforced = "settings enforced" if settings.get("enforceWorkgroupConfiguration") else ""
        queries = f"{len(ix.of(rt.NAMED_QUERY))} saved queries"
        parts = [limit or "NO scan limit", enforced, queries]
        section.fact(
            "Athena workgroup", f"{input_of(workgroup, 'name')}: {'; '.join(filter(None, parts))}"
        )
    section.fact("sample digest", _digest(ix))
    return section


def _digest(ix: PlanIndex) -> str:
    functions = ix.within(rt.FUNCTION, DIGEST_COMPONENT)
    if not functions:
        return "none"
    env = (functions[0].inputs.get("environment") or {}).get("variables") or {}
    arn = functions[0].state.get("arn")
    rules = {t.inputs.get("rule") for t in ix.of(rt.EVENT_TARGET) if t.inputs.get("arn") == arn}
    schedules = [
        input_of(r, "scheduleExpression")
        for r in ix.of(rt.EVENT_RULE)
        if r.inputs.get("name") in rules and r.inputs.get("scheduleExpression")
    ]
    topic = topic_names([env["TOPIC_ARN"]]) if env.get("TOPIC_ARN") else "no topic"
    return (
        f"Lambda {input_of(functions[0], 'name')}, {' and '.join(schedules) or 'NO schedule'}: up "
        f"to {env.get('MAX_SAMPLES', '?')} samples per rule over {env.get('WINDOW_MINUTES', '?')}"
        f" min, to {topic}"
    )


def _shield(ix: PlanIndex) -> Section | None:
    kinds = {kind: ix.of(token) for kind, token in rt.SHIELD_TYPES.items()}
    if not any(kinds.values()) and not ix.of(SHIELD_COMPONENT):
        return None
    section = Section("Shield Advanced")
    if kinds["subscription"]:
        sub = kinds["subscription"][0]
        kept = ", protected from deletion" if sub.protect else ""
        section.fact(
            "subscription", f"declared here, auto-renew {input_of(sub, 'autoRenew')}{kept}"
        )
    else:
        # components/shield.py declares no resource at all for ``subscription: existing``.
        section.fact("subscription", "existing: bought outside this repository (not declared here)")
    section.fact("SRT access", _srt_access(ix, kinds["drt_role"]))
    readable = [input_of(b, "logBucket") for b in kinds["drt_logs"]]
    # The SRT reads WAF logs during an attack; a log bucket it cannot read is worth a look.
    unread = [b for b in ix.within(BUCKET, LOGS_COMPONENT) if input_of(b, "bucket") not in readable]
    notes = [f"; the WAF log bucket {input_of(b, 'bucket')} is not one of them" for b in unread]
    section.fact(
        "SRT may read buckets", ", ".join(readable) + "".join(notes) if readable else "none"
    )
    for engagement in kinds["engagement"]:
        on = engagement.inputs.get("enabled")
        section.fact("proactive engagement", "on" if on else "off (contacts kept, no calls)")
        contacts = engagement.inputs.get("emergencyContacts") or []
        section.listing(
            "emergency contacts",
            [
                (str(c.get("emailAddress")), f"phone {mask_phone(str(c['phoneNumber']))}")
                if c.get("phoneNumber")
                else (str(c.get("emailAddress")), "no phone")
                for c in contacts
            ],
        )
    if not kinds["engagement"]:
        section.fact("proactive engagement", "not declared")
    protected = {p.inputs.get("resourceArn"): input_of(p, "name") for p in kinds["protection"]}
    ddos = [a for a in ix.of(rt.ALARM) if watched_resource(a.inputs) is not None]
    watched = {watched_resource(a.inputs) for a in ddos}
    unwatched = sorted(name for arn, name in protected.items() if arn not in watched)
    section.fact(
        "protections",
        f"{len(protected)} in {len(kinds['group'])} protection group(s); health-based "
        f"detection on {len(kinds['health'])}",
    )
    missing = f"; protections WITHOUT one: {', '.join(unwatched)}" if unwatched else ""
    section.fact("DDoS alarms", f"{len(ddos)}{missing}")
    section.fact("escalation", _escalation(ix))
    section.listing(
        "automatic L7 mitigation",
        [
            (
                protected.get(r.inputs.get("resourceArn"), input_of(r, "resourceArn")),
                input_of(r, "action"),
            )
            for r in kinds["l7"]
        ],
    )
    return section


def _srt_access(ix: PlanIndex, associations: list[ResourceRecord]) -> str:
    if not associations:
        return "none: no SRT role associated by this stack"
    role_arn = input_of(associations[0], "roleArn")
    role = ix.by_arn.get(role_arn)
    if role is None or role.type != rt.ROLE:
        return f"existing role {role_arn}"
    attached = ix.depending(rt.ROLE_ATTACHMENT, role, "role")
    policies = ", ".join(after_marker(a.inputs.get("policyArn"), "/") for a in attached)
    return f"role {input_of(role, 'name')} (created here; {policies or 'no managed policy'})"


def _escalation(ix: PlanIndex) -> str:
    functions = ix.within(rt.FUNCTION, ESCALATION_COMPONENT)
    if not functions:
        return "none: no function opens a support case"
    env = (functions[0].inputs.get("environment") or {}).get("variables") or {}
    arn = functions[0].state.get("arn")
    topics = [
        input_of(s, "topic") for s in ix.of(rt.SUBSCRIPTION) if s.inputs.get("endpoint") == arn
    ]
    # Unset variables take the handler's defaults (functions/srt_escalation/handler.py).
    case = str(env.get("SUPPORT_CASE_ENABLED", "true")).strip().lower() == "true"
    hours = str(env.get("DEDUPE_HOURS", "24"))
    cc = ", ".join(filter(None, str(env.get("CC_EMAILS", "")).split(",")))
    parts = [
        f"Lambda {input_of(functions[0], 'name')} on {topic_names(topics) or 'NO topic'}",
        f"support case: on, severity {env.get('SUPPORT_SEVERITY', '?')}"
        if case
        else "support case: off (logs the case it would open)",
        "no deduplication" if hours == "0" else f"one case per resource per {hours} hours",
        f"cc {cc}" if cc and case else "",
    ]
    return "; ".join(filter(None, parts))


def _ci_identities(ix: PlanIndex) -> Section | None:
    providers = ix.of(OIDC_PROVIDER)
    trusted: dict[str, list[Item]] = defaultdict(list)
    for role in ix.of(rt.ROLE):
        statements = (json_of(role.inputs.get("assumeRolePolicy")) or {}).get("Statement") or []
        for statement in statements if isinstance(statements, list) else [statements]:
            principal = statement.get("Principal")
            provider = principal.get("Federated") if isinstance(principal, dict) else None
            if not isinstance(provider, str) or statement.get("Effect") != "Allow":
                continue
            subjects: list[str] = []
            for operator, conditions in (statement.get("Condition") or {}).items():
                if "StringNot" in operator:  # exclusions only narrow what the others allow
                    continue
                for key, values in conditions.items():
                    if key.endswith(":sub"):
                        subjects += values if isinstance(values, list) else [values]
            subject_text = ", ".join(subjects) or "NO sub condition: any token of the provider"
            trusted[str(provider)].append((input_of(role, "name"), subject_text))
    if not providers and not trusted:
        return None
    section = Section("CI identities (OIDC)")
    section.listing(
        "providers",
        [
            (input_of(p, "url"), f"audiences {', '.join(p.inputs.get('clientIdLists') or [])}")
            for p in providers
        ],
    )
    declared = {p.state.get("arn") for p in providers}
    for arn in sorted({str(a) for a in declared} | set(trusted)):
        note = "" if arn in declared else " (existing provider, not declared here)"
        section.listing(
            f"roles trusting {after_marker(arn, ':oidc-provider/')}{note}", sorted(trusted[arn])
        )
    return section


def account_sections(plan: PlanResult, *, markdown: bool) -> list[str]:
    """Lines to append to the plan: one section per account-level area the stack declares.

    Empty when the stack declares none of them (a stack of web ACLs only).
    """
    ix = PlanIndex(plan)
    render = render_markdown if markdown else render_text
    out: list[str] = []
    for build in (
        organization_section,
        _guardduty,
        _security_hub,
        _alert_routes,
        _waf_logs,
        siem_section,
        tuner_section,
        _shield,
        _ci_identities,
    ):
        section = build(ix)
        if section is not None:
            out += render(section)
    return out
