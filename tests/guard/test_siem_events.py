"""The S3 event notification a reload sends, against AWS's published example and against what
the SIEM loader reads of it (es_loader/index.py: ``json.loads`` of the SQS body, ``Records``,
``s3.bucket.name``, ``s3.object.key`` through ``unquote_plus``, ``s3.object.size``)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import unquote_plus

import pytest

from guard.siem_events import (
    REPLAY_ID,
    encode_key,
    event_time,
    s3_event_message,
    s3_event_record,
    sequencer,
)
from tests.aws_samples import load_sample

MOMENT = datetime(2026, 11, 21, 23, 55, 1, 123456, tzinfo=UTC)
OBJECT: dict[str, Any] = {
    "bucket": "guard-test-waf-logs",
    "key": "waf/region=us-east-1/2026/11/21/23/aws-waf-logs-guard-test-us-east-1-1.gz",
    "size": 4321,
    "etag": '"9b2cf535f27731c974343645a3985328"',
    "last_modified": MOMENT,
    "region": "ap-northeast-1",
    "owner_account": "123456789012",
}


def _aws_record() -> dict[str, Any]:
    record: dict[str, Any] = load_sample("s3_event_object_created_put")["Records"][0]
    return record


def _keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _keys(v) for k, v in value.items()}
    return type(value).__name__


def test_the_record_has_the_aws_example_keys_and_value_types_at_every_level() -> None:
    ours = s3_event_record(**OBJECT)
    aws = _aws_record()
    # versionId: only in a versioned bucket's events; ListObjectsV2 does not return it, and
    # without it the loader reads the current version.
    del aws["s3"]["object"]["versionId"]
    assert _keys(ours) == _keys(aws)
    for field in ("eventVersion", "eventSource", "eventName"):
        assert ours[field] == aws[field]
    assert ours["s3"]["s3SchemaVersion"] == aws["s3"]["s3SchemaVersion"]


def test_the_record_carries_the_object_as_s3_describes_it() -> None:
    record = s3_event_record(**OBJECT)
    s3 = record["s3"]
    assert s3["bucket"] == {
        "name": "guard-test-waf-logs",
        "ownerIdentity": {"principalId": "123456789012"},
        "arn": "arn:aws:s3:::guard-test-waf-logs",
    }
    assert s3["object"]["size"] == 4321
    assert s3["object"]["eTag"] == "9b2cf535f27731c974343645a3985328"  # no quotes, as in events
    assert s3["object"]["key"] == (
        "waf/region%3Dus-east-1/2026/11/21/23/aws-waf-logs-guard-test-us-east-1-1.gz"
    )
    assert record["awsRegion"] == "ap-northeast-1"
    assert record["eventTime"] == "2026-11-21T23:55:01.123Z"
    assert s3["configurationId"] == record["userIdentity"]["principalId"] == REPLAY_ID


def test_event_time_and_sequencer_have_the_aws_example_forms() -> None:
    aws = _aws_record()
    pattern = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"
    assert re.match(pattern, aws["eventTime"]) and re.match(pattern, event_time(MOMENT))
    tokyo = MOMENT.astimezone(timezone(timedelta(hours=9)))
    assert event_time(tokyo) == event_time(MOMENT)  # always UTC
    assert len(sequencer(MOMENT)) == len(aws["s3"]["object"]["sequencer"]) == 18
    assert re.match(r"^[0-9A-F]{18}$", sequencer(MOMENT))
    later = MOMENT + timedelta(microseconds=1)
    assert sequencer(later) > sequencer(MOMENT)
    assert sequencer(MOMENT + timedelta(days=400)) > sequencer(later)


def test_the_documented_encoding_example() -> None:
    # User Guide: 'The object key name value is URL encoded. For example, "red flower.jpg"
    # becomes "red+flower.jpg"'.
    assert encode_key("red flower.jpg") == "red+flower.jpg"
    assert encode_key("a/b/c.log.gz") == "a/b/c.log.gz"


@pytest.mark.parametrize(
    "key",
    [
        "AWSLogs/123456789012/WAFLogs/cloudfront/shop-cf/2026/11/21/23/55/x_20261121T2355Z.log.gz",
        "alb/s/w/AWSLogs/1/elasticloadbalancing/r/2026/11/21/1_app.x.0a_T0005Z_198.51.100.7_a.gz",
        "odd name+1%=é.log.gz",
        "a+b c%2Bd/~*()!'&?#:;,@$[]\\ü日本.gz",
    ],
)
def test_the_loader_decodes_every_key_back(key: str) -> None:
    assert unquote_plus(encode_key(key), encoding="utf-8") == key


def test_the_message_is_what_the_loader_reads() -> None:
    body = s3_event_message(**OBJECT)
    # es_loader/index.py main(): an SQS record's body, parsed, with "Records": each processed.
    parsed = json.loads(body)
    [record] = parsed["Records"]
    assert record["eventSource"] == "aws:s3"
    # extract_logfile_from_s3(): bucket name and unquote_plus(key); LogS3.s3obj_size: size.
    assert record["s3"]["bucket"]["name"] == OBJECT["bucket"]
    assert unquote_plus(record["s3"]["object"]["key"], encoding="utf-8") == OBJECT["key"]
    assert record["s3"]["object"].get("size", 0) == OBJECT["size"]
    # The loader's WAF pattern (aws.ini: aws-waf-logs-|_waflogs_) matches the decoded key.
    assert re.search(r"aws-waf-logs-|_waflogs_", unquote_plus(record["s3"]["object"]["key"]))


def test_the_same_object_gives_the_same_bytes() -> None:
    assert s3_event_message(**OBJECT) == s3_event_message(**OBJECT)
    other = s3_event_message(**{**OBJECT, "etag": '"0000"'})
    assert (
        json.loads(other)["Records"][0]["responseElements"]
        != (json.loads(s3_event_message(**OBJECT))["Records"][0]["responseElements"])
    )
    ids = json.loads(other)["Records"][0]["responseElements"]
    assert re.match(r"^[0-9A-F]{16}$", ids["x-amz-request-id"])  # as long as AWS's example's
    assert len(ids["x-amz-id-2"]) == len(_aws_record()["responseElements"]["x-amz-id-2"])


def test_a_message_with_a_long_key_fits_sqs() -> None:
    # S3 keys are at most 1,024 bytes; encoded, at most three times that. SQS takes 256 KiB
    # per message and per batch of 10.
    body = s3_event_message(**{**OBJECT, "key": "é" * 512})
    assert len(body.encode()) * 10 < 256 * 1024
