"""A local stand-in for the ISM API of an Amazon OpenSearch Service domain, on 127.0.0.1.

It serves exactly what the retention function calls, with the request and response shapes of the
ISM API docs (https://opensearch.org/docs/latest/im-plugin/ism/api/, now served from
docs.opensearch.org; source opensearch-project/documentation-website _im-plugin/ism/api.md):

* ``GET _plugins/_ism/policies/<id>`` ("Get policy"): ``_id, _version, _seq_no, _primary_term,
  policy``; 404 when missing.
* ``PUT _plugins/_ism/policies/<id>[?if_seq_no=&if_primary_term=]`` ("Create policy", "Update
  policy"): 201 or 200 with ``policy: {policy: ...}``. Without sequence numbers ISM creates only
  (409 on an existing policy); with them, stale numbers are a 409 version conflict
  (index-management TransportIndexPolicyAction: opType CREATE, or setIfSeqNo/setIfPrimaryTerm).
* ``POST _plugins/_ism/add/<index>`` ("Add policy"): never replaces a policy; the reason for such
  an index is TransportAddPolicyAction's.
* ``POST _plugins/_ism/change_policy/<index>`` ("Update managed index policy").
* ``GET _plugins/_ism/explain/<index>`` ("Explain index"): every matching index, ``null`` policy
  ids for unmanaged ones (TransportExplainAction), ``policy_seq_no`` and ``policy_primary_term``
  for managed ones (ManagedIndexMetaData), and ``total_managed_indices``.

What the server adds to a stored policy follows the docs' responses and index-management's
Policy.kt and ISMActionsParser.kt: policy_id, last_updated_time, schema_version, a null
error_notification, each action's default ``retry`` and each template's last_updated_time.

Every request must carry a SigV4 signature for service ``es`` in the domain's region
(``Authorization: AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/es/aws4_request,
SignedHeaders=..., Signature=...``, ``X-Amz-Date``, and ``X-Amz-Security-Token`` when the
credentials have a session token); the signature is recomputed with botocore from the test
credentials. Anything else is answered 403, as the domain's access policy would.

Policy bodies are checked against the documented shape (``policy_errors``: the docs' "Policies"
page, https://docs.opensearch.org/latest/im-plugin/ism/policies/, and the parsers it describes,
State.kt, Transition.kt, ISMTemplate.kt, ActionRetry.kt) and refused with 400 and OpenSearch's
error body, so a malformed policy fails here as it would on a domain.
"""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import json
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import ReadOnlyCredentials

ISM = "/_plugins/_ism/"
AUTH_RE = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[a-z0-9-]+)/"
    r"(?P<service>[a-z0-9-]+)/aws4_request, SignedHeaders=(?P<signed>[a-z0-9;-]+), "
    r"Signature=(?P<signature>[0-9a-f]{64})$"
)
AMZ_DATE_RE = re.compile(r"^\d{8}T\d{6}Z$")
#: Time values in transitions and retries (the task's reading of OpenSearch TimeValue).
TIME_RE = re.compile(r"^\d+[dhms]$")
DEFAULT_RETRY = {"count": 3, "backoff": "exponential", "delay": "1m"}
#: Action types of the ISM docs' "Actions" section, plus AWS's UltraWarm/cold ones
#: (https://docs.aws.amazon.com/opensearch-service/latest/developerguide/ism.html).
ACTION_TYPES = frozenset(
    {
        "force_merge", "read_only", "read_write", "replica_count", "shrink", "close", "open",
        "delete", "rollover", "notification", "snapshot", "index_priority", "allocation",
        "rollup", "transform", "alias", "warm_migration", "cold_migration", "cold_delete",
    }
)  # fmt: skip
ROLLOVER_CONDITIONS = frozenset(
    {"min_size", "min_primary_shard_size", "min_doc_count", "min_index_age", "copy_alias"}
)
TRANSITION_CONDITIONS = frozenset(
    {"min_index_age", "min_doc_count", "min_size", "cron", "min_rollover_age"}
)
POLICY_FIELDS = frozenset(
    {
        "policy_id", "description", "last_updated_time", "schema_version", "error_notification",
        "default_state", "states", "ism_template", "user",
    }
)  # fmt: skip
ALREADY_MANAGED = (
    "This index already has a policy, use the update policy API to update index policies"
)
NOT_MANAGED = "This index is not being managed"
SCHEMA_VERSION = 1  # the docs' example responses
EPOCH_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z; stored times grow from here, one per write


class Refused(Exception):
    """An error answer: HTTP status and OpenSearch's error body."""

    def __init__(self, status: int, error_type: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        cause = {"type": error_type, "reason": reason}
        self.body: dict[str, Any] = {
            "error": {"root_cause": [cause], **cause},
            "status": status,
        }


def _bad(reason: str) -> Refused:
    return Refused(400, "illegal_argument_exception", reason)


# --- the documented policy shape -------------------------------------------------------------


def _keys(where: str, value: Any, allowed: frozenset[str] | set[str]) -> list[str]:
    if not isinstance(value, dict):
        return [f"{where} must be an object"]
    return [f"Invalid field: [{k}] found in {where}." for k in value if k not in allowed]


def _action_errors(where: str, action: Any) -> list[str]:
    errors = _keys(where, action, ACTION_TYPES | {"retry", "timeout"})
    if errors:
        return errors
    types = [k for k in action if k in ACTION_TYPES]
    if len(types) != 1:
        return [f"{where} must hold exactly one action, got {types}"]
    config = action[types[0]]
    if not isinstance(config, dict):
        errors.append(f"{where}.{types[0]} must be an object")
    elif types[0] in ("delete", "warm_migration") and config:
        errors.append(f"{where}.{types[0]} takes no parameters, got {sorted(config)}")
    elif types[0] == "rollover":
        errors += _keys(f"{where}.rollover", config, ROLLOVER_CONDITIONS)
    if "retry" in action:
        retry = action["retry"]
        errors += _keys(f"{where}.retry", retry, {"count", "backoff", "delay"})
        if isinstance(retry, dict):
            if not isinstance(retry.get("count"), int) or retry["count"] < 0:
                errors.append(f"{where}.retry.count must be a non-negative integer")
            if retry.get("backoff", "exponential") not in ("exponential", "constant", "linear"):
                errors.append(f"{where}.retry.backoff {retry['backoff']!r} is unknown")
            if not TIME_RE.match(str(retry.get("delay", "1m"))):
                errors.append(f"{where}.retry.delay {retry['delay']!r} is not a time value")
    if "timeout" in action and not TIME_RE.match(str(action["timeout"])):
        errors.append(f"{where}.timeout {action['timeout']!r} is not a time value")
    return errors


def _state_errors(where: str, state: Any, names: set[Any]) -> list[str]:
    errors = _keys(where, state, {"name", "actions", "transitions"})
    if errors:
        return errors
    if not isinstance(state.get("name"), str) or not state["name"].strip():
        errors.append(f"{where}: State must contain a valid name")
    actions, transitions = state.get("actions", []), state.get("transitions", [])
    if not isinstance(actions, list) or not isinstance(transitions, list):
        return [*errors, f"{where}: actions and transitions must be lists"]
    for i, action in enumerate(actions):
        errors += _action_errors(f"{where}.actions[{i}]", action)
    deletes = [i for i, a in enumerate(actions) if isinstance(a, dict) and "delete" in a]
    if deletes and deletes[0] != len(actions) - 1:
        errors.append(f"State={state.get('name')} must not contain an action after a delete action")
    if deletes and transitions:
        errors.append(
            f"State={state.get('name')} cannot contain transitions if using delete action"
        )
    for i, transition in enumerate(transitions):
        here = f"{where}.transitions[{i}]"
        errors += _keys(here, transition, {"state_name", "conditions"})
        if not isinstance(transition, dict):
            continue
        if transition.get("state_name") not in names:
            errors.append(
                f"Policy contains a transition in state={state.get('name')} pointing to a "
                f"nonexistent state={transition.get('state_name')}"
            )
        conditions = transition.get("conditions")
        if conditions is None:
            continue
        errors += _keys(f"{here}.conditions", conditions, TRANSITION_CONDITIONS)
        if isinstance(conditions, dict):
            if len(conditions) > 1:
                errors.append("Cannot provide more than one Transition condition")
            for key in ("min_index_age", "min_rollover_age"):
                if key in conditions and not TIME_RE.match(str(conditions[key])):
                    errors.append(
                        f"{here}.conditions.{key} {conditions[key]!r} is not a time value"
                    )
    return errors


def _template_errors(templates: Any) -> list[str]:
    if isinstance(templates, dict):
        templates = [templates]
    if not isinstance(templates, list):
        return ["ism_template must be a list of objects"]
    errors: list[str] = []
    for i, template in enumerate(templates):
        where = f"ism_template[{i}]"
        errors += _keys(
            "ISMTemplate", template, {"index_patterns", "priority", "last_updated_time"}
        )
        if not isinstance(template, dict):
            continue
        patterns = template.get("index_patterns")
        if not isinstance(patterns, list) or not patterns:
            errors.append(f"{where}: Requires at least one index pattern")
        else:
            for pattern in patterns:
                if not isinstance(pattern, str) or re.search(r"[#:\\/?\"<>| ,]", pattern):
                    errors.append(f"{where}: index_pattern [{pattern}] is not a valid pattern")
                elif pattern.startswith("_"):
                    errors.append(f"{where}: index_pattern [{pattern}] must not start with '_'")
        priority = template.get("priority", 0)
        if isinstance(priority, bool) or not isinstance(priority, int) or priority < 0:
            errors.append(f"{where}: Requires priority to be >= 0, got {priority!r}")
    return errors


def policy_errors(body: Any) -> list[str]:
    """Why a ``PUT _plugins/_ism/policies/<id>`` body is not of the documented shape ([] if so)."""
    if not isinstance(body, dict) or set(body) != {"policy"}:
        return ['the body must be {"policy": {...}}']
    policy = body["policy"]
    errors = _keys("Policy", policy, POLICY_FIELDS)
    if errors:
        return errors
    if not isinstance(policy.get("description"), str):
        errors.append("description is null")
    states = policy.get("states")
    if not isinstance(states, list) or not states:
        return [*errors, "Policy must contain at least one State"]
    names = {s.get("name") for s in states if isinstance(s, dict)}
    if len(names) != len(states):
        errors.append("Policy cannot have duplicate state names")
    if policy.get("default_state") not in names:
        errors.append("Policy must have a valid default state")
    for i, state in enumerate(states):
        errors += _state_errors(f"states[{i}]", state, names)
    if policy.get("ism_template") is not None:
        errors += _template_errors(policy["ism_template"])
    return errors


# --- the domain's state ----------------------------------------------------------------------


@dataclass
class StoredPolicy:
    document: dict[str, Any]
    seq_no: int
    primary_term: int
    version: int


@dataclass
class Index:
    name: str
    policy_id: str | None = None
    policy_seq_no: int | None = None
    policy_primary_term: int | None = None

    @property
    def uuid(self) -> str:
        return hashlib.sha256(self.name.encode()).hexdigest()[:22]


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str]


@dataclass
class IsmDomain:
    """The ISM state of one domain, and the requests it was sent."""

    region: str
    credentials: ReadOnlyCredentials
    primary_term: int = 1
    policies: dict[str, StoredPolicy] = field(default_factory=dict)
    indices: dict[str, Index] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    #: Answer every signed request with this (status, body): a refusal of the domain.
    deny: tuple[int, dict[str, Any]] | None = None
    #: Called before each policy PUT is applied: another writer, e.g. ``write_policy``.
    before_put: Callable[[str], None] | None = None
    _seq: int = -1
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add_index(self, name: str, policy_id: str | None = None) -> Index:
        index = self.indices[name] = Index(name)
        if policy_id is not None:
            stored = self.policies.get(policy_id)
            index.policy_id = policy_id
            if stored is not None:
                index.policy_seq_no, index.policy_primary_term = stored.seq_no, stored.primary_term
        return index

    def write_policy(self, policy_id: str, body: dict[str, Any]) -> StoredPolicy:
        """Store a policy as ISM would (also what another writer does behind the handler)."""
        self._seq += 1
        previous = self.policies.get(policy_id)
        stored = StoredPolicy(
            document=_as_stored(policy_id, body["policy"], EPOCH_MS + self._seq),
            seq_no=self._seq,
            primary_term=self.primary_term,
            version=previous.version + 1 if previous else 1,
        )
        self.policies[policy_id] = stored
        return stored

    def writes(self) -> list[Recorded]:
        return [r for r in self.requests if r.method in ("PUT", "POST")]

    def matching(self, expression: str) -> list[Index]:
        """Indices named by a comma-separated list of names and '*' patterns."""
        names = set()
        for part in expression.split(","):
            if "*" not in part and part not in self.indices:
                raise Refused(404, "index_not_found_exception", f"no such index [{part}]")
            names |= {n for n in self.indices if fnmatch.fnmatchcase(n, part)}
        return [self.indices[n] for n in sorted(names)]


def _as_stored(policy_id: str, policy: dict[str, Any], now_ms: int) -> dict[str, Any]:
    states = [
        {
            "name": s["name"],
            "actions": [{"retry": dict(DEFAULT_RETRY), **a} for a in s.get("actions", [])],
            "transitions": s.get("transitions", []),
        }
        for s in policy["states"]
    ]
    templates = policy.get("ism_template")
    if isinstance(templates, dict):
        templates = [templates]
    return {
        "policy_id": policy_id,
        "description": policy["description"],
        "last_updated_time": now_ms,
        "schema_version": SCHEMA_VERSION,
        "error_notification": policy.get("error_notification"),
        "default_state": policy["default_state"],
        "states": json.loads(json.dumps(states)),
        "ism_template": None
        if templates is None
        else [{"priority": 0, **t, "last_updated_time": now_ms} for t in templates],
    }


# --- the API ---------------------------------------------------------------------------------


def signature_error(domain: IsmDomain, method: str, target: str, headers: Any, body: bytes) -> str:
    """Why a request is not signed for this domain by the test credentials ("" when it is)."""
    auth = headers.get("Authorization") or ""
    match = AUTH_RE.match(auth)
    if match is None:
        return "missing or malformed SigV4 Authorization header"
    amz_date = headers.get("X-Amz-Date") or ""
    creds = domain.credentials
    if not AMZ_DATE_RE.match(amz_date) or not amz_date.startswith(match["date"]):
        return "X-Amz-Date is missing or does not match the credential scope's date"
    if match["region"] != domain.region or match["service"] != "es":
        return f"credential scope {match['region']}/{match['service']} is not {domain.region}/es"
    if match["key"] != creds.access_key:
        return "The security token included in the request is invalid (unknown access key)"
    if creds.token and headers.get("X-Amz-Security-Token") != creds.token:
        return "X-Amz-Security-Token is missing or not the session's"
    signed = match["signed"].split(";")
    if "host" not in signed or "x-amz-date" not in signed:
        return "SignedHeaders must include host and x-amz-date"
    request = AWSRequest(
        method=method,
        url=f"http://{headers.get('Host')}{target}",
        data=body,
        headers={name: headers.get(name) or "" for name in signed},
    )
    request.context["timestamp"] = amz_date
    signer = SigV4Auth(creds, "es", domain.region)
    expected = signer.signature(
        signer.string_to_sign(request, signer.canonical_request(request)), request
    )
    if not hmac.compare_digest(expected, match["signature"]):
        return "The request signature we calculated does not match the signature you provided"
    return ""


def _policy(domain: IsmDomain, method: str, policy_id: str, query: dict[str, str], body: Any):
    stored = domain.policies.get(policy_id)
    if method == "GET":
        if stored is None:
            raise Refused(404, "status_exception", "Policy not found")
        return 200, {
            "_id": policy_id,
            "_version": stored.version,
            "_seq_no": stored.seq_no,
            "_primary_term": stored.primary_term,
            "policy": stored.document,
        }
    errors = policy_errors(body)
    if errors:
        raise Refused(
            400,
            "x_content_parse_exception"
            if "Invalid field" in errors[0]
            else "illegal_argument_exception",
            "; ".join(errors),
        )
    if domain.before_put is not None:
        domain.before_put(policy_id)
        stored = domain.policies.get(policy_id)
    if "if_seq_no" in query or "if_primary_term" in query:
        wanted = (int(query.get("if_seq_no", -2)), int(query.get("if_primary_term", 0)))
        if stored is None or wanted != (stored.seq_no, stored.primary_term):
            current = (
                "no document"
                if stored is None
                else f"seqNo [{stored.seq_no}] and primary term [{stored.primary_term}]"
            )
            raise Refused(
                409,
                "version_conflict_engine_exception",
                f"[{policy_id}]: version conflict, required seqNo [{wanted[0]}], "
                f"primary term [{wanted[1]}]. current document has {current}",
            )
    elif stored is not None:
        raise Refused(
            409,
            "version_conflict_engine_exception",
            f"[{policy_id}]: version conflict, document already exists "
            f"(current version [{stored.version}])",
        )
    written = domain.write_policy(policy_id, body)
    return 201 if written.version == 1 else 200, {
        "_id": policy_id,
        "_version": written.version,
        "_primary_term": written.primary_term,
        "_seq_no": written.seq_no,
        "policy": {"policy": written.document},
    }


def _status(updated: int, failed: list[dict[str, str]]) -> dict[str, Any]:
    return {"updated_indices": updated, "failures": bool(failed), "failed_indices": failed}


def _attach(domain: IsmDomain, verb: str, expression: str, body: Any):
    allowed = {"policy_id"} if verb == "add" else {"policy_id", "state", "include"}
    errors = _keys(f"{verb} request", body, allowed)
    if errors or not isinstance(body.get("policy_id"), str):
        raise _bad("; ".join(errors) or "policy_id is required")
    stored = domain.policies.get(body["policy_id"])
    if stored is None:
        raise Refused(404, "status_exception", f"Could not find policy={body['policy_id']}")
    updated, failed = 0, []
    for index in domain.matching(expression):
        if (verb == "add") == (index.policy_id is not None):
            reason = ALREADY_MANAGED if verb == "add" else NOT_MANAGED
            failed.append({"index_name": index.name, "index_uuid": index.uuid, "reason": reason})
            continue
        index.policy_id = body["policy_id"]
        index.policy_seq_no, index.policy_primary_term = stored.seq_no, stored.primary_term
        updated += 1
    return 200, _status(updated, failed)


def _explain(domain: IsmDomain, expression: str):
    answer: dict[str, Any] = {}
    for index in domain.matching(expression):
        info: dict[str, Any] = {
            "index.plugins.index_state_management.policy_id": index.policy_id,
            "index.opendistro.index_state_management.policy_id": index.policy_id,
        }
        if index.policy_id is not None:
            info |= {
                "index": index.name,
                "index_uuid": index.uuid,
                "policy_id": index.policy_id,
                "policy_seq_no": index.policy_seq_no,
                "policy_primary_term": index.policy_primary_term,
                "enabled": True,
            }
        else:
            info["enabled"] = None
        answer[index.name] = info
    answer["total_managed_indices"] = sum(1 for i in domain.matching(expression) if i.policy_id)
    return 200, answer


def route(domain: IsmDomain, method: str, path: str, query: dict[str, str], body: Any):
    """(status, JSON body) of an authenticated request."""
    if not path.startswith(ISM):
        raise _bad(f"no handler found for uri [{path}] and method [{method}]")
    verb, _, target = path[len(ISM) :].partition("/")
    target = unquote(target)
    if verb == "policies" and target and method in ("GET", "PUT"):
        return _policy(domain, method, target, query, body)
    if verb in ("add", "change_policy") and target and method == "POST":
        return _attach(domain, verb, target, body)
    if verb == "explain" and target and method == "GET":
        return _explain(domain, target)
    raise _bad(f"no handler found for uri [{path}] and method [{method}]")


class _Handler(BaseHTTPRequestHandler):
    server: IsmServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet: pytest shows failures
        pass

    def do_GET(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        domain = self.server.domain
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode(errors="replace")
        with domain._lock:
            domain.requests.append(
                Recorded(self.command, parts.path, query, body, dict(self.headers.items()))
            )
            problem = signature_error(domain, self.command, self.path, self.headers, raw)
            try:
                if problem:
                    status, answer = 403, {"message": problem}
                elif domain.deny is not None:
                    status, answer = domain.deny
                else:
                    status, answer = route(domain, self.command, parts.path, query, body)
            except Refused as refused:
                status, answer = refused.status, refused.body
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class IsmServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, domain: IsmDomain) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.domain = domain

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@contextmanager
def serving(domain: IsmDomain) -> Iterator[IsmServer]:
    """Run an ISM server for ``domain`` in a thread for the duration of the block."""
    server = IsmServer(domain)
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
