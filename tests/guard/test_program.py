"""The program imports the pulumi_aws services of the areas a stack declares, and no others.

Each pulumi_aws service package builds every typed class of its service when it loads (wafv2
alone takes about a third of a second), so a stack must not pay for the areas it lacks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import ROOT

LOADED_SERVICES = """\
import json, os, sys
from guard import cli
sys.stdout = open(os.devnull, "w")  # the plan itself is not what this looks at
code = cli.run(["plan", "--stack", sys.argv[1], "--format", "json"])
# A pulumi_aws service that was only named stays a lazy module with just its spec in __dict__.
services = sorted(
    name.split(".")[1]
    for name, module in list(sys.modules.items())
    if name.count(".") == 1 and name.startswith("pulumi_aws.")
    and hasattr(module, "__path__") and len(vars(module)) > 20
)
print(json.dumps({"code": code, "services": services}), file=sys.stderr)
"""


def loaded_services(stack: str) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-c", LOADED_SERVICES, stack],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads(result.stderr.strip().splitlines()[-1])
    assert report["code"] == 0, result.stderr
    return set(report["services"])


def test_a_stack_without_logs_loads_no_storage_or_query_service() -> None:
    # staging declares every area but guard:logs: no bucket, Firehose, Glue table or workgroup.
    services = loaded_services("staging")
    assert {"wafv2", "shield", "guardduty", "securityhub", "iam"} <= services
    assert not services & {"s3", "glue", "athena", "kinesis"}


def test_prod_loads_the_log_services_it_declares() -> None:
    assert {"s3", "glue", "athena", "kinesis"} <= loaded_services("prod")
