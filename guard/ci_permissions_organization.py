"""The deploy role's rows for an organization stack (``guard:organization``).

The stack's account is the organization's delegated administrator: it sets GuardDuty's and
Security Hub's organization configuration, Security Hub's configuration policy and its targets,
the finding aggregator, and Firewall Manager's policies with the baseline's own rate-based rule
groups. Its detectors and hub are :func:`guard.ci_permissions._detection`'s rows (without the
account's own standards and controls: the configuration policy sets those), and its findings rule
is an alert rule like any other.

What these rows deliberately leave out: the delegation itself
(``guardduty:EnableOrganizationAdminAccount``, ``securityhub:EnableOrganizationAdminAccount``,
``fms:AssociateAdminAccount`` and their opposites) and every AWS Organizations write. The
management account makes the delegation once, with a person's credentials
(``guard:organization.delegation``); the boundary refuses all of it to every role of an
organization stack (:mod:`guard.iam_boundary`).
"""

from __future__ import annotations

from guard.ci_grant import Grant, grant, tag_actions
from guard.ci_scope import PipelineScope
from guard.resource_types import (
    FMS_POLICY,
    GUARDDUTY_ORGANIZATION,
    GUARDDUTY_ORGANIZATION_FEATURE,
    HUB_AGGREGATOR,
    HUB_ORGANIZATION,
    HUB_POLICY,
    HUB_POLICY_ASSOCIATION,
    RULE_GROUP,
)


def organization_grants(s: PipelineScope) -> list[Grant]:
    """What ``pulumi up`` of an organization stack needs beyond its detectors and hub."""
    grants = [
        grant(
            "GuardDutyOrganization",
            [GUARDDUTY_ORGANIZATION, GUARDDUTY_ORGANIZATION_FEATURE],
            ["guardduty:UpdateOrganizationConfiguration"],
            ["*"],
            why="GuardDuty authorises the organization configuration only on '*'; its "
            "features are part of it, and the provider deletes neither",
        ),
        grant(
            "SecurityHubCentralConfiguration",
            [HUB_ORGANIZATION],
            ["securityhub:UpdateOrganizationConfiguration"],
            [s.hub],
            why="deleting the resource sets the configuration back to LOCAL, the same call",
        ),
        grant(
            "SecurityHubPolicyTargets",
            [HUB_POLICY_ASSOCIATION],
            [
                "securityhub:StartConfigurationPolicyAssociation",
                "securityhub:StartConfigurationPolicyDisassociation",
            ],
            [s.hub],
            why="Security Hub authorises associations on the hub, not on the policy or target",
        ),
        grant(
            "SecurityHubOrganizationCreate",
            [HUB_AGGREGATOR, HUB_POLICY],
            ["securityhub:CreateFindingAggregator", "securityhub:CreateConfigurationPolicy"],
            ["*"],
            why="Security Hub authorises creating these only on '*'",
        ),
        grant(
            "SecurityHubAggregator",
            [HUB_AGGREGATOR],
            ["securityhub:UpdateFindingAggregator", "securityhub:DeleteFindingAggregator"],
            [s.arn("securityhub", "finding-aggregator/*")],
        ),
        grant(
            "SecurityHubConfigurationPolicy",
            [HUB_POLICY],
            ["securityhub:UpdateConfigurationPolicy", "securityhub:DeleteConfigurationPolicy"],
            [s.arn("securityhub", "configuration-policy/*")],
            why="Security Hub names a configuration policy by the ID it generates",
        ),
    ]
    if s.fms_waf or s.fms_shield:
        grants += _firewall_manager(s)
    return grants


def _firewall_manager(s: PipelineScope) -> list[Grant]:
    # Firewall Manager has no condition key of its own (AWS's authorization data lists only
    # aws:RequestTag, aws:ResourceTag and aws:TagKeys), so IAM cannot hold DeletePolicy to
    # DeleteAllPolicyResources=false: only the program does (components/organization_fms.py
    # always sends false; guard's diff flags a change). tests/guard/test_ci_organization.py
    # fails if AWS adds a key.
    grants = [
        grant(
            "FirewallManagerPolicies",
            [FMS_POLICY],
            ["fms:PutPolicy", *tag_actions("fms")],
            list(s.fms_policies),
            why="a policy's ARN carries the ID Firewall Manager generates, not its name; "
            "PutPolicy creates and updates alike, takes no aws:ResourceTag, and the provider "
            "sends tags only when creating, so only the regions narrow it",
        ),
        grant(
            "FirewallManagerPolicyDelete",
            [FMS_POLICY],
            ["fms:DeletePolicy"],
            list(s.fms_policies),
            {
                "StringEquals": {
                    "aws:ResourceTag/managed-by": "guard",
                    "aws:ResourceTag/stack": s.stack,
                }
            },
            why="only the policies this stack tagged as its own",
        ),
    ]
    if s.fms_rate_groups:
        grants.append(
            grant(
                "FirewallManagerRuleGroups",
                [RULE_GROUP],
                [
                    "wafv2:CreateRuleGroup",
                    "wafv2:UpdateRuleGroup",
                    "wafv2:DeleteRuleGroup",
                    *tag_actions("wafv2"),
                ],
                list(s.baseline_rule_groups),
                why="the baseline's rate-based rule group of each scope, by its name",
            )
        )
    return grants
