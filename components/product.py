"""A product of the catalog: the parent of everything that protects its endpoints."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.providers import Providers
from components.waf import ProductWaf
from guard.config.products import Product
from guard.waf_rules import Scope, web_acl_region


class ProductProtection(pulumi.ComponentResource):
    """Groups one product's protections so the plan and the console show them together.

    Its inputs are the product's endpoint catalog, as plain data, for reviewers and policies.
    """

    def __init__(self, product: Product, *, stack: str, providers: Providers) -> None:
        catalog = {
            "owner": product.owner,
            "endpoints": [
                e.model_dump(mode="json", include={"name", "kind", "arn"})
                for e in product.endpoints
            ],
        }
        super().__init__("guard:catalog:Product", product.name, catalog)
        self.product = product
        self.waf = ProductWaf(
            product, stack=stack, providers=providers, opts_=pulumi.ResourceOptions(parent=self)
        )
        self.register_outputs({"web_acl_arns": self.waf.web_acl_arns})


@dataclass(frozen=True)
class StackWebAcl:
    """A web ACL of the stack with the region it lives in, for what reads or logs it."""

    name: str
    scope: Scope
    region: str
    web_acl: aws.wafv2.WebAcl


def stack_web_acls(products: Sequence[ProductProtection], stack_region: str) -> list[StackWebAcl]:
    """Every web ACL of the stack; a CloudFront one lives (and logs) in us-east-1."""
    return [
        StackWebAcl(
            name=spec.name,
            scope=spec.scope,
            region=web_acl_region(spec.scope, stack_region),
            web_acl=entry.waf.web_acls[spec.name],
        )
        for entry in products
        for spec in entry.waf.specs
    ]
