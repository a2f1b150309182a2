"""Validate AWS API requests offline against the service models botocore ships.

Mock resources accept any input, so a misspelt key only fails at a real deploy. botocore's
``ParamValidator`` catches unknown keys, missing members and length/range limits; it does not
check enum values, so :func:`enum_errors` walks the same shape for those.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import botocore.session
from botocore.model import OperationModel, ServiceModel, Shape
from botocore.validate import ParamValidator


@functools.cache
def _session() -> botocore.session.Session:
    """One botocore session per process: its loader reads each model file (and the 1.3 MB
    endpoint data) once, however many plans, checks and catalogs ask."""
    return botocore.session.get_session()


@functools.cache
def service_model(service: str) -> ServiceModel:
    """The API model botocore ships for ``service`` (for example ``wafv2``)."""
    return _session().get_service_model(service)


@functools.cache
def operation_model(service: str, operation: str) -> OperationModel:
    return service_model(service).operation_model(operation)


@functools.cache
def partition_of(region: str) -> str:
    """The ARN partition of a region (``aws``, ``aws-cn``, ...), from botocore's endpoint data
    rather than a prefix guess; ValueError for a region botocore does not know."""
    import botocore.exceptions

    try:
        return str(_session().get_partition_for_region(region))
    except botocore.exceptions.UnknownRegionError:
        raise ValueError(f"unknown AWS region {region!r}") from None


def enum_errors(value: Any, shape: Shape, path: str = "") -> list[str]:
    """Every string whose value is not in its shape's enum, as ``path: value (allowed: ...)``."""
    errors: list[str] = []
    if shape.type_name == "structure" and isinstance(value, Mapping):
        members = shape.members  # type: ignore[attr-defined]
        for key, item in value.items():
            if key in members:
                errors += enum_errors(item, members[key], f"{path}.{key}" if path else key)
    elif shape.type_name == "list" and isinstance(value, list):
        member = shape.member  # type: ignore[attr-defined]
        for index, item in enumerate(value):
            errors += enum_errors(item, member, f"{path}[{index}]")
    elif shape.type_name == "map" and isinstance(value, Mapping):
        for key, item in value.items():
            errors += enum_errors(item, shape.value, f"{path}.{key}")  # type: ignore[attr-defined]
    elif shape.type_name == "string" and isinstance(value, str):
        allowed = getattr(shape, "enum", None) or []
        if allowed and value not in allowed:
            errors.append(f"{path}: {value!r} is not one of {', '.join(allowed)}")
    return errors


def request_errors(service: str, operation: str, params: Mapping[str, Any]) -> list[str]:
    """What AWS would reject in this request, one line per problem (empty when valid)."""
    shape = operation_model(service, operation).input_shape
    assert shape is not None, f"{service}.{operation} takes no input"
    report = ParamValidator().validate(dict(params), shape)
    errors = []
    if report.has_errors():
        errors = [line.strip() for line in report.generate_report().splitlines() if line.strip()]
    return errors + enum_errors(params, shape)
