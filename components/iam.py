"""IAM documents components share."""

from __future__ import annotations

from typing import Any


def service_trust_policy(service: str) -> dict[str, Any]:
    """A role trust policy letting one AWS service (``lambda.amazonaws.com``, ...) assume it."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": service},
                "Action": "sts:AssumeRole",
            }
        ],
    }
