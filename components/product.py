"""A product of the catalog: the parent of everything that protects its endpoints."""

from __future__ import annotations

import pulumi

from components.providers import Providers
from components.waf import ProductWaf
from guard.config.products import Product


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
