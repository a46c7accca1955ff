"""What the schedules launch, run for real: the schedule's own run request executed against the
sandbox vendors and the warehouse, on a persistent Dagster instance."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from dagster import (
    DagsterEventType,
    DagsterInstance,
    ExecuteInProcessResult,
    RunRequest,
    build_schedule_context,
    instance_for_test,
    validate_run_config,
)
from dagster._core.errors import DagsterInvalidConfigError
from dagster._core.storage.tags import PARTITION_NAME_TAG
from sqlalchemy import select

from integration_assets.load.tables import build_table
from integration_assets.load.warehouse import Warehouse
from integration_assets.mapping.compiler import compile_mapping
from integration_assets.mapping.loader import load_mapping
from integration_assets.orchestration.failures import run_failure_message
from integration_assets.schema import DELETED_AT_COLUMN
from integration_assets_tests.orchestration.harness import MAPPINGS, SHOP, Deployment

THREE_AM = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
FOUR_AM = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)


@pytest.fixture
def instance() -> Iterator[DagsterInstance]:
    with instance_for_test() as persistent:
        yield persistent


def scheduled_request(
    deployment: Deployment, instance: DagsterInstance, schedule: str, at: datetime
) -> RunRequest:
    """The run request the schedule makes for the test shop at `at`."""
    context = build_schedule_context(
        instance=instance,
        scheduled_execution_time=at,
        repository_def=deployment.defs.get_repository_def(),
    )
    requests = deployment.defs.resolve_schedule_def(schedule).evaluate_tick(context).run_requests
    (request,) = [r for r in requests or [] if r.partition_key == SHOP]
    return request


def launch(
    deployment: Deployment, instance: DagsterInstance, job: str, request: RunRequest
) -> ExecuteInProcessResult:
    """Execute `job` as the daemon would for the request: the same subset (assets and
    checks), partition and tags."""
    definition = deployment.defs.resolve_job_def(job)
    if request.asset_selection is not None:
        checks = request.asset_check_keys
        definition = definition.get_subset(
            asset_selection=set(request.asset_selection),
            asset_check_selection=None if checks is None else set(checks),
        )
    return definition.execute_in_process(
        instance=instance,
        partition_key=request.partition_key,
        tags={k: v for k, v in request.tags.items() if k != PARTITION_NAME_TAG},
        raise_on_error=False,
    )


def step_events(result: ExecuteInProcessResult, kind: DagsterEventType) -> list[str]:
    return [e.step_key or "" for e in result.all_events if e.event_type == kind]


def test_a_tick_that_syncs_customers_products_and_orders_runs_orders_last(
    deployment: Deployment, instance: DagsterInstance
) -> None:
    request = scheduled_request(deployment, instance, "shopify_sync_schedule", THREE_AM)
    result = launch(deployment, instance, "shopify_sync", request)

    assert result.success
    timeline = [
        (event.event_type, event.step_key)
        for event in result.all_events
        if event.event_type in (DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS)
    ]
    orders_read = timeline.index(
        (DagsterEventType.STEP_START, "shopify__orders.shopify_orders_extract")
    )
    for upstream in ("customers", "products"):
        loaded = timeline.index(
            (DagsterEventType.STEP_SUCCESS, f"shopify__{upstream}.shopify_{upstream}_load")
        )
        assert loaded < orders_read, f"orders were read before {upstream} were loaded"
    # Timeliness is the sensor's job, not a step of every sync run.
    assert not [key for _, key in timeline if key and "timeliness" in key]
    run = instance.get_run_by_id(result.run_id)
    assert run is not None
    assert run.tags["integration/connection"] == SHOP
    assert run.tags[PARTITION_NAME_TAG] == SHOP
    for entity in ("customers", "products", "orders"):
        deployment.assert_matches_vendor("shopify", entity)


def _deleted_ids(deployment: Deployment) -> set[int]:
    warehouse = Warehouse.from_url(deployment.warehouse_url)
    try:
        mapping = compile_mapping(load_mapping("shopify", "customers", mappings_dir=MAPPINGS))
        table = build_table(mapping.tables[0])
        with warehouse.engine.connect() as conn:
            rows = conn.execute(
                select(table.c.id).where(
                    table.c._connection == SHOP, table.c[DELETED_AT_COLUMN].is_not(None)
                )
            )
            return {row.id for row in rows}
    finally:
        warehouse.dispose()


def test_the_daily_reconcile_run_marks_the_customers_the_shop_deleted(
    deployment: Deployment, instance: DagsterInstance
) -> None:
    shop = deployment.sandbox.shopify
    for entity in ("customers", "products", "orders"):
        deployment.sync("shopify", entity)
    before = {c["id"] for c in shop.records("customers")}
    shop.advance(seconds=60, updated_fraction=0.0, deleted={"customers": 4})
    gone = before - {c["id"] for c in shop.records("customers")}
    assert len(gone) == 4

    request = scheduled_request(deployment, instance, "shopify_reconcile_schedule", FOUR_AM)
    result = launch(deployment, instance, "shopify_reconcile", request)

    assert result.success
    assert _deleted_ids(deployment) == gone
    outputs = {
        e.step_key: e.event_specific_data.metadata
        for e in result.all_events
        if e.event_type == DagsterEventType.STEP_OUTPUT and e.step_key and "[" in e.step_key
    }
    assert set(outputs) == {
        f"shopify_reconcile_entity[{entity}]" for entity in ("customers", "orders", "products")
    }
    assert outputs["shopify_reconcile_entity[customers]"]["marked_deleted"].value == 4


def test_a_reconcile_that_looks_like_an_outage_fails_its_step_and_says_why(
    deployment: Deployment, instance: DagsterInstance
) -> None:
    shop = deployment.sandbox.shopify
    deployment.sync("shopify", "customers")
    shop.advance(seconds=60, updated_fraction=0.0, deleted={"customers": 500})

    request = scheduled_request(deployment, instance, "shopify_reconcile_schedule", FOUR_AM)
    result = launch(deployment, instance, "shopify_reconcile", request)

    assert not result.success
    assert run_failure_message(result).startswith("ReconcileRefused: shopify/customers")
    assert "more than the safety threshold of 50%" in run_failure_message(result)
    assert _deleted_ids(deployment) == set()
    # The other entities reconciled on their own.
    assert "shopify_reconcile_entity[products]" in step_events(
        result, DagsterEventType.STEP_SUCCESS
    )


def test_a_person_can_reconcile_one_entity_of_a_connection_from_the_launchpad(
    deployment: Deployment,
) -> None:
    deployment.sync("shopify", "customers")
    deployment.sandbox.shopify.advance(seconds=60, updated_fraction=0.0, deleted={"customers": 2})
    job = deployment.defs.resolve_job_def("shopify_reconcile")
    config = {"ops": {"shopify_reconcile_plan": {"config": {"entities": ["customers"]}}}}

    assert validate_run_config(job, config)
    result = job.execute_in_process(
        run_config=config, instance=deployment.instance, partition_key=SHOP
    )

    assert step_events(result, DagsterEventType.STEP_SUCCESS) == [
        "shopify_reconcile_plan",
        "shopify_reconcile_entity[customers]",
    ]
    assert len(_deleted_ids(deployment)) == 2


def test_a_misspelt_reconcile_config_is_refused_before_the_run(deployment: Deployment) -> None:
    job = deployment.defs.resolve_job_def("shopify_reconcile")

    with pytest.raises(DagsterInvalidConfigError, match="entitys"):
        validate_run_config(
            job, {"ops": {"shopify_reconcile_plan": {"config": {"entitys": ["customers"]}}}}
        )
