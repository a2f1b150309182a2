"""guard diff's ci and iam areas: who may assume each role and what it may do, on real plans.

Each pair plans a base config and a changed one through the real program; changes that the
config refuses to write (a wildcard subject, a role without its boundary) are made on the
plan document itself, as another version of the program could declare them.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from guard.diff import DiffResult, diff_documents
from guard.diff_ci import DIFFER, grants_of
from guard.diff_model import Change, PlanDocument
from tests.conftest import load, minimal_product
from tests.guard.diff_plans import changes_of, only, plan_document

ORG = "6f4e1c2a-0000-4000-8000-000000000001"
REPO = "example-org/store"
ROLE = "guard-test-store-github-deploy"
ECR = "arn:aws:ecr:ap-northeast-1:111111111111:repository"
PIPELINE = {"github_repo": "example-org/security-infra", "state_bucket": "example-pulumi-state"}
ALERTS = {"slack": {"workspace_id": "T0EXAMPLE1", "normal_channel": "C01", "urgent_channel": "C02"}}
SHIELD = {"subscription": "existing", "srt_access": {"role": "create", "log_buckets": ["logs"]}}
TUNER = {"principal": "arn:aws:iam::123456789012:root", "external_id": {"secure": "v1:x"}}
STATEMENTS: list[dict[str, Any]] = [
    {
        "Sid": "PushImages",
        "Effect": "Allow",
        "Action": "ecr:GetAuthorizationToken",
        "Resource": "*",
    },
    {
        "Sid": "PushStoreImages",
        "Effect": "Allow",
        "Action": ["ecr:PutImage", "ecr:UploadLayerPart"],
        "Resource": f"{ECR}/store-*",
    },
]


def store(
    deploy_from: tuple[str, ...] = ("ref:refs/heads/main", "environment:production"),
    statements: list[dict[str, Any]] = STATEMENTS,
    **permissions: Any,
) -> dict[str, Any]:
    product = minimal_product("store")
    product["ci"] = {
        "github": {"repo": REPO, "deploy_from": list(deploy_from)},
        "permissions": {"statements": statements, **permissions},
    }
    return product


def sections(**changes: Any) -> dict[str, Any]:
    base = {
        "products": [store()],
        "ci": {"github": {}},
        "pipeline": PIPELINE,
        "alerts": ALERTS,
        "shield": SHIELD,
    }
    return {**base, **changes}


@pytest.fixture(scope="module")
def base() -> PlanDocument:
    return plan_document(load(**sections()))


def against(base: PlanDocument, head: PlanDocument | None = None, **changes: Any) -> DiffResult:
    head = head if head is not None else plan_document(load(**sections(**changes)))
    return diff_documents(base, head, base_label="base", head_label="head")


def iam(result: DiffResult) -> list[Change]:
    return changes_of(result, "ci") + changes_of(result, "iam")


def edited(doc: PlanDocument, name: str, **inputs: Any) -> PlanDocument:
    """The plan with the AWS resource named ``name`` (its IAM name) given these inputs."""
    resources = tuple(
        dataclasses.replace(r, inputs={**r.inputs, **inputs})
        if r.inputs.get("name", r.name) == name and r.type.startswith("aws:")
        else r
        for r in doc.resources
    )
    return dataclasses.replace(doc, resources=resources)


def trust(doc: PlanDocument, role: str) -> dict[str, Any]:
    record = next(
        r for r in doc.resources if r.inputs.get("name") == role and "role:Role" in r.type
    )
    document = json.loads(record.inputs["assumeRolePolicy"])
    assert isinstance(document, dict)
    return document


def test_identical_plans_have_no_change(base: PlanDocument) -> None:
    again = plan_document(load(**sections()))
    result = against(base, again)
    assert result.status == "unchanged" and result.changes == ()


def test_a_new_branch_the_deploy_role_trusts_weakens(base: PlanDocument) -> None:
    deploy_from = ("ref:refs/heads/main", "ref:refs/heads/release", "environment:production")
    changes = iam(against(base, products=[store(deploy_from)]))
    subject = f"repo:{REPO}:ref:refs/heads/release"
    change = only(changes, path=f"trust.subjects[{subject}]")
    assert (change.area, change.subject, change.kind) == ("ci", ROLE, "added")
    assert change.effect == "weakens"
    assert change.reason == f"deploy role now trusts {subject}"
    assert len(changes) == 1


def test_a_subject_no_longer_trusted_strengthens(base: PlanDocument) -> None:
    changes = iam(against(base, products=[store(("environment:production",))]))
    change = only(changes, subject=ROLE)
    assert change.effect == "strengthens" and change.kind == "removed"
    assert change.reason == f"deploy role no longer trusts repo:{REPO}:ref:refs/heads/main"


def test_a_wildcard_subject_weakens_and_names_the_pattern(base: PlanDocument) -> None:
    document = trust(base, ROLE)
    condition = document["Statement"][0]["Condition"]
    host = "token.actions.githubusercontent.com"
    condition["StringLike"] = {f"{host}:sub": [f"repo:{REPO}:ref:refs/heads/*"]}
    del condition["StringEquals"][f"{host}:sub"]
    changes = iam(against(base, edited(base, ROLE, assumeRolePolicy=json.dumps(document))))
    wide = only(changes, path=f"trust.subjects[repo:{REPO}:ref:refs/heads/*]")
    assert wide.effect == "weakens"
    assert wide.reason == f"deploy role now trusts repo:{REPO}:ref:refs/heads/* (a wildcard)"
    # main is still matched by the pattern: nothing lost there. The environment is.
    main = only(changes, path=f"trust.subjects[repo:{REPO}:ref:refs/heads/main]")
    assert main.effect == "neutral"
    assert main.reason.endswith(f"by name (repo:{REPO}:ref:refs/heads/* still matches it)")
    env = only(changes, path=f"trust.subjects[repo:{REPO}:environment:production]")
    assert env.effect == "strengthens"


def test_a_new_statement_weakens_in_one_line_listing_its_actions(base: PlanDocument) -> None:
    added = {
        "Sid": "DeleteQueues",
        "Effect": "Allow",
        "Action": ["sqs:DeleteQueue", "sqs:PurgeQueue", "sqs:SetQueueAttributes"],
        "Resource": "arn:aws:sqs:ap-northeast-1:111111111111:store-*",
    }
    changes = iam(against(base, products=[store(statements=[*STATEMENTS, added])]))
    change = only(changes)
    assert (change.subject, change.kind, change.path) == (ROLE, "added", "grants[DeleteQueues]")
    assert change.effect == "weakens"
    assert change.reason == (
        f"{ROLE} may now call sqs:DeleteQueue, sqs:PurgeQueue, sqs:SetQueueAttributes on "
        "arn:aws:sqs:ap-northeast-1:111111111111:store-*"
    )
    assert change.after["Action"] == added["Action"]


def test_a_statement_removed_strengthens(base: PlanDocument) -> None:
    changes = iam(against(base, products=[store(statements=STATEMENTS[:1])]))
    change = only(changes)
    assert (change.path, change.kind, change.effect) == (
        "grants[PushStoreImages]",
        "removed",
        "strengthens",
    )
    assert "may no longer call ecr:PutImage, ecr:UploadLayerPart" in change.reason


def test_a_widened_resource_is_one_weakening_line(base: PlanDocument) -> None:
    wider = [STATEMENTS[0], {**STATEMENTS[1], "Resource": f"{ECR}/*"}]
    changes = iam(against(base, products=[store(statements=wider)]))
    change = only(changes)
    assert (change.path, change.kind, change.effect) == (
        "grants[PushStoreImages]",
        "changed",
        "weakens",
    )
    assert change.reason.endswith(f"on {ECR}/*")
    narrower = iam(
        against(plan_document(load(**sections(products=[store(statements=wider)]))), base)
    )
    assert only(narrower).effect == "strengthens"


def test_a_deny_statement_added_strengthens(base: PlanDocument) -> None:
    deny = {"Sid": "NoDeletes", "Effect": "Deny", "Action": "ecr:DeleteRepository", "Resource": "*"}
    change = only(iam(against(base, products=[store(statements=[*STATEMENTS, deny])])))
    assert change.effect == "strengthens"
    assert change.reason == f"{ROLE} is now denied ecr:DeleteRepository on *"


def test_an_aws_managed_policy_attached_weakens(base: PlanDocument) -> None:
    arn = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
    changes = iam(against(base, products=[store(managed_policies=[arn])]))
    change = only(changes, path=f"managed_policies[{arn}]")
    assert change.effect == "weakens" and change.subject == ROLE
    assert change.reason == "AWS managed policy AmazonS3ReadOnlyAccess attached"


def test_the_pipeline_deploy_role_reads_its_attached_policies(base: PlanDocument) -> None:
    # Logs add grants to the deploy role's customer-managed policies (split across parts).
    logs = {"bucket": "example-test-waf-logs"}
    changes = iam(against(base, logs=logs))
    deploy = [c for c in changes if c.subject == "guard-test-pipeline-deploy"]
    assert deploy and all(c.effect == "weakens" and c.area == "ci" for c in deploy)
    assert any("may now call" in c.reason and "athena:" in c.reason for c in deploy)
    # A role only an AWS service assumes is no way in by itself.
    firehose = only(changes, subject="guard-test-waf-logs-firehose")
    assert (firehose.area, firehose.kind, firehose.effect) == ("iam", "added", "neutral")
    assert firehose.reason.startswith("new role assumable by Service firehose.amazonaws.com")


def test_a_tuner_added_is_a_weakening_role_and_boundary(base: PlanDocument) -> None:
    products = [store(), minimal_product("shop", tuner={"service": "wafcharm"})]
    changes = iam(against(base, products=products, tuners={"wafcharm": TUNER}))
    role = only(changes, subject="guard-test-wafcharm")
    assert (role.area, role.kind, role.effect) == ("iam", "added", "weakens")
    assert role.reason.startswith(
        "new role assumable by AWS arn:aws:iam::123456789012:root with sts:ExternalId; may call"
    )
    boundary = [c for c in changes if c.subject == "boundary guard-test-boundary"]
    assert any(c.effect == "weakens" and "no longer denies" in c.reason for c in boundary)


def test_a_tuner_removed_strengthens() -> None:
    products = [store(), minimal_product("shop", tuner={"service": "wafcharm"})]
    tuned = plan_document(load(**sections(products=products, tuners={"wafcharm": TUNER})))
    changes = iam(against(tuned, products=[store(), minimal_product("shop")]))
    role = only(changes, subject="guard-test-wafcharm")
    assert (role.kind, role.effect) == ("removed", "strengthens")
    assert role.reason.startswith("role deleted (may call")


def test_the_srt_and_chatbot_roles_removed_weaken(base: PlanDocument) -> None:
    changes = iam(against(base, shield=None, alerts=None))
    srt = only(changes, subject="guard-test-shield-srt-access")
    assert (srt.kind, srt.effect) == ("removed", "weakens")
    assert "Shield Response Team" in srt.reason
    chatbot = only(changes, subject="guard-test-chatbot")
    assert chatbot.effect == "weakens" and "Slack" in chatbot.reason


def test_the_srt_role_losing_its_managed_policy_weakens(base: PlanDocument) -> None:
    attachment = next(
        r
        for r in base.resources
        if r.inputs.get("role") == "guard-test-shield-srt-access" and "Attachment" in r.type
    )
    head = dataclasses.replace(base, resources=tuple(r for r in base.resources if r != attachment))
    change = only(iam(against(base, head)))
    assert change.effect == "weakens" and "AWSShieldDRTAccessPolicy detached" in change.reason


def test_a_new_oidc_provider_weakens_and_a_new_audience_too(base: PlanDocument) -> None:
    changes = iam(against(base, ci={"github": {}, "circleci": {"org_id": ORG}}))
    host = f"oidc.circleci.com/org/{ORG}"
    change = only(changes, subject=f"OIDC provider {host}")
    assert (change.area, change.kind, change.effect) == ("iam", "added", "weakens")
    github = "guard-test-github-oidc"
    head = edited(base, github, clientIdLists=["sts.amazonaws.com", "https://github.com/evil"])
    audience = only(iam(against(base, head)))
    assert audience.effect == "weakens"
    assert audience.reason == "now accepts tokens with audience https://github.com/evil"


def test_external_id_condition_removed_weakens() -> None:
    products = [store(), minimal_product("shop", tuner={"service": "wafcharm"})]
    tuned = plan_document(load(**sections(products=products, tuners={"wafcharm": TUNER})))
    document = trust(tuned, "guard-test-wafcharm")
    del document["Statement"][0]["Condition"]
    change = only(
        iam(
            against(
                tuned, edited(tuned, "guard-test-wafcharm", assumeRolePolicy=json.dumps(document))
            )
        )
    )
    assert (change.area, change.effect) == ("iam", "weakens")
    assert change.reason == "role no longer requires sts:ExternalId"


def test_session_and_boundary_changes(base: PlanDocument) -> None:
    head = edited(base, ROLE, maxSessionDuration=43200, permissionsBoundary=None)
    changes = iam(against(base, head))
    longer = only(changes, path="maxSessionDuration")
    assert longer.effect == "weakens" and longer.reason == "sessions may last 43200 s (was 3600 s)"
    unbounded = only(changes, path="permissionsBoundary")
    assert unbounded.effect == "weakens"
    assert unbounded.reason.startswith("no longer has a permissions boundary")


def test_tags_and_descriptions_are_left_to_the_engine(base: PlanDocument) -> None:
    head = edited(base, ROLE, description="guard: deploys store, reworded")
    result = against(base, head)
    assert iam(result) == []
    assert only(list(result.changes)).effect == "neutral"


def test_the_differ_claims_the_iam_types() -> None:
    assert DIFFER.explains("aws:iam/rolePolicy:RolePolicy", "policy")
    assert DIFFER.explains("aws:iam/role:Role", "assumeRolePolicy")
    assert not DIFFER.explains("aws:iam/role:Role", "tags")
    assert not DIFFER.explains("aws:iam/policy:Policy", "description")


def test_grants_expand_per_action_and_keep_their_statement() -> None:
    document = {
        "Statement": [
            {"Sid": "S", "Effect": "Allow", "Action": ["a:X", "a:Y"], "Resource": ["r1", "r2"]},
            {"Effect": "Deny", "NotAction": ["a:Z"], "Resource": "*"},
        ]
    }
    grants = grants_of(json.dumps(document), "permissions")
    assert len(grants) == 5
    assert sorted(set(grants.values())) == ["S", "permissions[1]"]


def test_a_condition_widened_is_one_weakening_line(base: PlanDocument) -> None:
    passing = {
        "Sid": "PassTaskRoles",
        "Effect": "Allow",
        "Action": "iam:PassRole",
        "Resource": "arn:aws:iam::111111111111:role/store-task-*",
        "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
    }
    wider = {
        **passing,
        "Condition": {
            "StringEquals": {
                "iam:PassedToService": ["ecs-tasks.amazonaws.com", "lambda.amazonaws.com"]
            }
        },
    }
    before = plan_document(load(**sections(products=[store(statements=[*STATEMENTS, passing])])))
    after = plan_document(load(**sections(products=[store(statements=[*STATEMENTS, wider])])))
    change = only(iam(against(before, after)), subject=ROLE)
    assert (change.kind, change.path, change.effect) == (
        "changed",
        "grants[PassTaskRoles]",
        "weakens",
    )
    assert change.reason == (
        f"{ROLE} may now call iam:PassRole on arn:aws:iam::111111111111:role/store-task-* "
        "(condition: iam:PassedToService +lambda.amazonaws.com)"
    )
    narrowed = only(iam(against(after, before)), subject=ROLE)
    assert narrowed.effect == "strengthens"
    assert narrowed.reason.endswith("(condition: iam:PassedToService -lambda.amazonaws.com)")


def test_a_boundary_deny_removed_weakens(base: PlanDocument) -> None:
    boundary = next(r for r in base.resources if r.inputs.get("name") == "guard-test-boundary")
    document = json.loads(boundary.inputs["policy"])
    document["Statement"] = [s for s in document["Statement"] if s.get("Sid") != "DetectionStaysOn"]
    change = only(
        iam(against(base, edited(base, "guard-test-boundary", policy=json.dumps(document))))
    )
    assert (change.area, change.subject, change.kind) == (
        "iam",
        "boundary guard-test-boundary",
        "removed",
    )
    assert change.effect == "weakens" and change.path == "grants[DetectionStaysOn]"
    assert change.reason.startswith("the boundary no longer denies cloudtrail:DeleteTrail")


def test_a_new_deploy_role_weakens_and_says_who_and_what(base: PlanDocument) -> None:
    shop = {**store(("environment:production",)), "name": "shop", "owner": "team-shop"}
    shop["ci"]["github"]["repo"] = "example-org/shop"
    shop["endpoints"] = minimal_product("shop")["endpoints"]
    change = only(iam(against(base, products=[store(), shop])))
    assert (change.area, change.subject, change.kind) == (
        "ci",
        "guard-test-shop-github-deploy",
        "added",
    )
    assert change.effect == "weakens"
    assert change.reason == (
        "new role assumable by tokens from token.actions.githubusercontent.com as "
        "repo:example-org/shop:environment:production; may call ecr:GetAuthorizationToken, "
        "ecr:PutImage, ecr:UploadLayerPart"
    )
