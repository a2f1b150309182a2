"""The tuner role's documents as plain data: held to AWS's Service Authorization data, to the
allowlist the tuner-role-* policies enforce, and evaluated (trust) without Pulumi.

The config builders here are shared with tests/components/test_tuner.py and the policy tests.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

import pytest

from guard.config import LoadedConfig, load_stack_config
from guard.config.errors import StackNameError
from guard.iam_eval import (
    as_strings,
    conditions_hold,
    glob_match,
    normalise_context,
    policy_statements,
)
from guard.tuner_policy import (
    ALLOWED_ACTIONS,
    EXTERNAL_ID_PLACEHOLDER,
    MAX_INLINE_POLICY_CHARS,
    OWN_RULE_RESOURCE_ACTIONS,
    TUNER_TAG,
    log_object_prefixes,
    scope_problems,
    trust_problems,
    tuned_web_acls,
    tuner_permissions,
    tuner_service_of,
    tuner_trust_policy,
)
from tests import iam_authorization as aws
from tests.conftest import TODAY, alb_arn, minimal_product, raw_config

ACCOUNT = "111111111111"
REGION = "ap-northeast-1"
#: The service's own account, as its console shows it.
WAFCHARM_ACCOUNT = "222222222222"
WAFCHARM = f"arn:aws:iam::{WAFCHARM_ACCOUNT}:root"
EXTERNAL_ID = "wafcharm-ext-7f3a9c"
ENCRYPTED = {"secure": "v1:AAAA0123456789abcdef"}
BUCKET = "example-prod-waf-logs"
S3_BUCKET = "aws-waf-logs-example-prod"
VENDOR_GROUP = (
    f"arn:aws:wafv2:{REGION}:{ACCOUNT}:regional/rulegroup/vendor-rules/"
    "12345678-1234-1234-1234-123456789012"
)
DISTRIBUTION = f"arn:aws:cloudfront::{ACCOUNT}:distribution/E2EXAMPLE1"


def store() -> dict[str, Any]:
    """A product with an ALB and a CloudFront endpoint, an IP list and a rule group of its own."""
    product = minimal_product(
        "store",
        ip_blocklist=[{"cidr": "203.0.113.0/24", "reason": "scanner seen in incident 42"}],
        external_rule_groups=[{"name": "vendor", "arn": VENDOR_GROUP, "wcu": 100}],
    )
    product["endpoints"].append({"name": "cdn", "kind": "cloudfront", "arn": DISTRIBUTION})
    return product


def admin(**waf: Any) -> dict[str, Any]:
    """A product no tuner edits (``tuner: null`` overrides guard:waf_tuner)."""
    return minimal_product("admin", **{"tuner": None, **waf})


def sections(
    *,
    external_id: Any = None,
    delivery: str | None = None,
    logs: bool = True,
    **extra: Any,
) -> dict[str, Any]:
    """guard:products (store tuned by WafCharm, admin untuned), guard:tuners and guard:logs."""
    found: dict[str, Any] = {
        "products": [store(), admin()],
        "waf_tuner": {"service": "wafcharm"},
        "tuners": {
            "wafcharm": {
                "principal": WAFCHARM,
                "external_id": ENCRYPTED if external_id is None else external_id,
            }
        },
    }
    if logs:
        bucket = S3_BUCKET if delivery == "s3" else BUCKET
        found["logs"] = {"bucket": bucket, **({"delivery": delivery} if delivery else {})}
    return {**found, **extra}


def loaded_config(**kwargs: Any) -> LoadedConfig:
    """The stack's config; a plaintext external ID comes as a real ``pulumi up`` passes it."""
    plaintext = isinstance(kwargs.get("external_id"), str)
    raw = raw_config(**sections(**kwargs))
    keys = ("guard:tuners",) if plaintext else ()
    return load_stack_config(raw, "test.yaml", today=TODAY, secret_keys=keys)


def permissions(**kwargs: Any) -> dict[str, Any]:
    document = tuner_permissions(loaded_config(**kwargs).config, "prod", "wafcharm")
    assert document is not None
    return document


def statement(document: Mapping[str, Any], sid: str) -> Mapping[str, Any]:
    (found,) = [s for s in document["Statement"] if s.get("Sid") == sid]
    return found


def actions_of(document: Mapping[str, Any]) -> set[str]:
    return {a for s in document["Statement"] for a in as_strings("Action", s["Action"])}


# --- trust -------------------------------------------------------------------------------------


def assumable(trust: Mapping[str, Any], caller: str, external_id: str | None = None) -> bool:
    """Would STS let ``caller`` (a role or user of some account) AssumeRole under ``trust``?

    The trust side of a cross-account AssumeRole: a statement applies when its Principal names
    the caller or the caller's account root (the account then decides through its own IAM) and
    its conditions hold for the request, which carries ``sts:ExternalId`` only when given.
    """
    account = caller.split(":")[4]
    context: dict[str, str] = {"aws:PrincipalArn": caller, "aws:PrincipalAccount": account}
    if external_id is not None:
        context["sts:ExternalId"] = external_id
    request = normalise_context(context)
    allowed = False
    for stmt in policy_statements(trust):
        principals = as_strings("Principal.AWS", stmt["Principal"]["AWS"])
        named = any(p in (caller, f"arn:aws:iam::{account}:root") or p == "*" for p in principals)
        action = any(
            glob_match(a, "sts:AssumeRole", ignore_case=True)
            for a in as_strings("Action", stmt["Action"])
        )
        if named and action and conditions_hold(stmt.get("Condition", {}), request):
            if stmt["Effect"] == "Deny":
                return False
            allowed = True
    return allowed


SERVICE_ROLE = f"arn:aws:iam::{WAFCHARM_ACCOUNT}:role/wafcharm-assumer"


def test_the_service_assumes_the_role_with_its_external_id_only() -> None:
    trust = tuner_trust_policy(WAFCHARM, EXTERNAL_ID)
    assert assumable(trust, SERVICE_ROLE, EXTERNAL_ID)
    assert not assumable(trust, SERVICE_ROLE)
    assert not assumable(trust, SERVICE_ROLE, "another-customers-id")
    # Another account (another customer, or an attacker) with the right ID is still refused.
    assert not assumable(trust, "arn:aws:iam::333333333333:role/x", EXTERNAL_ID)
    assert not assumable(trust, f"arn:aws:iam::{ACCOUNT}:role/guard-prod-pipeline-deploy")


def test_a_role_principal_lets_only_that_role_assume_it() -> None:
    trust = tuner_trust_policy(SERVICE_ROLE, EXTERNAL_ID)
    assert assumable(trust, SERVICE_ROLE, EXTERNAL_ID)
    assert not assumable(trust, f"arn:aws:iam::{WAFCHARM_ACCOUNT}:role/other", EXTERNAL_ID)


def test_the_trust_names_one_principal_and_one_action() -> None:
    (only,) = tuner_trust_policy(WAFCHARM, EXTERNAL_ID)["Statement"]
    assert only["Principal"] == {"AWS": WAFCHARM}
    assert only["Action"] == "sts:AssumeRole"
    assert only["Condition"] == {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}}
    # The offline plan's placeholder is the marker guard plan shows for every secret.
    assert trust_problems(tuner_trust_policy(WAFCHARM, EXTERNAL_ID_PLACEHOLDER)) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda s: s.pop("Condition"), "does not require sts:ExternalId"),
        (
            lambda s: s.update(Condition={"StringLike": {"sts:ExternalId": "*"}}),
            "does not require sts:ExternalId",
        ),
        (
            lambda s: s.update(Condition={"StringEquals": {"sts:ExternalId": ""}}),
            "does not require sts:ExternalId",
        ),
        (lambda s: s.update(Principal="*"), "every principal"),
        (lambda s: s.update(Principal={"AWS": ["*"]}), "every principal"),
        (lambda s: s.update(NotPrincipal=s.pop("Principal")), "NotPrincipal"),
    ],
)
def test_trust_problems_find_what_lets_others_in(change: Any, expected: str) -> None:
    trust = tuner_trust_policy(WAFCHARM, EXTERNAL_ID)
    change(trust["Statement"][0])
    assert any(expected in p for p in trust_problems(trust))


def test_external_id_key_is_case_insensitive_and_deny_statements_pass() -> None:
    trust = tuner_trust_policy(WAFCHARM, EXTERNAL_ID)
    trust["Statement"][0]["Condition"] = {"StringEquals": {"STS:externalid": EXTERNAL_ID}}
    trust["Statement"].append(
        {"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole", "Condition": {}}
    )
    assert trust_problems(trust) == []


# --- what the role may do: AWS's data --------------------------------------------------------


@pytest.fixture(scope="module", params=["firehose", "s3"])
def document(request: pytest.FixtureRequest) -> dict[str, Any]:
    return permissions(delivery=request.param)


def test_every_action_exists_and_is_on_the_allowlist(document: dict[str, Any]) -> None:
    for action in actions_of(document):
        assert aws.exists(action), action
        assert action in ALLOWED_ACTIONS, action
    assert scope_problems(document) == []


def test_every_statement_names_resources_its_actions_accept(document: dict[str, Any]) -> None:
    """``*`` only for actions AWS authorises on ``*`` alone; every ARN accepted by some action
    of its statement and every action accepting some ARN of it."""
    for stmt in document["Statement"]:
        actions, resources = stmt["Action"], stmt["Resource"]
        if resources == ["*"]:
            assert all(aws.star_only(a) for a in actions), stmt["Sid"]
            continue
        for action in actions:
            assert not aws.star_only(action), (stmt["Sid"], action)
            assert any(aws.accepts(action, r) for r in resources), (stmt["Sid"], action)
        for resource in resources:
            assert any(aws.accepts(a, resource) for a in actions), (stmt["Sid"], resource)


def test_every_condition_key_is_one_its_actions_take(document: dict[str, Any]) -> None:
    for stmt in document["Statement"]:
        for block in stmt.get("Condition", {}).values():
            for key in block:
                for action in stmt["Action"]:
                    assert aws.takes_condition_key(action, key), (stmt["Sid"], action, key)


def test_dependent_actions_are_granted(document: dict[str, Any]) -> None:
    """Creating its own sets with tags needs wafv2:TagResource on them: it is granted."""
    granted = actions_of(document)
    missing = {
        (action, dep)
        for action in granted
        for dep in aws.dependent_actions(action)
        if dep not in granted
    }
    assert missing == set()


def test_the_allowlist_agrees_with_aws_on_star_only_actions() -> None:
    """``any`` (``*`` allowed) exactly for actions AWS authorises on ``*`` alone."""
    for action, scope in ALLOWED_ACTIONS.items():
        assert aws.star_only(action) == (scope == "any"), action


def test_only_reads_except_editing_web_acls_and_its_own_sets(document: dict[str, Any]) -> None:
    writes = {a for a in actions_of(document) if not aws.is_read(a)}
    assert writes == {
        "wafv2:UpdateWebACL",
        "kms:Decrypt",  # AWS files Decrypt as a write; the condition keeps it to S3 reads
        *(a for a in OWN_RULE_RESOURCE_ACTIONS if not aws.is_read(a)),
    }


@pytest.mark.parametrize(
    "refused",
    [
        "iam:*",
        "sts:*",
        "s3:Put*",
        "s3:Delete*",
        "s3:*Policy*",
        "wafv2:*LoggingConfiguration",
        "wafv2:CreateWebACL",
        "wafv2:DeleteWebACL",
        "wafv2:*Associate*",
        "wafv2:*PermissionPolicy",
        "wafv2:*APIKey*",
        "kms:Encrypt",
        "kms:*Key*",
        "cloudwatch:Put*",
        "cloudwatch:Delete*",
    ],
)
def test_no_grant_of(document: dict[str, Any], refused: str) -> None:
    granted = {a for a in actions_of(document) if glob_match(refused, a, ignore_case=True)}
    if refused == "wafv2:*LoggingConfiguration":
        granted.discard("wafv2:GetLoggingConfiguration")
    assert granted == set()


# --- what the role may do: scope -------------------------------------------------------------


def test_web_acls_are_the_tuned_ones_in_their_regions() -> None:
    config = loaded_config().config
    acls = tuned_web_acls(config, "prod", "wafcharm")
    assert [(a.name, a.scope, a.region) for a in acls] == [
        ("guard-prod-store-alb", "REGIONAL", REGION),
        ("guard-prod-store-cf", "CLOUDFRONT", "us-east-1"),
    ]
    assert acls[0].rule_groups == (VENDOR_GROUP,)
    assert statement(permissions(), "TuneWebAcls")["Resource"] == [
        f"arn:aws:wafv2:{REGION}:{ACCOUNT}:regional/webacl/guard-prod-store-alb/*",
        f"arn:aws:wafv2:us-east-1:{ACCOUNT}:global/webacl/guard-prod-store-cf/*",
    ]
    assert "guard-prod-admin" not in json.dumps(permissions())


def test_each_service_gets_only_the_web_acls_it_tunes() -> None:
    other = {"principal": "arn:aws:iam::444444444444:root", "external_id": ENCRYPTED}
    config = loaded_config(
        products=[
            store(),
            admin(tuner={"service": "other", "rule_prefix": "tuned-", "wcu": 500}),
        ],
        tuners={
            "wafcharm": {"principal": WAFCHARM, "external_id": ENCRYPTED},
            "other": other,
        },
    ).config
    assert [a.name for a in tuned_web_acls(config, "prod", "other")] == ["guard-prod-admin-alb"]
    document = tuner_permissions(config, "prod", "other")
    assert document is not None
    assert statement(document, "TuneWebAcls")["Resource"] == [
        f"arn:aws:wafv2:{REGION}:{ACCOUNT}:regional/webacl/guard-prod-admin-alb/*"
    ]
    # Its own sets are those named with its own prefix, in its web ACL's region only.
    assert statement(document, "OwnRuleResources")["Resource"] == [
        f"arn:aws:wafv2:{REGION}:{ACCOUNT}:regional/{kind}/tuned-*/*"
        for kind in ("ipset", "regexpatternset", "rulegroup")
    ]
    assert "us-east-1" not in json.dumps(statement(document, "FindWafResources"))


def test_its_own_sets_are_named_by_its_rule_prefix() -> None:
    own = statement(permissions(), "OwnRuleResources")["Resource"]
    assert own == sorted(
        f"arn:aws:wafv2:{region}:{ACCOUNT}:{kind}/{set_kind}/wafcharm-*/*"
        for region, kind in ((REGION, "regional"), ("us-east-1", "global"))
        for set_kind in ("ipset", "regexpatternset", "rulegroup")
    )
    prefixed = copy.deepcopy(sections())
    prefixed["waf_tuner"]["rule_prefix"] = "wc-"
    config = load_stack_config(raw_config(**prefixed), "test.yaml", today=TODAY).config
    document = tuner_permissions(config, "prod", "wafcharm")
    assert document is not None
    assert all("/wc-*/" in r for r in statement(document, "OwnRuleResources")["Resource"])


def test_firehose_logs_are_read_by_region() -> None:
    document = permissions()
    prefixes = [f"waf/region={REGION}/", "waf/region=us-east-1/"]
    assert statement(document, "ReadLogObjects")["Resource"] == [
        f"arn:aws:s3:::{BUCKET}/{p}*" for p in prefixes
    ]
    assert statement(document, "ListLogObjects")["Condition"] == {
        "StringLike": {"s3:prefix": [f"{p}*" for p in prefixes]}
    }
    decrypt = statement(document, "DecryptLogsThroughS3")
    assert decrypt["Resource"] == [f"arn:aws:kms:{REGION}:{ACCOUNT}:key/*"]
    assert decrypt["Condition"]["StringEquals"] == {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}


def test_s3_delivered_logs_are_read_per_tuned_web_acl() -> None:
    document = permissions(delivery="s3")
    base = f"AWSLogs/{ACCOUNT}/WAFLogs"
    assert statement(document, "ReadLogObjects")["Resource"] == [
        f"arn:aws:s3:::{S3_BUCKET}/{base}/{REGION}/guard-prod-store-alb/*",
        f"arn:aws:s3:::{S3_BUCKET}/{base}/cloudfront/guard-prod-store-cf/*",
    ]


def test_without_guard_logs_nothing_in_s3_or_kms() -> None:
    document = permissions(logs=False)
    assert not {a for a in actions_of(document) if a.startswith(("s3:", "kms:"))}
    assert log_object_prefixes(loaded_config(logs=False).config, []) == []


def test_a_tuner_no_waf_names_gets_no_grant() -> None:
    config = loaded_config(waf_tuner=None, products=[store(), admin()]).config
    assert tuner_permissions(config, "prod", "wafcharm") is None


def test_many_tuned_web_acls_widen_the_log_prefix_then_stop() -> None:
    def config_with(count: int) -> Any:
        products = [
            {
                "name": f"p{i:03d}",
                "owner": "team",
                "endpoints": [{"name": "web", "kind": "alb", "arn": alb_arn(f"p{i}")}],
            }
            for i in range(count)
        ]
        return loaded_config(delivery="s3", products=products).config

    document = tuner_permissions(config_with(40), "prod", "wafcharm")
    assert document is not None
    assert len(json.dumps(document, separators=(",", ":"))) <= MAX_INLINE_POLICY_CHARS
    assert statement(document, "ReadLogObjects")["Resource"] == [
        f"arn:aws:s3:::{S3_BUCKET}/AWSLogs/{ACCOUNT}/WAFLogs/*"
    ]
    with pytest.raises(StackNameError, match="guard-prod-wafcharm names 150 web ACLs"):
        tuner_permissions(config_with(150), "prod", "wafcharm")


# --- the allowlist check (the tuner-role-scope policy's core) --------------------------------


def _with(document: dict[str, Any], **stmt: Any) -> dict[str, Any]:
    changed = copy.deepcopy(document)
    changed["Statement"].append({"Effect": "Allow", **stmt})
    return changed


TUNED = {"guard-prod-store-alb", "guard-prod-store-cf"}
WEB_ACL = f"arn:aws:wafv2:{REGION}:{ACCOUNT}:regional/webacl"
IP_SET = f"arn:aws:wafv2:{REGION}:{ACCOUNT}:regional/ipset"


@pytest.mark.parametrize(
    ("stmt", "expected"),
    [
        ({"Action": "wafv2:*", "Resource": "*"}, "name each action"),
        ({"Action": "iam:PassRole", "Resource": "*"}, "iam:PassRole is not an action"),
        ({"Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"}, "s3:PutObject"),
        (
            {"Action": "wafv2:PutLoggingConfiguration", "Resource": f"{WEB_ACL}/*"},
            "wafv2:PutLoggingConfiguration is not",
        ),
        ({"Action": "wafv2:DeleteWebACL", "Resource": f"{WEB_ACL}/*"}, "DeleteWebACL is not"),
        ({"Action": "wafv2:UpdateWebACL", "Resource": "*"}, "on every resource"),
        ({"Action": "wafv2:UpdateWebACL", "Resource": f"{WEB_ACL}/*"}, "on every webacl"),
        (
            {"Action": "wafv2:UpdateWebACL", "Resource": f"{WEB_ACL}/guard-prod-admin-alb/*"},
            "guard-prod-admin-alb, which it does not tune",
        ),
        (
            {
                "Action": "wafv2:UpdateIPSet",
                "Resource": f"{IP_SET}/guard-prod-store-alb-block-ipv4/*",
            },
            "names guard's ipsets",
        ),
        ({"Action": "wafv2:DeleteIPSet", "Resource": f"{IP_SET}/g*"}, "names guard's ipsets"),
        (
            {"Action": "wafv2:TagResource", "Resource": f"{WEB_ACL}/guard-prod-store-alb/*"},
            "only its own",
        ),
        (
            {"Action": "kms:Decrypt", "Resource": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/*"},
            "kms:ViaService",
        ),
        (
            {"Action": "s3:GetObject", "Resource": "arn:aws:s3:::other-bucket/*"},
            "not the WAF log bucket",
        ),
        ({"Action": "s3:GetObject", "Resource": "arn:aws:s3:::*"}, "on buckets '*'"),
        ({"NotAction": "iam:*", "Resource": "*"}, "NotAction"),
    ],
)
def test_scope_problems_find_what_a_tuner_must_not_do(stmt: dict[str, Any], expected: str) -> None:
    document = _with(permissions(), **stmt)
    problems = scope_problems(document, tuned=TUNED, log_buckets=[BUCKET])
    assert any(expected in p for p in problems), problems


def test_the_granted_document_passes_with_the_config_known() -> None:
    assert scope_problems(permissions(), tuned=TUNED, log_buckets=[BUCKET]) == []
    # Deny statements restrict: never a finding.
    deny = {"Effect": "Deny", "Action": "*", "Resource": "*"}
    document = permissions()
    document["Statement"].append(deny)
    assert scope_problems(document, tuned=TUNED, log_buckets=[BUCKET]) == []


def test_a_tuner_role_is_known_by_its_name_or_its_tag() -> None:
    assert tuner_service_of("prod", "guard-prod-wafcharm") == "wafcharm"
    assert tuner_service_of("prod", "guard-prod-other") == "other"
    assert tuner_service_of("prod", "guard-staging-wafcharm") is None
    assert tuner_service_of("prod", "guard-prod-chatbot") is None
    assert tuner_service_of("prod", "renamed", {TUNER_TAG: "wafcharm"}) == "wafcharm"
