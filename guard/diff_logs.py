"""``guard diff`` for WAF logs: what each web ACL logs and where, how long the bucket keeps it,
who else reads it (the SIEM), and the hourly digest of WAF's sampled requests.

A web ACL that stops logging, a redaction removed, a filter that drops more, a shorter
retention, versioning suspended, weaker encryption or a looser public access block weakens.
Switching delivery between Firehose and S3 is neutral, said once per region: the stream, its
error log and its stall alarm come and go together. Athena's table and queries are neutral.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from guard import resource_types as rt
from guard.diff_model import (
    ALL_INPUTS,
    AreaDiffer,
    Change,
    Effect,
    PlanDocument,
    PlanResource,
    compact,
    leaf_changes,
    parse_json_text,
)
from guard.diff_parts import (
    LOG_HANDLERS,
    Handler,
    Report,
    alarm_handlers,
    both,
    env_handler,
    inputs_changed,
    more_is_stronger,
    nested,
    note,
    ordered,
    pairs,
    plumbing,
    presence,
    set_changes,
    side,
    toggle,
)
from guard.logs_layout import LOG_PREFIX, S3_DELIVERY_PREFIX

WAF_LOGS = "guard:logs:WafLogs"
DIGEST = "guard:logs:WafSampleDigest"
BUCKET, POLICY, VERSIONING, ENCRYPTION, PUBLIC_BLOCK, LIFECYCLE, NOTIFICATION = rt.BUCKET_TYPES
WEB_ACL_RE = re.compile(r"/webacl/(?P<name>[^/]+)/")
STREAM_ARN_RE = re.compile(
    r"^arn:[\w-]+:firehose:(?P<region>[\w-]+):\d+:deliverystream/(?P<name>.+)$"
)
#: The types of a region's Firehose delivery, besides the stream itself.
FIREHOSE_PARTS = (rt.LOG_GROUP, rt.LOG_STREAM, rt.ALARM)
#: The digest's resources, which come and go with it.
DIGEST_TYPES: tuple[str, ...] = (rt.FUNCTION, rt.INVOKE_CONFIG, rt.PERMISSION, rt.LOG_GROUP)
DIGEST_TYPES += (rt.EVENT_RULE, rt.EVENT_TARGET, rt.ALARM)
#: S3's default encryptions, from the weakest: KMS lets a key policy decide who reads.
SSE = ("AES256", "aws:kms", "aws:kms:dsse")


def _known(document: PlanDocument, arn: Any) -> str | None:
    """What a log destination is when the plan declares it (the log bucket, a stream)."""
    for bucket in document.of_type(BUCKET):
        if arn == f"arn:aws:s3:::{bucket.inputs.get('bucket')}":
            return f"s3://{bucket.inputs.get('bucket')}"
    match = STREAM_ARN_RE.match(str(arn))
    for stream in document.of_type(rt.STREAM):
        # The stream's ARN is an output: it is known by its region and name.
        if match and (match["region"], match["name"]) == (stream.region, stream.inputs.get("name")):
            return f"Firehose stream {match['name']}"
    return None


def _service(arn: Any) -> str:
    """The service of an ARN (``firehose``, ``s3``): how a web ACL's logs are delivered."""
    parts = str(arn).split(":")
    return parts[2] if len(parts) > 2 else str(arn)


def _redacted(field: Any) -> str:
    if isinstance(field, Mapping) and isinstance(field.get("singleHeader"), Mapping):
        return f"{field['singleHeader'].get('name')} header"
    return compact(field)


def _kept(log_filter: Any) -> set[str] | None:
    """The WAF actions a filter keeps when it is guard's shape (drop all but these), else None."""
    if not isinstance(log_filter, Mapping) or log_filter.get("defaultBehavior") != "DROP":
        return None
    kept: set[str] = set()
    for entry in log_filter.get("filters") or []:
        if entry.get("behavior") != "KEEP" or entry.get("requirement") != "MEETS_ANY":
            return None
        for condition in entry.get("conditions") or []:
            action = (condition.get("actionCondition") or {}).get("action")
            if action is None:
                return None
            kept.add(str(action))
    return kept


def _filter(report: Report, path: str, old: Any, new: Any) -> None:
    acl = report.subject
    if new is None:
        text = f"{acl} logs every request again (no filter)"
        report.add("removed", path, old, new, "strengthens", text)
        return
    before, after = _kept(old) if old is not None else None, _kept(new)
    if after is not None and old is None:
        text = f"{acl} now logs only requests WAF acted on ({', '.join(sorted(after))}): the rest are dropped"
        report.add("added", path, old, new, "weakens", text)
    elif before is not None and after is not None:
        lost, gained = sorted(before - after), sorted(after - before)
        text = f"{acl}'s logs " + " and ".join(
            [f"no longer keep {', '.join(lost)} requests"] * bool(lost)
            + [f"now also keep {', '.join(gained)} requests"] * bool(gained)
        )
        report.add("changed", path, old, new, "weakens" if lost else "strengthens", text)
    else:
        text = f"{acl}'s log filter changes to {compact(new)}: guard cannot tell what it drops"
        report.add("changed", path, old, new, "weakens", text + ": review it")


def _logging(base: PlanDocument, head: PlanDocument, out: list[Change]) -> None:
    """Each web ACL's logging configuration: whether, where, and what it leaves out."""

    def where(arns: Any) -> str:
        names = (_known(head, a) or _known(base, a) or str(a) for a in arns or [])
        return ", ".join(names) or "nowhere"

    def destination(report: Report, path: str, old: Any, new: Any) -> None:
        unknown = [a for a in new or [] if _known(head, a) is None]
        was, now = ({_service(a) for a in v or []} for v in (old, new))
        how = (
            f" (delivery: {'/'.join(sorted(was))} → {'/'.join(sorted(now))})" if was != now else ""
        )
        text = f"{report.subject} now logs to {where(new)} (was {where(old)}){how}"
        if unknown:
            text += ": a destination guard does not declare"
        report.add("moved", path, old, new, "weakens" if unknown else "neutral", text)

    def redactions(report: Report, path: str, old: Any, new: Any) -> None:
        text = "{} [now redacted in|now written to] the logs"
        set_changes(report, path, old or [], new or [], text, "neutral", label=_redacted)

    handlers = {
        "logDestinationConfigs": destination,
        "redactedFields": redactions,
        "loggingFilter": _filter,
    }
    for pair in pairs(base.of_type(rt.WAF_LOGGING), head.of_type(rt.WAF_LOGGING)):
        resource, kind = side(pair)
        match = WEB_ACL_RE.search(str(resource.inputs.get("resourceArn")))
        report = Report("logs", match["name"] if match else resource.name, out)
        if kind is None:
            inputs_changed(report, "logging", *both(pair), handlers)
        else:
            dest = where(resource.inputs.get("logDestinationConfigs"))
            text = f"{report.subject} [now logs to {dest}|stops logging]"
            presence(report, kind, "logging", pair, text)


# --- the bucket ------------------------------------------------------------------------------


def _lifecycle(report: Report, path: str, old: Any, new: Any) -> None:
    """Lifecycle rules by the prefix they apply to: what expires when."""

    def by_prefix(rules: Any) -> dict[str, Mapping[str, Any]]:
        return {str((r.get("filter") or {}).get("prefix", r.get("id"))): r for r in rules or []}

    before, after = by_prefix(old), by_prefix(new)
    for prefix in sorted(before.keys() | after.keys()):
        a, b = before.get(prefix), after.get(prefix)
        where, at = f"objects under {prefix}", f"lifecycle[{prefix}]"
        if a is None or b is None:
            days = ((b or a or {}).get("expiration") or {}).get("days")
            text = (
                f"{where} now expire after {days} days"
                if a is None
                else f"{where} no longer expire"
            )
            report.add("added" if a is None else "removed", at, a, b, "neutral", text)
            continue
        handlers: dict[str, Handler] = {
            "expiration": nested({"days": more_is_stronger(f"{where} are deleted after", " days")}),
            "noncurrentVersionExpiration": nested(
                {
                    "noncurrentDays": more_is_stronger(
                        f"deleted {where} stay recoverable for", " days"
                    )
                }
            ),
            "transitions": note(f"{where} move to cheaper storage:"),
            "abortIncompleteMultipartUpload": note(
                f"unfinished uploads under {prefix} are removed after"
            ),
            "id": note("the rule is renamed"),
            "status": note(f"the rule for {where} is"),
        }
        nested(handlers)(report, at, a, b)


def _encryption(report: Report, path: str, old: Any, new: Any) -> None:
    def key(report: Report, path: str, old: Any, new: Any) -> None:
        effect: Effect = "weakens" if not new else "strengthens" if not old else "neutral"
        text = f"logs are encrypted with {new or 'the AWS managed key'} (was {old or 'the AWS managed key'})"
        report.add("changed", path, old, new, effect, text)

    default = nested(
        {"sseAlgorithm": ordered(SSE, "logs are encrypted by default with"), "kmsMasterKeyId": key}
    )
    rule = nested(
        {"applyServerSideEncryptionByDefault": default, "bucketKeyEnabled": note("S3 bucket keys:")}
    )
    for index in range(max(len(old or []), len(new or []))):
        a, b = ((v or [])[index] if index < len(v or []) else None for v in (old, new))
        rule(report, f"{path}[{index}]", a, b)


RECOVERABLE = "deleted or overwritten logs [are|are no longer] recoverable"
BLOCKS = {
    "blockPublicAcls": "new public ACLs on the log bucket [are|are no longer] refused",
    "ignorePublicAcls": "public ACLs on the log bucket [are|are no longer] ignored",
    "blockPublicPolicy": "a public bucket policy on the log bucket [is|is no longer] refused",
    "restrictPublicBuckets": "public and cross-account access to the log bucket [is|is no longer] restricted",
}


#: The bucket's resources: their path, what their coming and going says, their inputs.
SETTINGS: dict[str, tuple[str, str, Mapping[str, Handler]]] = {
    BUCKET: (
        "bucket",
        "the log bucket [is declared|leaves the stack: WAF logs lose their home]",
        {},
    ),
    LIFECYCLE: (
        "lifecycle",
        "WAF logs [now expire on schedule|no longer expire]",
        {"rules": _lifecycle},
    ),
    VERSIONING: (
        "versioning",
        "[versioning is declared|versioning leaves the stack]",
        {"versioningConfiguration": nested({"status": toggle(RECOVERABLE)})},
    ),
    ENCRYPTION: (
        "encryption",
        "[default encryption is declared|default encryption leaves the stack]",
        {"rules": _encryption},
    ),
    PUBLIC_BLOCK: (
        "public_access",
        "[the public access block is declared|the public access block leaves the stack]",
        {flag: toggle(text) for flag, text in BLOCKS.items()},
    ),
}


#: The log buckets: each component's bucket is reported under its own subject.
BUCKET_OWNERS = {WAF_LOGS: "WAF", "guard:logs:AlbLogs": "ALB"}


def _bucket(base: PlanDocument, head: PlanDocument, out: list[Change]) -> None:
    """The log buckets and their settings; their policies are IAM's to read (left to the
    engine)."""
    for component, logs in BUCKET_OWNERS.items():
        _bucket_of(component, logs, base, head, out)


def _bucket_of(
    component: str, logs: str, base: PlanDocument, head: PlanDocument, out: list[Change]
) -> None:
    report = Report("logs", f"{logs} logs", out)
    prefix = LOG_PREFIX if head.of_type(rt.STREAM) else S3_DELIVERY_PREFIX
    for token, (path, text, handlers) in SETTINGS.items():
        for pair in pairs(base.within(component, token), head.within(component, token)):
            _, kind = side(pair)
            if kind is None:
                inputs_changed(report, path, *both(pair), handlers)
            elif token == LIFECYCLE:
                presence(report, kind, path, pair, text.replace("WAF", logs), "neutral", "neutral")
            else:
                presence(report, kind, path, pair, text)
    siem = Report("logs", "SIEM", out)

    def queues(report: Report, path: str, old: Any, new: Any) -> None:
        text = f"new {logs} logs [now reach|no longer reach] the SIEM queue {{}}"
        set_changes(
            report, path, old or [], new or [], text, label=lambda q: str(q.get("queueArn"))
        )
        olds, news = ({str(q.get("queueArn")): q for q in v or []} for v in (old, new))
        for arn in sorted(olds.keys() & news.keys()):
            if logs == "WAF":  # the ALB prefix is fixed (alb/)
                nested({"filterPrefix": _siem_prefix(prefix)})(
                    report, f"{path}[{arn}]", olds[arn], news[arn]
                )

    notifications = (base.within(component, NOTIFICATION), head.within(component, NOTIFICATION))
    for pair in pairs(*notifications):
        _, kind = side(pair)
        if kind is None:
            inputs_changed(siem, "siem", *both(pair), {"queues": queues})
        else:
            text = f"new {logs} logs [now reach|no longer reach] the SIEM"
            presence(siem, kind, "siem", pair, text)


def _siem_prefix(logs_prefix: str) -> Handler:
    def handler(report: Report, path: str, old: Any, new: Any) -> None:
        # Following the delivery's prefix is what a switch of delivery does; elsewhere, unsure.
        effect: Effect = "neutral" if new == logs_prefix else "weakens"
        text = (
            f"the SIEM is told of objects under {new} (was {old}); WAF logs are under {logs_prefix}"
        )
        report.add("changed", path, old, new, effect, text)

    return handler


# --- Firehose, Athena, the digest ------------------------------------------------------------


STREAM_DELIVERY: dict[str, Handler] = {
    "cloudwatchLoggingOptions": nested(
        {"enabled": toggle("Firehose [logs|no longer logs] its delivery errors")}
    ),
    **{
        k: note(f"Firehose {k}:")
        for k in ("bufferingInterval", "bufferingSize", "compressionFormat")
    },
}
STREAM_HANDLERS: dict[str, Handler] = {
    "serverSideEncryption": nested(
        {"enabled": toggle("Firehose [encrypts|no longer encrypts] the records it holds")}
    ),
}


def _firehose(base: PlanDocument, head: PlanDocument, out: list[Change]) -> None:
    """Per region: the stream, its error log and stall alarm, said once when they come or go."""
    report = Report("logs", "WAF logs", out)
    direct = {
        c.region
        for c in head.of_type(rt.WAF_LOGGING)
        if any(
            str(d).startswith("arn:aws:s3:::") for d in c.inputs.get("logDestinationConfigs") or []
        )
    }
    gone: dict[str, str] = {}  # region -> added/removed: its stream's line says its parts
    for pair in pairs(base.of_type(rt.STREAM), head.of_type(rt.STREAM)):
        resource, kind = side(pair)
        region = str(resource.region)
        path = f"firehose[{region}]"
        if kind is None:
            delivery = {"bucketArn": _stream_bucket(head), **STREAM_DELIVERY}
            handlers = {"extendedS3Configuration": nested(delivery), **STREAM_HANDLERS}
            inputs_changed(report, path, *both(pair), handlers)
            continue
        gone[region] = kind
        with_ = "with its error log and stall alarm"
        if kind == "removed" and region in direct:
            text = f"WAF logs of {region} go straight to S3 (delivery: s3): the Firehose stream goes, {with_}"
            presence(report, kind, path, pair, text, went="neutral")
        else:
            text = f"WAF logs of {region} [go through Firehose stream {resource.inputs.get('name')}"
            presence(
                report, kind, path, pair, f"{text}|lose their Firehose stream], {with_}", "neutral"
            )

    def parts(document: PlanDocument) -> list[PlanResource]:
        return [
            r
            for r in document.within(WAF_LOGS, *FIREHOSE_PARTS)
            if DIGEST not in document.ancestor_types(r)
        ]

    for pair in pairs(parts(base), parts(head)):
        resource, kind = side(pair)
        if kind is not None and gone.get(str(resource.region)) == kind:
            continue  # said on the stream's line
        alarm = alarm_handlers(f"the stall alarm of {resource.region}")
        handlers = alarm if resource.type == rt.ALARM else LOG_HANDLERS
        plumbing(report, pair, f"Firehose {resource.type.split(':')[-1]} {resource.name}", handlers)


def _stream_bucket(head: PlanDocument) -> Handler:
    buckets = {f"arn:aws:s3:::{b.inputs.get('bucket')}" for b in head.of_type(BUCKET)}

    def handler(report: Report, path: str, old: Any, new: Any) -> None:
        effect: Effect = "neutral" if new in buckets else "weakens"
        report.add(
            "moved", path, old, new, effect, f"Firehose now writes WAF logs to {new} (was {old})"
        )

    return handler


ATHENA = {
    rt.WORKGROUP: "workgroup",
    rt.GLUE_DATABASE: "database",
    rt.GLUE_TABLE: "table",
    rt.NAMED_QUERY: "queries",
}


def _workgroup(report: Report, path: str, old: Any, new: Any) -> None:
    """The workgroup's settings: results left unencrypted, or settings users may lift, weaken."""
    for leaf, a, b in leaf_changes(old, new, path):
        unencrypted = "encryption" in leaf.lower() and b is None
        unenforced = leaf.endswith("enforceWorkgroupConfiguration") and not b
        text = f"{leaf.rsplit('.', 1)[-1]}: {compact(a)} → {compact(b)}"
        if unencrypted or unenforced:
            text += "; query results lose their protection"
        report.add(
            "changed", leaf, a, b, "weakens" if unencrypted or unenforced else "neutral", text
        )


def _athena(base: PlanDocument, head: PlanDocument, out: list[Change]) -> None:
    """How the logs are queried (Glue, Athena): neutral, one line per resource but for the
    workgroup's result encryption and enforcement."""
    report = Report("logs", "Athena", out)
    for token, label in ATHENA.items():
        for pair in pairs(base.of_type(token), head.of_type(token)):
            resource, kind = side(pair)
            name = resource.inputs.get("name", resource.name)
            path = f"athena.{label}[{name}]"
            if kind is not None:
                text = f"[new|removed] Athena {label} {name}"
                presence(report, kind, path, pair, text, "neutral", "neutral")
            elif token == rt.WORKGROUP:
                inputs_changed(report, path, *both(pair), {"configuration": _workgroup})
            else:
                before, after = both(pair)
                keys = sorted(
                    k
                    for k in {*before.inputs, *after.inputs}
                    if before.inputs.get(k) != after.inputs.get(k)
                )
                if keys:
                    old = {k: before.inputs.get(k) for k in keys}
                    new = {k: after.inputs.get(k) for k in keys}
                    text = f"Athena {label} {name} changes its {', '.join(keys)} (how the logs are queried)"
                    report.add("changed", path, old, new, "neutral", text)


def _digest(base: PlanDocument, head: PlanDocument, out: list[Change]) -> None:
    """The hourly Slack digest of sampled requests: one line when it comes or goes."""
    report = Report("logs", "WAF sample digest", out)
    children = pairs(base.within(DIGEST, *DIGEST_TYPES), head.within(DIGEST, *DIGEST_TYPES))
    if not base.of_type(DIGEST) or not head.of_type(DIGEST):
        for pair in children:
            resource, kind = side(pair)
            if resource.type == rt.FUNCTION and kind is not None:
                text = "an hourly digest of what WAF blocked and counted [now posts|no longer posts] to the normal channel"
                presence(report, kind, "digest", pair, text)
        return

    def web_acls(report: Report, path: str, old: Any, new: Any) -> None:
        before, after = (
            [a.get("name") for a in v] if isinstance(v, list) else []
            for v in (parse_json_text(old), parse_json_text(new))
        )
        set_changes(report, path, before, after, "{} [joins|leaves] the digest")

    variables: dict[str, Handler] = {
        "MAX_SAMPLES": more_is_stronger("the digest reads up to", " samples per rule"),
        "WINDOW_MINUTES": more_is_stronger("the digest covers", " minutes of each hour's run"),
        "WEB_ACLS": web_acls,
        "STACK": note("the digest names the stack"),
        "ATHENA_WORKGROUP": note("the digest links Athena workgroup"),
    }
    for pair in children:
        resource, kind = side(pair)
        if resource.type == rt.FUNCTION:
            plumbing(report, pair, "digest function", {"environment": env_handler(variables)})
        elif resource.type == rt.EVENT_RULE:
            schedule = {
                "scheduleExpression": _schedule,
                "state": toggle("the digest [runs|no longer runs]"),
            }
            plumbing(report, pair, "digest schedule", schedule)
        elif resource.type == rt.EVENT_TARGET:
            text = "[the schedule now runs the digest|the schedule no longer runs the digest]"
            if kind is None:
                inputs_changed(report, "schedule.target", *both(pair), {})
            else:
                presence(report, kind, "schedule.target", pair, text)
        elif resource.type == rt.ALARM:
            plumbing(
                report, pair, "digest failure alarm", alarm_handlers("the digest's failure alarm")
            )
        else:
            plumbing(
                report, pair, f"digest {resource.type.split(':')[-1]} {resource.name}", LOG_HANDLERS
            )


def _schedule(report: Report, path: str, old: Any, new: Any) -> None:
    # A schedule other than hourly leaves hours out or posts them twice: guard cannot tell.
    text = f"the digest runs on {new} (was {old}): review the hours it covers"
    report.add("changed", path, old, new, "weakens", text)


def compare(base: PlanDocument, head: PlanDocument) -> list[Change]:
    """Every WAF log change from ``base`` to ``head``."""
    out: list[Change] = []
    _logging(base, head, out)
    _bucket(base, head, out)
    _firehose(base, head, out)
    _athena(base, head, out)
    _digest(base, head, out)
    return out


DIFFER = AreaDiffer(
    "logs",
    {
        **dict.fromkeys(
            (
                rt.WAF_LOGGING,
                rt.STREAM,
                rt.WORKGROUP,
                rt.NAMED_QUERY,
                rt.GLUE_DATABASE,
                rt.GLUE_TABLE,
            ),
            ALL_INPUTS,
        ),
        # Not the bucket policy: an IAM document, read as the engine reads it.
        **dict.fromkeys((t for t in rt.BUCKET_TYPES if t != POLICY), ALL_INPUTS),
        # Shared with other areas: each reports those under its own components (within).
        **dict.fromkeys((*FIREHOSE_PARTS, *DIGEST_TYPES), ALL_INPUTS),
    },
    compare,
    within=("guard:logs:",),
)
