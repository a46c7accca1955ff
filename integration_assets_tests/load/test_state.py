"""Sync state: cursors saved in the caller's transaction, reset for full refresh."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integration_assets.load import (
    STATUS_FAILED,
    STATUS_RUNNING,
    STATUS_SUCCESS,
    SyncStateStore,
    Warehouse,
    parse_cursor,
)


def test_unknown_entity_has_no_state(warehouse: Warehouse) -> None:
    assert SyncStateStore(warehouse).get("shop", "customers") is None


def test_save_get_and_keep_cursor(warehouse: Warehouse) -> None:
    store = SyncStateStore(warehouse)
    with warehouse.begin() as conn:
        store.save(
            conn, "shop", "customers", "2024-05-01T12:00:00-04:00", "r1", STATUS_RUNNING, rows=5
        )
    state = store.get("shop", "customers")
    assert state is not None
    assert state.cursor == "2024-05-01T12:00:00-04:00"
    assert state.cursor_at == datetime(2024, 5, 1, 16, 0, tzinfo=UTC)
    assert (state.last_run_id, state.last_status, state.rows_total) == ("r1", STATUS_RUNNING, 5)
    assert state.last_synced_at is None
    with warehouse.begin() as conn:
        store.save(conn, "shop", "customers", None, "r1", STATUS_SUCCESS, rows=2)
    state = store.get("shop", "customers")
    assert state is not None
    assert state.cursor == "2024-05-01T12:00:00-04:00"
    assert (state.last_status, state.rows_total) == (STATUS_SUCCESS, 7)
    assert state.last_synced_at is not None
    synced = state.last_synced_at
    with warehouse.begin() as conn:
        store.save(conn, "shop", "customers", None, "r2", STATUS_FAILED)
    state = store.get("shop", "customers")
    assert state is not None and (state.last_run_id, state.last_synced_at) == ("r2", synced)
    assert store.get("shop", "orders") is None


def test_save_is_rolled_back_with_its_transaction(warehouse: Warehouse) -> None:
    store = SyncStateStore(warehouse)
    with warehouse.begin() as conn:
        store.save(conn, "shop", "customers", "A", "r1", STATUS_RUNNING)
    with pytest.raises(RuntimeError), warehouse.begin() as conn:
        store.save(conn, "shop", "customers", "B", "r2", STATUS_RUNNING)
        raise RuntimeError("load failed")
    state = store.get("shop", "customers")
    assert state is not None and (state.cursor, state.last_run_id) == ("A", "r1")


def test_reset_forgets_the_cursor(warehouse: Warehouse) -> None:
    store = SyncStateStore(warehouse)
    with warehouse.begin() as conn:
        store.save(conn, "shop", "customers", "A", "r1", STATUS_SUCCESS)
        store.save(conn, "shop", "orders", "B", "r1", STATUS_SUCCESS)
    store.reset("shop", "customers")
    customers = store.get("shop", "customers")
    orders = store.get("shop", "orders")
    assert customers is not None and customers.cursor is None and customers.cursor_at is None
    assert customers.last_run_id == "r1"
    assert orders is not None and orders.cursor == "B"


@pytest.mark.parametrize(
    ("cursor", "expected"),
    [
        ("2024-05-01T12:00:00Z", datetime(2024, 5, 1, 12, tzinfo=UTC)),
        ("2024-05-01T12:00:00+02:00", datetime(2024, 5, 1, 10, tzinfo=UTC)),
        ("2024-05-01T12:00:00.123+00:00", datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=UTC)),
        # No offset: an unknown instant, read as no cursor (the next sync reads everything).
        ("2024-05-01T12:00:00.123456", None),
        ("eyJwYWdlIjogMn0=", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_cursor(cursor: str | None, expected: datetime | None) -> None:
    assert parse_cursor(cursor) == expected


def test_a_timestamp_cursor_never_moves_backwards_except_by_reset(warehouse: Warehouse) -> None:
    store = SyncStateStore(warehouse)

    def save(cursor: str | None, run_id: str) -> str | None:
        with warehouse.begin() as conn:
            store.save(conn, "shop", "customers", cursor, run_id, STATUS_SUCCESS)
        state = store.get("shop", "customers")
        assert state is not None and state.last_run_id == run_id
        return state.cursor

    assert save("2024-05-01T12:00:00Z", "r1") == "2024-05-01T12:00:00Z"
    assert save("2024-05-01T11:59:59.900000+00:00", "r2") == "2024-05-01T12:00:00Z"
    assert save("2024-05-01T14:00:01+02:00", "r3") == "2024-05-01T14:00:01+02:00"
    assert save("opaque-token", "r4") == "opaque-token"  # not a timestamp: no order to keep
    store.reset("shop", "customers")
    assert save("2024-01-01T00:00:00Z", "r5") == "2024-01-01T00:00:00Z"
