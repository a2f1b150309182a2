"""Per-product AWS WAFv2: one web ACL per scope, its IP sets, and the ALB associations."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_aws as aws

from components.providers import Providers, opts
from components.tags import guard_tags
from guard.config.products import Endpoint, Product
from guard.waf_rule_form import to_inputs
from guard.waf_rules import (
    PROFILE_TAG,
    Rule,
    WebAclSpec,
    fill_arns,
    placeholder_in,
    waf_owner,
    web_acls_for,
)

#: With a tuner the web ACL's rule list is shared: guard declares its rules one by one and the
#: web ACL resource leaves the list alone (the provider's documented pattern for rules managed
#: elsewhere), so an update never lists, reorders or deletes a rule guard did not declare.
SHARED_RULE_INPUTS = ["rules", "ruleJson"]


def _rule_json(spec: WebAclSpec, arns: Mapping[str, str]) -> str:
    return json.dumps(spec.rules(arns))


def _rule_json_input(spec: WebAclSpec, arns: Mapping[str, pulumi.Output[str]]) -> pulumi.Input[str]:
    """Plain text when no IP set is referenced, so the rules are known at preview time.

    A referenced IP set that already exists has a known ARN at preview too; only a set created in
    the same update makes the rules unknown until it exists (IP sets are declared even when empty
    so that adding the first entry updates a set in place).
    """
    if not arns:
        return _rule_json(spec, {})

    # spec is bound here, not read from the caller's loop: apply callbacks run after it moves on.
    def render(resolved: dict[str, str]) -> str:
        return _rule_json(spec, resolved)

    return pulumi.Output.all(**arns).apply(render)


def _description(spec: WebAclSpec, owner: str) -> str:
    if spec.tuner is None:
        return f"guard: {owner} ({spec.wcu} WCU)"
    return (
        f"guard: {owner} ({spec.wcu} WCU; {spec.tuner.rule_prefix}* rules in "
        f"{spec.tuner.priorities.describe()} belong to {spec.tuner.service})"
    )


def _rule_inputs(
    template: Rule, spec: WebAclSpec, arns: Mapping[str, pulumi.Output[str]]
) -> dict[str, Any]:
    """A rule's action, statement and visibility as inputs, with IP set ARNs filled in."""
    keys = [k for k in arns if placeholder_in(template, k)]
    if not keys:
        return to_inputs(template)
    used = {k: arns[k] for k in keys}

    def render(resolved: dict[str, str]) -> dict[str, Any]:
        return to_inputs(fill_arns(template, resolved))

    filled = pulumi.Output.all(**used).apply(render)

    def part(key: str) -> pulumi.Output[Any]:
        return filled.apply(lambda body: body.get(key))

    return {key: part(key) for key in to_inputs(template)}


class ProductWaf(pulumi.ComponentResource):
    """The web ACLs protecting one product: one per WAF setting (``waf`` or a profile) and scope.

    ALBs are associated here. A CloudFront distribution names its web ACL in its own
    configuration (WAF's association API does not cover CloudFront), so the CloudFront web ACL
    ARN is an output for the distribution's owner to consume.
    """

    specs: list[WebAclSpec]
    web_acls: dict[str, aws.wafv2.WebAcl]  # by web ACL name

    def __init__(
        self,
        product: Product,
        *,
        stack: str,
        providers: Providers,
        opts_: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("guard:waf:ProductWaf", product.name, None, opts_)
        self.product = product
        self.specs = web_acls_for(product, stack)
        self.web_acls = {}
        for spec in self.specs:
            tags = guard_tags(stack, product.name, product.owner)
            if spec.profile is not None:
                tags[PROFILE_TAG] = spec.profile
            provider = providers.regional if spec.scope == "REGIONAL" else providers.us_east_1
            owner = waf_owner(product.name, spec.profile)
            ip_sets = {
                ip_set.key: aws.wafv2.IpSet(
                    ip_set.name,
                    name=ip_set.name,
                    scope=spec.scope,
                    ip_address_version=ip_set.ip_version,
                    addresses=list(ip_set.addresses),
                    description=f"guard {ip_set.list_kind}list for {owner} ({ip_set.ip_version})",
                    tags=tags,
                    opts=opts(self, provider),
                )
                for ip_set in spec.ip_sets
            }
            referenced = {s.key: ip_sets[s.key].arn for s in spec.ip_sets if s.addresses}
            shared = spec.tuner is not None
            web_acl = aws.wafv2.WebAcl(
                spec.name,
                name=spec.name,
                scope=spec.scope,
                description=_description(spec, owner),
                default_action={"block": {}} if spec.default_action == "block" else {"allow": {}},
                # Shared: the rules are the WebAclRule resources below.
                rule_json=None if shared else _rule_json_input(spec, referenced),
                visibility_config={
                    "cloudwatch_metrics_enabled": True,
                    "metric_name": spec.metric_name,
                    "sampled_requests_enabled": True,
                },
                tags=tags,
                opts=opts(self, provider, ignore_changes=SHARED_RULE_INPUTS if shared else None),
            )
            self.web_acls[spec.name] = web_acl
            if shared:
                self._own_rules(spec, web_acl, referenced, provider)
            if spec.scope == "REGIONAL":
                for endpoint in product.endpoints_of("alb"):
                    if endpoint.name not in spec.endpoints:
                        continue
                    aws.wafv2.WebAclAssociation(
                        f"{product.name}-{endpoint.name}",
                        resource_arn=endpoint.arn,
                        web_acl_arn=web_acl.arn,
                        opts=opts(self, provider),
                    )
        self.register_outputs({"web_acl_arns": self.web_acl_arns})

    def _own_rules(
        self,
        spec: WebAclSpec,
        web_acl: aws.wafv2.WebAcl,
        arns: Mapping[str, pulumi.Output[str]],
        provider: pulumi.ProviderResource,
    ) -> None:
        """guard's rules of a shared web ACL, each an ``aws.wafv2.WebAclRule``.

        Each rule is a child of its web ACL, so the policies and the plan find a web ACL's rules
        by their parent whatever the ARN's state. Each waits for the one before: every rule is a
        read-modify-write of the same web ACL (its lock token), so one at a time.
        """
        previous: aws.wafv2.WebAclRule | None = None
        for template in spec.rules_template:
            name = str(template["Name"])
            previous = aws.wafv2.WebAclRule(
                f"{spec.name}-{name}",
                web_acl_arn=web_acl.arn,
                name=name,
                priority=int(template["Priority"]),
                **_rule_inputs(template, spec, arns),
                opts=pulumi.ResourceOptions(
                    parent=web_acl,
                    provider=provider,
                    depends_on=[previous] if previous is not None else None,
                ),
            )

    @property
    def web_acl_arns(self) -> dict[str, pulumi.Output[str]]:
        """Each web ACL's ARN by ``regional``/``cloudfront`` for the product's ``waf`` and
        ``<profile>/regional``/``<profile>/cloudfront`` for a profile (the stack's output)."""
        return {
            (
                spec.scope.lower()
                if spec.profile is None
                else f"{spec.profile}/{spec.scope.lower()}"
            ): (self.web_acls[spec.name].arn)
            for spec in self.specs
        }

    def web_acl_for(self, endpoint: Endpoint) -> aws.wafv2.WebAcl:
        """The web ACL that protects an endpoint of this product."""
        for spec in self.specs:
            if spec.scope == endpoint.scope and endpoint.name in spec.endpoints:
                return self.web_acls[spec.name]
        raise KeyError(f"{self.product.name}/{endpoint.name} has no web ACL")
