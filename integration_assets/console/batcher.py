"""Group commit: deliveries arriving together share one inbox transaction.

Each delivery must be committed before it is answered, and a commit (an fsync on SQLite, a
round trip and WAL flush on Postgres, plus the inbox's write lock) costs far more than the
insert itself. One writer thread therefore takes every delivery queued while the previous
transaction ran and stores them together, then answers each with what was new in it. A
failed transaction fails every delivery in it (nothing was stored, each gets 503). Alone,
a delivery is stored at once: batching only happens under load, never by waiting.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from concurrent.futures import Future

from sqlalchemy.exc import SQLAlchemyError

from integration_assets.load.inbox import InboxEvent, ensure_inbox, store_events
from integration_assets.load.warehouse import Warehouse

MAX_EVENTS_PER_TRANSACTION = 2000

_Job = tuple[list[InboxEvent], "Future[int]"]


class InboxBatcher:
    """Stores events through one writer thread; `await store(events)` is the number new."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._ready = False
        self._thread = threading.Thread(target=self._run, name="console-inbox", daemon=True)
        self._thread.start()

    async def store(self, events: list[InboxEvent]) -> int:
        """Commit `events`; the count of those not stored before. Raises the database error."""
        done: Future[int] = Future()
        self._jobs.put((events, done))
        return await asyncio.wrap_future(done)

    def close(self) -> None:
        self._jobs.put(None)
        self._thread.join(timeout=10)

    def _take(self, first: _Job) -> tuple[list[_Job], bool]:
        jobs, size = [first], len(first[0])
        while size < MAX_EVENTS_PER_TRANSACTION:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is None:
                return jobs, True
            jobs.append(job)
            size += len(job[0])
        return jobs, False

    def _run(self) -> None:
        while (first := self._jobs.get()) is not None:
            jobs, closing = self._take(first)
            self._commit(jobs)
            if closing:
                return

    def _commit(self, jobs: list[_Job]) -> None:
        try:
            if not self._ready:
                ensure_inbox(self.warehouse)
                self._ready = True
            new = store_events(self.warehouse, [event for events, _ in jobs for event in events])
        except SQLAlchemyError as exc:
            # The database may come back empty (a new one): create the inbox again then.
            self._ready = False
            self.warehouse.bookkeeping_ready = False
            for _, done in jobs:
                done.set_exception(exc)
            return
        except Exception as exc:  # a bug: fail these deliveries (500), keep the writer alive
            for _, done in jobs:
                done.set_exception(exc)
            return
        for events, done in jobs:
            keys = {(event.connection, event.delivery_id) for event in events}
            fresh = keys & new
            new -= fresh
            done.set_result(len(fresh))
