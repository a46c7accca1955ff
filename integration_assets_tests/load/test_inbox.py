"""The webhook inbox API the sensor will read: pending past a cursor, mark processed, depth."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from integration_assets.load.inbox import (
    InboxEvent,
    ensure_inbox,
    inbox_depth,
    mark_processed,
    pending_events,
    prune_processed,
    store_events,
)
from integration_assets.load.warehouse import Warehouse


@pytest.fixture
def warehouse(warehouse_url: str) -> Iterator[Warehouse]:
    opened = Warehouse.from_url(warehouse_url)
    ensure_inbox(opened)
    yield opened
    opened.dispose()


def _event(delivery_id: str, connection: str = "shop", entity: str | None = "orders") -> InboxEvent:
    return InboxEvent(
        connection=connection,
        vendor="shopify",
        topic="orders/updated",
        delivery_id=delivery_id,
        body=b'{"id": 1}',
        entity=entity,
        kind="upsert",
    )


def test_storing_returns_only_the_new_deliveries_and_keeps_one_row_each(
    warehouse: Warehouse,
) -> None:
    assert store_events(warehouse, [_event("a"), _event("b")]) == {("shop", "a"), ("shop", "b")}
    assert store_events(warehouse, [_event("b"), _event("c")]) == {("shop", "c")}
    # The same delivery id on another connection is another delivery.
    assert store_events(warehouse, [_event("a", connection="other")]) == {("other", "a")}

    assert [(e.connection, e.delivery_id) for e in pending_events(warehouse)] == [
        ("shop", "a"),
        ("shop", "b"),
        ("shop", "c"),
        ("other", "a"),
    ]


def test_a_reader_resumes_after_the_last_id_it_handled(warehouse: Warehouse) -> None:
    store_events(warehouse, [_event(str(n)) for n in range(5)])
    first = pending_events(warehouse, limit=2)

    rest = pending_events(warehouse, after_id=first[-1].id)

    assert [e.delivery_id for e in first] == ["0", "1"]
    assert [e.delivery_id for e in rest] == ["2", "3", "4"]
    assert pending_events(warehouse, connection="elsewhere") == []


def test_processed_events_leave_the_pending_list_and_the_depth(warehouse: Warehouse) -> None:
    store_events(warehouse, [_event("a"), _event("b"), _event("c", entity="customers")])
    [a, b, c] = pending_events(warehouse)

    assert mark_processed(warehouse, [a.id, b.id]) == 2
    assert mark_processed(warehouse, [a.id]) == 0

    [left] = pending_events(warehouse)
    assert left.id == c.id and left.status == "pending" and left.processed_at is None
    assert inbox_depth(warehouse) == {("shop", "customers"): 1}


def test_the_depth_counts_pending_events_per_connection_and_entity(warehouse: Warehouse) -> None:
    store_events(
        warehouse,
        [_event("a"), _event("b"), _event("c", entity=None), _event("d", connection="other")],
    )

    assert inbox_depth(warehouse) == {
        ("shop", "orders"): 2,
        ("shop", None): 1,
        ("other", "orders"): 1,
    }


def test_pruning_deletes_old_processed_events_and_never_pending_ones(warehouse: Warehouse) -> None:
    from datetime import UTC, datetime, timedelta

    long_ago = datetime(2026, 1, 1, tzinfo=UTC)
    store_events(warehouse, [_event("old"), _event("recent"), _event("pending")], now=long_ago)
    [old, recent, _] = pending_events(warehouse)
    mark_processed(warehouse, [old.id], now=long_ago)
    mark_processed(warehouse, [recent.id])

    assert prune_processed(warehouse, timedelta(days=30)) == 1

    assert [e.delivery_id for e in pending_events(warehouse)] == ["pending"]
    assert inbox_depth(warehouse) == {("shop", "orders"): 1}
