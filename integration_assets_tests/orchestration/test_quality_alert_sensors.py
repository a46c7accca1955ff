"""The alert sensors for quality and lateness, evaluated as the daemon would: `quality_alerts`
reads new rows of the real quality tables past its cursor, `late_sync_alerts` measures the
instance's materializations against the cadences, and a run the quality gate stopped is left
by the failure sensor to the quality alerts (one alert, not two)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dagster import (
    AssetKey,
    AssetMaterialization,
    DagsterEventType,
    DagsterInstance,
    SensorDefinition,
    SensorResult,
    SkipReason,
    build_run_status_sensor_context,
    build_sensor_context,
    materialize,
)

from integration_assets.alerts.incidents import IncidentStore
from integration_assets.alerts.sinks import SlackWebhookSink
from integration_assets.connectors.connections import load_connections
from integration_assets.load.warehouse import Warehouse
from integration_assets.orchestration.alerts import FAILURE_SENSOR, build_alert_sensors
from integration_assets.orchestration.quality_alerts import (
    LATE_SENSOR,
    QUALITY_SENSOR,
    build_quality_alert_sensors,
    entity_settings,
)
from integration_assets.orchestration.resources import ConnectionsResource, WarehouseResource
from integration_assets.orchestration.schedules import CONNECTION_TAG
from integration_assets.quality.settings import QualitySettings
from integration_assets_tests.alerts.quality_history import QualityHistory
from integration_assets_tests.alerts.slack_endpoint import SlackEndpoint, slack_endpoint
from integration_assets_tests.orchestration.gate_assets import sync_assets
from integration_assets_tests.orchestration.harness import MAPPINGS
from integration_assets_tests.orchestration.quality_samples import bad_sync

BASE = "https://dagster.example.internal"
CONNECTIONS = """
connections:
  - name: demo-shop
    vendor: shopify
    api: rest
    base_url: https://demo-shop.example
    secrets: {access_token: IA_TEST_SHOP_TOKEN}
    entities: {orders: 15m, customers: hourly}
"""


@pytest.fixture
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlackEndpoint]:
    monkeypatch.setenv("DAGSTER_WEBSERVER_URL", BASE)
    with slack_endpoint() as endpoint:
        yield endpoint


@pytest.fixture
def instance() -> Iterator[DagsterInstance]:
    with DagsterInstance.ephemeral() as ephemeral:
        yield ephemeral


@pytest.fixture
def warehouse(sqlite_url: str) -> Iterator[Warehouse]:
    warehouse = Warehouse.from_url(sqlite_url)
    try:
        yield warehouse
    finally:
        warehouse.dispose()


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sensors(
    tmp_path: Path, slack: SlackEndpoint, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> dict[str, SensorDefinition]:
    monkeypatch.setenv("IA_TEST_SHOP_TOKEN", "shpat_not_used_here")
    path = tmp_path / "connections.yaml"
    path.write_text(CONNECTIONS)
    built = build_quality_alert_sensors(
        [("shopify", "orders"), ("shopify", "customers")],
        lambda: load_connections(path),
        sink=lambda: SlackWebhookSink(slack.url),
        clock=clock,
    )
    return {sensor.name: sensor for sensor in built}


def tick(
    sensor: SensorDefinition, instance: DagsterInstance, sqlite_url: str, cursor: str | None
) -> SensorResult:
    with build_sensor_context(
        instance=instance,
        cursor=cursor,
        resources={
            "warehouse": WarehouseResource(url=sqlite_url),
            "connections": ConnectionsResource(),
        },
    ) as context:
        result = sensor(context)
    assert isinstance(result, SensorResult)
    return result


def test_quality_alerts_judge_the_rows_past_the_cursor_once_each(
    sensors: dict[str, SensorDefinition],
    instance: DagsterInstance,
    sqlite_url: str,
    warehouse: Warehouse,
    slack: SlackEndpoint,
) -> None:
    history = QualityHistory(warehouse)
    history.sync(passed=100)  # already in the warehouse when the sensor starts
    sensor = sensors[QUALITY_SENSOR]

    first = tick(sensor, instance, sqlite_url, cursor=None)
    assert first.cursor == "1" and slack.posts == []
    assert first.skip_reason is not None
    assert first.skip_reason.skip_message == "starting after quality row 1: history is not alerted"

    bad = history.sync(passed=310)
    second = tick(sensor, instance, sqlite_url, first.cursor)
    assert second.cursor == "2"
    assert slack.texts == [
        ":red_circle: Failing: quality gate of demo-shop/customers | 310 of 620 records passed "
        "(50.0%), under the threshold of 95.0%; nothing was published. Most common failures: "
        f"email on email: 310 | run {BASE}/runs/{bad}"
    ]

    again = tick(sensor, instance, sqlite_url, second.cursor)
    assert again.cursor == "2" and again.skip_reason is not None
    assert again.skip_reason.skip_message == "no new quality rows"

    history.sync(passed=300)
    third = tick(sensor, instance, sqlite_url, again.cursor)
    assert len(slack.posts) == 1  # still the same incident

    history.sync()
    tick(sensor, instance, sqlite_url, third.cursor)
    assert slack.texts[1].startswith(
        ":large_green_circle: Recovered: quality gate of demo-shop/customers is fine again"
    )


def test_a_late_connection_alerts_once_and_recovers_when_it_syncs(
    sensors: dict[str, SensorDefinition],
    instance: DagsterInstance,
    sqlite_url: str,
    warehouse: Warehouse,
    slack: SlackEndpoint,
    clock: Clock,
) -> None:
    orders = AssetKey(["shopify", "orders"])
    instance.report_runless_asset_event(AssetMaterialization(orders, partition="demo-shop"))
    sensor = sensors[LATE_SENSOR]

    tick(sensor, instance, sqlite_url, None)
    assert slack.posts == []  # orders on time; customers never synced: not alerted

    clock.now = datetime.now(UTC) + timedelta(minutes=31, seconds=5)  # 15m: allowed 30 min
    tick(sensor, instance, sqlite_url, None)
    tick(sensor, instance, sqlite_url, None)
    (late,) = slack.texts
    assert late.startswith(
        ":red_circle: Failing: timeliness of demo-shop/orders | demo-shop: last synced 31 min "
        "ago (15m, allowed 30 min) | see "
    )
    assert late.endswith(f"{BASE}/assets/shopify/orders")

    instance.report_runless_asset_event(AssetMaterialization(orders, partition="demo-shop"))
    clock.now = datetime.now(UTC)
    tick(sensor, instance, sqlite_url, None)
    assert slack.texts[1].startswith(
        ":large_green_circle: Recovered: timeliness of demo-shop/orders is fine again"
    )
    (incident,) = IncidentStore(warehouse).incidents("demo-shop")
    assert (incident.kind, incident.failures) == ("late", 1)


def test_a_connection_late_because_its_syncs_fail_is_not_alerted_twice(
    sensors: dict[str, SensorDefinition],
    instance: DagsterInstance,
    sqlite_url: str,
    warehouse: Warehouse,
    slack: SlackEndpoint,
    clock: Clock,
) -> None:
    orders = AssetKey(["shopify", "orders"])
    instance.report_runless_asset_event(AssetMaterialization(orders, partition="demo-shop"))
    IncidentStore(warehouse).record_failure("demo-shop", "orders", "sync", "run-9", "FetchError")

    clock.now = datetime.now(UTC) + timedelta(hours=3)
    tick(sensors[LATE_SENSOR], instance, sqlite_url, None)

    assert slack.posts == []  # the failure alert already said why
    assert [i.kind for i in IncidentStore(warehouse).incidents("demo-shop")] == ["sync"]


def test_a_run_the_gate_stopped_is_alerted_by_the_quality_sensor_not_the_failure_sensor(
    instance: DagsterInstance, sqlite_url: str, slack: SlackEndpoint
) -> None:
    result = materialize(
        sync_assets(bad_sync()),
        instance=instance,
        raise_on_error=False,
        tags={CONNECTION_TAG: "demo-shop"},
    )
    assert not result.success
    run = instance.get_run_by_id(result.run_id)
    assert run is not None
    (record,) = instance.all_logs(result.run_id, of_type=DagsterEventType.RUN_FAILURE)
    assert record.dagster_event is not None
    failure_sensor = {s.name: s for s in build_alert_sensors(lambda: SlackWebhookSink(slack.url))}[
        FAILURE_SENSOR
    ]

    with build_run_status_sensor_context(
        sensor_name=FAILURE_SENSOR,
        dagster_event=record.dagster_event,
        dagster_instance=instance,
        dagster_run=run,
        resources={"warehouse": WarehouseResource(url=sqlite_url)},
    ) as context:
        outcome = failure_sensor(context.for_run_failure())

    assert isinstance(outcome, SkipReason)
    assert outcome.skip_message == (
        f"run {result.run_id} was stopped by the quality gate: alerted by the quality_alerts sensor"
    )
    assert slack.posts == []


def _strict_shop(tmp_path: Path) -> tuple[ConnectionsResource, Path]:
    """A connection whose orders override the quality settings; the resource and the override."""
    mappings = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, mappings)
    override = mappings / "overrides" / "strict-shop" / "orders.json"
    override.parent.mkdir(parents=True)
    override.write_text('{"quality": {"score_drop_alert": 2.5, "threshold": 0.99}}')
    connections = tmp_path / "connections.yaml"
    connections.write_text(
        "connections:\n"
        "  - name: strict-shop\n"
        "    vendor: shopify\n"
        "    base_url: http://127.0.0.1:9\n"
        "    secrets: {access_token: IA_UNUSED_TOKEN}\n"
        "    entities: {orders: hourly}\n"
    )
    return ConnectionsResource(path=str(connections), mappings_dir=str(mappings)), override


def test_the_score_drop_rule_reads_each_connections_own_mapping_settings(tmp_path: Path) -> None:
    """An override's `score_drop_alert` is the one the quality alerts apply to that shop; a
    connection the file no longer has gets the defaults (its alert still goes out)."""
    resource, _ = _strict_shop(tmp_path)
    lookup = entity_settings(resource)

    strict = lookup("strict-shop", "orders")
    assert (strict.score_drop_alert, strict.threshold) == (2.5, 0.99)
    assert lookup("gone-shop", "orders") == QualitySettings()


def test_one_evaluation_reads_an_entitys_settings_once_and_the_next_reads_them_again(
    tmp_path: Path,
) -> None:
    """A tick judging a day of hourly syncs of one entity loads its connection and compiles its
    mapping once, not once per row; an override edited meanwhile counts from the next tick
    (the sensor makes a new lookup at each evaluation)."""
    resource, override = _strict_shop(tmp_path)
    lookup = entity_settings(resource)
    first = lookup("strict-shop", "orders")

    override.write_text('{"quality": {"score_drop_alert": 7.5, "threshold": 0.99}}')

    assert lookup("strict-shop", "orders") is first
    assert entity_settings(resource)("strict-shop", "orders").score_drop_alert == 7.5
