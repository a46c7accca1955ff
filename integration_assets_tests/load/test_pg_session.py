"""Postgres connections fail fast: timeouts, keepalives and a name in pg_stat_activity."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from integration_assets.load import Warehouse
from integration_assets.load.pg_session import (
    APPLICATION_NAME,
    WarehouseTimeoutConfigError,
    postgres_connect_args,
)


def test_connections_carry_the_application_name_and_keepalives(postgres_url: str) -> None:
    warehouse = Warehouse.from_url(postgres_url)
    try:
        with warehouse.read() as conn:
            name = conn.execute(text("SHOW application_name")).scalar_one()
            timeout = conn.execute(text("SHOW statement_timeout")).scalar_one()
            raw = conn.connection.driver_connection
            assert raw.info.get_parameters()["connect_timeout"] == "10"
            assert raw.info.get_parameters()["keepalives_idle"] == "30"
            assert raw.info.get_parameters()["tcp_user_timeout"] == "60000"
    finally:
        warehouse.dispose()
    assert name == APPLICATION_NAME
    assert timeout == "15min"


def test_a_statement_past_the_timeout_is_cancelled(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WAREHOUSE_STATEMENT_TIMEOUT_SECONDS", "1")
    warehouse = Warehouse.from_url(postgres_url)
    try:
        with (
            pytest.raises(OperationalError, match="statement timeout"),
            warehouse.begin() as conn,
        ):
            conn.execute(text("SELECT pg_sleep(5)"))
        # Every transaction sets it again; the server session never keeps it for others.
        with warehouse.engine.connect() as conn:
            with conn.begin():
                assert conn.execute(text("SHOW statement_timeout")).scalar_one() == "1s"
            raw = conn.connection.driver_connection
            raw.autocommit = True  # outside any transaction of ours: what the session holds
            (session_value,) = raw.execute("SHOW statement_timeout").fetchone()
            raw.autocommit = False
        assert session_value == "0"
    finally:
        warehouse.dispose()


def test_the_url_wins_over_the_default_application_name() -> None:
    args = postgres_connect_args({"application_name": "mine"})
    assert "application_name" not in args
    assert args["connect_timeout"] == 10


def test_a_bad_timeout_setting_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAREHOUSE_CONNECT_TIMEOUT_SECONDS", "ten")
    with pytest.raises(
        WarehouseTimeoutConfigError, match="WAREHOUSE_CONNECT_TIMEOUT_SECONDS='ten'"
    ):
        postgres_connect_args()
