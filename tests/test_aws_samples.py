"""Every AWS-published sample says where it comes from."""

from __future__ import annotations

import json

import pytest

from tests.aws_samples import SAMPLES, load_sample, names, provenance

AWS_OWNED = (
    "https://github.com/aws/",
    "https://github.com/aws-samples/",
    "https://github.com/awsdocs/",
    "https://docs.aws.amazon.com/",
)


def test_there_are_samples_and_only_json_files() -> None:
    assert len(names()) >= 10
    assert {path.suffix for path in SAMPLES.iterdir()} == {".json"}


@pytest.mark.parametrize("name", names())
def test_each_sample_has_an_aws_provenance(name: str) -> None:
    document = json.loads((SAMPLES / f"{name}.json").read_text())
    assert set(document) == {"provenance", "sample"}
    assert provenance(name).startswith(AWS_OWNED), provenance(name)
    assert "\n" not in provenance(name)
    assert load_sample(name)
