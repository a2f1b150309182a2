"""Every Firewall Manager WAF policy puts the floor groups first, blocking, on every account."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import EnforcementLevel, ResourceValidationArgs, Severity
from pulumi_policy.proxy import UnknownValueError

from guard.organization_fms import (
    REQUIRED_BASELINE_GROUPS,
    WAFV2,
    parse_managed_service_data,
    policy_request_from_inputs,
)
from guard.organization_fms_checks import (
    baseline_floor_errors,
    managed_service_data_errors,
    policy_errors,
)
from policies.framework import Meta, Report, resource_policy

META = Meta(
    name="organization-waf-baseline-floor",
    description="Every aws.fms.Policy of type WAFV2 runs "
    f"{' and '.join(REQUIRED_BASELINE_GROUPS)} (vendor AWS) in its preProcessRuleGroups with "
    "overrideAction NONE (not COUNT), without Log4JRCE rules excluded or overridden, and its "
    "request is one Firewall Manager accepts: managedServiceData parses, has the policy's type "
    "and only keys the fms model documents, and fits the model's limits.",
    severity=Severity.HIGH,
    enforcement=EnforcementLevel.MANDATORY,
    remediation="build managed_service_data with guard.organization_fms.waf_baseline_data and "
    "managed_service_data_text, listing known-bad-inputs and ip-reputation in "
    "guard:organization.firewall_manager.waf_baseline.managed_rules.",
)
FMS_POLICY = "aws:fms/policy:Policy"


def _policy_data(props: Mapping[str, Any]) -> tuple[Any, Any]:
    """The policy's (type, managedServiceData); UnknownValueError when either is unknown."""
    data = props.get("securityServicePolicyData") or {}
    return data.get("type"), data.get("managedServiceData")


def check(args: ResourceValidationArgs, report: Report) -> None:
    props = args.props
    try:
        name = str(props.get("name") or args.name)
    except UnknownValueError:
        name = args.name
    # Not caught: a document built from an output (the rate rule group's ARN before the group
    # exists) is unknown at preview, and CrossGuard then reports "can't run policy during
    # preview" (advisory) instead of passing; the update judges the known document before FMS
    # receives it. A mandatory "unknown" finding here would block every first deploy.
    policy_type, text = _policy_data(props)
    if policy_type != WAFV2:
        return
    try:
        request = policy_request_from_inputs(props)
        # Without a name input the engine autonames the policy after the resource.
        request["PolicyName"] = request["PolicyName"] or name
        errors = policy_errors(request)
    except UnknownValueError:
        # Scope (accounts, tags) unknown at preview: the document itself is still judged.
        errors = [f"FMS policy {name}: {e}" for e in managed_service_data_errors(WAFV2, text)]
    for error in errors:
        report(f"{error}.")
    data, _ = parse_managed_service_data(text)
    if data is not None:
        for gap in baseline_floor_errors(name, data):
            report(f"{gap}.")


POLICY = resource_policy(META, [FMS_POLICY], check)
