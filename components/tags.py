"""Tags every taggable resource carries, so cost, ownership and drift trace back to this repo."""

from __future__ import annotations


def guard_tags(stack: str, product: str | None = None, owner: str | None = None) -> dict[str, str]:
    tags = {"managed-by": "guard", "stack": stack}
    if product is not None:
        tags["product"] = product
    if owner is not None:
        tags["owner"] = owner
    return tags
