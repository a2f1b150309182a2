"""The Trusted Advisor formatter on AWS's own Trusted Advisor events (tests/data/aws-samples/),
publishing to a moto SNS topic read back through a raw-delivery SQS subscription: the tests read
the message Slack would receive."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from functions.trusted_advisor import handler
from tests.aws_samples import trusted_advisor_events
from tests.conftest import topic_with_queue

pytestmark = pytest.mark.usefixtures("aws_env")

SAMPLES = [
    "trusted_advisor_exposed_access_keys",
    "trusted_advisor_unassociated_elastic_ip",
    "trusted_advisor_rds_idle_db_instance",
    "trusted_advisor_high_utilization_ec2",
    "trusted_advisor_s3_bucket_versioning",
    "trusted_advisor_underutilized_ebs_volumes",
]


@pytest.fixture
def topic(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The normal alert topic in us-east-1, with a raw-delivery SQS queue to read it."""
    arn, queue_url = topic_with_queue(
        boto3.client("sns", region_name="us-east-1"),
        boto3.client("sqs", region_name="us-east-1"),
        "guard-prod-alerts-normal",
    )
    monkeypatch.setenv("TOPIC_ARN", arn)
    monkeypatch.setenv("STACK", "prod")
    yield queue_url


def posted(queue_url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs", region_name="us-east-1")
    messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def post(event: dict[str, Any], queue_url: str) -> dict[str, Any]:
    handler.lambda_handler(event, None)
    (message,) = posted(queue_url)
    return message


def lines(message: dict[str, Any]) -> list[str]:
    found: list[str] = message["content"]["description"].split("\n")
    return found


def test_exposed_access_keys_show_the_key_and_the_user(topic: str) -> None:
    (event,) = trusted_advisor_events("trusted_advisor_exposed_access_keys")
    message = post(event, topic)
    assert message["content"]["title"] == "Exposed Access Keys"
    # No region, an empty resource_id: neither line is shown; every item field is.
    assert lines(message) == [
        ":red_circle: *Trusted Advisor check*",
        "*Status:* ERROR",
        "*Account:* `123456789012`",
        "*Case ID:* `12345678-1234-1234-abcd-1234567890ab`",
        "*Usage (USD per Day):* `0`",
        "*User Name (IAM or Root):* `delete-me`",
        "*Deadline:* `1440453299248`",
        "*Access Key ID:* `AKIAIX52WBZJNV4XNNAQ`",
        "*Time Updated:* `1440021299248`",
        "*Fraud Type:* `Exposed`",
        "*Location:* `www.example.com`",
        f"*Console:* {handler.CONSOLE}",
    ]
    assert message["metadata"]["threadId"] == "trusted-advisor-aa12345f-55c7-498e-b7ac-123456789012"
    assert message["content"]["keywords"] == ["Trusted Advisor", "ERROR"]


def test_an_unassociated_elastic_ip_shows_its_address_and_region(topic: str) -> None:
    (event,) = trusted_advisor_events("trusted_advisor_unassociated_elastic_ip")
    message = post(event, topic)
    assert message["content"]["title"] == "Unassociated Elastic IP Addresses"
    assert "*Region:* `us-east-1`" in lines(message)
    assert "*IP Address:* `123.456.789.012`" in lines(message)
    assert not any(line.startswith("*Resource:*") for line in lines(message))


def test_an_item_with_a_resource_shows_it(topic: str) -> None:
    (event,) = trusted_advisor_events("trusted_advisor_rds_idle_db_instance")
    text = lines(post(event, topic))
    assert "*Resource:* `arn:aws:rds:eu-west-1:123456789012:db:sam-eu-west-1a`" in text
    assert "*Region:* `eu-west-1`" in text and "*DB Instance Name:* `sam-eu-west-1a`" in text
    assert "*Estimated Monthly Savings (On Demand):* `$230`" in text


def test_empty_fields_are_left_out(topic: str) -> None:
    event = trusted_advisor_events("trusted_advisor_underutilized_ebs_volumes")[0]
    text = lines(post(event, topic))
    assert "*Volume ID:* `vol-0c5a286715785d467`" in text
    assert not any(line.startswith(("*Snapshot Name:*", "*Snapshot ID:*")) for line in text)


def test_an_event_without_uuid_gets_a_stable_thread_of_its_own(topic: str) -> None:
    (event,) = trusted_advisor_events("trusted_advisor_high_utilization_ec2")
    assert "uuid" not in event["detail"]  # AWS's sample has none
    first = post(event, topic)["metadata"]["threadId"]
    again = post(event, topic)["metadata"]["threadId"]
    other = json.loads(json.dumps(event))
    other["detail"]["check-item-detail"]["Instance ID"] = "i-0aaaaaaaaaaaaaaaa"
    assert first == again and first.startswith("trusted-advisor-") and first != "trusted-advisor-"
    assert post(other, topic)["metadata"]["threadId"] != first
    (keys,) = trusted_advisor_events("trusted_advisor_exposed_access_keys")
    del keys["detail"]["uuid"]  # amended: the same item without its uuid
    assert len(post(keys, topic)["metadata"]["threadId"]) > len("trusted-advisor-")


def test_an_info_result_is_posted(topic: str) -> None:
    (event,) = trusted_advisor_events("trusted_advisor_s3_bucket_versioning")
    event["detail"]["status"] = "INFO"  # amended: a check that only informs
    message = post(event, topic)
    assert lines(message)[:2] == [":information_source: *Trusted Advisor check*", "*Status:* INFO"]


def test_item_values_cannot_ping_the_channel_or_break_out_of_code(topic: str) -> None:
    (event,) = trusted_advisor_events("trusted_advisor_exposed_access_keys")
    event["detail"]["check-item-detail"]["Location"] = "<!channel>`*x*`\n<https://evil.example|a>"
    event["detail"]["check-item-detail"]["Odd *key*"] = "v"
    text = lines(post(event, topic))
    (line,) = [line for line in text if line.startswith("*Location:*")]
    assert "<!channel>" not in line and "&lt;!channel&gt;" in line and line.count("`") == 2
    assert "*Odd key:* `v`" in text


@pytest.mark.parametrize("name", SAMPLES)
def test_every_aws_sample_posts_a_custom_notification(name: str, topic: str) -> None:
    for event in trusted_advisor_events(name):
        message = post(event, topic)
        assert message["version"] == "1.0" and message["source"] == "custom"
        assert message["content"]["textType"] == "client-markdown"
        assert message["content"]["title"] == event["detail"]["check-name"]
        assert len(message["content"]["description"]) <= handler.MAX_DESCRIPTION
        assert all(line == line.rstrip() for line in lines(message))
        assert message["metadata"]["threadId"] != "trusted-advisor-"


def test_a_long_item_is_shortened_to_what_slack_shows(topic: str) -> None:
    (event,) = trusted_advisor_events("trusted_advisor_exposed_access_keys")
    event["detail"]["check-item-detail"] = {f"Field {n}": "x" * 500 for n in range(40)}
    text = lines(post(event, topic))
    assert len("\n".join(text)) <= handler.MAX_DESCRIPTION
    assert all(len(line) < 200 for line in text)


def test_other_events_are_not_posted(topic: str) -> None:
    (event,) = trusted_advisor_events("trusted_advisor_exposed_access_keys")
    event["source"] = "aws.health"
    assert handler.lambda_handler(event, None) == {"posted": False}
    assert posted(topic) == []


def test_a_misconfigured_function_fails_loudly(topic: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOPIC_ARN", "guard-prod-alerts-normal")
    (event,) = trusted_advisor_events("trusted_advisor_exposed_access_keys")
    with pytest.raises(handler.SettingsError, match="not an SNS topic ARN"):
        handler.lambda_handler(event, None)
