"""Tests of scripts/refresh_prices.py against a stubbed Price List (pricing) client.

Responses come from botocore's Stubber, which checks the GetProducts request parameters and the
response shape against the real ``pricing`` API model. PriceList items are JSON strings in the
product + terms format the AWS Price List API user guide documents; the two samples under
tests/data/pricing/ say where they come from in their ``_provenance`` key.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import sys
from decimal import Decimal
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
import yaml
from botocore.stub import Stubber

ROOT = Path(__file__).resolve().parents[2]
# The script is a file, not a package module: loading it by path keeps mypy's view of it (module
# refresh_prices) the same as the test's.
SCRIPT = ROOT / "scripts" / "refresh_prices.py"
COMMITTED = ROOT / "guard" / "data" / "prices.yaml"
SAMPLES = ROOT / "tests" / "data" / "pricing"


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("refresh_prices", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # dataclasses look the module up by name while the class body runs.
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


refresh_prices = _load_script()
dump_prices = refresh_prices.dump_prices
format_number = refresh_prices.format_number
load_prices = refresh_prices.load_prices
main = refresh_prices.main
quotes_for = refresh_prices.quotes_for
request_filters = refresh_prices.request_filters
scaled = refresh_prices.scaled

HEADER = "# Test prices.\n# A second header line.\n"
WAF_FILTERS = {"productFamily": "Web Application Firewall"}
TODAY = "2026-12-01"


def pricing() -> Any:
    return boto3.client(
        "pricing",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def item(
    usagetype: str,
    usd: str = "1.0000000000",
    *,
    sku: str = "EXAMPLESKU000001",
    service_code: str = "awswaf",
    region: str = "us-east-1",
    tiers: list[tuple[str, str, str]] | None = None,
    effective: str = "2025-03-01T00:00:00Z",
    publication: str = "2025-03-05T18:12:40Z",
) -> str:
    """One PriceList item as GetProducts returns it: a JSON string, product + terms."""
    term = f"{sku}.JRTCKXETXF"
    dimensions = {
        f"{term}.RATE{n}": {
            "unit": "Units",
            "beginRange": begin,
            "endRange": end,
            "description": f"tier {n}",
            "appliesTo": [],
            "rateCode": f"{term}.RATE{n}",
            "pricePerUnit": {"USD": price},
        }
        for n, (begin, end, price) in enumerate(tiers or [("0", "Inf", usd)])
    }
    return json.dumps(
        {
            "product": {
                "productFamily": "Web Application Firewall",
                "attributes": {"usagetype": usagetype, "regionCode": region},
                "sku": sku,
            },
            "serviceCode": service_code,
            "terms": {
                "OnDemand": {
                    term: {
                        "priceDimensions": dimensions,
                        "sku": sku,
                        "effectiveDate": effective,
                        "offerTermCode": "JRTCKXETXF",
                        "termAttributes": {},
                    }
                }
            },
            "version": "20250301000000",
            "publicationDate": publication,
        }
    )


def sample(name: str) -> str:
    """A sample from tests/data/pricing as GetProducts would return it (no provenance note)."""
    data = json.loads((SAMPLES / name).read_text(encoding="utf-8"))
    assert "not copied from a live response" in data.pop("_provenance")
    return json.dumps(data)


def request(
    service_code: str, filters: dict[str, str], region: str | None, token: str | None = None
) -> dict[str, Any]:
    """The GetProducts parameters the script must send."""
    terms = ([{"Field": "regionCode", "Value": region}] if region else []) + [
        {"Field": k, "Value": v} for k, v in filters.items()
    ]
    params: dict[str, Any] = {
        "ServiceCode": service_code,
        "Filters": [{"Type": "TERM_MATCH", **t} for t in terms],
        "FormatVersion": "aws_v1",
        "MaxResults": 100,
    }
    if token:
        params["NextToken"] = token
    return params


def stub(
    stubber: Stubber,
    items: list[str],
    *,
    service_code: str = "awswaf",
    filters: dict[str, str] | None = None,
    region: str | None = "us-east-1",
    token: str | None = None,
    next_token: str | None = None,
) -> None:
    response: dict[str, Any] = {"FormatVersion": "aws_v1", "PriceList": items}
    if next_token:
        response["NextToken"] = next_token
    params = request(service_code, WAF_FILTERS if filters is None else filters, region, token)
    stubber.add_response("get_products", response, params)


def entry(
    usagetype: str = "RequestV2-Tier1$",
    regions: tuple[str, ...] = ("us-east-1",),
    *,
    service_code: str = "awswaf",
    filters: dict[str, str] | None = None,
    per: int = 1,
    price: float = 1.0,
    is_global: bool = False,
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "service_code": service_code,
        "filters": WAF_FILTERS if filters is None else filters,
        "usagetype": usagetype,
    }
    if is_global:
        spec["global"] = True
    return {
        "service": "Test",
        "description": "a test price",
        "unit": "unit",
        "per": per,
        "kind": "usage",
        "price_list": spec,
        "regions": {
            r: {"price": price, "effective": "2024-07-01", "confirmed": False, "source": "hand"}
            for r in regions
        },
    }


def write_prices(path: Path, prices: dict[str, Any]) -> Path:
    data = {"currency": "USD", "refreshed": "2026-11-29 by hand", "prices": prices}
    path.write_text(dump_prices(data, HEADER), encoding="utf-8")
    return path


def run(path: Path, *args: str, stubs: Any) -> int:
    """main() on ``path`` with a stubbed client; ``stubs(stubber)`` queues the responses."""
    client = pricing()
    with Stubber(client) as stubber:
        stubs(stubber)
        code = int(main(["--file", str(path), "--today", TODAY, *args], client=client))
        stubber.assert_no_pending_responses()
    return code


def read(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.fixture
def committed_copy(tmp_path: Path) -> Path:
    path = tmp_path / "prices.yaml"
    shutil.copyfile(COMMITTED, path)
    return path


# --- the committed file -------------------------------------------------------------------------


def test_committed_file_renders_byte_for_byte() -> None:
    """Otherwise the first refresh would rewrite unrelated lines and hide the real diff."""
    header, data = load_prices(COMMITTED)
    assert header.startswith("# The unit prices guard's cost estimate uses")
    assert dump_prices(data, header) == COMMITTED.read_text(encoding="utf-8")


def test_committed_price_list_specs_are_usable() -> None:
    prices = read(COMMITTED)["prices"]
    assert prices
    for key, price in prices.items():
        spec = price["price_list"]
        assert isinstance(spec["service_code"], str) and spec["service_code"], key
        re.compile(spec["usagetype"])
        for field, value in spec["filters"].items():
            assert isinstance(field, str) and field.strip(), key
            assert isinstance(value, str) and value.strip(), key
        if spec.get("global"):
            assert list(price["regions"]) == ["us-east-1"], key


def test_committed_file_with_no_products_keeps_every_price(
    committed_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Nothing found: every entry stays; only `refreshed` changes. Shared queries go once."""
    _, data = load_prices(COMMITTED)
    queries: list[tuple[str, Any]] = []
    for price in data["prices"].values():
        spec = price["price_list"]
        for region in ["us-east-1"] if spec.get("global") else list(price["regions"]):
            query = (spec["service_code"], request_filters(spec, region))
            if query not in queries:
                queries.append(query)
    entries = sum(len(price["regions"]) for price in data["prices"].values())

    def stubs(stubber: Stubber) -> None:
        for service_code, filters in queries:
            params = {
                "ServiceCode": service_code,
                "Filters": filters,
                "FormatVersion": "aws_v1",
                "MaxResults": 100,
            }
            stubber.add_response("get_products", {"PriceList": []}, params)

    assert run(committed_copy, stubs=stubs) == 0
    before = COMMITTED.read_text(encoding="utf-8").splitlines()
    after = committed_copy.read_text(encoding="utf-8").splitlines()
    changed = [(a, b) for a, b in zip(before, after, strict=True) if a != b]
    assert changed == [
        (
            'refreshed: "2026-11-29 by hand; not yet refreshed from the Price List API"',
            f'refreshed: "{TODAY} from the Price List API (0 prices confirmed, {entries} kept)"',
        )
    ]
    out = capsys.readouterr().out
    assert out.count("not found ") == entries
    assert len(queries) < entries


# --- prices from the API ------------------------------------------------------------------------


def test_price_updated_with_effective_date_source_and_confirmed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_prices(
        tmp_path / "prices.yaml",
        {"waf.requests": entry("^[A-Z0-9]+-RequestV2-Tier1$", per=1_000_000, price=0.5)},
    )
    code = run(path, stubs=lambda s: stub(s, [sample("waf-requests-us-east-1.json")]))
    assert code == 0
    assert read(path)["prices"]["waf.requests"]["regions"]["us-east-1"] == {
        # 0.0000006 USD per request, 1,000,000 requests: 0.6, not 0.6000000000000001.
        "price": 0.6,
        "effective": "2025-03-01",
        "confirmed": True,
        "source": "AWS Price List API: awswaf SKU EXAMPLEWAFREQ001, "
        "usagetype USE1-RequestV2-Tier1, publication 2025-03-05",
    }
    text = path.read_text(encoding="utf-8")
    assert text.startswith(HEADER + "currency: USD\n")
    assert '{price: 0.6, effective: "2025-03-01", confirmed: true, source: ' in text
    assert f'refreshed: "{TODAY} from the Price List API (1 prices confirmed, 0 kept)"' in text
    out = capsys.readouterr().out
    assert "changed    waf.requests us-east-1: 0.5 (2024-07-01) -> 0.6 (2025-03-01)" in out
    assert f"Wrote {path}." in out


def test_same_price_and_date_is_reported_unchanged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    prices = {"waf.rule": entry("RuleV2$")}
    prices["waf.rule"]["regions"]["us-east-1"]["effective"] = "2025-03-01"
    path = write_prices(tmp_path / "prices.yaml", prices)
    assert run(path, stubs=lambda s: stub(s, [item("USE1-RuleV2", "1.0000000000")])) == 0
    assert "unchanged  waf.rule us-east-1: 1.0 (2025-03-01)" in capsys.readouterr().out
    assert read(path)["prices"]["waf.rule"]["regions"]["us-east-1"]["confirmed"] is True


def test_free_first_tier_sets_free_per_month(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sns = entry("Requests-Tier1$", service_code="AmazonSNS", filters={}, per=1_000_000)
    path = write_prices(tmp_path / "prices.yaml", {"sns.publishes": sns})

    def stubs(stubber: Stubber) -> None:
        sns = [sample("sns-requests-us-east-1.json")]
        stub(stubber, sns, service_code="AmazonSNS", filters={})

    assert run(path, stubs=stubs) == 0
    price = read(path)["prices"]["sns.publishes"]
    assert price["free_per_month"] == 1_000_000
    assert price["regions"]["us-east-1"]["price"] == 0.5
    text = path.read_text(encoding="utf-8")
    assert "    kind: usage\n    free_per_month: 1000000\n    price_list: " in text
    assert "changed    sns.publishes *: free_per_month none -> 1000000" in capsys.readouterr().out


def test_a_priced_first_tier_is_the_price() -> None:
    """S3-style volume tiers: the first (0 to 50 TB) is the one guard records."""
    s3 = item(
        "TimedStorage-ByteHrs",
        tiers=[("0", "51200", "0.0230000000"), ("51200", "512000", "0.0220000000")],
    )
    [quote] = quotes_for(json.loads(s3), 1)
    assert (quote.price, quote.free_per_month) == (0.023, None)


@pytest.mark.parametrize(
    ("usd", "per", "expected", "text"),
    [
        ("0.0000006000", 1_000_000, 0.6, "0.6"),
        # Plain float arithmetic gives 0.19999999999999998 and 16.666700000000002 for these.
        ("0.0000002000", 1_000_000, 0.2, "0.2"),
        ("0.0000166667", 1_000_000, 16.6667, "16.6667"),
        ("0.0000000300", 1_000, 0.00003, "0.00003"),
        ("0.0000166667", 1, 0.0000166667, "0.0000166667"),
        ("0.0000000200", 1_000_000, 0.02, "0.02"),
        ("3000.0000000000", 1, 3000.0, "3000.0"),
        ("0.0000000000", 1, 0.0, "0.0"),
    ],
)
def test_scaled_prices_have_no_float_noise(usd: str, per: int, expected: float, text: str) -> None:
    assert scaled(Decimal(usd), per) == expected
    assert format_number(scaled(Decimal(usd), per)) == text


def test_not_found_keeps_the_entry_and_is_reported(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_prices(tmp_path / "prices.yaml", {"waf.wcu": entry("WCU")})
    before = read(path)["prices"]
    items = [item("USE1-RequestV2-Tier1"), item("USE1-RuleV2", sku="EXAMPLESKU000002")]
    assert run(path, stubs=lambda s: stub(s, items)) == 0
    assert read(path)["prices"] == before
    out = capsys.readouterr().out
    assert (
        "not found  waf.wcu us-east-1: no usagetype matches /WCU/ among 2 product(s): "
        "USE1-RequestV2-Tier1, USE1-RuleV2; kept"
    ) in out
    assert f"{TODAY} from the Price List API (0 prices confirmed, 1 kept)" in out


def test_ambiguous_keeps_the_entry_and_lists_the_usagetypes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_prices(tmp_path / "prices.yaml", {"waf.bot": entry("BotControl")})
    before = read(path)["prices"]
    items = [
        item("USE1-BotControl", "10.0000000000"),
        item("USE1-BotControlTargeted", "10.0000000000", sku="EXAMPLESKU000002"),
        item("USE1-BotControl-Request", "0.0000010000", sku="EXAMPLESKU000003"),
    ]
    assert run(path, stubs=lambda s: stub(s, items)) == 0
    assert read(path)["prices"] == before
    out = capsys.readouterr().out
    assert (
        "ambiguous  waf.bot us-east-1: usagetypes USE1-BotControl (10.0), "
        "USE1-BotControl-Request (0.000001), USE1-BotControlTargeted (10.0) differ"
    ) in out


def test_several_products_at_one_price_are_not_ambiguous(tmp_path: Path) -> None:
    path = write_prices(tmp_path / "prices.yaml", {"waf.rule": entry("RuleV2")})
    items = [
        item("USE1-RuleV2", sku="EXAMPLESKU000009"),
        item("USE1-RuleV2", sku="EXAMPLESKU000001"),
    ]
    assert run(path, stubs=lambda s: stub(s, items)) == 0
    source = read(path)["prices"]["waf.rule"]["regions"]["us-east-1"]["source"]
    assert "SKU EXAMPLESKU000001," in source, "the same product whatever order AWS lists"


def test_next_token_pages_are_followed(tmp_path: Path) -> None:
    path = write_prices(tmp_path / "prices.yaml", {"waf.rule": entry("RuleV2$")})

    def stubs(stubber: Stubber) -> None:
        stub(stubber, [item("USE1-WebACLV2")], next_token="page-2")
        stub(stubber, [item("USE1-RuleV2", "2.0000000000")], token="page-2")

    assert run(path, stubs=stubs) == 0
    assert read(path)["prices"]["waf.rule"]["regions"]["us-east-1"]["price"] == 2.0


def test_global_key_sends_no_region_filter(tmp_path: Path) -> None:
    shield = entry(
        "Shield-?Monthly", service_code="AWSShield", filters={}, price=3000.0, is_global=True
    )
    path = write_prices(tmp_path / "prices.yaml", {"shield.subscription": shield})

    def stubs(stubber: Stubber) -> None:
        items = [item("Shield-Monthly", "3000.0000000000")]
        stub(stubber, items, service_code="AWSShield", filters={}, region=None)

    # --region adds nothing to a global key: it is billed once, under us-east-1.
    assert run(path, "--region", "eu-west-1", stubs=stubs) == 0
    price = read(path)["prices"]["shield.subscription"]
    assert list(price["regions"]) == ["us-east-1"]
    assert price["regions"]["us-east-1"]["confirmed"] is True
    assert "global: true}" in path.read_text(encoding="utf-8")


def test_region_option_adds_regions_in_sorted_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_prices(
        tmp_path / "prices.yaml", {"waf.rule": entry("RuleV2$", ("us-east-1", "ap-northeast-1"))}
    )

    def stubs(stubber: Stubber) -> None:
        stub(stubber, [item("USE1-RuleV2")])
        stub(stubber, [item("APN1-RuleV2", region="ap-northeast-1")], region="ap-northeast-1")
        stub(stubber, [item("APS3-RuleV2", region="ap-south-1")], region="ap-south-1")
        stub(stubber, [], region="eu-west-1")

    args = ("--region", "eu-west-1", "ap-south-1", "--region", "ap-northeast-1")
    assert run(path, *args, stubs=stubs) == 0
    assert list(read(path)["prices"]["waf.rule"]["regions"]) == [
        "us-east-1",
        "ap-northeast-1",
        "ap-south-1",
    ]
    out = capsys.readouterr().out
    assert "added      waf.rule ap-south-1: 1.0 (2025-03-01)" in out
    assert "not found  waf.rule eu-west-1: no usagetype matches" in out and "; not added" in out
    assert "(3 prices confirmed, 0 kept)" in out


def test_keys_sharing_a_query_ask_once(tmp_path: Path) -> None:
    path = write_prices(
        tmp_path / "prices.yaml", {"waf.web_acl": entry("WebACLV2$"), "waf.rule": entry("RuleV2$")}
    )
    items = [item("USE1-WebACLV2", "5.0000000000"), item("USE1-RuleV2", sku="EXAMPLESKU000002")]
    # One response queued: a second identical request would fail the Stubber.
    assert run(path, stubs=lambda s: stub(s, items)) == 0
    prices = read(path)["prices"]
    assert prices["waf.web_acl"]["regions"]["us-east-1"]["price"] == 5.0
    assert prices["waf.rule"]["regions"]["us-east-1"]["price"] == 1.0


def test_dry_run_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_prices(tmp_path / "prices.yaml", {"waf.rule": entry("RuleV2$")})
    before = path.read_bytes()
    items = [item("USE1-RuleV2", "2.0000000000")]
    assert run(path, "--dry-run", stubs=lambda s: stub(s, items)) == 0
    assert path.read_bytes() == before
    out = capsys.readouterr().out
    assert "changed    waf.rule us-east-1: 1.0 (2024-07-01) -> 2.0 (2025-03-01)" in out
    assert "+      us-east-1: {price: 2.0," in out
    assert "Dry run: nothing was written." in out


def test_same_responses_give_identical_bytes(tmp_path: Path) -> None:
    prices = {
        "waf.rule": entry("RuleV2$", ("us-east-1", "ap-northeast-1")),
        "sns.publishes": entry("Requests-Tier1$", service_code="AmazonSNS", filters={}),
    }
    first = write_prices(tmp_path / "first.yaml", prices)
    second = write_prices(tmp_path / "second.yaml", prices)

    def stubs(stubber: Stubber) -> None:
        stub(stubber, [item("USE1-RuleV2", "1.1000000000")])
        apn1 = item("APN1-RuleV2", "1.2000000000", region="ap-northeast-1")
        stub(stubber, [apn1], region="ap-northeast-1")
        sns = sample("sns-requests-us-east-1.json")
        stub(stubber, [sns], service_code="AmazonSNS", filters={})

    assert run(first, stubs=stubs) == 0
    assert run(second, stubs=stubs) == 0
    assert first.read_bytes() == second.read_bytes()
    once = first.read_bytes()
    assert run(first, stubs=stubs) == 0
    assert first.read_bytes() == once, "a second refresh on the same answers changes nothing"


# --- errors -------------------------------------------------------------------------------------


def test_api_error_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_prices(tmp_path / "prices.yaml", {"waf.rule": entry("RuleV2$")})
    before = path.read_bytes()

    def stubs(stubber: Stubber) -> None:
        stubber.add_client_error(
            "get_products",
            service_error_code="ThrottlingException",
            service_message="Rate exceeded",
            http_status_code=400,
        )

    assert run(path, stubs=stubs) == 2
    out = capsys.readouterr()
    assert out.err.splitlines() == [
        "error: AWS rejected GetProducts: ThrottlingException: Rate exceeded. Nothing was written."
    ]
    assert "Traceback" not in out.err + out.out
    assert path.read_bytes() == before


@pytest.mark.usefixtures("without_aws_credentials")
def test_without_credentials_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_prices(tmp_path / "prices.yaml", {"waf.rule": entry("RuleV2$")})
    assert main(["--file", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no AWS credentials found.") and len(err.splitlines()) == 1
    assert "Traceback" not in err


def test_unknown_profile_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_prices(tmp_path / "prices.yaml", {"waf.rule": entry("RuleV2$")})
    assert main(["--file", str(path), "--profile", "guard-test-no-such-profile"]) == 2
    err = capsys.readouterr().err
    assert "guard-test-no-such-profile" in err and "Traceback" not in err


def test_an_item_that_is_not_json_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_prices(tmp_path / "prices.yaml", {"waf.rule": entry("RuleV2$")})
    assert run(path, stubs=lambda s: stub(s, ["{not json"])) == 2
    err = capsys.readouterr().err
    assert "awswaf PriceList item is not JSON" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("usagetype: 'RuleV2$'", "usagetype: 'Rule(V2'", "prices.waf.rule.price_list.usagetype"),
        ("    per: 1\n", "    per: lots\n", "prices.waf.rule.per"),
        ("    kind: usage\n", "    kind: usage\n    colour: red\n", "unknown key(s) colour"),
        ("filters: {productFamily:", "filters: {'':", "prices.waf.rule.price_list.filters"),
        ("us-east-1: {price: 1.0,", "us-east-1: {price: -1.0,", "regions.us-east-1"),
        ("currency: USD", "currency: EUR", "currency: must be USD"),
        ("prices:\n", "prices: [\n", "not YAML"),
    ],
)
def test_a_malformed_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, message: str
) -> None:
    path = write_prices(tmp_path / "prices.yaml", {"waf.rule": entry("RuleV2$")})
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    assert main(["--file", str(path)], client=pricing()) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: the price file is malformed: ") and message in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_a_global_key_in_another_region_is_malformed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shield = entry("Monthly", ("us-east-1", "eu-west-1"), is_global=True)
    path = write_prices(tmp_path / "prices.yaml", {"shield.subscription": shield})
    assert main(["--file", str(path)], client=pricing()) == 2
    assert "shield.subscription.regions.eu-west-1" in capsys.readouterr().err


def test_a_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--file", str(tmp_path / "absent.yaml")], client=pricing()) == 2
    assert "cannot read" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args",
    [["--today", "2026-02-30"], ["--today", "yesterday"], ["--region", "Tokyo"], ["--bogus"]],
)
def test_bad_arguments_exit_2(
    committed_copy: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    assert main(["--file", str(committed_copy), *args], client=pricing()) == 2
    err = capsys.readouterr().err
    assert "usage:" in err and "Traceback" not in err
