"""The alert routes other components publish to; only ``components.alerts`` creates topics."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import pulumi

Route = Literal["normal", "urgent"]


@dataclass(frozen=True)
class AlertRoutes:
    """SNS topic ARNs by (route, region): the stack's region and us-east-1 each have a pair."""

    topics: Mapping[tuple[Route, str], pulumi.Output[str]]

    def topic_arn(self, route: Route, region: str) -> pulumi.Output[str]:
        try:
            return self.topics[(route, region)]
        except KeyError:
            known = ", ".join(f"{r}@{g}" for r, g in self.topics)
            raise KeyError(f"no {route} alert topic in {region}; routes: {known}") from None

    @property
    def regions(self) -> list[str]:
        return sorted({region for _, region in self.topics})
