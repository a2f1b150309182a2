"""IAM building blocks every area uses: the stack's permissions boundary and bounded roles.

Every role guard creates carries the stack's boundary (``guard-<stack>-boundary``, the document
in :mod:`guard.iam_boundary`), so that no role the pipeline creates, changes or passes to a
service can do more than the boundary allows. :func:`bounded_role` is the only way components
create a role; the ``iam-permissions-boundary`` policy fails a plan with a role that lacks it.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws

from components.providers import Providers, opts
from components.tags import guard_tags
from guard.ci_scope import PipelineScope, boundary_name
from guard.config.ci import compact_json
from guard.config.errors import StackNameError
from guard.iam_boundary import MAX_MANAGED_POLICY_CHARS, boundary_policy


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


class PermissionsBoundary(pulumi.ComponentResource):
    """``guard-<stack>-boundary``: the managed policy every role of the stack carries.

    It is protected: deleting it would leave every guard role unbounded-by-design broken, and the
    deploy role may never change it (an administrator applies boundary changes).
    """

    arn: str

    def __init__(
        self,
        scope: PipelineScope,
        *,
        providers: Providers,
        opts_: pulumi.ResourceOptions | None = None,
    ) -> None:
        name = boundary_name(scope.stack)
        super().__init__("guard:iam:PermissionsBoundary", name, None, opts_)
        document = compact_json(boundary_policy(scope))
        if len(document) > MAX_MANAGED_POLICY_CHARS:
            # Only very long stack and bucket names get here (tests/guard/test_iam_boundary.py).
            raise StackNameError(
                f"the permissions boundary {name} is {len(document)} characters; IAM allows "
                f"{MAX_MANAGED_POLICY_CHARS} for a managed policy: use a shorter stack name or "
                "shorter bucket names"
            )
        self.policy = aws.iam.Policy(
            name,
            name=name,
            description="guard: the permissions boundary of every role this stack creates",
            policy=document,
            tags=guard_tags(scope.stack),
            opts=opts(self, providers.regional, protect=True),
        )
        # Known before the policy exists (IAM names it), so roles carry it as plain text and the
        # policy pack can judge it at preview.
        self.arn = scope.boundary
        self.register_outputs({"arn": self.arn})


#: IAM's limit on a role name.
MAX_ROLE_NAME = 64


def checked_role_name(name: str, shorten: str = "stack") -> str:
    """``name`` if IAM accepts it as a role name; shortening silently would break the ARNs that
    workflows and services' consoles hold, so a long one is the user's to shorten."""
    if len(name) > MAX_ROLE_NAME:
        raise StackNameError(
            f"IAM role name {name!r} is {len(name)} characters; IAM allows {MAX_ROLE_NAME}: "
            f"use a shorter {shorten} name"
        )
    return name


def bounded_role(
    logical_name: str,
    *,
    name: str,
    description: str,
    trust: dict[str, Any] | pulumi.Input[str],
    boundary: PermissionsBoundary,
    tags: dict[str, str],
    opts_: pulumi.ResourceOptions,
    max_session_duration: int | None = None,
) -> aws.iam.Role:
    """An IAM role with the stack's permissions boundary, created after the boundary exists.

    ``trust`` is a document (written as plain JSON text, so the policy pack sees it at preview)
    or JSON text already, e.g. a secret Output when the trust holds an external ID."""
    return aws.iam.Role(
        logical_name,
        name=name,
        description=description,
        assume_role_policy=compact_json(trust) if isinstance(trust, dict) else trust,
        permissions_boundary=boundary.arn,
        max_session_duration=max_session_duration,
        tags=tags,
        # merge appends depends_on lists.
        opts=pulumi.ResourceOptions.merge(
            opts_, pulumi.ResourceOptions(depends_on=[boundary.policy])
        ),
    )
