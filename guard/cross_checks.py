"""Every check that needs more than one field of the configuration, in the order they report.

The loader runs these after the typed model is built (:func:`guard.config.load_stack_config`),
in ``pulumi up`` and ``guard plan`` alike. Each area's module owns its checks; this list is the
one place that names them all, so a reader finds every check from here and no module registers
itself into the loader.
"""

from __future__ import annotations

from guard import (
    alerts_checks,
    checks,
    ci_checks,
    costs_checks,
    logs_checks,
    organization_checks,
    policy_checks,
    shield_checks,
    siem_checks,
)

CROSS_CHECKS = (
    organization_checks.products_or_organization,
    checks.unique_names,
    checks.arns_match_stack,
    checks.managed_rules_known,
    checks.ip_lists,
    checks.default_actions,
    checks.web_acls_valid,
    checks.tuners_used,
    alerts_checks.detection_needs_alerts,
    alerts_checks.alert_channels,
    alerts_checks.detection_lists,
    ci_checks.ci_identities,
    logs_checks.logs_settings,
    siem_checks.siem_settings,
    organization_checks.organization_settings,
    organization_checks.member_detection,
    shield_checks.shield_needs_alerts,
    shield_checks.endpoint_shield_settings,
    shield_checks.srt_role_in_account,
    policy_checks.policy_exceptions,
    costs_checks.per_product_names,
)
