"""``guard:costs``: the usage a stack's cost estimate assumes, and when a change needs a review.

Every assumption has a default; the estimate (``guard plan``'s costs section) says which values
are defaults and which the stack set, so nobody reads a guess as a measurement.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from guard.config.base import StrictModel

#: The key of a per-product mapping that applies to every product the mapping does not name.
DEFAULT_KEY = "default"


def _with_default(value: dict[str, int]) -> dict[str, int]:
    if DEFAULT_KEY not in value:
        raise ValueError(
            f"must have a '{DEFAULT_KEY}' entry (the value for products not named), "
            "then one entry per product that differs"
        )
    return value


#: ``{default: N, <product>: N}``: a figure per product, ``default`` for the others.
PerProduct = Annotated[
    dict[str, Annotated[int, Field(ge=0, le=10**13)]], AfterValidator(_with_default)
]


class CostsConfig(StrictModel):
    """``guard:costs``: monthly usage assumptions and the review threshold.

    Quantities are per month. ``requests_per_month`` is what each web ACL of a product
    inspects (a product with a CloudFront and an ALB web ACL in line has both inspect it).
    """

    #: guard's price data is in US dollars, as AWS's Price List publishes it.
    currency: Literal["USD"] = "USD"
    requests_per_month: PerProduct = {DEFAULT_KEY: 10_000_000}
    #: Data that Shield Advanced protected resources send out (billed per GB by Shield).
    data_transfer_out_gb_per_month: PerProduct = {DEFAULT_KEY: 100}
    #: What Firehose bills for the WAF logs (each record rounded up to 5 KB), all web ACLs.
    waf_log_gb_per_month: Annotated[float, Field(ge=0, le=10**9)] = 50.0
    #: How much smaller the gzip-compressed logs in S3 are than the records Firehose bills.
    log_compression_ratio: Annotated[float, Field(ge=1, le=100)] = 10.0
    #: Security Hub findings ingested a month (also the alert topics' publishes).
    findings_per_month: Annotated[int, Field(ge=0, le=10**10)] = 1_000
    #: Security Hub security checks a month (controls x resources x evaluations).
    security_checks_per_month: Annotated[int, Field(ge=0, le=10**10)] = 10_000
    #: CloudTrail management events GuardDuty analyses a month, per detector.
    cloudtrail_events_per_month: Annotated[int, Field(ge=0, le=10**12)] = 1_000_000
    #: VPC flow and DNS query logs GuardDuty analyses a month, per detector.
    flow_dns_log_gb_per_month: Annotated[float, Field(ge=0, le=10**9)] = 10.0
    #: Data Athena scans a month for the WAF log queries.
    athena_tb_scanned_per_month: Annotated[float, Field(ge=0, le=10**6)] = 0.01
    #: Invocations a month of each guard Lambda function, and how long each runs.
    function_invocations_per_month: Annotated[int, Field(ge=0, le=10**10)] = 10_000
    function_seconds_per_invocation: Annotated[float, Field(gt=0, le=900)] = 1.0
    #: A pull request that raises the monthly estimate by more than this (USD) needs a review
    #: of its cost (advisory policy ``costs-review-above``).
    review_above: Annotated[float, Field(ge=0, le=10**9)] = 100.0

    def for_product(
        self,
        field: Literal["requests_per_month", "data_transfer_out_gb_per_month"],
        product: str | None,
    ) -> tuple[int, str]:
        """A per-product figure and the key path it comes from: the product's own entry
        (``requests_per_month.ebook``), else ``default``."""
        values: dict[str, int] = getattr(self, field)
        key = product if product is not None and product in values else DEFAULT_KEY
        return values[key], f"{field}.{key}"
