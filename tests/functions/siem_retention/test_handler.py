"""The retention function against a local ISM API (ism_server.py) that checks signatures and bodies.

The domain starts as a SIEM leaves it: its own ``rollover100gb`` policy (data.ini of
aws-samples/siem-on-amazon-opensearch-service), monthly WAF and ELB indices without a policy, one
rollover index on the SIEM's policy, and an index of another log type.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.credentials import Credentials, ReadOnlyCredentials
from opensearchpy import OpenSearch, Urllib3AWSV4SignerAuth, Urllib3HttpConnection
from opensearchpy.exceptions import AuthorizationException, RequestError, TransportError

from functions.siem_retention import handler
from guard.siem_ism import (
    DEFAULT_INDICES,
    SIEM_ROLLOVER,
    WARM_RETRY,
    hot_days_of,
    policy_id,
    retention_event,
    retention_policy,
)
from tests.functions.siem_retention.ism_server import (
    IsmDomain,
    IsmServer,
    policy_errors,
    serving,
)

REGION = "ap-northeast-1"
ACCESS_KEY, SECRET_KEY = "AKIDGUARDTEST0000001", "guard-test-secret"
POLICY = policy_id("prod")
SIEM_ROLLOVER_POLICY = {
    "policy": {
        "description": "Do not edit. Provided by AWS. rollover by 100gb.",
        "default_state": "rollover",
        "states": [{"name": "rollover", "actions": [{"rollover": {"min_size": "100gb"}}]}],
        "ism_template": [{"index_patterns": ["log-*-00*"], "priority": 0}],
    }
}
UNMANAGED = ["log-aws-elb-2026-11", "log-aws-waf-2026-10", "log-aws-waf-2026-11"]
FGAC_REFUSAL = {
    "error": {
        "root_cause": [
            {
                "type": "security_exception",
                "reason": "no permissions for [cluster:admin/opendistro/ism/policy/get] and User "
                "[name=arn:aws:iam::111111111111:role/guard-prod-siem-retention, "
                "backend_roles=[arn:aws:iam::111111111111:role/guard-prod-siem-retention], "
                "requestedTenant=null]",
            }
        ],
        "type": "security_exception",
        "reason": "no permissions for [cluster:admin/opendistro/ism/policy/get]",
    },
    "status": 403,
}
IAM_REFUSAL = {
    "Message": "User: arn:aws:sts::111111111111:assumed-role/guard-prod-siem-retention/fn is "
    "not authorized to perform: es:ESHttpGet because no identity-based policy allows it"
}


def aws_credentials(monkeypatch: pytest.MonkeyPatch, token: str | None = None) -> None:
    """The function's credentials as Lambda gives them: environment variables only."""
    for key in list(os.environ):
        if key.startswith("AWS_"):
            monkeypatch.delenv(key)
    env = {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    if token:
        env["AWS_SESSION_TOKEN"] = token
    for key, value in env.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def domain(monkeypatch: pytest.MonkeyPatch) -> IsmDomain:
    aws_credentials(monkeypatch)
    siem = IsmDomain(REGION, ReadOnlyCredentials(ACCESS_KEY, SECRET_KEY, None))
    siem.write_policy("rollover100gb", SIEM_ROLLOVER_POLICY)
    for name in [*UNMANAGED, "log-aws-cloudtrail-2026-11"]:
        siem.add_index(name)
    siem.add_index("log-aws-waf-000001", "rollover100gb")
    return siem


@pytest.fixture
def server(domain: IsmDomain) -> Iterator[IsmServer]:
    with serving(domain) as running:
        yield running


def event(server: IsmServer, **settings: Any) -> dict[str, Any]:
    body = retention_policy(
        hot_days=settings.pop("hot_days", 7),
        warm_days=settings.pop("warm_days", None),
        indices=settings.pop("indices", DEFAULT_INDICES),
        description="guard prod: WAF and ELB logs",
        **settings,
    )
    return retention_event(endpoint=server.url, region=REGION, policy_id=POLICY, body=body)


def run(server: IsmServer, **settings: Any) -> dict[str, Any]:
    return handler.handler(event(server, **settings), None)


def stored_hot_days(domain: IsmDomain) -> int:
    return hot_days_of({"policy": domain.policies[POLICY].document})


# --- behaviour users rely on -----------------------------------------------------------------


def test_first_run_creates_the_policy_and_attaches_it_to_existing_indices(
    server: IsmServer, domain: IsmDomain
) -> None:
    result = run(server)

    assert result == {
        "policy_id": POLICY,
        "action": "created",
        "seq_no": domain.policies[POLICY].seq_no,
        "primary_term": 1,
        "attached": UNMANAGED,
        "changed": [],
        "other_policy": {"log-aws-waf-000001": "rollover100gb"},
    }
    json.dumps(result)
    assert stored_hot_days(domain) == 7
    assert domain.policies[POLICY].document["ism_template"][0]["priority"] == 10
    assert {name: domain.indices[name].policy_id for name in UNMANAGED} == dict.fromkeys(
        UNMANAGED, POLICY
    )
    assert domain.indices["log-aws-cloudtrail-2026-11"].policy_id is None
    put = next(r for r in domain.requests if r.method == "PUT")
    assert put.query == {}  # a create: no sequence numbers to match


def test_a_second_run_with_the_same_policy_writes_nothing(
    server: IsmServer, domain: IsmDomain
) -> None:
    first = run(server)
    before, writes = len(domain.requests), len(domain.writes())

    second = run(server)

    assert len(domain.writes()) == writes
    assert [(r.method, r.query) for r in domain.requests[before:]] == [("GET", {})] * 3
    assert second == {**first, "action": "unchanged", "attached": []}


def test_a_changed_hot_days_updates_with_the_stored_sequence_numbers(
    server: IsmServer, domain: IsmDomain
) -> None:
    run(server, hot_days=7)
    stored = domain.policies[POLICY]
    before = len(domain.requests)

    result = run(server, hot_days=14)

    put = next(r for r in domain.requests[before:] if r.method == "PUT")
    assert put.query == {"if_seq_no": str(stored.seq_no), "if_primary_term": "1"}
    assert result["action"] == "updated"
    assert result["seq_no"] == domain.policies[POLICY].seq_no > stored.seq_no
    assert stored_hot_days(domain) == 14
    # Indices run the copy of the policy they were given: they move to the new version.
    assert result["changed"] == UNMANAGED
    assert {domain.indices[n].policy_seq_no for n in UNMANAGED} == {result["seq_no"]}
    assert domain.indices["log-aws-waf-000001"].policy_id == "rollover100gb"


def test_a_concurrent_change_between_read_and_write_is_read_again(
    server: IsmServer, domain: IsmDomain
) -> None:
    run(server, hot_days=7)
    other = retention_policy(hot_days=3, warm_days=None, indices=["log-*"], description="hand")

    def someone_else_writes_first(policy: str) -> None:
        domain.before_put = None  # once
        domain.write_policy(policy, other)

    domain.before_put = someone_else_writes_first
    before = len(domain.requests)

    result = run(server, hot_days=30)

    puts = [r for r in domain.requests[before:] if r.method == "PUT"]
    # The first PUT carried the numbers read before the other write, the second the new ones.
    assert [int(p.query["if_seq_no"]) for p in puts] == [result["seq_no"] - 2, result["seq_no"] - 1]
    assert result["action"] == "updated"
    assert stored_hot_days(domain) == 30


def test_a_policy_that_keeps_changing_fails_clearly(server: IsmServer, domain: IsmDomain) -> None:
    run(server, hot_days=7)
    other = retention_policy(hot_days=3, warm_days=None, indices=["log-*"], description="hand")

    def someone_else_always_writes_first(policy: str) -> None:
        domain.write_policy(policy, other)

    domain.before_put = someone_else_always_writes_first

    with pytest.raises(handler.RetentionError, match=r"version conflict \(409\) 3 times"):
        run(server, hot_days=30)
    assert stored_hot_days(domain) == 3


@pytest.mark.parametrize(
    ("refusal", "words"),
    [
        (FGAC_REFUSAL, "no permissions for [cluster:admin/opendistro/ism/policy/get]"),
        (IAM_REFUSAL, "is not authorized to perform: es:ESHttpGet"),
    ],
)
def test_a_domain_that_refuses_fails_with_what_to_do(
    server: IsmServer, domain: IsmDomain, refusal: dict[str, Any], words: str
) -> None:
    domain.deny = (403, refusal)

    with pytest.raises(handler.RetentionError) as raised:
        run(server)

    message = str(raised.value)
    assert message.startswith(f"reading ISM policy {POLICY}: the domain refused it (403: ")
    assert words in message
    assert "backend role" in message and "index_management_full_access" in message
    assert "fgac.html#fgac-mapping" in message
    assert domain.writes() == []


def test_a_policy_the_domain_finds_invalid_fails_with_its_reason(
    server: IsmServer, domain: IsmDomain
) -> None:
    bad = event(server)
    bad["policy"]["policy"]["states"][0]["transitions"][0]["conditions"] = {
        "min_index_age": "7 days"
    }

    with pytest.raises(handler.RetentionError, match=r"rejected the request as invalid \(400: "):
        handler.handler(bad, None)
    assert POLICY not in domain.policies


def test_an_unreachable_endpoint_fails_with_what_to_do(domain: IsmDomain) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    body = retention_policy(hot_days=7, warm_days=None, indices=DEFAULT_INDICES, description="x")
    unreachable = retention_event(
        endpoint=f"http://127.0.0.1:{port}", region=REGION, policy_id=POLICY, body=body
    )

    with pytest.raises(handler.RetentionError, match=r"could not reach .* domain's VPC"):
        handler.handler(unreachable, None)


def test_indices_on_another_policy_are_reported_not_taken_over(
    server: IsmServer, domain: IsmDomain
) -> None:
    domain.add_index("log-aws-elb-2026-09", "hand-made-30d")

    result = run(server)

    assert result["other_policy"] == {
        "log-aws-elb-2026-09": "hand-made-30d",
        "log-aws-waf-000001": "rollover100gb",
    }
    assert domain.indices["log-aws-elb-2026-09"].policy_id == "hand-made-30d"
    assert domain.indices["log-aws-waf-000001"].policy_id == "rollover100gb"
    touched = [r.path for r in domain.writes() if "change_policy" in r.path]
    assert touched == []


def test_indices_left_on_an_old_version_are_moved_even_when_the_policy_is_unchanged(
    server: IsmServer, domain: IsmDomain
) -> None:
    run(server)
    # A deploy that wrote the policy and then stopped: an index still on the version before.
    domain.indices["log-aws-waf-2026-10"].policy_seq_no = 0

    result = run(server)

    assert (result["action"], result["changed"]) == ("unchanged", ["log-aws-waf-2026-10"])


@pytest.mark.parametrize(
    "settings",
    [
        {"hot_days": 7, "warm_days": 30},
        {"indices": ["log-aws-waf-0*"], "rollover": SIEM_ROLLOVER},
    ],
)
def test_warm_and_rollover_policies_are_stable_across_runs(
    server: IsmServer, domain: IsmDomain, settings: dict[str, Any]
) -> None:
    assert run(server, **settings)["action"] == "created"
    assert run(server, **settings)["action"] == "unchanged"
    if settings.get("warm_days"):
        warm = domain.policies[POLICY].document["states"][1]["actions"][0]
        assert warm == {"retry": dict(WARM_RETRY), "warm_migration": {}}


def test_a_session_token_is_sent_and_checked(
    domain: IsmDomain, monkeypatch: pytest.MonkeyPatch
) -> None:
    domain.credentials = ReadOnlyCredentials(ACCESS_KEY, SECRET_KEY, "session-token-1")
    aws_credentials(monkeypatch, token="session-token-1")
    with serving(domain) as running:
        assert run(running)["action"] == "created"
    assert all(r.headers.get("X-Amz-Security-Token") == "session-token-1" for r in domain.requests)


def test_one_log_line_per_action_and_never_a_credential(
    server: IsmServer, domain: IsmDomain, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    domain.add_index("log-aws-elb-2026-09", "hand-made-30d")

    run(server)

    ours = [r.getMessage() for r in caplog.records if r.name == handler.LOGGER_NAME]
    assert (
        ours[0]
        == f"policy {POLICY} created (seq_no {domain.policies[POLICY].seq_no}, primary_term 1)"
    )
    assert sorted(m for m in ours if m.startswith("attached")) == [
        f"attached {POLICY} to {name}" for name in UNMANAGED
    ]
    assert "left log-aws-elb-2026-09 on its policy hand-made-30d" in ours
    assert ours[-1].startswith("retention {")
    # Not even at DEBUG (botocore's signing logs included): the secret, or a signed header.
    headers = [r.headers["Authorization"] for r in domain.requests]
    assert SECRET_KEY not in caplog.text
    assert not [h for h in headers if h in caplog.text] and "Credential=" not in caplog.text


# --- events the function refuses before any request ------------------------------------------


@pytest.mark.parametrize(
    "broken",
    [
        None,
        {},
        {"endpoint": "https://x", "region": REGION, "policy_id": POLICY},
        {"endpoint": "https://x", "region": REGION, "policy_id": POLICY, "policy": {"policy": {}}},
    ],
)
def test_an_event_of_another_shape_is_refused(broken: Any) -> None:
    with pytest.raises(handler.RetentionError):
        handler.parse_event(broken)


def test_signed_requests_never_go_over_plain_http_to_another_host(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    aws_credentials(monkeypatch)
    with pytest.raises(handler.RetentionError, match="https:// only"):
        handler.connect("http://vpc-aes-siem-abc.ap-northeast-1.es.amazonaws.com", REGION)


# --- the server's checks can fail --------------------------------------------------------------


def error_info(error: TransportError) -> dict[str, Any]:
    """The JSON body of an error answer, as the client parsed it."""
    assert isinstance(error.info, dict), error.info
    return error.info


def client(server: IsmServer, credentials: Credentials, region: str = REGION) -> OpenSearch:
    return OpenSearch(
        hosts=[{"host": "127.0.0.1", "port": server.server_address[1]}],
        http_auth=Urllib3AWSV4SignerAuth(credentials, region, "es"),
        connection_class=Urllib3HttpConnection,
        max_retries=0,
    )


def test_the_server_refuses_unsigned_and_wrongly_signed_requests(
    server: IsmServer, domain: IsmDomain
) -> None:
    unsigned = OpenSearch(
        hosts=[{"host": "127.0.0.1", "port": server.server_address[1]}],
        connection_class=Urllib3HttpConnection,
        max_retries=0,
    )
    wrong_secret = client(server, Credentials(ACCESS_KEY, "not-the-secret"))
    wrong_region = client(server, Credentials(ACCESS_KEY, SECRET_KEY), region="us-east-1")
    reasons = []
    for refused in (unsigned, wrong_secret, wrong_region):
        with pytest.raises(AuthorizationException) as raised:
            refused.plugins.index_management.get_policy(policy="rollover100gb")
        reasons.append(error_info(raised.value)["message"])
    assert reasons == [
        "missing or malformed SigV4 Authorization header",
        "The request signature we calculated does not match the signature you provided",
        "credential scope us-east-1/es is not ap-northeast-1/es",
    ]
    signed = client(server, Credentials(ACCESS_KEY, SECRET_KEY))
    assert (
        signed.plugins.index_management.get_policy(policy="rollover100gb")["_id"] == "rollover100gb"
    )


def test_the_server_refuses_a_malformed_policy_with_a_reason(server: IsmServer) -> None:
    signed = client(server, Credentials(ACCESS_KEY, SECRET_KEY))
    body = retention_policy(hot_days=7, warm_days=None, indices=DEFAULT_INDICES, description="x")
    body["policy"]["states"][0]["transitions"][0]["conditions"]["min_index_age"] = "a week"

    with pytest.raises(RequestError) as raised:
        signed.plugins.index_management.put_policy(policy="bad", body=body)
    assert raised.value.status_code == 400
    reason = error_info(raised.value)["error"]["reason"]
    assert "min_index_age 'a week' is not a time value" in reason


def _policy(**settings: Any) -> dict[str, Any]:
    return retention_policy(
        hot_days=settings.pop("hot_days", 7),
        warm_days=settings.pop("warm_days", None),
        indices=DEFAULT_INDICES,
        description="d",
        **settings,
    )


def _edit(change: Any) -> dict[str, Any]:
    body = _policy(warm_days=30)
    change(body["policy"])
    return body


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda p: p.update(owner="guard"), "Invalid field: [owner] found in Policy."),
        (lambda p: p.pop("description"), "description is null"),
        (lambda p: p.update(default_state="ingest"), "Policy must have a valid default state"),
        (lambda p: p["states"][0].update(after="x"), "Invalid field: [after] found in states[0]."),
        (
            lambda p: p["states"][0]["transitions"][0].update(state_name="cold"),
            "pointing to a nonexistent state=cold",
        ),
        (
            lambda p: p["states"][0]["transitions"][0]["conditions"].update(min_doc_count=5),
            "Cannot provide more than one Transition condition",
        ),
        (
            lambda p: p["states"][0]["transitions"][0].update(conditions={"max_age": "7d"}),
            "Invalid field: [max_age]",
        ),
        (
            lambda p: p["states"][2]["transitions"].append({"state_name": "hot"}),
            "cannot contain transitions",
        ),
        (lambda p: p["states"][2]["actions"].append({"read_only": {}}), "after a delete action"),
        (lambda p: p["states"][2]["actions"][0].update(close={}), "exactly one action"),
        (lambda p: p["states"][2].update(actions=[{"purge": {}}]), "Invalid field: [purge]"),
        (
            lambda p: p["states"][2].update(actions=[{"delete": {"now": True}}]),
            "takes no parameters",
        ),
        (lambda p: p["states"][1]["actions"][0]["retry"].update(backoff="random"), "backoff"),
        (lambda p: p["ism_template"][0].update(priority="10"), "Requires priority to be >= 0"),
        (
            lambda p: p["ism_template"][0].update(order=1),
            "Invalid field: [order] found in ISMTemplate.",
        ),
        (lambda p: p["ism_template"][0].update(index_patterns=[]), "at least one index pattern"),
        (lambda p: p["ism_template"][0].update(index_patterns=["_all"]), "must not start with '_'"),
    ],
)
def test_the_validator_refuses_what_the_docs_do_not_allow(change: Any, reason: str) -> None:
    errors = policy_errors(_edit(change))
    assert any(reason in error for error in errors), errors


@pytest.mark.parametrize(
    "settings",
    [{}, {"hot_days": 1}, {"warm_days": 30}, {"rollover": SIEM_ROLLOVER}],
)
def test_the_validator_accepts_every_policy_guard_writes(settings: dict[str, Any]) -> None:
    assert policy_errors(_policy(**settings)) == []
