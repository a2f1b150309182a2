"""The example CI identities the OIDC policy tests build trust documents for."""

from __future__ import annotations

from guard.oidc_trust import GITHUB_ISSUER_HOST, circleci_issuer_host, oidc_provider_arn

ACCOUNT = "111111111111"
ORG = "6f4e1c2a-0000-4000-8000-000000000001"
PROJECT = "0b7c0e4d-0000-4000-8000-000000000002"
GH = oidc_provider_arn(ACCOUNT, GITHUB_ISSUER_HOST)
CCI = oidc_provider_arn(ACCOUNT, circleci_issuer_host(ORG))
