"""Warehouse tables from TableSchemas: columns, keys, types, additions and drift."""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import inspect, select, text

from integration_assets.load import (
    METADATA_COLUMNS,
    NaiveDatetimeError,
    SchemaDriftError,
    TableSchemaError,
    Warehouse,
    build_table,
    ensure_bookkeeping,
    ensure_tables,
    upsert_batch,
)
from integration_assets.schema import ColumnSchema, ColumnType, MappedBatch, TableSchema
from integration_assets_tests.load.samples import CUSTOMERS, LINE_ITEMS, ORDERS, customer


def test_tables_have_mapped_and_metadata_columns(warehouse: Warehouse) -> None:
    changes = ensure_tables(warehouse, [CUSTOMERS, ORDERS, LINE_ITEMS])
    assert changes.created == ["customers", "orders", "order_line_items"]
    with warehouse.read() as conn:
        inspector = inspect(conn)
        columns = [column["name"] for column in inspector.get_columns("customers")]
        assert columns == [
            "_connection",
            *(column.name for column in CUSTOMERS.columns),
            *METADATA_COLUMNS[1:],
        ]
        assert inspector.get_pk_constraint("customers")["constrained_columns"] == [
            "_connection",
            "id",
        ]
        child_columns = [column["name"] for column in inspector.get_columns("order_line_items")]
        assert "_source_updated_at" in child_columns
        assert inspector.get_pk_constraint("order_line_items")["constrained_columns"] == [
            "_connection",
            "line_id",
        ]
        indexes = inspector.get_indexes("order_line_items")
        assert [index["column_names"] for index in indexes] == [["_connection", "order_id"]]


def test_ensure_tables_is_idempotent(warehouse: Warehouse) -> None:
    ensure_tables(warehouse, [CUSTOMERS])
    changes = ensure_tables(warehouse, [CUSTOMERS])
    assert not changes.changed


def test_a_column_the_mapping_gained_is_added(warehouse: Warehouse) -> None:
    ensure_tables(warehouse, [CUSTOMERS])
    upsert_batch(
        warehouse,
        [CUSTOMERS],
        MappedBatch(rows={"customers": [customer(1)]}),
        connection="shop",
        entity="customers",
        run_id="r1",
    )
    wider = dataclasses.replace(
        CUSTOMERS,
        columns=(*CUSTOMERS.columns, ColumnSchema("phone", ColumnType.STRING, nullable=False)),
    )
    changes = ensure_tables(warehouse, [wider])
    assert changes.added_columns == {"customers": ["phone"]}
    upsert_batch(
        warehouse,
        [wider],
        MappedBatch(rows={"customers": [customer(2, phone="+33 1 23 45 67 89")]}),
        connection="shop",
        entity="customers",
        run_id="r2",
    )
    table = build_table(wider)
    with warehouse.read() as conn:
        phones = dict(conn.execute(select(table.c.id, table.c.phone)).all())
    assert phones == {1: None, 2: "+33 1 23 45 67 89"}
    assert not ensure_tables(warehouse, [wider]).changed


def test_a_table_from_before_soft_deletes_gains_the_deleted_at_column(
    warehouse: Warehouse,
) -> None:
    ensure_tables(warehouse, [CUSTOMERS])
    load = dict(connection="shop", entity="customers")
    upsert_batch(
        warehouse, [CUSTOMERS], MappedBatch(rows={"customers": [customer(1)]}), run_id="r1", **load
    )
    with warehouse.begin() as conn:
        conn.execute(text("ALTER TABLE customers DROP COLUMN _deleted_at"))

    assert ensure_tables(warehouse, [CUSTOMERS]).added_columns == {"customers": ["_deleted_at"]}
    upsert_batch(
        warehouse, [CUSTOMERS], MappedBatch(rows={"customers": [customer(2)]}), run_id="r2", **load
    )
    table = build_table(CUSTOMERS)
    with warehouse.read() as conn:
        rows = dict(conn.execute(select(table.c.id, table.c._deleted_at)).all())
    assert rows == {1: None, 2: None}


def test_type_change_is_detected(warehouse: Warehouse) -> None:
    ensure_tables(warehouse, [CUSTOMERS])
    changed = dataclasses.replace(
        CUSTOMERS,
        columns=tuple(
            ColumnSchema(c.name, ColumnType.DATETIME) if c.name == "total_spent" else c
            for c in CUSTOMERS.columns
        ),
    )
    with pytest.raises(SchemaDriftError, match="total_spent"):
        ensure_tables(warehouse, [changed])


def test_dropped_column_is_detected(warehouse: Warehouse) -> None:
    ensure_tables(warehouse, [CUSTOMERS])
    narrower = dataclasses.replace(
        CUSTOMERS, columns=tuple(c for c in CUSTOMERS.columns if c.name != "score")
    )
    with pytest.raises(SchemaDriftError, match="score"):
        ensure_tables(warehouse, [narrower])


def test_a_not_null_column_the_mappings_now_leave_empty_is_relaxed_or_explained(
    warehouse: Warehouse,
) -> None:
    """An override that removes a required field: Postgres drops NOT NULL, SQLite (which
    cannot) says what to do instead of failing later on a NULL."""
    ensure_tables(warehouse, [CUSTOMERS])
    optional_email = dataclasses.replace(
        CUSTOMERS,
        columns=tuple(
            dataclasses.replace(c, nullable=True) if c.name == "email" else c
            for c in CUSTOMERS.columns
        ),
    )
    if warehouse.dialect == "sqlite":
        with pytest.raises(SchemaDriftError, match=r"'email'.*cannot drop NOT NULL"):
            ensure_tables(warehouse, [optional_email])
        return
    changes = ensure_tables(warehouse, [optional_email])
    assert changes.relaxed_columns == {"customers": ["email"]}
    upsert_batch(
        warehouse,
        [optional_email],
        MappedBatch(rows={"customers": [{**customer(1), "email": None}]}),
        connection="shop",
        entity="customers",
        run_id="r1",
    )
    assert not ensure_tables(warehouse, [optional_email]).changed


def test_key_change_is_detected(warehouse: Warehouse) -> None:
    ensure_tables(warehouse, [CUSTOMERS])
    with pytest.raises(SchemaDriftError, match="primary key"):
        ensure_tables(warehouse, [dataclasses.replace(CUSTOMERS, primary_key=("id", "email"))])


@pytest.mark.parametrize(
    "schema",
    [
        dataclasses.replace(CUSTOMERS, name="Customers"),
        dataclasses.replace(CUSTOMERS, name='x"; drop table customers; --'),
        dataclasses.replace(
            CUSTOMERS, columns=(*CUSTOMERS.columns, ColumnSchema("_row_hash", ColumnType.STRING))
        ),
        dataclasses.replace(CUSTOMERS, primary_key=("nope",)),
        dataclasses.replace(CUSTOMERS, source_updated_at="email"),
        LINE_ITEMS,  # its parent is missing
    ],
)
def test_invalid_schemas_are_refused(warehouse: Warehouse, schema: TableSchema) -> None:
    with pytest.raises(TableSchemaError):
        ensure_tables(warehouse, [schema])


def test_reserved_words_are_quoted(warehouse: Warehouse) -> None:
    schema = TableSchema(
        name="order",
        columns=(
            ColumnSchema("select", ColumnType.INTEGER, nullable=False),
            ColumnSchema("from", ColumnType.STRING),
        ),
        primary_key=("select",),
    )
    ensure_tables(warehouse, [schema])
    result = upsert_batch(
        warehouse,
        [schema],
        MappedBatch(rows={"order": [{"select": 1, "from": "x"}]}),
        connection="shop",
        entity="order",
        run_id="r1",
    )
    assert result["order"].inserted == 1


def test_values_round_trip_exactly(customers_wh: Warehouse) -> None:
    paris = timezone(timedelta(hours=2))
    tricky = [
        customer(
            1,
            total_spent=Decimal("12345678901234567890.123456789"),
            updated_at=datetime(2024, 5, 1, 14, 0, 0, 123456, tzinfo=paris),
            tags=[1.0, "x", None, {"nested": [True]}],
            birthday=date(2000, 2, 29),
            score=0.1,
            verified=False,
        ),
        customer(2, total_spent=Decimal("1.10"), tags=1.5, score=None, verified=None),
        customer(3, total_spent=Decimal("-0.000001"), tags=None, birthday=None),
        customer(4, total_spent=None, tags="just a string"),
    ]
    upsert_batch(
        customers_wh,
        [CUSTOMERS],
        MappedBatch(rows={"customers": tricky}),
        connection="shop",
        entity="customers",
        run_id="r1",
    )
    table = build_table(CUSTOMERS)
    with customers_wh.read() as conn:
        stored = {row.id: row for row in conn.execute(select(table))}
    first = stored[1]
    assert first.total_spent == Decimal("12345678901234567890.123456789")
    assert first.updated_at == datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)
    assert first.updated_at.utcoffset() == timedelta(0)
    assert first._source_updated_at == first.updated_at
    assert first.tags == [1.0, "x", None, {"nested": [True]}]
    assert (first.birthday, first.score, first.verified) == (date(2000, 2, 29), 0.1, False)
    assert str(stored[2].total_spent) == "1.10"
    assert stored[2].tags == 1.5
    assert stored[2].verified is None
    assert stored[3].total_spent == Decimal("-0.000001")
    assert stored[3].tags is None
    assert stored[4].tags == "just a string"
    assert stored[4].total_spent is None
    assert stored[1]._synced_at.tzinfo is not None


def test_naive_datetimes_are_refused(customers_wh: Warehouse) -> None:
    with pytest.raises(NaiveDatetimeError):
        upsert_batch(
            customers_wh,
            [CUSTOMERS],
            MappedBatch(rows={"customers": [customer(1, at=datetime(2024, 1, 1))]}),
            connection="shop",
            entity="customers",
            run_id="r1",
        )


def test_concurrent_ensure_from_two_processes_worth_of_engines(warehouse_url: str) -> None:
    """Two engines (as two processes would have) creating the same tables at once."""
    warehouses = [Warehouse.from_url(warehouse_url) for _ in range(2)]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def create(wh: Warehouse) -> None:
        try:
            barrier.wait()
            ensure_bookkeeping(wh)
            ensure_tables(wh, [CUSTOMERS, ORDERS, LINE_ITEMS])
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(wh,)) for wh in warehouses]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for wh in warehouses:
            wh.dispose()
    assert errors == []
