"""The root of a stack's configuration: everything under the ``guard:`` namespace plus the region."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from guard.config.alerts import AlertsConfig, DetectionConfig
from guard.config.base import ACCOUNT_ID_RE, REGION_RE, Day, Reason, StrictModel
from guard.config.ci import CiConfig, PipelineConfig
from guard.config.costs import CostsConfig
from guard.config.logs import LogsConfig
from guard.config.organization import OrganizationConfig
from guard.config.products import Product, WafConfig
from guard.config.shield import ShieldConfig
from guard.config.siem import SiemConfig
from guard.config.tuner import TunerAccess, TunerService, WafTuner


class PolicyException(StrictModel):
    """A reviewed, time-boxed waiver of one policy for some resources."""

    policy: Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]{3,64}$")]
    #: ``product``, ``product/endpoint``, ``product/profile``, or a logical name or URN glob.
    resource: Annotated[str, StringConstraints(min_length=1, max_length=1024)]
    reason: Reason
    expires: Day

    @property
    def names_catalog(self) -> bool:
        """Whether ``resource`` names ``product``, ``product/endpoint`` or ``product/profile``
        (no glob characters, not a URN) rather than a pattern over logical names and URNs."""
        return not self.resource.startswith("urn:") and not any(c in self.resource for c in "*?[")


class PolicySettings(StrictModel):
    """How the policy pack is applied to this stack."""

    #: The longest time-box a reviewer may give an exception, counted from the day of the plan.
    max_exception_days: Annotated[int, Field(ge=1, le=3650)] = 365


class StackConfig(StrictModel):
    """One stack's validated configuration. ``region`` comes from ``aws:region``."""

    region: Annotated[str, StringConstraints(pattern=REGION_RE.pattern)]
    account_id: Annotated[str, StringConstraints(pattern=ACCOUNT_ID_RE.pattern)]
    #: At least one, unless the stack is an organization's tooling account (guard:organization).
    products: list[Product] = []
    policy_exceptions: list[PolicyException] = []
    policy_settings: PolicySettings = PolicySettings()
    alerts: AlertsConfig | None = None
    detection: DetectionConfig | None = None
    shield: ShieldConfig | None = None
    ci: CiConfig | None = None
    pipeline: PipelineConfig | None = None
    logs: LogsConfig | None = None
    #: The SIEM's loader and its domain's retention; also read from guard:logs.opensearch.
    siem: SiemConfig | None = None
    #: The tuner every product's default-allow web ACLs share unless they say otherwise.
    waf_tuner: WafTuner | None = None
    #: The role each tuning service assumes to edit its rules and read the WAF logs.
    tuners: dict[TunerService, TunerAccess] = {}
    #: This account is the organization's delegated administrator for detection, WAF and Shield.
    organization: OrganizationConfig | None = None
    #: The usage the cost estimate assumes (every figure has a default the estimate states).
    costs: CostsConfig = CostsConfig()

    @model_validator(mode="after")
    def _siem_from_logs(self) -> StackConfig:
        # guard:logs.opensearch predates guard:siem: read it as guard:siem's loader, once, so
        # every reader sees one place (guard.siem_checks warns, or refuses both at once).
        logs = self.logs
        if self.siem is None and logs is not None and logs.opensearch is not None:
            siem = SiemConfig(
                loader_queue_arn=logs.opensearch.queue_arn,
                loader_role_arn=logs.opensearch.reader_role_arn,
            )
            object.__setattr__(self, "siem", siem)
        return self

    @model_validator(mode="after")
    def _inherit_tuner(self) -> StackConfig:
        # Inheritance is resolved here, once, so every reader sees each WAF's own ``tuner``.
        if self.waf_tuner is None:
            return self
        products = [_with_tuner(p, self.waf_tuner) for p in self.products]
        if products != self.products:
            object.__setattr__(self, "products", products)
        return self


def _with_tuner(product: Product, tuner: WafTuner) -> Product:
    def inherit(waf: WafConfig) -> WafConfig:
        if "tuner" in waf.model_fields_set or waf.default_action == "block":
            return waf  # declared (a tuner, or null for none), or allowlist-only
        return waf.model_copy(update={"tuner": tuner})

    return product.model_copy(
        update={
            "waf": inherit(product.waf),
            "waf_profiles": {name: inherit(w) for name, w in product.waf_profiles.items()},
        }
    )


#: Keys under ``guard:`` whose value is a plain string; every other key holds an object or list.
SCALAR_KEYS = frozenset({"account_id"})
