"""Firewall Manager (FMS) policies of the organization stack, built as plain data.

The organization stack declares ``aws.fms.Policy`` resources for a WAF baseline web ACL on every
ALB and CloudFront distribution in scope, and for Shield Advanced. Their
``security_service_policy_data.managed_service_data`` is a JSON document that no SDK types: FMS
parses it only when the policy is created, so a misspelt key or a wrong value fails at deploy,
in the FMS administrator account, for the whole organization. The document's format is only
written down in the documentation string of botocore's ``fms`` model
(``SecurityServicePolicyData.ManagedServiceData``), so this module builds it from plain data in
that string's format, and builds the ``PutPolicy`` request around it;
:mod:`guard.organization_fms_checks` checks both offline.

No Pulumi here: plain data in, plain data out, so the organization component, the config checks
and the policy pack (``organization-waf-baseline-floor``) share one definition.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from botocore.model import Shape

from guard.aws_model import service_model
from guard.organization import (
    ALB_RESOURCE_TYPE,
    CLOUDFRONT_RESOURCE_TYPE,
    FirewallManagerPolicy,
    include_map,
)
from guard.waf_catalog import IP_REPUTATION, KNOWN_BAD_INPUTS, group_by_alias
from guard.waf_rules import MAX_WCU, statement_wcu

__all__ = [
    "MANAGED_SERVICE_DATA_MAX",
    "RATE_LIMIT_MAX",
    "RATE_LIMIT_MIN",
    "RATE_WINDOWS",
    "REQUIRED_BASELINE_GROUPS",
    "baseline_wcu",
    "managed_service_data_text",
    "parse_managed_service_data",
    "policy_request",
    "policy_request_from_inputs",
    "rate_rule_group",
    "rate_rule_group_capacity",
    "shield_data",
    "waf_baseline_data",
]

WAFV2 = "WAFV2"
SHIELD_ADVANCED = "SHIELD_ADVANCED"
# The resource types, named once: guard.organization (which stays light to import) defines them.
ALB, CLOUDFRONT = ALB_RESOURCE_TYPE, CLOUDFRONT_RESOURCE_TYPE
#: What ResourceType says when the types are in ResourceTypeList (the model's ResourceType doc).
RESOURCE_TYPE_LIST = "ResourceTypeList"
#: The mandatory floor of every baseline web ACL: the same two groups every default-allow product
#: web ACL must run (waf-required-managed-groups), shared through guard.waf_catalog.
REQUIRED_BASELINE_GROUPS: tuple[str, ...] = (KNOWN_BAD_INPUTS, IP_REPUTATION)
#: WAF refuses a logging destination whose name does not start with this (WAF API Reference,
#: LoggingConfiguration: "The name that you give the destination must start with aws-waf-logs-").
WAF_LOG_PREFIX = "aws-waf-logs-"


def _member(service: str, shape: str, member: str) -> Shape:
    """One member of a structure of a botocore model."""
    members: Mapping[str, Shape] = service_model(service).shape_for(shape).members  # type: ignore[attr-defined]
    return members[member]


_MANAGED_SERVICE_DATA = _member("fms", "SecurityServicePolicyData", "ManagedServiceData")
#: The longest ManagedServiceData the installed botocore's fms model allows. Read, never written
#: down: botocore 1.29.0's model said 8192, today's says 30000, and AWS enforces its current one.
MANAGED_SERVICE_DATA_MAX: int = int(_MANAGED_SERVICE_DATA.metadata["max"])


# --- rate-based rule group ---------------------------------------------------------------------


def _documented_windows() -> tuple[int, ...]:
    # The model types EvaluationWindowSec as a plain long; the allowed values are only in its
    # documentation ("Valid settings are 60, 120, 300, and 600."). Parsed, not copied, so a
    # botocore that documents a new window lets guard use it; a reworded sentence fails loudly.
    text = _member("wafv2", "RateBasedStatement", "EvaluationWindowSec").documentation
    found = re.search(r"Valid settings are ([\d, and]+)\.", text)
    if found is None:
        raise RuntimeError(
            "botocore's wafv2 model no longer says 'Valid settings are ...' for "
            "RateBasedStatement.EvaluationWindowSec; update guard.organization_fms"
        )
    return tuple(int(n) for n in re.findall(r"\d+", found.group(1)))


#: The evaluation windows (seconds) botocore's wafv2 model documents for a rate-based rule.
RATE_WINDOWS: tuple[int, ...] = _documented_windows()
#: Bounds of RateBasedStatement.Limit (the model's RateLimit shape). botocore's validator checks
#: only the minimum, so the maximum is checked here.
RATE_LIMIT_MIN: int = int(_member("wafv2", "RateBasedStatement", "Limit").metadata["min"])
RATE_LIMIT_MAX: int = int(_member("wafv2", "RateBasedStatement", "Limit").metadata["max"])


def rate_rule_group_capacity() -> int:
    """WCUs of the rate rule group: one rate-based rule aggregating on IP, no scope-down.

    "WCUs - 2, as a base cost. For each custom aggregation key that you specify, add 30 WCUs. If
    you use a scope-down statement in the rule, calculate and add the WCUs for that" (AWS WAF
    Developer Guide, waf-rule-statement-type-rate-based.html). Counted by guard's own WCU table
    (guard.waf_rules.statement_wcu), the one product web ACLs are counted by.
    """
    return statement_wcu(
        {"RateBasedStatement": {"Limit": RATE_LIMIT_MIN, "AggregateKeyType": "IP"}}
    )


def _rate_problems(limit: Any, window: Any) -> list[str]:
    problems = []
    if not isinstance(limit, int) or isinstance(limit, bool):
        problems.append(f"limit must be a whole number, got {limit!r}")
    elif not RATE_LIMIT_MIN <= limit <= RATE_LIMIT_MAX:
        problems.append(
            f"limit {limit} is outside {RATE_LIMIT_MIN}..{RATE_LIMIT_MAX} "
            "(wafv2 model, RateBasedStatement.Limit)"
        )
    if window not in RATE_WINDOWS or isinstance(window, bool):
        problems.append(
            f"evaluation window {window!r} s is not one of {', '.join(map(str, RATE_WINDOWS))} "
            "(wafv2 model, RateBasedStatement.EvaluationWindowSec)"
        )
    return problems


def rate_rule_group(limit: int, window: int, *, name: str, metric_name: str) -> dict[str, Any]:
    """The wafv2 RuleGroup (in the FMS administrator account) the baseline's last rule group
    references: one rule blocking an IP above ``limit`` requests in ``window`` seconds.

    Keyword arguments of ``aws.wafv2.RuleGroup`` in pulumi-aws 7's snake_case: ``name``,
    ``capacity``, ``visibility_config`` and ``rules`` (a list of RuleGroupRuleArgsDict). The
    caller adds ``scope`` (REGIONAL for ALBs; CLOUDFRONT, in us-east-1, for distributions).
    ValueError for a limit or window the wafv2 model does not allow.
    """
    problems = _rate_problems(limit, window)
    if problems:
        raise ValueError(f"rate rule group {name}: {'; '.join(problems)}")
    visibility = {
        "cloudwatch_metrics_enabled": True,
        "metric_name": metric_name,
        "sampled_requests_enabled": True,
    }
    rule = {
        "name": name,
        "priority": 0,
        "action": {"block": {}},
        "statement": {
            "rate_based_statement": {
                "limit": limit,
                "evaluation_window_sec": window,
                "aggregate_key_type": "IP",
            }
        },
        "visibility_config": dict(visibility),
    }
    return {
        "name": name,
        # A rule group's capacity is fixed at creation and is what a web ACL using it is charged.
        "capacity": rate_rule_group_capacity(),
        "visibility_config": visibility,
        "rules": [rule],
    }


# --- WCU ---------------------------------------------------------------------------------------


def baseline_wcu(managed_rules: Sequence[str], *, rate_rule_group: bool) -> int:
    """WCUs of the baseline's rule groups, counted as product web ACLs are: each managed group's
    catalog WCU, plus the rate rule group's capacity. The FMS web ACL of an account also holds
    the account's own rules, all within guard.waf_rules.MAX_WCU; above INCLUDED_WCU each
    account's web ACL is charged extra."""
    total = sum(
        statement_wcu(
            {"ManagedRuleGroupStatement": {"VendorName": group.vendor, "Name": group.name}}
        )
        for group in (group_by_alias(alias) for alias in managed_rules)
    )
    return total + (rate_rule_group_capacity() if rate_rule_group else 0)


# --- ManagedServiceData ------------------------------------------------------------------------


def _managed_group_entry(vendor: str, name: str) -> dict[str, Any]:
    # The keys and nulls of the model documentation's WAFV2 examples: versionEnabled null uses
    # the group's default version, which AWS keeps current. No priority key: the examples have
    # none. Unverified: that FMS evaluates the groups in list order (the examples have one group).
    return {
        "ruleGroupType": "ManagedRuleGroup",
        "managedRuleGroupIdentifier": {
            "vendorName": vendor,
            "managedRuleGroupName": name,
            "version": None,
            "versionEnabled": None,
        },
        "overrideAction": {"type": "NONE"},
        "excludeRules": [],
        "ruleGroupArn": None,
        "sampledRequestsEnabled": True,
    }


def waf_baseline_data(
    managed_rules: Sequence[str],
    *,
    rate_rule_group_arn: str | None,
    log_bucket: str | None,
    partition: str = "aws",
) -> dict[str, Any]:
    """The WAFV2 ManagedServiceData of the baseline policy, in the documented format.

    ``managed_rules`` are catalog aliases (guard.waf_catalog), run first in the order given;
    the rate rule group (:func:`rate_rule_group`, by ARN) runs last. ValueError for a repeated
    alias, a bucket WAF would not log to, or more WCUs than a web ACL holds; KeyError (listing
    the known aliases) for an unknown alias.
    """
    repeated = sorted({a for a in managed_rules if list(managed_rules).count(a) > 1})
    if repeated:
        raise ValueError(f"managed rule groups listed twice: {', '.join(repeated)}")
    if log_bucket is not None and not log_bucket.startswith(WAF_LOG_PREFIX):
        raise ValueError(
            f"log bucket {log_bucket!r} must be named {WAF_LOG_PREFIX}...: WAF logs to no other"
        )
    wcu = baseline_wcu(managed_rules, rate_rule_group=rate_rule_group_arn is not None)
    if wcu > MAX_WCU:
        raise ValueError(f"the baseline needs {wcu} WCUs; a web ACL holds at most {MAX_WCU}")
    groups = [group_by_alias(alias) for alias in managed_rules]
    post: list[dict[str, Any]] = []
    if rate_rule_group_arn is not None:
        # Last (postProcess): an account's own rules, e.g. an allow for its partners, act before
        # the organization-wide limit, which is the backstop. The floor groups are first
        # (preProcess), so no account rule can let a known exploit through before them.
        post.append(
            {
                "ruleGroupType": "RuleGroup",
                "ruleGroupArn": rate_rule_group_arn,
                "managedRuleGroupIdentifier": None,
                "overrideAction": {"type": "NONE"},
                "excludeRules": [],
                "sampledRequestsEnabled": True,
            }
        )
    logging = None
    if log_bucket is not None:
        # The model documentation: "Firewall Manager supports Amazon Kinesis Data Firehose and
        # Amazon S3 as the logDestinationConfigs", one destination, by ARN, as in its example
        # "arn:aws:s3:::aws-waf-logs-example-bucket"; FMS's developer guide ("Logging
        # destinations") lists an S3 bucket too. Unverified: that guide's S3 section (which
        # account must own the bucket, the bucket policy FMS needs, where CloudFront web ACLs
        # log to) could not be read from here; only its introduction was.
        logging = {
            "logDestinationConfigs": [f"arn:{partition}:s3:::{log_bucket}"],
            "redactedFields": [],
        }
    return {
        "type": WAFV2,
        "preProcessRuleGroups": [_managed_group_entry(g.vendor, g.name) for g in groups],
        "postProcessRuleGroups": post,
        "defaultAction": {"type": "ALLOW"},
        # false: FMS must not replace a web ACL a product stack of guard associates (with its
        # product's own rules, rate limits and allowlists) by the baseline; FMS reports such a
        # resource non-compliant instead, and the organization stack's exclude tag leaves it out.
        "overrideCustomerWebACLAssociation": False,
        "sampledRequestsEnabledForDefaultActions": True,
        # true: FMS creates a web ACL in an account only when a resource will use it.
        "optimizeUnassociatedWebACL": True,
        "loggingConfiguration": logging,
    }


def shield_data(
    automatic_l7_mitigation: Literal["count", "block", "off"], *, cloudfront: bool
) -> dict[str, Any] | None:
    """The SHIELD_ADVANCED ManagedServiceData, or None.

    The documentation specifies a document for CloudFront distributions only (automatic
    application-layer DDoS mitigation exists only there): "For other resource types that you can
    protect with a Shield Advanced policy, this ManagedServiceData configuration is an empty
    string." For those (``cloudfront=False``) this returns None and the caller leaves
    ``managed_service_data`` unset: the model's ManagedServiceData has a minimum length of 1, so
    an explicit empty string is refused by botocore's validator.
    """
    if not cloudfront:
        return None
    if automatic_l7_mitigation == "off":
        # DISABLED turns it off in every account; IGNORED (AWS's default) would leave each
        # account's own setting. The action is "only required when ... ENABLED".
        response: dict[str, Any] = {"automaticResponseStatus": "DISABLED"}
    else:
        response = {
            "automaticResponseStatus": "ENABLED",
            "automaticResponseAction": automatic_l7_mitigation.upper(),
        }
    return {
        "type": SHIELD_ADVANCED,
        "automaticResponseConfiguration": response,
        # As overrideCustomerWebACLAssociation for WAFV2: an existing web ACL stays (the default).
        "overrideCustomerWebaclClassic": False,
        # FMS creates the web ACLs automatic mitigation needs only where a resource uses them.
        "optimizeUnassociatedWebACL": True,
    }


def managed_service_data_text(data: Mapping[str, Any]) -> str:
    """The ManagedServiceData string for ``security_service_policy_data.managed_service_data``:
    compact JSON with the keys in the order built (no whitespace, so the same data is the same
    string and Pulumi shows no spurious diff; ASCII escapes, so no character counts twice)."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def parse_managed_service_data(text: Any) -> tuple[dict[str, Any] | None, str | None]:
    """(the document, None), or (None, why it is not a JSON object)."""
    if not isinstance(text, str):
        return None, f"is {type(text).__name__}, not JSON text"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, f"is not JSON ({exc})"
    if not isinstance(data, dict):
        return None, f"is JSON {type(data).__name__}, not an object"
    return data, None


# --- PutPolicy ---------------------------------------------------------------------------------


def _scope_map(accounts: Sequence[str], org_units: Sequence[str]) -> dict[str, list[str]]:
    scope = {}
    if accounts:
        scope["ACCOUNT"] = list(accounts)
    if org_units:
        scope["ORG_UNIT"] = list(org_units)
    return scope


def policy_request(
    name: str,
    policy_type: str,
    managed_service_data: str | None,
    resource_types: Sequence[str],
    *,
    resource_tags: Mapping[str, str] | None = None,
    exclude_resource_tags: bool = False,
    remediation_enabled: bool = True,
    accounts: Sequence[str] = (),
    org_units: Sequence[str] = (),
    delete_unused_fm_managed_resources: bool | None = None,
) -> dict[str, Any]:
    """The ``Policy`` member of an FMS ``PutPolicy`` request, as the API spells it.

    One resource type goes in ResourceType; several in ResourceTypeList, with ResourceType
    ``ResourceTypeList`` (the model's ResourceType documentation). ``managed_service_data`` None
    leaves ManagedServiceData out (Shield Advanced for other than CloudFront). Accounts and OUs
    form IncludeMap; none means every account. Check the result with
    :func:`guard.organization_fms_checks.policy_errors`.
    """
    data: dict[str, Any] = {"Type": policy_type}
    if managed_service_data is not None:
        data["ManagedServiceData"] = managed_service_data
    policy: dict[str, Any] = {"PolicyName": name, "SecurityServicePolicyData": data}
    if len(resource_types) == 1:
        policy["ResourceType"] = resource_types[0]
    else:
        policy["ResourceType"] = RESOURCE_TYPE_LIST
        policy["ResourceTypeList"] = list(resource_types)
    policy["ResourceTags"] = [{"Key": k, "Value": v} for k, v in (resource_tags or {}).items()]
    policy["ExcludeResourceTags"] = exclude_resource_tags
    policy["RemediationEnabled"] = remediation_enabled
    include = _scope_map(accounts, org_units)
    if include:
        policy["IncludeMap"] = include
    if delete_unused_fm_managed_resources is not None:
        policy["DeleteUnusedFMManagedResources"] = delete_unused_fm_managed_resources
    return policy


def policy_request_from_inputs(props: Mapping[str, Any]) -> dict[str, Any]:
    """The ``PutPolicy`` ``Policy`` an ``aws:fms/policy:Policy`` resource's inputs ask for, from
    the engine's camelCase inputs (pulumi-aws 7: name, securityServicePolicyData, resourceType or
    resourceTypeLists, resourceTags as a map, includeMap/excludeMap with accounts and orgunits,
    deleteUnusedFmManagedResources, description)."""
    data = props.get("securityServicePolicyData") or {}
    types = list(props.get("resourceTypeLists") or [])
    if not types and props.get("resourceType"):
        types = [props["resourceType"]]
    include = props.get("includeMap") or {}
    policy = policy_request(
        str(props.get("name") or ""),
        str(data.get("type") or ""),
        data.get("managedServiceData"),
        types,
        resource_tags=dict(props.get("resourceTags") or {}),
        exclude_resource_tags=bool(props.get("excludeResourceTags", False)),
        remediation_enabled=bool(props.get("remediationEnabled", False)),
        accounts=list(include.get("accounts") or []),
        org_units=list(include.get("orgunits") or []),
        delete_unused_fm_managed_resources=props.get("deleteUnusedFmManagedResources"),
    )
    if props.get("resourceTypeLists") and len(types) == 1:
        # Keep what was declared (the provider refuses a one-element list), so policy_errors
        # reports it instead of judging a request the provider would never send.
        policy["ResourceType"] = RESOURCE_TYPE_LIST
        policy["ResourceTypeList"] = types
    exclude = props.get("excludeMap") or {}
    exclude_map = _scope_map(
        list(exclude.get("accounts") or []), list(exclude.get("orgunits") or [])
    )
    if exclude_map:
        policy["ExcludeMap"] = exclude_map
    if props.get("description"):
        policy["PolicyDescription"] = props["description"]
    return policy


def managed_service_data_of(
    policy: FirewallManagerPolicy, rate_rule_group_arn: str | None
) -> str | None:
    """The ManagedServiceData text of one of guard:organization's policies (None: Shield on
    other than CloudFront, whose data AWS documents as empty). ValueError or KeyError (from
    :func:`waf_baseline_data`) for a baseline WAF would refuse."""
    if policy.policy_type == WAFV2:
        data = waf_baseline_data(
            policy.managed_rules,
            rate_rule_group_arn=rate_rule_group_arn,
            log_bucket=policy.log_bucket,
        )
        return managed_service_data_text(data)
    assert policy.mitigation is not None
    shield = shield_data(policy.mitigation, cloudfront=policy.scope == "CLOUDFRONT")
    return managed_service_data_text(shield) if shield else None


def policy_request_of(
    policy: FirewallManagerPolicy, managed_service_data: str | None
) -> dict[str, Any]:
    """The PutPolicy ``Policy`` the program's ``aws.fms.Policy`` for ``policy`` asks for."""
    included = include_map(policy.targets) or {}
    return policy_request(
        policy.name,
        policy.policy_type,
        managed_service_data,
        [policy.resource_type],
        resource_tags=dict(policy.exclude_tag),
        exclude_resource_tags=bool(policy.exclude_tag),
        accounts=included.get("accounts", []),
        org_units=included.get("orgunits", []),
    )
