"""A graph asset built as the sync assets are (an extract op, then a load op whose outputs are
the asset and its quality checks), judged by a given `Assessment`, and an asset depending on
it: the blocking gate's mechanics on a real run, without the vendor or the gate's code."""

from __future__ import annotations

from collections.abc import Iterator

from dagster import (
    AssetKey,
    AssetsDefinition,
    Nothing,
    Out,
    Output,
    RetryPolicy,
    asset,
    graph_asset,
    op,
)

from integration_assets.orchestration.quality_checks import (
    check_outs,
    quality_check_specs,
    report_quality,
)
from integration_assets.quality.model import Assessment

CUSTOMERS, ORDERS = AssetKey(["shopify", "customers"]), AssetKey(["shopify", "orders"])


def sync_assets(assessment: Assessment | None) -> list[AssetsDefinition]:
    """`shopify/customers` built as the sync assets are, whose load op the gate judges by
    `assessment` (None: a load with no assessment, as a webhook load), and `shopify/orders`,
    which depends on it."""

    @op
    def extract() -> int:
        return assessment.report.records if assessment else 0

    @op(
        name="shopify_customers_load",
        out={"result": Out(Nothing), **check_outs(CUSTOMERS)},
        retry_policy=RetryPolicy(max_retries=2),
    )
    def load(records: int) -> Iterator:
        if assessment and not assessment.report.gate_passed:
            yield from report_quality(assessment)  # the gate published nothing: no output
        yield Output(None, "result", metadata={"records": records})
        yield from report_quality(assessment)

    @graph_asset(key=CUSTOMERS, check_specs=quality_check_specs(CUSTOMERS))
    def customers():
        return load(extract())._asdict()

    @asset(key=ORDERS, deps=[CUSTOMERS])
    def orders() -> None:
        pass

    return [customers, orders]
