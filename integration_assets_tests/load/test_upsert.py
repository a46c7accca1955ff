"""upsert_batch: the guard, deduplication, child tables, quarantine and the cursor."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from integration_assets.load import (
    BatchError,
    SyncStateStore,
    TableCounts,
    UpsertResult,
    Warehouse,
    bookkeeping,
    build_table,
    ensure_tables,
    upsert_batch,
)
from integration_assets.load.guard import postgres_guard_sql, should_write
from integration_assets.schema import (
    ColumnSchema,
    ColumnType,
    MappedBatch,
    RejectedRecord,
    TableSchema,
)
from integration_assets_tests.load.samples import (
    CUSTOMERS,
    LINE_ITEMS,
    ORDERS,
    customer,
    later,
    line,
    order,
)


def load_customers(
    warehouse: Warehouse, rows: list[dict[str, Any]], run_id: str = "r1", **kwargs: Any
) -> UpsertResult:
    return upsert_batch(
        warehouse,
        [CUSTOMERS],
        MappedBatch(rows={"customers": rows}),
        connection=kwargs.pop("connection", "shop"),
        entity="customers",
        run_id=run_id,
        **kwargs,
    )


def load_orders(
    warehouse: Warehouse,
    orders: list[dict[str, Any]],
    lines: list[dict[str, Any]],
    run_id: str = "r1",
) -> UpsertResult:
    return upsert_batch(
        warehouse,
        [ORDERS, LINE_ITEMS],
        MappedBatch(rows={"orders": orders, "order_line_items": lines}),
        connection="shop",
        entity="orders",
        run_id=run_id,
    )


def stored(warehouse: Warehouse, schema: TableSchema) -> dict[Any, Any]:
    table = build_table(schema)
    with warehouse.read() as conn:
        rows = conn.execute(select(table).order_by(*table.primary_key.columns)).mappings().all()
    return {tuple(row[k] for k in (*schema.primary_key,)): dict(row) for row in rows}


def test_replaying_a_batch_changes_nothing(customers_wh: Warehouse) -> None:
    rows = [customer(1), customer(2)]
    first = load_customers(customers_wh, rows)
    assert first["customers"] == TableCounts(inserted=2)
    before = stored(customers_wh, CUSTOMERS)
    second = load_customers(customers_wh, rows, run_id="r2")
    assert second["customers"] == TableCounts(unchanged=2)
    assert stored(customers_wh, CUSTOMERS) == before  # _run_id and _synced_at untouched


def test_newer_record_updates(customers_wh: Warehouse) -> None:
    load_customers(customers_wh, [customer(1), customer(2)])
    result = load_customers(customers_wh, [customer(1, at=later(5), email="new@x.io")], "r2")
    assert result["customers"] == TableCounts(updated=1)
    row = stored(customers_wh, CUSTOMERS)[(1,)]
    assert (row["email"], row["_run_id"], row["_source_updated_at"]) == ("new@x.io", "r2", later(5))


def test_older_record_never_overwrites(customers_wh: Warehouse) -> None:
    load_customers(customers_wh, [customer(1, at=later(10), email="newest@x.io")])
    result = load_customers(customers_wh, [customer(1, at=later(5), email="stale@x.io")], "r2")
    assert result["customers"] == TableCounts(unchanged=1)
    assert stored(customers_wh, CUSTOMERS)[(1,)]["email"] == "newest@x.io"


def _mark_deleted(warehouse: Warehouse, id: int) -> None:
    table = build_table(CUSTOMERS)
    with warehouse.begin() as conn:
        conn.execute(update(table).where(table.c.id == id).values(_deleted_at=later(1)))


def test_a_deleted_row_written_again_is_cleared_even_when_unchanged(
    customers_wh: Warehouse,
) -> None:
    load_customers(customers_wh, [customer(1), customer(2)])
    _mark_deleted(customers_wh, 1)
    result = load_customers(customers_wh, [customer(1), customer(2)], "r2")
    assert result["customers"] == TableCounts(updated=1, unchanged=1)
    rows = stored(customers_wh, CUSTOMERS)
    assert (rows[(1,)]["_deleted_at"], rows[(1,)]["_run_id"]) == (None, "r2")
    assert rows[(2,)]["_run_id"] == "r1"


def test_a_stale_record_does_not_clear_a_deletion(customers_wh: Warehouse) -> None:
    load_customers(customers_wh, [customer(1, at=later(10))])
    _mark_deleted(customers_wh, 1)
    result = load_customers(customers_wh, [customer(1, at=later(5))], "r2")
    assert result["customers"] == TableCounts(unchanged=1)
    assert stored(customers_wh, CUSTOMERS)[(1,)]["_deleted_at"] == later(1)


def test_same_timestamp_with_new_content_updates(customers_wh: Warehouse) -> None:
    load_customers(customers_wh, [customer(1, email="wrong@x.io")])
    result = load_customers(customers_wh, [customer(1, email="fixed@x.io")], "r2")
    assert result["customers"] == TableCounts(updated=1)
    assert stored(customers_wh, CUSTOMERS)[(1,)]["email"] == "fixed@x.io"


def test_rows_without_source_timestamp_update_on_new_content(warehouse: Warehouse) -> None:
    plain = TableSchema(
        name="tags",
        columns=(
            ColumnSchema("id", ColumnType.STRING, nullable=False),
            ColumnSchema("label", ColumnType.STRING),
        ),
        primary_key=("id",),
    )
    ensure_tables(warehouse, [plain])

    def load(label: str) -> TableCounts:
        batch = MappedBatch(rows={"tags": [{"id": "a", "label": label}]})
        return upsert_batch(
            warehouse, [plain], batch, connection="shop", entity="tags", run_id="r"
        )["tags"]

    assert load("x") == TableCounts(inserted=1)
    assert load("x") == TableCounts(unchanged=1)
    assert load("y") == TableCounts(updated=1)


def test_duplicate_keys_in_a_batch_keep_the_newest(customers_wh: Warehouse) -> None:
    rows = [
        customer(1, at=later(5), email="newest@x.io"),
        customer(1, at=later(1), email="older@x.io"),
        customer(2, email="first@x.io"),
        customer(2, email="tie-later-wins@x.io"),
    ]
    result = load_customers(customers_wh, rows)
    assert result["customers"] == TableCounts(inserted=2, duplicates=2)
    emails = {key: row["email"] for key, row in stored(customers_wh, CUSTOMERS).items()}
    assert emails == {(1,): "newest@x.io", (2,): "tie-later-wins@x.io"}


def test_connections_do_not_share_rows(customers_wh: Warehouse) -> None:
    load_customers(customers_wh, [customer(1, email="a@shop-a")], connection="shop-a")
    result = load_customers(customers_wh, [customer(1, email="b@shop-b")], connection="shop-b")
    assert result["customers"] == TableCounts(inserted=1)
    table = build_table(CUSTOMERS)
    with customers_wh.read() as conn:
        rows = conn.execute(select(table.c._connection, table.c.email).order_by("_connection"))
        assert rows.all() == [("shop-a", "a@shop-a"), ("shop-b", "b@shop-b")]


def line_ids(warehouse: Warehouse) -> dict[int, list[int]]:
    lines: dict[int, list[int]] = {}
    for row in stored(warehouse, LINE_ITEMS).values():
        lines.setdefault(row["order_id"], []).append(row["line_id"])
    return lines


def test_child_rows_are_replaced_with_a_changed_parent(orders_wh: Warehouse) -> None:
    first = load_orders(orders_wh, [order(1), order(2)], [line(1, 10), line(1, 11), line(2, 20)])
    assert first["order_line_items"] == TableCounts(inserted=3)
    result = load_orders(orders_wh, [order(1, at=later(5))], [line(1, 12, sku="NEW")], "r2")
    assert result["orders"] == TableCounts(updated=1)
    assert result["order_line_items"] == TableCounts(inserted=1, deleted=2)
    assert line_ids(orders_wh) == {1: [12], 2: [20]}
    child = stored(orders_wh, LINE_ITEMS)[(12,)]
    assert (child["_source_updated_at"], child["_run_id"]) == (later(5), "r2")


def test_child_rows_of_a_stale_or_unchanged_parent_are_untouched(orders_wh: Warehouse) -> None:
    load_orders(orders_wh, [order(1, at=later(5))], [line(1, 10), line(1, 11)])
    stale = load_orders(orders_wh, [order(1)], [line(1, 99)], "r2")
    assert stale["orders"] == TableCounts(unchanged=1)
    assert stale["order_line_items"] == TableCounts(unchanged=1)
    same = load_orders(orders_wh, [order(1, at=later(5))], [line(1, 10), line(1, 11)], "r3")
    assert same["orders"] == TableCounts(unchanged=1)
    assert same["order_line_items"] == TableCounts(unchanged=2)
    assert line_ids(orders_wh) == {1: [10, 11]}


def test_a_parent_that_lost_all_children_loses_them(orders_wh: Warehouse) -> None:
    load_orders(orders_wh, [order(1)], [line(1, 10)])
    result = load_orders(orders_wh, [order(1, at=later(1))], [], "r2")
    assert result["order_line_items"] == TableCounts(deleted=1)
    assert line_ids(orders_wh) == {}


def test_children_follow_the_kept_parent_version(orders_wh: Warehouse) -> None:
    """Children that say which parent version they came from follow the deduplication."""
    orders = [order(1, at=later(5), total="5.00"), order(1, at=later(1), total="1.00")]
    lines = [
        {**line(1, 10, sku="NEW"), "_source_updated_at": later(5)},
        {**line(1, 11, sku="OLD"), "_source_updated_at": later(1)},
    ]
    result = load_orders(orders_wh, orders, lines)
    assert result["orders"] == TableCounts(inserted=1, duplicates=1)
    assert result["order_line_items"] == TableCounts(inserted=1, duplicates=1)
    assert line_ids(orders_wh) == {1: [10]}


def test_grandchildren_are_replaced_with_their_root(warehouse: Warehouse) -> None:
    taxes = TableSchema(
        name="order_line_taxes",
        columns=(
            ColumnSchema("line_id", ColumnType.INTEGER, nullable=False),
            ColumnSchema("tax_id", ColumnType.STRING, nullable=False),
        ),
        primary_key=("tax_id",),
        parent="order_line_items",
        parent_key=("line_id",),
    )
    family = [ORDERS, LINE_ITEMS, taxes]
    ensure_tables(warehouse, family)

    def load(at_minutes: int, lines: list[int], tax_rows: list[tuple[int, str]], run: str) -> Any:
        batch = MappedBatch(
            rows={
                "orders": [order(1, at=later(at_minutes))],
                "order_line_items": [line(1, n) for n in lines],
                "order_line_taxes": [{"line_id": n, "tax_id": t} for n, t in tax_rows],
            }
        )
        return upsert_batch(
            warehouse, family, batch, connection="shop", entity="orders", run_id=run
        )

    load(0, [10, 11], [(10, "a"), (11, "b")], "r1")
    result = load(1, [12], [(12, "c")], "r2")
    assert result["order_line_taxes"] == TableCounts(inserted=1, deleted=2)
    assert set(stored(warehouse, taxes)) == {("c",)}


def test_orphan_child_rows_are_a_contract_error(orders_wh: Warehouse) -> None:
    with pytest.raises(BatchError, match="not in the batch"):
        load_orders(orders_wh, [order(1)], [line(2, 20)])


def test_rejected_records_are_quarantined(customers_wh: Warehouse) -> None:
    rejected = [
        RejectedRecord(
            record={"id": 9, "email": None, "total_price": "abc"},
            reasons=("email is required", "total_price: 'abc' is not a decimal"),
            record_key="9",
        )
    ]
    batch = MappedBatch(rows={"customers": [customer(1)]}, rejected=rejected)
    result = upsert_batch(
        customers_wh,
        [CUSTOMERS],
        batch,
        connection="shop",
        entity="customers",
        run_id="r1",
    )
    assert result.quarantined == 1
    table = bookkeeping(customers_wh.dialect).quarantine
    with customers_wh.read() as conn:
        row = conn.execute(select(table)).mappings().one()
    assert (row["connection"], row["entity"], row["run_id"], row["record_key"]) == (
        "shop",
        "customers",
        "r1",
        "9",
    )
    assert row["reasons"] == ["email is required", "total_price: 'abc' is not a decimal"]
    assert row["record"] == {"id": 9, "email": None, "total_price": "abc"}
    assert row["resolved_at"] is None and row["quarantined_at"] is not None


def test_cursor_is_saved_with_the_rows(customers_wh: Warehouse) -> None:
    load_customers(customers_wh, [customer(1)], cursor="2024-05-01T12:00:00Z", save_cursor=True)
    state = SyncStateStore(customers_wh).get("shop", "customers")
    assert state is not None
    assert (state.cursor, state.last_run_id, state.rows_total) == ("2024-05-01T12:00:00Z", "r1", 1)


def test_a_failing_batch_leaves_rows_and_cursor_unchanged(customers_wh: Warehouse) -> None:
    load_customers(customers_wh, [customer(1)], cursor="A", save_cursor=True)
    before = stored(customers_wh, CUSTOMERS)
    bad = [customer(1, at=later(5), email="changed@x.io"), customer(2), customer(3, email=None)]
    bad[2]["email"] = None  # violates NOT NULL
    rejected = [RejectedRecord(record={"id": 4}, reasons=("bad",))]
    with pytest.raises(IntegrityError):
        upsert_batch(
            customers_wh,
            [CUSTOMERS],
            MappedBatch(rows={"customers": bad}, rejected=rejected),
            connection="shop",
            entity="customers",
            run_id="r2",
            cursor="B",
            save_cursor=True,
        )
    assert stored(customers_wh, CUSTOMERS) == before
    state = SyncStateStore(customers_wh).get("shop", "customers")
    assert state is not None and (state.cursor, state.last_run_id) == ("A", "r1")
    with customers_wh.read() as conn:
        assert conn.execute(select(bookkeeping(customers_wh.dialect).quarantine)).all() == []


def test_a_process_killed_before_commit_leaves_the_old_state(
    warehouse_url: str, customers_wh: Warehouse
) -> None:
    """Kill the process at the last moment (everything written, commit pending)."""
    load_customers(customers_wh, [customer(1)], cursor="A", save_cursor=True)
    script = textwrap.dedent(
        f"""
        import os
        from sqlalchemy import event
        from integration_assets.load import Warehouse, upsert_batch
        from integration_assets.schema import MappedBatch
        from integration_assets_tests.load.samples import CUSTOMERS, customer, later

        warehouse = Warehouse.from_url({warehouse_url!r})
        event.listen(warehouse.engine, "commit", lambda conn: os._exit(17))
        batch = MappedBatch(rows={{"customers": [customer(1, at=later(5)), customer(2)]}})
        upsert_batch(warehouse, [CUSTOMERS], batch, connection="shop", entity="customers",
                     run_id="killed", cursor="B", save_cursor=True)
        """
    )
    process = subprocess.run([sys.executable, "-c", script], capture_output=True, check=False)
    assert process.returncode == 17, process.stderr.decode()
    assert set(stored(customers_wh, CUSTOMERS)) == {(1,)}
    assert stored(customers_wh, CUSTOMERS)[(1,)]["_run_id"] == "r1"
    state = SyncStateStore(customers_wh).get("shop", "customers")
    assert state is not None and state.cursor == "A"


def test_results_add_up_across_batches() -> None:
    a = UpsertResult({"t": TableCounts(inserted=2, unchanged=1)}, quarantined=1)
    b = UpsertResult({"t": TableCounts(updated=3), "c": TableCounts(deleted=4)}, quarantined=2)
    total = a + b
    assert total["t"] == TableCounts(inserted=2, updated=3, unchanged=1)
    assert total["c"] == TableCounts(deleted=4)
    assert (total.quarantined, total.inserted, total.updated) == (3, 2, 3)
    assert total["missing"] == TableCounts()


def test_loosely_typed_values_still_load(
    customers_wh: Warehouse, caplog: pytest.LogCaptureFixture
) -> None:
    """A float for a decimal or an int for a string is converted, as a database would."""
    row = customer(1, total_spent=2.5, email=12345, score=3)
    result = load_customers(customers_wh, [row])
    assert result["customers"] == TableCounts(inserted=1)
    if customers_wh.dialect == "postgresql":
        assert "text COPY" in caplog.text  # the binary COPY refused them
    stored_row = stored(customers_wh, CUSTOMERS)[(1,)]
    assert (stored_row["total_spent"], stored_row["email"], stored_row["score"]) == (
        Decimal("2.5"),
        "12345",
        3.0,
    )


NULLABLE_GUARD = TableSchema(
    name="notes",
    columns=(
        ColumnSchema("id", ColumnType.STRING, nullable=False),
        ColumnSchema("body", ColumnType.STRING),
        ColumnSchema("updated_at", ColumnType.DATETIME),
    ),
    primary_key=("id",),
    source_updated_at="updated_at",
)

# (stored timestamp, incoming timestamp, same content?) -> does the incoming row overwrite?
GUARD_CASES = [
    (later(0), later(1), False, True),
    (later(1), later(0), False, False),
    (later(0), later(0), False, True),
    (later(0), later(0), True, False),
    (later(0), None, False, False),  # a missing timestamp never overwrites a known one
    (None, later(0), False, True),
    (None, None, False, True),
    (None, None, True, False),
]


@pytest.mark.parametrize(("stored_at", "incoming_at", "same", "writes"), GUARD_CASES)
def test_the_guard_rule_on_both_backends(
    warehouse: Warehouse, stored_at: Any, incoming_at: Any, same: bool, writes: bool
) -> None:
    ensure_tables(warehouse, [NULLABLE_GUARD])

    def load(body: str, at: Any, run_id: str) -> TableCounts:
        batch = MappedBatch(rows={"notes": [{"id": "n", "body": body, "updated_at": at}]})
        return upsert_batch(
            warehouse, [NULLABLE_GUARD], batch, connection="shop", entity="notes", run_id=run_id
        )["notes"]

    load("stored", stored_at, "r1")
    result = load("stored" if same else "incoming", incoming_at, "r2")
    assert result == (TableCounts(updated=1) if writes else TableCounts(unchanged=1))
    (row,) = stored(warehouse, NULLABLE_GUARD).values()
    kept = incoming_at if writes else stored_at
    assert (row["_run_id"], row["_source_updated_at"]) == ("r2" if writes else "r1", kept)


@pytest.mark.parametrize(("stored_at", "incoming_at", "same", "writes"), GUARD_CASES)
def test_the_postgres_guard_sql_agrees_with_should_write(
    postgres_url: str, stored_at: Any, incoming_at: Any, same: bool, writes: bool
) -> None:
    """The SQL guard on its own (the SQLite path decides in Python before writing)."""
    import psycopg

    assert should_write(incoming_at, "h2" if not same else "h1", stored_at, "h1") is writes
    sql = postgres_guard_sql("t", lambda name: f'"{name}"')
    with psycopg.connect(postgres_url) as conn:
        value = conn.execute(
            "SELECT " + sql + ' FROM (SELECT %s::timestamptz AS "_source_updated_at", '
            '%s AS "_row_hash", NULL::timestamptz AS "_deleted_at") AS t, '
            '(SELECT %s::timestamptz AS "_source_updated_at", '
            '%s AS "_row_hash") AS "excluded"',
            (stored_at, "h1", incoming_at, "h1" if same else "h2"),
        ).fetchone()[0]
    assert (value is True) is writes  # NULL in ON CONFLICT … WHERE means no update
