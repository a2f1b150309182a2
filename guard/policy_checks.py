"""Checks of ``guard:policy_exceptions`` that need the rest of the stack: the product, endpoint
or profile an exception names exists, and its expiry is a real time-box."""

from __future__ import annotations

from datetime import date, timedelta

from guard.config.errors import Problem
from guard.config.stack import StackConfig
from guard.suggest import did_you_mean

E = "guard:policy_exceptions"


def policy_exceptions(config: StackConfig, warnings: list[str], today: date) -> list[Problem]:
    problems = []
    longest = config.policy_settings.max_exception_days
    latest = today + timedelta(days=longest)
    products = {p.name: p for p in config.products}
    for index, exception in enumerate(config.policy_exceptions):
        if exception.expires > latest:
            problems.append(
                Problem(
                    (E, index, "expires"),
                    f"at most {longest} days after {today.isoformat()}, i.e. "
                    f"{latest.isoformat()} (guard:policy_settings.max_exception_days): an "
                    "exception is time-boxed, review it again then",
                    exception.expires.isoformat(),
                )
            )
        resource = exception.resource
        if not exception.names_catalog:
            continue
        name, slash, part = resource.partition("/")
        if not slash:
            continue  # a product name, or a resource's logical name
        product = products.get(name)
        if product is None:
            problems.append(
                Problem(
                    (E, index, "resource"),
                    f"no product {name}{did_you_mean(name, products)}; write product, "
                    "product/endpoint, product/profile, or a glob over logical names or URNs",
                    resource,
                )
            )
            continue
        known = [e.name for e in product.endpoints] + list(product.waf_profiles)
        if part not in known:
            problems.append(
                Problem(
                    (E, index, "resource"),
                    f"{name} has no endpoint or WAF profile {part}{did_you_mean(part, known)}; "
                    f"its endpoints and profiles: {', '.join(known)}",
                    resource,
                )
            )
    return problems
