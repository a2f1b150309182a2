"""What the cost drivers read a plan through: its resources by type, parent and product, and
the lines they add (:class:`PlanView`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from guard.config.base import GLOBAL_REGION
from guard.config.costs import CostsConfig
from guard.costs import CostLine
from guard.prices import PriceBook

Resource = Mapping[str, Any]
PRODUCT_COMPONENT = "guard:catalog:Product"


@dataclass
class LineSink:
    """Collects the lines and notes the drivers produce."""

    lines: list[CostLine] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)


class PlanView:
    """A plan's resources with the lookups the drivers share (parents, products, prices)."""

    def __init__(
        self,
        resources: Sequence[Resource],
        annotations: Mapping[str, Any],
        config: CostsConfig,
        prices: PriceBook,
    ) -> None:
        self.resources = resources
        self.annotations = annotations
        self.config = config
        self.prices = prices
        self.sink = LineSink()
        self.by_urn = {str(r["urn"]): r for r in resources}
        self.types: dict[str, list[Resource]] = defaultdict(list)
        #: How many resources of a type share a logical name (each area's ``function``).
        self.names: dict[tuple[str, str], int] = defaultdict(int)
        self.children: dict[str, list[Resource]] = defaultdict(list)
        for resource in resources:
            self.types[str(resource["type"])].append(resource)
            self.names[(str(resource["type"]), str(resource["name"]))] += 1
            if resource.get("parent"):
                self.children[str(resource["parent"])].append(resource)

    def of(self, type_token: str) -> list[Resource]:
        return self.types.get(type_token, [])

    def ancestors(self, resource: Resource) -> Iterator[Resource]:
        parent = resource.get("parent")
        seen = {resource.get("urn")}
        # A hand-edited plan file may hold a cycle; the engine never makes one.
        while parent and parent in self.by_urn and parent not in seen:
            seen.add(parent)
            found = self.by_urn[parent]
            yield found
            parent = found.get("parent")

    def display_name(self, resource: Resource) -> str:
        """What a reader recognises: the AWS name, else the logical name (with its parent's
        when several resources of the type share it, like each area's ``function``)."""
        inputs = resource.get("inputs") or {}
        for key in ("name", "bucket"):
            if isinstance(inputs.get(key), str):
                return str(inputs[key])
        name = str(resource["name"])
        parent = self.by_urn.get(str(resource.get("parent")))
        if self.names[(str(resource["type"]), name)] > 1 and parent is not None:
            return f"{parent['name']}/{name}"
        return name

    def area(self, resource: Resource) -> str:
        """The area of the nearest guard component above the resource (``waf``, ``logs``...)."""
        for ancestor in self.ancestors(resource):
            token = str(ancestor["type"])
            if token.startswith("guard:") and token != PRODUCT_COMPONENT:
                return token.split(":")[1]
        return "stack"

    def product(self, resource: Resource) -> str | None:
        """The product a resource serves: its ``product`` tag, else its product component."""
        tags = (resource.get("inputs") or {}).get("tags") or {}
        if isinstance(tags, Mapping) and isinstance(tags.get("product"), str):
            return str(tags["product"])
        for ancestor in self.ancestors(resource):
            if ancestor["type"] == PRODUCT_COMPONENT:
                return str(ancestor["name"])
        return None

    def add(
        self,
        resource: Resource,
        price_key: str,
        what: str,
        quantity: float,
        *,
        region: str | None = None,
        assumption: str | None = None,
        note: str | None = None,
        area: str | None = None,
        product: str | bool | None = True,
        resource_name: str | None = None,
    ) -> None:
        """A line for ``quantity`` of ``price_key`` on ``resource`` (in its region by default)."""
        where = region or str(resource.get("region") or GLOBAL_REGION)
        price = self.prices.get(price_key, where)
        self.sink.lines.append(
            CostLine(
                area=area or self.area(resource),
                product=self.product(resource) if product is True else (product or None),
                resource=resource_name or self.display_name(resource),
                price_key=price_key,
                region=where,
                what=what,
                quantity=quantity,
                kind=self.prices.kind(price_key),
                price=price,
                assumption=assumption,
                note=note,
            )
        )
