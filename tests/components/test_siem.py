"""The SIEM retention component (guard:siem.retention), run through the real program under Pulumi
mocks: the function that applies the ISM policy, what its role may do (its inline policy under
the stack's permissions boundary, evaluated with guard.iam_eval), its code archive, and the
invocation whose input is the policy, re-run exactly when the policy changes."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

import pulumi
import pytest

from components.lambda_function import FunctionSpec, code_archive
from components.siem import RETENTION_CODE, RETENTION_HANDLER
from functions.siem_retention.bundle import RUNTIME_PROVIDED, archive_files, bundled_packages
from guard.config import load_stack_config
from guard.plan import PlanResult, ResourceRecord, run_program
from guard.policy_run import run_policies
from guard.report_siem import RETENTION_COMPONENT
from guard.siem_ism import DEFAULT_INDICES, delete_after_days_of, hot_days_of
from policies.rules import (
    iam_no_admin_policy,
    iam_no_broad_grants,
    iam_no_wildcard_principal,
    iam_permissions_boundary,
)
from tests.conftest import ROOT, TODAY, raw_config, within
from tests.guard.iam_plan import may

ACCOUNT, REGION = "111111111111", "ap-northeast-1"
COMPONENT = "guard:siem:SiemRetention"
FUNCTION = "aws:lambda/function:Function"
INVOCATION = "aws:lambda/invocation:Invocation"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
NAME = "guard-test-siem-retention"
ENDPOINT = "https://vpc-aes-siem-abcdefghijklmnopqrstuvwxyz.ap-northeast-1.es.amazonaws.com"
CUSTOM_ENDPOINT = "https://siem.example.com"
SUBNETS = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
GROUPS = ["sg-0123456789abcdef0"]
DOMAIN = f"arn:aws:es:{REGION}:{ACCOUNT}:domain/aes-siem"
mine = within(COMPONENT)


@cache
def plan_of(variant: str = "vpc", hot_days: int = 7, run: int = 0) -> PlanResult:
    """``vpc``: the example stack's guard:siem (a generated VPC endpoint, network);
    ``custom``: a custom endpoint with domain_name, warm days, one index, no network.
    ``run`` plans the same config again (for determinism)."""
    siem: dict[str, Any] = {
        "loader_queue_arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:aes-siem-sqs-splitted-logs",
        "loader_role_arn": f"arn:aws:iam::{ACCOUNT}:role/aes-siem-LambdaEsLoaderServiceRole",
    }
    if variant == "vpc":
        siem |= {
            "domain_endpoint": ENDPOINT,
            "retention": {"hot_days": hot_days, "index_rotation": "daily"},
            "network": {"subnet_ids": SUBNETS, "security_group_ids": GROUPS},
        }
    else:
        siem |= {
            "domain_endpoint": CUSTOM_ENDPOINT,
            "domain_name": "siem-prod",
            "retention": {
                "hot_days": hot_days,
                "warm_days": 30,
                "indices": ["log-aws-waf-*"],
                "index_rotation": "daily",
            },
        }
    # A WAF log bucket feeds the loader (without one, guard warns: nothing notifies the queue).
    logs = {"bucket": "aws-waf-logs-example-test", "delivery": "s3"}
    loaded = load_stack_config(raw_config(siem=siem, logs=logs), "test.yaml", today=TODAY)
    assert loaded.warnings == ()
    return run_program(loaded, "test")


def one(plan: PlanResult, type_token: str) -> ResourceRecord:
    (record,) = mine(plan, type_token)
    return record


def role_policy(plan: PlanResult) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(one(plan, ROLE_POLICY).inputs["policy"])
    return document


def actions_of(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def resources_of(statement: dict[str, Any]) -> list[str]:
    resource = statement["Resource"]
    return [resource] if isinstance(resource, str) else list(resource)


def event_of(plan: PlanResult) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(one(plan, INVOCATION).inputs["input"])
    return event


# --- the component ---------------------------------------------------------------------------


def test_one_component_holds_the_function_its_role_logs_and_invocation() -> None:
    plan = plan_of()
    (component,) = [r for r in plan.resources if r.type == COMPONENT]
    assert COMPONENT == RETENTION_COMPONENT  # what the plan's SIEM section looks under
    assert component.name == "siem-retention"
    (stack,) = [r for r in plan.resources if r.type == "pulumi:pulumi:Stack"]
    assert component.parent == stack.urn
    children = [r for r in plan.resources if r.parent == component.urn]
    assert sorted(r.type for r in children) == sorted(
        [LOG_GROUP, ROLE, ROLE_POLICY, FUNCTION, INVOCATION]
    )
    assert {r.region for r in children} == {REGION}


def test_no_component_without_retention() -> None:
    loader_only = raw_config(
        siem={
            "loader_queue_arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:q",
            "loader_role_arn": f"arn:aws:iam::{ACCOUNT}:role/r",
        },
        logs={"bucket": "example-test-waf-logs"},
    )
    plan = run_program(load_stack_config(loader_only, "test.yaml", today=TODAY), "test")
    assert [r for r in plan.resources if r.type in (COMPONENT, INVOCATION)] == []


# --- the function ----------------------------------------------------------------------------


def test_the_function_is_named_for_the_stack_and_runs_python_3_12() -> None:
    plan = plan_of()
    function = one(plan, FUNCTION)
    assert function.inputs["name"] == NAME
    assert function.inputs["runtime"] == "python3.12"
    assert function.inputs["handler"] == "handler.handler"
    # Deploys invoke it one at a time, and a cold VPC function has time to attach.
    assert function.inputs["reservedConcurrentExecutions"] == 1
    assert function.inputs["timeout"] >= 60
    log_group = one(plan, LOG_GROUP)
    assert log_group.inputs["name"] == f"/aws/lambda/{NAME}"
    assert function.inputs["loggingConfig"]["logGroup"] == log_group.inputs["name"]
    assert function.inputs["role"] == one(plan, ROLE).state["arn"]


def test_the_function_runs_in_the_domains_vpc_only_with_a_network() -> None:
    assert one(plan_of(), FUNCTION).inputs["vpcConfig"] == {
        "subnetIds": SUBNETS,
        "securityGroupIds": GROUPS,
    }
    assert not one(plan_of("custom"), FUNCTION).inputs.get("vpcConfig")


def test_the_code_is_the_handler_with_the_packages_the_runtime_lacks() -> None:
    archive = set(one(plan_of(), FUNCTION).inputs["code"]["archive"])
    assert {"handler.py", "opensearchpy", "requests", "certifi", "idna"} <= archive
    assert set(bundled_packages()) <= archive
    # The runtime's own SDK is never shipped: a bundled copy can break on runtime updates.
    assert not archive & {"boto3", "botocore", "urllib3", *RUNTIME_PROVIDED}
    assert not any(name == "__pycache__" or name.endswith(".pyc") for name in archive)


def test_the_archive_holds_sources_only_whichever_machine_deploys() -> None:
    spec = FunctionSpec(
        name=NAME,
        description="",
        role_description="",
        code=str(ROOT / RETENTION_CODE),
        handler=RETENTION_HANDLER,
        runtime="python3.12",
        timeout=1,
        log_days=1,
        policy={},
        bundle={**archive_files(), **bundled_packages()},
    )
    archive = code_archive(spec)
    assert isinstance(archive, pulumi.AssetArchive)
    handler = archive.assets["handler.py"]
    assert isinstance(handler, pulumi.FileAsset)
    assert Path(handler.path) == ROOT / RETENTION_CODE / "handler.py"
    package = archive.assets["opensearchpy"]
    assert isinstance(package, pulumi.AssetArchive)
    assert "__init__.py" in package.assets
    assert list(package.assets) == sorted(package.assets)  # the same zip every time
    assert not any("__pycache__" in name or name.endswith(".pyc") for name in package.assets)
    # Exactly the bundle: not the helper that lists it, nor the package marker.
    assert "bundle.py" not in archive.assets and "__init__.py" not in archive.assets


# --- what its role may do --------------------------------------------------------------------


def test_the_role_carries_the_stacks_permissions_boundary() -> None:
    plan = plan_of()
    role = one(plan, ROLE)
    (boundary,) = [
        r
        for r in plan.resources
        if r.type == "aws:iam/policy:Policy" and r.inputs["name"] == "guard-test-boundary"
    ]
    assert role.inputs["name"] == NAME
    assert role.inputs["permissionsBoundary"] == boundary.state["arn"]
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "lambda.amazonaws.com"}]
    assert one(plan, ROLE_POLICY).inputs["role"] == NAME


@pytest.mark.parametrize(("variant", "domain"), [("vpc", "aes-siem"), ("custom", "siem-prod")])
def test_es_http_is_granted_only_on_the_domains_ism_paths(variant: str, domain: str) -> None:
    statements = [
        s
        for s in role_policy(plan_of(variant))["Statement"]
        if any(a.startswith("es:") for a in actions_of(s))
    ]
    (statement,) = statements
    assert statement["Effect"] == "Allow"
    assert all(a.startswith("es:ESHttp") for a in actions_of(statement))
    assert "es:ESHttpDelete" not in actions_of(statement)
    arn = f"arn:aws:es:{REGION}:{ACCOUNT}:domain/{domain}"
    assert resources_of(statement) == [f"{arn}/_plugins/_ism/*"]


def test_the_role_may_apply_the_policy_and_nothing_else_on_the_domain() -> None:
    plan = plan_of()
    ism = f"{DOMAIN}/_plugins/_ism"
    allowed = [
        ("es:ESHttpGet", f"{ism}/policies/guard-test-retention"),
        ("es:ESHttpPut", f"{ism}/policies/guard-test-retention"),
        ("es:ESHttpGet", f"{ism}/explain/log-aws-waf-*"),
        ("es:ESHttpPost", f"{ism}/add/log-aws-waf-2026-11-25"),
        ("es:ESHttpPost", f"{ism}/change_policy/log-aws-elb-2026-11-25"),
        ("logs:PutLogEvents", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{NAME}:x"),
    ]
    for action, resource in allowed:
        assert may(plan, NAME, action, resource), (action, resource)
    refused = [
        ("es:ESHttpDelete", f"{ism}/policies/guard-test-retention"),
        ("es:ESHttpPut", f"arn:aws:es:{REGION}:{ACCOUNT}:domain/other/_plugins/_ism/policies/x"),
        ("es:ESHttpPost", f"{DOMAIN}/_bulk"),
        ("es:ESHttpGet", f"{DOMAIN}/log-aws-waf-2026-11-25/_search"),
        ("es:ESHttpPut", f"{DOMAIN}/_plugins/_security/api/rolesmapping/all_access"),
        ("es:UpdateDomainConfig", DOMAIN),
        ("logs:PutLogEvents", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/x:x"),
    ]
    for action, resource in refused:
        assert not may(plan, NAME, action, resource), (action, resource)


def test_network_interface_actions_only_in_the_domains_vpc() -> None:
    plan = plan_of()
    ec2 = f"arn:aws:ec2:{REGION}:{ACCOUNT}"
    for subnet in SUBNETS:
        assert may(plan, NAME, "ec2:CreateNetworkInterface", f"{ec2}:subnet/{subnet}")
    assert may(plan, NAME, "ec2:CreateNetworkInterface", f"{ec2}:security-group/{GROUPS[0]}")
    assert may(plan, NAME, "ec2:DeleteNetworkInterface", f"{ec2}:network-interface/eni-1")
    assert not may(
        plan, NAME, "ec2:CreateNetworkInterface", f"{ec2}:subnet/subnet-0fffffffffffffff0"
    )
    assert not may(
        plan, NAME, "ec2:CreateNetworkInterface", f"{ec2}:security-group/sg-0fffffffffffffff0"
    )
    without = role_policy(plan_of("custom"))["Statement"]
    assert not [a for s in without for a in actions_of(s) if a.startswith("ec2:")]
    assert not may(plan_of("custom"), NAME, "ec2:CreateNetworkInterface", f"{ec2}:subnet/x")


def test_the_iam_policies_of_the_pack_pass() -> None:
    pack = [
        iam_permissions_boundary.POLICY,
        iam_no_broad_grants.POLICY,
        iam_no_wildcard_principal.POLICY,
        iam_no_admin_policy.POLICY,
    ]
    for variant in ("vpc", "custom"):
        assert run_policies(plan_of(variant), pack, today=TODAY).violations == []


# --- the invocation --------------------------------------------------------------------------


def test_the_invocation_calls_the_function_with_the_ism_policy_event() -> None:
    plan = plan_of()
    invocation, function = one(plan, INVOCATION), one(plan, FUNCTION)
    assert invocation.inputs["functionName"] == NAME
    assert invocation.property_dependencies["functionName"] == [function.urn]
    event = event_of(plan)
    assert {k: event[k] for k in ("endpoint", "region", "policy_id")} == {
        "endpoint": ENDPOINT,
        "region": REGION,
        "policy_id": "guard-test-retention",
    }
    policy = event["policy"]["policy"]
    assert policy["default_state"] == "hot"
    assert policy["ism_template"] == [{"index_patterns": sorted(DEFAULT_INDICES), "priority": 10}]
    hot, delete = policy["states"]
    assert hot["name"] == "hot"
    assert hot["transitions"] == [{"state_name": "delete", "conditions": {"min_index_age": "7d"}}]
    assert delete == {"name": "delete", "actions": [{"delete": {}}], "transitions": []}
    assert hot_days_of(event["policy"]) == delete_after_days_of(event["policy"]) == 7


def test_warm_days_move_indices_to_ultrawarm_before_deleting_them() -> None:
    event = event_of(plan_of("custom"))
    assert event["endpoint"] == CUSTOM_ENDPOINT
    policy = event["policy"]["policy"]
    assert policy["ism_template"] == [{"index_patterns": ["log-aws-waf-*"], "priority": 10}]
    assert [s["name"] for s in policy["states"]] == ["hot", "warm", "delete"]
    warm = policy["states"][1]
    assert any("warm_migration" in action for action in warm["actions"])
    assert warm["transitions"] == [{"state_name": "delete", "conditions": {"min_index_age": "37d"}}]
    assert hot_days_of(event["policy"]) == 7
    assert delete_after_days_of(event["policy"]) == 37


def test_the_trigger_is_the_hash_of_the_input() -> None:
    invocation = one(plan_of(), INVOCATION)
    digest = hashlib.sha256(invocation.inputs["input"].encode()).hexdigest()
    assert invocation.inputs["triggers"] == {"policy_sha256": digest}


def test_the_invocation_reruns_when_hot_days_change_and_only_then() -> None:
    first, again = one(plan_of(), INVOCATION), one(plan_of(run=1), INVOCATION)
    assert again.inputs["input"] == first.inputs["input"]
    assert again.inputs["triggers"] == first.inputs["triggers"]
    longer = one(plan_of(hot_days=8), INVOCATION)
    assert longer.inputs["triggers"] != first.inputs["triggers"]
    assert hot_days_of(json.loads(longer.inputs["input"])["policy"]) == 8
