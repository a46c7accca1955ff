"""How the warehouse's Postgres connections fail fast instead of hanging.

A dropped link (a pooler restart, a NAT that forgot us, a terminated backend) must end the
operation with an error, so the op's `RetryPolicy` takes over, instead of hanging a run for
hours on a socket nobody will ever answer. Each knob reads an environment variable, with the
default in brackets:

- `WAREHOUSE_CONNECT_TIMEOUT_SECONDS` [10]: libpq `connect_timeout`.
- `WAREHOUSE_STATEMENT_TIMEOUT_SECONDS` [900]: no single statement runs longer; 0 disables.
- `WAREHOUSE_TCP_KEEPALIVE_SECONDS` [30]: TCP keepalives (`keepalives_idle`, probes every
  10 s, 3 probes) and `tcp_user_timeout`, so a silent peer is noticed in about a minute even
  while we wait for a result.

The statement timeout is set with `SET LOCAL` at the start of every transaction, not with the
libpq `options=-c statement_timeout=…` startup parameter: Supabase's transaction-mode pooler
(supavisor/pgbouncer) hands each transaction to any server session and does not forward startup
options (pgbouncer refuses unknown ones), and a session-level `SET` would leak to whichever
client gets the session next. `SET LOCAL` lives and dies with our own transaction, so it holds
behind any pooler. `application_name` (`integration-assets`, or `WAREHOUSE_APPLICATION_NAME`)
names our backends in `pg_stat_activity`, for a DBA and for the tests that terminate them.
The defaults are part of the retry budget (`integration_assets/retry_budget.py`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Engine, event

from integration_assets.retry_budget import DEFAULT_BUDGET

APPLICATION_NAME = "integration-assets"
DEFAULT_CONNECT_TIMEOUT_SECONDS = DEFAULT_BUDGET.db_connect_timeout_seconds
DEFAULT_STATEMENT_TIMEOUT_SECONDS = DEFAULT_BUDGET.db_statement_timeout_seconds
DEFAULT_TCP_KEEPALIVE_SECONDS = DEFAULT_BUDGET.db_keepalive_idle_seconds
KEEPALIVE_INTERVAL_SECONDS = DEFAULT_BUDGET.db_keepalive_interval_seconds
KEEPALIVE_COUNT = DEFAULT_BUDGET.db_keepalive_count


class WarehouseTimeoutConfigError(ValueError):
    """A timeout environment variable is not a non-negative whole number of seconds."""


def _seconds(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise WarehouseTimeoutConfigError(
            f"{name}={raw!r} is not a whole number of seconds (0 or more); unset it for {default}"
        )
    return value


def statement_timeout_seconds() -> int:
    return _seconds("WAREHOUSE_STATEMENT_TIMEOUT_SECONDS", DEFAULT_STATEMENT_TIMEOUT_SECONDS)


def postgres_connect_args(url_query: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """libpq parameters: connect timeout, keepalives and the application name.

    A parameter the URL already sets (`?application_name=…`) is left to the URL.
    """
    keepalive = _seconds("WAREHOUSE_TCP_KEEPALIVE_SECONDS", DEFAULT_TCP_KEEPALIVE_SECONDS)
    args: dict[str, Any] = {
        "connect_timeout": _seconds(
            "WAREHOUSE_CONNECT_TIMEOUT_SECONDS", DEFAULT_CONNECT_TIMEOUT_SECONDS
        ),
        "application_name": os.environ.get("WAREHOUSE_APPLICATION_NAME") or APPLICATION_NAME,
    }
    if keepalive:
        args |= {
            "keepalives": 1,
            "keepalives_idle": keepalive,
            "keepalives_interval": KEEPALIVE_INTERVAL_SECONDS,
            "keepalives_count": KEEPALIVE_COUNT,
            # Also bounds unacknowledged writes, which keepalives do not cover.
            "tcp_user_timeout": (keepalive + KEEPALIVE_INTERVAL_SECONDS * KEEPALIVE_COUNT) * 1000,
        }
    return {key: value for key, value in args.items() if key not in (url_query or {})}


def install_statement_timeout(engine: Engine) -> None:
    """`SET LOCAL statement_timeout` as the first statement of every transaction."""
    seconds = statement_timeout_seconds()
    if not seconds:
        return
    statement = f"SET LOCAL statement_timeout = {seconds * 1000}"

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql(statement)
