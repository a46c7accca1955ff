"""The quality checks of a sync asset: what one sync's assessment shows in the UI, and the
blocking `quality` check stopping a sync, so its asset does not materialize and the assets
that depend on it do not run.

The blocking mechanics run a real `dagster.materialize` of a graph asset built the way the
sync assets are (an extract op, then a load op whose outputs are the asset and its checks),
on an ephemeral instance whose event log is read back as the UI reads it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from dagster import (
    AssetCheckKey,
    AssetCheckSeverity,
    AssetKey,
    AssetMaterialization,
    DagsterEventType,
    DagsterInstance,
    ExecuteInProcessResult,
    materialize,
)
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus

from integration_assets.connectors.connections import Connection
from integration_assets.orchestration.assets import sync_timeliness
from integration_assets.orchestration.definitions_factory import build_definitions
from integration_assets.orchestration.failures import run_failure_message
from integration_assets.orchestration.quality_checks import (
    CHECK_NAMES,
    check_results,
)
from integration_assets_tests.orchestration.gate_assets import CUSTOMERS, ORDERS, sync_assets
from integration_assets_tests.orchestration.harness import MAPPINGS, REPO
from integration_assets_tests.orchestration.quality_samples import (
    STATE_DRIFT,
    VOLUME_DROP,
    bad_sync,
    good_sync,
    with_findings,
)


def plain(metadata: dict) -> dict:
    return {key: getattr(value, "value", value) for key, value in metadata.items()}


def test_a_good_sync_passes_the_gate_and_shows_the_numbers_the_ui_plots() -> None:
    results = check_results(good_sync())

    assert [r.check_name for r in results] == list(CHECK_NAMES)
    gate = results[0]
    assert gate.passed and gate.severity is AssetCheckSeverity.ERROR
    assert gate.description == "96.8% of 620 records passed (threshold 95.0%)"
    numbers = plain(gate.metadata)
    assert {k: numbers[k] for k in ("records", "records_passed", "records_failed", "score")} == {
        "records": 620,
        "records_passed": 600,
        "records_failed": 20,
        "score": 97.9,
    }
    assert numbers["pass_rate"] == pytest.approx(600 / 620)
    assert numbers["connection"] == "demo-shop"
    failures = [r.data for r in gate.metadata["failures"].records]
    assert failures[0] == {
        "check": "email",
        "dimension": "validity",
        "column": "email",
        "count": 40,
        "example_ids": "7001, 7002, 7003",
    }


def test_a_dimension_under_its_score_warns_and_an_unmeasured_one_passes() -> None:
    by_name = {r.check_name: r for r in check_results(good_sync())}

    validity = by_name["validity"]
    assert not validity.passed and validity.severity is AssetCheckSeverity.WARN
    assert validity.description == "Score 93.5 under 95: email on email: 40"
    assert plain(validity.metadata)["score"] == 93.5
    assert (plain(validity.metadata)["evaluated"], plain(validity.metadata)["failed"]) == (620, 40)
    assert [r.data["check"] for r in validity.metadata["failures"].records] == ["email"]

    completeness = by_name["completeness"]
    assert completeness.passed
    assert completeness.description == "Score 99.7 (9 of 3100 evaluations failed)"

    accuracy = by_name["accuracy"]
    assert accuracy.passed and "score" not in accuracy.metadata
    assert accuracy.description == "Not measured: the entity has no accuracy checks"


def test_anomalies_and_drift_warn_naming_what_moved() -> None:
    quiet = {r.check_name: r for r in check_results(good_sync())}
    assert quiet["volume_anomaly"].passed and quiet["drift"].passed
    assert quiet["drift"].description == "None found (baseline of 12 earlier syncs)"

    found = {
        r.check_name: r for r in check_results(with_findings(good_sync(), VOLUME_DROP, STATE_DRIFT))
    }

    volume, drift = found["volume_anomaly"], found["drift"]
    assert not volume.passed and volume.severity is AssetCheckSeverity.WARN
    assert volume.description == "1 found: rows 600 against a median of 2400 (robust z -6.2)"
    numbers = plain(volume.metadata)
    assert (numbers["records"], numbers["profiled_rows"]) == (620, 600)
    assert (numbers["rows"], numbers["rows/score"]) == (600.0, -6.2)  # the finding's value, z
    assert not drift.passed
    assert drift.description == (
        "1 found: state: Jensen-Shannon 0.31 over 0.1; new category 'paused'"
    )
    assert plain(drift.metadata)["js/state"] == 0.31
    (row,) = drift.metadata["findings"].records
    assert (row.data["metric"], row.data["column"], row.data["expected"]) == ("js", "state", 0.1)


def test_a_failed_gate_is_an_error_naming_the_pass_rate_and_top_failures() -> None:
    gate = check_results(bad_sync())[0]

    assert not gate.passed and gate.severity is AssetCheckSeverity.ERROR
    assert gate.description == (
        "Gate failed: demo-shop/customers: 310 of 620 records passed (50.0%), under the "
        "threshold of 95.0%; nothing was published. Most common failures: email on email: "
        "310; required on created_at: 9; updated_after_created: 2"
    )


# --- blocking, on a real materialization -------------------------------------------------


@pytest.fixture
def instance() -> Iterator[DagsterInstance]:
    with DagsterInstance.ephemeral() as ephemeral:
        yield ephemeral


def check_record(instance: DagsterInstance, name: str):
    key = AssetCheckKey(CUSTOMERS, name)
    return instance.event_log_storage.get_latest_asset_check_execution_by_key([key])[key]


def events(result: ExecuteInProcessResult, event_type: DagsterEventType) -> list:
    return [e for e in result.all_events if e.event_type == event_type]


def test_a_failed_gate_records_its_checks_then_stops_the_asset_and_what_depends_on_it(
    instance: DagsterInstance,
) -> None:
    result = materialize(sync_assets(bad_sync()), instance=instance, raise_on_error=False)

    assert not result.success
    gate = check_record(instance, "quality")
    assert gate.status is AssetCheckExecutionRecordStatus.FAILED
    evaluation = gate.event.dagster_event.asset_check_evaluation_data  # type: ignore[union-attr]
    assert evaluation.severity is AssetCheckSeverity.ERROR
    assert evaluation.description.startswith("Gate failed: demo-shop/customers: 310 of 620")
    assert check_record(instance, "validity").status is AssetCheckExecutionRecordStatus.FAILED
    assert check_record(instance, "drift").status is AssetCheckExecutionRecordStatus.SUCCEEDED

    assert instance.get_latest_materialization_event(CUSTOMERS) is None
    assert instance.get_latest_materialization_event(ORDERS) is None
    started = {event.step_key for event in events(result, DagsterEventType.STEP_START)}
    assert "shopify__orders" not in started  # its upstream failed: never executed
    assert run_failure_message(result).startswith(
        "Failure: QualityGateError: demo-shop/customers: 310 of 620 records passed (50.0%)"
    )
    assert "Most common failures: email on email: 310" in run_failure_message(result)
    assert events(result, DagsterEventType.STEP_UP_FOR_RETRY) == []  # permanent: not retried


def test_a_passed_gate_materializes_with_its_checks_and_downstream_runs(
    instance: DagsterInstance,
) -> None:
    result = materialize(sync_assets(good_sync()), instance=instance)

    assert result.success
    materialized = instance.get_latest_materialization_event(CUSTOMERS)
    assert materialized is not None
    gate = check_record(instance, "quality")
    assert gate.status is AssetCheckExecutionRecordStatus.SUCCEEDED
    evaluation = gate.event.dagster_event.asset_check_evaluation_data  # type: ignore[union-attr]
    assert evaluation.target_materialization_data.run_id == result.run_id
    assert check_record(instance, "validity").status is AssetCheckExecutionRecordStatus.FAILED
    assert instance.get_latest_materialization_event(ORDERS) is not None


def test_a_load_with_no_assessment_materializes_and_downstream_still_runs(
    instance: DagsterInstance,
) -> None:
    result = materialize(sync_assets(None), instance=instance)

    assert result.success
    assert instance.get_latest_materialization_event(ORDERS) is not None
    assert events(result, DagsterEventType.ASSET_CHECK_EVALUATION) == []


def test_the_timeliness_inputs_of_an_assessment_come_from_the_previous_materialization(
    instance: DagsterInstance,
) -> None:
    shop = Connection.model_validate(
        {
            "name": "demo-shop",
            "vendor": "shopify",
            "base_url": "https://demo-shop.example",
            "secrets": {"access_token": "IA_TEST_SHOP_TOKEN"},
            "entities": {"orders": "15m", "products": "manual"},
        }
    )
    now = datetime.now(UTC)
    assert sync_timeliness(instance, "shopify", "orders", shop, now) == (None, 30.0)

    instance.report_runless_asset_event(AssetMaterialization(ORDERS, partition="demo-shop"))
    since, allowed = sync_timeliness(instance, "shopify", "orders", shop, now + timedelta(hours=1))
    assert allowed == 30.0 and 59.0 < since <= 60.0
    assert sync_timeliness(instance, "shopify", "products", shop, now)[1] is None


def test_every_sync_asset_carries_the_seven_checks_beside_timeliness(tmp_path: Path) -> None:
    defs = build_definitions(
        connections_path=REPO / "connections.yaml",
        mappings_dir=MAPPINGS,
        warehouse_url=f"sqlite:///{tmp_path / 'w.db'}",
    )
    graph = defs.resolve_asset_graph()
    for key in (CUSTOMERS, ORDERS, AssetKey(["klaviyo", "events"])):
        specs = {spec.name: spec for spec in defs.resolve_assets_def(key).check_specs}
        assert set(specs) == set(CHECK_NAMES)
        assert [name for name, spec in specs.items() if spec.blocking] == ["quality"]
        assert AssetCheckKey(key, "timeliness") in graph.asset_check_keys
    job = defs.resolve_job_def("shopify_sync")
    assert AssetCheckKey(ORDERS, "quality") in job.asset_layer.asset_graph.asset_check_keys
