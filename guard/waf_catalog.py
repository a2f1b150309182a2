"""The AWS managed rule group catalog: each group guard knows by alias, its WCUs, rules and labels.

The data lives in ``guard/data/managed_rule_groups.yaml`` (taken from the AWS WAF Developer Guide,
refreshed from the API by ``scripts/refresh_waf_catalog.py``). People edit that file, so it is
validated strictly here and every problem names the file and the key path, e.g.
``groups.sqli.rules[2].label``.

``ALIASES`` is computed lazily on first access (module ``__getattr__``), so importing this module
never reads the file; use :func:`aliases` where a call reads better.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import yaml

from guard.config.errors import format_key_path
from guard.data_yaml import UniqueKeyLoader, kind_of
from guard.suggest import close_matches

__all__ = [
    "DEFAULT_PATH",
    "IP_REPUTATION",
    "KNOWN_BAD_INPUTS",
    "LABEL_PREFIX",
    "CatalogError",
    "ManagedGroup",
    "ManagedRule",
    "aliases",
    "group_by_alias",
    "load_catalog",
    "load_catalog_data",
    "validate_catalog",
]

DEFAULT_PATH = Path(__file__).resolve().parent / "data" / "managed_rule_groups.yaml"
#: The AWS managed groups (vendor AWS) of the floor every default-allow web ACL runs, not in
#: count: Log4j and other known exploits, and AWS's IP reputation list. They are the names of the
#: catalog's ``FLOOR_GROUPS`` aliases (guard.config.products), kept here so that guard and the
#: policy pack (waf-required-managed-groups, organization-waf-baseline-floor) share one spelling.
KNOWN_BAD_INPUTS = "AWSManagedRulesKnownBadInputsRuleSet"
IP_REPUTATION = "AWSManagedRulesAmazonIpReputationList"
#: Every label an AWS or Marketplace managed rule adds starts with this.
LABEL_PREFIX = "awswaf:managed:"

_ALIAS_RE = re.compile(r"[a-z0-9][a-z0-9-]*")
# WAF rule and rule group names: letters, digits, hyphen and underscore (API pattern ^[\w\-]+$).
_NAME_RE = re.compile(r"[\w-]+")
_TOP_KEYS = {"source", "refreshed", "groups"}
_GROUP_KEYS = {"vendor", "name", "wcu", "description", "rules", "config"}
_RULE_KEYS = {"name", "label"}

if TYPE_CHECKING:
    #: Catalog aliases in YAML order (lazy: read on first access).
    ALIASES: tuple[str, ...]


class CatalogError(ValueError):
    """The catalog file is malformed; the message names the file and the key path."""

    def __init__(self, path: Path | str, key_path: str, message: str) -> None:
        self.path = str(path)
        self.key_path = key_path
        self.detail = message
        where = f"{self.path}: {key_path}" if key_path else self.path
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class ManagedRule:
    """One rule of a managed group and the label it adds to the requests it matches."""

    name: str
    label: str


@dataclass(frozen=True)
class ManagedGroup:
    """One managed rule group as the catalog records it."""

    alias: str
    vendor: str
    name: str
    wcu: int
    description: str
    rules: tuple[ManagedRule, ...]
    # ManagedRuleGroupConfigs entry in the API's JSON shape, or None. Read-only: the top level is a
    # mapping proxy; copy it (copy.deepcopy) before changing anything in it. Not hashed because
    # mappings are not hashable.
    config: Mapping[str, Any] | None = field(default=None, hash=False)

    def rule(self, name: str) -> ManagedRule | None:
        """The rule with exactly this name (AWS rule names are case-sensitive), or None."""
        for rule in self.rules:
            if rule.name == name:
                return rule
        return None

    def lookup(self, name: str) -> ManagedRule | None:
        """The rule a user means: its exact name, the same name in another case, or its label
        (``CrossSiteScripting_QueryArguments``, the spelling WAF logs and the plan show), whole
        or as its last segment. None when nothing matches."""
        exact = self.rule(name)
        if exact is not None:
            return exact
        wanted = name.casefold()
        for rule in self.rules:
            if wanted in (rule.name.casefold(), rule.label.casefold()):
                return rule
            if wanted == rule.label.rsplit(":", 1)[-1].casefold():
                return rule
        return None

    def suggest(self, name: str) -> list[str]:
        """Rule names close to a misspelt one, best first (for "did you mean")."""
        by_label = {r.label.rsplit(":", 1)[-1]: r.name for r in self.rules}
        found = close_matches(name, [*self.rule_names, *by_label])
        return list(dict.fromkeys(by_label.get(f, f) for f in found))

    @property
    def rule_names(self) -> tuple[str, ...]:
        return tuple(rule.name for rule in self.rules)


def load_catalog_data(path: Path | None = None) -> dict[str, Any]:
    """The catalog file as plain YAML data (duplicate keys rejected), not yet validated."""
    path = path or DEFAULT_PATH
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CatalogError(path, "", f"cannot read the catalog: {exc.strerror or exc}") from exc
    try:
        data = yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise CatalogError(path, "", f"not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise CatalogError(path, "", f"must be a mapping, got {kind_of(data)}")
    return data


class _Validator:
    """Walks the raw data; raises CatalogError at the first problem, naming its key path."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, message: str, *parts: str | int) -> CatalogError:
        return CatalogError(self.path, format_key_path(tuple(parts)), message)

    def keys(self, data: dict[Any, Any], allowed: set[str], *where: str | int) -> None:
        for key in data:
            if not isinstance(key, str):
                raise self.fail(f"keys must be text, got {key!r}", *where)
            if key not in allowed:
                raise self.fail(
                    f"unknown key; expected one of: {', '.join(sorted(allowed))}", *where, key
                )

    def text(self, data: dict[str, Any], key: str, *where: str | int) -> str:
        if key not in data:
            raise self.fail("is required", *where, key)
        value = data[key]
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"must be non-empty text, got {kind_of(value)}", *where, key)
        if "\n" in value:
            raise self.fail("must be a single line", *where, key)
        return value

    def catalog(self, data: dict[str, Any]) -> dict[str, ManagedGroup]:
        self.keys(data, _TOP_KEYS)
        source = data.get("source")
        if (
            not isinstance(source, list)
            or not source
            or not all(isinstance(s, str) and s.strip() for s in source)
        ):
            raise self.fail(
                "is required: a non-empty list of texts (where the data came from)", "source"
            )
        self.text(data, "refreshed")
        groups = data.get("groups")
        if not isinstance(groups, dict) or not groups:
            raise self.fail(
                f"is required: a non-empty mapping of alias -> group, got {kind_of(groups)}",
                "groups",
            )
        catalog: dict[str, ManagedGroup] = {}
        for alias, body in groups.items():
            if not isinstance(alias, str) or not _ALIAS_RE.fullmatch(alias):
                raise self.fail(
                    f"alias {alias!r} must be lowercase letters, digits and hyphens", "groups"
                )
            catalog[alias] = self.group(alias, body)
        return catalog

    def group(self, alias: str, body: Any) -> ManagedGroup:
        where: tuple[str | int, ...] = ("groups", alias)
        if not isinstance(body, dict):
            raise self.fail(f"must be a mapping, got {kind_of(body)}", *where)
        self.keys(body, _GROUP_KEYS, *where)
        vendor = self.text(body, "vendor", *where)
        name = self.text(body, "name", *where)
        if not _NAME_RE.fullmatch(name):
            raise self.fail("must be letters, digits, '_' or '-'", *where, "name")
        if "wcu" not in body:
            raise self.fail("is required", *where, "wcu")
        wcu = body["wcu"]
        # bool is an int subclass; `wcu: yes` must not load as 1.
        if not isinstance(wcu, int) or isinstance(wcu, bool) or wcu <= 0:
            raise self.fail(f"must be a positive whole number, got {wcu!r}", *where, "wcu")
        description = self.text(body, "description", *where)
        rules = self.rules(body.get("rules"), *where, "rules")
        config = self.config(body.get("config"), *where, "config")
        return ManagedGroup(alias, vendor, name, wcu, description, rules, config)

    def rules(self, raw: Any, *where: str | int) -> tuple[ManagedRule, ...]:
        if not isinstance(raw, list):
            raise self.fail(f"is required: a non-empty list of rules, got {kind_of(raw)}", *where)
        if not raw:
            raise self.fail("must be a non-empty list of rules", *where)
        names: dict[str, int] = {}
        labels: dict[str, int] = {}
        rules = []
        for i, item in enumerate(raw):
            if not isinstance(item, dict):
                raise self.fail(
                    f"must be a mapping with name and label, got {kind_of(item)}", *where, i
                )
            self.keys(item, _RULE_KEYS, *where, i)
            name = self.text(item, "name", *where, i)
            if not _NAME_RE.fullmatch(name):
                raise self.fail("must be letters, digits, '_' or '-'", *where, i, "name")
            if name in names:
                raise self.fail(
                    f"duplicate rule {name!r} (also at index {names[name]})", *where, i, "name"
                )
            names[name] = i
            label = self.text(item, "label", *where, i)
            if not label.startswith(LABEL_PREFIX) or " " in label:
                raise self.fail(
                    f"must start with {LABEL_PREFIX!r} and have no spaces, got {label!r}",
                    *where,
                    i,
                    "label",
                )
            # Exclusions match on labels, so two rules sharing one would over-match.
            if label in labels:
                raise self.fail(
                    f"duplicate label {label!r} (also at index {labels[label]})", *where, i, "label"
                )
            labels[label] = i
            rules.append(ManagedRule(name, label))
        return tuple(rules)

    def config(self, raw: Any, *where: str | int) -> Mapping[str, Any] | None:
        if raw is None:
            return None
        if not isinstance(raw, dict) or not raw:
            raise self.fail(
                f"must be a ManagedRuleGroupConfigs entry (a mapping), got {kind_of(raw)}", *where
            )
        for key in raw:
            if not isinstance(key, str) or not key[:1].isupper():
                raise self.fail(f"keys are the API's PascalCase member names, got {key!r}", *where)
        # Nested values stay plain dicts so botocore and Pulumi accept a dict(config) copy.
        return MappingProxyType(copy.deepcopy(raw))


def validate_catalog(data: dict[str, Any], path: Path | None = None) -> Mapping[str, ManagedGroup]:
    """Validate raw catalog data (as from :func:`load_catalog_data`); keyed by alias, YAML order."""
    return MappingProxyType(_Validator(path or DEFAULT_PATH).catalog(data))


@lru_cache(maxsize=1)
def _default_catalog() -> Mapping[str, ManagedGroup]:
    return validate_catalog(load_catalog_data(DEFAULT_PATH), DEFAULT_PATH)


def load_catalog(path: Path | None = None) -> Mapping[str, ManagedGroup]:
    """The catalog keyed by alias, in YAML order. The default file is read once and cached;
    an explicit path is read every time (tests and the refresh script)."""
    if path is None or Path(path).resolve() == DEFAULT_PATH:
        return _default_catalog()
    return validate_catalog(load_catalog_data(Path(path)), Path(path))


def aliases() -> tuple[str, ...]:
    """Aliases of the default catalog, in YAML order."""
    return tuple(_default_catalog())


def group_by_alias(alias: str) -> ManagedGroup:
    """The group for an alias; KeyError listing the known aliases when there is none."""
    catalog = _default_catalog()
    try:
        return catalog[alias]
    except KeyError:
        raise KeyError(
            f"unknown managed rule group alias {alias!r}; known aliases: {', '.join(catalog)}"
        ) from None


def __getattr__(name: str) -> Any:
    # PEP 562: ALIASES reads the catalog only when first used.
    if name == "ALIASES":
        return aliases()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
