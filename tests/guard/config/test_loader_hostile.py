"""Stack files written to hurt: alias bombs, huge files, other encodings, deep nesting, bad tags.

Fork pull requests are planned too, so each must end in a config error (exit 2) that names the
file and line, quickly and in little memory, with both YAML parsers (libyaml and pure Python).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
import yaml

from guard.config import ConfigError, load_stack_file, yaml_reader
from tests.conftest import ROOT, STACKS, TODAY

LOADERS = {
    "libyaml": yaml_reader.line_loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)),
    "python": yaml_reader.line_loader(yaml.SafeLoader),
}

HEAD = 'config:\n  aws:region: ap-northeast-1\n  guard:account_id: "111111111111"\n'


@pytest.fixture(params=sorted(LOADERS))
def loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(yaml_reader, "LOADER", LOADERS[request.param])
    return str(request.param)


def write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "Pulumi.hostile.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def billion_laughs(levels: int = 9, width: int = 9) -> str:
    """``levels`` nested levels of ``width`` aliases each: width**levels strings once expanded."""
    lines = [HEAD.rstrip("\n"), '  guard:l0: &l0 "lol"']
    for level in range(1, levels + 1):
        aliases = ", ".join([f"*l{level - 1}"] * width)
        lines.append(f"  guard:l{level}: &l{level} [{aliases}]")
    return "\n".join(lines) + "\n"


def rejected(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load_stack_file(path, today=TODAY)
    return caught.value


def test_the_example_stack_uses_libyaml_when_available() -> None:
    if hasattr(yaml, "CSafeLoader"):
        assert issubclass(yaml_reader.LOADER, yaml.CSafeLoader)


def test_billion_laughs_fails_fast_in_bounded_memory(tmp_path: Path, loader: str) -> None:
    path = write(tmp_path, billion_laughs())
    tracemalloc.start()
    start = time.perf_counter()
    try:
        error = rejected(path)
        elapsed = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert elapsed < 5, elapsed
    assert peak < 20 * 2**20, peak  # a few MiB; expanding it would take gigabytes
    (problem,) = error.problems
    # 9**6 = 531,441 values: level 6 (line 10) is the first over the limit.
    assert problem.line == 10
    assert problem.path == ("guard:l6",)
    rendered = error.render()
    assert f"{path}:10: guard:l6: expands to more than 250,000 values" in rendered


def test_expansion_counts_characters_too(tmp_path: Path, loader: str) -> None:
    # Few values, but a long string repeated through aliases: 1,000 x 10,000 characters.
    text = HEAD + f"  guard:long: &long {'x' * 10_000}\n"
    text += "  guard:many: &many [" + ", ".join(["*long"] * 100) + "]\n"
    text += "  guard:more: [" + ", ".join(["*many"] * 10) + "]\n"
    error = rejected(write(tmp_path, text))
    assert "4,194,304 characters" in error.render()
    assert error.problems[0].line == 6


ANCHORED = """\
config:
  aws:region: ap-northeast-1
  guard:account_id: "111111111111"
  guard:products:
    - name: store
      owner: team-store
      endpoints:
        - name: web
          kind: alb
          arn: arn:aws:elasticloadbalancing:ap-northeast-1:111111111111:loadbalancer/app/web/0123456789abcdef
      waf: &waf
        rate_limits:
          - name: login
            limit: 100
            path: /login
    - name: blog
      owner: team-blog
      endpoints:
        - name: web
          kind: alb
          arn: arn:aws:elasticloadbalancing:ap-northeast-1:111111111111:loadbalancer/app/blog/0123456789abcdef
      waf: *waf
"""


def test_anchors_and_aliases_are_still_read(tmp_path: Path, loader: str) -> None:
    loaded = load_stack_file(write(tmp_path, ANCHORED), today=TODAY)
    store, blog = loaded.config.products
    assert store.waf == blog.waf and blog.waf.rate_limits[0].limit == 100


def test_a_billion_laughs_as_a_mapping_key_is_refused(tmp_path: Path, loader: str) -> None:
    # A list used as a key (`? *l9`): its text must not be built by expanding it.
    text = billion_laughs() + "  ? *l9\n  : value\n"
    error = rejected(write(tmp_path, text))
    assert error.problems[0].line == 10 and "expands to more than" in error.render()


def test_recursive_alias_is_refused(tmp_path: Path, loader: str) -> None:
    error = rejected(write(tmp_path, HEAD + "  guard:products: &p [name, *p]\n"))
    (problem,) = error.problems
    assert "refers to a mapping or list that contains it" in problem.message
    assert problem.line == 4


def test_deep_nesting_is_refused(tmp_path: Path, loader: str) -> None:
    depth = 5_000
    error = rejected(write(tmp_path, HEAD + "  guard:deep: " + "[" * depth + "]" * depth + "\n"))
    assert "nest" in error.render() and "Traceback" not in error.render()


def test_moderate_nesting_over_the_limit_is_refused(tmp_path: Path, loader: str) -> None:
    depth = yaml_reader.MAX_DEPTH + 5
    error = rejected(write(tmp_path, HEAD + "  guard:deep: " + "[" * depth + "]" * depth + "\n"))
    assert f"more than {yaml_reader.MAX_DEPTH} levels deep" in error.render()
    assert error.problems[0].line == 4


def test_file_size_is_bounded(tmp_path: Path) -> None:
    text = HEAD + "# " + "x" * yaml_reader.MAX_FILE_BYTES + "\n"
    error = rejected(write(tmp_path, text))
    assert "larger than 1,048,576 bytes (1 MiB)" in error.render()


def test_a_file_just_under_the_limit_is_read(tmp_path: Path) -> None:
    text = (STACKS / "Pulumi.prod.yaml").read_text(encoding="utf-8")
    padding = yaml_reader.MAX_FILE_BYTES - len(text.encode()) - 3
    path = write(tmp_path, text + "#" + "x" * padding + "\n")
    assert path.stat().st_size <= yaml_reader.MAX_FILE_BYTES
    assert load_stack_file(path, today=TODAY).config.products


def test_not_utf8_names_line_column_and_offset(tmp_path: Path) -> None:
    data = (HEAD + "  guard:note: café\n").encode("latin-1")
    path = write(tmp_path, data)
    error = rejected(path)
    (problem,) = error.problems
    offset = data.index(b"\xe9")
    assert (problem.line, problem.column) == (4, 18)
    assert f"byte 0xe9 (byte offset {offset})" in problem.message
    assert error.render().splitlines()[1].startswith(f"  {path}:4:18: ")


def test_utf16_is_not_utf8(tmp_path: Path) -> None:
    error = rejected(write(tmp_path, HEAD.encode("utf-16")))
    assert "not UTF-8" in error.render()


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("config:\n  aws:region: [unclosed\n", 3, 1),
        ("config:\n  aws:region: a\n   guard:x: b\n", 3, 11),
        ("config:\n  aws:region: *nowhere\n", 2, 15),
    ],
)
def test_yaml_syntax_errors_name_file_line_and_column(
    tmp_path: Path, loader: str, text: str, line: int, column: int
) -> None:
    path = write(tmp_path, text)
    error = rejected(path)
    (problem,) = error.problems
    assert (problem.line, problem.column) == (line, column)
    rendered = error.render()
    assert f"{path}:{line}:{column}: (top level): not valid YAML: " in rendered
    assert "<unicode string>" not in rendered and "\n    " not in rendered


def test_control_characters_are_located(tmp_path: Path, loader: str) -> None:
    error = rejected(write(tmp_path, HEAD + "  guard:note: é\x07\n"))
    (problem,) = error.problems
    assert (problem.line, problem.column) == (4, 16)
    assert "character #x0007 is not allowed" in problem.message


@pytest.mark.parametrize(
    "tagged", ["!!int abc", "!!float x", "!!bool maybe", "!!int ''", "!!timestamp nonsense"]
)
def test_values_that_do_not_fit_their_tag(tmp_path: Path, loader: str, tagged: str) -> None:
    error = rejected(write(tmp_path, HEAD + f"  guard:note: {tagged}\n"))
    (problem,) = error.problems
    assert problem.message.startswith("not valid YAML: a value does not fit its explicit tag")


@pytest.mark.parametrize("tagged", ["!!binary aGVsbG8=", "!!set {a, b}", "!!timestamp 2026-01-01"])
def test_values_json_cannot_carry(tmp_path: Path, tagged: str) -> None:
    error = rejected(write(tmp_path, HEAD + f"  guard:alerts:\n    emails: [{tagged}]\n"))
    (problem,) = [p for p in error.problems if "explicit YAML tag" in p.message]
    assert problem.path == ("guard:alerts",) and problem.line == 4


def test_python_tags_are_refused(tmp_path: Path, loader: str) -> None:
    error = rejected(write(tmp_path, HEAD + "  guard:x: !!python/object/apply:os.system [id]\n"))
    assert "not valid YAML" in error.render() and error.problems[0].line == 4


def test_guard_plan_exits_2_on_a_billion_laughs(tmp_path: Path) -> None:
    path = write(tmp_path, billion_laughs())
    result = subprocess.run(
        [sys.executable, "-m", "guard", "plan", "--stack", "prod", "--config-file", str(path)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and "MemoryError" not in result.stderr
    assert f"{path}:10: guard:l6: expands to more than" in result.stderr
    assert result.stdout == ""


def test_guard_plan_exits_2_on_latin1(tmp_path: Path) -> None:
    path = write(tmp_path, (HEAD + "  guard:note: café\n").encode("latin-1"))
    result = subprocess.run(
        [sys.executable, "-m", "guard", "plan", "--stack", "prod", "--config-file", str(path)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "UnicodeDecodeError" not in result.stderr
    assert f"{path}:4:18:" in result.stderr and "not UTF-8" in result.stderr
