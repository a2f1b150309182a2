"""Cross checks of ``guard:organization`` and of member stacks (``guard:detection.managed_by``).

What AWS would refuse at deploy time is refused here, offline, with the key at fault: Security
Hub central configuration wants a delegated administrator that is not the management account and
a finding aggregator in the home region; Firewall Manager's policies are validated against
botocore's ``fms`` model (:mod:`guard.organization_fms_checks`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from guard.alerts_checks import _duplicates
from guard.config.errors import KeyPath, Problem, format_key_path
from guard.config.organization import Target
from guard.config.stack import StackConfig
from guard.suggest import did_you_mean

O = "guard:organization"  # noqa: E741 - the section's short name, as A and D in alerts_checks
D = "guard:detection"
#: WAF refuses a logging destination bucket whose name does not start with this.
WAF_LOG_BUCKET_PREFIX = "aws-waf-logs-"


def products_or_organization(
    config: StackConfig, warnings: list[str], today: date
) -> list[Problem]:
    """Every stack fronts at least one product, except an organization's tooling account."""
    if config.products or config.organization is not None:
        return []
    return [
        Problem(
            ("guard:products",),
            "required key is missing: list the stack's products and their endpoints (only an "
            "organization stack, with guard:organization, may have none)",
        )
    ]


def member_detection(config: StackConfig, warnings: list[str], today: date) -> list[Problem]:
    """``managed_by: organization`` leaves GuardDuty's and Security Hub's settings to the
    organization stack: settings written here would silently do nothing."""
    detection = config.detection
    if detection is None:
        return []
    if config.organization is not None:
        return [
            Problem(
                (D,),
                "an organization stack enables GuardDuty and Security Hub in its own account "
                "with everyone else's: remove guard:detection and set "
                "guard:organization.notify for the findings to announce",
            )
        ]
    if detection.managed_by != "organization":
        return []
    problems = []
    if "guardduty" in detection.model_fields_set:
        problems.append(
            Problem(
                (D, "guardduty"),
                "managed_by: organization: the organization stack sets GuardDuty's features "
                "(guard:organization.guardduty); remove this key",
            )
        )
    hub = detection.security_hub
    for key in ("standards", "disabled_controls"):
        if key in hub.model_fields_set:
            problems.append(
                Problem(
                    (D, "security_hub", key),
                    "managed_by: organization: Security Hub's central configuration sets "
                    f"{key} for every account (guard:organization.security_hub.{key}); "
                    "remove this key (security_hub.notify still chooses what this stack "
                    "announces)",
                )
            )
    return problems


def _targets(targets: Sequence[Target] | None, base: KeyPath) -> list[Problem]:
    if targets is None:
        return []
    problems = _duplicates((t.target_id for t in targets), base, "target")
    if not targets:
        problems.append(
            Problem(base, "list at least one ou or account, or leave the key out for the root", [])
        )
    return problems


def organization_settings(config: StackConfig, warnings: list[str], today: date) -> list[Problem]:
    organization = config.organization
    if organization is None:
        return []
    problems: list[Problem] = []
    if organization.management_account_id == config.account_id:
        problems.append(
            Problem(
                (O, "management_account_id"),
                "must differ from guard:account_id: the delegated administrator is a security "
                "tooling account, not the management account (Security Hub central "
                "configuration refuses the management account as administrator)",
                organization.management_account_id,
            )
        )
    if config.region not in organization.regions:
        problems.append(
            Problem(
                (O, "regions"),
                f"must include the stack's region {config.region} (aws:region): it is the home "
                "region whose finding aggregator gathers the others' findings, which central "
                "configuration needs",
                list(organization.regions),
            )
        )
    problems += _duplicates(organization.regions, (O, "regions"), "region")
    if config.alerts is None:
        problems.append(
            Problem(
                (O,),
                "needs guard:alerts: every account's critical and high findings go to its "
                "urgent Slack channel; add guard:alerts with slack.workspace_id, "
                "slack.normal_channel and slack.urgent_channel",
            )
        )
    guardduty, hub = organization.guardduty, organization.security_hub
    problems += _duplicates(guardduty.features, (O, "guardduty", "features"), "GuardDuty feature")
    problems += _duplicates(hub.standards, (O, "security_hub", "standards"), "standard")
    problems += _duplicates(
        (c.control for c in hub.disabled_controls),
        (O, "security_hub", "disabled_controls"),
        "disabled control",
    )
    problems += _duplicates(organization.notify, (O, "notify"), "severity label")
    for i, control in enumerate(hub.disabled_controls):
        if control.standards is not None:
            problems.append(
                Problem(
                    (O, "security_hub", "disabled_controls", i, "standards"),
                    "central configuration disables a control in every standard of the "
                    "policy; remove this key",
                )
            )
    problems += _targets(hub.targets, (O, "security_hub", "targets"))
    if hub.targets is None and organization.root_id is None:
        problems.append(
            Problem(
                (O, "root_id"),
                "required when security_hub.targets is absent: the configuration policy is "
                "associated with the organization's root; give its ID (aws organizations "
                "list-roots, e.g. r-abcd) or list targets",
            )
        )
    if organization.delegation is not None:
        warnings.append(
            "guard:organization.delegation is set: the program declares the management "
            "account's one-time delegation through the CLI profile "
            f"{organization.delegation.profile!r}. Run the command the plan's Organization "
            "section prints from your machine, then remove the key before merging: the "
            "pipeline has no management-account credentials (docs/organization.md)."
        )
    problems += _firewall_manager(config, warnings)
    return problems


def _firewall_manager(config: StackConfig, warnings: list[str]) -> list[Problem]:
    from guard.waf_catalog import load_catalog

    assert config.organization is not None
    fms = config.organization.firewall_manager
    problems: list[Problem] = []
    base: KeyPath = (O, "firewall_manager")
    baseline = fms.waf_baseline
    if baseline is not None:
        catalog = load_catalog()
        rules_path: KeyPath = (*base, "waf_baseline", "managed_rules")
        problems += _duplicates(baseline.managed_rules, rules_path, "managed rule group")
        for i, alias in enumerate(baseline.managed_rules):
            if alias not in catalog:
                problems.append(
                    Problem(
                        (*rules_path, i),
                        f"unknown managed rule group alias{did_you_mean(alias, catalog)}; "
                        f"allowed: {', '.join(catalog)}",
                        alias,
                    )
                )
        if baseline.logging is not None and not baseline.logging.bucket.startswith(
            WAF_LOG_BUCKET_PREFIX
        ):
            problems.append(
                Problem(
                    (*base, "waf_baseline", "logging", "bucket"),
                    f"must start with {WAF_LOG_BUCKET_PREFIX}: WAF logs only to buckets named so",
                    baseline.logging.bucket,
                )
            )
        problems += _targets(baseline.targets, (*base, "waf_baseline", "targets"))
        if not baseline.exclude_tag:
            warnings.append(
                "guard:organization.firewall_manager.waf_baseline has no exclude_tag: every ALB "
                "and CloudFront distribution in scope is in the baseline policy, also those "
                "whose product stack associates its own web ACL. Firewall Manager leaves those "
                "associations in place (overrideCustomerWebACLAssociation false) and reports "
                "them non-compliant; tag them (e.g. managed-by: guard) and set exclude_tag."
            )
    if fms.shield is not None:
        problems += _targets(fms.shield.targets, (*base, "shield", "targets"))
    if not problems:
        problems += _policies_valid(config, warnings)
    return problems


#: ManagedServiceData's maximum in older fms models (botocore 1.29.0's; 1.44.8's is 30,000).
OLD_MANAGED_SERVICE_DATA_MAX = 8192
#: A rule group ARN as long as the real one (its ID is a 36-character UUID AWS assigns).
_PLACEHOLDER_ID = "00000000-0000-4000-8000-000000000000"


def _policies_valid(config: StackConfig, warnings: list[str]) -> list[Problem]:
    """Every Firewall Manager policy the program would declare, as its PutPolicy request,
    checked against botocore's fms model (what AWS would refuse, offline)."""
    from guard.organization import firewall_manager_policies
    from guard.organization_fms import (
        MANAGED_SERVICE_DATA_MAX,
        baseline_wcu,
        managed_service_data_of,
        policy_request_of,
    )
    from guard.organization_fms_checks import policy_errors
    from guard.shield_checks import SHIELD_RULE_GROUP_WCU
    from guard.waf_rules import INCLUDED_WCU

    assert config.organization is not None
    organization = config.organization
    fms = organization.firewall_manager
    problems: list[Problem] = []
    # The same records the program declares its policies from (components/organization_fms.py).
    for policy in firewall_manager_policies(organization):
        path: KeyPath = (O, "firewall_manager", policy.setting)
        arn = None
        if policy.rate_limit is not None:
            kind = "global" if policy.scope == "CLOUDFRONT" else "regional"
            arn = (
                f"arn:aws:wafv2:{policy.region}:{config.account_id}:{kind}/rulegroup/"
                f"guard-baseline-rate-{policy.key}/{_PLACEHOLDER_ID}"
            )
        try:
            text = managed_service_data_of(policy, arn)
        except (KeyError, ValueError) as error:
            return [Problem(path, str(error).strip("'\""))]
        request = policy_request_of(policy, text)
        problems += [
            Problem(path, f"AWS would refuse it: {error}") for error in policy_errors(request)
        ]
        if text is not None and len(text) > OLD_MANAGED_SERVICE_DATA_MAX:
            warnings.append(
                f"{format_key_path(path)}: the {policy.key} policy's ManagedServiceData has "
                f"{len(text):,} characters. The fms model allows "
                f"{MANAGED_SERVICE_DATA_MAX:,} today, but older releases of it allowed "
                f"{OLD_MANAGED_SERVICE_DATA_MAX:,} (botocore 1.29.0), and tools built on "
                "them refuse it"
            )
    if fms.waf_baseline is not None:
        baseline = fms.waf_baseline
        wcu = baseline_wcu(baseline.managed_rules, rate_rule_group=baseline.rate_limit is not None)
        # Shield's automatic mitigation adds its rule group to CloudFront's web ACLs.
        mitigation = fms.shield is not None and fms.shield.automatic_l7_mitigation != "off"
        cloudfront = wcu + (SHIELD_RULE_GROUP_WCU if mitigation else 0)
        if max(wcu, cloudfront) > INCLUDED_WCU:
            shown = f"{wcu}" if cloudfront == wcu else f"{wcu} ({cloudfront} on CloudFront)"
            warnings.append(
                f"guard:organization.firewall_manager.waf_baseline uses {shown} WCU, above the "
                f"{INCLUDED_WCU} included in each web ACL's price: every account's baseline "
                "web ACL is charged for the extra capacity"
            )
    # One problem per distinct message: the same mistake repeats in every region's policy.
    return list(dict.fromkeys(problems))
