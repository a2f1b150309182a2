"""Cross checks on the parts of an invalid configuration that did validate.

A file with a schema error in one product and a misspelt managed rule in another must show both
in one run; otherwise errors come in rounds, one fix and one plan at a time. pydantic reports
every schema error at once but builds no model when any is found, and the cross checks
(:data:`guard.cross_checks.CROSS_CHECKS`) need a model. So the valid parts are validated again
on their own: the top-level sections without an error, and the products without an error
(``guard:products`` is a list of independent products).

A cross check over a partial configuration may report what is only a consequence of a missing
part: with ``guard:alerts`` invalid, "guard:shield needs guard:alerts" would be wrong. Each
check runs on a configuration that records which sections it reads; the problems of a check
that read an invalid section are dropped. A check that read ``guard:products`` while some
products were left out keeps only the problems of the products it saw (mapped back to their
index in the file), since a product left out may be what another problem refers to.
"""

from __future__ import annotations

import contextvars
import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Annotated, Any

import annotated_types
from pydantic import ValidationError, create_model

from guard.config.errors import KeyPath, Problem
from guard.config.stack import StackConfig

PRODUCTS, PRODUCTS_KEY = "products", "guard:products"

#: The top-level fields read by the check now running under :func:`_run_recorded`.
_READS: contextvars.ContextVar[set[str] | None] = contextvars.ContextVar(
    "guard_partial_reads", default=None
)
_FIELDS = frozenset(StackConfig.model_fields)


class _RecordingConfig(StackConfig):
    """A StackConfig that notes which top-level fields are read (by a cross check)."""

    def __getattribute__(self, name: str) -> Any:
        if name in _FIELDS:
            reads = _READS.get()
            if reads is not None:
                reads.add(name)
        return super().__getattribute__(name)


def _lenient_model() -> type[StackConfig]:
    """The recording model with every required field optional and lists allowed to be empty.

    Only values that already passed the full model are validated with it (the invalid ones are
    left out), so dropping "required" and "at least one" changes nothing else.
    """
    overrides: dict[str, Any] = {}
    for name, info in StackConfig.model_fields.items():
        length_bound = [m for m in info.metadata if isinstance(m, annotated_types.MinLen)]
        if not info.is_required() and not length_bound:
            continue
        metadata = [m for m in info.metadata if not isinstance(m, annotated_types.MinLen)]
        annotation = Annotated[(info.annotation, *metadata)] if metadata else info.annotation
        overrides[name] = (annotation, None)
    return create_model("_PartialStackConfig", __base__=_RecordingConfig, **overrides)


_LENIENT: type[StackConfig] | None = None


def partial_cross_checks(
    values: Mapping[str, Any],
    errors: Sequence[Mapping[str, Any]],
    undecoded: Iterable[str],
    checks: Iterable[Any],
    today: date,
) -> list[Problem]:
    """The cross-check problems of the valid parts of ``values``.

    ``errors`` are pydantic's errors for ``values``; ``undecoded`` the fields that could not
    even be decoded (they are missing from ``values``).
    """
    global _LENIENT
    invalid = set(undecoded)
    bad_products: set[int] = set()
    for error in errors:
        loc = tuple(error["loc"])
        if not loc:
            return []  # a model-level error: no telling which parts are sound
        if loc[0] == PRODUCTS and len(loc) > 1 and isinstance(loc[1], int):
            bad_products.add(loc[1])
        else:
            invalid.add(str(loc[0]))
    reduced = {k: v for k, v in values.items() if k not in invalid}
    kept: list[int] = []
    if isinstance(reduced.get(PRODUCTS), list):
        products = reduced[PRODUCTS]
        kept = [i for i in range(len(products)) if i not in bad_products]
        reduced[PRODUCTS] = [products[i] for i in kept]
    else:
        invalid.add(PRODUCTS)
    if _LENIENT is None:
        _LENIENT = _lenient_model()
    try:
        config = _LENIENT.model_validate(reduced)
    except ValidationError:
        return []  # the parts do not validate alone (a rule across sections): say no more
    problems: list[Problem] = []
    for check in checks:
        found, reads = _run_recorded(check, config, today)
        if found is None or reads & invalid:
            continue
        if PRODUCTS in reads and bad_products:
            found = [p for p in found if _in_a_product(p.path)]
        problems += [_in_file(p, kept) for p in found]
    return problems


def _run_recorded(
    check: Any, config: StackConfig, today: date
) -> tuple[list[Problem] | None, set[str]]:
    reads: set[str] = set()
    token = _READS.set(reads)
    try:
        return list(check(config, [], today)), reads
    except Exception:
        # A check may assume what a left-out part guarantees; its failure says nothing the
        # schema errors (reported) do not.
        return None, reads
    finally:
        _READS.reset(token)


def _in_a_product(path: KeyPath) -> bool:
    return len(path) > 1 and path[0] == PRODUCTS_KEY and isinstance(path[1], int)


def _in_file(problem: Problem, kept: Sequence[int]) -> Problem:
    """The problem with its product index as in the file, not in the list of valid products."""
    path = problem.path
    if _in_a_product(path):
        index = path[1]
        assert isinstance(index, int)
        if index < len(kept):
            return dataclasses.replace(problem, path=(path[0], kept[index], *path[2:]))
    return problem
