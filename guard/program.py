"""The Pulumi program: one function that ``pulumi up`` and ``guard plan`` both run."""

from __future__ import annotations

import pulumi

from components.iam import PermissionsBoundary
from components.product import ProductProtection
from components.providers import Providers
from guard.ci_scope import PipelineScope, creates_roles
from guard.config import LoadedConfig, load_stack_config, raw_from_pulumi
from guard.config.loader import secret_keys_from_pulumi, stack_file_for


def load_config() -> LoadedConfig:
    """The validated config of the running stack, read from the engine's config map."""
    stack = pulumi.get_stack()
    return load_stack_config(
        raw_from_pulumi(), stack_file_for(stack), secret_keys=secret_keys_from_pulumi()
    )


def build_stack(loaded: LoadedConfig) -> None:
    """Declare every resource of the stack from its validated configuration."""
    config = loaded.config
    stack = pulumi.get_stack()
    providers = Providers.create(config.region, config.account_id)
    products = [ProductProtection(p, stack=stack, providers=providers) for p in config.products]
    scope = PipelineScope.of(config, stack)
    # Every role any area creates carries the stack's boundary; a stack of web ACLs only has none.
    boundary = PermissionsBoundary(scope, providers=providers) if creates_roles(config) else None

    # Each area is imported only when configured, so a stack pays only for what it declares.
    routes = None
    if config.alerts is not None:
        from components.alerts import AlertRouting

        assert boundary is not None
        routes = AlertRouting(config, stack=stack, providers=providers, boundary=boundary).routes
    # A member whose detection the organization runs, without guard:alerts, declares nothing.
    if config.detection is not None and routes is not None:
        from components.detection import ThreatDetection

        assert boundary is not None
        ThreatDetection(config, stack=stack, providers=providers, routes=routes, boundary=boundary)
    if config.organization is not None:
        from components.organization import OrganizationSecurity
        from components.organization_fms import FirewallManagerPolicies

        # The config checks require guard:alerts with guard:organization.
        assert routes is not None
        OrganizationSecurity(config, stack=stack, providers=providers, routes=routes)
        firewall_manager = config.organization.firewall_manager
        if firewall_manager.waf_baseline is not None or firewall_manager.shield is not None:
            FirewallManagerPolicies(config, stack=stack, providers=providers)
    if config.shield is not None:
        from components.shield import ShieldAdvanced

        assert boundary is not None
        ShieldAdvanced(
            config,
            stack=stack,
            providers=providers,
            routes=routes,
            products=products,
            boundary=boundary,
        )
    tuners = []
    if config.tuners:
        from components.tuner import TunerAccess

        assert boundary is not None
        tuners = [
            TunerAccess(config, service, stack=stack, providers=providers, boundary=boundary)
            for service in sorted(config.tuners)
        ]
        # The ARN to register in each service's console (WafCharm: Credential Store).
        pulumi.export("tuner_roles", {t.service: t.role_arn for t in tuners})
    if config.logs is not None:
        from components.waf_logs import WafLogs

        assert boundary is not None
        waf_logs = WafLogs(
            config,
            stack=stack,
            providers=providers,
            routes=routes,
            products=products,
            boundary=boundary,
            # The bucket policy names the tuner roles: S3 refuses a principal not created yet.
            log_readers=[t.role for t in tuners],
        )
    if config.logs is not None and config.logs.alb is not None:
        from components.alb_logs import AlbLogs

        alb_logs = AlbLogs(
            config,
            stack=stack,
            providers=providers,
            products=products,
            workgroup=waf_logs.workgroup,
        )
        # The ALB hand-off: each load balancer's owner turns access logs on with these settings.
        pulumi.export("alb_access_logs", alb_logs.handoffs)
    if config.siem is not None and config.siem.retention is not None:
        from components.siem import SiemRetention

        assert boundary is not None
        SiemRetention(config, stack=stack, providers=providers, boundary=boundary)
    if config.ci is not None or config.pipeline is not None:
        from components.ci_identity import CiIdentity

        assert boundary is not None
        identity = CiIdentity(
            config, stack=stack, providers=providers, boundary=boundary, scope=scope
        )
        pulumi.export("ci_roles", identity.role_arns)

    pulumi.export("web_acl_arns", {p.product.name: p.waf.web_acl_arns for p in products})
    # The CloudFront hand-off: each distribution's owner sets this ARN as the distribution's web ACL.
    pulumi.export(
        "cloudfront_web_acls",
        {
            f"{p.product.name}/{e.name}": {
                "distribution": e.arn,
                "web_acl_arn": p.waf.web_acl_for(e).arn,
            }
            for p in products
            for e in p.product.endpoints_of("cloudfront")
        },
    )
    for warning in loaded.warnings:
        pulumi.log.warn(warning)


def main() -> None:
    build_stack(load_config())
