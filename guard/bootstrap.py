"""``guard bootstrap``: prepare what a stack's very first ``pulumi up`` needs, idempotently.

The first ``pulumi stack init`` and ``pulumi up`` of a stack run with an administrator's
credentials (the pipeline roles are created by that update, see docs/ci.md "Bootstrap"). Before
them, two things must exist in the stack's account and region:

* the Pulumi state bucket (``guard:pipeline.state_bucket``): versioned, encrypted by default
  with SSE-KMS and the AWS managed key aws/s3 (with an S3 Bucket Key), all public access
  blocked, a bucket policy denying every request made without TLS, and a lifecycle rule that
  expires noncurrent versions after 90 days and aborts incomplete multipart uploads after 7;
* the KMS key of the stack's Pulumi secrets, behind ``guard:pipeline.secrets_key_alias``
  (default ``alias/guard-<stack>-secrets``): symmetric, customer managed, rotated yearly.

:func:`run_bootstrap` first asks STS who the credentials are and refuses to go on in another
account than ``guard:account_id``. It then reads the bucket and the key. What is missing is
listed ("would create"), and created only with ``apply=True``; what exists is compared with the
settings above and never changed: every difference is listed with the ``aws`` command that fixes
it. It ends with the exact Pulumi commands to run next. Exit codes: 0 ready (or created),
1 an existing resource differs, 2 usage, credential, permission or connection errors.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TextIO

from guard.bootstrap_checks import (
    AwsCli,
    Difference,
    bucket_pieces,
    bucket_policy,
    check_bucket_policy,
    check_bucket_region,
    check_encryption,
    check_key,
    check_lifecycle,
    check_public_access_block,
    check_rotation,
    check_versioning,
    describe_aws_error,
    encryption_configuration,
    error_code,
    key_pieces,
    lifecycle_rule,
    next_commands,
    public_access_block,
)
from guard.config.ci import KMS_ALIAS_RE, PipelineConfig

EXIT_READY, EXIT_DIFFERS, EXIT_ERROR = 0, 1, 2
#: ``name:`` in Pulumi.yaml; the self-managed backend keeps a stack's state under it.
PROJECT = "guard"
EXISTS, WOULD_CREATE, CREATED, DIFFERS = "exists, as required", "would create", "created", "differs"
#: The first call (STS) doubles as the reachability probe: one retry at most, so an endpoint
#: that refuses connections fails in about a second instead of after four backoffs.
PROBE_ATTEMPTS = 2
CONNECT_TIMEOUT_SECONDS = 5


class BootstrapError(Exception):
    """A condition that stops the bootstrap (exit 2); the message is one line."""


@dataclass
class Item:
    """One line of the report: a piece of the bootstrap and its state."""

    name: str
    state: str
    detail: str = ""
    fix: str = ""

    def render(self) -> str:
        if self.state == DIFFERS:
            text = f"differs: {self.detail} — fix: {self.fix}"
        else:
            text = f"{self.state} ({self.detail})" if self.detail else self.state
        return f"  {self.name:<20} {text}"


@dataclass
class Section:
    title: str
    items: list[Item] = field(default_factory=list)
    create: Callable[[], None] | None = None

    def add(self, name: str, difference: Difference | None, detail: str = "") -> None:
        if difference is None:
            self.items.append(Item(name, EXISTS, detail))
        else:
            self.items.append(Item(name, DIFFERS, difference.what, difference.fix))


@dataclass
class Target:
    """Where and what: the stack, its account, region and pipeline settings, the clients."""

    stack: str
    account: str
    region: str
    pipeline: PipelineConfig
    endpoint_url: str | None
    partition: str = "aws"
    clients: dict[str, Any] = field(default_factory=dict)

    @property
    def bucket(self) -> str:
        return self.pipeline.state_bucket

    @property
    def alias(self) -> str:
        return self.pipeline.secrets_alias(self.stack)

    @property
    def cli(self) -> AwsCli:
        return AwsCli(self.region, self.endpoint_url)


def make_clients(region: str, endpoint_url: str | None) -> dict[str, Any]:
    """STS, S3 and KMS clients in ``region``; a fresh session sees the current environment."""
    import boto3
    from botocore.config import Config

    session = boto3.session.Session()

    def config(attempts: int) -> Config:
        return Config(
            retries={"mode": "adaptive", "max_attempts": attempts},
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            read_timeout=30,
        )

    probe, calls = config(PROBE_ATTEMPTS), config(5)
    where: dict[str, Any] = {"region_name": region, "endpoint_url": endpoint_url}
    return {
        "sts": session.client("sts", **where, config=probe),
        "s3": session.client("s3", **where, config=calls),
        "kms": session.client("kms", **where, config=calls),
    }


def _absent_if(code: str, call: Callable[..., Any], **kwargs: Any) -> Any:
    """``call(**kwargs)``, or ``None`` when AWS answers with the error ``code``."""
    from botocore.exceptions import ClientError

    try:
        return call(**kwargs)
    except ClientError as error:
        if error_code(error) == code:
            return None
        raise


# --- identity ----------------------------------------------------------------------------------


def check_identity(target: Target) -> str:
    """The caller's ARN; raises :class:`BootstrapError` in another account than the stack's."""
    identity = target.clients["sts"].get_caller_identity()
    account, arn = str(identity["Account"]), str(identity["Arn"])
    if account != target.account:
        raise BootstrapError(
            f"credentials are for account {account}, the stack is for account "
            f"{target.account}; nothing was changed"
        )
    target.partition = arn.split(":")[1] if arn.count(":") >= 5 else "aws"
    return arn


# --- the state bucket --------------------------------------------------------------------------


def _bucket_region(s3: Any, bucket: str, account: str) -> str | None:
    """The bucket's region ("" if S3 does not say), ``None`` when it does not exist.

    403 means someone else's bucket: ``ExpectedBucketOwner`` makes S3 refuse any other owner's.
    """
    from botocore.exceptions import ClientError

    try:
        response = s3.head_bucket(Bucket=bucket, ExpectedBucketOwner=account)
    except ClientError as error:
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status == 404 or error_code(error) in ("404", "NoSuchBucket"):
            return None
        if status == 403:
            raise BootstrapError(
                f"the bucket name {bucket} is owned by another account (HeadBucket with "
                f"ExpectedBucketOwner={account} answered 403 Forbidden; it would also if these "
                "credentials lacked s3:ListBucket): choose another guard:pipeline.state_bucket; "
                "nothing was changed"
            ) from None
        raise
    headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    return str(response.get("BucketRegion") or headers.get("x-amz-bucket-region") or "")


def inspect_bucket(target: Target, s3_key_id: str | None) -> Section:
    s3, bucket, owner = target.clients["s3"], target.bucket, target.account
    section = Section(f"state bucket s3://{bucket}")
    region = _bucket_region(s3, bucket, owner)
    if region is None:
        section.items = [Item(n, WOULD_CREATE, d) for n, d in bucket_pieces(target.region)]
        section.create = lambda: create_bucket(target)
        return section
    cli, mine = target.cli, {"Bucket": bucket, "ExpectedBucketOwner": owner}
    section.add(
        "bucket", check_bucket_region(region, target.region), f"in {region or 'its region'}"
    )
    versioning = s3.get_bucket_versioning(**mine)
    section.add("versioning", check_versioning(versioning.get("Status"), bucket, cli))
    encryption = _absent_if(
        "ServerSideEncryptionConfigurationNotFoundError", s3.get_bucket_encryption, **mine
    )
    configuration = (encryption or {}).get("ServerSideEncryptionConfiguration")
    section.add("default encryption", check_encryption(configuration, bucket, cli, s3_key_id))
    block = _absent_if("NoSuchPublicAccessBlockConfiguration", s3.get_public_access_block, **mine)
    section.add(
        "public access block",
        check_public_access_block(
            block["PublicAccessBlockConfiguration"] if block else None, bucket, cli
        ),
    )
    policy = _absent_if("NoSuchBucketPolicy", s3.get_bucket_policy, **mine)
    section.add(
        "bucket policy",
        check_bucket_policy(policy["Policy"] if policy else None, bucket, target.partition, cli),
    )
    lifecycle = _absent_if(
        "NoSuchLifecycleConfiguration", s3.get_bucket_lifecycle_configuration, **mine
    )
    section.add("lifecycle", check_lifecycle((lifecycle or {}).get("Rules"), bucket, cli))
    return section


def create_bucket(target: Target) -> None:
    """Create the bucket with every setting (us-east-1 takes no LocationConstraint)."""
    s3, bucket = target.clients["s3"], target.bucket
    create: dict[str, Any] = {"Bucket": bucket, "ObjectOwnership": "BucketOwnerEnforced"}
    if target.region != "us-east-1":
        create["CreateBucketConfiguration"] = {"LocationConstraint": target.region}
    s3.create_bucket(**create)
    mine = {"Bucket": bucket, "ExpectedBucketOwner": target.account}
    s3.get_waiter("bucket_exists").wait(**mine, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    s3.put_public_access_block(**mine, PublicAccessBlockConfiguration=public_access_block())
    s3.put_bucket_versioning(**mine, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(**mine, ServerSideEncryptionConfiguration=encryption_configuration())
    s3.put_bucket_policy(**mine, Policy=json.dumps(bucket_policy(bucket, target.partition)))
    s3.put_bucket_lifecycle_configuration(
        **mine, LifecycleConfiguration={"Rules": [lifecycle_rule()]}
    )


def stack_state_exists(target: Target) -> bool:
    """Whether the bucket holds the stack's state (``pulumi stack init`` already ran).

    Listed rather than fetched: HeadObject answers 403 instead of 404 to callers without
    s3:ListBucket, and Pulumi itself needs that permission anyway.
    """
    key = f".pulumi/stacks/{PROJECT}/{target.stack}.json"
    listing = target.clients["s3"].list_objects_v2(
        Bucket=target.bucket, Prefix=key, ExpectedBucketOwner=target.account
    )
    return any(item["Key"] in (key, f"{key}.gz") for item in listing.get("Contents", []))


# --- the secrets key ---------------------------------------------------------------------------


def list_aliases(kms: Any) -> dict[str, str | None]:
    """Every alias in the region and the key id it points at (``None``: no key yet)."""
    aliases: dict[str, str | None] = {}
    for page in kms.get_paginator("list_aliases").paginate():
        for alias in page.get("Aliases", []):
            aliases[alias["AliasName"]] = alias.get("TargetKeyId")
    return aliases


def inspect_key(target: Target, aliases: dict[str, str | None]) -> Section:
    kms, alias, cli = target.clients["kms"], target.alias, target.cli
    section = Section(f"secrets key {alias}")
    if alias not in aliases:
        section.items = [Item(n, WOULD_CREATE, d) for n, d in key_pieces(target.stack, alias)]
        section.create = lambda: create_key(target)
        return section
    key_id = aliases[alias]
    if key_id is None:
        section.add(
            "alias",
            Difference(
                "the alias points at no key",
                f"{cli.command('kms', 'delete-alias', '--alias-name', alias)}, then guard "
                "bootstrap --apply",
            ),
        )
        return section
    section.add("alias", None, f"key {key_id}")
    metadata = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    difference = check_key(metadata, alias, cli)
    section.add("key", difference)
    # GetKeyRotationStatus answers only for symmetric customer managed keys not being deleted.
    usable = (
        metadata.get("KeyManager") == "CUSTOMER"
        and metadata.get("KeySpec", "SYMMETRIC_DEFAULT") == "SYMMETRIC_DEFAULT"
        and metadata.get("KeyState") in ("Enabled", "Disabled")
    )
    if usable:
        rotation = kms.get_key_rotation_status(KeyId=key_id).get("KeyRotationEnabled", False)
        section.add("key rotation", check_rotation(bool(rotation), key_id, cli))
    return section


def create_key(target: Target) -> None:
    kms = target.clients["kms"]
    key = kms.create_key(
        Description=f"guard: Pulumi secrets of stack {target.stack}",
        KeyUsage="ENCRYPT_DECRYPT",
        KeySpec="SYMMETRIC_DEFAULT",
        Tags=[
            {"TagKey": "managed-by", "TagValue": "guard"},
            {"TagKey": "stack", "TagValue": target.stack},
        ],
    )["KeyMetadata"]
    kms.enable_key_rotation(KeyId=key["KeyId"])
    kms.create_alias(AliasName=target.alias, TargetKeyId=key["KeyId"])


# --- the whole run -----------------------------------------------------------------------------


def report(
    target: Target,
    sections: list[Section],
    initialised: bool,
    apply: bool,
    created: list[str],
    caller: str,
    out: TextIO,
) -> int:
    """Print every item, the next commands and the outcome; return the exit code."""
    mode = "--apply" if apply else "dry run"
    print(
        f"guard bootstrap: stack {target.stack}, account {target.account}, region {target.region} ({mode})",
        file=out,
    )
    print(f"caller: {caller}", file=out)
    for section in sections:
        print(f"\n{section.title}", file=out)
        for item in section.items:
            print(item.render(), file=out)
    items = [item for section in sections for item in section.items]
    differences = sum(item.state == DIFFERS for item in items)
    missing = any(item.state == WOULD_CREATE for item in items)
    if differences:
        heading = "next, once the differences above are fixed (guard never changes them):"
    elif missing:
        heading = "next, once guard bootstrap --apply has created the missing pieces:"
    else:
        heading = "next:"
    print(f"\n{heading}", file=out)
    for command in next_commands(
        target.stack, target.bucket, target.alias, target.region, initialised
    ):
        print(f"  {command}", file=out)
    print(file=out)
    if differences:
        print(
            f"not ready: {differences} setting{'s' if differences != 1 else ''} of existing "
            "resources differ; guard bootstrap never changes an existing resource",
            file=out,
        )
    if apply:
        print(
            f"created: {', '.join(created)}" if created else "nothing to create: everything exists",
            file=out,
        )
    elif missing:
        print("nothing was changed; run again with --apply to create the missing pieces", file=out)
    else:
        print("nothing was changed; nothing is missing", file=out)
    return EXIT_DIFFERS if differences else EXIT_READY


def run_bootstrap(
    *,
    stack: str,
    account_id: str,
    region: str,
    pipeline: PipelineConfig,
    apply: bool,
    endpoint_url: str | None,
    out: TextIO,
    err: TextIO,
) -> int:
    """Inspect (and with ``apply`` create) the bucket and the key; print the report."""
    from botocore.exceptions import BotoCoreError, ClientError

    target = Target(stack, account_id, region, pipeline, endpoint_url)
    if not KMS_ALIAS_RE.match(target.alias):
        print(
            f"guard bootstrap: {target.alias} (from the stack name) is not a valid KMS alias "
            "name (letters, digits, '/', '_', '-'); set guard:pipeline.secrets_key_alias; "
            "nothing was changed",
            file=err,
        )
        return EXIT_ERROR
    created: list[str] = []
    creating = ""
    try:
        target.clients = make_clients(region, endpoint_url)
        caller = check_identity(target)
        aliases = list_aliases(target.clients["kms"])
        sections = [
            inspect_bucket(target, aliases.get("alias/aws/s3")),
            inspect_key(target, aliases),
        ]
        bucket_existed = sections[0].create is None
        initialised = bucket_existed and stack_state_exists(target)
        if apply:
            for section in sections:
                if section.create is not None:
                    creating = section.title
                    section.create()
                    created.append(section.title)
                    creating = ""
                    for item in section.items:
                        item.state = CREATED
    except BootstrapError as error:
        print(f"guard bootstrap: {error}", file=err)
        return EXIT_ERROR
    except (BotoCoreError, ClientError) as error:
        done = "nothing was changed"
        if creating:
            done = f"stopped while creating the {creating}" + (
                f" (created before: {', '.join(created)})" if created else ""
            )
        print(f"guard bootstrap: {describe_aws_error(error)}; {done}", file=err)
        return EXIT_ERROR

    return report(target, sections, initialised, apply, created, caller, out)
