"""ALB access logs, run through the real program under Pulumi mocks (guard:logs.alb)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from guard.config import load_stack_config
from guard.logs_alb import alb_bucket_policy
from guard.logs_athena_alb import COLUMNS, INPUT_REGEX, alb_saved_queries
from guard.plan import PlanResult, ResourceRecord, run_program
from guard.policy_run import load_pack, run_policies
from tests.conftest import ROOT, TODAY, alb_arn, minimal_product, of_type, raw_config

ACCOUNT = "111111111111"
REGION = "ap-northeast-1"
ALB_BUCKET = "example-test-alb-logs"
QUEUE = "arn:aws:sqs:ap-northeast-1:111111111111:siem-loader"
READER = "arn:aws:iam::111111111111:role/siem-es-loader"
COMPONENT = "guard:logs:AlbLogs"
BUCKET = "aws:s3/bucket:Bucket"
PUBLIC_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
ENCRYPTION = (
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
)
VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
OWNERSHIP = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
NOTIFICATION = "aws:s3/bucketNotification:BucketNotification"
DATABASE = "aws:glue/catalogDatabase:CatalogDatabase"
TABLE = "aws:glue/catalogTable:CatalogTable"
QUERY = "aws:athena/namedQuery:NamedQuery"
WORKGROUP = "aws:athena/workgroup:Workgroup"
#: A product with two ALBs and a distribution: the distribution has no ALB access logs.
EBOOK = {
    "name": "ebook",
    "owner": "team-ebook",
    "endpoints": [
        {"name": "web", "kind": "alb", "arn": alb_arn("ebook-web")},
        {"name": "partner-api", "kind": "alb", "arn": alb_arn("ebook-partner-api")},
        {
            "name": "cdn",
            "kind": "cloudfront",
            "arn": f"arn:aws:cloudfront::{ACCOUNT}:distribution/E2EXAMPLE1",
        },
    ],
}


def plan_of(*, siem: Any = None, products: Any = None, retention_days: int = 120) -> PlanResult:
    raw = raw_config(
        logs={
            "bucket": "example-test-waf-logs",
            "alb": {"bucket": ALB_BUCKET, "retention_days": retention_days},
        },
        siem=siem,
        products=products or [minimal_product(), EBOOK],
    )
    return run_program(load_stack_config(raw, "test.yaml", today=TODAY), "test")


@pytest.fixture(scope="module")
def plan() -> PlanResult:
    return plan_of(siem={"loader_queue_arn": QUEUE, "loader_role_arn": READER})


def mine(plan: PlanResult, type_token: str) -> list[ResourceRecord]:
    """Records of one type declared by the ALB logs component."""
    return [r for r in of_type(plan, type_token) if COMPONENT in r.urn]


def of_bucket(plan: PlanResult, type_token: str) -> ResourceRecord:
    """The one resource of this type configuring the ALB log bucket (by its dependency)."""
    (bucket,) = mine(plan, BUCKET)
    (record,) = [
        r for r in mine(plan, type_token) if r.property_dependencies["bucket"] == [bucket.urn]
    ]
    return record


# --- the bucket ------------------------------------------------------------------------------


def test_the_bucket_is_protected_sse_s3_and_passes_the_bucket_baseline(plan: PlanResult) -> None:
    (component,) = [r for r in plan.resources if r.type == COMPONENT]
    assert component.name == "alb-logs"
    (bucket,) = mine(plan, BUCKET)
    assert bucket.inputs["bucket"] == ALB_BUCKET and bucket.protect is True
    assert bucket.inputs["tags"] == {"managed-by": "guard", "stack": "test"}
    # ALB access logs take SSE-S3 only: no KMS key, no bucket key.
    encryption = of_bucket(plan, ENCRYPTION)
    assert encryption.inputs["rules"] == [
        {"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}
    ]
    block = of_bucket(plan, PUBLIC_BLOCK)
    assert all(
        block.inputs[flag] is True
        for flag in (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        )
    )
    assert of_bucket(plan, VERSIONING).inputs["versioningConfiguration"] == {"status": "Enabled"}
    assert of_bucket(plan, OWNERSHIP).inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    pack = [
        p
        for p in load_pack(ROOT / "policies")
        if p.name in ("s3-bucket-baseline", "iam-no-wildcard-principal")
    ]
    assert len(pack) == 2
    assert run_policies(plan, pack, today=TODAY).violations == []


def test_every_child_is_in_the_stack_region_under_the_component(plan: PlanResult) -> None:
    (component,) = [r for r in plan.resources if r.type == COMPONENT]
    children = [r for r in plan.resources if r.parent == component.urn]
    # The bucket and its 7 settings (notification included), the database, table and 3 queries.
    assert len(children) == 13
    assert {r.region for r in children} == {REGION}
    assert all(COMPONENT in r.urn for r in children)


def test_lifecycle_expires_alb_logs_after_retention_days(plan: PlanResult) -> None:
    (rule,) = of_bucket(plan, LIFECYCLE).inputs["rules"]
    assert rule["filter"] == {"prefix": "alb/"} and rule["status"] == "Enabled"
    assert rule["expiration"] == {"days": 120}
    assert rule["noncurrentVersionExpiration"] == {"noncurrentDays": 30}
    assert rule["abortIncompleteMultipartUpload"] == {"daysAfterInitiation": 7}


def test_the_bucket_policy_is_elbs_and_the_loaders(plan: PlanResult) -> None:
    document = json.loads(of_bucket(plan, BUCKET_POLICY).inputs["policy"])
    assert document == alb_bucket_policy(
        bucket=ALB_BUCKET, account_id=ACCOUNT, region=REGION, reader_role_arn=READER
    )
    allowed = {s["Sid"]: s for s in document["Statement"] if s["Effect"] == "Allow"}
    assert allowed["ElbWritesAccessLogs"]["Principal"] == {
        "Service": "logdelivery.elasticloadbalancing.amazonaws.com"
    }
    assert allowed["SiemLoaderReads"]["Principal"] == {"AWS": READER}


def test_the_siem_loader_is_notified_of_new_log_files_only(plan: PlanResult) -> None:
    notification = of_bucket(plan, NOTIFICATION)
    assert notification.inputs["queues"] == [
        {
            "queueArn": QUEUE,
            "events": ["s3:ObjectCreated:*"],
            "filterPrefix": "alb/",
            # ELB's ELBAccessLogTestFile does not end so: the loader never sees it.
            "filterSuffix": ".log.gz",
        }
    ]


def test_without_a_siem_loader_nothing_is_notified_and_no_reader_is_named() -> None:
    plan = plan_of()
    assert mine(plan, NOTIFICATION) == []
    document = json.loads(of_bucket(plan, BUCKET_POLICY).inputs["policy"])
    assert [s["Sid"] for s in document["Statement"]] == [
        "ElbWritesAccessLogs",
        "OnlyElbWritesLogs",
        "NobodyDeletesLogs",
        "TlsOnly",
    ]


# --- Athena ----------------------------------------------------------------------------------


def test_the_table_projects_every_alb_endpoint_and_no_distribution(plan: PlanResult) -> None:
    (database,) = mine(plan, DATABASE)
    assert database.inputs["name"] == "guard_test_alb_logs"
    (table,) = mine(plan, TABLE)
    assert table.inputs["name"] == "alb_logs" and table.inputs["tableType"] == "EXTERNAL_TABLE"
    params = table.inputs["parameters"]
    assert params["projection.product.values"] == "ebook,store"
    assert params["projection.endpoint.values"] == "partner-api,web"  # not cdn
    assert params["projection.day.range"] == "NOW-120DAYS,NOW"
    assert params["storage.location.template"] == (
        f"s3://{ALB_BUCKET}/alb/${{product}}/${{endpoint}}/AWSLogs/{ACCOUNT}/elasticloadbalancing/"
        f"{REGION}/${{day}}"
    )
    descriptor = table.inputs["storageDescriptor"]
    assert descriptor["location"] == f"s3://{ALB_BUCKET}/alb/"
    serde = descriptor["serDeInfo"]
    assert serde["serializationLibrary"] == "org.apache.hadoop.hive.serde2.RegexSerDe"
    assert serde["parameters"] == {"serialization.format": "1", "input.regex": INPUT_REGEX}
    assert [c["name"] for c in descriptor["columns"]] == [name for name, _, _ in COLUMNS]
    assert [k["name"] for k in table.inputs["partitionKeys"]] == ["product", "endpoint", "day"]


def test_saved_queries_run_in_the_waf_logs_workgroup(plan: PlanResult) -> None:
    (workgroup,) = [w for w in of_type(plan, WORKGROUP) if "guard:logs:WafLogs" in w.urn]
    queries = {q.inputs["name"]: q for q in mine(plan, QUERY)}
    assert set(queries) == {q.name for q in alb_saved_queries("guard_test_alb_logs")}
    for query in queries.values():
        assert query.inputs["workgroup"] == workgroup.inputs["name"] == "guard-test-waf-logs"
        assert query.inputs["database"] == "guard_test_alb_logs"
        assert "day >= date_format(" in query.inputs["query"]


# --- the hand-off ----------------------------------------------------------------------------


def test_each_alb_endpoint_gets_its_bucket_and_prefix(plan: PlanResult) -> None:
    assert plan.outputs["alb_access_logs"] == {
        "store/web": {
            "load_balancer": alb_arn("store-web"),
            "bucket": ALB_BUCKET,
            "prefix": "alb/store/web",
        },
        "ebook/web": {
            "load_balancer": alb_arn("ebook-web"),
            "bucket": ALB_BUCKET,
            "prefix": "alb/ebook/web",
        },
        "ebook/partner-api": {
            "load_balancer": alb_arn("ebook-partner-api"),
            "bucket": ALB_BUCKET,
            "prefix": "alb/ebook/partner-api",
        },
    }


def test_a_stack_of_distributions_only_gets_the_bucket_but_no_table() -> None:
    cdn_only = {**EBOOK, "endpoints": [EBOOK["endpoints"][2]]}
    plan = plan_of(products=[cdn_only])
    assert plan.outputs["alb_access_logs"] == {}
    assert len(mine(plan, BUCKET)) == 1 and len(mine(plan, DATABASE)) == 1
    # Partition projection needs an endpoint to enumerate.
    assert mine(plan, TABLE) == [] and mine(plan, QUERY) == []
