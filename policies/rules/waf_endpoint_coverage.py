"""Every endpoint of the catalog is protected: ALBs associated, CloudFront web ACLs exported."""

from __future__ import annotations

from pulumi_policy import EnforcementLevel, Severity, StackValidationArgs

from guard.waf_rules import owner_tags
from policies.framework import WEB_ACL, Meta, Report, Subject, stack_config, stack_policy

META = Meta(
    name="waf-endpoint-coverage",
    description="Every ALB endpoint in guard:products has a web ACL association; every CloudFront "
    "endpoint has a CLOUDFRONT web ACL whose ARN is exported for the distribution's owner.",
    severity=Severity.CRITICAL,
    enforcement=EnforcementLevel.MANDATORY,
    remediation="declare the endpoint's product WAF (components.waf.ProductWaf) and keep its "
    "association or the cloudfront_web_acls export.",
    control="Security Hub ELB.16",
)
ASSOCIATION = "aws:wafv2/webAclAssociation:WebAclAssociation"


def check(args: StackValidationArgs, report: Report) -> None:
    loaded = stack_config()
    if loaded is None:
        return
    associated = {
        r.props.get("resourceArn") for r in args.resources if r.resource_type == ASSOCIATION
    }
    cloudfront_acls = {
        owner_tags(r.props.get("tags"))
        for r in args.resources
        if r.resource_type == WEB_ACL and r.props.get("scope") == "CLOUDFRONT"
    }
    stack = next((r for r in args.resources if r.resource_type == "pulumi:pulumi:Stack"), None)
    exported = (stack.props.get("cloudfront_web_acls") if stack is not None else None) or {}
    for product in loaded.config.products:
        for endpoint in product.endpoints:
            where = f"{product.name}/{endpoint.name}"
            subject = Subject(product.name, endpoint.waf_profile, (endpoint.name,))
            if endpoint.kind == "alb" and endpoint.arn not in associated:
                report(
                    f"ALB endpoint {where} ({endpoint.arn}) has no web ACL association.",
                    subject=subject,
                )
            if endpoint.kind == "cloudfront":
                if (product.name, endpoint.waf_profile) not in cloudfront_acls:
                    report(
                        f"CloudFront endpoint {where} has no CLOUDFRONT web ACL.", subject=subject
                    )
                elif stack is not None and where not in exported:
                    report(
                        f"CloudFront endpoint {where}: its web ACL ARN is not exported in "
                        "cloudfront_web_acls, so the distribution cannot attach it.",
                        subject=subject,
                    )


POLICY = stack_policy(META, check)
