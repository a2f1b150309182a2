"""Tests of scripts/refresh_waf_catalog.py against a stubbed WAFV2 client.

moto 5.2.5 does not implement DescribeManagedRuleGroup, so responses come from botocore's Stubber,
which checks both the request parameters and the response against the real API model.
"""

from __future__ import annotations

import copy
import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from guard.waf_catalog import DEFAULT_PATH, load_catalog, load_catalog_data

# The script is a file, not a package module: loading it by path keeps mypy's view of it (module
# refresh_waf_catalog) the same as the test's.
SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "refresh_waf_catalog.py"


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("refresh_waf_catalog", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses look the module up by name while the class body runs.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


refresh_waf_catalog = _load_script()
Change = refresh_waf_catalog.Change
dump_catalog = refresh_waf_catalog.dump_catalog
main = refresh_waf_catalog.main
match_label = refresh_waf_catalog.match_label
refresh = refresh_waf_catalog.refresh
refresh_group = refresh_waf_catalog.refresh_group

SQLI = "awswaf:managed:aws:sql-database:"
BOT = "awswaf:managed:aws:bot-control:"


def client() -> Any:
    return boto3.client(
        "wafv2",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def describe(group: dict[str, Any]) -> dict[str, Any]:
    """The DescribeManagedRuleGroup response that matches a catalog group exactly."""
    return {
        "Capacity": group["wcu"],
        "Rules": [{"Name": r["name"], "Action": {"Block": {}}} for r in group["rules"]],
        "AvailableLabels": [{"Name": r["label"]} for r in group["rules"]],
        "LabelNamespace": group["rules"][0]["label"].rsplit(":", 1)[0] + ":",
    }


def stub_all(
    stubber: Stubber, data: dict[str, Any], overrides: dict[str, dict[str, Any]] | None = None
) -> None:
    overrides = overrides or {}
    for alias, group in data["groups"].items():
        stubber.add_response(
            "describe_managed_rule_group",
            overrides.get(alias, describe(group)),
            {"VendorName": group["vendor"], "Name": group["name"], "Scope": "REGIONAL"},
        )


def changed_sqli(data: dict[str, Any]) -> dict[str, Any]:
    """sqli as AWS might return it: SQLi_COOKIE gone, one new rule, capacity 200 -> 250."""
    response = describe(data["groups"]["sqli"])
    response["Capacity"] = 250
    response["Rules"] = [r for r in response["Rules"] if r["Name"] != "SQLi_COOKIE"]
    response["Rules"].insert(2, {"Name": "ExampleNew_BODY", "Action": {"Block": {}}})
    response["AvailableLabels"] = [
        label for label in response["AvailableLabels"] if not label["Name"].endswith("SQLi_Cookie")
    ] + [{"Name": SQLI + "ExampleNew_Body"}]
    return response


@pytest.fixture
def data() -> dict[str, Any]:
    return copy.deepcopy(load_catalog_data())


@pytest.fixture
def catalog_copy(tmp_path: Path) -> Path:
    path = tmp_path / "managed_rule_groups.yaml"
    shutil.copyfile(DEFAULT_PATH, path)
    return path


# --- refresh ------------------------------------------------------------------------------------


def test_shipped_file_is_in_the_layout_the_script_writes() -> None:
    """Otherwise the first refresh would rewrite unrelated lines and hide the real diff."""
    assert dump_catalog(load_catalog_data()) == DEFAULT_PATH.read_text(encoding="utf-8")


def test_refresh_reports_exactly_added_removed_and_capacity(
    data: dict[str, Any], tmp_path: Path
) -> None:
    waf = client()
    with Stubber(waf) as stubber:
        stub_all(stubber, data, {"sqli": changed_sqli(data)})
        new, changes = refresh(data, waf, stamp="2026-11-25 test")
        stubber.assert_no_pending_responses()

    assert changes == [
        Change("sqli", "wcu", "WCU 200 -> 250"),
        Change("sqli", "rule-added", f"rule added: ExampleNew_BODY ({SQLI}ExampleNew_Body)"),
        Change("sqli", "rule-removed", "rule removed: SQLi_COOKIE"),
    ]
    assert new["refreshed"] == "2026-11-25 test"

    path = tmp_path / "refreshed.yaml"
    path.write_text(dump_catalog(new), encoding="utf-8")
    sqli = load_catalog(path)["sqli"]
    assert sqli.wcu == 250
    assert sqli.rule("SQLi_COOKIE") is None
    added = sqli.rule("ExampleNew_BODY")
    assert added is not None and added.label == SQLI + "ExampleNew_Body"
    # AWS's order, the new rule where AWS put it.
    assert sqli.rule_names[:3] == (
        "SQLi_QUERYARGUMENTS",
        "SQLiExtendedPatterns_QUERYARGUMENTS",
        "ExampleNew_BODY",
    )
    # Nothing else moved.
    assert load_catalog(path)["common"] == load_catalog()["common"]
    assert data["groups"]["sqli"]["wcu"] == 200, "the input is not modified"


def test_refresh_with_nothing_new_leaves_the_file_identical(data: dict[str, Any]) -> None:
    waf = client()
    with Stubber(waf) as stubber:
        stub_all(stubber, data)
        new, changes = refresh(data, waf, stamp="2099-01-01 should not appear")
    assert changes == []
    assert dump_catalog(new) == DEFAULT_PATH.read_text(encoding="utf-8")


def test_label_mismatch_keeps_the_old_label_with_a_warning(data: dict[str, Any]) -> None:
    group = data["groups"]["sqli"]
    response = describe(group)
    # AWS lists no label that matches SQLi_BODY by name.
    response["AvailableLabels"] = [
        label for label in response["AvailableLabels"] if label["Name"] != SQLI + "SQLi_Body"
    ] + [{"Name": SQLI + "SomethingElse_Body"}]
    new, changes = refresh_group("sqli", group, response)
    assert [r["label"] for r in new["rules"]] == [r["label"] for r in group["rules"]]
    assert [c.kind for c in changes] == ["warning"]
    assert "SQLi_BODY" in changes[0].detail and SQLI + "SQLi_Body" in changes[0].detail
    assert str(changes[0]).startswith("warning: sqli: ")


def test_label_named_unlike_its_rule_is_kept_quietly_while_aws_lists_it(
    data: dict[str, Any],
) -> None:
    """UserAgent_BadBots_HEADER adds ...:BadBots_Header: no name match, but AWS confirms it."""
    group = data["groups"]["common"]
    new, changes = refresh_group("common", group, describe(group))
    assert changes == []
    assert new == group


def test_respelt_label_is_reported_as_a_label_change(data: dict[str, Any]) -> None:
    group = data["groups"]["sqli"]
    response = describe(group)
    response["AvailableLabels"] = [
        {"Name": SQLI + "SQLI_QUERYARGUMENTS"}
        if label["Name"].endswith("SQLi_QueryArguments")
        else label
        for label in response["AvailableLabels"]
    ]
    new, changes = refresh_group("sqli", group, response)
    assert changes == [
        Change(
            "sqli",
            "label",
            f"SQLi_QUERYARGUMENTS: label {SQLI}SQLi_QueryArguments -> {SQLI}SQLI_QUERYARGUMENTS",
        )
    ]
    assert new["rules"][0]["label"] == SQLI + "SQLI_QUERYARGUMENTS"


def test_new_rule_without_a_label_is_not_added(data: dict[str, Any]) -> None:
    """A guessed label would make exclusions never match, so the rule is left out (fail closed)."""
    group = data["groups"]["sqli"]
    response = describe(group)
    response["Rules"].append({"Name": "ExampleUnlabelled_HEADER"})
    new, changes = refresh_group("sqli", group, response)
    assert new["rules"] == group["rules"]
    assert [c.kind for c in changes] == ["warning"]
    assert "ExampleUnlabelled_HEADER" in changes[0].detail


def test_reordered_rules_follow_aws(data: dict[str, Any]) -> None:
    group = data["groups"]["linux"]
    response = describe(group)
    response["Rules"].reverse()
    new, changes = refresh_group("linux", group, response)
    assert [c.kind for c in changes] == ["rule-order"]
    assert [r["name"] for r in new["rules"]] == [r["name"] for r in reversed(group["rules"])]


def test_bot_control_targeted_rules_are_ignored_at_the_common_level(data: dict[str, Any]) -> None:
    group = data["groups"]["bot-control"]
    response = describe(group)
    response["Rules"].append({"Name": "TGT_VolumetricSession"})
    response["AvailableLabels"] += [
        {"Name": BOT + "TGT_VolumetricSession"},
        {"Name": BOT + "bot:category:advertising"},
    ]
    new, changes = refresh_group("bot-control", group, response)
    assert changes == []
    assert "TGT_VolumetricSession" not in {r["name"] for r in new["rules"]}
    assert new["config"] == {"AWSManagedRulesBotControlRuleSet": {"InspectionLevel": "COMMON"}}


@pytest.mark.parametrize(
    ("rule", "labels", "expected"),
    [
        (
            "SQLi_QUERYARGUMENTS",
            [SQLI + "SQLi_Body", SQLI + "SQLi_QueryArguments"],
            SQLI + "SQLi_QueryArguments",
        ),
        (
            "Host_localhost_HEADER",
            ["awswaf:managed:aws:known-bad-inputs:Host_Localhost_Header"],
            "awswaf:managed:aws:known-bad-inputs:Host_Localhost_Header",
        ),
        # Bot Control adds both; only the rule-name label means "this rule matched".
        (
            "CategoryAdvertising",
            [BOT + "bot:category:advertising", BOT + "CategoryAdvertising"],
            BOT + "CategoryAdvertising",
        ),
        # Underscores are ignored too (a made-up spelling: no AWS label is known to differ so).
        ("SQLi_QUERYARGUMENTS", [SQLI + "SQLiQueryArguments"], SQLI + "SQLiQueryArguments"),
        # An exact spelling wins over a case-insensitive one.
        (
            "LFI_HEADER",
            ["awswaf:managed:aws:x:LFI_Header", "awswaf:managed:aws:x:LFI_HEADER"],
            "awswaf:managed:aws:x:LFI_HEADER",
        ),
        ("UserAgent_BadBots_HEADER", ["awswaf:managed:aws:core-rule-set:BadBots_Header"], None),
        ("SQLi_BODY", ["custom:SQLi_Body"], None),
    ],
)
def test_match_label(rule: str, labels: list[str], expected: str | None) -> None:
    assert match_label(rule, labels) == expected


# --- main ---------------------------------------------------------------------------------------


def test_main_api_error_exits_2_with_a_clear_message(
    catalog_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = catalog_copy.read_text(encoding="utf-8")
    waf = client()
    with Stubber(waf) as stubber:
        stubber.add_client_error(
            "describe_managed_rule_group",
            service_error_code="WAFInvalidParameterException",
            service_message="The operation failed because AWS WAF didn't recognize a parameter.",
            http_status_code=400,
        )
        code = main(["--catalog", str(catalog_copy)], client=waf)
    out = capsys.readouterr()
    assert code == 2
    assert "WAFInvalidParameterException" in out.err
    assert "DescribeManagedRuleGroup" in out.err
    assert "Nothing was written" in out.err
    assert "Traceback" not in out.err + out.out
    assert catalog_copy.read_text(encoding="utf-8") == before


@pytest.mark.usefixtures("without_aws_credentials")
def test_main_without_credentials_exits_2(
    catalog_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--catalog", str(catalog_copy), "--region", "us-east-1"])
    err = capsys.readouterr().err
    assert code == 2
    assert "no AWS credentials" in err and "--profile" in err
    assert "Traceback" not in err


def test_main_unknown_profile_exits_2(
    catalog_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--catalog", str(catalog_copy), "--profile", "guard-test-no-such-profile"])
    err = capsys.readouterr().err
    assert code == 2 and "guard-test-no-such-profile" in err and "Traceback" not in err


def test_main_dry_run_prints_the_diff_and_writes_nothing(
    catalog_copy: Path, capsys: pytest.CaptureFixture[str], data: dict[str, Any]
) -> None:
    before = catalog_copy.read_text(encoding="utf-8")
    waf = client()
    with Stubber(waf) as stubber:
        stub_all(stubber, data, {"sqli": changed_sqli(data)})
        code = main(["--catalog", str(catalog_copy), "--dry-run"], client=waf)
    out = capsys.readouterr().out
    assert code == 0
    assert "sqli: WCU 200 -> 250" in out
    assert "sqli: rule removed: SQLi_COOKIE" in out
    assert "-    wcu: 200\n+    wcu: 250\n" in out
    assert "+      - {name: ExampleNew_BODY," in out
    assert catalog_copy.read_text(encoding="utf-8") == before


def test_main_writes_the_refreshed_catalog(
    catalog_copy: Path, capsys: pytest.CaptureFixture[str], data: dict[str, Any]
) -> None:
    waf = client()
    with Stubber(waf) as stubber:
        stub_all(stubber, data, {"sqli": changed_sqli(data)})
        assert main(["--catalog", str(catalog_copy)], client=waf) == 0
    assert f"Wrote {catalog_copy}" in capsys.readouterr().out
    refreshed = load_catalog_data(catalog_copy)
    assert "DescribeManagedRuleGroup (Scope=REGIONAL, us-east-1)" in refreshed["refreshed"]
    assert load_catalog(catalog_copy)["sqli"].wcu == 250


def test_main_with_no_changes_does_not_touch_the_file(
    catalog_copy: Path, capsys: pytest.CaptureFixture[str], data: dict[str, Any]
) -> None:
    before = catalog_copy.read_text(encoding="utf-8")
    waf = client()
    with Stubber(waf) as stubber:
        stub_all(stubber, data)
        assert main(["--catalog", str(catalog_copy)], client=waf) == 0
    assert "No changes" in capsys.readouterr().out
    assert catalog_copy.read_text(encoding="utf-8") == before


def test_main_refuses_a_malformed_catalog(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(DEFAULT_PATH.read_text(encoding="utf-8").replace("wcu: 25\n", "wcu: lots\n"))
    assert main(["--catalog", str(path)], client=client()) == 2
    err = capsys.readouterr().err
    assert "groups.ip-reputation.wcu" in err and "Traceback" not in err
