"""Reading Pulumi stack files: line numbers, duplicate keys, secure values, Pulumi's own keys."""

from __future__ import annotations

from pathlib import Path

import pytest

from guard.config import ConfigError, load_stack_file
from guard.config.loader import SECRET_PLACEHOLDER, read_stack_file
from tests.conftest import STACKS, TODAY

HEADER = """\
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
      waf:
        rate_limits:
          - name: login
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "Pulumi.test.yaml"
    path.write_text(text)
    return path


def test_error_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "            limit: 5\n")
    with pytest.raises(ConfigError) as caught:
        load_stack_file(path, today=TODAY)
    rendered = caught.value.render()
    assert f"{path}:14: guard:products[0].waf.rate_limits[0].limit = 5" in rendered


def test_duplicate_yaml_key_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "            limit: 100\n            limit: 200\n")
    with pytest.raises(ConfigError) as caught:
        load_stack_file(path, today=TODAY)
    assert "duplicate key" in caught.value.render()


def test_pulumi_keys_allowed_unknown_top_level_rejected(tmp_path: Path) -> None:
    ok = (
        "secretsprovider: awskms://alias/guard\nencryptedkey: abc\n"
        + HEADER
        + "            limit: 100\n"
    )
    assert load_stack_file(write(tmp_path, ok), today=TODAY).config.products[0].name == "store"
    bad = "secretprovider: x\n" + HEADER + "            limit: 100\n"
    with pytest.raises(ConfigError) as caught:
        load_stack_file(write(tmp_path, bad), today=TODAY)
    assert "secretprovider" in caught.value.render() and "secretsprovider" in caught.value.render()


def test_secure_values_stay_opaque(tmp_path: Path) -> None:
    text = HEADER + "            limit: 100\n  guard:note:\n    secure: v1:abcdef==\n"
    stack_file = read_stack_file(write(tmp_path, text))
    assert stack_file.raw["guard:note"] == SECRET_PLACEHOLDER
    assert stack_file.secret_keys == ("guard:note",)
    assert "v1:abcdef" not in str(stack_file.raw)


def test_invalid_yaml_is_a_config_error(tmp_path: Path) -> None:
    path = write(tmp_path, "config: [unclosed\n")
    with pytest.raises(ConfigError) as caught:
        load_stack_file(path, today=TODAY)
    rendered = caught.value.render()
    # The file, line and column of the problem, and where the unclosed list starts.
    assert f"{path}:2:1: (top level): not valid YAML: " in rendered
    assert "flow sequence, which starts at line 1, column 9" in rendered
    assert "<unicode string>" not in rendered


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_stack_file(tmp_path / "Pulumi.none.yaml", today=TODAY)
    assert "cannot read the stack file" in caught.value.render()


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_example_stacks_are_valid(stack: str) -> None:
    loaded = load_stack_file(STACKS / f"Pulumi.{stack}.yaml", today=TODAY)
    assert loaded.config.products


def test_prod_example_has_the_reference_shape() -> None:
    config = load_stack_file(STACKS / "Pulumi.prod.yaml", today=TODAY).config
    endpoints = [e for p in config.products for e in p.endpoints]
    assert sum(e.kind == "alb" for e in endpoints) == 6
    assert sum(e.kind == "cloudfront" for e in endpoints) == 1
    ebook = next(p for p in config.products if p.name == "ebook")
    sqli = next(m for m in ebook.waf.managed_rules if m.name == "sqli")
    assert sqli.exclusions[0].rules == ["SQLi_QUERYARGUMENTS"] and sqli.exclusions[0].paths == [
        "/search"
    ]
    assert any(r.name == "login" for r in ebook.waf.rate_limits)
