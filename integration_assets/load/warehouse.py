"""The warehouse: one SQLAlchemy engine on Postgres (often Supabase) or SQLite.

Why the engine is configured the way it is:

- Supabase hands out `postgresql://` / `postgres://` URLs; SQLAlchemy would pick psycopg2 for
  the first and reject the second, and the load stage needs psycopg 3 (`COPY` with
  `write_row`). Both are rewritten to `postgresql+psycopg://`.
- Supabase's pooler (pgbouncer/supavisor, port 6543) runs in transaction mode: consecutive
  transactions of one client may land on different server sessions. So nothing may rely on
  session state: no server-side prepared statements (`prepare_threshold=None`), no session
  `SET`, temp tables only `ON COMMIT DROP`, locks only transaction-scoped.
- SQLite runs in WAL mode (readers never block the writer) with a busy timeout, and every
  transaction starts with `BEGIN IMMEDIATE`: the load reads rows and then writes them, and a
  deferred transaction that tries to upgrade to a writer after another process committed
  fails at once with SQLITE_BUSY instead of waiting. `Warehouse.read()` opens a deferred,
  read-only transaction for readers that never write.
- Both engines hide statement parameters in errors and logs (`hide_parameters`): they are
  customers' data. `errors.py` removes the values the server itself quotes.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from integration_assets.load.encoding import dumps_json_str, loads_json
from integration_assets.load.identifiers import validate_identifier
from integration_assets.load.pg_session import install_statement_timeout, postgres_connect_args

WAREHOUSE_URL_ENV_VAR = "WAREHOUSE_URL"
WAREHOUSE_SCHEMA_ENV_VAR = "WAREHOUSE_SCHEMA"
DEFAULT_WAREHOUSE_URL = "sqlite:///.data/warehouse.db"
SQLITE_BUSY_TIMEOUT_MS = 30_000
_READ_ONLY_OPTION = "integration_assets_read_only"

Dialect = Literal["postgresql", "sqlite"]


class WarehouseConfigError(ValueError):
    """The warehouse URL or schema cannot be used. Messages never include the password."""


def normalize_url(url: str | URL) -> URL:
    """Parse a warehouse URL and pin Postgres URLs to the psycopg 3 driver.

    `postgresql://` and `postgres://` (as Supabase prints them) become `postgresql+psycopg://`;
    `postgresql+psycopg://` and `sqlite://` pass unchanged; other Postgres drivers are refused
    because the load stage uses psycopg 3's `COPY`.
    """
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except ArgumentError:
        raise WarehouseConfigError(
            "the warehouse URL is not a valid database URL (expected postgresql://… or sqlite:///…)"
        ) from None
    driver = parsed.drivername
    if driver in ("postgresql", "postgres", "postgresql+psycopg"):
        return parsed.set(drivername="postgresql+psycopg")
    if driver in ("sqlite", "sqlite+pysqlite"):
        return parsed
    raise WarehouseConfigError(
        f"unsupported warehouse driver {driver!r} in "
        f"{parsed.render_as_string(hide_password=True)}: use postgresql:// (psycopg 3) or sqlite:///"
    )


def sqlite_file(url: URL) -> Path | None:
    """The database file of a SQLite URL; None for in-memory and `file:` URI databases."""
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def _enable_wal(cursor: sqlite3.Cursor) -> None:
    """Switch the database file to WAL (a persistent setting; a no-op once done).

    SQLite does not call the busy handler while another connection is switching the journal
    mode, so two processes opening a new database at once get "database is locked" at once;
    retry for as long as the busy timeout would have waited.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                cursor.execute("PRAGMA journal_mode = WAL").fetchall()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _configure_sqlite(engine: Engine, *, wal: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Autocommit at the driver level: pysqlite's own implicit BEGIN does not cover DDL or
        # SELECT; the "begin" hook below opens every transaction explicitly instead.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            if wal:
                _enable_wal(cursor)
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = OFF")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        read_only = connection.get_execution_options().get(_READ_ONLY_OPTION, False)
        connection.exec_driver_sql("BEGIN DEFERRED" if read_only else "BEGIN IMMEDIATE")


def _create_engine(url: URL) -> Engine:
    if url.get_backend_name() == "postgresql":
        engine = create_engine(
            url,
            pool_pre_ping=True,
            hide_parameters=True,
            connect_args={"prepare_threshold": None, **postgres_connect_args(url.query)},
            json_serializer=dumps_json_str,
            json_deserializer=loads_json,
        )
        install_statement_timeout(engine)  # timeouts and keepalives: see pg_session.py
        return engine
    path = sqlite_file(url)
    if path is not None:
        path.expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        hide_parameters=True,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        json_serializer=dumps_json_str,
        json_deserializer=loads_json,
    )
    _configure_sqlite(engine, wal=path is not None)
    return engine


class Warehouse:
    """The company's database, where synced tables and bookkeeping tables live.

    `schema` is where warehouse (data) tables go on Postgres; None means the connection's
    default (`public`, via `search_path`). Bookkeeping tables always live in `integration`
    (see `bookkeeping.py`). SQLite has no schemas, so `schema` must be None there.
    """

    def __init__(self, engine: Engine, *, schema: str | None = None) -> None:
        name = engine.dialect.name
        if name not in ("postgresql", "sqlite"):
            raise WarehouseConfigError(f"unsupported warehouse dialect {name!r}")
        if schema is not None:
            if name == "sqlite":
                raise WarehouseConfigError("SQLite warehouses have no schemas; leave schema unset")
            validate_identifier(schema, "warehouse schema")
        self._engine = engine
        self._schema = schema
        self.bookkeeping_ready = False

    @classmethod
    def from_url(cls, url: str | URL | None = None, *, schema: str | None = None) -> Warehouse:
        """Open the warehouse at `url`, else `$WAREHOUSE_URL`, else `.data/warehouse.db`.

        `schema` defaults to `$WAREHOUSE_SCHEMA` on Postgres. No connection is made yet.
        """
        raw = url or os.environ.get(WAREHOUSE_URL_ENV_VAR) or DEFAULT_WAREHOUSE_URL
        normalized = normalize_url(raw)
        if schema is None and normalized.get_backend_name() == "postgresql":
            schema = os.environ.get(WAREHOUSE_SCHEMA_ENV_VAR) or None
        return cls(_create_engine(normalized), schema=schema)

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def dialect(self) -> Dialect:
        return "postgresql" if self._engine.dialect.name == "postgresql" else "sqlite"

    @property
    def schema(self) -> str | None:
        """Schema of the warehouse (data) tables; None = default."""
        return self._schema

    def describe(self) -> str:
        """The URL with the password hidden, safe for logs and error messages."""
        return self._engine.url.render_as_string(hide_password=True)

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A read-write transaction, committed on success, rolled back on error."""
        with self._engine.begin() as connection:
            yield connection

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction: on SQLite it does not take the write lock."""
        with self._engine.connect() as connection:
            connection = connection.execution_options(**{_READ_ONLY_OPTION: True})
            with connection.begin():
                yield connection

    def dispose(self) -> None:
        """Close every pooled connection (end of process, or after a fork)."""
        self._engine.dispose()

    def __repr__(self) -> str:
        return f"Warehouse({self.describe()!r}, schema={self._schema!r})"
