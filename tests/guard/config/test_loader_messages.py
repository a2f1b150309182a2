"""Config error messages: every error of a file in one run, "quote it", "did you mean", full values."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from guard.config import ConfigError, Problem, load_stack_config, load_stack_file
from guard.config.errors import MAX_SHOWN_CHARS, describe_value
from tests.conftest import STACKS, TODAY, alb_arn, minimal_product, raw_config

PROD = (STACKS / "Pulumi.prod.yaml").read_text(encoding="utf-8")


def edit(text: str, old: str, new: str) -> str:
    """``text`` with the first ``old`` replaced."""
    assert old in text, old
    return text.replace(old, new, 1)


def line_of(text: str, fragment: str) -> int:
    pattern = re.compile(re.escape(fragment) + r"\b")
    (index,) = [i for i, line in enumerate(text.splitlines(), 1) if pattern.search(line)]
    return index


def rejected(tmp_path: Path, text: str) -> ConfigError:
    path = tmp_path / "Pulumi.prod.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_stack_file(path, today=TODAY)
    return caught.value


def by_path(error: ConfigError) -> dict[tuple[str | int, ...], Problem]:
    return {p.path: p for p in error.problems}


# --- every error of a file in one run ----------------------------------------------------------


def test_schema_errors_of_sections_and_products_and_cross_checks_in_one_run(
    tmp_path: Path,
) -> None:
    text = edit(
        PROD,
        "            limit: 100\n            window: 300\n            path: /login",
        "            limit: 5\n            window: 300\n            path: /login",
    )
    text = edit(text, "          - name: php\n", "          - name: phpp\n")  # a cross check
    text = edit(text, "normal_channel: C0NORMAL01", "normal_channel: general")
    error = rejected(tmp_path, text)
    problems = by_path(error)
    limit = problems[("guard:products", 0, "waf", "rate_limits", 0, "limit")]
    rule = problems[("guard:products", 3, "waf", "managed_rules", 4, "name")]
    channel = problems[("guard:alerts", "slack", "normal_channel")]
    assert len(error.problems) == 3, error.render()
    assert limit.value == 5 and limit.line == line_of(text, "limit: 5")
    assert rule.value == "phpp" and rule.line == line_of(text, "name: phpp")
    assert "unknown managed rule group" in rule.message
    assert channel.value == "general" and channel.line == line_of(text, "normal_channel: general")


def test_products_after_an_invalid_one_keep_their_index(tmp_path: Path) -> None:
    # Product 0 is left out of the cross checks; product 2's problem must still say [2].
    text = edit(PROD, "owner: team-marketplace", "owner: 42")
    text = edit(text, "          - name: wordpress\n", "          - name: wordpres\n")
    error = rejected(tmp_path, text)
    assert set(by_path(error)) == {
        ("guard:products", 0, "owner"),
        ("guard:products", 3, "waf", "managed_rules", 3, "name"),
    }


def test_no_spurious_errors_from_an_invalid_section(tmp_path: Path) -> None:
    # guard:alerts is invalid, not absent: "guard:shield needs guard:alerts" would be false, and
    # so would "guard:detection needs guard:alerts" and the digest's need for guard:alerts.
    text = edit(PROD, "    emails: [secops@example.com]", "    emails: secops@example.com")
    error = rejected(tmp_path, text)
    assert [p.path for p in error.problems] == [("guard:alerts", "emails")], error.render()


def test_no_spurious_account_mismatches_from_an_invalid_account(tmp_path: Path) -> None:
    text = edit(PROD, 'guard:account_id: "111111111111"', 'guard:account_id: "11111111111"')
    error = rejected(tmp_path, text)
    assert [p.path for p in error.problems] == [("guard:account_id",)], error.render()


def test_unknown_keys_and_cross_checks_in_one_run() -> None:
    raw = raw_config(products=[minimal_product("shop"), minimal_product("shop")])
    raw["guard:alert"] = "{}"
    with pytest.raises(ConfigError) as caught:
        load_stack_config(raw, "test.yaml", today=TODAY)
    messages = [p.message for p in caught.value.problems]
    assert any("unknown key (did you mean guard:alerts?)" in m for m in messages)
    assert any("duplicate product name" in m for m in messages)


def test_an_undecodable_section_is_not_reported_as_missing() -> None:
    raw = raw_config(products=[minimal_product("shop", managed_rules=[{"name": "sqlii"}])])
    raw["guard:alerts"] = "not json"
    with pytest.raises(ConfigError) as caught:
        load_stack_config(raw, "test.yaml", today=TODAY)
    paths = [p.path for p in caught.value.problems]
    assert paths == [
        ("guard:alerts",),
        ("guard:products", 0, "waf", "managed_rules", 0, "name"),
    ], caught.value.render()


def test_a_valid_file_is_unchanged() -> None:
    loaded = load_stack_file(STACKS / "Pulumi.prod.yaml", today=TODAY)
    assert len(loaded.config.products) == 4


# --- "quote it" --------------------------------------------------------------------------------


def test_octal_account_id_says_quote_it(tmp_path: Path) -> None:
    text = edit(PROD, 'guard:account_id: "111111111111"', "guard:account_id: 012345670123")
    error = rejected(tmp_path, text)
    (problem,) = error.problems
    assert problem.line == line_of(text, "guard:account_id")
    rendered = error.render()
    assert "guard:account_id = 012345670123: YAML reads the unquoted 012345670123 as the " in (
        rendered
    )
    assert "number 1402433619" in rendered and "octal" in rendered
    assert 'quote it, as in "012345670123"' in rendered
    assert "'1402433619'" not in rendered and "^\\d{12}$" not in rendered


@pytest.mark.parametrize(
    ("old", "new", "path", "written"),
    [
        (
            "urgent_channel: C0URGENT01",
            "urgent_channel: 0123",
            ("guard:alerts", "slack", "urgent_channel"),
            "0123",
        ),
        (
            "log_buckets: [example-prod-waf-logs]",
            "log_buckets: [example-prod-waf-logs, 1_000]",
            ("guard:shield", "srt_access", "log_buckets", 1),
            "1_000",
        ),
        ("- name: energy", "- name: 007", ("guard:products", 1, "name"), "007"),
        (
            "workspace_id: T0EXAMPLE1",
            "workspace_id: 1.5",
            ("guard:alerts", "slack", "workspace_id"),
            "1.5",
        ),
    ],
)
def test_digits_in_text_fields_say_quote_it(
    tmp_path: Path, old: str, new: str, path: tuple[str | int, ...], written: str
) -> None:
    error = rejected(tmp_path, edit(PROD, old, new))
    problem = by_path(error)[path]
    assert f'quote it, as in "{written}"' in problem.message
    assert problem.render("f").startswith(f"f:{problem.line}: ") and f"= {written}: " in (
        problem.render("f")
    )


def test_numbers_in_number_fields_are_not_told_to_quote(tmp_path: Path) -> None:
    text = edit(
        PROD,
        "limit: 100\n            window: 300\n            path: /login",
        "limit: 05\n            window: 300\n            path: /login",
    )
    error = rejected(tmp_path, text)
    (problem,) = error.problems
    assert "quote" not in problem.message and problem.value == 5


def test_a_number_that_reads_back_the_same_is_fine(tmp_path: Path) -> None:
    text = edit(PROD, 'guard:account_id: "111111111111"', "guard:account_id: 111111111111")
    path = tmp_path / "Pulumi.prod.yaml"
    path.write_text(text, encoding="utf-8")
    assert load_stack_file(path, today=TODAY).config.account_id == "111111111111"


def test_quote_it_from_the_engine_too() -> None:
    # pulumi up has no file to quote from, but says what to do.
    products = [minimal_product("shop")]
    products[0]["owner"] = 12
    with pytest.raises(ConfigError) as caught:
        load_stack_config(raw_config(products=products), "test.yaml", today=TODAY)
    (problem,) = caught.value.problems
    assert "must be text, not the number 12" in problem.message and "quote" in problem.message


# --- did you mean ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "hint"),
    [
        (
            "        rate_limits:\n          - name: login\n            limit: 100",
            "        rate_limit:\n          - name: login\n            limit: 100",
            "(did you mean rate_limits?)",
        ),
        ("  guard:shield:", "  guard:sheild:", "(did you mean guard:shield?)"),
        ("config:\n", "secretprovider: x\nconfig:\n", "(did you mean secretsprovider?)"),
    ],
)
def test_unknown_keys_suggest_the_closest(tmp_path: Path, old: str, new: str, hint: str) -> None:
    text = PROD.replace(old, new, 1)
    error = rejected(tmp_path, text)
    assert any(
        f"unknown {kind}{hint}" in p.message
        for p in error.problems
        for kind in ("key ", "top-level key ")
    ), error.render()


# --- full values -------------------------------------------------------------------------------


def test_long_arns_are_shown_in_full(tmp_path: Path) -> None:
    arn = alb_arn("shop-web-with-a-long-load-balancer-name", account="222222222222")
    product = minimal_product("shop")
    product["endpoints"][0]["arn"] = arn
    with pytest.raises(ConfigError) as caught:
        load_stack_config(raw_config(products=[product]), "test.yaml", today=TODAY)
    assert repr(arn) in caught.value.render() and "..." not in caught.value.render()


def test_absurd_values_are_cut_and_say_how_much() -> None:
    shown = describe_value("x" * 5000)
    assert shown.startswith("'xxx") and shown.endswith("... (2,954 more characters)")
    assert len(shown) < MAX_SHOWN_CHARS + 40
    assert describe_value("y" * 2000) == repr("y" * 2000)


def test_a_misspelt_required_key_is_one_error(tmp_path: Path) -> None:
    text = edit(PROD, "workspace_id: T0EXAMPLE1", "workspace_idd: T0EXAMPLE1")
    error = rejected(tmp_path, text)
    (problem,) = error.problems
    assert problem.path == ("guard:alerts", "slack", "workspace_idd")
    assert problem.message.startswith("unknown key (did you mean workspace_id?)")
    assert problem.line == line_of(text, "workspace_idd")
