"""``guard plan``: run the real Pulumi program offline under Pulumi's mock runtime and record it.

Nothing here models the infrastructure: the program declares its resources exactly as in
``pulumi up``; a recording monitor keeps what the engine would receive (type, name, parent,
provider region, protect flag and the inputs in the engine's camelCase form).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import resource as pulumi_resource
from pulumi.runtime import rpc
from pulumi.runtime.proto import resource_pb2, source_pb2
from pulumi.runtime.settings import get_root_resource
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from guard.config import LoadedConfig

PROJECT = "guard"
T = TypeVar("T")
PROVIDER_TYPE_PREFIX = "pulumi:providers:"


@dataclass
class ResourceRecord:
    """One resource as the engine received it."""

    urn: str
    type: str
    name: str
    parent: str | None
    region: str | None
    protect: bool
    custom: bool
    inputs: dict[str, Any]
    provider: str | None = None
    state: dict[str, Any] = field(default_factory=dict)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    #: Inputs a later ``pulumi up`` leaves as they are in AWS (someone else edits them).
    ignore_changes: tuple[str, ...] = ()
    #: A later removal from the program leaves the resource in AWS (the engine forgets it).
    retain_on_delete: bool = False

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "parent": self.parent,
            "region": self.region,
            "protect": self.protect,
        }
        if self.ignore_changes:
            document["ignore_changes"] = list(self.ignore_changes)
        if self.retain_on_delete:
            document["retain_on_delete"] = True
        document["inputs"] = self.inputs
        return document


def _plain(value: Any) -> Any:
    """Inputs as JSON: secrets masked, unknowns marked, numbers kept as the engine sends them."""
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return "[secret]"
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is rpc.UNKNOWN or isinstance(value, pulumi.output.Unknown):
        return "[unknown]"
    if isinstance(value, (pulumi.asset.FileArchive, pulumi.asset.FileAsset)):
        return {"path": value.path}
    if isinstance(value, pulumi.asset.AssetArchive):
        # What goes into the zip, by top-level name (a bundled package is one entry).
        return {"archive": sorted({name.split("/", 1)[0] for name in value.assets})}
    if isinstance(value, (pulumi.asset.Asset, pulumi.asset.Archive)):
        return {"asset": type(value).__name__}
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


class GuardMocks(pulumi_mocks.Mocks):
    """Answers resource creation with deterministic IDs and realistic ARNs, offline."""

    def __init__(self, account_id: str, default_region: str) -> None:
        self.account_id = account_id
        self.default_region = default_region
        self.provider_regions: dict[str, str] = {}

    def region_of(self, provider_ref: str | None) -> str:
        """The region of a provider, given its URN or an engine reference ``<urn>::<id>``."""
        if provider_ref:
            for urn in (provider_ref, provider_ref.rsplit("::", 1)[0]):
                if urn in self.provider_regions:
                    return self.provider_regions[urn]
        return self.default_region

    def new_resource(
        self, args: pulumi_mocks.MockResourceArgs
    ) -> tuple[str | None, dict[str, Any]]:
        # The URN, not the name: two components may each have a child called "role".
        digest = hashlib.sha256(
            getattr(args, "urn", f"{args.typ}::{args.name}").encode()
        ).hexdigest()
        resource_id = (
            f"{digest[:8]}-{digest[8:12]}-4{digest[13:16]}-8{digest[17:20]}-{digest[20:32]}"
        )
        state = dict(args.inputs)
        region = self.region_of(args.provider)
        name = str(state.get("name") or args.name)
        account = self.account_id
        arn = _ARN_BUILDERS.get(args.typ)
        if arn is not None:
            state["arn"] = arn(region, account, name, resource_id, state)
        elif args.typ.startswith("aws:"):
            service = args.typ.split(":")[1].split("/")[0]
            state["arn"] = f"arn:aws:{service}:{region}:{account}:{name}"
        state.setdefault("id", resource_id)
        return resource_id, state

    def call(
        self, args: pulumi_mocks.MockCallArgs
    ) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        token = args.token
        if token == "aws:index/getCallerIdentity:getCallerIdentity":  # noqa: S105
            return {
                "accountId": self.account_id,
                "arn": f"arn:aws:iam::{self.account_id}:role/guard-plan",
                "userId": "AROAEXAMPLE:guard-plan",
            }, None
        if token in ("aws:index/getRegion:getRegion", "aws:index/getRegion:getRegionResult"):
            return {"name": self.default_region, "region": self.default_region}, None
        if token == "aws:index/getPartition:getPartition":  # noqa: S105
            return {"partition": "aws", "dnsSuffix": "amazonaws.com"}, None
        return {}, None


def _wafv2_arn(kind: str) -> Callable[[str, str, str, str, dict[str, Any]], str]:
    def build(region: str, account: str, name: str, rid: str, state: dict[str, Any]) -> str:
        scope = "global" if state.get("scope") == "CLOUDFRONT" else "regional"
        return f"arn:aws:wafv2:{region}:{account}:{scope}/{kind}/{name}/{rid}"

    return build


_ARN_BUILDERS: dict[str, Callable[[str, str, str, str, dict[str, Any]], str]] = {
    "aws:wafv2/webAcl:WebAcl": _wafv2_arn("webacl"),
    "aws:wafv2/ipSet:IpSet": _wafv2_arn("ipset"),
    "aws:iam/role:Role": lambda r, a, n, i, s: f"arn:aws:iam::{a}:role/{n}",
    "aws:iam/policy:Policy": lambda r, a, n, i, s: f"arn:aws:iam::{a}:policy/{n}",
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": lambda r, a, n, i, s: (
        f"arn:aws:iam::{a}:oidc-provider/{str(s.get('url', n)).removeprefix('https://')}"
    ),
    "aws:sns/topic:Topic": lambda r, a, n, i, s: f"arn:aws:sns:{r}:{a}:{n}",
    "aws:sqs/queue:Queue": lambda r, a, n, i, s: f"arn:aws:sqs:{r}:{a}:{n}",
    "aws:kms/key:Key": lambda r, a, n, i, s: f"arn:aws:kms:{r}:{a}:key/{i}",
    "aws:lambda/function:Function": lambda r, a, n, i, s: f"arn:aws:lambda:{r}:{a}:function:{n}",
    "aws:s3/bucket:Bucket": lambda r, a, n, i, s: f"arn:aws:s3:::{s.get('bucket', n)}",
    "aws:s3/bucketV2:BucketV2": lambda r, a, n, i, s: f"arn:aws:s3:::{s.get('bucket', n)}",
    "aws:cloudwatch/eventRule:EventRule": lambda r, a, n, i, s: f"arn:aws:events:{r}:{a}:rule/{n}",
    "aws:cloudwatch/metricAlarm:MetricAlarm": lambda r, a, n, i, s: (
        f"arn:aws:cloudwatch:{r}:{a}:alarm:{n}"
    ),
    "aws:shield/protection:Protection": lambda r, a, n, i, s: f"arn:aws:shield::{a}:protection/{i}",
    "aws:shield/protectionGroup:ProtectionGroup": lambda r, a, n, i, s: (
        f"arn:aws:shield::{a}:protection-group/{s.get('protectionGroupId', n)}"
    ),
    "aws:kinesis/firehoseDeliveryStream:FirehoseDeliveryStream": lambda r, a, n, i, s: (
        f"arn:aws:firehose:{r}:{a}:deliverystream/{n}"
    ),
}


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """Keeps every registration the engine would see, in order."""

    def __init__(self, mocks: GuardMocks) -> None:
        super().__init__(mocks)
        self.guard_mocks = mocks
        self.records: list[ResourceRecord] = []

    def RegisterResource(self, request: Any) -> Any:
        # MockMonitor.RegisterResource, with the inputs deserialized once for both the mocks and
        # the record (it is the plan's per-resource hot path).
        urn = self.make_urn(request.parent, request.type, request.name)
        inputs: dict[str, Any] = {}
        state: dict[str, Any] = {}
        response: Any
        if request.type == "pulumi:pulumi:Stack":
            response = resource_pb2.RegisterResourceResponse(urn=urn)
        else:
            pulumi_mocks._ensure_event_loop()
            inputs = rpc.deserialize_properties(request.object) or {}
            args = pulumi_mocks.MockResourceArgs(
                typ=request.type,
                name=request.name,
                inputs=inputs,
                provider=request.provider,
                resource_id=request.importId,
                custom=request.custom or False,
            )
            args.urn = urn  # type: ignore[attr-defined]
            new_id, state = self.mocks.new_resource(args)
            resource_id = new_id or ""
            serialized = _sync_await(rpc.serialize_properties(state, {}))
            self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(
                urn, resource_id, state
            )
            response = resource_pb2.RegisterResourceResponse(
                urn=urn, id=resource_id, object=serialized
            )
        provider_urn = request.provider.rsplit("::", 1)[0] if request.provider else None
        own_region = inputs.get("region") if isinstance(inputs.get("region"), str) else None
        if request.type.startswith(PROVIDER_TYPE_PREFIX):
            region = own_region
            if own_region is not None:
                self.guard_mocks.provider_regions[urn] = own_region
        elif request.custom:
            # pulumi-aws 7: a resource may name its own region instead of its provider's.
            region = own_region or self.guard_mocks.region_of(provider_urn)
        else:
            region = None
        plain_inputs = _plain(inputs)
        extra_state = {k: v for k, v in state.items() if k not in inputs}
        self.records.append(
            ResourceRecord(
                urn=urn,
                type=request.type,
                name=request.name,
                parent=request.parent or None,
                region=region,
                protect=bool(request.protect),
                custom=bool(request.custom),
                inputs=plain_inputs,
                provider=provider_urn,
                state={**plain_inputs, **_plain(extra_state)},
                property_dependencies={
                    key: list(deps.urns) for key, deps in request.propertyDependencies.items()
                },
                ignore_changes=tuple(request.ignoreChanges),
                retain_on_delete=bool(request.retainOnDelete),
            )
        )
        return response


@dataclass
class PlanResult:
    """What the program declared, in registration order."""

    project: str
    stack: str
    resources: list[ResourceRecord]
    outputs: dict[str, Any]
    loaded: LoadedConfig


def run_program(
    loaded: LoadedConfig, stack: str, program: Callable[[], None] | None = None
) -> PlanResult:
    """Run ``program`` (default: the real one) under mocks with the stack's config set.

    Pulumi keeps its root stack and config in context variables; a fresh context per run keeps
    one plan from leaking into the next (tests plan several stacks in one process).
    """
    return contextvars.Context().run(_run_program, loaded, stack, program)


def with_stack_config(loaded: LoadedConfig, function: Callable[[], T]) -> T:
    """Call ``function`` in a fresh context where Pulumi's config is the stack's (for policies)."""

    def call() -> T:
        from pulumi.runtime import config as runtime_config

        runtime_config.set_all_config(dict(loaded.raw), list(loaded.secret_keys))
        return function()

    return contextvars.Context().run(call)


def _run_program(
    loaded: LoadedConfig, stack: str, program: Callable[[], None] | None
) -> PlanResult:
    from pulumi.runtime import config as runtime_config

    from guard.program import main

    config = loaded.config
    mocks = GuardMocks(config.account_id, config.region)
    monitor = RecordingMonitor(mocks)
    runtime_config.set_all_config(dict(loaded.raw), list(loaded.secret_keys))
    # A loop of our own, closed afterwards: an abandoned one raises noise at interpreter exit.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    # The SDK hands each engine call to the loop's executor. The mock monitor answers from
    # memory, so one worker does it all without threads contending for the GIL (~10% faster
    # at 700 endpoints), and registrations reach the monitor one at a time.
    rpc_worker = concurrent.futures.ThreadPoolExecutor(
        max_workers=1, thread_name_prefix="guard-plan"
    )
    loop.set_default_executor(rpc_worker)
    # The program's warnings are reported by the plan itself; keep the engine log quiet.
    quiet = logging.getLogger("guard.plan.engine")
    quiet.addHandler(logging.NullHandler())
    quiet.propagate = False
    pulumi_mocks.set_mocks(
        mocks, project=PROJECT, stack=stack, preview=True, logger=quiet, monitor=monitor
    )
    # Stack traces only give the engine source positions, which a plan never shows; capturing
    # one per resource costs a tenth of the plan's time at 700 endpoints.
    capture_stack_trace = pulumi_resource._get_stack_trace
    pulumi_resource._get_stack_trace = source_pb2.StackTrace
    try:
        _sync_await(run_pulumi_func(program or main))
        outputs = _sync_await(_stack_outputs())
    finally:
        pulumi_resource._get_stack_trace = capture_stack_trace
        loop.close()
        rpc_worker.shutdown(wait=True)
        asyncio.set_event_loop(None)
    # Registration order follows asyncio scheduling; sorting makes the output byte-stable.
    records = sorted(monitor.records, key=lambda r: r.urn)
    return PlanResult(PROJECT, stack, records, outputs, loaded)


async def _stack_outputs() -> dict[str, Any]:
    """The values passed to ``pulumi.export``, resolved (mocks never register them)."""
    root = get_root_resource()
    exported = getattr(root, "outputs", {}) or {}
    resolved = await pulumi.Output.from_input(exported).future(with_unknowns=True)
    return _plain(resolved or {})
