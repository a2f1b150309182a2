"""Run the CrossGuard policy objects on a recorded plan, as ``pulumi preview`` would.

The same ``Policy`` objects the pack serves to the Pulumi engine are called here with
``ResourceValidationArgs`` and ``StackValidationArgs`` built from the plan's records.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from guard.diff_model import PullRequestChange
from guard.plan import PlanResult, ResourceRecord, with_stack_config

PACK_DEFAULT_LEVEL = EnforcementLevel.MANDATORY


@dataclass(frozen=True)
class Violation:
    """One finding, with exactly the fields of the JSON contract."""

    policy: str
    severity: str
    enforcement_level: str
    urn: str
    message: str

    @property
    def mandatory(self) -> bool:
        return self.enforcement_level == "mandatory"

    def to_json(self) -> dict[str, str]:
        return {
            "policy": self.policy,
            "severity": self.severity,
            "enforcement_level": self.enforcement_level,
            "urn": self.urn,
            "message": self.message,
        }


@dataclass(frozen=True)
class PolicyOutcome:
    violations: list[Violation]
    exceptions: list[dict[str, Any]]

    @property
    def failed(self) -> bool:
        return any(v.mandatory for v in self.violations)


class PolicyPackError(Exception):
    """The policy pack directory cannot be loaded."""


def _pack_module(path: Path) -> ModuleType:
    """The pack's package at ``path``, imported once (a package whose ``__init__.py`` exposes
    ``all_policies()``)."""
    init = path / "__init__.py"
    if not init.is_file():
        raise PolicyPackError(f"{path}: not a policy pack (no __init__.py with all_policies())")
    module: ModuleType
    existing = sys.modules.get(path.name)
    if existing is not None and Path(existing.__file__ or "").resolve() == init.resolve():
        module = existing
    else:
        spec = importlib.util.spec_from_file_location(
            path.name, init, submodule_search_locations=[str(path)]
        )
        if spec is None or spec.loader is None:
            raise PolicyPackError(f"{path}: cannot load the policy pack")
        module = importlib.util.module_from_spec(spec)
        sys.modules[path.name] = module
        spec.loader.exec_module(module)
    if not hasattr(module, "all_policies"):
        raise PolicyPackError(f"{path}: the pack's __init__.py has no all_policies()")
    return module


def load_pack(path: Path) -> list[Policy]:
    """The policies of the pack at ``path`` (a package exposing ``all_policies()``)."""
    return list(_pack_module(path).all_policies())


def load_pull_request_policies(path: Path) -> list[Any]:
    """The pack's pull-request policies (``all_pull_request_policies()``; none if it has no
    such function, as a pack written before them)."""
    found = getattr(_pack_module(path), "all_pull_request_policies", None)
    return list(found()) if found is not None else []


def run_pull_request_policies(
    policies: Sequence[Any], change: PullRequestChange
) -> list[dict[str, str]]:
    """Each pull-request policy's findings on ``change``, as the diff JSON carries them."""
    findings: list[dict[str, str]] = []
    for policy in policies:
        meta = policy.meta
        findings += [
            {
                "policy": meta.name,
                "severity": meta.severity.value,
                "enforcement_level": meta.enforcement.value,
                "message": message,
            }
            for message in policy.check(change)
        ]
    return findings


def _options(record: ResourceRecord) -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=record.protect,
        ignore_changes=list(record.ignore_changes),
        delete_before_replace=False,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
        parent=record.parent,
    )


def _stack_props(record: ResourceRecord, plan: PlanResult) -> dict[str, Any]:
    if record.type == "pulumi:pulumi:Stack":
        return dict(plan.outputs)
    return {**record.inputs, **record.state} if record.custom else dict(record.inputs)


def _stack_args(plan: PlanResult, options: dict[str, PolicyResourceOptions]) -> StackValidationArgs:
    """Every resource with its parent and property dependencies linked, built once for all
    stack policies (they only read it)."""
    by_urn = {
        r.urn: PolicyResource(
            r.type, _stack_props(r, plan), r.urn, r.name, options[r.urn], None, None, [], {}
        )
        for r in plan.resources
    }
    for record in plan.resources:
        resource = by_urn[record.urn]
        resource.parent = by_urn.get(record.parent or "")
        resource.property_dependencies = {
            key: [by_urn[u] for u in urns if u in by_urn]
            for key, urns in record.property_dependencies.items()
        }
    return StackValidationArgs(list(by_urn.values()))


def _level(policy: Policy) -> str:
    return (policy.enforcement_level or PACK_DEFAULT_LEVEL).value


def run_policies(
    plan: PlanResult, policies: Sequence[Policy], today: date | None = None
) -> PolicyOutcome:
    """Every policy on the plan's records, with the stack's config visible as in CrossGuard."""
    return with_stack_config(plan.loaded, lambda: _run_policies(plan, policies, today))


def _run_policies(
    plan: PlanResult, policies: Sequence[Policy], today: date | None
) -> PolicyOutcome:
    from policies import framework

    framework.APPLIED_EXCEPTIONS.clear()
    framework.TODAY = today
    violations: list[Violation] = []

    def reporter(policy: Policy, default_urn: str) -> Any:
        def report(message: str, urn: str | None = None) -> None:
            severity = policy.severity.value if policy.severity is not None else "medium"
            violations.append(
                Violation(policy.name, severity, _level(policy), urn or default_urn, message)
            )

        return report

    options = {r.urn: _options(r) for r in plan.resources}
    resource_args = [
        ResourceValidationArgs(r.type, r.inputs, r.urn, r.name, options[r.urn], None)
        for r in plan.resources
        if r.custom
    ]
    stack_args = _stack_args(plan, options)
    for policy in policies:
        if _level(policy) == "disabled":
            continue
        if isinstance(policy, ResourceValidationPolicy):
            for args in resource_args:
                policy.validate(args, reporter(policy, args.urn))
        elif isinstance(policy, StackValidationPolicy):
            policy.validate(stack_args, reporter(policy, ""))
    violations.sort(key=lambda v: (v.enforcement_level != "mandatory", v.policy, v.urn, v.message))
    exceptions = [e.to_json() for e in framework.APPLIED_EXCEPTIONS]
    framework.TODAY = None
    return PolicyOutcome(violations, exceptions)
