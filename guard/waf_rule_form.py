"""One WAF rule in the two spellings guard meets: AWS's API JSON and Pulumi's resource inputs.

guard builds its rules as the WAFv2 API's JSON (``ByteMatchStatement``, ``IPSetReferenceStatement``,
``ARN``), which botocore's model validates. A rule declared as its own ``aws.wafv2.WebAclRule``
(beside a tuner's rules) takes the provider's inputs instead: ``byte_match_statement`` in Python,
``byteMatchStatement`` as the engine records it. :func:`to_inputs` converts guard's rules for the
component; :func:`from_inputs` reads a recorded rule back into AWS's JSON for the policies and
the plan, by walking botocore's shapes, so both directions rest on a published schema.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from botocore.model import Shape, StructureShape

from guard.aws_model import service_model
from guard.resource_types import WEB_ACL, WEB_ACL_RULE

#: The parts of a rule a ``WebAclRule`` carries as inputs (name and priority are plain).
RULE_BODY_KEYS = ("Action", "OverrideAction", "Statement", "VisibilityConfig", "RuleLabels")

_ACRONYM = re.compile(r"([A-Z]+)([A-Z][a-z])")
_WORD = re.compile(r"([a-z\d])([A-Z])")


#: Where the provider's schema does not split AWS's name at its capitals.
IRREGULAR = {"CloudWatchMetricsEnabled": "cloudwatch_metrics_enabled"}


def snake(name: str) -> str:
    """``IPSetReferenceStatement`` -> ``ip_set_reference_statement``, ``ARN`` -> ``arn``."""
    if name in IRREGULAR:
        return IRREGULAR[name]
    return _WORD.sub(r"\1_\2", _ACRONYM.sub(r"\1_\2", name)).lower()


def _to_python(value: Any) -> Any:
    if isinstance(value, dict):
        return {snake(k): _to_python(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_python(v) for v in value]
    return value


def to_inputs(rule: Mapping[str, Any]) -> dict[str, Any]:
    """A rule's action, statement and visibility as ``WebAclRule`` keyword arguments."""
    return {snake(key): _to_python(rule[key]) for key in RULE_BODY_KEYS if key in rule}


def _from_engine(value: Any, shape: Shape) -> Any:
    if isinstance(shape, StructureShape) and isinstance(value, Mapping):
        members = {name.lower(): name for name in shape.members}
        out = {}
        for key, item in value.items():
            name = members.get(key.lower())
            if name is None:
                raise ValueError(f"{shape.name} has no member {key!r}")
            out[name] = _from_engine(item, shape.members[name])
        return out
    if shape.type_name == "list" and isinstance(value, list):
        return [_from_engine(v, shape.member) for v in value]  # type: ignore[attr-defined]
    return value


def from_inputs(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """A recorded ``WebAclRule`` (engine spelling: camelCase) as the WAFv2 API's ``Rule``."""
    rule_shape = service_model("wafv2").shape_for("Rule")
    assert isinstance(rule_shape, StructureShape)
    wanted = {key.lower() for key in ("Name", "Priority", *RULE_BODY_KEYS)}
    body = {k: v for k, v in inputs.items() if k.lower() in wanted and v is not None}
    found: dict[str, Any] = _from_engine(body, rule_shape)
    return found


#: A declared resource as both readers have it: type token, URN, parent URN, inputs.
Declared = tuple[str, str, str | None, Mapping[str, Any]]


def rules_by_web_acl(resources: Iterable[Declared]) -> dict[str, list[dict[str, Any]]]:
    """guard's rules of each web ACL by its URN, in priority order, as AWS's JSON: its inline
    ``ruleJson``, or its ``WebAclRule`` children when a tuner shares it. The plan's records and
    the policy pack's resources both read their web ACLs through this."""
    declared = list(resources)
    children: dict[str, list[dict[str, Any]]] = {}
    for type_token, _, parent, inputs in declared:
        if type_token == WEB_ACL_RULE and parent is not None:
            children.setdefault(parent, []).append(from_inputs(inputs))
    found = {}
    for type_token, urn, _, inputs in declared:
        if type_token != WEB_ACL:
            continue
        # Reading ruleJson may raise the policy SDK's unknown-value error at preview: on purpose.
        inline = json.loads(inputs.get("ruleJson") or "[]")
        rules = (inline if isinstance(inline, list) else []) or children.get(urn, [])
        found[urn] = sorted(rules, key=lambda r: int(r.get("Priority", 0)))
    return found
