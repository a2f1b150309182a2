"""The role a WAF tuning service assumes is granted only what tuning needs.

WafCharm's guide grants ``AWSWAFFullAccess``, ``AmazonS3ReadOnlyAccess`` and
``CloudWatchReadOnlyAccess``. guard's tuner role instead holds one inline policy; every action in
it must be on the list in :data:`guard.tuner_policy.ALLOWED_ACTIONS` (no IAM, no STS, no S3
writes, no logging configuration changes, no web ACL creation, deletion or association), on the
resources that list allows: the web ACLs the service tunes, the log bucket, KMS only through S3,
and write actions on WAF resources only for those named with the service's prefix.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, get_args

from pulumi_policy import EnforcementLevel, ResourceValidationArgs, Severity

from guard.config.tuner import SERVICE_NAMES, TunerService
from guard.tuner_policy import ALLOWED_ACTIONS, scope_problems, tuned_web_acls, tuner_service_of
from policies.framework import (
    Meta,
    Report,
    as_list,
    policy_document,
    resource_policy,
    stack_config,
    stack_of,
)

META = Meta(
    name="tuner-role-scope",
    description="The role a WAF tuning service assumes has no managed policy attached and its "
    f"inline policies allow only the {len(ALLOWED_ACTIONS)} actions guard.tuner_policy lists, "
    "on the web ACLs it tunes, the WAF log bucket, its own prefixed WAF resources, and KMS only "
    "through S3: no IAM, STS, S3 writes, logging changes or web ACL creation and deletion.",
    severity=Severity.HIGH,
    enforcement=EnforcementLevel.MANDATORY,
    remediation="declare the role through guard:tuners (components/tuner.py grants "
    "guard.tuner_policy.tuner_permissions) and attach nothing else to it; when the service "
    "really needs a statement of guard:tuners.<service>.statements, keep it and add a reviewed, "
    "time-boxed guard:policy_exceptions entry (resource: the role's name) that says why.",
)
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment"


def _known_scope(stack: str, service: str) -> tuple[Collection[str] | None, Collection[str] | None]:
    """The web ACLs ``service`` tunes and the buckets it may read; None when unknown."""
    loaded = stack_config()
    if loaded is None:
        return None, None
    config = loaded.config
    buckets = [config.logs.bucket] if config.logs is not None else []
    known: TunerService | None = next((s for s in get_args(TunerService) if s == service), None)
    if known is None:
        return set(), buckets
    try:
        tuned = {a.name for a in tuned_web_acls(config, stack, known)}
    except ValueError:
        return None, buckets
    return tuned, buckets


def _judge(name: str, service: str, stack: str, documents: list[Any], report: Report) -> None:
    tuned, buckets = _known_scope(stack, service)
    who = SERVICE_NAMES.get(service, service)
    for document in documents:
        if document is None:
            continue
        for problem in scope_problems(document, tuned=tuned, log_buckets=buckets):
            report(f"{name} ({who}'s role) allows {problem}.", None)


def check(args: ResourceValidationArgs, report: Report) -> None:
    props = args.props
    stack = stack_of(args.urn)
    if args.resource_type == ROLE:
        name = props.get("name") or args.name
        service = tuner_service_of(stack, props.get("name"), props.get("tags"))
        if service is None:
            return
        for arn in as_list(props.get("managedPolicyArns")):
            report(f"{name} has {arn} attached; a tuner role's grant is guard's inline policy.")
        inline = [
            policy_document(p.get("policy"))
            for p in as_list(props.get("inlinePolicies"))
            if isinstance(p, dict)
        ]
        _judge(str(name), service, stack, inline, report)
        return
    role = props.get("role")
    service = tuner_service_of(stack, role)
    if service is None:
        return
    if args.resource_type == ATTACHMENT:
        report(
            f"{args.name} attaches {props.get('policyArn')} to {role}; a tuner role's grant is "
            "guard's inline policy (WafCharm's AWSWAFFullAccess would let it delete web ACLs "
            "and turn their logging off).",
            None,
        )
        return
    _judge(str(role), service, stack, [policy_document(props.get("policy"))], report)


POLICY = resource_policy(META, [ROLE, ROLE_POLICY, ATTACHMENT], check)
