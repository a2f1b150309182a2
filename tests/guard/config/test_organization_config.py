"""``guard:organization`` and member stacks: what AWS would refuse is refused offline, with the key.

The engine's raw config (objects as JSON text) goes through the same loader as ``pulumi up``.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from guard.config import ConfigError, load_stack_config
from guard.config.errors import format_key_path
from guard.config.loader import load_stack_file
from tests.conftest import ROOT, TODAY, minimal_product

SLACK = {
    "workspace_id": "T0EXAMPLE1",
    "normal_channel": "C0NORMAL01",
    "urgent_channel": "C0URGENT01",
}
ORGANIZATION: dict[str, Any] = {
    "management_account_id": "333333333333",
    "root_id": "r-abcd",
    "regions": ["ap-northeast-1", "us-east-1"],
    "firewall_manager": {
        "waf_baseline": {
            "managed_rules": ["known-bad-inputs", "ip-reputation", "common"],
            "rate_limit": {"limit": 2000, "window": 300},
            "exclude_tag": {"managed-by": "guard"},
            "logging": {"bucket": "aws-waf-logs-org-central"},
        },
        "shield": {"automatic_l7_mitigation": "count"},
    },
}


def raw(organization: Any = None, **sections: Any) -> dict[str, str]:
    config = {"aws:region": "ap-northeast-1", "guard:account_id": "222222222222"}
    if organization is not None:
        config["guard:organization"] = json.dumps(organization)
    sections.setdefault("alerts", {"slack": SLACK})
    for key, value in sections.items():
        if value is not None:
            config[f"guard:{key}"] = json.dumps(value)
    return config


def errors(config: dict[str, str]) -> dict[str, str]:
    with pytest.raises(ConfigError) as caught:
        load_stack_config(config, "Pulumi.org.yaml", today=TODAY)
    return {format_key_path(p.path): p.message for p in caught.value.problems}


def organization(**changes: Any) -> dict[str, Any]:
    document = copy.deepcopy(ORGANIZATION)
    document.update(changes)
    return document


def test_the_example_organization_stack_validates() -> None:
    loaded = load_stack_file(
        ROOT / "examples" / "organization" / "stacks" / "Pulumi.org.yaml", today=TODAY
    )
    config = loaded.config
    assert config.products == []
    assert config.organization is not None
    assert config.organization.guardduty.auto_enable == "all"


def test_only_an_organization_stack_may_have_no_products() -> None:
    assert load_stack_config(raw(ORGANIZATION), "Pulumi.org.yaml", today=TODAY).config
    found = errors(raw())
    assert "required key is missing" in found["guard:products"]
    assert "guard:organization" in found["guard:products"]


def test_the_administrator_is_not_the_management_account() -> None:
    found = errors(raw(organization(management_account_id="222222222222")))
    assert "not the management account" in found["guard:organization.management_account_id"]


def test_the_stack_region_is_the_home_region_among_the_regions() -> None:
    found = errors(raw(organization(regions=["us-east-1", "us-east-1"])))
    assert "must include the stack's region ap-northeast-1" in found["guard:organization.regions"]
    assert "duplicate region" in found["guard:organization.regions[1]"]


def test_findings_need_an_urgent_channel() -> None:
    found = errors(raw(ORGANIZATION, alerts=None) | {})
    # raw() sets alerts by default; None removes it.
    assert "needs guard:alerts" in found["guard:organization"]


def test_the_root_id_is_needed_when_no_targets_are_listed() -> None:
    document = organization()
    del document["root_id"]
    assert "list-roots" in errors(raw(document))["guard:organization.root_id"]
    document["security_hub"] = {"targets": [{"ou": "ou-abcd-11111111"}]}
    assert load_stack_config(raw(document), "Pulumi.org.yaml", today=TODAY).config


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ({"ou": "ou-abcd-11111111", "account": "444444444444"}, "exactly one of ou"),
        ({}, "exactly one of ou"),
        ({"ou": "root"}, "organizational unit ID"),
        ({"account": "4444"}, "12-digit"),
    ],
)
def test_a_target_is_one_ou_or_one_account(target: dict[str, str], message: str) -> None:
    found = errors(raw(organization(security_hub={"targets": [target]})))
    assert any(message in m for k, m in found.items() if "targets[0]" in k), found


def test_central_configuration_disables_controls_in_every_standard() -> None:
    hub = {
        "disabled_controls": [
            {"control": "IAM.6", "reason": "managed by break-glass", "standards": ["cis-3.0"]}
        ]
    }
    found = errors(raw(organization(security_hub=hub)))
    assert (
        "remove this key" in found["guard:organization.security_hub.disabled_controls[0].standards"]
    )


def test_the_baseline_names_catalog_groups_and_a_waf_log_bucket() -> None:
    document = organization()
    baseline = document["firewall_manager"]["waf_baseline"]
    baseline["managed_rules"] = ["known-bad-input", "ip-reputation"]
    baseline["logging"] = {"bucket": "org-central-logs"}
    found = errors(raw(document))
    assert (
        "did you mean known-bad-inputs?"
        in found["guard:organization.firewall_manager.waf_baseline.managed_rules[0]"]
    )
    assert (
        "aws-waf-logs-" in found["guard:organization.firewall_manager.waf_baseline.logging.bucket"]
    )


def test_a_baseline_over_the_included_capacity_warns_of_the_charge() -> None:
    document = organization()
    baseline = document["firewall_manager"]["waf_baseline"]
    loaded = load_stack_config(raw(document), "Pulumi.org.yaml", today=TODAY)
    assert not any("WCU" in w for w in loaded.warnings)
    baseline["managed_rules"] = [
        "common", "known-bad-inputs", "sqli", "linux", "unix", "windows", "php", "wordpress",
        "admin-protection", "ip-reputation", "anonymous-ip", "bot-control",
    ]  # fmt: skip
    loaded = load_stack_config(raw(document), "Pulumi.org.yaml", today=TODAY)
    # 2,025 WCU of managed groups, 2 of the rate rule group, and on CloudFront 150 of Shield's
    # automatic mitigation: above the 1,500 included.
    assert any(
        "uses 2027 (2177 on CloudFront) WCU" in w and "charged" in w for w in loaded.warnings
    )


@pytest.mark.parametrize(("limit", "window"), [(5, 300), (2000, 30)])
def test_the_rate_limit_is_one_wafv2_accepts(limit: int, window: int) -> None:
    document = organization()
    document["firewall_manager"]["waf_baseline"]["rate_limit"] = {"limit": limit, "window": window}
    found = errors(raw(document))
    assert any(
        k.startswith("guard:organization.firewall_manager.waf_baseline.rate_limit") for k in found
    )


def test_a_baseline_without_exclude_tag_warns_that_product_acls_are_in_scope() -> None:
    document = organization()
    del document["firewall_manager"]["waf_baseline"]["exclude_tag"]
    loaded = load_stack_config(raw(document), "Pulumi.org.yaml", today=TODAY)
    assert any("exclude_tag" in w and "non-compliant" in w for w in loaded.warnings)


def test_an_organization_stack_has_no_guard_detection() -> None:
    found = errors(raw(ORGANIZATION, detection={}))
    assert "guard:organization.notify" in found["guard:detection"]


def member(detection: dict[str, Any]) -> dict[str, str]:
    config = raw(None, detection=detection, products=[minimal_product()])
    return config | {"guard:account_id": "111111111111"}


def test_a_member_leaves_guardduty_and_standards_to_the_organization() -> None:
    config = load_stack_config(
        member({"managed_by": "organization", "security_hub": {"notify": ["CRITICAL"]}}),
        "Pulumi.shop.yaml",
        today=TODAY,
    ).config
    assert config.detection is not None and config.detection.managed_by == "organization"
    found = errors(
        member(
            {
                "managed_by": "organization",
                "guardduty": {"features": ["s3-data-events"]},
                "security_hub": {"standards": ["cis-3.0"], "disabled_controls": []},
            }
        )
    )
    assert "guard:organization.guardduty" in found["guard:detection.guardduty"]
    assert "remove this key" in found["guard:detection.security_hub.standards"]
    assert "remove this key" in found["guard:detection.security_hub.disabled_controls"]


def test_managed_by_takes_only_organization() -> None:
    found = errors(member({"managed_by": "someone-else"}))
    assert "organization" in found["guard:detection.managed_by"]


def test_the_one_time_delegation_warns_until_it_is_removed() -> None:
    plain = load_stack_config(raw(ORGANIZATION), "Pulumi.org.yaml", today=TODAY)
    assert not any("delegation" in w for w in plain.warnings)
    document = organization(delegation={"profile": "org-management"})
    loaded = load_stack_config(raw(document), "Pulumi.org.yaml", today=TODAY)
    assert any("'org-management'" in w and "before merging" in w for w in loaded.warnings)
    found = errors(raw(organization(delegation={"profile": "has spaces"})))
    assert "profile name" in found["guard:organization.delegation.profile"]


def test_data_beyond_the_older_models_limit_warns(monkeypatch: pytest.MonkeyPatch) -> None:
    from guard import organization_checks

    loaded = load_stack_config(raw(ORGANIZATION), "Pulumi.org.yaml", today=TODAY)
    assert not any("ManagedServiceData" in w for w in loaded.warnings)
    # The example's baseline is about 1,430 characters; lower the old limit under it.
    monkeypatch.setattr(organization_checks, "OLD_MANAGED_SERVICE_DATA_MAX", 1000)
    document = organization(regions=["ap-northeast-1"])  # a new map: not served from the cache
    loaded = load_stack_config(raw(document), "Pulumi.org.yaml", today=TODAY)
    warned = [w for w in loaded.warnings if "ManagedServiceData" in w]
    assert warned and all("older releases" in w and "30,000" in w for w in warned)
    assert any(w.startswith("guard:organization.firewall_manager.waf_baseline:") for w in warned)
