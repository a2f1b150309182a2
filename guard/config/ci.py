"""Keyless CI identities (``guard:ci``, ``guard:pipeline`` and each product's ``ci``).

Placeholder models: filled in by the CI identity work.
"""

from __future__ import annotations

from guard.config.base import StrictModel


class CiConfig(StrictModel):
    """``guard:ci``: the OIDC providers (GitHub Actions, CircleCI)."""


class PipelineConfig(StrictModel):
    """``guard:pipeline``: this repository's own preview and deploy roles."""


class ProductCi(StrictModel):
    """A product's ``ci``: which repositories and projects may deploy it, with what permissions."""
