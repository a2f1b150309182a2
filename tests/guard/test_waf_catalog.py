"""Tests of the managed rule group catalog: the shipped data and the loader's validation.

The facts checked here come from the AWS WAF Developer Guide ("AWS Managed Rules rule groups
list"); a malformed copy of the shipped file must fail with the file and the key path named.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import botocore.session
import pytest
import yaml
from botocore.validate import ParamValidator

import guard.waf_catalog as waf_catalog
from guard.waf_catalog import (
    DEFAULT_PATH,
    CatalogError,
    group_by_alias,
    load_catalog,
    load_catalog_data,
)

EXPECTED = {
    "common": "AWSManagedRulesCommonRuleSet",
    "known-bad-inputs": "AWSManagedRulesKnownBadInputsRuleSet",
    "sqli": "AWSManagedRulesSQLiRuleSet",
    "linux": "AWSManagedRulesLinuxRuleSet",
    "unix": "AWSManagedRulesUnixRuleSet",
    "windows": "AWSManagedRulesWindowsRuleSet",
    "php": "AWSManagedRulesPHPRuleSet",
    "wordpress": "AWSManagedRulesWordPressRuleSet",
    "admin-protection": "AWSManagedRulesAdminProtectionRuleSet",
    "ip-reputation": "AWSManagedRulesAmazonIpReputationList",
    "anonymous-ip": "AWSManagedRulesAnonymousIpList",
    "bot-control": "AWSManagedRulesBotControlRuleSet",
}
# WCUs as the Developer Guide states them for each group.
EXPECTED_WCU = {
    "common": 700,
    "known-bad-inputs": 200,
    "sqli": 200,
    "linux": 200,
    "unix": 100,
    "windows": 200,
    "php": 100,
    "wordpress": 100,
    "admin-protection": 100,
    "ip-reputation": 25,
    "anonymous-ip": 50,
    "bot-control": 50,
}


# --- the shipped catalog ------------------------------------------------------------------------


def test_all_aliases_load_in_order_with_their_aws_names() -> None:
    catalog = load_catalog()
    assert tuple(catalog) == tuple(EXPECTED)
    assert tuple(EXPECTED) == waf_catalog.ALIASES
    assert waf_catalog.aliases() == tuple(EXPECTED)
    assert {alias: g.name for alias, g in catalog.items()} == EXPECTED
    assert {g.vendor for g in catalog.values()} == {"AWS"}
    assert all(alias == g.alias for alias, g in catalog.items())


def test_wcus_are_aws_documented_values() -> None:
    assert {alias: g.wcu for alias, g in load_catalog().items()} == EXPECTED_WCU


def test_known_rules_and_labels() -> None:
    sqli = group_by_alias("sqli")
    rule = sqli.rule("SQLi_QUERYARGUMENTS")
    assert rule is not None
    assert rule.label == "awswaf:managed:aws:sql-database:SQLi_QueryArguments"

    bad_inputs = group_by_alias("known-bad-inputs")
    log4j = {n for n in bad_inputs.rule_names if n.startswith("Log4JRCE")}
    assert log4j == {"Log4JRCE_HEADER", "Log4JRCE_QUERYSTRING", "Log4JRCE_BODY", "Log4JRCE_URIPATH"}
    query = bad_inputs.rule("Log4JRCE_QUERYSTRING")
    assert query is not None
    assert query.label == "awswaf:managed:aws:known-bad-inputs:Log4JRCE_QueryString"

    # AWS spells some labels unlike their rules; the catalog keeps AWS's spelling.
    bad_bots = group_by_alias("common").rule("UserAgent_BadBots_HEADER")
    assert bad_bots is not None
    assert bad_bots.label == "awswaf:managed:aws:core-rule-set:BadBots_Header"
    assert group_by_alias("ip-reputation").rule_names == (
        "AWSManagedIPReputationList",
        "AWSManagedReconnaissanceList",
        "AWSManagedIPDDoSList",
    )


def test_rule_lookup_is_exact() -> None:
    sqli = group_by_alias("sqli")
    assert sqli.rule("sqli_queryarguments") is None
    assert sqli.rule("SQLi_QUERYARGS") is None
    assert sqli.rule_names[0] == "SQLi_QUERYARGUMENTS"


@pytest.mark.parametrize("alias", list(EXPECTED))
def test_rules_unique_and_labels_in_the_group_namespace(alias: str) -> None:
    group = load_catalog()[alias]
    assert group.rules
    assert len(set(group.rule_names)) == len(group.rule_names)
    labels = [r.label for r in group.rules]
    assert len(set(labels)) == len(labels)
    # One namespace per group, e.g. awswaf:managed:aws:sql-database:
    namespaces = {label.rsplit(":", 1)[0] for label in labels}
    assert len(namespaces) == 1
    assert re.fullmatch(r"awswaf:managed:aws:[a-z-]+", namespaces.pop())
    assert all(re.fullmatch(r"[\w-]+", name) for name in group.rule_names)


def test_bot_control_is_configured_for_the_common_level() -> None:
    bot = group_by_alias("bot-control")
    assert bot.config == {"AWSManagedRulesBotControlRuleSet": {"InspectionLevel": "COMMON"}}
    # Targeted-level rules (TGT_) do not run at the common level, so they are not offered.
    assert not any(name.startswith("TGT_") for name in bot.rule_names)
    assert {"SignalNonBrowserUserAgent", "CategoryHttpLibrary"} <= set(bot.rule_names)
    assert all(g.config is None for a, g in load_catalog().items() if a != "bot-control")


def test_bot_control_config_is_a_valid_api_entry() -> None:
    """The config goes into ManagedRuleGroupConfigs as is; botocore's model must accept it."""
    bot = group_by_alias("bot-control")
    assert bot.config is not None
    model = botocore.session.get_session().get_service_model("wafv2")
    shape = model.shape_for("ManagedRuleGroupStatement")
    statement = {
        "VendorName": bot.vendor,
        "Name": bot.name,
        "ManagedRuleGroupConfigs": [dict(bot.config)],
    }
    report = ParamValidator().validate(statement, shape)
    assert not report.has_errors(), report.generate_report()
    broken = {**statement, "ManagedRuleGroupConfigs": [{"AWSManagedRulesBotControlRuleSet": {}}]}
    assert ParamValidator().validate(broken, shape).has_errors()


def test_config_is_read_only() -> None:
    bot = group_by_alias("bot-control")
    assert bot.config is not None
    with pytest.raises(TypeError):
        bot.config["Other"] = {}  # type: ignore[index]


def test_unknown_alias_lists_the_known_ones() -> None:
    with pytest.raises(KeyError) as info:
        group_by_alias("sql")
    message = str(info.value)
    assert "'sql'" in message
    assert "sqli" in message and "bot-control" in message


def test_default_catalog_is_cached_and_explicit_paths_are_not(tmp_path: Path) -> None:
    assert load_catalog() is load_catalog()
    assert load_catalog(DEFAULT_PATH) is load_catalog()
    copy_path = tmp_path / "catalog.yaml"
    copy_path.write_text(DEFAULT_PATH.read_text(encoding="utf-8"), encoding="utf-8")
    first = load_catalog(copy_path)
    assert first is not load_catalog(copy_path)
    assert dict(first) == dict(load_catalog())


def test_source_and_refresh_note_are_recorded() -> None:
    data = load_catalog_data()
    assert any("docs.aws.amazon.com/waf" in s for s in data["source"])
    assert any("scripts/refresh_waf_catalog.py" in s for s in data["source"])
    assert data["refreshed"]


# --- a malformed catalog -----------------------------------------------------------------------


def _write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _shipped() -> dict[str, Any]:
    return copy.deepcopy(load_catalog_data())


def _sqli_rules(data: dict[str, Any]) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = data["groups"]["sqli"]["rules"]
    return rules


def _drop_wcu(d: dict[str, Any]) -> None:
    del d["groups"]["sqli"]["wcu"]


def _duplicate_rule(d: dict[str, Any]) -> None:
    rules = _sqli_rules(d)
    rules.insert(1, {"name": rules[0]["name"], "label": rules[0]["label"] + "Copy"})


def _bad_label(d: dict[str, Any]) -> None:
    _sqli_rules(d)[2]["label"] = "aws:sql-database:SQLi_Body"


def _typo_key(d: dict[str, Any]) -> None:
    _sqli_rules(d)[0]["labels"] = _sqli_rules(d)[0].pop("label")


def _wcu_text(d: dict[str, Any]) -> None:
    d["groups"]["common"]["wcu"] = "700"


def _wcu_bool(d: dict[str, Any]) -> None:
    d["groups"]["common"]["wcu"] = True


def _no_rules(d: dict[str, Any]) -> None:
    d["groups"]["php"]["rules"] = []


def _shared_label(d: dict[str, Any]) -> None:
    _sqli_rules(d)[1]["label"] = _sqli_rules(d)[0]["label"]


def _config_list(d: dict[str, Any]) -> None:
    d["groups"]["bot-control"]["config"] = [{"InspectionLevel": "COMMON"}]


def _bad_alias(d: dict[str, Any]) -> None:
    d["groups"]["Bot_Control"] = d["groups"].pop("bot-control")


def _no_source(d: dict[str, Any]) -> None:
    del d["source"]


def _multiline_description(d: dict[str, Any]) -> None:
    d["groups"]["linux"]["description"] = "two\nlines"


@pytest.mark.parametrize(
    ("mutate", "key_path", "words"),
    [
        (_drop_wcu, "groups.sqli.wcu", "is required"),
        (_duplicate_rule, "groups.sqli.rules[1].name", "duplicate rule 'SQLi_QUERYARGUMENTS'"),
        (_bad_label, "groups.sqli.rules[2].label", "awswaf:managed:"),
        (_typo_key, "groups.sqli.rules[0].labels", "unknown key"),
        (_wcu_text, "groups.common.wcu", "positive whole number"),
        (_wcu_bool, "groups.common.wcu", "positive whole number"),
        (_no_rules, "groups.php.rules", "non-empty list"),
        (_shared_label, "groups.sqli.rules[1].label", "duplicate label"),
        (_config_list, "groups.bot-control.config", "ManagedRuleGroupConfigs"),
        (_bad_alias, "groups", "'Bot_Control'"),
        (_no_source, "source", "is required"),
        (_multiline_description, "groups.linux.description", "single line"),
    ],
)
def test_malformed_catalog_names_file_and_key_path(
    tmp_path: Path, mutate: Any, key_path: str, words: str
) -> None:
    data = _shipped()
    mutate(data)
    path = _write(tmp_path, data)
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    error = info.value
    assert isinstance(error, ValueError)
    assert error.key_path == key_path
    assert str(error).startswith(f"{path}: {key_path}: ")
    assert words in str(error)


def test_duplicate_yaml_keys_are_rejected_not_overwritten(tmp_path: Path) -> None:
    text = DEFAULT_PATH.read_text(encoding="utf-8")
    # A second `sqli:` group: plain PyYAML would keep only the last one.
    sqli_block = text[text.index("  sqli:\n") : text.index("  linux:\n")]
    path = tmp_path / "dup.yaml"
    path.write_text(text + sqli_block, encoding="utf-8")
    with pytest.raises(CatalogError, match=r"duplicate key 'sqli'") as info:
        load_catalog(path)
    assert str(info.value).startswith(str(path))


def test_unreadable_or_invalid_yaml(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    with pytest.raises(CatalogError, match="cannot read") as info:
        load_catalog(missing)
    assert str(missing) in str(info.value)
    broken = tmp_path / "broken.yaml"
    broken.write_text("groups: [unclosed\n", encoding="utf-8")
    with pytest.raises(CatalogError, match="not valid YAML"):
        load_catalog(broken)
    listing = tmp_path / "list.yaml"
    listing.write_text("- common\n", encoding="utf-8")
    with pytest.raises(CatalogError, match="must be a mapping"):
        load_catalog(listing)
