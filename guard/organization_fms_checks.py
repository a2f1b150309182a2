"""Offline checks of the Firewall Manager (FMS) policies :mod:`guard.organization_fms` builds.

FMS parses a policy's ManagedServiceData only when the policy is created, so what is wrong in it
fails at deploy, in the FMS administrator account, for the whole organization. This module
judges it beforehand: the document against the examples of the documentation string of
botocore's ``fms`` model (``SecurityServicePolicyData.ManagedServiceData``), the only place its
format is written down; the ``PutPolicy`` request around it, and the rate rule group's
``CreateRuleGroup`` request, against the models themselves (:mod:`guard.aws_model`); and the
floor every WAF baseline must keep.

No Pulumi here: plain data in, error lines out, so the config checks and the policy pack
(``organization-waf-baseline-floor``) judge by one definition.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, Literal

from botocore.model import Shape

from guard.aws_model import request_errors, service_model
from guard.organization_fms import (
    _MANAGED_SERVICE_DATA,
    CLOUDFRONT,
    MANAGED_SERVICE_DATA_MAX,
    REQUIRED_BASELINE_GROUPS,
    RESOURCE_TYPE_LIST,
    SHIELD_ADVANCED,
    WAF_LOG_PREFIX,
    WAFV2,
    _rate_problems,
    parse_managed_service_data,
)
from guard.waf_catalog import KNOWN_BAD_INPUTS

__all__ = [
    "DOCUMENTED_KEYS",
    "baseline_floor_errors",
    "managed_service_data_errors",
    "policy_errors",
    "rate_rule_group_errors",
]

#: The vendor of the floor groups: both are AWS managed rule groups.
FLOOR_VENDOR = "AWS"
#: Known-bad-inputs' Log4j rules; counting them lets Log4j exploits pass, as for product ACLs.
LOG4J_RULE_PREFIX = "Log4JRCE"

_FMS_POLICY = service_model("fms").shape_for("Policy")


def _compiled(pattern: str | None) -> re.Pattern[str] | None:
    # Model patterns are Java-flavoured; one Python cannot compile (\p{L}) is not checked.
    try:
        return re.compile(pattern) if pattern else None
    except re.error:
        return None


#: The model's pattern for ManagedServiceData (no line breaks, no \n or \r escapes).
_MANAGED_SERVICE_DATA_PATTERN = _compiled(_MANAGED_SERVICE_DATA.metadata.get("pattern"))


# --- what the model's documentation string documents ------------------------------------------
#
# Source: botocore's fms model, SecurityServicePolicyData.ManagedServiceData documentation
# (botocore 1.44.8). Top-level keys are the union of the keys of its examples for each type:
# WAFV2 "Account takeover prevention, Bot Control managed rule groups, optimize unassociated web
# ACL, and rule action override", "CAPTCHA and Challenge configs", "Firewall Manager support for
# WAF managed rule group versioning" and "Logging configurations"; SHIELD_ADVANCED "with web ACL
# management" and "Specification for SHIELD_ADVANCED for Amazon CloudFront distributions".
# tests/guard/test_organization_fms_checks.py re-derives them from the installed model, so a
# newer botocore documenting another key fails the tests instead of failing guard's users.
DOCUMENTED_KEYS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        WAFV2: frozenset(
            {
                "type",
                "preProcessRuleGroups",
                "postProcessRuleGroups",
                "defaultAction",
                "customRequestHandling",
                "customResponse",
                "overrideCustomerWebACLAssociation",
                "loggingConfiguration",
                "sampledRequestsEnabledForDefaultActions",
                "optimizeUnassociatedWebACL",
                "captchaConfig",
                "challengeConfig",
                "tokenDomains",
                "associationConfig",
                "webACLSource",
            }
        ),
        SHIELD_ADVANCED: frozenset(
            {
                "type",
                "automaticResponseConfiguration",
                "overrideCustomerWebaclClassic",
                "optimizeUnassociatedWebACL",
            }
        ),
    }
)
#: Keys of a preProcessRuleGroups / postProcessRuleGroups entry in the same WAFV2 examples.
RULE_GROUP_KEYS = frozenset(
    {
        "ruleGroupType",
        "ruleGroupArn",
        "overrideAction",
        "managedRuleGroupIdentifier",
        "excludeRules",
        "sampledRequestsEnabled",
        "ruleActionOverrides",
    }
)
#: Keys of managedRuleGroupIdentifier in the same examples.
IDENTIFIER_KEYS = frozenset(
    {"vendorName", "managedRuleGroupName", "version", "versionEnabled", "managedRuleGroupConfigs"}
)
#: ruleGroupType values. The current examples show only ManagedRuleGroup; RuleGroup (with its
#: ruleGroupArn) is in the example earlier versions of the same documentation string carried
#: ("ruleGroupArn":"rulegrouparn", ... "ruleGroupType":"RuleGroup").
RULE_GROUP_TYPES = ("ManagedRuleGroup", "RuleGroup")
#: overrideAction.type: NONE keeps the group's own actions, COUNT only counts (both in examples).
OVERRIDE_ACTIONS = ("NONE", "COUNT")
#: defaultAction.type: the WAFV2 examples show ALLOW, the WAF Classic one BLOCK.
DEFAULT_ACTIONS = ("ALLOW", "BLOCK")
#: loggingConfiguration keys of the "Logging configurations" example; the text says "you can
#: specify one logDestinationConfigs" and "as many as 20 redactedFields".
LOGGING_KEYS = frozenset({"logDestinationConfigs", "redactedFields", "loggingFilterConfigs"})
MAX_REDACTED_FIELDS = 20
#: SHIELD_ADVANCED automaticResponseConfiguration, from the CloudFront specification.
AUTOMATIC_RESPONSE_KEYS = frozenset({"automaticResponseStatus", "automaticResponseAction"})
AUTOMATIC_RESPONSE_STATUSES = ("ENABLED", "IGNORED", "DISABLED")
AUTOMATIC_RESPONSE_ACTIONS = ("BLOCK", "COUNT")
#: Policy types whose DeleteUnusedFMManagedResources is refused ("This option is not available
#: for Shield Advanced or WAF Classic policies", the model's Policy documentation).
_NO_DELETE_UNUSED = (SHIELD_ADVANCED, "WAF")


# --- rate-based rule group ---------------------------------------------------------------------


#: Pulumi input names whose API member is not their CamelCase spelling.
_API_NAMES = {"cloudwatch_metrics_enabled": "CloudWatchMetricsEnabled"}


def _api_form(value: Any) -> Any:
    """Pulumi's snake_case inputs as the API's CamelCase members (keys only, values kept)."""
    if isinstance(value, Mapping):
        return {
            _API_NAMES.get(key, "".join(part.capitalize() for part in key.split("_"))): _api_form(
                item
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_api_form(item) for item in value]
    return value


def rate_rule_group_errors(
    group: Mapping[str, Any], *, scope: Literal["REGIONAL", "CLOUDFRONT"] = "REGIONAL"
) -> list[str]:
    """What wafv2 would refuse in ``CreateRuleGroup`` for a
    :func:`guard.organization_fms.rate_rule_group` result: the request checked against botocore's
    model, plus the limit maximum and the evaluation windows that botocore's validator does not
    check."""
    request = {
        "Name": group.get("name"),
        "Scope": scope,
        "Capacity": group.get("capacity"),
        "VisibilityConfig": _api_form(group.get("visibility_config")),
        "Rules": _api_form(list(group.get("rules") or [])),
    }
    errors = request_errors("wafv2", "CreateRuleGroup", request)
    for index, rule in enumerate(request["Rules"]):
        statement = (rule.get("Statement") or {}).get("RateBasedStatement")
        if isinstance(statement, Mapping):
            for problem in _rate_problems(
                statement.get("Limit"), statement.get("EvaluationWindowSec", 300)
            ):
                errors.append(f"Rules[{index}]: {problem}")
    return errors


# --- ManagedServiceData ------------------------------------------------------------------------


def _one_of(value: Any, allowed: Sequence[str], what: str) -> list[str]:
    if value in allowed:
        return []
    return [f"{what} is {value!r}; allowed: {', '.join(allowed)}"]


def _unknown_keys(value: Mapping[str, Any], allowed: frozenset[str], what: str) -> list[str]:
    unknown = sorted(str(k) for k in value if k not in allowed)
    if not unknown:
        return []
    return [
        f"{what} has keys the fms model does not document: {', '.join(unknown)}; "
        f"documented: {', '.join(sorted(allowed))}"
    ]


def _rule_group_errors(entry: Any, where: str) -> list[str]:
    if not isinstance(entry, Mapping):
        return [f"{where} is {type(entry).__name__}, not an object"]
    errors = _unknown_keys(entry, RULE_GROUP_KEYS, where)
    kind = entry.get("ruleGroupType")
    errors += _one_of(kind, RULE_GROUP_TYPES, f"{where}.ruleGroupType")
    override = entry.get("overrideAction")
    override_type = override.get("type") if isinstance(override, Mapping) else override
    errors += _one_of(override_type, OVERRIDE_ACTIONS, f"{where}.overrideAction.type")
    if kind == "ManagedRuleGroup":
        identifier = entry.get("managedRuleGroupIdentifier")
        if not isinstance(identifier, Mapping):
            errors.append(f"{where}: a ManagedRuleGroup needs managedRuleGroupIdentifier")
        else:
            errors += _unknown_keys(
                identifier, IDENTIFIER_KEYS, f"{where}.managedRuleGroupIdentifier"
            )
            for key in ("vendorName", "managedRuleGroupName"):
                if not isinstance(identifier.get(key), str) or not identifier.get(key):
                    errors.append(f"{where}.managedRuleGroupIdentifier needs {key}")
    elif kind == "RuleGroup" and not (
        isinstance(entry.get("ruleGroupArn"), str) and entry["ruleGroupArn"].startswith("arn:")
    ):
        errors.append(f"{where}: a RuleGroup needs ruleGroupArn, the rule group's ARN")
    return errors


def _logging_errors(logging: Any) -> list[str]:
    if logging is None:
        return []
    if not isinstance(logging, Mapping):
        return [f"loggingConfiguration is {type(logging).__name__}, not an object or null"]
    errors = _unknown_keys(logging, LOGGING_KEYS, "loggingConfiguration")
    destinations = logging.get("logDestinationConfigs")
    if not isinstance(destinations, list) or len(destinations) != 1:
        errors.append(
            "loggingConfiguration.logDestinationConfigs must list exactly one destination ARN"
        )
    else:
        arn = destinations[0]
        # The destination's name is the ARN's last part: the bucket (arn:...:s3:::name) or the
        # Firehose stream (arn:...:deliverystream/name).
        name = arn.rsplit(":", 1)[-1].rsplit("/", 1)[-1] if isinstance(arn, str) else ""
        if not isinstance(arn, str) or not arn.startswith("arn:"):
            errors.append(f"loggingConfiguration destination {arn!r} is not an ARN")
        elif not name.startswith(WAF_LOG_PREFIX):
            errors.append(
                f"loggingConfiguration destination {arn} is not named {WAF_LOG_PREFIX}...; "
                "WAF logs to no other"
            )
    redacted = logging.get("redactedFields", [])
    if not isinstance(redacted, list) or len(redacted) > MAX_REDACTED_FIELDS:
        errors.append(
            f"loggingConfiguration.redactedFields must be a list of at most {MAX_REDACTED_FIELDS}"
        )
    return errors


def _wafv2_errors(data: Mapping[str, Any]) -> list[str]:
    errors: list[str] = []
    for key in ("preProcessRuleGroups", "postProcessRuleGroups"):
        groups = data.get(key, [])
        if groups is None:
            continue
        if not isinstance(groups, list):
            errors.append(f"{key} is {type(groups).__name__}, not a list")
            continue
        for index, entry in enumerate(groups):
            errors += _rule_group_errors(entry, f"{key}[{index}]")
    default = data.get("defaultAction")
    default_type = default.get("type") if isinstance(default, Mapping) else default
    errors += _one_of(default_type, DEFAULT_ACTIONS, "defaultAction.type")
    return errors + _logging_errors(data.get("loggingConfiguration"))


def _shield_errors(data: Mapping[str, Any], resource_types: Sequence[str]) -> list[str]:
    response = data.get("automaticResponseConfiguration")
    if response is None:
        return []
    if not isinstance(response, Mapping):
        return [f"automaticResponseConfiguration is {type(response).__name__}, not an object"]
    errors = _unknown_keys(response, AUTOMATIC_RESPONSE_KEYS, "automaticResponseConfiguration")
    status = response.get("automaticResponseStatus", "IGNORED")
    errors += _one_of(
        status,
        AUTOMATIC_RESPONSE_STATUSES,
        "automaticResponseConfiguration.automaticResponseStatus",
    )
    action = response.get("automaticResponseAction")
    if status == "ENABLED" or action is not None:
        errors += _one_of(
            action,
            AUTOMATIC_RESPONSE_ACTIONS,
            "automaticResponseConfiguration.automaticResponseAction",
        )
    if CLOUDFRONT not in resource_types:
        errors.append(
            "automaticResponseConfiguration applies to CloudFront distributions only, and the "
            f"policy's resource types ({', '.join(resource_types) or 'none'}) have none; for other "
            "types the fms model documents an empty ManagedServiceData"
        )
    return errors


def managed_service_data_errors(
    policy_type: Any, text: Any, *, resource_types: Sequence[str] = (), check_length: bool = True
) -> list[str]:
    """What is wrong with a policy's ManagedServiceData, judged by the fms model's documentation:
    it parses, its ``type`` is the policy's, its keys are documented for the type (WAFV2 and
    SHIELD_ADVANCED; other types only parse and type), and its rule groups, default action,
    logging and Shield response have documented values."""
    if text is None:
        if policy_type == WAFV2:
            return ["a WAFV2 policy needs ManagedServiceData (its rule groups and default action)"]
        return []
    if check_length and isinstance(text, str) and len(text) > MANAGED_SERVICE_DATA_MAX:
        # policy_errors reports the length with the model's other limits (check_length=False);
        # checked here for a document whose request cannot be built (unknown at preview).
        return [
            f"ManagedServiceData is {len(text)} characters; the fms model allows at most "
            f"{MANAGED_SERVICE_DATA_MAX}"
        ]
    data, problem = parse_managed_service_data(text)
    if data is None:
        return [f"ManagedServiceData {problem}"]
    errors = []
    pattern = _MANAGED_SERVICE_DATA_PATTERN
    if pattern is not None and isinstance(text, str) and pattern.fullmatch(text) is None:
        # The model's pattern refuses line breaks and \n or \r escapes anywhere in the text.
        # Unverified: whether FMS matches it against the whole text (as here) or only a part;
        # botocore's validator checks no pattern. Compact JSON without such strings passes.
        errors.append(
            "ManagedServiceData has a line break or a \\n or \\r escape, which the fms model's "
            f"pattern {pattern.pattern} refuses; use compact JSON "
            "(managed_service_data_text)"
        )
    if data.get("type") != policy_type:
        errors.append(
            f"ManagedServiceData type is {data.get('type')!r}, but SecurityServicePolicyData.Type "
            f"is {policy_type!r}; they must be the same"
        )
    allowed = DOCUMENTED_KEYS.get(str(policy_type))
    if allowed is not None:
        errors += _unknown_keys(data, allowed, "ManagedServiceData")
    if policy_type == WAFV2:
        errors += _wafv2_errors(data)
    elif policy_type == SHIELD_ADVANCED:
        errors += _shield_errors(data, resource_types)
    return errors


def _bound_errors(value: Any, shape: Shape, path: str) -> list[str]:
    """What botocore's validator leaves out: maximum lengths of strings and lists, and the enum
    of map keys (guard.aws_model.enum_errors checks map values only)."""
    errors: list[str] = []
    maximum = shape.metadata.get("max")
    if shape.type_name == "structure" and isinstance(value, Mapping):
        members = shape.members  # type: ignore[attr-defined]
        for key, item in value.items():
            if key in members:
                errors += _bound_errors(item, members[key], f"{path}.{key}")
    elif shape.type_name == "list" and isinstance(value, list):
        if maximum is not None and len(value) > maximum:
            errors.append(f"{path}: {len(value)} items; the fms model allows at most {maximum}")
        for index, item in enumerate(value):
            errors += _bound_errors(item, shape.member, f"{path}[{index}]")  # type: ignore[attr-defined]
    elif shape.type_name == "map" and isinstance(value, Mapping):
        allowed = getattr(shape.key, "enum", None) or []  # type: ignore[attr-defined]
        for key, item in value.items():
            if allowed and key not in allowed:
                errors.append(f"{path}: key {key!r} is not one of {', '.join(allowed)}")
            errors += _bound_errors(item, shape.value, f"{path}.{key}")  # type: ignore[attr-defined]
    elif (
        shape.type_name == "string"
        and isinstance(value, str)
        and maximum is not None
        and len(value) > maximum
    ):
        errors.append(f"{path}: {len(value)} characters; the fms model allows at most {maximum}")
    return errors


def _resource_types(policy: Mapping[str, Any]) -> list[str]:
    listed = policy.get("ResourceTypeList")
    if isinstance(listed, list) and listed:
        return [str(t) for t in listed]
    single = policy.get("ResourceType")
    return [str(single)] if single and single != RESOURCE_TYPE_LIST else []


def policy_errors(policy: Mapping[str, Any]) -> list[str]:
    """What FMS would refuse in this ``PutPolicy`` ``Policy``, offline, one line per problem,
    each naming the policy (empty when valid): botocore's validator and the enums of the fms
    model, the limits it leaves out (ManagedServiceData at most MANAGED_SERVICE_DATA_MAX
    characters), the resource-type and scope rules of the model's documentation, and
    :func:`managed_service_data_errors`."""
    where = f"FMS policy {policy.get('PolicyName') or '(unnamed)'}"
    errors = request_errors("fms", "PutPolicy", {"Policy": dict(policy)})
    errors += _bound_errors(policy, _FMS_POLICY, "Policy")
    listed = policy.get("ResourceTypeList")
    if listed and policy.get("ResourceType") != RESOURCE_TYPE_LIST:
        errors.append(f"ResourceTypeList is given, so ResourceType must be {RESOURCE_TYPE_LIST}")
    if policy.get("ResourceType") == RESOURCE_TYPE_LIST and (
        not isinstance(listed, list) or len(listed) < 2
    ):
        errors.append(
            "ResourceType is ResourceTypeList, which needs two or more types in ResourceTypeList "
            "(one type goes in ResourceType)"
        )
    if policy.get("IncludeMap") and policy.get("ExcludeMap"):
        errors.append(
            "IncludeMap and ExcludeMap are both set; FMS applies IncludeMap and ignores "
            "ExcludeMap (give one)"
        )
    data = policy.get("SecurityServicePolicyData")
    if isinstance(data, Mapping):
        policy_type = data.get("Type")
        if policy_type in _NO_DELETE_UNUSED and policy.get("DeleteUnusedFMManagedResources"):
            errors.append(
                f"DeleteUnusedFMManagedResources is not available for {policy_type} policies"
            )
        errors += managed_service_data_errors(
            policy_type,
            data.get("ManagedServiceData"),
            resource_types=_resource_types(policy),
            check_length=False,
        )
    return [f"{where}: {e}" for e in errors]


# --- the floor -----------------------------------------------------------------------------------


def _floor_entry(groups: Any, name: str) -> Mapping[str, Any] | None:
    for entry in groups if isinstance(groups, list) else []:
        if not isinstance(entry, Mapping):
            continue
        identifier = entry.get("managedRuleGroupIdentifier")
        if (
            entry.get("ruleGroupType") == "ManagedRuleGroup"
            and isinstance(identifier, Mapping)
            and identifier.get("vendorName") == FLOOR_VENDOR
            and identifier.get("managedRuleGroupName") == name
        ):
            return entry
    return None


def _counted_log4j_rules(entry: Mapping[str, Any]) -> list[str]:
    """Log4JRCE rules excluded (excludeRules: counted) or overridden to anything but block."""
    found = [
        str(rule.get("name"))
        for rule in entry.get("excludeRules") or []
        if isinstance(rule, Mapping) and str(rule.get("name", "")).startswith(LOG4J_RULE_PREFIX)
    ]
    for override in entry.get("ruleActionOverrides") or []:
        if not isinstance(override, Mapping):
            continue
        action = override.get("actionToUse")
        if str(override.get("name", "")).startswith(LOG4J_RULE_PREFIX) and not (
            isinstance(action, Mapping) and set(action) == {"block"}
        ):
            found.append(str(override.get("name")))
    return found


def baseline_floor_errors(policy_name: str, data: Mapping[str, Any]) -> list[str]:
    """The floor a WAFV2 ManagedServiceData must keep, one line per gap: each of
    REQUIRED_BASELINE_GROUPS (vendor AWS) in preProcessRuleGroups, with overrideAction NONE
    (COUNT only counts), and known-bad-inputs' Log4JRCE rules neither excluded nor overridden."""
    where = f"FMS policy {policy_name}"
    first = data.get("preProcessRuleGroups")
    errors = []
    for name in REQUIRED_BASELINE_GROUPS:
        entry = _floor_entry(first, name)
        if entry is None:
            last = _floor_entry(data.get("postProcessRuleGroups"), name)
            where_else = (
                " (it is in postProcessRuleGroups, which run after each account's own rules)"
                if last is not None
                else ""
            )
            errors.append(
                f"{where}: preProcessRuleGroups lack {FLOOR_VENDOR} {name}{where_else}; "
                f"required first: {', '.join(REQUIRED_BASELINE_GROUPS)}"
            )
            continue
        override = entry.get("overrideAction")
        action = override.get("type") if isinstance(override, Mapping) else override
        if action != "NONE":
            errors.append(
                f"{where}: {name} has overrideAction {action!r}, so its rules only count; "
                "required: NONE"
            )
        if name == KNOWN_BAD_INPUTS:
            counted = _counted_log4j_rules(entry)
            if counted:
                errors.append(
                    f"{where}: {name} excludes or overrides {', '.join(counted)}, so Log4j "
                    "exploits pass; required: no excludeRules or ruleActionOverrides for "
                    f"{LOG4J_RULE_PREFIX}* rules other than block"
                )
    return errors
