"""The pure helpers of benchmarks/plan_scale.py (no plan runs: the benchmark itself does those)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from guard.config import load_stack_file
from tests.conftest import TODAY

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "plan_scale.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("plan_scale_benchmark", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


plan_scale = _load()


def test_the_scaled_stack_declares_every_area() -> None:
    config = plan_scale.scaled_config(1)["config"]
    assert set(plan_scale.AREAS) <= set(config)
    assert config["guard:tuners"].keys() == {"wafcharm"}


@pytest.mark.parametrize("area", plan_scale.AREAS)
def test_a_missing_area_stops_the_benchmark(area: str) -> None:
    document = plan_scale.scaled_config(1)
    del document["config"][area]
    with pytest.raises(SystemExit, match=area):
        plan_scale.require_areas(document)


def test_ten_copies_have_ten_times_the_endpoints_all_distinct() -> None:
    one, ten = plan_scale.scaled_config(1), plan_scale.scaled_config(10)
    assert plan_scale.endpoint_count(ten) == 10 * plan_scale.endpoint_count(one) == 70
    products = ten["config"]["guard:products"]
    endpoints = [e for p in products for e in p["endpoints"]]
    assert len({p["name"] for p in products}) == len(products)
    assert len({e["arn"] for e in endpoints}) == len(endpoints)
    checks = [
        e["shield"]["health_check"] for e in endpoints if "health_check" in e.get("shield", {})
    ]
    assert len(set(checks)) == len(checks) == 10
    tuned = [p for p in products if p["name"].startswith(plan_scale.TUNED_PRODUCT)]
    assert len(tuned) == 10
    assert all(p["waf"]["tuner"] == {"service": "wafcharm"} for p in tuned)


def test_the_scaled_stack_is_a_valid_config(tmp_path: Path) -> None:
    path, endpoints = plan_scale.write_stack(tmp_path, 2)
    config = load_stack_file(path, today=TODAY).config
    assert sum(len(p.endpoints) for p in config.products) == endpoints == 14
    assert {p.waf.tuner.service for p in config.products if p.waf.tuner} == {"wafcharm"}
    assert config.tuners.keys() == {"wafcharm"}


def test_the_700_endpoint_stack_is_a_valid_config(tmp_path: Path) -> None:
    # WafCharm's role lists the web ACLs it tunes, within IAM's inline policy size: the largest
    # stack tunes the first copies only, or guard refuses it (exit 2) before timing anything.
    path, endpoints = plan_scale.write_stack(tmp_path, 100)
    config = load_stack_file(path, today=TODAY).config
    assert endpoints == 700
    tuned = [p for p in config.products if p.waf.tuner]
    assert len(tuned) == plan_scale.TUNED_COPIES


def test_importtime_lines_name_subpackages_only() -> None:
    output = "\n".join(
        [
            "import time: self [us] | cumulative | imported package",
            "import time:      1312 |       1312 |       pulumi_aws._utilities",
            "import time:       689 |       6753 |       pulumi_aws.get_availability_zone",
            "import time:      2050 |       2050 |       pulumi_aws.provider",
            "import time:       573 |        573 | pulumi_aws.wafv2.api_key",
            "import time:      3764 |       3764 | pulumi_aws.wafv2.web_acl",
            "import time:     10071 |      10071 | pulumi_aws.iam._enums",
            "import time:       200 |        200 | pulumi_aws.lambda_",
            "import time:       100 |        100 | pulumi.runtime",
            "import time:       100 |        100 | not_pulumi_aws.wafv2",
        ]
    )
    known = {"wafv2", "iam", "lambda_", "shield"}
    assert plan_scale.loaded_subpackages(output, known) == ["iam", "lambda_", "wafv2"]


def test_the_floor_script_names_the_subpackages() -> None:
    script = plan_scale.FLOOR_SCRIPT.format(names=["iam", "wafv2"])
    compile(script, "<floor>", "exec")
    assert "['iam', 'wafv2']" in script
