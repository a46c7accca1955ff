"""One writer per (connection, entity): a lock held for the whole load.

A schedule, a webhook and a manual click can start loads of the same (connection, entity) at
once. Interleaved, their batches race: an older same-second version can overwrite a newer
one, and a slow run can save its (older) cursor after a fast one saved a newer cursor. So a
load holds `writer_lock` from before it reads the saved cursor until its last batch
committed; a second load waits for it (polling, for at most `timeout`) and then raises
`SyncBusyError` naming the (connection, entity).

Postgres: a *transaction-scoped* advisory lock (`pg_try_advisory_xact_lock(int4, int4)`,
keyed on a stable hash of connection and entity) taken in an open transaction on a
connection of its own, kept for the whole load and rolled back at the end.

- Pooler-safe: Supabase's transaction-mode pooler pins a server session to a client for the
  length of a transaction, and a transaction-scoped lock lives exactly that long, so it can
  neither leak to another client's session (a session lock would, or would be lost) nor
  outlive its holder: a dead client's transaction is rolled back and the lock released.
- Vacuum-safe: the lock transaction never writes (no transaction id is assigned) and in
  READ COMMITTED it keeps no snapshot between statements, so it does not hold back the
  xmin horizon; the batches commit in their own transactions as before.
- `HeldLock.check()` runs a trivial statement on the lock connection between batches: it
  resets `idle_in_transaction_session_timeout` and, if the server ended the lock session,
  stops the load before it writes without the lock.
- It costs one pooled server connection for the length of a load.

SQLite: an OS file lock (`fcntl.flock`) on a file per (connection, entity) next to the
database (`<db>.locks/`), released by the OS when the process dies, like a session lock.
`flock` locks belong to an open file, not a process, so two threads of one process exclude
each other too. In-memory databases live in one process: a process-local lock per engine.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Protocol

from sqlalchemy import Connection, text

from integration_assets.load.warehouse import Warehouse, sqlite_file

DEFAULT_LOCK_TIMEOUT = timedelta(minutes=5)
POLL_SECONDS = 0.05
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


class SyncBusyError(RuntimeError):
    """Another load of the same (connection, entity) held the lock for longer than the wait."""

    def __init__(self, connection: str, entity: str, waited: float) -> None:
        self.connection = connection
        self.entity = entity
        self.waited = waited
        super().__init__(
            f"another load of connection {connection!r}, entity {entity!r} is still running "
            f"(waited {waited:.1f} s for it); nothing was written. Run again once it has "
            f"finished, or raise lock_timeout if loads routinely take longer."
        )


class LockLostError(RuntimeError):
    """The database ended the session holding the writer lock during a load."""


class HeldLock(Protocol):
    """A writer lock being held."""

    def check(self) -> None:
        """Raise `LockLostError` if the lock is no longer held (call between batches)."""


def lock_keys(connection: str, entity: str) -> tuple[int, int]:
    """Two signed 32-bit keys from a stable hash of (connection, entity).

    Python's `hash()` is salted per process; every process must compute the same keys.
    """
    digest = hashlib.blake2b(f"{connection}\x00{entity}".encode(), digest_size=8).digest()
    return (
        int.from_bytes(digest[:4], "big", signed=True),
        int.from_bytes(digest[4:], "big", signed=True),
    )


def _wait(
    try_acquire: Callable[[], bool],
    connection: str,
    entity: str,
    timeout: float,
    on_wait: Callable[[], None] | None,
) -> None:
    """Call `try_acquire` until it succeeds or `timeout` seconds passed (then raise)."""
    started = time.monotonic()
    if try_acquire():
        return
    if on_wait is not None:
        on_wait()
    while True:
        waited = time.monotonic() - started
        if waited >= timeout:
            raise SyncBusyError(connection, entity, waited)
        time.sleep(min(POLL_SECONDS, max(timeout - waited, 0.0)))
        if try_acquire():
            return


class _PostgresLock:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def check(self) -> None:
        try:
            self._conn.execute(text("SELECT 1"))
        except Exception as exc:
            raise LockLostError(
                "the database ended the session holding the writer lock of this load "
                "(check idle_in_transaction_session_timeout); stopping before writing more"
            ) from exc


class _NoCheck:
    def check(self) -> None:
        return None


@contextmanager
def _postgres_lock(
    warehouse: Warehouse,
    connection: str,
    entity: str,
    timeout: float,
    on_wait: Callable[[], None] | None,
) -> Iterator[HeldLock]:
    key1, key2 = lock_keys(connection, entity)
    with warehouse.engine.connect() as conn:
        transaction = conn.begin()
        try:

            def try_acquire() -> bool:
                statement = text("SELECT pg_try_advisory_xact_lock(:k1, :k2)")
                return bool(conn.execute(statement, {"k1": key1, "k2": key2}).scalar())

            _wait(try_acquire, connection, entity, timeout, on_wait)
            yield _PostgresLock(conn)
        finally:
            # Rolling back ends the transaction and with it the lock; there is nothing to keep.
            if transaction.is_active:
                try:
                    transaction.rollback()
                except Exception:  # a dead session released the lock already
                    conn.invalidate()


def lock_file(database: Path, connection: str, entity: str) -> Path:
    """The lock file of (connection, entity) next to SQLite database file `database`."""
    key1, key2 = lock_keys(connection, entity)
    readable = _UNSAFE.sub("_", f"{connection}--{entity}")[:80]
    return (
        database.parent
        / f"{database.name}.locks"
        / f"{readable}-{key1 & 0xFFFFFFFF:08x}{key2 & 0xFFFFFFFF:08x}.lock"
    )


@contextmanager
def _file_lock(
    path: Path, connection: str, entity: str, timeout: float, on_wait: Callable[[], None] | None
) -> Iterator[HeldLock]:
    path.parent.mkdir(parents=True, exist_ok=True)
    # The file is never deleted: removing it while another process waits on it would let a
    # third process lock a new file of the same name at the same time.
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:

        def try_acquire() -> bool:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False
            return True

        _wait(try_acquire, connection, entity, timeout, on_wait)
        try:
            yield _NoCheck()
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


_LOCAL_LOCKS: dict[tuple[int, str, str], threading.Lock] = {}
_LOCAL_LOCKS_GUARD = threading.Lock()


@contextmanager
def _local_lock(
    warehouse: Warehouse,
    connection: str,
    entity: str,
    timeout: float,
    on_wait: Callable[[], None] | None,
) -> Iterator[HeldLock]:
    with _LOCAL_LOCKS_GUARD:
        lock = _LOCAL_LOCKS.setdefault((id(warehouse.engine), connection, entity), threading.Lock())
    _wait(lambda: lock.acquire(blocking=False), connection, entity, timeout, on_wait)
    try:
        yield _NoCheck()
    finally:
        lock.release()


@contextmanager
def writer_lock(
    warehouse: Warehouse,
    connection: str,
    entity: str,
    *,
    timeout: timedelta = DEFAULT_LOCK_TIMEOUT,
    on_wait: Callable[[], None] | None = None,
) -> Iterator[HeldLock]:
    """Hold the writer lock of (connection, entity) for the `with` block.

    Waits up to `timeout` for another holder (calling `on_wait` once when it has to wait),
    then raises `SyncBusyError`. Released when the block ends, also by an exception.
    """
    seconds = max(timeout.total_seconds(), 0.0)
    if warehouse.dialect == "postgresql":
        with _postgres_lock(warehouse, connection, entity, seconds, on_wait) as held:
            yield held
        return
    database = sqlite_file(warehouse.engine.url)
    if database is None:
        with _local_lock(warehouse, connection, entity, seconds, on_wait) as held:
            yield held
        return
    path = lock_file(database.expanduser().resolve(), connection, entity)
    with _file_lock(path, connection, entity, seconds, on_wait) as held:
        yield held


def _held_postgres(warehouse: Warehouse, pairs: list[tuple[str, str]]) -> set[tuple[str, str]]:
    # A two-int4 advisory lock shows in pg_locks as classid = key1, objid = key2 (both as
    # unsigned oids), objsubid = 2.
    wanted = {
        tuple(key & 0xFFFFFFFF for key in lock_keys(connection, entity)): (connection, entity)
        for connection, entity in pairs
    }
    statement = text(
        "SELECT classid::bigint, objid::bigint FROM pg_locks "
        "WHERE locktype = 'advisory' AND objsubid = 2 AND granted"
    )
    with warehouse.engine.connect() as conn:
        held = {(int(row[0]), int(row[1])) for row in conn.execute(statement)}
    return {pair for keys, pair in wanted.items() if keys in held}


def _file_held(path: Path) -> bool:
    """Whether another open file holds the flock of `path`, without waiting for it."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def held_writer_locks(warehouse: Warehouse, pairs: list[tuple[str, str]]) -> set[tuple[str, str]]:
    """Which of the (connection, entity) pairs a load holds the writer lock of, right now.

    For monitoring ("running"); it never waits. On SQLite it takes a shared lock for an
    instant when the file is free, so a load starting at that very moment waits one poll.
    """
    if warehouse.dialect == "postgresql":
        return _held_postgres(warehouse, pairs)
    database = sqlite_file(warehouse.engine.url)
    if database is None:
        with _LOCAL_LOCKS_GUARD:
            engine = id(warehouse.engine)
            return {
                pair
                for pair in pairs
                if (lock := _LOCAL_LOCKS.get((engine, *pair))) is not None and lock.locked()
            }
    resolved = database.expanduser().resolve()
    return {pair for pair in pairs if _file_held(lock_file(resolved, *pair))}
