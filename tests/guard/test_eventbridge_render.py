"""The test renderer follows the EventBridge User Guide's own input transformer examples."""

from __future__ import annotations

import json

import pytest

from tests.eventbridge_render import placeholders, render, render_text

# The EC2 event and the InputPathsMap of the guide's "Input transform examples".
EVENT = {
    "version": "0",
    "id": "7bf73129-1428-4cd3-a780-95db273d1602",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "123456789012",
    "time": "2015-11-11T21:29:54Z",
    "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
    "detail": {"instance-id": "i-0123456789", "state": "RUNNING"},
}
PATHS = {"timestamp": "$.time", "instance": "$.detail.instance-id", "state": "$.detail.state"}


def transformer(template: str, **paths: str) -> dict[str, object]:
    return {"input_paths": {**PATHS, **paths}, "input_template": template}


@pytest.mark.parametrize(
    ("template", "output"),
    [
        ('"instance <instance> is in <state>"', "instance i-0123456789 is in RUNNING"),
        (
            '{"instance" : <instance>, "state": [ 9, <state>, true ], "Transformed" : "Yes"}',
            {"instance": "i-0123456789", "state": [9, "RUNNING", True], "Transformed": "Yes"},
        ),
        (
            '{"instance" : <instance>, "state": "<state>", '
            '"instanceStatus": "instance \\"<instance>\\" is in <state>"}',
            {
                "instance": "i-0123456789",
                "state": "RUNNING",
                "instanceStatus": 'instance "i-0123456789" is in RUNNING',
            },
        ),
    ],
)
def test_the_guides_examples(template: str, output: object) -> None:
    assert render(transformer(template), EVENT) == output


def test_escaped_newlines_of_the_template_are_line_breaks_once_parsed() -> None:
    template = json.dumps({"d": "*State:* <state>\n*Instance:* `<instance>`"})
    assert "\n" not in template  # json.dumps wrote the escape, not a raw newline
    assert render(transformer(template), EVENT)["d"].split("\n") == [
        "*State:* RUNNING",
        "*Instance:* `i-0123456789`",
    ]


def test_a_missing_path_leaves_nothing() -> None:
    template = '{"d": "zone `<zone>` of <state>", "t": <zone>}'
    text = render_text(transformer(template, zone="$.detail.zone"), EVENT)
    assert text == '{"d": "zone `` of RUNNING", "t": }'
    with pytest.raises(json.JSONDecodeError):  # standing alone, a missing value breaks JSON
        render(transformer(template, zone="$.detail.zone"), EVENT)


def test_values_are_pasted_raw_inside_strings() -> None:
    event = {**EVENT, "detail": {"state": 'say "hi"\\'}}
    with pytest.raises(json.JSONDecodeError):
        render(transformer('{"d": "state <state>"}'), event)
    assert render(transformer('{"d": <state>}'), event) == {"d": 'say "hi"\\'}


def test_placeholders_say_where_they_stand() -> None:
    template = '{"a": <state>, "b": "x\\n<state> <instance>", "<timestamp>": 1, <instance>: 2}'
    assert placeholders(template) == {
        "state": {"value", "string"},
        "instance": {"string", "value", "key"},
        "timestamp": {"string", "key"},
    }
