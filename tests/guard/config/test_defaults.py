"""Shared defaults (``guard:defaults``): the merge, errors naming the file they came from, the
values a defaults file may not hold, and the same result in ``guard plan`` and ``pulumi up``."""

from __future__ import annotations

from pathlib import Path

import pytest

from guard.cli import main
from guard.config import ConfigError, load_stack_config, load_stack_file
from guard.config import loader as loader_module
from guard.config.defaults import (
    DEFAULTS,
    STACK,
    leaf_origins,
    merge,
    merge_raw,
    origin_of,
    path_problem,
    resolve,
)
from guard.config.errors import Problem
from guard.config.loader import STACKS_DIR_VARIABLE, read_stack_file, stack_file_origins
from tests.conftest import TODAY

STACK_PATH = Path("stacks/Pulumi.shop.yaml")
DEFAULTS_PATH = Path("defaults/baseline.yaml")

# Line numbers matter: the tests pin them.
BASELINE = """\
config:
  guard:alerts:
    slack:
      workspace_id: T0BASE0001
      normal_channel: C0BASE0001
      urgent_channel: C0BASE0002
    emails: [secops@example.com, oncall@example.com]
  guard:detection:
    guardduty:
      publishing_frequency: ONE_HOUR
"""

STACK_HEAD = """\
config:
  aws:region: ap-northeast-1
  guard:account_id: "444444444444"
  guard:defaults: ../defaults/baseline.yaml
  guard:products:
    - name: shop
      owner: team-shop
      endpoints:
        - name: web
          kind: alb
          arn: arn:aws:elasticloadbalancing:ap-northeast-1:444444444444:loadbalancer/app/web/0123456789abcdef
      waf:
        rate_limits:
          - name: login
            limit: {limit}
            path: /login
"""
OWN_ALERTS = """\
  guard:alerts:
    slack: {normal_channel: C0SHOP0001}
    emails: [shop@example.com]
"""


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with stacks/ and defaults/; paths in messages are relative to it."""
    (tmp_path / "stacks").mkdir()
    (tmp_path / "defaults").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(STACKS_DIR_VARIABLE, "stacks")
    return tmp_path


def write(*, baseline: str | None = BASELINE, extra: str = OWN_ALERTS, limit: int = 100) -> Path:
    if baseline is not None:
        DEFAULTS_PATH.write_text(baseline, encoding="utf-8")
    STACK_PATH.write_text(STACK_HEAD.format(limit=limit) + extra, encoding="utf-8")
    return STACK_PATH


def errors_of(path: Path = STACK_PATH) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_stack_file(path, today=TODAY)
    head, *lines = caught.value.render().splitlines()
    assert head.startswith(f"{path}: {len(lines)} configuration error")
    return [line.strip() for line in lines]


# --- merging ---------------------------------------------------------------------------------


def test_merge_nested_mappings_key_by_key_the_stack_winning() -> None:
    defaults = {"slack": {"workspace_id": "T1", "normal_channel": "C1"}, "emails": ["a", "b"]}
    stack = {"slack": {"normal_channel": "C2"}, "emails": ["c"]}
    assert merge(defaults, stack) == {
        "slack": {"workspace_id": "T1", "normal_channel": "C2"},
        "emails": ["c"],  # a list replaces the default, it is not appended to
    }
    assert merge({"a": {"b": 1}}, {"a": 5}) == {"a": 5}  # a scalar replaces a mapping
    assert merge({"a": 5}, {"a": {"b": 1}}) == {"a": {"b": 1}}
    assert merge({"a": [1, 2]}, {"a": []}) == {"a": []}


def test_merge_raw_works_on_the_engines_string_map() -> None:
    merged = merge_raw(
        {"guard:alerts": {"slack": {"workspace_id": "T1", "normal_channel": "C1"}}},
        {"guard:alerts": '{"slack": {"workspace_id": "T1", "normal_channel": "C1"}}'},
        {
            "aws:region": "eu-west-1",
            "guard:defaults": "../defaults/baseline.yaml",
            "guard:alerts": '{"slack": {"normal_channel": "C2"}}',
        },
    )
    assert merged == {
        "guard:alerts": '{"slack": {"workspace_id": "T1", "normal_channel": "C2"}}',
        "aws:region": "eu-west-1",
    }


def test_a_stack_file_takes_the_defaults_under_its_own_keys(repo: Path) -> None:
    loaded = load_stack_file(write(), today=TODAY)
    alerts = loaded.config.alerts
    assert alerts is not None
    assert alerts.slack.workspace_id == "T0BASE0001"  # only the defaults set it
    assert alerts.slack.normal_channel == "C0SHOP0001"  # the stack wins
    assert alerts.slack.urgent_channel == "C0BASE0002"
    assert alerts.emails == ["shop@example.com"]  # the stack's list replaces the default's
    assert loaded.config.detection is not None
    assert loaded.config.detection.guardduty.publishing_frequency == "ONE_HOUR"
    # What the program and the policies are handed: merged, without guard:defaults.
    assert "guard:defaults" not in loaded.raw
    assert '"workspace_id": "T0BASE0001"' in loaded.raw["guard:alerts"]


def test_a_stack_without_own_alerts_takes_them_whole(repo: Path) -> None:
    alerts = load_stack_file(write(extra=""), today=TODAY).config.alerts
    assert alerts is not None
    assert alerts.slack.normal_channel == "C0BASE0001"
    assert alerts.emails == ["secops@example.com", "oncall@example.com"]


def test_the_pulumi_up_path_yields_the_same_config(repo: Path) -> None:
    """``pulumi up``: the engine's string map, guard:defaults a plain string, the stack file's
    path as the source (what guard/program.py passes)."""
    path = write()
    stack_file = read_stack_file(path)
    assert stack_file.raw["guard:defaults"] == "../defaults/baseline.yaml"
    from_engine = load_stack_config(dict(stack_file.raw), str(path), today=TODAY)
    from_file = load_stack_file(path, today=TODAY)
    assert from_engine.config == from_file.config
    assert from_engine.raw == from_file.raw
    # The merged map validates to the same config again (the program in guard plan).
    assert load_stack_config(from_file.raw, str(path), today=TODAY).config == from_file.config


def test_the_pulumi_up_path_names_the_defaults_file_and_line(repo: Path) -> None:
    write(baseline=BASELINE.replace("T0BASE0001", "x"))
    raw = dict(read_stack_file(STACK_PATH).raw)
    with pytest.raises(ConfigError) as caught:
        load_stack_config(raw, str(STACK_PATH), today=TODAY)
    assert "  defaults/baseline.yaml:4: guard:alerts.slack.workspace_id = 'x': " in (
        caught.value.render()
    )


def test_an_edited_defaults_file_is_not_served_from_the_cache(repo: Path) -> None:
    path = write()
    raw = dict(read_stack_file(path).raw)
    first = load_stack_config(raw, str(path), today=TODAY)
    assert first.config.alerts is not None
    assert first.config.alerts.slack.urgent_channel == "C0BASE0002"
    DEFAULTS_PATH.write_text(BASELINE.replace("C0BASE0002", "C0BASE0003"), encoding="utf-8")
    second = load_stack_config(raw, str(path), today=TODAY)
    assert second.config.alerts is not None
    assert second.config.alerts.slack.urgent_channel == "C0BASE0003"
    DEFAULTS_PATH.write_text(BASELINE.replace("C0BASE0002", "bad"), encoding="utf-8")
    with pytest.raises(ConfigError):
        load_stack_config(raw, str(path), today=TODAY)


def test_the_cache_keys_on_the_merged_map(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write()
    raw = dict(read_stack_file(path).raw)
    monkeypatch.setattr(loader_module, "_VALIDATED", {})
    load_stack_config(raw, str(path), today=TODAY)
    ((key_items, _, _),) = loader_module._VALIDATED
    assert "guard:defaults" not in dict(key_items)
    assert "T0BASE0001" in dict(key_items)["guard:alerts"]


# --- errors name the file the value came from ------------------------------------------------


def test_a_bad_default_names_the_defaults_file_and_line(repo: Path) -> None:
    write(baseline=BASELINE.replace("T0BASE0001", "x"))
    assert errors_of() == [
        "defaults/baseline.yaml:4: guard:alerts.slack.workspace_id = 'x': must be a Slack "
        "workspace ID: 'T' then uppercase letters and digits, e.g. T0EXAMPLE1"
    ]


def test_errors_of_both_files_in_one_run(repo: Path) -> None:
    write(baseline=BASELINE.replace("ONE_HOUR", "HOURLY"), limit=5)
    errors = errors_of()
    assert len(errors) == 2
    assert any(e.startswith("stacks/Pulumi.shop.yaml:15: guard:products[0]") for e in errors)
    assert any(
        e.startswith("defaults/baseline.yaml:10: guard:detection.guardduty.publishing_frequency")
        for e in errors
    )


def test_a_stack_value_over_a_bad_default_is_the_stacks(repo: Path) -> None:
    # The stack overrides the bad default: nothing is wrong.
    write(baseline=BASELINE.replace("C0BASE0001", "general"))
    assert load_stack_file(STACK_PATH, today=TODAY).config.alerts is not None
    # The stack's own bad value is reported at the stack file's line.
    write(extra=OWN_ALERTS.replace("C0SHOP0001", "shop-alerts"))
    (error,) = errors_of()
    assert error.startswith(
        "stacks/Pulumi.shop.yaml:18: guard:alerts.slack.normal_channel = 'shop-alerts': "
    )


def test_an_unknown_key_in_the_defaults_file_names_its_line(repo: Path) -> None:
    write(baseline=BASELINE + "  guard:detectoin: {}\n")
    (error,) = errors_of()
    assert error.startswith(
        "defaults/baseline.yaml:11: guard:detectoin: unknown key (did you mean guard:detection?)"
    )


def test_a_number_for_text_in_the_defaults_file_says_quote_it(repo: Path) -> None:
    write(baseline=BASELINE.replace("C0BASE0002", "0123"), extra="")
    assert errors_of() == [
        "defaults/baseline.yaml:6: guard:alerts.slack.urgent_channel = 0123: YAML reads the "
        "unquoted 0123 as the number 83 (YAML 1.1 reads digits with a leading 0 as an octal "
        'number), but this key takes text: quote it, as in "0123"'
    ]


@pytest.mark.parametrize(
    ("entry", "path", "message"),
    [
        ("  aws:region: eu-west-1\n", "aws:region = 'eu-west-1'", "aws:region is per stack"),
        (
            '  guard:account_id: "111111111111"\n',
            "guard:account_id = '111111111111'",
            "the account is per stack",
        ),
        (
            "  guard:defaults: other.yaml\n",
            "guard:defaults = 'other.yaml'",
            "cannot name another defaults file (no chains)",
        ),
        (
            "  guard:note:\n    secure: v1:abcdef==\n",
            "guard:note",
            "secrets belong in the stack file, where Pulumi encrypts them per stack",
        ),
        (
            "  guard:tuners: {token: {secure: v1:abcdef==}}\n",
            "guard:tuners.token",
            "secrets belong in the stack file",
        ),
    ],
)
def test_per_stack_entries_are_refused_with_file_and_line(
    repo: Path, entry: str, path: str, message: str
) -> None:
    write(baseline=BASELINE + entry)
    (error,) = errors_of()
    assert error.startswith(f"defaults/baseline.yaml:11: {path}: ")
    assert message in error


def test_a_refused_entry_and_a_bad_value_in_one_run(repo: Path) -> None:
    write(baseline=BASELINE.replace("T0BASE0001", "x") + "  aws:region: eu-west-1\n", limit=5)
    errors = errors_of()
    assert [e.split(": ")[0] for e in errors] == [
        "defaults/baseline.yaml:11",
        "stacks/Pulumi.shop.yaml:15",
        "defaults/baseline.yaml:4",
    ]


def test_a_bad_default_is_exit_code_2_from_the_cli(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(baseline=BASELINE.replace("T0BASE0001", "x"))
    assert main(["stacks"]) == 2
    assert "defaults/baseline.yaml:4: guard:alerts.slack.workspace_id = 'x'" in (
        capsys.readouterr().err
    )


# --- the defaults file cannot be used --------------------------------------------------------


def test_a_missing_defaults_file_names_the_line_and_the_path_tried(repo: Path) -> None:
    write(baseline=None)
    assert errors_of() == [
        "stacks/Pulumi.shop.yaml:4: guard:defaults = '../defaults/baseline.yaml': cannot read "
        "the defaults file defaults/baseline.yaml: No such file or directory (the path is "
        "relative to the stack file's directory)"
    ]


def test_the_path_is_relative_to_the_stack_files_directory(repo: Path) -> None:
    write()
    STACK_PATH.write_text(
        STACK_PATH.read_text().replace("../defaults/baseline.yaml", "baseline.yaml")
    )
    (error,) = errors_of()
    assert "cannot read the defaults file stacks/baseline.yaml" in error
    Path("stacks/baseline.yaml").write_text(BASELINE)
    assert load_stack_file(STACK_PATH, today=TODAY).config.detection is not None


def test_bad_yaml_in_the_defaults_file_is_located_in_it(repo: Path) -> None:
    write(baseline="config:\n  guard:alerts: [unclosed\n")
    head, located = errors_of()
    assert head.startswith(
        "stacks/Pulumi.shop.yaml:4: guard:defaults = '../defaults/baseline.yaml'"
    )
    assert head.endswith(": the defaults file defaults/baseline.yaml has 1 error, listed below")
    assert located.startswith("defaults/baseline.yaml:3:1: (top level): not valid YAML: ")


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "just text\n"])
def test_a_defaults_file_that_is_not_a_mapping(repo: Path, text: str) -> None:
    write(baseline=text)
    (error,) = errors_of()
    assert error.startswith("stacks/Pulumi.shop.yaml:4: guard:defaults = ")
    assert "defaults/baseline.yaml must be a mapping with a 'config' key" in error


def test_a_config_that_is_not_a_mapping_is_located(repo: Path) -> None:
    write(baseline="# shared\nconfig: [a]\n")
    head, located = errors_of()
    assert head.startswith("stacks/Pulumi.shop.yaml:4: guard:defaults")
    assert located == "defaults/baseline.yaml:2: config: must be a mapping of guard: keys"


def test_an_unknown_top_level_key_of_the_defaults_file(repo: Path) -> None:
    write(baseline="secretsprovider: x\n" + BASELINE)
    (error,) = errors_of()
    assert error.startswith("defaults/baseline.yaml:1: secretsprovider: unknown top-level key")


@pytest.mark.parametrize("written", ["/etc/guard/baseline.yaml", "C:\\guard\\baseline.yaml"])
def test_an_absolute_path_is_refused(repo: Path, written: str) -> None:
    write()
    STACK_PATH.write_text(
        STACK_PATH.read_text().replace("../defaults/baseline.yaml", f"'{written}'")
    )
    (error,) = errors_of()
    assert error.startswith(f"stacks/Pulumi.shop.yaml:4: guard:defaults = {written!r}: ")
    assert "not an absolute path" in error


def test_a_mapping_is_no_path(repo: Path) -> None:
    write()
    STACK_PATH.write_text(
        STACK_PATH.read_text().replace("../defaults/baseline.yaml", "{file: baseline.yaml}")
    )
    (error,) = errors_of()
    assert "must be the path of a defaults file" in error


def test_a_secure_guard_defaults_is_refused(repo: Path) -> None:
    write()
    STACK_PATH.write_text(
        STACK_PATH.read_text().replace("../defaults/baseline.yaml", "{secure: v1:abc==}")
    )
    (error,) = errors_of()
    assert error == (
        "stacks/Pulumi.shop.yaml:4: guard:defaults: must be a plain path, not a secure value"
    )


def test_path_problem_and_resolve() -> None:
    assert path_problem("../defaults/baseline.yaml") is None
    assert path_problem("") is not None
    assert path_problem("/abs.yaml") is not None
    assert resolve("stacks/Pulumi.a.yaml", "../defaults/b.yaml") == Path("defaults/b.yaml")
    assert resolve("Pulumi.a.yaml", "b.yaml") == Path("b.yaml")


# --- origins ---------------------------------------------------------------------------------


def test_origin_of_a_key_path() -> None:
    defaults = {"guard:alerts": {"slack": {"workspace_id": "T1"}}, "guard:tuners": {"a": 1}}
    stack = {"guard:alerts": {"slack": {"normal_channel": "C1"}}, "guard:products": []}
    assert origin_of(("guard:alerts", "slack", "workspace_id"), defaults, stack) == DEFAULTS
    assert origin_of(("guard:alerts", "slack", "normal_channel"), defaults, stack) == STACK
    # A key neither file has (required, missing): the stack's owner adds it.
    assert origin_of(("guard:alerts", "slack", "urgent_channel"), defaults, stack) == STACK
    assert origin_of(("guard:tuners", "a", "b"), defaults, stack) == DEFAULTS
    assert origin_of(("guard:products", 0, "name"), defaults, stack) == STACK
    assert origin_of(("aws:region",), defaults, stack) == STACK
    assert origin_of((), defaults, stack) == STACK
    # A stack's scalar over a default mapping is the stack's, all the way down.
    assert origin_of(("guard:tuners", "a"), defaults, {"guard:tuners": "x"}) == STACK


def test_leaf_origins() -> None:
    defaults = {"guard:alerts": {"slack": {"workspace_id": "T1", "normal_channel": "C0"}}}
    stack = {"guard:alerts": {"slack": {"normal_channel": "C1"}}, "guard:x": {}}
    assert leaf_origins(defaults, stack) == {
        ("guard:alerts", "slack", "workspace_id"): DEFAULTS,
        ("guard:alerts", "slack", "normal_channel"): STACK,
        ("guard:x",): STACK,
    }


def test_stack_file_origins(repo: Path) -> None:
    assert stack_file_origins(write()) == {
        "aws:region": "stacks/Pulumi.shop.yaml:2",
        "guard:account_id": "stacks/Pulumi.shop.yaml:3",
        "guard:alerts.emails": "stacks/Pulumi.shop.yaml:19",
        "guard:alerts.slack.normal_channel": "stacks/Pulumi.shop.yaml:18",
        "guard:alerts.slack.urgent_channel": "defaults/baseline.yaml:6",
        "guard:alerts.slack.workspace_id": "defaults/baseline.yaml:4",
        "guard:detection.guardduty.publishing_frequency": "defaults/baseline.yaml:10",
        "guard:products": "stacks/Pulumi.shop.yaml:5",
    }


# --- without a defaults file nothing changes -------------------------------------------------


def test_problem_source_overrides_the_errors_source() -> None:
    error = ConfigError(
        "stacks/Pulumi.a.yaml",
        [
            Problem(("guard:x",), "bad", "v", line=3),
            Problem(("guard:y",), "worse", line=7, source="defaults/b.yaml"),
        ],
    )
    assert error.render() == (
        "stacks/Pulumi.a.yaml: 2 configuration errors\n"
        "  stacks/Pulumi.a.yaml:3: guard:x = 'v': bad\n"
        "  defaults/b.yaml:7: guard:y: worse"
    )
    # with_lines looks lines up for the error's own file only.
    located = ConfigError(
        "s", [Problem(("guard:x",), "m"), Problem(("guard:x",), "m", source="d")]
    ).with_lines({("guard:x",): 9})
    assert [p.line for p in located.problems] == [9, None]
