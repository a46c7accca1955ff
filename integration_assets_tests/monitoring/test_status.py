"""The status model, read from a real warehouse after real syncs of a sandbox shop."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from integration_assets.connectors.connections import Connection
from integration_assets.extract import AuthenticationError
from integration_assets.load.inbox import InboxEvent, ensure_inbox, store_events
from integration_assets.load.lock import writer_lock
from integration_assets.load.state import SyncStateStore
from integration_assets.load.warehouse import Warehouse
from integration_assets.monitoring import read_status
from integration_assets.sandbox import Sandbox
from integration_assets.sync.failure import failure_message
from integration_assets_tests.monitoring.helpers import SHOP, sync


def _by_entity(warehouse: Warehouse, shop: Connection, **kwargs: object) -> dict[str, object]:
    return {row.entity: row for row in read_status(warehouse, [shop], **kwargs)}  # type: ignore[arg-type]


def test_a_synced_entity_is_ok_with_its_speed_and_lag(
    warehouse: Warehouse, shop: Connection
) -> None:
    before = datetime.now(UTC)
    sync(shop, "customers", warehouse, "run-1")

    rows = _by_entity(warehouse, shop)

    customers = rows["customers"]
    assert customers.status == "ok"
    assert customers.last_success_run_id == "run-1"
    assert customers.last_success_at is not None and customers.last_success_at >= before
    assert customers.last_records == 250
    assert customers.records_per_second is not None and customers.records_per_second > 0
    state = SyncStateStore(warehouse).get(SHOP, "customers")
    assert state is not None and state.newest_source_at is not None
    assert customers.lag_seconds is not None and customers.lag_seconds >= 0
    assert customers.last_error is None and customers.running_run_id is None


def test_never_synced_is_late_unless_manual(warehouse: Warehouse, shop: Connection) -> None:
    rows = _by_entity(warehouse, shop)

    assert rows["orders"].status == "late"
    assert rows["orders"].last_success_at is None
    assert rows["products"].status == "ok"  # manual: never late
    assert rows["products"].allowance_seconds is None


def test_a_success_older_than_the_cadence_allows_is_late(
    warehouse: Warehouse, shop: Connection
) -> None:
    sync(shop, "customers", warehouse, "run-1")
    hourly_allowance = timedelta(hours=2)

    on_time = _by_entity(warehouse, shop, now=datetime.now(UTC) + hourly_allowance / 2)
    late = _by_entity(warehouse, shop, now=datetime.now(UTC) + hourly_allowance * 1.5)

    assert on_time["customers"].status == "ok"
    assert late["customers"].status == "late"


def test_a_failed_sync_is_failing_with_its_error_time_and_run(
    warehouse: Warehouse, shop: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    sync(shop, "customers", warehouse, "run-ok")
    monkeypatch.setenv("IA_TEST_SHOP_TOKEN", "shpat_wrong_secret_value")
    with pytest.raises(AuthenticationError):
        sync(shop, "customers", warehouse, "run-bad")

    customers = _by_entity(warehouse, shop)["customers"]

    assert customers.status == "failing"
    assert customers.last_error_run_id == "run-bad"
    assert customers.last_error is not None
    assert customers.last_error.startswith("AuthenticationError: ")
    assert "IA_TEST_SHOP_TOKEN" in customers.last_error
    assert "shpat_wrong_secret_value" not in customers.last_error
    assert customers.last_error_at is not None
    assert customers.last_success_run_id == "run-ok"  # the last success is still shown


def test_a_later_success_clears_failing_and_keeps_the_error_on_record(
    warehouse: Warehouse, shop: Connection, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IA_TEST_SHOP_TOKEN", "wrong")
    with pytest.raises(AuthenticationError):
        sync(shop, "customers", warehouse, "run-bad")
    monkeypatch.setenv("IA_TEST_SHOP_TOKEN", sandbox.shopify.access_token)
    sync(shop, "customers", warehouse, "run-good")

    customers = _by_entity(warehouse, shop)["customers"]

    assert customers.status == "ok"
    assert customers.last_success_run_id == "run-good"
    assert customers.last_error_run_id == "run-bad"


def test_a_load_holding_the_writer_lock_is_running(warehouse: Warehouse, shop: Connection) -> None:
    with writer_lock(warehouse, SHOP, "orders"):
        during = _by_entity(warehouse, shop)
    after = _by_entity(warehouse, shop)

    assert during["orders"].status == "running"
    assert after["orders"].status == "late"


def test_a_running_mark_counts_until_it_is_stale(warehouse: Warehouse, shop: Connection) -> None:
    SyncStateStore(warehouse).mark_started(SHOP, "customers", "run-in-flight")

    now = _by_entity(warehouse, shop)["customers"]
    much_later = _by_entity(warehouse, shop, now=datetime.now(UTC) + timedelta(hours=7))[
        "customers"
    ]

    assert (now.status, now.running_run_id) == ("running", "run-in-flight")
    assert much_later.status == "late"  # a run that died unrecorded does not run forever


def test_inbox_depth_counts_pending_events_per_entity(
    warehouse: Warehouse, shop: Connection
) -> None:
    ensure_inbox(warehouse)
    store_events(
        warehouse,
        [
            InboxEvent(SHOP, "shopify", "customers/update", f"d{i}", b"{}", entity="customers")
            for i in range(3)
        ]
        + [InboxEvent(SHOP, "shopify", "orders/create", "o1", b"{}", entity="orders")],
    )

    rows = _by_entity(warehouse, shop)

    assert (rows["customers"].inbox_depth, rows["orders"].inbox_depth) == (3, 1)
    assert rows["products"].inbox_depth == 0


def test_no_inbox_yet_means_depth_zero(warehouse: Warehouse, shop: Connection) -> None:
    assert {row.inbox_depth for row in read_status(warehouse, [shop])} == {0}


def test_failure_messages_mask_personal_data() -> None:
    message = failure_message(ValueError("customer jane.doe@example.com, phone +1 415 555 0100"))

    assert message == "ValueError: customer <email>, phone <phone>"
