"""The quarantine table: one open row per record however often it is re-read, resolved when a
good version loads, and tables made by the previous version keep working."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Column, Index, Integer, MetaData, Text, insert, select
from sqlalchemy.schema import CreateSchema

from integration_assets.load import (
    UpsertResult,
    Warehouse,
    bookkeeping,
    ensure_tables,
    upsert_batch,
)
from integration_assets.load.bookkeeping import BOOKKEEPING_SCHEMA, bookkeeping_table
from integration_assets.load.types import JsonDocument, UtcDateTime
from integration_assets.schema import MappedBatch, RejectedRecord
from integration_assets_tests.load.samples import CUSTOMERS, customer


def load(
    warehouse: Warehouse,
    rows: list[dict[str, Any]] = (),  # type: ignore[assignment]
    rejected: list[RejectedRecord] = (),  # type: ignore[assignment]
    run_id: str = "r1",
) -> UpsertResult:
    return upsert_batch(
        warehouse,
        [CUSTOMERS],
        MappedBatch(rows={"customers": list(rows)}, rejected=list(rejected)),
        connection="shop",
        entity="customers",
        run_id=run_id,
    )


def quarantine_rows(warehouse: Warehouse) -> list[dict[str, Any]]:
    table = bookkeeping(warehouse.dialect).quarantine
    with warehouse.read() as conn:
        return [dict(row) for row in conn.execute(select(table).order_by(table.c.id)).mappings()]


def bad(id: int | None, verified: str, note: str = "") -> RejectedRecord:
    record = {"id": id, "verified_email": verified, "note": note}
    reason = f"customers.verified_email: cannot convert {verified!r} (str) to boolean"
    return RejectedRecord(record, (reason,), None if id is None else str(id))


def test_re_reading_or_retrying_a_bad_record_keeps_one_open_row(customers_wh: Warehouse) -> None:
    load(customers_wh, rejected=[bad(1, "yes"), bad(2, "no")])
    load(customers_wh, rejected=[bad(1, "yes"), bad(2, "no")])  # the same batch, retried
    load(customers_wh, rejected=[bad(1, "maybe"), bad(1, "nah")], run_id="r2")  # re-read, newer
    rows = quarantine_rows(customers_wh)
    assert [(r["record_key"], r["seen_count"]) for r in rows] == [("1", 3), ("2", 2)]
    first = rows[0]
    assert first["record"]["verified_email"] == "nah" and "'nah'" in first["reasons"][0]
    assert first["run_id"] == "r2" and first["last_seen_at"] >= first["quarantined_at"]
    assert all(r["resolved_at"] is None for r in rows)


def test_records_without_a_usable_key_are_told_apart_by_their_raw_hash(
    customers_wh: Warehouse,
) -> None:
    load(customers_wh, rejected=[bad(None, "yes", "a"), bad(None, "yes", "b")])
    load(customers_wh, rejected=[bad(None, "yes", "a")])
    rows = quarantine_rows(customers_wh)
    assert sorted(r["seen_count"] for r in rows) == [1, 2]
    assert all(r["dedupe_key"].startswith("hash:") for r in rows)


def test_a_good_version_resolves_the_open_row_in_its_batch(customers_wh: Warehouse) -> None:
    load(customers_wh, rejected=[bad(1, "yes"), bad(2, "no")])
    result = load(customers_wh, rows=[customer(1)], run_id="r2")
    assert result["customers"].inserted == 1
    by_key = {r["record_key"]: r for r in quarantine_rows(customers_wh)}
    assert by_key["1"]["resolution"] == "superseded" and by_key["1"]["resolved_at"] is not None
    assert by_key["2"]["resolved_at"] is None
    load(customers_wh, rejected=[bad(1, "again")], run_id="r3")  # bad again later: a new row
    assert [r["record_key"] for r in quarantine_rows(customers_wh)] == ["1", "2", "1"]


def test_a_quarantine_table_of_the_previous_version_is_upgraded(warehouse_url: str) -> None:
    warehouse = Warehouse.from_url(warehouse_url)
    try:
        old = MetaData()
        legacy = bookkeeping_table(
            old,
            warehouse.dialect,
            "quarantine",
            Column("id", Integer, primary_key=True, autoincrement=True),
            Column("connection", Text, nullable=False),
            Column("entity", Text, nullable=False),
            Column("run_id", Text, nullable=False),
            Column("record_key", Text, nullable=True),
            Column("reasons", JsonDocument, nullable=False),
            Column("record", JsonDocument, nullable=False),
            Column("quarantined_at", UtcDateTime, nullable=False),
            Column("resolved_at", UtcDateTime, nullable=True),
            Index("integration_quarantine_open", "connection", "entity", "resolved_at"),
        )
        now = datetime.now(UTC)
        old_row = {
            "connection": "shop",
            "entity": "customers",
            "run_id": "old",
            "record_key": "1",
            "reasons": ["old reason"],
            "record": {"id": 1},
            "quarantined_at": now,
        }
        with warehouse.begin() as conn:
            if warehouse.dialect == "postgresql":
                conn.execute(CreateSchema(BOOKKEEPING_SCHEMA, if_not_exists=True))
            old.create_all(conn)
            conn.execute(insert(legacy), [old_row, old_row])  # the old version duplicated
        ensure_tables(warehouse, [CUSTOMERS])  # the first load upgrades the quarantine table
        load(warehouse, rejected=[bad(1, "yes")])
        load(warehouse, rejected=[bad(1, "yes")])
        rows = quarantine_rows(warehouse)
        assert [(r["run_id"], r["dedupe_key"], r["seen_count"]) for r in rows] == [
            ("old", None, 1),
            ("old", None, 1),
            ("r1", "1", 2),
        ]
    finally:
        warehouse.dispose()
