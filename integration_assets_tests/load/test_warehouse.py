"""Warehouse URLs, engine settings and transaction-mode-pooler safety."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from integration_assets.load import (
    Warehouse,
    WarehouseConfigError,
    ensure_tables,
    normalize_url,
    upsert_batch,
)
from integration_assets.schema import MappedBatch
from integration_assets_tests.load.samples import (
    CUSTOMERS,
    LINE_ITEMS,
    ORDERS,
    customer,
    line,
    order,
)


@pytest.mark.parametrize(
    "raw",
    [
        "postgresql://user:p%40ss@db.example.supabase.co:5432/postgres",
        "postgres://user:p%40ss@db.example.supabase.co:5432/postgres",
        "postgresql+psycopg://user:p%40ss@db.example.supabase.co:5432/postgres",
    ],
)
def test_postgres_urls_use_psycopg3(raw: str) -> None:
    url = normalize_url(raw)
    assert url.drivername == "postgresql+psycopg"
    assert (url.username, url.password, url.host, url.port, url.database) == (
        "user",
        "p@ss",
        "db.example.supabase.co",
        5432,
        "postgres",
    )


def test_pooler_url_keeps_port_and_query() -> None:
    url = normalize_url(
        "postgres://postgres.ref:secret@aws-0-eu.pooler.supabase.com:6543/postgres?sslmode=require"
    )
    assert url.port == 6543
    assert url.query == {"sslmode": "require"}


def test_other_drivers_are_refused_without_leaking_the_password() -> None:
    with pytest.raises(WarehouseConfigError) as error:
        normalize_url("postgresql+psycopg2://user:hunter2@localhost/db")
    assert "hunter2" not in str(error.value)
    assert "***" in str(error.value)


def test_describe_hides_the_password() -> None:
    warehouse = Warehouse.from_url("postgres://user:hunter2@127.0.0.1:6543/postgres")
    try:
        assert "hunter2" not in warehouse.describe()
        assert "hunter2" not in repr(warehouse)
        assert warehouse.describe() == "postgresql+psycopg://user:***@127.0.0.1:6543/postgres"
    finally:
        warehouse.dispose()


def test_default_url_is_a_local_sqlite_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WAREHOUSE_URL", raising=False)
    warehouse = Warehouse.from_url()
    try:
        assert warehouse.dialect == "sqlite"
        assert (tmp_path / ".data").is_dir()
        with warehouse.begin() as conn:
            conn.execute(text("CREATE TABLE t (x INTEGER)"))
        assert (tmp_path / ".data" / "warehouse.db").is_file()
    finally:
        warehouse.dispose()


def test_url_from_environment(warehouse_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAREHOUSE_URL", warehouse_url)
    warehouse = Warehouse.from_url()
    try:
        expected = "postgresql" if warehouse_url.startswith("postgresql") else "sqlite"
        assert warehouse.dialect == expected
        with warehouse.read() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
    finally:
        warehouse.dispose()


def test_engine_settings(warehouse: Warehouse) -> None:
    with warehouse.read() as conn:
        if warehouse.dialect == "sqlite":
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 0
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
        else:
            assert warehouse.engine.pool._pre_ping
            assert conn.connection.driver_connection.prepare_threshold is None


def test_schema_setting(warehouse_url: str) -> None:
    if warehouse_url.startswith("sqlite"):
        with pytest.raises(WarehouseConfigError):
            Warehouse.from_url(warehouse_url, schema="analytics")
        return
    warehouse = Warehouse.from_url(warehouse_url, schema="analytics")
    try:
        ensure_tables(warehouse, [CUSTOMERS])
        result = upsert_batch(
            warehouse,
            [CUSTOMERS],
            MappedBatch(rows={"customers": [customer(1)]}),
            connection="shop",
            entity="customers",
            run_id="r1",
        )
        assert result["customers"].inserted == 1
        with warehouse.read() as conn:
            assert conn.execute(text("SELECT count(*) FROM analytics.customers")).scalar() == 1
            assert conn.execute(text("SELECT to_regclass('public.customers')")).scalar() is None
    finally:
        warehouse.dispose()


def test_upsert_leaves_no_session_state_behind(warehouse: Warehouse) -> None:
    """What a transaction-mode pooler needs: nothing survives the transaction in the session."""
    ensure_tables(warehouse, [CUSTOMERS, ORDERS, LINE_ITEMS])
    for run in ("r1", "r2"):
        upsert_batch(
            warehouse,
            [CUSTOMERS],
            MappedBatch(rows={"customers": [customer(1), customer(2)]}),
            connection="shop",
            entity="customers",
            run_id=run,
        )
        upsert_batch(
            warehouse,
            [ORDERS, LINE_ITEMS],
            MappedBatch(rows={"orders": [order(1)], "order_line_items": [line(1, 10)]}),
            connection="shop",
            entity="orders",
            run_id=run,
        )
    if warehouse.dialect == "sqlite":
        with warehouse.read() as conn:
            temp = conn.exec_driver_sql("SELECT count(*) FROM sqlite_temp_master").scalar()
            assert temp == 0
        return
    with warehouse.read() as conn:
        temp_tables = conn.execute(
            text("SELECT count(*) FROM pg_class WHERE relpersistence = 't'")
        ).scalar()
        prepared = conn.execute(text("SELECT count(*) FROM pg_prepared_statements")).scalar()
        # statement_timeout is this transaction's own `SET LOCAL` (pg_settings reports it as
        # 'session' while the transaction lasts); test_pg_session shows it does not outlive it.
        session_settings = conn.execute(
            text(
                "SELECT array_agg(name) FROM pg_settings "
                "WHERE source = 'session' AND name <> 'statement_timeout'"
            )
        ).scalar()
        advisory_locks = conn.execute(
            # This test's database only: other tests' loads may hold locks in theirs.
            text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
        ).scalar()
    assert temp_tables == 0
    assert prepared == 0
    assert session_settings is None
    assert advisory_locks == 0
