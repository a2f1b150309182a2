"""AWS-published samples (tests/data/aws-samples/): one file each, ``{"provenance", "sample"}``.

The samples stay verbatim; a test that needs a variation (no ``uuid``, another severity) amends
its own copy. The envelopes below wrap a sample finding the way the services' user guides
document their EventBridge events, since those guides print the envelope with a placeholder
where the finding goes.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

SAMPLES = Path(__file__).parent / "data" / "aws-samples"


@cache
def _read(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((SAMPLES / f"{name}.json").read_text())
    return document


def names() -> list[str]:
    return sorted(path.stem for path in SAMPLES.glob("*.json"))


def load_sample(name: str) -> Any:
    """A fresh copy of the sample, safe to amend."""
    return copy.deepcopy(_read(name)["sample"])


def provenance(name: str) -> str:
    return str(_read(name)["provenance"])


def guardduty_event(finding: dict[str, Any]) -> dict[str, Any]:
    """A GuardDuty finding as EventBridge delivers it: the envelope of the GuardDuty User Guide
    ("detail": the complete finding JSON), in the finding's account and region."""
    return {
        "version": "0",
        "id": "cd2d702e-ab31-411b-9344-793ce56b1bc7",
        "detail-type": "GuardDuty Finding",
        "source": "aws.guardduty",
        "account": finding["accountId"],
        "time": "1970-01-01T00:00:00Z",
        "region": finding["region"],
        "resources": [],
        "detail": finding,
    }


def securityhub_event(finding: dict[str, Any], region: str = "us-west-2") -> dict[str, Any]:
    """An ASFF finding as EventBridge delivers it: the "Security Hub Findings - Imported" format
    of the Security Hub User Guide, one finding per event."""
    return {
        "version": "0",
        "id": "CWE-event-id",
        "detail-type": "Security Hub Findings - Imported",
        "source": "aws.securityhub",
        "account": finding["AwsAccountId"],
        "time": "2019-04-11T21:52:17Z",
        "region": region,
        "resources": [f"{finding['ProductArn']}/{finding['Id']}"],
        "detail": {"findings": [finding]},
    }


def trusted_advisor_events(name: str) -> list[dict[str, Any]]:
    """The Trusted Advisor events of a sample file, as EventBridge delivers them.

    Some of AWS's samples are PutEvents entries for a mock source (``DetailType``, ``Detail`` as
    text, ``awsmock.trustedadvisor``); those become the event the real source would send, in
    us-east-1 and a placeholder account, with the detail untouched.
    """
    sample = load_sample(name)
    events = sample if isinstance(sample, list) else [sample]
    result = []
    for i, event in enumerate(events):
        if "DetailType" in event:
            event = {
                "version": "0",
                "id": f"{name}-{i}",
                "detail-type": event["DetailType"],
                "source": "aws.trustedadvisor",
                "account": "123456789012",
                "time": event["Time"],
                "region": "us-east-1",
                "resources": event["Resources"],
                "detail": json.loads(event["Detail"]),
            }
        result.append(event)
    return result
