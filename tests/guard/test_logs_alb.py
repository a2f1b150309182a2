"""The ALB access log bucket's plain data: who ELB writes as, and the bucket policy, evaluated.

The policy is judged with guard's IAM evaluator (guard.iam_eval) the way S3 decides a request:
the statements whose Principal names the caller, beside the caller's own IAM policy. Within the
bucket's account an Allow in either permits; across accounts both must allow; an explicit Deny
in either refuses (IAM User Guide, "Policy evaluation logic", cross-account requests).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from guard.iam_eval import Decision, Request, evaluate
from guard.logs_alb import (
    ELB_ACCOUNT_IDS,
    ELB_LOG_DELIVERY_SERVICE,
    alb_bucket_policy,
    alb_lifecycle_rules,
    legacy_elb_account,
    log_writer_principal,
)
from guard.logs_layout import alb_log_prefix

ACCOUNT = "111111111111"
OTHER_ACCOUNT = "222222222222"
REGION = "ap-northeast-1"
BUCKET = "example-prod-alb-logs"
BUCKET_ARN = f"arn:aws:s3:::{BUCKET}"
READER = f"arn:aws:iam::{ACCOUNT}:role/siem-es-loader"
ADMIN = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
}


# --- who writes ------------------------------------------------------------------------------


@pytest.mark.parametrize("region", ["ap-northeast-1", "us-east-1", "ap-south-2", "eu-central-2"])
def test_elb_writes_as_the_log_delivery_service_in_every_region(region: str) -> None:
    # AWS now recommends the service principal everywhere; the legacy account policy is only
    # "still supported" in the Regions that had it (ELB User Guide, enable-access-logging).
    assert log_writer_principal(region) == {
        "Service": "logdelivery.elasticloadbalancing.amazonaws.com"
    }
    assert ELB_LOG_DELIVERY_SERVICE == "logdelivery.elasticloadbalancing.amazonaws.com"


@pytest.mark.parametrize(
    ("region", "principal"),
    [
        ("ap-northeast-1", "arn:aws:iam::582318560864:root"),
        ("us-east-1", "arn:aws:iam::127311923021:root"),
        ("eu-west-1", "arn:aws:iam::156460612806:root"),
        ("us-gov-west-1", "arn:aws-us-gov:iam::048591011584:root"),
    ],
)
def test_the_legacy_principal_of_a_region_before_august_2022_is_its_elb_account(
    region: str, principal: str
) -> None:
    assert log_writer_principal(region, legacy=True) == {"AWS": principal}


@pytest.mark.parametrize("region", ["ap-south-2", "ap-southeast-4", "eu-south-2", "me-central-1"])
def test_regions_from_august_2022_never_had_an_elb_account(region: str) -> None:
    # Hyderabad, Melbourne, Spain, UAE: the 2023 guide's "as of August 2022 or later" list.
    assert region not in ELB_ACCOUNT_IDS
    with pytest.raises(ValueError, match="take only the log delivery service principal"):
        log_writer_principal(region, legacy=True)
    with pytest.raises(ValueError):
        legacy_elb_account(region)


def test_the_elb_account_table_is_the_guides_list() -> None:
    # 22 commercial Regions and the two GovCloud Regions, as the guide lists them.
    assert len(ELB_ACCOUNT_IDS) == 24
    assert all(len(a) == 12 and a.isdigit() for a in ELB_ACCOUNT_IDS.values())
    assert len(set(ELB_ACCOUNT_IDS.values())) == 24
    assert legacy_elb_account("ap-northeast-1") == "582318560864"


# --- the bucket policy, evaluated ------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    """Who calls S3: an IAM principal (with its own IAM policy) or a service principal."""

    arn: str | None = None
    service: str | None = None
    identity: Mapping[str, Any] | None = None

    @property
    def account(self) -> str | None:
        return self.arn.split(":")[4] if self.arn else None

    def request_context(self, extra: Mapping[str, str]) -> dict[str, str]:
        # What IAM puts into every signed request over TLS, by kind of principal.
        context = {"aws:SecureTransport": "true", **extra}
        if self.service is not None:
            return {"aws:PrincipalIsAWSService": "true", **context}
        assert self.arn is not None and self.account is not None
        return {
            "aws:PrincipalIsAWSService": "false",
            "aws:PrincipalArn": self.arn,
            "aws:PrincipalAccount": self.account,
            **context,
        }


def _names(principal: Any, caller: Caller) -> bool:
    if principal == "*":
        return True
    if caller.service is not None:
        return caller.service in _as_list(principal.get("Service"))
    for name in _as_list(principal.get("AWS")):
        # "arn:aws:iam::<account>:root" names the account: any of its principals its own IAM
        # policies let through.
        if name == caller.arn or (name.endswith(":root") and name.split(":")[4] == caller.account):
            return True
    return False


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def decide(
    policy: Mapping[str, Any], caller: Caller, action: str, resource: str, **context: str
) -> Decision:
    """S3's decision on ``action`` for ``caller`` with this bucket policy (the bucket is in
    ACCOUNT). A service principal has no IAM policy: only the bucket's statements count."""
    statements = [
        {k: v for k, v in s.items() if k != "Principal"}
        for s in policy["Statement"]
        if _names(s["Principal"], caller)
    ]
    request = Request(action, resource, caller.request_context(context))
    bucket = {"bucket": {"Version": "2012-10-17", "Statement": statements}} if statements else {}
    identity = {"identity": caller.identity} if caller.identity is not None else {}
    if caller.service is not None or caller.account == ACCOUNT:
        if not bucket and not identity:
            return Decision(False, "nothing names the caller (implicit deny)")
        return evaluate(request, {**bucket, **identity})
    # Another account: the bucket policy and the caller's own policies must both allow.
    if not bucket or not identity:
        return Decision(False, "cross-account: the bucket policy or the caller's does not allow")
    by_bucket, by_identity = evaluate(request, bucket), evaluate(request, identity)
    return by_bucket if not by_bucket else by_identity


ELB = Caller(service=ELB_LOG_DELIVERY_SERVICE)
#: The legacy principal: ELB writing as a principal of Tokyo's Elastic Load Balancing account,
#: whose own policies let it write (they are AWS's).
LEGACY_ELB = Caller(arn="arn:aws:iam::582318560864:role/elb-log-delivery", identity=ADMIN)
ADMIN_HERE = Caller(arn=f"arn:aws:iam::{ACCOUNT}:role/admin", identity=ADMIN)
ADMIN_ELSEWHERE = Caller(arn=f"arn:aws:iam::{OTHER_ACCOUNT}:role/admin", identity=ADMIN)
LOADER = Caller(arn=READER)
NOT_TLS = {"aws:SecureTransport": "false"}


def log_key(product: str = "shop", endpoint: str = "web", account: str = ACCOUNT) -> str:
    """An object ELB writes for an endpoint (the guide's file name format)."""
    return (
        f"{BUCKET_ARN}/{alb_log_prefix(product, endpoint)}/AWSLogs/{account}/elasticloadbalancing/"
        f"{REGION}/2026/11/25/{account}_elasticloadbalancing_{REGION}_app.shop-web."
        "0123456789abcdef_20261125T0005Z_10.0.0.1_2ab3c4d5.log.gz"
    )


def policy(*, reader: str | None = READER, legacy: bool = False) -> dict[str, Any]:
    return alb_bucket_policy(
        bucket=BUCKET,
        account_id=ACCOUNT,
        region=REGION,
        reader_role_arn=reader,
        legacy_principal=legacy,
    )


@pytest.mark.parametrize("legacy", [False, True], ids=["service-principal", "legacy-account"])
def test_elb_writes_only_this_accounts_logs_under_alb(legacy: bool) -> None:
    document = policy(legacy=legacy)
    elb = LEGACY_ELB if legacy else ELB
    assert decide(document, elb, "s3:PutObject", log_key())
    assert decide(document, elb, "s3:PutObject", log_key("energy", "partner-api"))
    # The file ELB writes when an owner turns logs on.
    test_file = f"{BUCKET_ARN}/alb/shop/web/AWSLogs/{ACCOUNT}/ELBAccessLogTestFile"
    assert decide(document, elb, "s3:PutObject", test_file)
    # Another account's load balancers write under their own account: refused.
    assert not decide(document, elb, "s3:PutObject", log_key(account=OTHER_ACCOUNT))
    # Only under alb/: not at the bucket's root, not elsewhere.
    assert not decide(document, elb, "s3:PutObject", f"{BUCKET_ARN}/AWSLogs/{ACCOUNT}/x.log.gz")
    assert not decide(document, elb, "s3:PutObject", f"{BUCKET_ARN}/other/x")
    # Write only: no reading, deleting or replacing settings; nothing without TLS.
    assert not decide(document, elb, "s3:GetObject", log_key())
    assert not decide(document, elb, "s3:DeleteObject", log_key())
    assert not decide(document, elb, "s3:PutBucketPolicy", BUCKET_ARN)
    assert not decide(document, elb, "s3:PutObject", log_key(), **NOT_TLS)
    (allow,) = [
        s for s in document["Statement"] if s["Effect"] == "Allow" and s["Sid"] != "SiemLoaderReads"
    ]
    # AWS's policy for ELB has no conditions: the account in the path is what scopes it.
    assert allow["Action"] == "s3:PutObject" and "Condition" not in allow
    assert allow["Resource"] == f"{BUCKET_ARN}/alb/*/AWSLogs/{ACCOUNT}/*"


@pytest.mark.parametrize("legacy", [False, True], ids=["service-principal", "legacy-account"])
def test_nobody_else_adds_replaces_or_deletes_a_log(legacy: bool) -> None:
    document = policy(legacy=legacy)
    # The account's administrators: full IAM permissions, and still no write or delete.
    assert not decide(document, ADMIN_HERE, "s3:PutObject", log_key())
    assert not decide(document, ADMIN_HERE, "s3:PutObject", f"{BUCKET_ARN}/anything")
    for delete in ("s3:DeleteObject", "s3:DeleteObjectVersion", "s3:DeleteObjectTagging"):
        assert not decide(document, ADMIN_HERE, delete, log_key()), delete
    # Reading is the account's own business (Athena users, through their IAM policies).
    assert decide(document, ADMIN_HERE, "s3:GetObject", log_key())
    assert not decide(document, ADMIN_HERE, "s3:GetObject", log_key(), **NOT_TLS)
    # Another account, whatever its own policies say: nothing.
    for action in ("s3:PutObject", "s3:GetObject", "s3:DeleteObject"):
        assert not decide(document, ADMIN_ELSEWHERE, action, log_key()), action
    # ELB itself never deletes either.
    elb = LEGACY_ELB if legacy else ELB
    assert not decide(document, elb, "s3:DeleteObjectVersion", log_key())


def test_the_legacy_exemption_is_the_elb_account_not_any_account() -> None:
    document = policy(legacy=True)
    (deny,) = [s for s in document["Statement"] if s["Sid"] == "OnlyElbWritesLogs"]
    assert deny["Condition"] == {
        "StringNotEqualsIfExists": {"aws:PrincipalAccount": "582318560864"}
    }
    # A principal of the ELB account of another Region is not Tokyo's delivery.
    osaka = Caller(arn="arn:aws:iam::383597477331:role/elb", identity=ADMIN)
    assert not decide(document, osaka, "s3:PutObject", log_key())
    # The service principal is not named by the legacy policy.
    assert not decide(document, ELB, "s3:PutObject", log_key())


def test_the_siem_loader_reads_logs_and_nothing_more() -> None:
    document = policy()
    assert decide(document, LOADER, "s3:GetObject", log_key())
    assert not decide(document, LOADER, "s3:GetObject", f"{BUCKET_ARN}/other/x")
    assert not decide(document, LOADER, "s3:PutObject", log_key())
    assert not decide(document, LOADER, "s3:GetObject", log_key(), **NOT_TLS)
    # Without a loader no one is named but ELB.
    without = policy(reader=None)
    assert not decide(without, LOADER, "s3:GetObject", log_key())
    named = [s["Principal"] for s in without["Statement"] if s["Effect"] == "Allow"]
    assert named == [{"Service": ELB_LOG_DELIVERY_SERVICE}]


def test_every_request_without_tls_is_refused() -> None:
    document = policy()
    (tls,) = [s for s in document["Statement"] if s["Sid"] == "TlsOnly"]
    assert tls == {
        "Sid": "TlsOnly",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [BUCKET_ARN, f"{BUCKET_ARN}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    for caller in (ELB, ADMIN_HERE, LOADER):
        assert not decide(document, caller, "s3:ListBucket", BUCKET_ARN, **NOT_TLS)


def test_the_policy_names_only_actions_aws_knows() -> None:
    from tests import iam_authorization as aws

    for statement in policy()["Statement"]:
        for action in _as_list(statement["Action"]):
            assert aws.expand(action), action
    deletes = set(aws.expand("s3:DeleteObject*"))
    assert {"s3:DeleteObject", "s3:DeleteObjectVersion"} <= deletes


# --- lifecycle -------------------------------------------------------------------------------


def test_lifecycle_expires_alb_logs_after_retention() -> None:
    (rule,) = alb_lifecycle_rules(90)
    assert rule == {
        "id": "alb-access-logs",
        "status": "Enabled",
        "filter": {"prefix": "alb/"},
        "expiration": {"days": 90},
        "noncurrent_version_expiration": {"noncurrent_days": 30},
        "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
    }
    assert alb_lifecycle_rules(400)[0]["expiration"] == {"days": 400}
