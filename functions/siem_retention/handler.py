"""Apply guard's ISM retention policy to the SIEM's OpenSearch domain, once per deploy.

Pulumi invokes this function (``aws.lambda_.Invocation`` in ``components/siem.py``) with the event
``guard.siem_ism.retention_event`` builds::

    {"endpoint": "https://vpc-aes-siem-....ap-northeast-1.es.amazonaws.com",
     "region": "ap-northeast-1",
     "policy_id": "guard-prod-retention",
     "policy": {"policy": {...}}}   # the body of PUT _plugins/_ism/policies/<policy_id>

and it, through the ISM API (https://docs.opensearch.org/latest/im-plugin/ism/api/):

1. reads the policy; creates it when missing; when the stored policy differs from the event's
   (ignoring what the server adds: policy_id, last_updated_time, schema_version, a null
   error_notification, the user, default action retries, template times), updates it with the
   ``if_seq_no``/``if_primary_term`` it read, re-reading and retrying on a version conflict (409),
   ``MAX_WRITE_ATTEMPTS`` times in all;
2. for each index pattern of the policy's ism_template, lists the matching indices (explain) and
   attaches the policy to those no policy manages (``add``, which never replaces a policy);
3. moves the indices that run an older version of guard's policy to the current one with
   ``change_policy``: ISM runs the copy of the policy an index was given, and an update of the
   policy reaches managed indices only through change_policy (API docs, "Update managed index
   policy"; index-management ManagedIndexRunner);
4. leaves indices that another policy manages (the SIEM's ``rollover100gb``, a hand-made one)
   alone and reports them: replacing a policy someone chose is not a deploy's call.

It returns ``{"policy_id", "action": "created" | "updated" | "unchanged", "seq_no",
"primary_term", "attached": [index], "changed": [index], "other_policy": {index: policy_id}}`` and
logs one line per action. Anything the domain refuses (403 of the domain's access policy or of
fine-grained access control, 400 of ISM's validation, an unreachable endpoint) raises
``RetentionError`` saying what was refused and what to change; Lambda reports it as the
invocation's error, and Pulumi fails the deploy with it.

Requests are SigV4-signed for service ``es`` with the function role's credentials
(https://docs.aws.amazon.com/opensearch-service/latest/developerguide/request-signing.html).
The role needs es:ESHttpGet, es:ESHttpPut and es:ESHttpPost on the domain, and, on a domain with
fine-grained access control, a mapping as a backend role of an OpenSearch role with the ISM
permissions, e.g. ``index_management_full_access``
(https://docs.aws.amazon.com/opensearch-service/latest/developerguide/fgac.html#fgac-mapping,
https://docs.opensearch.org/latest/im-plugin/security/). ISM runs a policy's actions with the
roles of the user who wrote it, so a ``warm_migration`` also needs ``ultrawarm_manager``
(https://docs.aws.amazon.com/opensearch-service/latest/developerguide/ultrawarm.html).

Runtime: Python 3.12 with boto3 from the runtime; opensearch-py and the packages it needs that the
runtime lacks are zipped beside this file (``bundle.py``). The endpoint is ``https://`` in AWS;
plain ``http://`` is accepted for a loopback host only (the tests' server), so signed requests
never cross a network in clear.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar
from urllib.parse import urlsplit

# requests, which opensearch-py's signer imports, warns at import when no character detector is
# installed. None is bundled on purpose (bundle.py): this function never decodes a response with
# requests (urllib3 carries the requests), and the usual detector is compiled per platform.
warnings.filterwarnings("ignore", message="Unable to find acceptable character detection")

import boto3  # noqa: E402
from opensearchpy import OpenSearch, Urllib3AWSV4SignerAuth, Urllib3HttpConnection  # noqa: E402
from opensearchpy.exceptions import ConflictError, TransportError  # noqa: E402
from opensearchpy.exceptions import ConnectionError as EndpointUnreachable  # noqa: E402

LOGGER_NAME = "guard.siem_retention"
logger = logging.getLogger(LOGGER_NAME)
logger.setLevel(logging.INFO)

SIGNING_SERVICE = "es"  # Amazon OpenSearch Service domains; "aoss" would be Serverless
MAX_WRITE_ATTEMPTS = 3
REQUEST_TIMEOUT_SECONDS = 30
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
#: What ISM stores for an action given without "retry" (index-management Action.kt,
#: ActionRetry(DEFAULT_RETRIES); the API docs' update response shows it).
DEFAULT_RETRY = {"count": 3, "backoff": "exponential", "delay": "1m"}
#: Fields of a stored policy that the server sets (ISM API docs, "Get policy"; Policy.kt).
SERVER_FIELDS = frozenset({"policy_id", "last_updated_time", "schema_version", "user"})
#: The add API's reason for an index that already has a policy (TransportAddPolicyAction.kt).
ALREADY_MANAGED = "This index already has a policy"
POLICY_ID_KEY = "index.plugins.index_state_management.policy_id"
ACCESS_DOCS = (
    "https://docs.aws.amazon.com/opensearch-service/latest/developerguide/fgac.html#fgac-mapping "
    "and https://docs.opensearch.org/latest/im-plugin/security/"
)
VPC_DOCS = "https://docs.aws.amazon.com/opensearch-service/latest/developerguide/vpc.html"

T = TypeVar("T")


class RetentionError(RuntimeError):
    """The retention could not be applied; the message says what was refused and what to do."""


@dataclass(frozen=True)
class Request:
    endpoint: str
    region: str
    policy_id: str
    body: Mapping[str, Any]

    @property
    def patterns(self) -> list[str]:
        templates = self.body["policy"]["ism_template"]
        return [pattern for template in templates for pattern in template["index_patterns"]]


def parse_event(event: Any) -> Request:
    """The event's fields, checked enough that a wrong event fails before any request."""
    if not isinstance(event, Mapping):
        raise RetentionError(f"the event must be an object, got {type(event).__name__}")
    missing = [k for k in ("endpoint", "region", "policy_id", "policy") if not event.get(k)]
    if missing:
        raise RetentionError(f"the event lacks {', '.join(missing)} (see guard.siem_ism)")
    body = event["policy"]
    policy = body.get("policy") if isinstance(body, Mapping) else None
    templates = policy.get("ism_template") if isinstance(policy, Mapping) else None
    if not isinstance(templates, list) or not all(
        isinstance(t, Mapping) and isinstance(t.get("index_patterns"), list) for t in templates
    ):
        raise RetentionError(
            "the event's policy is not a PUT _plugins/_ism/policies body with an ism_template"
        )
    return Request(str(event["endpoint"]), str(event["region"]), str(event["policy_id"]), body)


def connect(endpoint: str, region: str) -> OpenSearch:
    """A client for the domain, signing with the credentials boto3 finds (the function's role)."""
    parts = urlsplit(endpoint)
    host = parts.hostname
    if parts.scheme not in ("https", "http") or not host or parts.path not in ("", "/"):
        raise RetentionError(f"endpoint {endpoint!r} is not https://<domain endpoint>")
    if parts.scheme == "http" and host not in LOOPBACK_HOSTS:
        raise RetentionError(f"endpoint {endpoint!r}: signed requests go to https:// only")
    credentials = boto3.Session().get_credentials()
    if credentials is None:
        raise RetentionError("no AWS credentials to sign the requests with (the function role's)")
    use_ssl = parts.scheme == "https"
    return OpenSearch(
        hosts=[{"host": host, "port": parts.port or (443 if use_ssl else 80)}],
        http_auth=Urllib3AWSV4SignerAuth(credentials, region, SIGNING_SERVICE),
        use_ssl=use_ssl,
        verify_certs=True,
        connection_class=Urllib3HttpConnection,
        timeout=REQUEST_TIMEOUT_SECONDS,
        max_retries=1,
    )


def _reason(err: TransportError) -> str:
    """The server's own words: ISM's error.reason, or the Message of an IAM denial."""
    info = err.info if isinstance(err.info, Mapping) else {}
    error = info.get("error")
    if isinstance(error, Mapping):
        causes = error.get("root_cause") or []
        cause = causes[0] if causes and isinstance(causes[0], Mapping) else error
        return str(cause.get("reason") or error.get("reason") or error.get("type"))
    return str(error or info.get("Message") or info.get("message") or err.error)


def _refusal(what: str, endpoint: str, err: TransportError) -> RetentionError:
    if isinstance(err, EndpointUnreachable):
        return RetentionError(
            f"{what}: could not reach {endpoint} ({err.error}). The function must "
            "run in the domain's VPC (guard:siem.network) with a security group the domain's "
            f"security group allows on port 443; see {VPC_DOCS}"
        )
    status, reason = err.status_code, _reason(err)
    if status in (401, 403):
        return RetentionError(
            f"{what}: the domain refused it ({status}: {reason}). Allow the function's role "
            "es:ESHttpGet, es:ESHttpPut and es:ESHttpPost in the domain's access policy and, "
            "with fine-grained access control, map the role as a backend role of an OpenSearch "
            "role with ISM permissions (index_management_full_access) in OpenSearch security; "
            f"see {ACCESS_DOCS}"
        )
    if status == 400:
        return RetentionError(
            f"{what}: the domain rejected the request as invalid (400: {reason}). Fix "
            "guard:siem.retention; a reason about an ISM template priority means another "
            "policy matches the same index patterns at that priority"
        )
    return RetentionError(f"{what}: the domain answered {status} ({reason})")


def _call(what: str, endpoint: str, call: Callable[[], T]) -> T:
    try:
        return call()
    except TransportError as err:
        raise _refusal(what, endpoint, err) from err


def _action(action: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in action.items() if not (k == "retry" and v == DEFAULT_RETRY)}
    rollover = out.get("rollover")
    if isinstance(rollover, Mapping) and rollover.get("copy_alias") is False:
        out["rollover"] = {k: v for k, v in rollover.items() if k != "copy_alias"}
    return out


def comparable(policy: Mapping[str, Any]) -> dict[str, Any]:
    """What guard sets in a policy: a stored policy without the fields the server adds."""
    out = {k: v for k, v in policy.items() if k not in SERVER_FIELDS}
    if out.get("error_notification", "absent") is None:
        del out["error_notification"]
    out["states"] = [
        {
            **state,
            "actions": [_action(a) for a in state.get("actions") or []],
            "transitions": list(state.get("transitions") or []),
        }
        for state in policy.get("states") or []
    ]
    templates = policy.get("ism_template") or []
    if isinstance(templates, Mapping):  # ISM accepts a single template object too
        templates = [templates]
    out["ism_template"] = [
        {k: v for k, v in t.items() if k != "last_updated_time"} for t in templates
    ]
    return out


def ensure_policy(client: OpenSearch, request: Request) -> tuple[str, int, int]:
    """Create or update the policy; returns (action, seq_no, primary_term) of the stored one."""
    ism = client.plugins.index_management
    name, endpoint = request.policy_id, request.endpoint
    desired = comparable(request.body["policy"])
    for attempt in range(1, MAX_WRITE_ATTEMPTS + 1):
        current = _call(
            f"reading ISM policy {name}",
            endpoint,
            partial(ism.get_policy, policy=name, params={"ignore": 404}),
        )
        if _is_not_found(current):
            current = None
        elif not isinstance(current, Mapping) or "_seq_no" not in current:
            raise RetentionError(f"reading ISM policy {name}: unexpected answer {current!r:.300}")
        if current is None:
            action, params = "created", {}
        elif comparable(current["policy"]) == desired:
            logger.info("policy %s unchanged (seq_no %s)", name, current["_seq_no"])
            return "unchanged", current["_seq_no"], current["_primary_term"]
        else:
            action = "updated"
            params = {"if_seq_no": current["_seq_no"], "if_primary_term": current["_primary_term"]}
        try:
            written = ism.put_policy(policy=name, body=dict(request.body), params=params)
        except ConflictError:
            logger.warning(
                "policy %s changed while guard wrote it (attempt %d of %d): reading it again",
                name,
                attempt,
                MAX_WRITE_ATTEMPTS,
            )
            continue
        except TransportError as err:
            raise _refusal(f"writing ISM policy {name}", endpoint, err) from err
        logger.info(
            "policy %s %s (seq_no %s, primary_term %s)",
            name,
            action,
            written["_seq_no"],
            written["_primary_term"],
        )
        return action, written["_seq_no"], written["_primary_term"]
    raise RetentionError(
        f"writing ISM policy {name}: the domain answered a version conflict (409) "
        f"{MAX_WRITE_ATTEMPTS} times in a row, so something else keeps changing the policy. Find "
        "what edits it (OpenSearch Dashboards, another deploy of the same stack) and deploy again"
    )


def _is_not_found(answer: Any) -> bool:
    """A 404 answered as data: requests pass ``ignore=404`` so that the expected "missing" is
    not logged as a failed request by the client."""
    return isinstance(answer, Mapping) and answer.get("status") == 404 and "error" in answer


def _runs_old_version(info: Mapping[str, Any], stored: tuple[int, int], updated: bool) -> bool:
    """Whether a managed index runs another version of the policy than the stored one. Before
    ISM initialises an index the explain API has no policy_seq_no: then only a write now counts."""
    applied = (info.get("policy_seq_no"), info.get("policy_primary_term"))
    if applied[0] is None:
        return updated
    return applied != stored


@dataclass
class IndexActions:
    attached: list[str]
    changed: list[str]
    other_policy: dict[str, str]
    failed: dict[str, str]


def manage_indices(
    client: OpenSearch, request: Request, stored: tuple[int, int], updated: bool
) -> IndexActions:
    """Attach the policy to unmanaged indices and move guard's own to the stored version."""
    ism = client.plugins.index_management
    name, endpoint = request.policy_id, request.endpoint
    done = IndexActions([], [], {}, {})
    seen: set[str] = set()
    for pattern in request.patterns:
        explained = _call(
            f"listing the indices of {pattern}",
            endpoint,
            partial(ism.explain_index, index=pattern, params={"ignore": 404}),
        )
        if _is_not_found(explained):  # a plain index name that does not exist (yet)
            explained = {}
        unmanaged, stale = [], []
        for index, info in sorted(explained.items()):
            if not isinstance(info, Mapping) or index in seen:
                continue  # total_managed_indices, or an index an earlier pattern handled
            seen.add(index)
            current = info.get(POLICY_ID_KEY) or info.get("policy_id")
            if current is None:
                unmanaged.append(index)
            elif current != name:
                done.other_policy[index] = str(current)
                logger.info("left %s on its policy %s", index, current)
            elif _runs_old_version(info, stored, updated):
                stale.append(index)
        if unmanaged:
            answer = _call(
                f"attaching ISM policy {name} to {pattern}",
                endpoint,
                partial(ism.add_policy, index=pattern, body={"policy_id": name}),
            )
            refused = _failures(answer)
            for index in unmanaged:
                if index not in refused:
                    done.attached.append(index)
                    logger.info("attached %s to %s", name, index)
            done.failed.update(
                {i: r for i, r in refused.items() if not r.startswith(ALREADY_MANAGED)}
            )
        for index in stale:
            answer = _call(
                f"moving {index} to the new version of {name}",
                endpoint,
                partial(ism.change_policy, index=index, body={"policy_id": name}),
            )
            refused = _failures(answer)
            if index in refused:
                done.failed[index] = refused[index]
            else:
                done.changed.append(index)
                logger.info("moved %s to the stored version of %s", index, name)
    return done


def _failures(answer: Any) -> dict[str, str]:
    failed = answer.get("failed_indices") if isinstance(answer, Mapping) else None
    return {
        str(f.get("index_name")): str(f.get("reason"))
        for f in failed or []
        if isinstance(f, Mapping)
    }


def apply_retention(client: OpenSearch, request: Request) -> dict[str, Any]:
    """Steps 1 to 4 of the module docstring; returns the summary."""
    action, seq_no, primary_term = ensure_policy(client, request)
    done = manage_indices(client, request, (seq_no, primary_term), action == "updated")
    summary = {
        "policy_id": request.policy_id,
        "action": action,
        "seq_no": seq_no,
        "primary_term": primary_term,
        "attached": sorted(done.attached),
        "changed": sorted(done.changed),
        "other_policy": dict(sorted(done.other_policy.items())),
    }
    logger.info("retention %s", json.dumps(summary, sort_keys=True))
    if done.failed:
        reasons = "; ".join(f"{index}: {reason}" for index, reason in sorted(done.failed.items()))
        raise RetentionError(
            f"ISM policy {request.policy_id} is {action}, but ISM refused these indices: "
            f"{reasons}. Done otherwise: {json.dumps(summary, sort_keys=True)}"
        )
    return summary


def handler(event: Any, context: Any) -> dict[str, Any]:
    request = parse_event(event)
    client = connect(request.endpoint, request.region)
    try:
        return apply_retention(client, request)
    finally:
        client.close()
