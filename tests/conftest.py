"""Shared fixtures: the example stacks planned once per session, and engine-shaped raw config."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import urllib.request
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from guard import process
from guard.config import LoadedConfig, load_stack_config, load_stack_file
from guard.config.loader import STACKS_DIR_VARIABLE
from guard.plan import PlanResult, run_program

ROOT = Path(__file__).resolve().parents[1]
#: The tests' own stacks: the examples in stacks/ are the user's to change or delete.
STACKS = ROOT / "tests" / "stacks"
# Every `guard` command a test runs, in-process or as a subprocess, reads the fixture stacks.
os.environ[STACKS_DIR_VARIABLE] = str(STACKS)
#: A fixed day, so expiry-dependent results do not change with the calendar.
TODAY = date(2026, 11, 25)
# The suite runs with the collector thresholds of the guard command (guard/process.py): each
# worker holds the SDK's objects of every plan it made, and the default thresholds re-walk them
# in every full collection (the suite took 116 s with them, 85 s without, on 2 cores).
process.tune_collector()


def alb_arn(
    name: str = "web", account: str = "111111111111", region: str = "ap-northeast-1"
) -> str:
    suffix = hashlib.sha256(name.encode()).hexdigest()[:16]
    return f"arn:aws:elasticloadbalancing:{region}:{account}:loadbalancer/app/{name}/{suffix}"


def minimal_product(name: str = "store", **waf: Any) -> dict[str, Any]:
    return {
        "name": name,
        "owner": f"team-{name}",
        "endpoints": [{"name": "web", "kind": "alb", "arn": alb_arn(f"{name}-web")}],
        "waf": {"rate_limits": [{"name": "login", "limit": 100, "path": "/login"}], **waf},
    }


def raw_config(**sections: Any) -> dict[str, str]:
    """Config as the Pulumi engine hands it to the program: objects as JSON text."""
    raw = {"aws:region": "ap-northeast-1", "guard:account_id": "111111111111"}
    sections.setdefault("products", [minimal_product()])
    for key, value in sections.items():
        if value is None:
            continue
        raw[f"guard:{key}"] = value if isinstance(value, str) else json.dumps(value)
    return raw


def load(**sections: Any) -> LoadedConfig:
    return load_stack_config(raw_config(**sections), "test.yaml", today=TODAY)


@pytest.fixture(scope="session")
def example_plan() -> Callable[[str], PlanResult]:
    """``example_plan("prod")``: the example stack run through the real program under mocks."""
    cache: dict[str, PlanResult] = {}

    def plan(stack: str) -> PlanResult:
        if stack not in cache:
            loaded = load_stack_file(STACKS / f"Pulumi.{stack}.yaml", today=TODAY)
            cache[stack] = run_program(loaded, stack)
        return cache[stack]

    return plan


def of_type(plan: PlanResult, type_token: str) -> list[Any]:
    return [r for r in plan.resources if r.type == type_token]


def within(component_type: str) -> Callable[[PlanResult, str], list[Any]]:
    """``of_type`` limited to resources declared under a component of ``component_type``.

    Areas share resource types (a KMS key for alerts and one for logs, Lambdas for escalation and
    for the WAF digest); a component's tests look only at what it declares.
    """

    def of_type_within(plan: PlanResult, type_token: str) -> list[Any]:
        by_urn = {r.urn: r for r in plan.resources}

        def ancestors(record: Any) -> list[str]:
            types = []
            while record.parent in by_urn:
                record = by_urn[record.parent]
                types.append(record.type)
            return types

        return [r for r in of_type(plan, type_token) if component_type in ancestors(r)]

    return of_type_within


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """One moto server on 127.0.0.1 for the session; boto3 code reaches it via AWS_ENDPOINT_URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    # moto answers unimplemented calls with a 500 whose traceback werkzeug logs; the code under
    # test logs its own line about it.
    logging.getLogger("werkzeug").setLevel(logging.CRITICAL)
    yield f"http://{host}:{port}"
    server.stop()


def topic_with_queue(sns: Any, sqs: Any, topic_name: str) -> tuple[str, str]:
    """An SNS topic and an SQS queue subscribed with raw delivery, so a test reads exactly what
    was published: ``(topic ARN, queue URL)``."""
    topic = sns.create_topic(Name=topic_name)["TopicArn"]
    queue_url = sqs.create_queue(QueueName="slack")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=queue_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    return str(topic), str(queue_url)


def moto_api(url: str, path: str, body: dict[str, Any] | bytes | None = None) -> None:
    """POST to moto's management API (reset, reset-auth, state manager)."""
    data = json.dumps(body).encode() if isinstance(body, dict) else body
    request = urllib.request.Request(
        f"{url}{path}", data=data, method="POST", headers={"Content-Type": "text/plain"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


#: Every way boto3 finds credentials from the environment.
CREDENTIAL_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
)


@pytest.fixture
def without_aws_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No credentials anywhere boto3 looks: environment, config files, instance metadata."""
    for name in CREDENTIAL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    # Never reach for instance metadata from a test.
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
