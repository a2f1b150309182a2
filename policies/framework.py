"""How guard's policies are written: metadata, stack config access and reviewed exceptions.

Every rule module in ``policies/rules`` builds one policy with :func:`resource_policy` or
:func:`stack_policy`. The wrapper applies ``guard:policy_exceptions`` the same way under
``pulumi preview --policy-pack policies`` and under ``guard plan``. Importing this module never
starts the pack's gRPC server (only ``policies/__main__.py`` builds the ``PolicyPack``).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from pulumi_policy import (
    EnforcementLevel,
    PolicyComplianceFramework,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from guard.ci_scope import boundary_name
from guard.config import ConfigError, LoadedConfig, load_stack_config, raw_from_pulumi
from guard.config.loader import secret_keys_from_pulumi, stack_file_for
from guard.config.stack import PolicyException, StackConfig
from guard.diff_model import PullRequestChange
from guard.iam_eval import as_list
from guard.waf_rules import owner_tags


class Report(Protocol):
    """How a rule reports a finding: on a resource's URN (default: the one judged, or the stack),
    optionally naming the product, profile or endpoint it concerns (for precise exceptions)."""

    def __call__(
        self, message: str, urn: str | None = None, *, subject: Subject | None = None
    ) -> None: ...


@dataclass(frozen=True)
class Subject:
    """What a finding concerns in the catalog: a product, optionally one of its WAF profiles,
    and the endpoints affected. ``guard:policy_exceptions`` match on it by ``product``,
    ``product/profile`` or ``product/endpoint``."""

    product: str
    profile: str | None = None
    endpoints: tuple[str, ...] = ()

    def matches(self, resource: str) -> bool:
        product, _, part = resource.partition("/")
        if product != self.product:
            return False
        if not part:
            return True
        # product/<profile> or product/<endpoint>: only findings about nothing else.
        return part == self.profile or (bool(self.endpoints) and set(self.endpoints) == {part})


@dataclass(frozen=True)
class Meta:
    """What a reviewer sees about a policy: why it exists and how to fix a violation."""

    name: str
    description: str
    severity: Severity
    enforcement: EnforcementLevel
    remediation: str
    control: str | None = None  # "Checkov CKV_AWS_192", "Security Hub IAM.1", ...

    def framework(self) -> PolicyComplianceFramework | None:
        if self.control is None:
            return None
        name, _, reference = self.control.partition(" ")
        return PolicyComplianceFramework(name=name, reference=reference)


@dataclass(frozen=True)
class PullRequestPolicy:
    """A rule about a change, run by ``guard diff`` (see ``policies/pull_request``)."""

    meta: Meta
    check: Callable[[PullRequestChange], list[str]]

    @property
    def name(self) -> str:
        return self.meta.name


@dataclass(frozen=True)
class AppliedException:
    """A violation that a reviewed exception waived; shown in the plan so reviewers see it."""

    policy: str
    urn: str
    message: str
    exception: PolicyException

    def to_json(self) -> dict[str, Any]:
        return {
            "policy": self.policy,
            "urn": self.urn,
            "message": self.message,
            "resource": self.exception.resource,
            "reason": self.exception.reason,
            "expires": self.exception.expires.isoformat(),
        }


#: Waived violations of the current run, read by ``guard plan``.
APPLIED_EXCEPTIONS: list[AppliedException] = []
_CONFIG_CACHE: dict[tuple[str, tuple[tuple[str, str], ...]], LoadedConfig | None] = {}


def stack_config() -> LoadedConfig | None:
    """The stack's validated guard config, as the program saw it (None when invalid or absent)."""
    raw = raw_from_pulumi()
    # The file too: two stacks directories may hold the same stack (the same map), and a
    # policy may read the stack's neighbours (detection-managed-by-organization).
    source = _stack_file()
    key = (source, tuple(sorted(raw.items())))
    if key not in _CONFIG_CACHE:
        try:
            _CONFIG_CACHE[key] = load_stack_config(
                raw, source, secret_keys=secret_keys_from_pulumi()
            )
        except ConfigError:
            _CONFIG_CACHE[key] = None
    return _CONFIG_CACHE[key]


def _stack_file() -> str:
    """The running stack's file: guard:defaults is a path relative to it. (Under ``guard plan``
    the map is merged already; under ``pulumi preview`` the engine's map still names it.)"""
    import pulumi

    path = stack_file_for(pulumi.get_stack())
    # Outside a Pulumi run the SDK answers "stack": there is no file to read then.
    return path if Path(path).is_file() else "stack config"


#: The day expiry dates are judged against; ``guard plan --today`` sets it, None means today.
TODAY: date | None = None


def today() -> date:
    return TODAY or date.today()


def _matches(exception: PolicyException, name: str, urn: str, subject: Subject | None) -> bool:
    pattern = exception.resource
    if subject is not None and exception.names_catalog and subject.matches(pattern):
        return True
    return fnmatch.fnmatchcase(urn, pattern) or fnmatch.fnmatchcase(name, pattern)


def _waiver(policy: str, name: str, urn: str, subject: Subject | None) -> PolicyException | None:
    loaded = stack_config()
    if loaded is None:
        return None
    for exception in loaded.config.policy_exceptions:
        if (
            exception.policy == policy
            and exception.expires >= today()
            and _matches(exception, name, urn, subject)
        ):
            return exception
    return None


def _name_of(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def subject_of(
    resource_type: str, props: Mapping[str, Any], config: StackConfig | None
) -> Subject | None:
    """What in the catalog a resource protects: by the endpoint ARN it names (an association, a
    Shield protection, a DDoS alarm), else by its ``product`` and ``waf-profile`` tags."""
    if config is None:
        return None
    arn = props.get("resourceArn") or (props.get("dimensions") or {}).get("ResourceArn")
    if isinstance(arn, str):
        for product in config.products:
            for endpoint in product.endpoints:
                if endpoint.arn == arn:
                    return Subject(product.name, endpoint.waf_profile, (endpoint.name,))
    product_name, profile = owner_tags(props.get("tags"))
    owner = next((p for p in config.products if p.name == product_name), None)
    if owner is None:
        return None
    scope = props.get("scope")
    endpoints = tuple(
        e.name
        for e in owner.endpoints
        if (resource_type not in WAF_TYPES or e.waf_profile == profile)
        and (scope is None or e.scope == scope)
    )
    return Subject(owner.name, profile, endpoints)


def _reporter(
    meta: Meta,
    default_urn: str,
    report_violation: ReportViolation,
    subjects: Callable[[str], Subject | None],
) -> Report:
    def report(message: str, urn: str | None = None, *, subject: Subject | None = None) -> None:
        target = urn or default_urn
        waiver = _waiver(meta.name, _name_of(target), target, subject or subjects(target))
        if waiver is not None:
            _record_waiver(AppliedException(meta.name, target, message, waiver))
            return
        report_violation(f"{message} Fix: {meta.remediation}", urn)

    return report


def _record_waiver(applied: AppliedException) -> None:
    """One entry per policy and resource: several waived messages are joined, not repeated."""
    for index, earlier in enumerate(APPLIED_EXCEPTIONS):
        if (earlier.policy, earlier.urn) == (applied.policy, applied.urn):
            if applied.message not in earlier.message:
                APPLIED_EXCEPTIONS[index] = dataclasses.replace(
                    earlier, message=f"{earlier.message} {applied.message}"
                )
            return
    APPLIED_EXCEPTIONS.append(applied)


def resource_policy(
    meta: Meta,
    resource_types: Sequence[str],
    check: Callable[[ResourceValidationArgs, Report], None],
) -> ResourceValidationPolicy:
    """A policy judging one resource at a time, for the given Pulumi type tokens."""
    types = frozenset(resource_types)

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if args.resource_type in types:
            # Worked out only when a finding is reported: most resources pass.
            def subjects(urn: str) -> Subject | None:
                if urn != args.urn:
                    return None
                loaded = stack_config()
                config = loaded.config if loaded is not None else None
                return subject_of(args.resource_type, args.props, config)

            check(args, _reporter(meta, args.urn, report_violation, subjects))

    return ResourceValidationPolicy(
        name=meta.name,
        description=meta.description,
        enforcement_level=meta.enforcement,
        severity=meta.severity,
        framework=meta.framework(),
        remediation_steps=meta.remediation,
        validate=validate,
    )


def stack_policy(
    meta: Meta, check: Callable[[StackValidationArgs, Report], None]
) -> StackValidationPolicy:
    """A policy judging the whole stack (relationships between resources, the catalog)."""

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        stack_urn = next(
            (r.urn for r in args.resources if r.resource_type == "pulumi:pulumi:Stack"), ""
        )

        by_urn: dict[str, PolicyResource] = {}

        def subjects(urn: str) -> Subject | None:
            # Indexed on the first finding: a clean stack never needs it, and a stack with many
            # findings does not search every resource for each.
            if not by_urn:
                by_urn.update((r.urn, r) for r in args.resources)
            resource = by_urn.get(urn)
            if resource is None:
                return None
            loaded = stack_config()
            config = loaded.config if loaded is not None else None
            return subject_of(resource.resource_type, resource.props, config)

        check(args, _reporter(meta, stack_urn, report_violation, subjects))

    return StackValidationPolicy(
        name=meta.name,
        description=meta.description,
        enforcement_level=meta.enforcement,
        severity=meta.severity,
        framework=meta.framework(),
        remediation_steps=meta.remediation,
        validate=validate,
    )


# --- helpers shared by rules -----------------------------------------------------------------

WEB_ACL = "aws:wafv2/webAcl:WebAcl"
#: Resources that belong to one WAF setting (``waf`` or a profile), not to every endpoint.
WAF_TYPES = frozenset({WEB_ACL, "aws:wafv2/ipSet:IpSet"})


def blocks_by_default(props: Mapping[str, Any]) -> bool:
    """Whether a web ACL's default action is block (an allowlist-only web ACL)."""
    default = props.get("defaultAction") or {}
    return isinstance(default, Mapping) and "block" in default


def statements(statement: Mapping[str, Any]) -> Iterable[tuple[str, Mapping[str, Any]]]:
    """Every (type, body) in a statement tree, depth first."""
    for kind, body in statement.items():
        yield kind, body
        if kind in ("AndStatement", "OrStatement"):
            for child in body.get("Statements", []):
                yield from statements(child)
        elif kind == "NotStatement":
            yield from statements(body.get("Statement", {}))
        elif (kind == "RateBasedStatement" and "ScopeDownStatement" in body) or (
            kind == "ManagedRuleGroupStatement" and "ScopeDownStatement" in body
        ):
            yield from statements(body["ScopeDownStatement"])


def policy_document(value: Any) -> dict[str, Any] | None:
    """An IAM policy given as JSON text or as a dict; None when it is neither."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return None
    return value if isinstance(value, dict) else None


def stack_of(urn: str) -> str:
    """The stack name in a URN (``urn:pulumi:<stack>::<project>::...``)."""
    return urn.split("::", 1)[0].rsplit(":", 1)[-1]


def is_stack_boundary(resource_type: str, props: Mapping[str, Any], urn: str) -> bool:
    """Whether a resource is this stack's permissions boundary (a limit, not a grant)."""
    return resource_type == "aws:iam/policy:Policy" and props.get("name") == boundary_name(
        stack_of(urn)
    )


#: Type token -> the input that holds an IAM policy document (a role: its inline policies).
IAM_POLICY_INPUTS = {
    "aws:iam/policy:Policy": "policy",
    "aws:iam/rolePolicy:RolePolicy": "policy",
    "aws:iam/userPolicy:UserPolicy": "policy",
    "aws:iam/groupPolicy:GroupPolicy": "policy",
    "aws:iam/role:Role": "inlinePolicies",
}


def iam_documents(resource_type: str, props: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The IAM policy documents a resource carries (JSON text or dicts; unreadable ones skipped)."""
    value = props.get(IAM_POLICY_INPUTS[resource_type])
    if resource_type == "aws:iam/role:Role":
        found = [policy_document(p.get("policy")) for p in as_list(value) if isinstance(p, dict)]
    else:
        found = [policy_document(value)]
    return [d for d in found if d is not None]
