"""The tuner's role, run through a program under Pulumi mocks: what the plan shows of its trust,
and what IAM would let the role do, evaluated on the role as planned (its inline policy and the
stack's permissions boundary) with guard.iam_eval.

guard/program.py does not declare the component yet; the program here builds what it would: the
products' web ACLs, the boundary and one TunerAccess per guard:tuners entry.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import Any

import pulumi
import pytest

from components.iam import PermissionsBoundary
from components.product import ProductProtection
from components.providers import Providers
from components.tuner import EncryptedExternalId, TunerAccess, trust_policy_input
from guard.ci_scope import PipelineScope
from guard.config import LoadedConfig
from guard.config.tuner import SecretValue
from guard.iam_eval import Request, evaluate
from guard.plan import PlanResult, run_program
from guard.policy_run import run_policies
from guard.tuner_policy import EXTERNAL_ID_PLACEHOLDER, TUNER_TAG, trust_problems
from policies.rules import (
    iam_no_broad_grants,
    iam_no_wildcard_principal,
    iam_permissions_boundary,
    tuner_role_external_id,
    tuner_role_scope,
)
from tests.conftest import TODAY, of_type, within
from tests.guard.iam_plan import may, role_identity
from tests.guard.test_tuner_policy import (
    ACCOUNT,
    BUCKET,
    EXTERNAL_ID,
    REGION,
    SERVICE_ROLE,
    VENDOR_GROUP,
    WAFCHARM,
    assumable,
    loaded_config,
)

ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
WEB_ACL = "aws:wafv2/webAcl:WebAcl"
IP_SET = "aws:wafv2/ipSet:IpSet"
TUNER_ROLE = "guard-prod-wafcharm"
tuner = within("guard:tuner:TunerAccess")
IAM_POLICIES = [
    tuner_role_external_id.POLICY,
    tuner_role_scope.POLICY,
    iam_no_wildcard_principal.POLICY,
    iam_permissions_boundary.POLICY,
    iam_no_broad_grants.POLICY,
]


def tuner_program(loaded: LoadedConfig, stack: str = "prod") -> Callable[[], None]:
    def program() -> None:
        config = loaded.config
        providers = Providers.create(config.region, config.account_id)
        for product in config.products:
            ProductProtection(product, stack=stack, providers=providers)
        boundary = PermissionsBoundary(PipelineScope.of(config, stack), providers=providers)
        tuners = [
            TunerAccess(config, service, stack=stack, providers=providers, boundary=boundary)
            for service in sorted(config.tuners)
        ]
        # What guard/program.py exports:
        pulumi.export("tuner_roles", {s: arn for t in tuners for s, arn in t.tuner_roles.items()})
        # Only this test program reads the secret back, to evaluate the trust as deployed.
        pulumi.export("trust", pulumi.Output.unsecret(tuners[0].role.assume_role_policy))

    return program


@cache
def planned(external_id: str | None = None, delivery: str | None = None) -> PlanResult:
    loaded = loaded_config(external_id=external_id, delivery=delivery)
    return run_program(loaded, "prod", tuner_program(loaded))


def arn_of(plan: PlanResult, type_: str, name: str) -> str:
    (record,) = [r for r in of_type(plan, type_) if r.inputs.get("name") == name]
    return str(record.state["arn"])


def everything_recorded(plan: PlanResult) -> str:
    return json.dumps(
        [{**r.to_json(), "state": r.state} for r in plan.resources] + [plan.outputs], default=str
    )


# --- the role ----------------------------------------------------------------------------------


def test_one_role_per_tuner_with_the_boundary_and_its_tag() -> None:
    plan = planned()
    (role,) = tuner(plan, ROLE)
    assert role.inputs["name"] == TUNER_ROLE
    assert (
        role.inputs["permissionsBoundary"] == f"arn:aws:iam::{ACCOUNT}:policy/guard-prod-boundary"
    )
    assert role.inputs["tags"] == {"managed-by": "guard", "stack": "prod", TUNER_TAG: "wafcharm"}
    assert (
        "WafCharm (with its external ID) tunes the wafcharm-* rules of 2 web ACLs"
        in (role.inputs["description"])
    )
    (policy,) = tuner(plan, ROLE_POLICY)
    assert policy.inputs["role"] == TUNER_ROLE
    assert plan.outputs["tuner_roles"] == {"wafcharm": f"arn:aws:iam::{ACCOUNT}:role/{TUNER_ROLE}"}
    assert {r.type for r in plan.resources if r.type.startswith("guard:tuner")} == {
        "guard:tuner:TunerAccess"
    }


def test_offline_the_trust_shows_the_condition_with_a_placeholder() -> None:
    """guard plan has only the encrypted value: the document is plain, its external ID marked."""
    plan = planned()
    (role,) = tuner(plan, ROLE)
    trust = json.loads(role.inputs["assumeRolePolicy"])
    (only,) = trust["Statement"]
    assert only["Principal"] == {"AWS": WAFCHARM}
    assert only["Condition"] == {"StringEquals": {"sts:ExternalId": EXTERNAL_ID_PLACEHOLDER}}
    assert trust_problems(trust) == []
    assert "v1:AAAA" not in everything_recorded(plan)


def test_with_the_plaintext_the_trust_is_a_secret() -> None:
    """As pulumi up runs it: the external ID never reaches the plan (or the state) in clear."""
    plan = planned(external_id=EXTERNAL_ID)
    (role,) = tuner(plan, ROLE)
    assert role.inputs["assumeRolePolicy"] == "[secret]"
    assert role.state["assumeRolePolicy"] == "[secret]"
    recorded = everything_recorded(plan).replace(json.dumps(plan.outputs["trust"]), "")
    assert EXTERNAL_ID not in recorded
    # The secret is the document guard builds, with the real external ID.
    trust = json.loads(plan.outputs["trust"])
    assert trust["Statement"][0]["Condition"] == {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}}


def test_the_deployed_trust_admits_the_service_with_its_external_id_only() -> None:
    trust = json.loads(planned(external_id=EXTERNAL_ID).outputs["trust"])
    assert assumable(trust, SERVICE_ROLE, EXTERNAL_ID)
    assert not assumable(trust, SERVICE_ROLE)
    assert not assumable(trust, SERVICE_ROLE, "guessed")
    assert not assumable(trust, "arn:aws:iam::333333333333:role/attacker", EXTERNAL_ID)


def test_a_deploy_with_the_encrypted_value_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pulumi.runtime, "is_dry_run", lambda: False)
    with pytest.raises(EncryptedExternalId):
        trust_policy_input(WAFCHARM, SecretValue(secure="v1:AAAA"))


def test_the_iam_policies_pass_offline_and_flag_a_trust_they_cannot_read() -> None:
    outcome = run_policies(planned(), IAM_POLICIES, today=TODAY)
    assert outcome.violations == []
    # guard plan masks a secret input as "[secret]": the policy cannot read the trust then and
    # says so (the Pulumi engine hands policy packs the plaintext, so pulumi preview can).
    outcome = run_policies(planned(external_id=EXTERNAL_ID), IAM_POLICIES, today=TODAY)
    (violation,) = outcome.violations
    assert violation.policy == "tuner-role-external-id" and "a secret at preview" in (
        violation.message
    )


def test_a_tuner_no_waf_names_gets_a_role_without_grants() -> None:
    loaded = loaded_config(waf_tuner=None)
    plan = run_program(loaded, "prod", tuner_program(loaded))
    assert len(tuner(plan, ROLE)) == 1
    assert tuner(plan, ROLE_POLICY) == []


# --- what IAM lets the role do (its policy and the boundary, as planned) ---------------------


def web_acl(plan: PlanResult, name: str) -> str:
    return arn_of(plan, WEB_ACL, name)


#: Short names the parametrised cases use for the plan's own ARNs.
PLANNED = {
    "alb": (WEB_ACL, "guard-prod-store-alb"),
    "cf": (WEB_ACL, "guard-prod-store-cf"),
    "admin": (WEB_ACL, "guard-prod-admin-alb"),
    "guard-ipset": (IP_SET, "guard-prod-store-alb-block-ipv4"),
}


def resolve(plan: PlanResult, resource: str) -> str:
    return arn_of(plan, *PLANNED[resource]) if resource in PLANNED else resource


def log_object(prefix: str = f"waf/region={REGION}/") -> str:
    return f"arn:aws:s3:::{BUCKET}/{prefix}2026/11/25/10/aws-waf-logs-guard-prod-1.gz"


THROUGH_S3 = {
    "kms:ViaService": f"s3.{REGION}.amazonaws.com",
    "kms:EncryptionContext:aws:s3:arn": f"arn:aws:s3:::{BUCKET}",
}
LOG_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0c7f1a52-1111-4222-8333-444455556666"


def identity_allows(plan: PlanResult, action: str, resource: str, **context: Any) -> bool:
    """The role's own policy alone (without the boundary)."""
    principal = f"arn:aws:iam::{ACCOUNT}:role/{TUNER_ROLE}"
    request = Request(action, resource, {"aws:PrincipalArn": principal, **context})
    return evaluate(request, role_identity(plan, TUNER_ROLE)).allowed


@pytest.mark.parametrize(
    ("action", "resource", "context"),
    [
        ("wafv2:GetWebACL", "alb", {}),
        ("wafv2:GetWebACL", "cf", {}),
        ("wafv2:GetSampledRequests", "alb", {}),
        ("wafv2:GetSampledRequests", "cf", {}),
        ("wafv2:GetLoggingConfiguration", "alb", {}),
        ("wafv2:ListWebACLs", "*", {"aws:RequestedRegion": REGION}),
        ("wafv2:ListWebACLs", "*", {"aws:RequestedRegion": "us-east-1"}),
        ("wafv2:CheckCapacity", "*", {"aws:RequestedRegion": REGION}),
        (
            "wafv2:CreateIPSet",
            f"arn:aws:wafv2:{REGION}:{ACCOUNT}:regional/ipset/wafcharm-blacklist/x",
            {},
        ),
        (
            "wafv2:UpdateRuleGroup",
            f"arn:aws:wafv2:us-east-1:{ACCOUNT}:global/rulegroup/wafcharm-rules/x",
            {},
        ),
        ("s3:GetObject", log_object(), {}),
        ("s3:GetObject", log_object("waf/region=us-east-1/"), {}),
        ("s3:ListBucket", f"arn:aws:s3:::{BUCKET}", {"s3:prefix": f"waf/region={REGION}/2026/"}),
        ("s3:GetBucketLocation", f"arn:aws:s3:::{BUCKET}", {}),
        ("kms:Decrypt", LOG_KEY, THROUGH_S3),
        ("cloudwatch:GetMetricData", "*", {"aws:RequestedRegion": REGION}),
        ("cloudwatch:GetMetricStatistics", "*", {"aws:RequestedRegion": "us-east-1"}),
        ("cloudwatch:ListMetrics", "*", {"aws:RequestedRegion": REGION}),
    ],
)
def test_the_tuner_may(action: str, resource: str, context: dict[str, str]) -> None:
    plan = planned()
    assert may(plan, TUNER_ROLE, action, resolve(plan, resource), **context)


def update_requests(plan: PlanResult) -> list[str]:
    """What UpdateWebACL on the tuned ALB web ACL is authorised on: the web ACL, every IP set
    and rule group its rules reference, and a managed rule set."""
    return [
        web_acl(plan, "guard-prod-store-alb"),
        *(
            str(r.state["arn"])
            for r in of_type(plan, IP_SET)
            if str(r.inputs["name"]).startswith("guard-prod-store-alb-")
        ),
        VENDOR_GROUP,
        f"arn:aws:wafv2:{REGION}:aws:regional/managedruleset/AWSManagedRulesCommonRuleSet/x",
        f"arn:aws:wafv2:{REGION}:{ACCOUNT}:regional/ipset/wafcharm-blacklist/x",
    ]


def test_its_policy_lets_it_update_the_tuned_web_acls_and_what_they_reference() -> None:
    plan = planned()
    for arn in [*update_requests(plan), web_acl(plan, "guard-prod-store-cf")]:
        assert identity_allows(plan, "wafv2:UpdateWebACL", arn), arn


def test_the_boundary_lets_it_update_the_tuned_web_acls() -> None:
    # The boundary's WebAclEdits statement names the tuner roles beside the deploy and SRT roles;
    # every other role guard creates stays refused (test_iam_boundary).
    plan = planned()
    refused = [
        a for a in update_requests(plan) if not may(plan, TUNER_ROLE, "wafv2:UpdateWebACL", a)
    ]
    assert refused == []


STAGING_ACL = f"arn:aws:wafv2:{REGION}:{ACCOUNT}:regional/webacl/guard-staging-store-alb/0a1b"


@pytest.mark.parametrize(
    ("action", "resource", "context"),
    [
        # Web ACLs it does not tune, and what no tuner does to any web ACL.
        ("wafv2:UpdateWebACL", "admin", {}),
        ("wafv2:GetSampledRequests", "admin", {}),
        ("wafv2:UpdateWebACL", STAGING_ACL, {}),
        ("wafv2:DeleteWebACL", "alb", {}),
        ("wafv2:CreateWebACL", f"arn:aws:wafv2:{REGION}:{ACCOUNT}:regional/webacl/x/y", {}),
        ("wafv2:PutLoggingConfiguration", "alb", {}),
        ("wafv2:DeleteLoggingConfiguration", "alb", {}),
        ("wafv2:DeleteLoggingConfiguration", "cf", {}),
        ("wafv2:AssociateWebACL", "alb", {}),
        ("wafv2:DisassociateWebACL", "alb", {}),
        ("wafv2:TagResource", "alb", {}),
        # guard's IP lists and others' rule groups: referenced, never changed.
        ("wafv2:UpdateIPSet", "guard-ipset", {}),
        ("wafv2:DeleteIPSet", "guard-ipset", {}),
        ("wafv2:UpdateRuleGroup", VENDOR_GROUP, {}),
        ("wafv2:PutPermissionPolicy", VENDOR_GROUP, {}),
        ("wafv2:CreateIPSet", f"arn:aws:wafv2:{REGION}:{ACCOUNT}:regional/ipset/guard-x/y", {}),
        # List actions outside the tuned regions.
        ("wafv2:ListWebACLs", "*", {"aws:RequestedRegion": "eu-west-1"}),
        ("cloudwatch:GetMetricData", "*", {"aws:RequestedRegion": "eu-west-1"}),
        ("cloudwatch:PutMetricAlarm", f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:x", {}),
        # The logs: no writes, no other prefix, no other bucket, no key outside S3.
        ("s3:PutObject", log_object(), {}),
        ("s3:DeleteObject", log_object(), {}),
        ("s3:DeleteObjectVersion", log_object(), {}),
        ("s3:PutBucketPolicy", f"arn:aws:s3:::{BUCKET}", {}),
        ("s3:PutLifecycleConfiguration", f"arn:aws:s3:::{BUCKET}", {}),
        ("s3:GetObject", log_object("errors/"), {}),
        ("s3:GetObject", log_object("athena-results/"), {}),
        ("s3:GetObject", "arn:aws:s3:::guard-prod-pulumi-state/.pulumi/stacks/prod.json", {}),
        ("s3:ListBucket", f"arn:aws:s3:::{BUCKET}", {"s3:prefix": "athena-results/"}),
        ("s3:ListBucket", f"arn:aws:s3:::{BUCKET}", {}),
        ("s3:ListBucket", "arn:aws:s3:::another-bucket", {"s3:prefix": f"waf/region={REGION}/"}),
        ("kms:Decrypt", LOG_KEY, {}),
        ("kms:Decrypt", LOG_KEY, {**THROUGH_S3, "kms:ViaService": f"sns.{REGION}.amazonaws.com"}),
        (
            "kms:Decrypt",
            LOG_KEY,
            {**THROUGH_S3, "kms:EncryptionContext:aws:s3:arn": "arn:aws:s3:::another-bucket"},
        ),
        (
            "kms:Decrypt",
            f"arn:aws:kms:us-west-2:{ACCOUNT}:key/0c7f1a52-1111-4222-8333-444455556666",
            {**THROUGH_S3, "kms:ViaService": "s3.us-west-2.amazonaws.com"},
        ),
        ("kms:CreateGrant", LOG_KEY, {}),
        # No way out: IAM and STS.
        ("iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/guard-prod-pipeline-deploy", {}),
        ("iam:CreateRole", f"arn:aws:iam::{ACCOUNT}:role/guard-prod-x", {}),
        ("iam:AttachRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/{TUNER_ROLE}", {}),
        ("iam:PutRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/{TUNER_ROLE}", {}),
        ("iam:UpdateAssumeRolePolicy", f"arn:aws:iam::{ACCOUNT}:role/{TUNER_ROLE}", {}),
        ("sts:AssumeRole", f"arn:aws:iam::{ACCOUNT}:role/guard-prod-pipeline-deploy", {}),
        ("sts:AssumeRole", "arn:aws:iam::333333333333:role/anything", {}),
    ],
)
def test_the_tuner_may_not(action: str, resource: str, context: dict[str, str]) -> None:
    plan = planned()
    resource = resolve(plan, resource)
    assert not may(plan, TUNER_ROLE, action, resource, **context)
    assert not identity_allows(plan, action, resource, **context)


def test_s3_delivery_reads_each_tuned_web_acls_folder_only() -> None:
    plan = planned(delivery="s3")
    base = f"arn:aws:s3:::aws-waf-logs-example-prod/AWSLogs/{ACCOUNT}/WAFLogs"
    assert may(plan, TUNER_ROLE, "s3:GetObject", f"{base}/{REGION}/guard-prod-store-alb/2026/x.gz")
    assert may(plan, TUNER_ROLE, "s3:GetObject", f"{base}/cloudfront/guard-prod-store-cf/x.gz")
    assert not may(plan, TUNER_ROLE, "s3:GetObject", f"{base}/{REGION}/guard-prod-admin-alb/x.gz")
