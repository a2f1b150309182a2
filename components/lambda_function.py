"""guard's Lambda building block: a function with its own log group and its own role, which
carries the stack's permissions boundary and one inline policy built from plain data.

What differs between guard's functions (how they are invoked, how a failure is noticed: a
dead-letter queue's depth, an errors alarm) stays with the component that declares them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
from pulumi_aws.lambda_ import FunctionVpcConfigArgsDict

from components.iam import PermissionsBoundary, bounded_role, service_trust_policy
from components.providers import opts


@dataclass(frozen=True)
class FunctionSpec:
    """One function: its name, code, limits and what its role may do."""

    name: str
    description: str
    role_description: str
    code: str  # the folder, relative to the repository root where Pulumi runs
    handler: str
    runtime: str
    timeout: int
    log_days: int
    policy: Mapping[str, Any]
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    memory: int = 256
    reserved_concurrency: int | None = None
    #: Instead of the ``code`` folder, exactly these entries: archive folder (or file) name ->
    #: the path on the deploying machine (the handler, and packages the runtime lacks).
    bundle: Mapping[str, Path] = field(default_factory=dict)
    #: The VPC the function runs in (subnets and security groups), or None for Lambda's own.
    vpc: FunctionVpcConfigArgsDict | None = None


def _files(root: Path) -> pulumi.AssetArchive:
    """A folder as an archive of its files, without the interpreter's byte-code caches: the
    archive's hash then depends only on the sources, whichever machine deploys."""
    return pulumi.AssetArchive(
        {
            path.relative_to(root).as_posix(): pulumi.FileAsset(str(path))
            for path in sorted(root.rglob("*"))
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
        }
    )


def code_archive(spec: FunctionSpec) -> pulumi.Archive:
    """The function's folder; or, with a bundle, exactly the bundle's entries (the function's
    own files and the packages it needs)."""
    if not spec.bundle:
        return pulumi.FileArchive(spec.code)
    assets: dict[str, pulumi.Asset | pulumi.Archive] = {}
    for name, path in sorted(spec.bundle.items()):
        if not path.exists():
            # An archive of nothing would deploy a function that cannot start.
            raise FileNotFoundError(f"{spec.name}: {path} is not there to zip as {name}")
        assets[name] = _files(path) if path.is_dir() else pulumi.FileAsset(str(path))
    return pulumi.AssetArchive(assets)


def lambda_function(
    parent: pulumi.Resource,
    spec: FunctionSpec,
    *,
    provider: aws.Provider,
    tags: dict[str, str],
    boundary: PermissionsBoundary,
) -> aws.lambda_.Function:
    """The function, its log group (``logs``), role and policy (``role``) as children of
    ``parent``; the function waits for its permissions and log group."""
    log_group = aws.cloudwatch.LogGroup(
        "logs",
        name=f"/aws/lambda/{spec.name}",
        retention_in_days=spec.log_days,
        tags=tags,
        opts=opts(parent, provider),
    )
    role = bounded_role(
        "role",
        name=spec.name,
        description=spec.role_description,
        trust=service_trust_policy("lambda.amazonaws.com"),
        boundary=boundary,
        tags=tags,
        opts_=opts(parent, provider),
    )
    policy = aws.iam.RolePolicy(
        "role",
        role=role.name,
        # Plain JSON text, so the policy pack judges the grants at preview.
        policy=json.dumps(spec.policy),
        opts=opts(parent, provider),
    )
    return aws.lambda_.Function(
        "function",
        name=spec.name,
        description=spec.description,
        runtime=spec.runtime,
        handler=spec.handler,
        code=code_archive(spec),
        role=role.arn,
        timeout=spec.timeout,
        memory_size=spec.memory,
        reserved_concurrent_executions=spec.reserved_concurrency,
        environment={"variables": dict(spec.environment)},
        vpc_config=spec.vpc,
        logging_config={"log_format": "Text", "log_group": log_group.name},
        tags=tags,
        # The role's permissions and the log group must exist before the first invocation.
        opts=opts(parent, provider, depends_on=[policy, log_group]),
    )


def invoked_by_rule(
    parent: pulumi.Resource,
    name: str,
    *,
    rule: aws.cloudwatch.EventRule,
    function: aws.lambda_.Function,
    provider: aws.Provider,
    target_id: str | None = None,
) -> aws.cloudwatch.EventTarget:
    """The rule's target is the function, with the permission EventBridge needs to invoke it
    (both ``name``); the target waits for the permission, or the first events would be refused."""
    permission = aws.lambda_.Permission(
        name,
        action="lambda:InvokeFunction",
        function=function.name,
        principal="events.amazonaws.com",
        source_arn=rule.arn,
        opts=opts(parent, provider),
    )
    return aws.cloudwatch.EventTarget(
        name,
        rule=rule.name,
        target_id=target_id,
        arn=function.arn,
        opts=opts(parent, provider, depends_on=[permission]),
    )


def errors_alarm(
    parent: pulumi.Resource,
    name: str,
    *,
    function_name: str,
    function: aws.lambda_.Function,
    description: str,
    topic_arn: pulumi.Input[str],
    provider: aws.Provider,
    tags: dict[str, str],
) -> aws.cloudwatch.MetricAlarm:
    """``<function>-failed``: any error of the function within an hour notifies ``topic_arn``."""
    return aws.cloudwatch.MetricAlarm(
        name,
        name=f"{function_name}-failed",
        alarm_description=description,
        namespace="AWS/Lambda",
        metric_name="Errors",
        dimensions={"FunctionName": function_name},
        statistic="Sum",
        period=3600,
        evaluation_periods=1,
        threshold=1,
        comparison_operator="GreaterThanOrEqualToThreshold",
        treat_missing_data="notBreaching",
        alarm_actions=[topic_arn],
        tags=tags,
        opts=opts(parent, provider, depends_on=[function]),
    )
