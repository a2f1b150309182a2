"""The component type tokens listed for review evidence are exactly those components declare."""

from __future__ import annotations

import inspect
import re

import pulumi

import components
from guard.resource_types import COMPONENT_TYPES

TOKEN = re.compile(r"super\(\).__init__\(\s*\"(guard:[a-z]+:[A-Za-z]+)\"")


def _declared_tokens() -> set[str]:
    """The token each ComponentResource subclass in components/ passes to its base class."""
    import importlib
    import pkgutil

    found: set[str] = set()
    for info in pkgutil.iter_modules(components.__path__):
        module = importlib.import_module(f"components.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, pulumi.ComponentResource) and cls.__module__ == module.__name__:
                found.update(TOKEN.findall(inspect.getsource(cls)))
    return found


def test_component_types_match_the_components() -> None:
    declared = _declared_tokens()
    assert declared, "no component declares a type token"
    assert set(COMPONENT_TYPES) == declared


def test_component_types_follow_the_area_convention() -> None:
    for token in COMPONENT_TYPES:
        assert re.fullmatch(r"guard:[a-z]+:[A-Z][A-Za-z]+", token), token
