"""One writer per (connection, entity): concurrent loads wait for each other, never interleave,
and the cursor never moves backwards; a load that waits too long fails with a clear error."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from integration_assets.load.lock import SyncBusyError
from integration_assets.load.state import SyncStateStore
from integration_assets.load.tables import build_table
from integration_assets.load.warehouse import Warehouse
from integration_assets.sync.steps import LoadResult, SyncSettings, run_load
from integration_assets_tests.sync.landed import SHOP, land, raw_customer, shop_target

OLDER = "2024-05-01T10:00:00.250000+00:00"
NEWER = "2024-05-01T10:00:00.750000+00:00"  # the same second, half a second later
BOUND = 30.0  # only so that a broken lock fails the test instead of hanging it


class LoadThread(threading.Thread):
    """`run_load` in a thread of its own (its own engine, as another process would have),
    optionally pausing after reading its first page until `resume()`."""

    def __init__(
        self,
        warehouse_url: str,
        run_id: str,
        *,
        entity: str = "customers",
        pause_until: Callable[[], bool] | None = None,
        lock_timeout: timedelta = timedelta(seconds=BOUND),
    ) -> None:
        super().__init__(daemon=True)
        self.warehouse_url, self.run_id, self.entity = warehouse_url, run_id, entity
        self.pause_until = pause_until
        self.lock_timeout = lock_timeout
        self.reading = threading.Event()
        self.done = threading.Event()
        self.result: LoadResult | None = None
        self.error: BaseException | None = None

    def _progress(self, step: str, pages: int, records: int) -> None:
        self.reading.set()
        if self.pause_until is not None:
            waited = 0.0
            while not self.pause_until():
                assert waited < BOUND, "the other load never got going"
                threading.Event().wait(0.01)
                waited += 0.01

    def run(self) -> None:
        warehouse = Warehouse.from_url(self.warehouse_url)
        try:
            target = shop_target(self.entity)
            # The pages were landed beforehand under the run id; the load finds them there.
            extracted = land(warehouse, self.run_id, [], self.entity)
            self.result = run_load(
                target,
                warehouse,
                extracted,
                run_id=self.run_id,
                settings=SyncSettings(lock_timeout=self.lock_timeout),
                progress=self._progress,
            )
        except BaseException as exc:
            self.error = exc
        finally:
            warehouse.dispose()
            self.done.set()

    def outcome(self) -> LoadResult:
        self.join(BOUND)
        assert not self.is_alive(), "the load never finished"
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


@pytest.fixture
def waiting() -> Iterator[threading.Event]:
    """Set when a load logs that it waits for another load of the same (connection, entity)."""
    event = threading.Event()

    class Handler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "waiting for another load" in record.getMessage():
                event.set()

    logger = logging.getLogger("integration_assets.sync.steps")
    handler, level = Handler(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield event
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def land_version(warehouse_url: str, run_id: str, updated_at: str, note: str) -> None:
    warehouse = Warehouse.from_url(warehouse_url)
    try:
        land(warehouse, run_id, [raw_customer(1, updated_at, note=note)])
    finally:
        warehouse.dispose()


def stored_customer(warehouse_url: str) -> tuple[str, str | None]:
    """(note of customer 1, saved cursor)."""
    target = shop_target()
    warehouse = Warehouse.from_url(warehouse_url)
    try:
        table = build_table(target.mapping.table)
        with warehouse.read() as conn:
            note = conn.execute(select(table.c.note).where(table.c.id == 1)).scalar_one()
        state = SyncStateStore(warehouse).get(SHOP, "customers")
    finally:
        warehouse.dispose()
    assert state is not None
    return note, state.cursor


@pytest.mark.parametrize("first", ["older", "newer"])
def test_concurrent_loads_newer_wins_and_the_cursor_never_moves_back(
    warehouse_url: str, waiting: threading.Event, first: str
) -> None:
    """The first load pauses after reading its page until the second one either finished
    (no lock: the loads interleave) or is seen waiting for the lock; either way the newer
    version and its cursor must win."""
    land_version(warehouse_url, "older", OLDER, "older")
    land_version(warehouse_url, "newer", NEWER, "newer")
    second_name = "newer" if first == "older" else "older"
    second = LoadThread(warehouse_url, second_name)
    one = LoadThread(
        warehouse_url, first, pause_until=lambda: waiting.is_set() or second.done.is_set()
    )
    one.start()
    assert one.reading.wait(BOUND)
    second.start()
    one.outcome()
    second.outcome()
    assert stored_customer(warehouse_url) == ("newer", NEWER)


def test_a_second_load_waits_for_the_first_then_proceeds(
    warehouse_url: str, waiting: threading.Event
) -> None:
    land_version(warehouse_url, "first", OLDER, "first")
    land_version(warehouse_url, "second", NEWER, "second")
    release = threading.Event()
    first = LoadThread(warehouse_url, "first", pause_until=release.is_set)
    first.start()
    assert first.reading.wait(BOUND)
    second = LoadThread(warehouse_url, "second")
    second.start()
    assert waiting.wait(BOUND), "the second load never waited"
    assert not second.done.is_set() and not second.reading.is_set()  # blocked, read nothing
    release.set()
    first.outcome()
    assert second.outcome().records == 1
    assert stored_customer(warehouse_url) == ("second", NEWER)


def test_a_load_that_waits_too_long_fails_clearly_having_written_nothing(
    warehouse_url: str,
) -> None:
    land_version(warehouse_url, "first", OLDER, "first")
    land_version(warehouse_url, "second", NEWER, "second")
    release = threading.Event()
    first = LoadThread(warehouse_url, "first", pause_until=release.is_set)
    first.start()
    assert first.reading.wait(BOUND)
    second = LoadThread(warehouse_url, "second", lock_timeout=timedelta(milliseconds=50))
    second.start()
    second.join(BOUND)
    release.set()
    first.outcome()
    with pytest.raises(SyncBusyError) as raised:
        second.outcome()
    message = str(raised.value)
    assert "another load of connection 'shop', entity 'customers' is still running" in message
    assert "lock_timeout" in message
    assert stored_customer(warehouse_url) == ("first", OLDER)
    warehouse = Warehouse.from_url(warehouse_url)
    try:
        state = SyncStateStore(warehouse).get(SHOP, "customers")
    finally:
        warehouse.dispose()
    assert state is not None and state.last_run_id == "first"  # the busy run wrote nothing


def test_the_lock_is_released_when_a_load_raises(warehouse_url: str) -> None:
    land_version(warehouse_url, "broken", OLDER, "broken")
    land_version(warehouse_url, "next", NEWER, "next")

    def explode() -> bool:
        raise RuntimeError("boom in the middle of a load")

    broken = LoadThread(warehouse_url, "broken", pause_until=explode)
    broken.start()
    with pytest.raises(RuntimeError, match="boom"):
        broken.outcome()
    following = LoadThread(warehouse_url, "next", lock_timeout=timedelta(0))
    following.start()
    assert following.outcome().records == 1
    assert stored_customer(warehouse_url) == ("next", NEWER)


def test_loads_of_different_entities_do_not_block_each_other(warehouse_url: str) -> None:
    land_version(warehouse_url, "customers-run", OLDER, "c")
    release = threading.Event()
    customers = LoadThread(warehouse_url, "customers-run", pause_until=release.is_set)
    customers.start()
    assert customers.reading.wait(BOUND)
    orders = LoadThread(warehouse_url, "orders-run", entity="orders", lock_timeout=timedelta(0))
    orders.start()
    try:
        assert orders.outcome().records == 0  # ran to the end while customers held its lock
    finally:
        release.set()
    assert customers.outcome().records == 1
