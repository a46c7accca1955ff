"""Webhooks become warehouse rows: the sandbox vendors send signed deliveries to a real
console, the sensor turns the inbox into runs, and the runs write what a poll would."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from dagster import AssetKey, DagsterRunStatus
from dagster._core.test_utils import create_run_for_test
from sqlalchemy import select

from integration_assets.load.inbox import inbox_table, mark_processed, pending_events
from integration_assets.load.lock import writer_lock
from integration_assets.load.state import SyncStateStore
from integration_assets.mapping.compiler import compile_mapping
from integration_assets.mapping.loader import load_mapping
from integration_assets.orchestration.failures import run_failure_message
from integration_assets.orchestration.webhook_sensor import (
    ATTEMPT_TAG,
    RANGE_TAG,
    SOURCE_TAG,
    SensorCursor,
)
from integration_assets.sandbox import Sandbox, run_sandbox
from integration_assets_tests.orchestration.harness import MAPPINGS, fast_settings
from integration_assets_tests.orchestration.webhook_live import SHOP, Live, live_webhooks

SIZES = {"customers": 80, "orders": 60, "products": 20, "profiles": 40, "events": 60}


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with run_sandbox(seed=23, sizes=SIZES, rate_limits=False) as running:
        yield running


@pytest.fixture
def live(
    tmp_path: Path, sandbox: Sandbox, warehouse_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Live]:
    settings = fast_settings(lock_timeout_seconds=0.5)
    with live_webhooks(tmp_path, sandbox, warehouse_url, monkeypatch, settings) as running:
        yield running


def _record(live: Live, entity: str, vendor_id: Any) -> dict[str, Any]:
    return next(r for r in live.sandbox.shopify.records(entity) if r["id"] == vendor_id)


def _content(row: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    return {column: row[column] for column in expected}


def test_a_signed_webhook_reaches_the_inbox_and_becomes_exactly_one_run(live: Live) -> None:
    shop = live.sandbox.shopify
    report = shop.advance(seconds=60, updated_fraction=0.0, created={"customers": 1})
    live.delivered()
    assert live.pending() == {(SHOP, "customers"): 1}

    (request,) = live.evaluate()
    assert live.evaluate() == [], "a second evaluation asked for the same events again"

    assert request.partition_key == SHOP
    assert request.asset_selection == [AssetKey(["shopify", "customers"])]
    assert request.tags[SOURCE_TAG] == "webhook"
    assert request.tags["integration/connection"] == SHOP
    assert (request.run_key or "").startswith(f"webhooks:{SHOP}:customers:")
    result = live.launch(request)
    assert result.success, run_failure_message(result)

    new_id = shop.vendor_id("customers", report.created["customers"][0])
    expected = live.expected("shopify", "customers", [_record(live, "customers", new_id)])
    rows = live.rows("shopify", "customers")
    assert _content(rows[(new_id,)], expected[(new_id,)]) == expected[(new_id,)]
    assert live.pending() == {}
    assert live.evaluate() == []
    # The status page reads sync state: the realtime entity is fresh, its poll cursor unset.
    state = SyncStateStore(live.warehouse).get(SHOP, "customers")
    assert state is not None and state.cursor is None
    assert (state.last_success_run_id, state.last_records) == (result.run_id, 1)


def test_a_webhook_row_is_the_row_a_graphql_poll_writes_and_the_cursor_stays(live: Live) -> None:
    for entity in ("customers", "orders"):
        live.poll("shopify", entity)
    cursors = {e: live.cursor_of("shopify", e) for e in ("customers", "orders")}
    before = live.rows("shopify", "customers")
    shop = live.sandbox.shopify
    report = shop.advance(seconds=120, updated_fraction=0.1)
    live.delivered()

    results = live.run_pending()
    assert results and all(r.success for r in results), [run_failure_message(r) for r in results]

    changed = [shop.vendor_id("customers", i) for i in report.updated["customers"]]
    assert changed, "the sandbox changed no customer: the comparison would prove nothing"
    by_webhook = {
        "customers": live.rows("shopify", "customers"),
        "orders": live.rows("shopify", "orders"),
        "order_lines": live.rows("shopify", "orders", 1),
    }
    for vendor_id in changed:
        assert by_webhook["customers"][(vendor_id,)] != before[(vendor_id,)]
    # The webhook run does not move the poll cursor (it is the vendor walk's watermark).
    assert {e: live.cursor_of("shopify", e) for e in cursors} == cursors

    for entity in ("customers", "orders"):
        polled = live.poll("shopify", entity)
        (event,) = polled.asset_materializations_for_node(f"shopify__{entity}")
        assert event.metadata["records_updated"].value == 0, f"{entity}: rows differ"
        assert event.metadata["source"].value == "poll"
    assert live.rows("shopify", "customers") == by_webhook["customers"]
    assert live.rows("shopify", "orders") == by_webhook["orders"]
    assert live.rows("shopify", "orders", 1) == by_webhook["order_lines"]


def test_a_burst_of_a_thousand_webhooks_is_one_run_that_loads_every_record(
    live: Live,
) -> None:
    shop = live.sandbox.shopify
    # Products: their payloads are whole (customers' are not, and are re-read by id: slower).
    report = shop.advance(seconds=600, updated_fraction=0.0, created={"products": 1000})
    live.delivered()
    assert live.pending() == {(SHOP, "products"): 1000}

    (request,) = live.evaluate()
    assert live.launch(request).success

    created = {shop.vendor_id("products", i) for i in report.created["products"]}
    assert len(created) == 1000
    assert created <= {key[0] for key in live.rows("shopify", "products")}
    assert live.pending() == {}
    assert live.evaluate() == []


def test_evaluating_while_a_burst_arrives_skips_nothing_and_launches_nothing_twice(
    live: Live,
) -> None:
    shop = live.sandbox.shopify
    report = shop.advance(seconds=600, updated_fraction=0.0, created={"products": 1000})
    sender = shop.webhook_sender
    assert sender is not None
    launched = []
    # Evaluate while deliveries are still arriving, as the daemon would every few seconds.
    while not sender.wait_idle(timeout=0.1):
        launched += [(request, live.launch(request)) for request in live.evaluate()]
    live.delivered()
    launched += [(request, live.launch(request)) for request in live.evaluate()]

    assert launched and all(result.success for _, result in launched)
    ranges = sorted(
        tuple(int(n) for n in request.tags[RANGE_TAG].split("-")) for request, _ in launched
    )
    for (_, end), (start, _) in pairwise(ranges):
        assert end < start, f"two runs took the same inbox ids: {ranges}"
    created = {shop.vendor_id("products", i) for i in report.created["products"]}
    assert created <= {key[0] for key in live.rows("shopify", "products")}
    assert live.pending() == {}
    assert live.evaluate() == []


def test_delete_webhooks_mark_the_rows_and_their_line_items_deleted(live: Live) -> None:
    live.poll("shopify", "orders")
    present = {key[0] for key in live.rows("shopify", "orders")}
    shop = live.sandbox.shopify
    report = shop.advance(seconds=60, updated_fraction=0.0, deleted={"orders": 3})
    live.delivered()
    gone = {shop.vendor_id("orders", i) for i in report.deleted["orders"]} & present
    assert gone, "none of the deleted orders had been synced: nothing to check"

    results = live.run_pending()
    assert [r.success for r in results] == [True]

    orders = live.rows("shopify", "orders")
    assert {key[0] for key, row in orders.items() if row["_deleted_at"]} == gone
    lines = compile_mapping(load_mapping("shopify", "orders", mappings_dir=MAPPINGS, api="rest"))
    parent_column = lines.tables[1].parent_key[0]
    for row in live.rows("shopify", "orders", 1).values():
        assert (row["_deleted_at"] is not None) == (row[parent_column] in gone)


def _a_customer_with_orders(live: Live) -> tuple[int, int]:
    """(customer index, vendor id) of a synced customer that has synced orders."""
    shop = live.sandbox.shopify
    customers = {key[0] for key in live.rows("shopify", "customers")}
    ids = {shop.vendor_id("customers", i): i for i in range(SIZES["customers"])}
    for row in live.rows("shopify", "orders").values():
        if row["customer_id"] in customers and row["customer_id"] in ids:
            return ids[row["customer_id"]], row["customer_id"]
    raise AssertionError("no synced order names a synced customer")


def test_customers_redact_removes_the_person_and_their_orders_personal_fields(
    live: Live,
) -> None:
    for entity in ("customers", "orders"):
        live.poll("shopify", entity)
    index, customer_id = _a_customer_with_orders(live)
    theirs = {
        k for k, row in live.rows("shopify", "orders").items() if row["customer_id"] == customer_id
    }
    live.sandbox.shopify.request_redaction(index)
    live.delivered()

    (request,) = live.evaluate()
    assert request.asset_selection == [AssetKey(["shopify", "customers"])]
    assert live.launch(request).success

    assert (customer_id,) not in live.rows("shopify", "customers")
    orders = live.rows("shopify", "orders")
    assert not [row for row in orders.values() if row["customer_id"] == customer_id]
    for key in theirs:  # the orders stay, with their amounts, naming nobody
        row = orders[key]
        assert row["customer_id"] is None and row["email"] is None and row["phone"] is None
        assert row["total_price"] is not None
    assert live.pending() == {}
    # The redaction request carried their email; the inbox keeps the delivery, not the email.
    email = _record(live, "customers", customer_id)["email"].encode()
    assert email and not [b for b in _bodies(live) if email in b]


def test_shop_redact_removes_every_customer_of_the_shop(live: Live) -> None:
    for entity in ("customers", "orders"):
        live.poll("shopify", entity)
    assert live.rows("shopify", "customers")
    live.sandbox.shopify.request_redaction()
    live.delivered()

    results = live.run_pending()
    assert [r.success for r in results] == [True]

    assert live.rows("shopify", "customers") == {}
    orders = live.rows("shopify", "orders")
    assert orders and all(row["customer_id"] is None for row in orders.values())
    assert all(row["email"] is None and row["phone"] is None for row in orders.values())
    assert all(row["total_price"] is not None for row in orders.values())


def test_klaviyo_event_webhooks_load_the_events_their_batches_carry(live: Live) -> None:
    klaviyo = live.sandbox.klaviyo
    report = klaviyo.advance(seconds=60, updated_fraction=0.0, created={"events": 150})
    live.delivered()

    (request,) = live.evaluate()
    assert request.asset_selection == [AssetKey(["klaviyo", "events"])]
    assert live.launch(request).success

    created = {klaviyo.vendor_id("events", i) for i in report.created["events"]}
    records = [r for r in klaviyo.records("events") if r["id"] in created]
    expected = live.expected("klaviyo", "events", records)
    rows = live.rows("klaviyo", "events")
    assert len(expected) == 150
    for key, row in expected.items():
        assert _content(rows[key], row) == row


def test_a_failed_run_leaves_its_events_pending_and_the_next_evaluation_retries_them(
    live: Live,
) -> None:
    shop = live.sandbox.shopify
    report = shop.advance(seconds=60, updated_fraction=0.0, created={"customers": 5})
    live.delivered()
    (request,) = live.evaluate()
    with writer_lock(live.warehouse, SHOP, "customers", timeout=timedelta(seconds=1)):
        failed = live.launch(request)  # another load holds the entity: this one gives up
    assert not failed.success
    assert "SyncBusyError" in run_failure_message(failed)
    assert live.pending() == {(SHOP, "customers"): 5}

    (retry,) = live.evaluate()
    assert retry.run_key != request.run_key
    assert retry.tags[ATTEMPT_TAG] == "2"
    assert live.launch(retry).success
    assert live.evaluate() == []

    rows = live.rows("shopify", "customers")
    created = {shop.vendor_id("customers", i) for i in report.created["customers"]}
    assert created <= {key[0] for key in rows}
    assert len(rows) == len({key[0] for key in rows})
    assert live.pending() == {}


def _inbox_ids(live: Live) -> list[int]:
    return [event.id for event in pending_events(live.warehouse, limit=100_000)]


def test_while_a_webhook_run_waits_in_the_queue_new_events_wait_for_one_wider_run(
    live: Live,
) -> None:
    shop = live.sandbox.shopify
    created = list(
        shop.advance(seconds=60, updated_fraction=0.0, created={"customers": 2}).created[
            "customers"
        ]
    )
    live.delivered()
    (first,) = live.evaluate()
    # The daemon created it and it waits behind another run of the connection (a queued run
    # needs a code location's origin, which an in-process instance has not: not started).
    queued = create_run_for_test(
        live.instance,
        job_name=first.job_name,
        status=DagsterRunStatus.NOT_STARTED,
        tags=first.tags,
    )
    first_ids = set(_inbox_ids(live))

    for _ in range(2):  # changes keep coming while it waits: no run is queued behind it
        created += shop.advance(seconds=60, updated_fraction=0.0, created={"customers": 3}).created[
            "customers"
        ]
        live.delivered()
        assert live.evaluate() == []
    later_ids = sorted(set(_inbox_ids(live)) - first_ids)
    assert len(later_ids) == 6

    # The queue hands the waiting run to a worker (here: executed in process).
    live.instance.delete_run(queued.run_id)
    assert live.launch(first).success
    (wider,) = live.evaluate()
    assert wider.tags[RANGE_TAG] == f"{later_ids[0]}-{later_ids[-1]}"
    assert wider.run_config["execution"] == {"config": {"in_process": {}}}
    assert live.launch(wider).success

    rows = {key[0] for key in live.rows("shopify", "customers")}
    assert {shop.vendor_id("customers", i) for i in created} <= rows
    assert live.pending() == {}
    assert live.evaluate() == []


def _bodies(live: Live) -> list[bytes]:
    """Every stored webhook body of the shop."""
    table = inbox_table(live.warehouse.dialect)
    with live.warehouse.read() as conn:
        found = conn.execute(select(table.c.body).where(table.c.connection == SHOP))
        return [bytes(body) for (body,) in found]


def _stored(live: Live) -> dict[int, str]:
    """Every inbox row of the shop, by id, with its status."""
    table = inbox_table(live.warehouse.dialect)
    query = select(table.c.id, table.c.status).where(table.c.connection == SHOP)
    with live.warehouse.read() as conn:
        return {row.id: row.status for row in conn.execute(query)}


def test_the_sensor_prunes_processed_inbox_events_past_retention_at_most_hourly(
    live: Live,
) -> None:
    shop = live.sandbox.shopify
    shop.advance(seconds=60, updated_fraction=0.0, created={"customers": 4})
    live.delivered()
    old, recent, later, waiting = _inbox_ids(live)
    long_ago = datetime.now(UTC) - timedelta(days=8)  # the retention is 7 days by default
    mark_processed(live.warehouse, [old], now=long_ago)
    mark_processed(live.warehouse, [recent])
    live.cursor = str(waiting)  # the older cursor format: only pruning is under test here

    assert live.evaluate() == []
    assert _stored(live) == {recent: "processed", later: "pending", waiting: "pending"}

    mark_processed(live.warehouse, [later], now=long_ago)
    live.evaluate()  # within the hour: no second pruning pass
    assert set(_stored(live)) == {recent, later, waiting}

    state = SensorCursor.parse(live.cursor)
    assert state.pruned_at is not None
    live.cursor = replace(state, pruned_at=state.pruned_at - timedelta(hours=1)).dump()
    live.evaluate()  # an hour later
    # Pending events are never pruned, however old.
    assert _stored(live) == {recent: "processed", waiting: "pending"}


def test_a_webhook_run_reports_its_gate_and_dimensions_and_claims_no_anomaly_or_drift(
    live: Live,
) -> None:
    """A realtime entity's checks show its webhook runs' gate, not "skipped" after each one;
    a few events are no sample, so anomaly and drift are left unexecuted for that run."""
    live.sandbox.klaviyo.advance(seconds=60, updated_fraction=0.0, created={"events": 20})
    live.delivered()
    (request,) = live.evaluate()

    result = live.launch(request)

    assert result.success, run_failure_message(result)
    evaluations = {e.asset_check_key.name: e for e in result.get_asset_check_evaluations()}
    assert set(evaluations) == {"quality", "completeness", "validity", "consistency", "accuracy"}
    assert all(evaluation.passed for evaluation in evaluations.values())
    assert evaluations["quality"].metadata["records"].value == 20
