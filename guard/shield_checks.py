"""Shield checks that need more than one field: guard:alerts, the endpoints' web ACLs, the account.

Listed in :data:`guard.cross_checks.CROSS_CHECKS`, so ``pulumi up`` and ``guard plan`` reject
the same input.
"""

from __future__ import annotations

from datetime import date

from guard.config.errors import KeyPath, Problem
from guard.config.shield import DEFAULT_ENDPOINT_SHIELD, IAM_ROLE_ARN_RE, EndpointShield
from guard.config.stack import StackConfig
from guard.waf_rules import INCLUDED_WCU, MAX_WCU, buildable_web_acls

P = "guard:products"
S = "guard:shield"
#: The Shield-managed rule group that automatic layer-7 mitigation adds to the web ACL.
SHIELD_RULE_GROUP_WCU = 150


def endpoint_shield(config: StackConfig, settings: EndpointShield | None) -> EndpointShield | None:
    """An endpoint's effective Shield settings: None when the stack has no ``guard:shield``."""
    if config.shield is None:
        return None
    return settings or DEFAULT_ENDPOINT_SHIELD


def shield_needs_alerts(config: StackConfig, warnings: list[str], today: date) -> list[Problem]:
    if config.shield is None or config.alerts is not None:
        return []
    return [
        Problem(
            (S,),
            "guard:shield needs guard:alerts: every DDoS alarm notifies the urgent alert route "
            "(and the SRT escalation listens there); add guard:alerts or remove guard:shield",
        )
    ]


def endpoint_shield_settings(
    config: StackConfig, warnings: list[str], today: date
) -> list[Problem]:
    problems: list[Problem] = []
    any_health_check = False
    for i, product in enumerate(config.products):
        # A product with unknown managed rules is reported elsewhere and cannot be built here.
        acls = {spec.scope: spec for spec in buildable_web_acls(product)}
        for j, endpoint in enumerate(product.endpoints):
            base: KeyPath = (P, i, "endpoints", j, "shield")
            where = f"{product.name}/{endpoint.name}"
            if endpoint.shield is not None and config.shield is None:
                problems.append(
                    Problem(
                        base,
                        "an endpoint's shield settings need guard:shield (the Shield Advanced "
                        "subscription and its settings); add guard:shield or remove this block",
                    )
                )
                continue
            settings = endpoint_shield(config, endpoint.shield)
            if settings is None:
                continue
            any_health_check = any_health_check or settings.health_check is not None
            if not settings.protect:
                for key, value, unset in (
                    ("health_check", settings.health_check, None),
                    ("l7_mitigation", settings.l7_mitigation, "off"),
                ):
                    if value != unset:
                        problems.append(
                            Problem(
                                (*base, key),
                                f"needs shield.protect: true; {key} applies to a Shield "
                                "protection, and this endpoint has none",
                                value,
                            )
                        )
                warnings.append(
                    f"{where}: shield.protect is false; the shield-endpoint-protected policy "
                    "fails unless guard:policy_exceptions waives it"
                )
                continue
            if settings.l7_mitigation == "off":
                continue
            spec = acls.get(endpoint.scope)
            if spec is None:
                problems.append(
                    Problem(
                        (*base, "l7_mitigation"),
                        f"needs a {endpoint.scope} web ACL from this repository for the endpoint; "
                        "allowed without one: off",
                        settings.l7_mitigation,
                    )
                )
                continue
            total = spec.total_wcu + SHIELD_RULE_GROUP_WCU
            if total > MAX_WCU:
                problems.append(
                    Problem(
                        (*base, "l7_mitigation"),
                        f"Shield adds a {SHIELD_RULE_GROUP_WCU} WCU rule group to {spec.name}, "
                        f"which would then need {total} WCU; AWS allows at most {MAX_WCU}: drop "
                        "a rule or set l7_mitigation: off",
                        settings.l7_mitigation,
                    )
                )
            elif total > INCLUDED_WCU:
                warnings.append(
                    f"{where}: with Shield's {SHIELD_RULE_GROUP_WCU} WCU mitigation rule group, "
                    f"{spec.name} uses {total} WCU, over the {INCLUDED_WCU} included in the "
                    "base price"
                )
    engagement = config.shield.proactive_engagement if config.shield is not None else None
    if engagement is not None and engagement.enabled and not any_health_check:
        warnings.append(
            "guard:shield.proactive_engagement: the SRT contacts you proactively only about "
            "protected resources with a Route 53 health check; no endpoint sets shield.health_check"
        )
    return problems


def srt_role_in_account(config: StackConfig, warnings: list[str], today: date) -> list[Problem]:
    access = config.shield.srt_access if config.shield is not None else None
    if access is None or access.role == "create":
        return []
    match = IAM_ROLE_ARN_RE.match(access.role)
    assert match is not None, "shape checked by the model"
    if match["account"] == config.account_id:
        return []
    return [
        Problem(
            (S, "srt_access", "role"),
            f"account {match['account']} is not this stack's account {config.account_id} "
            "(guard:account_id); the SRT role must be in the protected account",
            access.role,
        )
    ]
