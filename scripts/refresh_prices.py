"""Refresh guard/data/prices.yaml from AWS's Price List API: every unit price, per region.

    python scripts/refresh_prices.py [--file F] [--region R ...] [--dry-run] [--profile P]
                                     [--endpoint-url U] [--today YYYY-MM-DD]

Needs credentials allowed ``pricing:GetProducts``. For every price key and region (those in the
file, plus each --region; only us-east-1 for ``global: true`` keys) it calls GetProducts with the
key's service code and TERM_MATCH filters, keeps the products whose usagetype matches the key's
regular expression and takes the OnDemand price of the tier starting at 0 (or of the next tier
when that one is free, recording its size as ``free_per_month``). A key/region with no matching
product, or with several that disagree, keeps its entry and is reported. The file is rewritten in
one fixed layout so the diff shows only real changes. Exit status: 0 when the API answered (not
found entries included), 2 on bad arguments, a malformed file, missing credentials or an API
error; nothing is written in that case.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import difflib
import json
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

import boto3
import yaml
from botocore.exceptions import BotoCoreError, ClientError

from guard.aws_errors import describe_failure
from guard.prices import KINDS, PRICES_FILE, PriceBookError, parse_price_book

#: The Price List query API is served from a few regions only; it covers every region's prices.
PRICING_REGION = "us-east-1"
#: Prices of ``global: true`` keys (billed once, not per region) are recorded under this region.
GLOBAL_REGION = "us-east-1"
#: An entry's keys in the order the file lists them.
ENTRY_KEYS: tuple[str, ...] = ("service", "description", "unit", "per", "kind")
ENTRY_KEYS += ("free_per_month", "price_list", "regions")
PRICE_LIST_KEYS = ("service_code", "filters", "usagetype", "global")
REGION_KEYS = ("price", "effective", "confirmed", "source")
REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
KEY_RE = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")

Status = Literal["changed", "unchanged", "added", "not found", "ambiguous"]


class PriceFileError(Exception):
    """prices.yaml is unreadable or not in the shape the refresh (and guard's costs) expect."""


class PriceListError(Exception):
    """GetProducts answered with something that is not a Price List item."""


@dataclass(frozen=True)
class Quote:
    """One product's OnDemand price, already scaled to the key's ``per`` units."""

    price: float
    free_per_month: int | float | None
    effective: str
    usagetype: str
    source: str


@dataclass(frozen=True)
class Result:
    """What the refresh did with one key/region (region "*": the key's free tier)."""

    key: str
    region: str
    status: Status
    detail: str

    def __str__(self) -> str:
        return f"{self.status:<10} {self.key} {self.region}: {self.detail}"


# ---------------------------------------------------------------------------------------------
# Reading and checking the file
# ---------------------------------------------------------------------------------------------


def _check(ok: object, where: str, message: str) -> None:
    if not ok:
        raise PriceFileError(f"{where}: {message}")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


def _mapping(value: object, where: str, keys: Sequence[str], optional: str = "") -> dict[Any, Any]:
    _check(isinstance(value, dict), where, "must be a mapping")
    assert isinstance(value, dict)
    # A key the renderer does not know would be silently dropped by the next refresh.
    unknown = [str(k) for k in value if k not in keys]
    _check(not unknown, where, f"unknown key(s) {', '.join(unknown)}")
    missing = [k for k in keys if k not in value and k != optional]
    _check(not missing, where, f"missing {', '.join(missing)}")
    return value


def validate_prices(data: object) -> None:
    """Raise PriceFileError naming the first entry that the refresh could not handle."""
    top = _mapping(data, "the file", ("currency", "refreshed", "prices"))
    _check(top["currency"] == "USD", "currency", "must be USD (the refresh reads USD prices)")
    _check(isinstance(top["refreshed"], str), "refreshed", "must be a string")
    _check(isinstance(top["prices"], dict) and top["prices"], "prices", "must be a mapping")
    for key, raw in top["prices"].items():
        where = f"prices.{key}"
        _check(KEY_RE.match(str(key)), where, "a key is lowercase words joined by '.' and '_'")
        entry = _mapping(raw, where, ENTRY_KEYS, "free_per_month")
        strings = all(isinstance(entry[f], str) for f in ("service", "description", "unit"))
        _check(strings, where, "service, description and unit must be strings")
        per = entry["per"]
        _check(type(per) is int and per > 0, f"{where}.per", "must be a positive integer")
        _check(entry["kind"] in KINDS, f"{where}.kind", f"must be one of {', '.join(KINDS)}")
        _check(_is_number(entry.get("free_per_month", 0)), f"{where}.free_per_month", "not >= 0")
        at = f"{where}.price_list"
        spec = _mapping(entry["price_list"], at, PRICE_LIST_KEYS, "global")
        code, filters, pattern = spec["service_code"], spec["filters"], spec["usagetype"]
        _check(isinstance(code, str) and code.strip(), f"{at}.service_code", "empty")
        strings = isinstance(filters, dict) and all(
            isinstance(s, str) and s.strip() for pair in filters.items() for s in pair
        )
        _check(strings, f"{at}.filters", "must map non-empty strings to non-empty strings")
        _check(isinstance(pattern, str) and pattern, f"{at}.usagetype", "must be a regex")
        try:
            re.compile(pattern)
        except re.error as exc:
            raise PriceFileError(f"{at}.usagetype: not a regex: {exc}") from exc
        is_global = spec.get("global", False)
        _check(isinstance(is_global, bool), f"{at}.global", "must be true or false")
        _check(isinstance(entry["regions"], dict), f"{where}.regions", "must be a mapping")
        for region, raw_price in entry["regions"].items():
            at = f"{where}.regions.{region}"
            ok = REGION_RE.match(str(region)) and (not is_global or region == GLOBAL_REGION)
            _check(ok, at, f"not a region code (global keys have {GLOBAL_REGION} only)")
            price = _mapping(raw_price, at, REGION_KEYS)
            if isinstance(price["effective"], date):  # written unquoted, YAML reads a date
                price["effective"] = price["effective"].isoformat()
            ok = (
                _is_number(price["price"])
                and DATE_RE.match(str(price["effective"]))
                and isinstance(price["confirmed"], bool)
                and isinstance(price["source"], str)
            )
            _check(ok, at, "needs price >= 0, effective YYYY-MM-DD, confirmed, source")


def load_prices(path: Path) -> tuple[str, dict[str, Any]]:
    """The file's leading comment block (kept verbatim) and its data, checked."""
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise PriceFileError(f"cannot read {path}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise PriceFileError(f"not YAML: {exc}".replace("\n", " ")) from exc
    header = []
    for line in text.splitlines(keepends=True):
        if line.strip() and not line.startswith("#"):
            break
        header.append(line)
    validate_prices(data)
    return "".join(header), data


# ---------------------------------------------------------------------------------------------
# Writing the file
# ---------------------------------------------------------------------------------------------


def _quoted(text: str) -> str:
    # A JSON string is a valid YAML double-quoted scalar.
    return json.dumps(text, ensure_ascii=False)


def _plain_or_quoted(text: str, *, flow: bool = False) -> str:
    """Plain when YAML reads it back as the same string where it is written, else quoted."""
    doc = f"{{k: {text}}}" if flow else f"k: {text}"
    try:
        if yaml.safe_load(doc) == {"k": text}:
            return text
    except yaml.YAMLError:
        pass
    return _quoted(text)


def format_number(value: float) -> str:
    """A price as a YAML float in positional notation: 0.0000166667, not 1.66667e-05."""
    text = format(Decimal(repr(float(value))), "f")
    return text if "." in text else text + ".0"


def _count(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else format_number(value)


def _flow_price_list(spec: Mapping[str, Any]) -> str:
    def flow(text: str) -> str:
        return _plain_or_quoted(text, flow=True)

    filters = ", ".join(f"{flow(k)}: {flow(v)}" for k, v in spec["filters"].items())
    # Single quotes keep a regex's backslashes literal.
    pattern = "'" + spec["usagetype"].replace("'", "''") + "'"
    text = f"service_code: {flow(spec['service_code'])}, filters: {{{filters}}}, "
    text += f"usagetype: {pattern}"
    if "global" in spec:
        text += f", global: {'true' if spec['global'] else 'false'}"
    return "{" + text + "}"


def dump_prices(data: Mapping[str, Any], header: str) -> str:
    """The prices as YAML in guard's fixed layout: same data, same text."""
    lines = header.splitlines()
    lines.append(f"currency: {_plain_or_quoted(str(data['currency']))}")
    lines.append(f"refreshed: {_quoted(str(data['refreshed']))}")
    lines.append("prices:")
    for key, entry in data["prices"].items():
        lines.append(f"  {key}:")
        lines += [f"    {f}: {_plain_or_quoted(entry[f])}" for f in ENTRY_KEYS[:3]]
        lines.append(f"    per: {int(entry['per'])}")
        lines.append(f"    kind: {entry['kind']}")
        if "free_per_month" in entry:
            lines.append(f"    free_per_month: {_count(entry['free_per_month'])}")
        lines.append(f"    price_list: {_flow_price_list(entry['price_list'])}")
        lines.append("    regions:" if entry["regions"] else "    regions: {}")
        for region, p in entry["regions"].items():
            lines.append(
                f"      {region}: {{price: {format_number(p['price'])}, "
                f"effective: {_quoted(str(p['effective']))}, "
                f"confirmed: {'true' if p['confirmed'] else 'false'}, "
                f"source: {_quoted(str(p['source']))}}}"
            )
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# Asking the Price List API
# ---------------------------------------------------------------------------------------------


def request_filters(spec: Mapping[str, Any], region: str) -> list[dict[str, str]]:
    """GetProducts filters for one key/region; global prices have no regionCode to match."""
    filters = [] if spec.get("global") else [{"Field": "regionCode", "Value": region}]
    filters += [{"Field": k, "Value": v} for k, v in spec["filters"].items()]
    return [{"Type": "TERM_MATCH", **f} for f in filters]


def get_products(client: Any, service_code: str, filters: list[dict[str, str]]) -> list[Any]:
    """Every Price List item GetProducts returns, following NextToken, parsed from JSON."""
    items: list[Any] = []
    token: str | None = None
    while True:
        page = client.get_products(
            ServiceCode=service_code,
            Filters=filters,
            FormatVersion="aws_v1",
            MaxResults=100,
            **({"NextToken": token} if token else {}),
        )
        for raw in page.get("PriceList", []):
            try:
                items.append(json.loads(raw))
            except (TypeError, json.JSONDecodeError) as exc:
                raise PriceListError(f"a {service_code} PriceList item is not JSON: {exc}") from exc
            if not isinstance(items[-1], dict):
                raise PriceListError(f"a {service_code} PriceList item is not a JSON object")
        token = page.get("NextToken")
        if not token:
            return items


def _decimal(value: object) -> Decimal | None:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return None if number.is_nan() else number


def scaled(usd: Decimal, per: int) -> float:
    """USD per unit times ``per``, without float noise (0.0000006 x 1,000,000 is 0.6).

    The product is exact in Decimal; 12 significant digits are more than the Price List's ten
    decimal places ever carry and fewer than a float holds, so repr prints what AWS wrote.
    """
    return float(f"{usd * per:.12g}")


def _usagetype(item: Mapping[str, Any]) -> str:
    product = item.get("product") or {}
    return str((product.get("attributes") or {}).get("usagetype", ""))


def quotes_for(item: Mapping[str, Any], per: int) -> list[Quote]:
    """The OnDemand prices of one Price List item (none when it has no USD OnDemand price)."""
    sku = (item.get("product") or {}).get("sku")
    publication = str(item.get("publicationDate"))[:10]
    source = f"AWS Price List API: {item.get('serviceCode')} SKU {sku}, "
    source += f"usagetype {_usagetype(item)}, publication {publication}"
    found = []
    for _, term in sorted(((item.get("terms") or {}).get("OnDemand") or {}).items()):
        dimensions = list((term.get("priceDimensions") or {}).values())
        tiers = {_decimal(d.get("beginRange")): d for d in dimensions}
        # A flat rate need not state its range.
        first = tiers.get(Decimal(0), dimensions[0] if len(dimensions) == 1 else None)
        if first is None:
            continue
        price = _decimal((first.get("pricePerUnit") or {}).get("USD"))
        end = _decimal(first.get("endRange"))  # "Inf" reads as Decimal infinity
        free: int | float | None = None
        if price == 0 and end is not None and end.is_finite() and end in tiers:
            # A free first tier is the free allowance; the price is the next tier's.
            free = int(end) if end == end.to_integral_value() else float(end)
            price = _decimal((tiers[end].get("pricePerUnit") or {}).get("USD"))
        if price is not None:
            effective = str(term.get("effectiveDate") or publication)[:10]
            found.append(Quote(scaled(price, per), free, effective, _usagetype(item), source))
    return found


def pick_quote(
    items: Sequence[Any], pattern: re.Pattern[str], per: int
) -> Quote | tuple[Status, str]:
    """The one price the items give for the pattern, or why there is none."""
    matching = [item for item in items if pattern.search(_usagetype(item))]
    quotes = [q for item in matching for q in quotes_for(item, per)]
    if not quotes and matching:
        return "not found", f"{len(matching)} product(s) match but none has a USD OnDemand price"
    if not quotes:
        seen = sorted({_usagetype(item) for item in items})
        listed = f": {', '.join(seen[:8])}{', ...' if len(seen) > 8 else ''}" if seen else ""
        return "not found", (
            f"no usagetype matches /{pattern.pattern}/ among {len(items)} product(s){listed}"
        )
    if len({(q.price, q.free_per_month) for q in quotes}) > 1:
        found = sorted({f"{q.usagetype} ({format_number(q.price)})" for q in quotes})
        return "ambiguous", f"usagetypes {', '.join(found)} differ; narrow the regex or filters"
    # Several products at one price: any will do; the smallest source keeps reruns stable.
    return min(quotes, key=lambda q: (q.source, q.effective))


# ---------------------------------------------------------------------------------------------
# Refreshing
# ---------------------------------------------------------------------------------------------


def _show(price: Mapping[str, Any]) -> str:
    return f"{format_number(price['price'])} ({price['effective']})"


def refresh(
    data: Mapping[str, Any], client: Any, *, extra_regions: Sequence[str] = (), today: str
) -> tuple[dict[str, Any], list[Result]]:
    """The prices updated from GetProducts, and what happened to each key/region."""
    new = copy.deepcopy(dict(data))
    results: list[Result] = []
    # Keys share queries (every WAF key asks for the same product family): ask once per run.
    cache: dict[str, list[Any]] = {}
    confirmed = kept = 0
    for key, entry in new["prices"].items():
        spec = entry["price_list"]
        regions = list(entry["regions"])
        regions += sorted(set(extra_regions) - set(regions))
        free_seen: dict[str, int | float] = {}
        for region in [GLOBAL_REGION] if spec.get("global") else regions:
            old = entry["regions"].get(region)
            filters = request_filters(spec, region)
            query = json.dumps([spec["service_code"], filters])
            if query not in cache:
                cache[query] = get_products(client, spec["service_code"], filters)
            quote = pick_quote(cache[query], re.compile(spec["usagetype"]), entry["per"])
            if isinstance(quote, tuple):
                kept += old is not None
                detail = quote[1] + ("; kept" if old is not None else "; not added")
                results.append(Result(key, region, quote[0], detail))
                continue
            if quote.free_per_month is not None:
                free_seen[region] = quote.free_per_month
            price = {"price": quote.price, "effective": quote.effective}
            entry["regions"][region] = {**price, "confirmed": True, "source": quote.source}
            confirmed += 1
            if old is None:
                results.append(Result(key, region, "added", _show(price)))
            elif (old["price"], old["effective"]) != (price["price"], price["effective"]):
                results.append(Result(key, region, "changed", f"{_show(old)} -> {_show(price)}"))
            else:
                results.append(Result(key, region, "unchanged", _show(price)))
        # A first tier that is not free leaves free_per_month alone: some allowances (Lambda's)
        # are account-wide and never show as a tier in the Price List.
        free = sorted(set(free_seen.values()))
        if len(free) > 1:
            found = ", ".join(f"{r} {_count(v)}" for r, v in free_seen.items())
            results.append(Result(key, "*", "ambiguous", f"free tier differs ({found}); kept"))
        elif free and entry.get("free_per_month") != free[0]:
            old_free = _count(entry["free_per_month"]) if "free_per_month" in entry else "none"
            detail = f"free_per_month {old_free} -> {_count(free[0])}"
            results.append(Result(key, "*", "changed", detail))
            entry["free_per_month"] = free[0]
    new["refreshed"] = (
        f"{today} from the Price List API ({confirmed} prices confirmed, {kept} kept)"
    )
    return new, results


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def _region(text: str) -> str:
    if not REGION_RE.match(text):
        raise argparse.ArgumentTypeError(f"not an AWS region code: {text!r}")
    return text


def _day(text: str) -> str:
    if DATE_RE.match(text):
        with contextlib.suppress(ValueError):
            return date.fromisoformat(text).isoformat()
    raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {text!r}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Refresh guard's unit prices from AWS's Price List API (pricing GetProducts)."
    )
    parser.add_argument(
        "--file", type=Path, default=PRICES_FILE, help="default: guard's prices.yaml"
    )
    parser.add_argument(
        "--region",
        type=_region,
        nargs="+",
        action="extend",
        default=[],
        help="also price these regions (global keys stay us-east-1 only)",
    )
    parser.add_argument("--dry-run", action="store_true", help="print the diff; write nothing")
    parser.add_argument("--profile", help="AWS named profile")
    parser.add_argument("--endpoint-url", help="Price List API endpoint, e.g. for an emulator")
    parser.add_argument("--today", type=_day, metavar="YYYY-MM-DD", help="default: today")
    return parser


def _error(message: str) -> int:
    print(f"error: {message} Nothing was written.", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None, *, client: Any = None) -> int:
    """Run the refresh; ``client`` lets tests pass a stubbed pricing client."""
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse has printed its usage line; keep its status
        return exc.code if isinstance(exc.code, int) else 2
    today = args.today or date.today().isoformat()
    path: Path = args.file
    try:
        header, data = load_prices(path)
    except PriceFileError as exc:
        return _error(f"the price file is malformed: {exc}.")

    try:
        if client is None:
            session = boto3.Session(profile_name=args.profile)
            client = session.client(
                "pricing", region_name=PRICING_REGION, endpoint_url=args.endpoint_url
            )
        new, results = refresh(data, client, extra_regions=args.region, today=today)
    except (BotoCoreError, ClientError) as exc:
        return _error(describe_failure(exc))
    except PriceListError as exc:
        return _error(f"unexpected Price List answer: {exc}.")

    new_text = dump_prices(new, header)
    try:
        parse_price_book(yaml.safe_load(new_text))
    except PriceBookError as exc:  # guard's own reader is the one that matters
        return _error(f"the refreshed file would not load in guard: {exc}.")
    for result in results:
        print(result)
    print(f"refreshed: {new['refreshed']}")

    old_text = path.read_text(encoding="utf-8")
    if args.dry_run:
        old_lines, new_lines = old_text.splitlines(True), new_text.splitlines(True)
        diff = difflib.unified_diff(old_lines, new_lines, f"{path} (current)", f"{path} (new)")
        sys.stdout.writelines(diff)
        print("Dry run: nothing was written.")
    elif new_text != old_text:
        try:
            path.write_text(new_text, encoding="utf-8")
        except OSError as exc:
            return _error(f"cannot write {path}: {exc}.")
        print(f"Wrote {path}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
