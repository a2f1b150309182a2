"""Small valid stack files written on the fly, for tests about which stacks exist."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.conftest import alb_arn

ACCOUNT = "123456789012"
REGION = "eu-west-1"
STATE_BUCKET = "my-org-pulumi-state"


def write_stack_file(
    directory: Path,
    name: str,
    *,
    pipeline: dict[str, Any] | None = None,
    top: dict[str, Any] | None = None,
) -> Path:
    """``<directory>/Pulumi.<name>.yaml``: one product in account 123456789012, eu-west-1.

    ``pipeline`` adds ``guard:ci: {github: {}}`` and a ``guard:pipeline`` (these keys on top of
    the repository and state bucket); ``top`` adds top-level keys such as ``secretsprovider``.
    """
    config: dict[str, Any] = {
        "aws:region": REGION,
        "guard:account_id": ACCOUNT,
        "guard:products": [
            {
                "name": "shop",
                "owner": "team-shop",
                "endpoints": [
                    {"name": "web", "kind": "alb", "arn": alb_arn("shop-web", ACCOUNT, REGION)}
                ],
                "waf": {"rate_limits": [{"name": "login", "limit": 100, "path": "/login"}]},
            }
        ],
    }
    if pipeline is not None:
        config["guard:ci"] = {"github": {}}
        config["guard:pipeline"] = {
            "github_repo": "my-org/my-infra",
            "state_bucket": STATE_BUCKET,
            **pipeline,
        }
    path = directory / f"Pulumi.{name}.yaml"
    path.write_text(yaml.safe_dump({**(top or {}), "config": config}), encoding="utf-8")
    return path
