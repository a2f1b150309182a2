"""The S3 event notification S3 would have sent for an existing object (pure, no AWS calls).

The shape is version 2.1 of the message S3 sends to SQS for ``s3:ObjectCreated:Put`` (Amazon S3
User Guide, "Event message structure", notification-content-structure.html; AWS's example is
kept in tests/data/aws-samples/s3_event_object_created_put.json): one record per message, the
object key URL-encoded the way S3 encodes it (query-string style, "red flower.jpg" becomes
"red+flower.jpg", '/' left as is), size in bytes, the ETag without its quotes.

What S3 knows and a replay cannot (the original writer, its IP address, the request IDs, the
owner's customer ID) is filled so that a replayed message is recognisable and stable:
``configurationId`` and ``userIdentity.principalId`` are :data:`REPLAY_ID`, the source IP is
127.0.0.1 (as in AWS's example), the request IDs are hashes of the object's bucket, key and
ETag, and the bucket owner is the account ID. The loader reads none of these (see
:mod:`guard.siem_reload`). ``versionId`` is left out: ListObjectsV2 does not return it, and
without it the loader reads the object's current version, which is what a reload wants.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

EVENT_VERSION = "2.1"
EVENT_NAME = "ObjectCreated:Put"
#: The notification configuration ID and principal a replayed message carries.
REPLAY_ID = "guard-siem-reload"
#: AWS's own example uses the loopback address; no network request caused a replayed event.
REPLAY_SOURCE_IP = "127.0.0.1"


def encode_key(key: str) -> str:
    """An object key as S3 writes it into an event: form-URL-encoded, '/' kept (the loader
    reverses it with ``urllib.parse.unquote_plus``)."""
    return quote_plus(key, safe="/")


def event_time(moment: datetime) -> str:
    """ISO-8601 in UTC with milliseconds, as S3 writes ``eventTime``: 1970-01-01T00:00:00.000Z."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def sequencer(moment: datetime) -> str:
    """18 hex digits growing with the object's time, the length of AWS's example
    (``0055AED6DCD90281E5``): seconds, then microseconds. S3 compares them per key only."""
    utc = moment.astimezone(UTC)
    return f"{int(utc.timestamp()):010X}{utc.microsecond:08X}"


def _request_ids(bucket: str, key: str, etag: str) -> tuple[str, str]:
    # Stable per object, so a resent message is byte-identical to the first one.
    seed = f"{bucket}\0{key}\0{etag}".encode()
    request_id = hashlib.sha256(seed).hexdigest()[:16].upper()
    host_id = base64.b64encode(hashlib.sha384(seed).digest()).decode("ascii")
    return request_id, host_id


def s3_event_record(
    *,
    bucket: str,
    key: str,
    size: int,
    etag: str,
    last_modified: datetime,
    region: str,
    owner_account: str,
) -> dict[str, Any]:
    """One ``Records[]`` entry for an object: ``key`` raw (it is encoded here), ``etag`` as
    S3's APIs return it (quoted or not), ``last_modified`` the object's time (``eventTime``)."""
    bare_etag = etag.strip('"')
    request_id, host_id = _request_ids(bucket, key, bare_etag)
    return {
        "eventVersion": EVENT_VERSION,
        "eventSource": "aws:s3",
        "awsRegion": region,
        "eventTime": event_time(last_modified),
        "eventName": EVENT_NAME,
        "userIdentity": {"principalId": REPLAY_ID},
        "requestParameters": {"sourceIPAddress": REPLAY_SOURCE_IP},
        "responseElements": {"x-amz-request-id": request_id, "x-amz-id-2": host_id},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": REPLAY_ID,
            "bucket": {
                "name": bucket,
                "ownerIdentity": {"principalId": owner_account},
                "arn": f"arn:aws:s3:::{bucket}",
            },
            "object": {
                "key": encode_key(key),
                "size": size,
                "eTag": bare_etag,
                "sequencer": sequencer(last_modified),
            },
        },
    }


def s3_event_message(**record: Any) -> str:
    """The SQS message body: ``{"Records": [record]}`` as compact JSON (keyword arguments of
    :func:`s3_event_record`). One record per message, as S3 sends them."""
    return json.dumps({"Records": [s3_event_record(**record)]}, separators=(",", ":"))
