"""What ``guard bootstrap`` wants of the state bucket and the secrets key, as plain data.

The desired settings are built here once and used twice: :mod:`guard.bootstrap` sends them to
AWS when it creates the bucket, and the ``check_*`` functions compare an existing bucket's or
key's settings (as the AWS APIs return them) with them. A check returns ``None`` when the
setting is as required, otherwise a :class:`Difference`: what differs, and the exact command that
fixes it. The fix always adds to what is there (a bucket policy or lifecycle configuration is
replaced as a whole by S3, so the command carries the existing statements or rules too); guard
itself never changes an existing resource. Errors from boto3 are turned into one line here too
(:func:`describe_aws_error`).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from guard.iam_eval import as_list, statements_in

NONCURRENT_DAYS = 90
ABORT_MULTIPART_DAYS = 7
LIFECYCLE_RULE_ID = "guard-state-history"
TLS_STATEMENT_SID = "DenyInsecureTransport"
S3_MANAGED_KEY_ALIAS = "alias/aws/s3"
ACCESS_DENIED_CODES = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "Forbidden", "403"}
)
CREDENTIAL_CODES = frozenset(
    {"InvalidClientTokenId", "ExpiredToken", "ExpiredTokenException", "SignatureDoesNotMatch"}
)
PUBLIC_ACCESS_BLOCK_KEYS = (
    "BlockPublicAcls",
    "IgnorePublicAcls",
    "BlockPublicPolicy",
    "RestrictPublicBuckets",
)


@dataclass(frozen=True)
class Difference:
    """One setting of an existing resource that is not as required, and its fix."""

    what: str
    fix: str


@dataclass(frozen=True)
class AwsCli:
    """Builds ``aws`` commands for the fixes, for the stack's region (and endpoint, if given)."""

    region: str
    endpoint_url: str | None = None

    def command(self, service: str, operation: str, *args: str) -> str:
        words = ["aws", service, operation, *args, "--region", self.region]
        if self.endpoint_url:
            words += ["--endpoint-url", self.endpoint_url]
        return shlex.join(words)


def _compact(document: Mapping[str, Any]) -> str:
    return json.dumps(document, separators=(",", ":"))


# --- desired settings --------------------------------------------------------------------------


def public_access_block() -> dict[str, bool]:
    return dict.fromkeys(PUBLIC_ACCESS_BLOCK_KEYS, True)


def encryption_configuration() -> dict[str, Any]:
    """SSE-KMS with the AWS managed key aws/s3 (no KMSMasterKeyID names it) and a bucket key."""
    return {
        "Rules": [
            {
                "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"},
                "BucketKeyEnabled": True,
            }
        ]
    }


def lifecycle_rule() -> dict[str, Any]:
    return {
        "ID": LIFECYCLE_RULE_ID,
        "Status": "Enabled",
        "Filter": {},
        "NoncurrentVersionExpiration": {"NoncurrentDays": NONCURRENT_DAYS},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": ABORT_MULTIPART_DAYS},
    }


def tls_statement(bucket: str, partition: str = "aws") -> dict[str, Any]:
    arn = f"arn:{partition}:s3:::{bucket}"
    return {
        "Sid": TLS_STATEMENT_SID,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [arn, f"{arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def bucket_policy(
    bucket: str, partition: str = "aws", existing: Sequence[Mapping[str, Any]] = ()
) -> dict[str, Any]:
    """The bucket policy: ``existing`` statements (kept as they are) plus the TLS-only deny."""
    return {
        "Version": "2012-10-17",
        "Statement": [*existing, tls_statement(bucket, partition)],
    }


def bucket_pieces(region: str) -> list[tuple[str, str]]:
    """What creating the bucket sets up, as (item, description) for the report."""
    return [
        ("bucket", f"in {region}, object ownership BucketOwnerEnforced"),
        ("versioning", "Enabled"),
        ("default encryption", "SSE-KMS, AWS managed key aws/s3, bucket key"),
        ("public access block", "all four settings on"),
        ("bucket policy", "deny s3:* when aws:SecureTransport is false"),
        (
            "lifecycle",
            f"noncurrent versions {NONCURRENT_DAYS} days, "
            f"incomplete uploads {ABORT_MULTIPART_DAYS} days",
        ),
    ]


def key_pieces(stack: str, alias: str) -> list[tuple[str, str]]:
    return [
        (
            "key",
            f"symmetric ENCRYPT_DECRYPT, customer managed, tags managed-by=guard stack={stack}",
        ),
        ("key rotation", "enabled"),
        ("alias", alias),
    ]


def next_commands(stack: str, bucket: str, alias: str, region: str, initialised: bool) -> list[str]:
    """The Pulumi commands after the bootstrap; ``initialised``: the stack's state exists."""
    secrets = f'"awskms://{alias}?region={region}"'
    return [
        f"pulumi login s3://{bucket}",
        f"pulumi stack select {stack}"
        if initialised
        else f"pulumi stack init {stack} --secrets-provider {secrets}",
        f"pulumi up --stack {stack} --policy-pack policies   # as an administrator (for example "
        "through IAM Identity Center), not as the pipeline role: the pipeline's roles are "
        "created by this update",
    ]


# --- checks of an existing bucket --------------------------------------------------------------


def check_versioning(status: str | None, bucket: str, cli: AwsCli) -> Difference | None:
    if status == "Enabled":
        return None
    return Difference(
        f"versioning is {status or 'off (never enabled)'}",
        cli.command(
            "s3api",
            "put-bucket-versioning",
            "--bucket",
            bucket,
            "--versioning-configuration",
            "Status=Enabled",
        ),
    )


def _is_s3_managed_key(key: str, s3_key_id: str | None) -> bool:
    if key == S3_MANAGED_KEY_ALIAS or key.endswith(f":{S3_MANAGED_KEY_ALIAS}"):
        return True
    return s3_key_id is not None and key.rsplit("/", 1)[-1] == s3_key_id


def check_encryption(
    configuration: Mapping[str, Any] | None, bucket: str, cli: AwsCli, s3_key_id: str | None
) -> Difference | None:
    """Default encryption must be SSE-KMS with aws/s3 and an S3 Bucket Key.

    ``s3_key_id`` is the key id behind ``alias/aws/s3`` in this region, when it exists, so a
    rule naming that key by id or ARN counts as aws/s3 too.
    """
    rules = list((configuration or {}).get("Rules") or [])
    problems: list[str] = []
    if not rules:
        problems.append("no default encryption")
    else:
        rule = rules[0]
        default = rule.get("ApplyServerSideEncryptionByDefault") or {}
        algorithm = default.get("SSEAlgorithm")
        key = default.get("KMSMasterKeyID")
        if algorithm == "AES256":
            problems.append("default encryption is SSE-S3 (AES256), not SSE-KMS with aws/s3")
        elif algorithm != "aws:kms":
            problems.append(f"default encryption is {algorithm}, not SSE-KMS (aws:kms)")
        elif key and not _is_s3_managed_key(str(key), s3_key_id):
            problems.append(
                f"default encryption uses the key {key}, not the AWS managed key aws/s3 "
                "(the pipeline roles are granted only what aws/s3 allows through S3)"
            )
        if not rule.get("BucketKeyEnabled"):
            problems.append("S3 Bucket Key is off")
    if not problems:
        return None
    return Difference(
        "; ".join(problems),
        cli.command(
            "s3api",
            "put-bucket-encryption",
            "--bucket",
            bucket,
            "--server-side-encryption-configuration",
            _compact(encryption_configuration()),
        ),
    )


def check_public_access_block(
    configuration: Mapping[str, Any] | None, bucket: str, cli: AwsCli
) -> Difference | None:
    if configuration is None:
        what = "no public access block"
    else:
        off = [key for key in PUBLIC_ACCESS_BLOCK_KEYS if not configuration.get(key)]
        if not off:
            return None
        what = f"{', '.join(off)} {'is' if len(off) == 1 else 'are'} off"
    settings = ",".join(f"{key}=true" for key in PUBLIC_ACCESS_BLOCK_KEYS)
    return Difference(
        what,
        cli.command(
            "s3api",
            "put-public-access-block",
            "--bucket",
            bucket,
            "--public-access-block-configuration",
            settings,
        ),
    )


def _covers(resources: set[str], arn: str, partition: str) -> bool:
    return bool(resources & {arn, "*", f"arn:{partition}:s3:::*"})


def denies_insecure_transport(statement: Mapping[str, Any], bucket: str, partition: str) -> bool:
    """Whether ``statement`` denies every S3 action on the bucket and its objects without TLS."""
    if statement.get("Effect") != "Deny" or {"NotAction", "NotResource", "NotPrincipal"} & set(
        statement
    ):
        return False
    principal = statement.get("Principal")
    if isinstance(principal, Mapping):
        principal = as_list(principal.get("AWS")) if set(principal) == {"AWS"} else None
    if principal not in ("*", ["*"]):
        return False
    if not {str(a).lower() for a in as_list(statement.get("Action"))} & {"s3:*", "*"}:
        return False
    resources = {str(r) for r in as_list(statement.get("Resource"))}
    arn = f"arn:{partition}:s3:::{bucket}"
    if not (_covers(resources, arn, partition) and _covers(resources, f"{arn}/*", partition)):
        return False
    # Any other condition would narrow the deny; only Bool aws:SecureTransport false counts.
    condition = statement.get("Condition") or {}
    if set(condition) != {"Bool"} or not isinstance(condition["Bool"], Mapping):
        return False
    checks = condition["Bool"]
    if [k.lower() for k in checks] != ["aws:securetransport"]:
        return False
    values = as_list(next(iter(checks.values())))
    return bool(values) and all(str(v).lower() == "false" for v in values)


def check_bucket_policy(
    policy_text: str | None, bucket: str, partition: str, cli: AwsCli
) -> Difference | None:
    """The policy must hold a TLS-only deny; other statements are fine and kept in the fix."""
    statements: list[Mapping[str, Any]] = []
    if policy_text is None:
        what = "no bucket policy (requests without TLS are not denied)"
    else:
        try:
            document = json.loads(policy_text)
        except json.JSONDecodeError:
            document = {}
        statements = statements_in(document)
        if any(denies_insecure_transport(s, bucket, partition) for s in statements):
            return None
        what = "the bucket policy has no statement denying s3:* when aws:SecureTransport is false"
    return Difference(
        what,
        cli.command(
            "s3api",
            "put-bucket-policy",
            "--bucket",
            bucket,
            "--policy",
            _compact(bucket_policy(bucket, partition, statements)),
        ),
    )


def _whole_bucket(rule: Mapping[str, Any]) -> bool:
    if "Filter" in rule:
        return rule["Filter"] in ({}, {"Prefix": ""}) and not rule.get("Prefix")
    return not rule.get("Prefix")


def keeps_state_history(rule: Mapping[str, Any]) -> bool:
    """An enabled rule for the whole bucket that expires noncurrent versions."""
    return (
        rule.get("Status") == "Enabled"
        and _whole_bucket(rule)
        and bool(rule.get("NoncurrentVersionExpiration"))
    )


def check_lifecycle(
    rules: Sequence[Mapping[str, Any]] | None, bucket: str, cli: AwsCli
) -> Difference | None:
    if rules and any(keeps_state_history(rule) for rule in rules):
        return None
    if not rules:
        what = "no lifecycle configuration (noncurrent state versions are kept forever)"
    else:
        what = (
            "no enabled lifecycle rule for the whole bucket expires noncurrent versions "
            "(NoncurrentVersionExpiration)"
        )
    return Difference(
        what,
        cli.command(
            "s3api",
            "put-bucket-lifecycle-configuration",
            "--bucket",
            bucket,
            "--lifecycle-configuration",
            _compact({"Rules": [*(rules or []), lifecycle_rule()]}),
        ),
    )


def check_bucket_region(actual: str | None, region: str) -> Difference | None:
    # HeadBucket reports us-east-1 buckets as us-east-1 (GetBucketLocation would say None).
    if not actual or actual == region:
        return None
    return Difference(
        f"the bucket is in {actual}, the stack's region is {region}",
        "none in place (a bucket cannot move): set guard:pipeline.state_bucket to a new bucket "
        f"name and run guard bootstrap --apply to create it in {region}",
    )


# --- checks of an existing key -----------------------------------------------------------------


def check_key(metadata: Mapping[str, Any], alias: str, cli: AwsCli) -> Difference | None:
    """The key behind the alias: enabled, symmetric ENCRYPT_DECRYPT, customer managed."""
    key_id = str(metadata["KeyId"])
    wrong: list[str] = []
    if metadata.get("KeyManager") != "CUSTOMER":
        wrong.append(f"it is {str(metadata.get('KeyManager', 'an unknown')).lower()} managed")
    if metadata.get("KeySpec", "SYMMETRIC_DEFAULT") != "SYMMETRIC_DEFAULT":
        wrong.append(f"its key spec is {metadata.get('KeySpec')}")
    # AWS always sends KeySpec and KeyUsage; absent (moto, for a key created without them) they
    # are the defaults CreateKey applies.
    if metadata.get("KeyUsage", "ENCRYPT_DECRYPT") != "ENCRYPT_DECRYPT":
        wrong.append(f"its usage is {metadata.get('KeyUsage')}")
    if wrong:
        return Difference(
            f"the key {key_id} is not a symmetric ENCRYPT_DECRYPT customer managed key "
            f"({'; '.join(wrong)})",
            f"{cli.command('kms', 'delete-alias', '--alias-name', alias)}, then guard bootstrap "
            "--apply creates a key and the alias (or set guard:pipeline.secrets_key_alias to "
            "another alias)",
        )
    state = metadata.get("KeyState")
    if state == "Enabled":
        return None
    enable = cli.command("kms", "enable-key", "--key-id", key_id)
    if state == "Disabled":
        return Difference(f"the key {key_id} is disabled", enable)
    if state == "PendingDeletion":
        cancel = cli.command("kms", "cancel-key-deletion", "--key-id", key_id)
        return Difference(
            f"the key {key_id} is pending deletion (since {metadata.get('DeletionDate', '?')})",
            f"{cancel} && {enable}",
        )
    return Difference(
        f"the key {key_id} is {state}, not Enabled",
        f"wait until it is Enabled ({cli.command('kms', 'describe-key', '--key-id', key_id)})",
    )


def check_rotation(enabled: bool, key_id: str, cli: AwsCli) -> Difference | None:
    if enabled:
        return None
    return Difference(
        "automatic key rotation is off",
        cli.command("kms", "enable-key-rotation", "--key-id", key_id),
    )


# --- errors as one line ------------------------------------------------------------------------


def error_code(error: Exception) -> str:
    """The AWS error code of a botocore ``ClientError`` ("" for anything else)."""
    return str(getattr(error, "response", {}).get("Error", {}).get("Code", ""))


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def describe_aws_error(error: Exception) -> str:
    """One line for an error raised by boto3/botocore (never a traceback)."""
    from botocore.exceptions import ClientError, ConnectionError, NoCredentialsError

    if isinstance(error, NoCredentialsError):
        return (
            "no AWS credentials found (environment, shared config or SSO profile, container or "
            "instance role); sign in first, e.g. aws sso login --profile NAME and export "
            "AWS_PROFILE=NAME"
        )
    if isinstance(error, ConnectionError):
        return f"cannot reach AWS: {_one_line(str(error))}"
    if isinstance(error, ClientError):
        code = error_code(error) or "error"
        message = _one_line(error.response.get("Error", {}).get("Message", "")) or code
        operation = getattr(error, "operation_name", "the call")
        if code in ACCESS_DENIED_CODES:
            return f"access denied: {operation} ({code}): {message}"
        if code in CREDENTIAL_CODES:
            return f"the credentials were refused: {operation} ({code}): {message}"
        return f"{operation} failed ({code}): {message}"
    return _one_line(str(error)) or type(error).__name__
