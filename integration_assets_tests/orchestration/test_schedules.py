"""The sync schedules, evaluated as the daemon evaluates them: against a connections file
written here, at chosen tick times, on a persistent Dagster instance."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dagster import (
    AssetKey,
    DagsterInstance,
    Definitions,
    RunRequest,
    build_schedule_context,
    instance_for_test,
)
from dagster._core.errors import ScheduleExecutionError
from dagster._core.storage.tags import PARTITION_NAME_TAG

from integration_assets.connectors.connections import ConnectionsFileError
from integration_assets.orchestration.definitions_factory import build_definitions
from integration_assets.orchestration.quality_checks import sync_check_keys
from integration_assets_tests.orchestration.harness import MAPPINGS

CONNECTIONS = """
connections:
  - name: shop-a
    vendor: shopify
    base_url: http://127.0.0.1:9
    secrets: {access_token: SHOP_A_TOKEN}
    entities: {customers: hourly, orders: 15m, products: daily}
  - name: shop-b
    vendor: shopify
    base_url: http://127.0.0.1:9
    secrets: {access_token: SHOP_B_TOKEN}
    entities: {customers: realtime, orders: manual, products: 15m}
  - name: news
    vendor: klaviyo
    base_url: http://127.0.0.1:9
    secrets: {api_key: NEWS_KEY}
    entities: {profiles: daily, events: 15m}
"""
DAY = datetime(2026, 11, 30, tzinfo=UTC)


@pytest.fixture
def connections_file(tmp_path: Path) -> Path:
    path = tmp_path / "connections.yaml"
    path.write_text(CONNECTIONS)
    return path


@pytest.fixture
def defs(connections_file: Path) -> Definitions:
    return build_definitions(
        connections_path=connections_file, mappings_dir=MAPPINGS, warehouse_url="sqlite://"
    )


@pytest.fixture
def instance() -> Iterator[DagsterInstance]:
    with instance_for_test() as persistent:
        yield persistent


def tick(defs: Definitions, instance: DagsterInstance, name: str, at: datetime) -> list[RunRequest]:
    """Evaluate schedule `name` for the tick at `at`; its run requests (none when it skips)."""
    schedule = defs.resolve_schedule_def(name)
    context = build_schedule_context(
        instance=instance, scheduled_execution_time=at, repository_def=defs.get_repository_def()
    )
    return list(schedule.evaluate_tick(context).run_requests or [])


def due(requests: list[RunRequest]) -> dict[str, list[str]]:
    """Connection -> the entities its run materializes."""
    return {
        request.partition_key or "": [key.path[-1] for key in request.asset_selection or []]
        for request in requests
    }


def test_a_quarter_past_tick_requests_only_the_15_minute_entities(defs, instance) -> None:
    at = DAY.replace(hour=10, minute=15)

    assert due(tick(defs, instance, "shopify_sync_schedule", at)) == {
        "shop-a": ["orders"],
        "shop-b": ["products"],
    }
    assert due(tick(defs, instance, "klaviyo_sync_schedule", at)) == {"news": ["events"]}


def test_on_the_hour_hourly_and_the_realtime_safety_net_join_in(defs, instance) -> None:
    requests = tick(defs, instance, "shopify_sync_schedule", DAY.replace(hour=10))

    assert due(requests) == {"shop-a": ["customers", "orders"], "shop-b": ["customers", "products"]}


def test_daily_entities_are_due_once_a_day_at_three_utc(defs, instance) -> None:
    ticks = [DAY + timedelta(minutes=15 * n) for n in range(96)]
    daily = [
        at
        for at in ticks
        if "products" in due(tick(defs, instance, "shopify_sync_schedule", at)).get("shop-a", [])
    ]

    assert daily == [DAY.replace(hour=3)]
    assert due(tick(defs, instance, "shopify_sync_schedule", DAY.replace(hour=3)))["shop-a"] == [
        "customers",
        "orders",
        "products",
    ]


def test_a_manual_entity_is_never_requested(defs, instance) -> None:
    for n in range(96):
        requests = tick(defs, instance, "shopify_sync_schedule", DAY + timedelta(minutes=15 * n))
        assert "orders" not in due(requests).get("shop-b", [])


def test_a_run_is_one_connection_tagged_for_the_run_queue(defs, instance) -> None:
    (request,) = [
        r
        for r in tick(defs, instance, "shopify_sync_schedule", DAY.replace(hour=10))
        if r.partition_key == "shop-a"
    ]

    assert request.asset_selection == [
        AssetKey(["shopify", "customers"]),
        AssetKey(["shopify", "orders"]),
    ]
    # The quality checks its load ops execute; timeliness is measured by its sensor.
    assert request.asset_check_keys == sync_check_keys(request.asset_selection)
    assert request.tags["integration/connection"] == "shop-a"
    assert request.tags["integration/target"] == "shop-a/customers,shop-a/orders"
    assert request.tags[PARTITION_NAME_TAG] == "shop-a"
    assert request.tags["dagster/schedule_name"] == "shopify_sync_schedule"


def test_run_keys_are_stable_per_tick_and_distinct_across_ticks_and_connections(
    defs, instance
) -> None:
    at = DAY.replace(hour=10, minute=30)
    first = [r.run_key for r in tick(defs, instance, "shopify_sync_schedule", at)]
    again = [r.run_key for r in tick(defs, instance, "shopify_sync_schedule", at)]
    later = [
        r.run_key for r in tick(defs, instance, "shopify_sync_schedule", at + timedelta(minutes=15))
    ]

    assert first == again == ["2026-11-30T10:30Z:shop-a:sync", "2026-11-30T10:30Z:shop-b:sync"]
    assert not set(first) & set(later)


def test_editing_the_connections_file_changes_the_next_tick(
    defs, instance, connections_file: Path
) -> None:
    at = DAY.replace(hour=11, minute=45)
    assert set(due(tick(defs, instance, "shopify_sync_schedule", at))) == {"shop-a", "shop-b"}

    edited = CONNECTIONS.replace("orders: 15m", "orders: manual").replace(
        "products: 15m", "products: hourly"
    )
    connections_file.write_text(edited)

    assert tick(defs, instance, "shopify_sync_schedule", at) == []
    assert due(tick(defs, instance, "shopify_sync_schedule", DAY.replace(hour=12))) == {
        "shop-a": ["customers"],
        "shop-b": ["customers", "products"],
    }


def test_a_tick_with_nothing_due_skips_and_says_why(defs, instance, connections_file) -> None:
    connections_file.write_text(CONNECTIONS.replace("15m", "manual"))
    schedule = defs.resolve_schedule_def("klaviyo_sync_schedule")
    context = build_schedule_context(
        instance=instance,
        scheduled_execution_time=DAY.replace(hour=10, minute=15),
        repository_def=defs.get_repository_def(),
    )

    data = schedule.evaluate_tick(context)

    assert not data.run_requests
    assert data.skip_message == "no klaviyo connection has an entity due at this tick"


def test_a_new_connection_gets_its_partition_at_the_tick(defs, instance) -> None:
    assert instance.get_dynamic_partitions("shopify_connections") == []

    tick(defs, instance, "shopify_sync_schedule", DAY.replace(hour=10))

    assert sorted(instance.get_dynamic_partitions("shopify_connections")) == ["shop-a", "shop-b"]
    assert instance.get_dynamic_partitions("klaviyo_connections") == []


def test_a_connection_removed_from_the_file_is_never_requested_again(
    defs, instance, connections_file: Path
) -> None:
    tick(defs, instance, "shopify_sync_schedule", DAY.replace(hour=10))
    connections_file.write_text(CONNECTIONS.split("  - name: shop-b")[0])

    requests = tick(defs, instance, "shopify_sync_schedule", DAY.replace(hour=11))

    assert due(requests) == {"shop-a": ["customers", "orders"]}
    assert "shop-b" in instance.get_dynamic_partitions("shopify_connections")  # history kept


def test_a_broken_connections_file_fails_the_tick_naming_the_problem(
    defs, instance, connections_file: Path
) -> None:
    connections_file.write_text(CONNECTIONS.replace("orders: 15m", "orders: weekly"))

    with pytest.raises(ScheduleExecutionError) as raised:
        tick(defs, instance, "shopify_sync_schedule", DAY.replace(hour=10))

    # The daemon shows the tick failed with this cause: the file, the field, the rule.
    cause = raised.value.__cause__
    assert isinstance(cause, ConnectionsFileError)
    assert str(connections_file) in str(cause) and "entities.orders" in str(cause)


def test_the_daily_reconcile_asks_one_run_per_connection_with_entities_to_reconcile(
    defs, instance
) -> None:
    requests = tick(defs, instance, "shopify_reconcile_schedule", DAY.replace(hour=4))

    assert sorted((r.partition_key, r.run_key) for r in requests) == [
        ("shop-a", "2026-11-30T04:00Z:shop-a:reconcile"),
        ("shop-b", "2026-11-30T04:00Z:shop-b:reconcile"),
    ]
    tags = {r.partition_key: r.tags["integration/target"] for r in requests}
    # shop-b's orders sync manually: a scheduled reconcile leaves them alone.
    assert tags == {
        "shop-a": "shop-a/customers,shop-a/orders,shop-a/products",
        "shop-b": "shop-b/customers,shop-b/products",
    }
    assert all(r.tags["integration/connection"] == r.partition_key for r in requests)
    (klaviyo,) = tick(defs, instance, "klaviyo_reconcile_schedule", DAY.replace(hour=4))
    # Events are append-only and never reconciled.
    assert klaviyo.tags["integration/target"] == "news/profiles"
