"""Who a WAF tuning service is in a stack: its role's name and ARN, and the web ACLs it tunes.

Plain functions over the typed config, shared by the tuner's access role (components/tuner.py),
the log bucket and key policies that let that role read the logs (components/waf_logs.py), and
the checks and policies.
"""

from __future__ import annotations

from dataclasses import dataclass

from guard.config.products import Product, WafConfig
from guard.config.stack import StackConfig
from guard.config.tuner import TunerService, WafTuner


def tuner_role_name(stack: str, service: TunerService) -> str:
    """``guard-<stack>-<service>``: the role registered in the service's console."""
    return f"guard-{stack}-{service}"


def tuner_role_arn(account_id: str, stack: str, service: TunerService) -> str:
    return f"arn:aws:iam::{account_id}:role/{tuner_role_name(stack, service)}"


@dataclass(frozen=True)
class TunedWaf:
    """A product's ``waf`` (profile None) or profile that a tuning service edits."""

    product: Product
    profile: str | None
    waf: WafConfig
    tuner: WafTuner


def tuned_wafs(config: StackConfig) -> list[TunedWaf]:
    """Every WAF setting with a tuner (inherited from ``guard:waf_tuner`` or its own)."""
    return [
        TunedWaf(product, profile, waf, waf.tuner)
        for product in config.products
        for profile, waf in product.all_wafs()
        if waf.tuner is not None
    ]


def services_in_use(config: StackConfig) -> list[TunerService]:
    """The tuning services some WAF of the stack names, in a stable order."""
    return sorted({t.tuner.service for t in tuned_wafs(config)})


def tuner_role_arns(config: StackConfig, stack: str) -> list[str]:
    """Every tuner role the stack declares (``guard:tuners``): the log bucket limits them to
    reading, and the permissions boundary lets them edit guard's web ACLs."""
    return [tuner_role_arn(config.account_id, stack, service) for service in sorted(config.tuners)]
