"""Shield Advanced's DDoS alarm as guard declares it: the metric it watches, and which endpoint a
recorded alarm watches. The component, the policy, the plan report and the drill read alarms the
same way through this module."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

DDOS_NAMESPACE = "AWS/DDoSProtection"
DDOS_METRIC = "DDoSDetected"


def watched_resource(alarm_inputs: Mapping[str, Any]) -> str | None:
    """The ARN a DDoSDetected alarm watches (its ``ResourceArn`` dimension), or None for any
    other alarm."""
    if (
        alarm_inputs.get("namespace") != DDOS_NAMESPACE
        or alarm_inputs.get("metricName") != DDOS_METRIC
    ):
        return None
    dimensions = alarm_inputs.get("dimensions")
    arn = dimensions.get("ResourceArn") if isinstance(dimensions, Mapping) else None
    return arn if isinstance(arn, str) else None
