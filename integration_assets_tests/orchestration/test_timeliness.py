"""Late connections, as the UI shows them: each asset's `timeliness` check, recorded by the
`sync_timeliness` sensor, names the connections whose last sync is older than their cadence
allows. Syncs are real runs against the sandbox; the UI is read through Dagster's GraphQL API."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dagster import (
    AssetCheckEvaluation,
    AssetCheckSeverity,
    SensorResult,
    SkipReason,
    build_sensor_context,
    instance_for_test,
)
from dagster._core.definitions.sensor_definition import SensorExecutionData
from dagster._core.test_utils import in_process_test_workspace
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._serdes import deserialize_value, serialize_value
from dagster_graphql.test.utils import execute_dagster_graphql

from integration_assets.connectors.connections import load_connections
from integration_assets.orchestration.cadence import allowance
from integration_assets.orchestration.partitions import connection_partitions
from integration_assets.orchestration.timeliness import measure
from integration_assets_tests.orchestration.harness import MAPPINGS, SHOP, Deployment

LATE_SHOP = """
  - name: quiet-shop
    vendor: shopify
    base_url: {url}
    secrets: {{access_token: IA_TEST_SHOP_TOKEN}}
    entities: {{customers: hourly, orders: manual}}
"""
CHECKS_QUERY = """
query {
  assetCheckExecutions(assetKey: {path: ["shopify", "customers"]}, checkName: "timeliness",
                       limit: 1) {
    status
    evaluation { severity description }
  }
}
"""


@pytest.fixture
def live(deployment: Deployment) -> Iterator[Deployment]:
    """The deployment on a persistent instance, with a second shop that never synced."""
    with deployment.connections_path.open("a") as file:
        file.write(LATE_SHOP.format(url=deployment.sandbox.shopify_url))
    with instance_for_test() as instance:
        instance.add_dynamic_partitions(connection_partitions("shopify").name, [SHOP, "quiet-shop"])
        yield dataclasses.replace(deployment, instance=instance)


def sense(live: Deployment, cursor: str | None = None) -> SensorResult | SkipReason:
    sensor = live.defs.resolve_sensor_def("sync_timeliness")
    result = sensor(build_sensor_context(instance=live.instance, cursor=cursor))
    assert isinstance(result, SensorResult | SkipReason)
    return result


def evaluations(result: SensorResult) -> dict[str, AssetCheckEvaluation]:
    return {
        "/".join(event.asset_key.path): event
        for event in result.asset_events
        if isinstance(event, AssetCheckEvaluation)
    }


def test_allowances_are_one_interval_plus_up_to_an_hour_of_grace() -> None:
    assert allowance("15m") == timedelta(minutes=30)
    assert allowance("hourly") == allowance("realtime") == timedelta(hours=2)
    assert allowance("daily") == timedelta(hours=25)
    assert allowance("manual") is None


def test_the_sensor_names_the_connection_that_never_synced(live: Deployment) -> None:
    live.sync("shopify", "customers")

    result = sense(live)

    assert isinstance(result, SensorResult)
    customers = evaluations(result)["shopify/customers"]
    assert not customers.passed and customers.severity == AssetCheckSeverity.WARN
    assert customers.description == ("Late: quiet-shop: never synced (hourly, allowed 120 min)")
    assert customers.metadata["late_connections"].value == ["quiet-shop"]
    rows = {r.data["connection"]: r.data for r in customers.metadata["connections"].records}
    assert rows[SHOP]["late"] is False and rows[SHOP]["minutes_since_sync"] == 0
    assert rows["quiet-shop"]["minutes_since_sync"] is None
    # quiet-shop's orders sync manually: never late, and not measured.
    assert evaluations(result)["shopify/orders"].metadata["late_connections"].value == [SHOP]


def test_a_connection_is_late_once_its_last_sync_is_older_than_its_cadence_allows(
    live: Deployment,
) -> None:
    live.sync("shopify", "orders")  # 15m: allowed 30 minutes
    second_began = datetime.now(UTC)
    live.sync("shopify", "orders")
    connections = load_connections(live.connections_path)
    synced, manual = measure(live.instance, "shopify", "orders", connections, datetime.now(UTC))
    assert synced.connection == SHOP and synced.last_success is not None
    assert synced.last_success >= second_began  # the latest sync counts
    assert manual.cadence == "manual" and not manual.late

    on_time, late = (
        measure(live.instance, "shopify", "orders", connections, synced.last_success + age)[0]
        for age in (timedelta(minutes=29), timedelta(minutes=31))
    )

    assert not on_time.late
    assert late.late
    assert late.describe() == f"{SHOP}: last synced 31 min ago (15m, allowed 30 min)"


def test_the_sensor_records_a_verdict_only_when_it_changes(live: Deployment) -> None:
    first = sense(live)
    assert isinstance(first, SensorResult)
    assert isinstance(sense(live, first.cursor), SkipReason)

    live.sync("shopify", "customers")
    changed = sense(live, first.cursor)

    assert isinstance(changed, SensorResult)
    assert set(evaluations(changed)) == {"shopify/customers"}
    assert evaluations(changed)["shopify/customers"].metadata["late_connections"].value == [
        "quiet-shop"
    ]


def test_the_ui_shows_the_failed_check_naming_the_late_connection(
    live: Deployment, tmp_path: Path
) -> None:
    live.sync("shopify", "customers")
    # As the daemon gets it: evaluated by the code server, sent serialized, then each event
    # reported to the instance without a run.
    sensor = live.defs.resolve_sensor_def("sync_timeliness")
    tick = sensor.evaluate_tick(build_sensor_context(instance=live.instance))
    for event in deserialize_value(serialize_value(tick), SensorExecutionData).asset_events:
        live.instance.report_runless_asset_event(event)
    module = tmp_path / "code_location.py"
    module.write_text(
        "from integration_assets.orchestration.definitions_factory import build_definitions\n"
        f"defs = build_definitions(connections_path={str(live.connections_path)!r}, "
        f"mappings_dir={str(MAPPINGS)!r}, warehouse_url={live.warehouse_url!r})\n"
    )

    origin = LoadableTargetOrigin(python_file=str(module), attribute="defs")
    with in_process_test_workspace(live.instance, origin) as context:
        answer = execute_dagster_graphql(context, CHECKS_QUERY)

    assert answer.errors is None
    (execution,) = answer.data["assetCheckExecutions"]
    assert execution["status"] == "FAILED"
    assert execution["evaluation"]["severity"] == "WARN"
    assert "quiet-shop: never synced" in execution["evaluation"]["description"]
    assert SHOP not in execution["evaluation"]["description"]
