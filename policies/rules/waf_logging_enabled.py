"""With guard:logs, every web ACL logs to a destination WAF accepts: a Firehose stream or an S3
bucket named aws-waf-logs-* (guard:logs.delivery)."""

from __future__ import annotations

from typing import Any

from pulumi_policy import EnforcementLevel, PolicyResource, Severity, StackValidationArgs
from pulumi_policy.proxy import UnknownValueError

from policies.framework import WEB_ACL, Meta, Report, as_list, stack_config, stack_policy

META = Meta(
    name="waf-logging-enabled",
    description="When guard:logs is present, every web ACL has a WebAclLoggingConfiguration "
    "whose destination is a Firehose stream or an S3 bucket named aws-waf-logs-*.",
    severity=Severity.MEDIUM,
    enforcement=EnforcementLevel.MANDATORY,
    remediation="declare the web ACL through components.waf (components.waf_logs then logs it), "
    "or add aws.wafv2.WebAclLoggingConfiguration with resource_arn=web_acl.arn and the region's "
    "aws-waf-logs- stream (or the aws-waf-logs- bucket with delivery: s3); waive a web ACL in guard:policy_exceptions with its name as resource.",
    control="Security Hub WAF.11",
)
LOGGING = "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration"
STREAM = "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream"
STREAM_PREFIX = "aws-waf-logs-"
_UNKNOWN = object()


def _get(resource: PolicyResource, key: str) -> Any:
    try:
        return resource.props.get(key)
    except UnknownValueError:
        return _UNKNOWN


def _depends(resource: PolicyResource, key: str) -> list[PolicyResource]:
    return list(resource.property_dependencies.get(key, []))


def _configs_by_web_acl(resources: list[PolicyResource]) -> dict[str, list[PolicyResource]]:
    """Each web ACL's logging configurations, by the web ACL's URN.

    resourceArn is the web ACL's output (unknown at preview); the dependency is known. One pass
    over the configurations: a stack of 500 web ACLs is not 250,000 comparisons.
    """
    configs: dict[str, list[PolicyResource]] = {}
    for config in (r for r in resources if r.resource_type == LOGGING):
        for urn in dict.fromkeys(d.urn for d in _depends(config, "resourceArn")):
            configs.setdefault(urn, []).append(config)
    return configs


def _destination_problem(config: PolicyResource) -> str | None:
    """Why WAF would refuse (or lose) this configuration's destination, or None."""
    streams = [d for d in _depends(config, "logDestinationConfigs") if d.resource_type == STREAM]
    for stream in streams:
        name = _get(stream, "name")
        if isinstance(name, str) and not name.startswith(STREAM_PREFIX):
            return f"its Firehose stream {name} is not named {STREAM_PREFIX}*"
    if streams:
        return None
    destinations = _get(config, "logDestinationConfigs")
    if destinations is _UNKNOWN:
        return None  # computed from resources this check cannot see; WAF checks on apply
    if not any(
        f":{STREAM_PREFIX}" in str(d) or f"/{STREAM_PREFIX}" in str(d)
        for d in as_list(destinations)
    ):
        return "it has no aws-waf-logs- destination"
    return None


def check(args: StackValidationArgs, report: Report) -> None:
    loaded = stack_config()
    if loaded is None or loaded.config.logs is None:
        return
    configs = _configs_by_web_acl(args.resources)
    for web_acl in (r for r in args.resources if r.resource_type == WEB_ACL):
        mine = configs.get(web_acl.urn, [])
        if not mine:
            report(
                f"web ACL {web_acl.name} has no logging configuration: its traffic leaves no "
                "record for incident review or tuning.",
                web_acl.urn,
            )
            continue
        for config in mine:
            problem = _destination_problem(config)
            if problem is not None:
                report(f"web ACL {web_acl.name} logs nowhere WAF accepts: {problem}.", web_acl.urn)


POLICY = stack_policy(META, check)
