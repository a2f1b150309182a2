"""benchmarks/plan_all.py: its generated stacks are valid and distinct, and it runs end to end at
a tiny size (one account stack of two endpoints), so that it cannot rot."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

from guard.config import load_stack_file
from tests.conftest import TODAY

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "plan_all.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("plan_all_benchmark", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


bench = _load()


@pytest.mark.parametrize("endpoints", [1, 7, 14])
def test_account_stacks_are_valid_with_their_endpoints_in_their_own_account(
    tmp_path: Path, endpoints: int
) -> None:
    paths = bench.write_stacks(tmp_path, 2, endpoints, org=True)
    assert [p.name for p in paths] == [
        "Pulumi.account-01.yaml",
        "Pulumi.account-02.yaml",
        "Pulumi.organization.yaml",
    ]
    arns: list[str] = []
    for index, path in enumerate(paths[:2], start=1):
        config = load_stack_file(path, today=TODAY).config
        assert config.account_id == bench.account_id(index) == f"1000000000{index:02d}"
        stack_arns = [e.arn for p in config.products for e in p.endpoints]
        assert len(stack_arns) == endpoints == bench.endpoint_count(path)
        assert all(config.account_id in arn for arn in stack_arns)
        assert len({p.name for p in config.products}) == len(config.products)
        arns += stack_arns
    assert len(set(arns)) == len(arns)
    organization = load_stack_file(paths[2], today=TODAY).config
    assert organization.account_id == "222222222222"


def test_without_the_organization_no_stack_names_it(tmp_path: Path) -> None:
    paths = bench.write_stacks(tmp_path, 1, 3, org=False)
    assert [p.name for p in paths] == ["Pulumi.account-01.yaml"]
    assert "organization" not in paths[0].read_text(encoding="utf-8")
    load_stack_file(paths[0], today=TODAY)


def test_the_memory_of_this_process_tree_is_read_from_proc() -> None:
    if not Path("/proc/self/statm").exists():
        pytest.skip("no /proc here")
    assert bench.descendants(os.getpid())[0] == os.getpid()
    rss, _pss = bench.tree_memory(os.getpid())
    assert rss > 10 * 1024 * 1024


def test_growth_compares_time_with_the_number_of_stacks() -> None:
    def size(stacks: int, seconds: float) -> object:
        run = bench.Run(seconds, 100.0, 300.0, 200.0, 1.0, {"summary": {}})
        return bench.Size(stacks, stacks * 14, [run])

    line = bench.growth(size(6, 4.0), size(51, 20.0))
    times = bench.TIMES
    assert line.startswith(
        f"6→51 stacks: time {times}5.00 for {times}8.5 stacks (linear or better)"
    )
    assert "0.356 s per added stack" in line


def test_it_runs_at_a_tiny_size(capsys: pytest.CaptureFixture[str]) -> None:
    bench.main(["--sizes", "1", "--endpoints", "2", "--jobs", "2"])
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("machine: ") and " CPUs " in out[0]
    header = next(i for i, line in enumerate(out) if line.split()[:2] == ["stacks", "endpoints"])
    cells = out[header + 1].split()
    assert cells[:4] == ["2", "2", cells[2], "2"]  # the account stack and the organization's
    assert int(cells[2]) > 0
