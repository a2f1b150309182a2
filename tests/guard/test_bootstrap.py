"""``guard bootstrap`` against a real moto server on 127.0.0.1, through the CLI entry point.

One moto server per session, reset before each test. The command gets the server through
``--endpoint-url``; the tests' own boto3 clients reach it through ``AWS_ENDPOINT_URL``, with
dummy credentials and no config files, so nothing here can touch a real AWS account.

moto quirks these tests work around (each named where it matters): moto evaluates a bucket
policy's Deny statements without their conditions for object requests, so objects are written
before the TLS-only policy is in place; moto authorises HeadBucket as ``s3:HeadBucket`` (AWS:
``s3:ListBucket``); moto's KMS answers an IAM denial with XML a JSON client cannot parse, so the
access-denied test lets the user list aliases and denies an S3 call instead.
"""

from __future__ import annotations

import json
import os
import shlex
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from guard.cli import main
from tests.conftest import moto_api

STACKS = Path(__file__).parent / "bootstrap_stacks"
STACK_FILE = STACKS / "Pulumi.bootstrap.yaml"
STACK = "bootstrap"
BUCKET = "guard-bootstrap-test-state"
ALIAS = "alias/guard-bootstrap-secrets"
REGION = "ap-northeast-1"
MOTO_ACCOUNT = "123456789012"


@pytest.fixture
def aws(moto_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh moto account, dummy credentials, no config files, no instance metadata."""
    moto_api(moto_url, "/moto-api/reset")
    for key in list(os.environ):
        if key.startswith("AWS_") or key.startswith("MOTO_"):
            monkeypatch.delenv(key)
    for key, value in {
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    return moto_url


def bootstrap(url: str, *extra: str, stack: str = STACK, config: Path = STACK_FILE) -> list[str]:
    return [
        "bootstrap",
        "--stack",
        stack,
        "--config-file",
        str(config),
        "--endpoint-url",
        url,
        *extra,
    ]


def run(capsys: pytest.CaptureFixture[str], argv: list[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def s3(region: str = REGION) -> Any:
    return boto3.client("s3", region_name=region)


def kms(region: str = REGION) -> Any:
    return boto3.client("kms", region_name=region)


def bucket_exists(name: str = BUCKET) -> bool:
    try:
        s3().head_bucket(Bucket=name)
    except ClientError:
        return False
    return True


def aliases(region: str = REGION) -> dict[str, str | None]:
    pages = kms(region).get_paginator("list_aliases").paginate()
    return {a["AliasName"]: a.get("TargetKeyId") for p in pages for a in p["Aliases"]}


def key_count(region: str = REGION) -> int:
    return sum(len(p["Keys"]) for p in kms(region).get_paginator("list_keys").paginate())


def absent_or(call: Any, key: str, **kwargs: Any) -> Any:
    try:
        return call(**kwargs)[key]
    except ClientError as error:
        return error.response["Error"]["Code"]


def bucket_settings(name: str = BUCKET, region: str = REGION) -> dict[str, Any]:
    client = s3(region)
    policy = absent_or(client.get_bucket_policy, "Policy", Bucket=name)
    return {
        "location": client.get_bucket_location(Bucket=name).get("LocationConstraint"),
        "versioning": client.get_bucket_versioning(Bucket=name).get("Status"),
        "encryption": absent_or(
            client.get_bucket_encryption, "ServerSideEncryptionConfiguration", Bucket=name
        ),
        "public_access_block": absent_or(
            client.get_public_access_block, "PublicAccessBlockConfiguration", Bucket=name
        ),
        "policy": json.loads(policy) if policy.startswith("{") else policy,
        "lifecycle": absent_or(client.get_bucket_lifecycle_configuration, "Rules", Bucket=name),
        "ownership": absent_or(
            client.get_bucket_ownership_controls, "OwnershipControls", Bucket=name
        ),
    }


TLS_ONLY = {
    "Sid": "DenyInsecureTransport",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}


def line_of(out: str, name: str) -> str:
    return next(line for line in out.splitlines() if line.strip().startswith(name))


def fixes(out: str) -> list[str]:
    return [line.split(" — fix: ", 1)[1] for line in out.splitlines() if " — fix: " in line]


def apply_fix(command: str) -> None:
    """Run an ``aws s3api put-*`` fix the way the AWS CLI would, through boto3."""
    words = shlex.split(command)
    assert words[:2] == ["aws", "s3api"], command
    options = dict(zip(words[3::2], words[4::2], strict=True))
    client = boto3.client(
        "s3", region_name=options.pop("--region"), endpoint_url=options.pop("--endpoint-url")
    )
    params: dict[str, Any] = {}
    for flag, value in options.items():
        name = "".join(part.title() for part in flag.removeprefix("--").split("-"))
        if name in ("Bucket", "Policy"):
            params[name] = value
        elif value.startswith("{"):
            params[name] = json.loads(value)
        else:  # the CLI's shorthand, Key=value,Key=value
            pairs = (item.split("=", 1) for item in value.split(","))
            params[name] = {k: {"true": True, "false": False}.get(v, v) for k, v in pairs}
    getattr(client, words[2].replace("-", "_"))(**params)


# --- dry run and --apply -------------------------------------------------------------------------


def test_dry_run_on_an_empty_account_lists_what_it_would_create_and_creates_nothing(
    aws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    keys_before = key_count()
    code, out, err = run(capsys, bootstrap(aws))
    assert code == 0, err
    for name in ("bucket", "versioning", "default encryption", "public access block"):
        assert "would create" in line_of(out, name)
    for name in ("bucket policy", "lifecycle", "key ", "key rotation", "alias"):
        assert "would create" in line_of(out, name)
    assert "pulumi login s3://guard-bootstrap-test-state" in out
    assert f'pulumi stack init {STACK} --secrets-provider "awskms://{ALIAS}?region={REGION}"' in out
    assert f"pulumi up --stack {STACK} --policy-pack policies" in out
    assert "as an administrator (for example through IAM Identity Center)" in out
    assert out.rstrip().endswith(
        "nothing was changed; run again with --apply to create the missing pieces"
    )
    assert not bucket_exists()
    assert ALIAS not in aliases()
    assert key_count() == keys_before


def test_apply_creates_bucket_and_key_as_required_and_a_second_apply_changes_nothing(
    aws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    keys_before = key_count()
    code, out, err = run(capsys, bootstrap(aws, "--apply"))
    assert code == 0, err
    assert "would create" not in out and "created" in line_of(out, "bucket")
    settings = bucket_settings()
    assert settings == {
        "location": REGION,
        "versioning": "Enabled",
        "encryption": {
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"},
                    "BucketKeyEnabled": True,
                }
            ]
        },
        "public_access_block": {
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
        "policy": {"Version": "2012-10-17", "Statement": [TLS_ONLY]},
        "lifecycle": [
            {
                "ID": "guard-state-history",
                "Filter": {},
                "Status": "Enabled",
                "NoncurrentVersionExpiration": {"NoncurrentDays": 90},
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
            }
        ],
        "ownership": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
    }
    key_id = aliases()[ALIAS]
    assert key_id is not None and key_count() == keys_before + 1
    key = kms().describe_key(KeyId=key_id)["KeyMetadata"]
    assert (key["KeyState"], key["KeyManager"], key["KeySpec"], key["KeyUsage"]) == (
        "Enabled",
        "CUSTOMER",
        "SYMMETRIC_DEFAULT",
        "ENCRYPT_DECRYPT",
    )
    assert key["Description"] == f"guard: Pulumi secrets of stack {STACK}"
    assert kms().get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is True
    tags = {t["TagKey"]: t["TagValue"] for t in kms().list_resource_tags(KeyId=key_id)["Tags"]}
    assert tags == {"managed-by": "guard", "stack": STACK}

    code, again, err = run(capsys, bootstrap(aws, "--apply"))
    assert code == 0, err
    assert again.count("exists, as required") == 9
    assert "created (" not in again and "would create" not in again
    assert "nothing to create" in again
    assert bucket_settings() == settings
    assert key_count() == keys_before + 1 and aliases()[ALIAS] == key_id


def test_us_east_1_bucket_is_created_without_a_location_constraint(
    aws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = STACKS / "Pulumi.us-east-1.yaml"
    code, out, err = run(capsys, bootstrap(aws, "--apply", stack="use1", config=config))
    assert code == 0, err
    assert bucket_settings("guard-bootstrap-test-state-use1", "us-east-1")["location"] is None
    assert "alias/pulumi/use1-secrets" in aliases("us-east-1")
    assert '"awskms://alias/pulumi/use1-secrets?region=us-east-1"' in out


# --- existing resources are compared, never changed ----------------------------------------------


def test_existing_bucket_with_versioning_off_is_reported_with_its_fix_and_left_alone(
    aws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    s3().create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    code, out, err = run(capsys, bootstrap(aws, "--apply"))
    assert code == 1, err
    versioning = line_of(out, "versioning")
    assert "differs: versioning is off" in versioning
    assert (
        f"aws s3api put-bucket-versioning --bucket {BUCKET} "
        f"--versioning-configuration Status=Enabled --region {REGION}"
    ) in versioning
    assert "not ready" in out
    settings = bucket_settings()
    assert settings["versioning"] is None
    assert settings["policy"] == "NoSuchBucketPolicy"
    assert settings["lifecycle"] == "NoSuchLifecycleConfiguration"


def test_each_difference_comes_with_a_fix_that_keeps_what_is_there(
    aws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    client = s3()
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    customer_key = kms().create_key(Description="someone else's key")["KeyMetadata"]["Arn"]
    client.put_bucket_encryption(
        Bucket=BUCKET,
        ServerSideEncryptionConfiguration={
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {
                        "SSEAlgorithm": "aws:kms",
                        "KMSMasterKeyID": customer_key,
                    },
                    "BucketKeyEnabled": True,
                }
            ]
        },
    )
    reader = {
        "Sid": "AuditRead",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{MOTO_ACCOUNT}:root"},
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{BUCKET}/*",
    }
    client.put_bucket_policy(
        Bucket=BUCKET, Policy=json.dumps({"Version": "2012-10-17", "Statement": [reader]})
    )
    logs_rule = {
        "ID": "old-logs",
        "Filter": {"Prefix": "logs/"},
        "Status": "Enabled",
        "Expiration": {"Days": 30},
    }
    client.put_bucket_lifecycle_configuration(
        Bucket=BUCKET, LifecycleConfiguration={"Rules": [logs_rule]}
    )
    keys_before = key_count()

    code, out, err = run(capsys, bootstrap(aws))
    assert code == 1, err
    assert "not the AWS managed key aws/s3" in line_of(out, "default encryption")
    assert "no statement denying s3:*" in line_of(out, "bucket policy")
    assert "differs" in line_of(out, "lifecycle")
    assert "differs" in line_of(out, "public access block")
    assert len(fixes(out)) == 5
    assert key_count() == keys_before  # a dry run: the missing key is only listed

    for command in fixes(out):
        apply_fix(command)
    code, out, err = run(capsys, bootstrap(aws))
    assert code == 0, err
    assert out.count("exists, as required") == 6
    settings = bucket_settings()
    assert settings["policy"]["Statement"] == [reader, TLS_ONLY]
    assert [rule["ID"] for rule in settings["lifecycle"]] == ["old-logs", "guard-state-history"]


def test_existing_key_without_rotation_is_reported_and_left_alone(
    aws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    key_id = kms().create_key(Description="made by hand")["KeyMetadata"]["KeyId"]
    kms().create_alias(AliasName=ALIAS, TargetKeyId=key_id)
    code, out, err = run(capsys, bootstrap(aws, "--apply"))
    assert code == 1, err
    rotation = line_of(out, "key rotation")
    assert "differs: automatic key rotation is off" in rotation
    assert f"aws kms enable-key-rotation --key-id {key_id} --region {REGION}" in rotation
    assert "exists, as required" in line_of(out, "key ")
    assert kms().get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is False
    assert aliases()[ALIAS] == key_id
    assert bucket_exists()  # what was missing was still created


def test_an_initialised_stack_is_selected_not_initialised_again(
    aws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, bootstrap(aws, "--apply"))[0] == 0
    # moto applies the TLS-only deny to plain-HTTP object requests (it ignores the condition's
    # outcome either way), so the state object is written while the policy is briefly away.
    policy = s3().get_bucket_policy(Bucket=BUCKET)["Policy"]
    s3().delete_bucket_policy(Bucket=BUCKET)
    s3().put_object(Bucket=BUCKET, Key=f".pulumi/stacks/guard/{STACK}.json", Body=b"{}")
    s3().put_bucket_policy(Bucket=BUCKET, Policy=policy)

    code, out, err = run(capsys, bootstrap(aws))
    assert code == 0, err
    assert f"pulumi stack select {STACK}" in out
    assert "pulumi stack init" not in out
    assert "pulumi login s3://guard-bootstrap-test-state" in out


# --- errors: one line on stderr, exit 2, nothing changed ------------------------------------------


def assert_one_line(err: str, *needles: str) -> None:
    assert err.strip() and "\n" not in err.strip(), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err


def test_credentials_of_another_account_stop_before_anything(
    aws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = STACKS / "Pulumi.wrong-account.yaml"
    code, out, err = run(capsys, bootstrap(aws, "--apply", config=config))
    assert code == 2
    assert out == ""
    assert_one_line(
        err,
        "credentials are for account 123456789012, the stack is for account 111111111111",
        "nothing was changed",
    )
    assert not bucket_exists()
    assert ALIAS not in aliases()


def test_no_credentials_is_one_line(
    aws: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    started = time.monotonic()
    code, out, err = run(capsys, bootstrap(aws, "--apply"))
    assert time.monotonic() - started < 10
    assert code == 2 and out == ""
    assert_one_line(err, "no AWS credentials", "nothing was changed")


@pytest.fixture
def denied_user(aws: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The bucket exists; moto now enforces IAM, and the caller may not read its versioning."""
    moto_api(aws, "/moto-api/reset-auth", b"4")  # the next 4 requests are unauthenticated
    try:
        s3().create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        iam = boto3.client("iam", region_name="us-east-1")
        iam.create_user(UserName="bootstrapper")
        allowed = [
            "sts:GetCallerIdentity",
            "kms:ListAliases",
            "s3:ListBucket",
            "s3:HeadBucket",  # moto's name for HeadBucket; AWS checks s3:ListBucket
        ]
        iam.put_user_policy(
            UserName="bootstrapper",
            PolicyName="no-versioning",
            PolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": allowed, "Resource": "*"}],
                }
            ),
        )
        key = iam.create_access_key(UserName="bootstrapper")["AccessKey"]
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
        yield aws
    finally:
        moto_api(aws, "/moto-api/reset-auth", b"inf")


def test_access_denied_is_one_line(denied_user: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, bootstrap(denied_user, "--apply"))
    assert code == 2 and out == ""
    assert_one_line(err, "access denied", "GetBucketVersioning", "nothing was changed")


def test_a_bucket_name_owned_by_another_account_stops(
    aws: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    credentials = boto3.client("sts", region_name=REGION).assume_role(
        RoleArn="arn:aws:iam::222222222222:role/other", RoleSessionName="other-account"
    )["Credentials"]
    other = boto3.client(
        "s3",
        region_name=REGION,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    other.create_bucket(
        Bucket=BUCKET,
        CreateBucketConfiguration={"LocationConstraint": REGION},  # type: ignore[typeddict-item]
    )
    # moto lets every account read every bucket unless told to answer 403 as S3 does.
    monkeypatch.setenv("MOTO_S3_ALLOW_CROSSACCOUNT_ACCESS", "false")
    code, out, err = run(capsys, bootstrap(aws, "--apply"))
    assert code == 2 and out == ""
    assert_one_line(err, f"the bucket name {BUCKET} is owned by another account")
    assert ALIAS not in aliases()


def test_an_unreachable_endpoint_fails_fast(aws: str, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    started = time.monotonic()
    code, out, err = run(capsys, bootstrap(closed, "--apply"))
    elapsed = time.monotonic() - started
    assert code == 2 and out == ""
    assert_one_line(err, "cannot reach AWS", closed)
    assert elapsed < 5, f"took {elapsed:.1f}s"


def test_a_stack_without_a_pipeline_section_is_a_config_error(
    aws: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = STACKS / "Pulumi.no-pipeline.yaml"
    code, out, err = run(capsys, bootstrap(aws, config=config))
    assert code == 2 and out == ""
    assert_one_line(err, "guard:pipeline is not set; bootstrap needs guard:pipeline.state_bucket")


def test_help_documents_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["bootstrap", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    assert "--apply" in text and "--endpoint-url" in text
    for code in ("0  ready", "1  an existing bucket or key differs", "2  usage"):
        assert code in text
    assert "``" not in text
