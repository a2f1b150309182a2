"""IAM requests a real deploy of the plan makes, and the pipeline roles' documents from the plan.

For each resource the plan declares, :func:`requests_for` builds the requests IAM would
authorise when the deploy role creates, changes or deletes it: every action of the grants that
serve its type, on each ARN the action accepts (the resource's own ARN and the ones it
references: the role it passes, the IP sets and rule groups a web ACL names, the load balancer
an association targets), with the condition context IAM would see (tags, the role's permissions
boundary, the service a role is passed to). ARNs and names come from the recorded inputs.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from guard.ci_grant import Grant
from guard.ci_scope import PipelineScope
from guard.config import load_stack_config, load_stack_file
from guard.config.loader import read_stack_file
from guard.iam_eval import Request, evaluate
from guard.plan import PlanResult, ResourceRecord, run_program
from guard.resource_types import (
    ALARM,
    ALIAS,
    ASSOCIATION,
    BUCKET_OWNERSHIP,
    BUCKET_TYPES,
    CHATBOT,
    CONTROL,
    DELEGATION_TYPES,
    DETECTOR,
    DETECTOR_FEATURE,
    EVENT_RULE,
    EVENT_TARGET,
    FMS_POLICY,
    FUNCTION,
    GLUE_DATABASE,
    GLUE_TABLE,
    GUARDDUTY_ORGANIZATION,
    GUARDDUTY_ORGANIZATION_FEATURE,
    HUB,
    HUB_AGGREGATOR,
    HUB_ORGANIZATION,
    HUB_POLICY,
    HUB_POLICY_ASSOCIATION,
    INVOCATION,
    INVOKE_CONFIG,
    IP_SET,
    KEY,
    LOG_GROUP,
    LOG_STREAM,
    NAMED_QUERY,
    PERMISSION,
    QUEUE,
    ROLE,
    ROLE_ATTACHMENT,
    ROLE_POLICY,
    RULE_GROUP,
    SHIELD_TYPES,
    STANDARD,
    STREAM,
    SUBSCRIPTION,
    TOPIC,
    TOPIC_POLICY,
    WAF_LOGGING,
    WEB_ACL,
    WEB_ACL_RULE,
    WORKGROUP,
)
from guard.waf_rule_form import from_inputs
from tests import iam_authorization as aws
from tests.conftest import ROOT, STACKS, TODAY

MANAGED_POLICIES = ROOT / "tests" / "data" / "aws-managed-policies"
#: Types only an administrator changes: the pipeline's way in and the limit on every role.
ADMIN_ONLY_TYPES = {
    "aws:iam/openIdConnectProvider:OpenIdConnectProvider": "identity providers (boundary)",
    "aws:iam/policy:Policy": "the permissions boundary itself",
    **dict.fromkeys(DELEGATION_TYPES, "the management account's one-time delegation"),
}
PASSED_TO = {
    FUNCTION: "lambda.amazonaws.com",
    STREAM: "firehose.amazonaws.com",
    CHATBOT: "chatbot.amazonaws.com",
}
SERVICE_LINKED = {
    DETECTOR: ("guardduty.amazonaws.com", "AWSServiceRoleForAmazonGuardDuty"),
    DETECTOR_FEATURE: (
        "malware-protection.guardduty.amazonaws.com",
        "AWSServiceRoleForAmazonGuardDutyMalwareProtection",
    ),
    HUB: ("securityhub.amazonaws.com", "AWSServiceRoleForSecurityHub"),
    WAF_LOGGING: ("wafv2.amazonaws.com", "AWSServiceRoleForWAFV2Logging"),
    **dict.fromkeys(SHIELD_TYPES.values(), ("shield.amazonaws.com", "AWSServiceRoleForAWSShield")),
}


@cache
def full_plan() -> PlanResult:
    """The fixture prod stack with every area at its widest: a Shield subscription bought here
    and WAF and ALB logs handed to a SIEM whose retention guard applies (so the plan has every
    resource type guard declares)."""
    raw = dict(read_stack_file(STACKS / "Pulumi.prod.yaml").raw)
    shield = json.loads(raw["guard:shield"])
    raw["guard:shield"] = json.dumps({**shield, "subscription": "create"})
    logs = json.loads(raw["guard:logs"])
    logs["alb"] = {"bucket": "example-prod-alb-logs", "retention_days": 90}
    raw["guard:logs"] = json.dumps(logs)
    raw["guard:siem"] = json.dumps(
        {
            "domain_endpoint": "https://vpc-aes-siem-abcdefghijklmnopqrstuvwxyz.ap-northeast-1.es.amazonaws.com",
            "loader_queue_arn": "arn:aws:sqs:ap-northeast-1:111111111111:siem-waf-loader",
            "loader_role_arn": "arn:aws:iam::111111111111:role/siem-es-loader",
            "retention": {"hot_days": 7},
            "network": {
                "subnet_ids": ["subnet-0123456789abcdef0"],
                "security_group_ids": ["sg-0123456789abcdef0"],
            },
        }
    )
    # A tuner on one product: its web ACL's rules are WebAclRule resources.
    products = json.loads(raw["guard:products"])
    products[0]["waf"] = {**products[0].get("waf", {}), "tuner": {"service": "wafcharm"}}
    raw["guard:products"] = json.dumps(products)
    return run_program(load_stack_config(raw, "full prod", today=TODAY), "prod")


#: The example organization stack: the delegated administrator's account (222222222222).
ORGANIZATION_STACK = ROOT / "examples" / "organization" / "stacks" / "Pulumi.org.yaml"
#: What the example leaves to the user: the repository and state bucket of its pipeline.
ORGANIZATION_PIPELINE = {
    "github_repo": "example-org/security-org",
    "state_bucket": "example-org-state",
}


@cache
def organization_plan(*, delegation: bool = False) -> PlanResult:
    """The example organization stack with a pipeline (``guard:ci`` and ``guard:pipeline``
    added), written to a stack file and planned as stack ``org``: detectors in two regions,
    Security Hub central configuration, Firewall Manager's WAF baseline with its rate-based rule
    groups and Shield policies. ``delegation`` adds the management account's one-time step."""
    document = yaml.safe_load(ORGANIZATION_STACK.read_text(encoding="utf-8"))
    config = document["config"]
    config["guard:ci"] = {"github": {}}
    config["guard:pipeline"] = dict(ORGANIZATION_PIPELINE)
    if delegation:
        config["guard:organization"]["delegation"] = {"profile": "org-management"}
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / ORGANIZATION_STACK.name
        path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        loaded = load_stack_file(path, today=TODAY)
    return run_program(loaded, "org")


def managed_policy(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        (MANAGED_POLICIES / f"{name}.json").read_text(encoding="utf-8")
    )["Document"]
    return document


@cache
def read_only_access() -> tuple[str, ...]:
    """Every action pattern AWS's ReadOnlyAccess (the vendored version) allows."""
    return tuple(
        action
        for statement in managed_policy("ReadOnlyAccess")["Statement"]
        for action in statement["Action"]
    )


def _record(plan: PlanResult, type_: str, name: str) -> ResourceRecord:
    (record,) = [r for r in plan.resources if r.type == type_ and r.inputs.get("name") == name]
    return record


def role_identity(plan: PlanResult, role: str) -> dict[str, dict[str, Any]]:
    """A role's identity policies as declared: inline, AWS managed and the stack's own managed."""
    own = {
        r.state["arn"]: json.loads(r.inputs["policy"])
        for r in plan.resources
        if r.type == "aws:iam/policy:Policy"
    }
    identity: dict[str, dict[str, Any]] = {}
    for record in plan.resources:
        if record.type == ROLE_POLICY and record.inputs["role"] == role:
            identity["inline"] = json.loads(record.inputs["policy"])
        if record.type == ROLE_ATTACHMENT and record.inputs["role"] == role:
            arn = record.inputs["policyArn"]
            name = arn.rsplit("/", 1)[-1]
            identity[name] = own[arn] if arn in own else managed_policy(name)
    return identity


def stack_boundary(plan: PlanResult) -> dict[str, Any]:
    boundary: dict[str, Any] = json.loads(
        _record(plan, "aws:iam/policy:Policy", f"guard-{plan.stack}-boundary").inputs["policy"]
    )
    return boundary


def _arns(record: ResourceRecord, plan: PlanResult) -> list[str]:
    """Every ARN a change to ``record`` is authorised on: its own and those it references."""
    config = plan.loaded.config
    a, r, i, s = config.account_id, record.region, record.inputs, record.state
    t = record.type
    if t in (WEB_ACL, IP_SET, ROLE, KEY, TOPIC, EVENT_RULE, QUEUE, FUNCTION, STREAM) or t in (
        SHIELD_TYPES["protection"],
        SHIELD_TYPES["group"],
        ALARM,
    ):
        return [s["arn"]]
    if t == ASSOCIATION:
        return [i["webAclArn"], i["resourceArn"]]
    if t == WAF_LOGGING:
        return [i["resourceArn"]]
    if t == WEB_ACL_RULE:
        return [i["webAclArn"]]
    if t in (ROLE_POLICY, ROLE_ATTACHMENT):
        return [f"arn:aws:iam::{a}:role/{i['role']}"]
    if t == ALIAS:
        return [f"arn:aws:kms:{r}:{a}:{i['name']}", _sibling_key(record, plan)["state"]["arn"]]
    if t == TOPIC_POLICY:
        return [i["arn"]]
    if t == SUBSCRIPTION:
        return [i["topic"]]
    if t == EVENT_TARGET:
        return [f"arn:aws:events:{r}:{a}:rule/{i['rule']}"]
    if t == LOG_GROUP:
        return [f"arn:aws:logs:{r}:{a}:log-group:{i['name']}"]
    if t == LOG_STREAM:
        return [f"arn:aws:logs:{r}:{a}:log-group:{i['logGroupName']}:log-stream:{i['name']}"]
    if t in (INVOKE_CONFIG, PERMISSION):
        name = i.get("functionName") or i["function"]
        return [name if name.startswith("arn:") else f"arn:aws:lambda:{r}:{a}:function:{name}"]
    if t == CHATBOT:
        return [f"arn:aws:chatbot::{a}:chat-configuration/slack-channel/{i['configurationName']}"]
    if t in (*BUCKET_TYPES, BUCKET_OWNERSHIP):
        # Settings name their bucket by its ID (an output); the dependency names the bucket.
        bucket = record if t == "aws:s3/bucket:Bucket" else _bucket_of(record, plan)
        return [f"arn:aws:s3:::{bucket.inputs['bucket']}"]
    if t == INVOCATION:
        return [f"arn:aws:lambda:{r}:{a}:function:{i['functionName']}"]
    if t == WORKGROUP:
        return [f"arn:aws:athena:{r}:{a}:workgroup/{i['name']}"]
    if t == NAMED_QUERY:
        return [f"arn:aws:athena:{r}:{a}:workgroup/{i['workgroup']}"]
    glue = f"arn:aws:glue:{r}:{a}"
    if t == GLUE_DATABASE:
        return [f"{glue}:catalog", f"{glue}:database/{i['name']}"]
    if t == GLUE_TABLE:
        db = i["databaseName"]
        return [f"{glue}:catalog", f"{glue}:database/{db}", f"{glue}:table/{db}/{i['name']}"]
    if t == DETECTOR:
        return [f"arn:aws:guardduty:{r}:{a}:detector/{s['id']}"]
    if t == DETECTOR_FEATURE:
        return [f"arn:aws:guardduty:{r}:{a}:detector/{i['detectorId']}"]
    if t in (HUB, STANDARD, CONTROL, HUB_ORGANIZATION, HUB_POLICY_ASSOCIATION):
        return [f"arn:aws:securityhub:{r}:{a}:hub/default"]
    if t in (GUARDDUTY_ORGANIZATION, GUARDDUTY_ORGANIZATION_FEATURE):
        return [f"arn:aws:guardduty:{r}:{a}:detector/{i['detectorId']}"]
    if t == HUB_AGGREGATOR:
        return [f"arn:aws:securityhub:{r}:{a}:finding-aggregator/{s['id']}"]
    if t == HUB_POLICY:
        return [f"arn:aws:securityhub:{r}:{a}:configuration-policy/{s['id']}"]
    if t == FMS_POLICY:
        # Firewall Manager's ARN carries the policy ID it generates, not the name.
        return [f"arn:aws:fms:{r}:{a}:policy/{s['id']}"]
    if t == RULE_GROUP:
        scope = "global" if i["scope"] == "CLOUDFRONT" else "regional"
        return [f"arn:aws:wafv2:{r}:{a}:{scope}/rulegroup/{i['name']}/{s['id']}"]
    if t == SHIELD_TYPES["health"]:
        return [f"arn:aws:shield::{a}:protection/{i['shieldProtectionId']}"]
    if t == SHIELD_TYPES["drt_role"]:
        return [i["roleArn"]]
    if t == SHIELD_TYPES["drt_logs"]:
        return [f"arn:aws:s3:::{i['logBucket']}"]
    if t in SHIELD_TYPES.values():
        return []
    raise KeyError(f"{t}: no ARN builder; add one when the deploy table serves a new type")


def _bucket_of(record: ResourceRecord, plan: PlanResult) -> ResourceRecord:
    by_urn = {r.urn: r for r in plan.resources}
    return next(
        by_urn[u]
        for u in record.property_dependencies.get("bucket", [])
        if by_urn[u].type == "aws:s3/bucket:Bucket"
    )


def _referenced(record: ResourceRecord, plan: PlanResult, action: str) -> list[str]:
    """Other resources ``action`` on ``record`` is authorised on: the role passed to a service,
    the IP sets and rule groups a web ACL's rules name."""
    i = record.inputs
    if action == "iam:PassRole":
        passed = {
            FUNCTION: lambda: i["role"],
            STREAM: lambda: i["extendedS3Configuration"]["roleArn"],
            CHATBOT: lambda: i["iamRoleArn"],
            SHIELD_TYPES["drt_role"]: lambda: i["roleArn"],
        }
        return [passed[record.type]()] if record.type in passed else []
    if record.type in (WEB_ACL, WEB_ACL_RULE) and action in (
        "wafv2:CreateWebACL",
        "wafv2:UpdateWebACL",
    ):
        region = record.region or plan.loaded.config.region
        rules = (
            json.loads(i.get("ruleJson") or "[]") if record.type == WEB_ACL else [from_inputs(i)]
        )
        return _references(rules, region, plan.loaded.config.account_id)
    return []


def _references(rules: list[Any], region: str, account: str) -> list[str]:
    """The IP sets, managed rule sets and rule groups a web ACL's rules name."""
    found = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "IPSetReferenceStatement" or key == "RuleGroupReferenceStatement":
                    found.append(value["ARN"])
                elif key == "ManagedRuleGroupStatement":
                    # IAM names a managed rule group by its rule set; its owner's account is AWS's.
                    found.append(
                        f"arn:aws:wafv2:{region}:aws:regional/managedruleset/{value['Name']}/x"
                    )
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(rules)
    return found


def _sibling_key(alias: ResourceRecord, plan: PlanResult) -> dict[str, Any]:
    key = next(
        r
        for r in plan.resources
        if r.type == KEY and r.parent == alias.parent and r.region == alias.region
    )
    return {"state": key.state, "tags": key.inputs.get("tags") or {}}


def _context(
    record: ResourceRecord, plan: PlanResult, action: str, arn: str, *, own: bool, principal: str
) -> dict[str, Any]:
    """The condition keys IAM would see for ``action`` on ``arn`` (only those it takes).

    ``own`` says ``arn`` is the record's own resource, whose tags IAM sees as resource tags.
    """
    context: dict[str, Any] = {"aws:PrincipalArn": principal}
    tags = record.inputs.get("tags") or {}
    if record.type == ALIAS and arn.startswith(f"arn:aws:kms:{record.region}:") and ":key/" in arn:
        tags = _sibling_key(record, plan)["tags"]
    own = own or record.type == ALIAS
    for key, value in tags.items():
        context[f"aws:RequestTag/{key}"] = value
        if own:
            context[f"aws:ResourceTag/{key}"] = value
    role = None
    if record.type == ROLE:
        role = record
    elif record.type in (ROLE_POLICY, ROLE_ATTACHMENT):
        role = _record(plan, ROLE, record.inputs["role"])
    if role is not None and role.inputs.get("permissionsBoundary"):
        context["iam:PermissionsBoundary"] = role.inputs["permissionsBoundary"]
    if record.type == ROLE_ATTACHMENT:
        context["iam:PolicyARN"] = record.inputs["policyArn"]
    if record.type in PASSED_TO:
        context["iam:PassedToService"] = PASSED_TO[record.type]
    if record.type in SERVICE_LINKED:
        context["iam:AWSServiceName"] = SERVICE_LINKED[record.type][0]
    return {k: v for k, v in context.items() if aws.takes_condition_key(action, k)}


def _pipeline_identity(record: ResourceRecord, stack: str) -> bool:
    """The pipeline roles and their policies are an administrator's (boundary: FixedIdentities)."""
    role = record.inputs.get("name") if record.type == ROLE else record.inputs.get("role")
    return record.type in (ROLE, ROLE_POLICY, ROLE_ATTACHMENT) and str(role).startswith(
        f"guard-{stack}-pipeline-"
    )


def requests_for(
    plan: PlanResult, grants: Sequence[Grant]
) -> Iterator[tuple[ResourceRecord, Request]]:
    """Every request the table's grants stand for, on the plan's own resources."""
    by_type: dict[str, list[Grant]] = {}
    for grant in grants:
        for type_ in grant.serves:
            by_type.setdefault(type_, []).append(grant)
    account = plan.loaded.config.account_id
    principal = PipelineScope.of(plan.loaded.config, plan.stack).deploy_role
    for record in plan.resources:
        if record.type not in by_type or _pipeline_identity(record, plan.stack):
            continue
        arns = _arns(record, plan)
        for grant in by_type[record.type]:
            for action in grant.actions:
                if aws.star_only(action):
                    context = _context(record, plan, action, "*", own=False, principal=principal)
                    yield record, Request(action, "*", context)
                    continue
                if action == "iam:CreateServiceLinkedRole":
                    service, name = SERVICE_LINKED[record.type]
                    targets = [f"arn:aws:iam::{account}:role/aws-service-role/{service}/{name}"]
                else:
                    involved = arns + _referenced(record, plan, action)
                    targets = [arn for arn in involved if aws.accepts(action, arn)]
                if not targets:
                    raise AssertionError(
                        f"{grant.sid} serves {record.type} with {action}, but {record.name} "
                        f"involves no resource it accepts: {arns}"
                    )
                for arn in targets:
                    own = arn in arns[:1]
                    context = _context(record, plan, action, arn, own=own, principal=principal)
                    yield record, Request(action, arn, context)


def may(plan: PlanResult, role: str, action: str, resource: str = "*", **context: Any) -> bool:
    """Would IAM allow ``role`` (as the plan declares it, with the boundary) this request?"""
    principal = f"arn:aws:iam::{plan.loaded.config.account_id}:role/{role}"
    request = Request(action, resource, {"aws:PrincipalArn": principal, **context})
    return evaluate(request, role_identity(plan, role), stack_boundary(plan)).allowed
