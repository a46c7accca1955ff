"""Bookkeeping tables: where they live, idempotent creation, other stages' tables."""

from __future__ import annotations

from sqlalchemy import Column, MetaData, Text, inspect

from integration_assets.load import (
    Warehouse,
    bookkeeping,
    bookkeeping_table,
    ensure_bookkeeping,
)


def test_tables_live_in_their_schema_or_behind_a_prefix(warehouse: Warehouse) -> None:
    with warehouse.read() as conn:
        inspector = inspect(conn)
        if warehouse.dialect == "postgresql":
            names = set(inspector.get_table_names(schema="integration"))
            assert {"sync_state", "landing_pages", "quarantine"} <= names
            assert not set(inspector.get_table_names()) & names
        else:
            names = set(inspector.get_table_names())
            assert {
                "integration_sync_state",
                "integration_landing_pages",
                "integration_quarantine",
            } <= names
    tables = bookkeeping(warehouse.dialect)
    assert tables.sync_state.name.endswith("sync_state")


def test_ensure_is_idempotent_and_creates_other_stages_tables(warehouse_url: str) -> None:
    warehouse = Warehouse.from_url(warehouse_url)
    try:
        ensure_bookkeeping(warehouse)
        ensure_bookkeeping(Warehouse(warehouse.engine))  # again, without the in-process shortcut
        extra = MetaData()
        bookkeeping_table(
            extra, warehouse.dialect, "webhook_inbox", Column("id", Text, primary_key=True)
        )
        ensure_bookkeeping(warehouse, extra)
        with warehouse.read() as conn:
            inspector = inspect(conn)
            if warehouse.dialect == "postgresql":
                assert inspector.has_table("webhook_inbox", schema="integration")
            else:
                assert inspector.has_table("integration_webhook_inbox")
    finally:
        warehouse.dispose()
