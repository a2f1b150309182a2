"""With guard:shield, every endpoint of the catalog has a Shield Advanced protection."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, Severity, StackValidationArgs

from policies.framework import Meta, Report, Subject, stack_config, stack_policy

META = Meta(
    name="shield-endpoint-protected",
    description="When guard:shield is present, every endpoint in guard:products has a Shield "
    "Advanced protection (aws.shield.Protection) for its ARN.",
    severity=Severity.HIGH,
    enforcement=EnforcementLevel.MANDATORY,
    remediation="remove 'shield: {protect: false}' from the endpoint (components.shield declares "
    "the protection), or waive it in guard:policy_exceptions with product/endpoint (or the product) as resource.",
)
PROTECTION = "aws:shield/protection:Protection"
PRODUCT = "guard:catalog:Product"


def check(args: StackValidationArgs, report: Report) -> None:
    loaded = stack_config()
    if loaded is None or loaded.config.shield is None:
        return
    # resourceArn comes from the config, so it is known at preview.
    protected = {
        r.props.get("resourceArn") for r in args.resources if r.resource_type == PROTECTION
    }
    # Reported on the product's catalog resource, so an exception can name the product.
    products = {r.name: r.urn for r in args.resources if r.resource_type == PRODUCT}
    for product in loaded.config.products:
        for endpoint in product.endpoints:
            if endpoint.arn not in protected:
                report(
                    f"endpoint {product.name}/{endpoint.name} ({endpoint.arn}) has no Shield "
                    "Advanced protection.",
                    products.get(product.name),
                    subject=Subject(product.name, endpoint.waf_profile, (endpoint.name,)),
                )


POLICY = stack_policy(META, check)
