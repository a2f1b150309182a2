"""Hand-built policy arguments, as the Pulumi engine would pass them, for rule tests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from guard.config import load_stack_config
from guard.plan import with_stack_config
from tests.conftest import TODAY, raw_config


def options(protect: bool = False) -> PolicyResourceOptions:
    return PolicyResourceOptions(protect, [], False, [], PolicyCustomTimeouts(0, 0, 0), [])


def urn_of(type_token: str, name: str) -> str:
    return f"urn:pulumi:prod::guard::{type_token}::{name}"


def resource_args(
    type_token: str, props: Mapping[str, Any], name: str = "subject"
) -> ResourceValidationArgs:
    return ResourceValidationArgs(
        type_token, props, urn_of(type_token, name), name, options(), None
    )


def resource(
    type_token: str,
    props: Mapping[str, Any],
    name: str = "subject",
    *,
    protect: bool = False,
    depends_on: Mapping[str, list[PolicyResource]] | None = None,
) -> PolicyResource:
    return PolicyResource(
        type_token,
        props,
        urn_of(type_token, name),
        name,
        options(protect),
        None,
        None,
        [],
        dict(depends_on or {}),
    )


def violations_of(
    policy: ResourceValidationPolicy | StackValidationPolicy,
    subject: ResourceValidationArgs | list[PolicyResource],
    **config: Any,
) -> list[str]:
    """The messages the policy reports, with the stack config built from ``config`` sections."""
    found: list[str] = []

    def report(message: str, urn: str | None = None) -> None:
        found.append(message)

    def run() -> None:
        from policies import framework

        framework.TODAY = TODAY
        try:
            if isinstance(policy, StackValidationPolicy):
                assert isinstance(subject, list)
                policy.validate(StackValidationArgs(subject), report)
            else:
                assert isinstance(subject, ResourceValidationArgs)
                policy.validate(subject, report)
        finally:
            framework.TODAY = None

    loaded = load_stack_config(raw_config(**config), "test.yaml", today=TODAY)
    with_stack_config(loaded, run)
    return found
