"""The state of one simulated entity: which record indices exist, at which version, since when.

Records are never stored. Index *i* (0, 1, 2 …) is the only identity; the vendor id, the
timestamps and every field are functions of (seed, i, version). What this module keeps is the
small bookkeeping that changes over time:

* creation time of each index: an arithmetic run per batch (`_Run`), so `created(i)` is a bisect
  over a handful of runs and strictly increases with *i*;
* the *base* update time, also strictly increasing with *i*, so a time filter maps to an index
  interval found by binary search;
* `versions` / `changed_at` for the few indices updated since, and `deleted` for the vanished.

A filter such as `updated_at_min=X` is therefore served as the merge of an index interval of
untouched records and the (small, sorted) set of changed ones: each page costs
O(page size + log n + changes in the window), never O(n).
"""

from __future__ import annotations

import heapq
import itertools
import random
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import Enum

DEFAULT_SPAN = 3 * 365 * 86400
"""How far back the initial records' creation times reach before the sandbox clock."""


@dataclass(frozen=True)
class Window:
    """Bounds on one timestamp; strict bounds exclude the bound itself."""

    low: float | None = None
    low_strict: bool = False
    high: float | None = None
    high_strict: bool = False

    def contains(self, value: float) -> bool:
        """Whether a timestamp satisfies both bounds."""
        if self.low is not None and (value <= self.low if self.low_strict else value < self.low):
            return False
        return not (
            self.high is not None
            and (value >= self.high if self.high_strict else value > self.high)
        )

    def narrowed(self, other: Window) -> Window:
        """The intersection of two windows (both sets of bounds must hold)."""
        low, low_strict = self.low, self.low_strict
        if other.low is not None and (
            low is None or other.low > low or (other.low == low and other.low_strict)
        ):
            low, low_strict = other.low, other.low_strict
        high, high_strict = self.high, self.high_strict
        if other.high is not None and (
            high is None or other.high < high or (other.high == high and other.high_strict)
        ):
            high, high_strict = other.high, other.high_strict
        return Window(low, low_strict, high, high_strict)


class Predicate:
    """A per-record condition that no index interval can express (e.g. an order's status).

    `count_base` may count the matches among version-0 records of an index interval in O(1),
    which keeps `count.json` cheap; without it counting falls back to a scan.
    """

    key: Hashable = None

    def matches(self, index: int, version: int) -> bool:
        """Whether record `index` at `version` satisfies the condition."""
        raise NotImplementedError

    def count_base(self, start: int, stop: int) -> int | None:
        """Matches among indices [start, stop) at version 0, or None when not computable."""
        return None


@dataclass(frozen=True)
class Selection:
    """Which records a request asks for, in the store's own terms (indices and windows)."""

    index_low: int = 0
    index_high: int | None = None
    created: Window = field(default_factory=Window)
    updated: Window = field(default_factory=Window)
    indices: tuple[int, ...] | None = None
    predicates: tuple[Predicate, ...] = ()

    def matches(self, index: int, version: int) -> bool:
        """Whether every predicate holds (bounds are checked by the store)."""
        return all(predicate.matches(index, version) for predicate in self.predicates)


class Order(Enum):
    """Sort orders the store can stream without sorting: by index, or by last update."""

    INDEX = "index"
    UPDATED = "updated"


@dataclass(frozen=True)
class Row:
    """One selected record: its index, version and last update, plus its sort key."""

    key: int | tuple[float, int]
    index: int
    version: int
    updated: int


@dataclass(frozen=True)
class _Run:
    """Creation times of a batch of consecutive indices: start + (i - first) * step."""

    first: int
    start: int
    step: int


@dataclass(frozen=True)
class Mutation:
    """What one call to `advance` did to a store."""

    created: range
    updated: tuple[int, ...]
    deleted: tuple[int, ...]


class EntityStore:
    """Bookkeeping for one entity (customers, orders, profiles …) of one simulated account."""

    def __init__(self, name: str, base_count: int, clock: int, span: int = DEFAULT_SPAN) -> None:
        self.name = name
        self.base_count = base_count
        self.clock0 = clock
        step = max(2, span // max(base_count, 1))
        origin = clock - step * base_count - 1
        self._runs = [_Run(0, origin, step)]
        self._run_firsts = [0]
        self.total = base_count
        self.latest = clock
        self.versions: dict[int, int] = {}
        self.changed_at: dict[int, int] = {}
        self.deleted: set[int] = set()
        self.generation = 0
        self._by_time: list[tuple[int, int]] = []
        self._touched: list[int] = []
        self._changed_cache: dict[Hashable, tuple[list[Row], list[int | tuple[float, int]]]] = {}

    # --- time of each index -------------------------------------------------------------

    def created_at(self, index: int) -> int:
        """When record `index` was created (strictly increasing with the index)."""
        run = self._runs[bisect_right(self._run_firsts, index) - 1]
        return run.start + (index - run.first) * run.step

    def base_updated_at(self, index: int) -> int:
        """When record `index` was last updated before any `advance` touched it."""
        created = self.created_at(index)
        if index < self.base_count:
            return (created + self.clock0) // 2
        return created

    def updated_at(self, index: int) -> int:
        """When record `index` was last updated, changes included."""
        changed = self.changed_at.get(index)
        return changed if changed is not None else self.base_updated_at(index)

    def version(self, index: int) -> int:
        """How many times record `index` was updated by `advance` (0 = as generated)."""
        return self.versions.get(index, 0)

    def exists(self, index: int) -> bool:
        """Whether the index was ever created and has not been deleted."""
        return 0 <= index < self.total and index not in self.deleted

    @property
    def live_count(self) -> int:
        """How many records exist now."""
        return self.total - len(self.deleted)

    # --- changes ------------------------------------------------------------------------

    def mutate(
        self,
        rng: random.Random,
        start: int,
        end: int,
        updated: int,
        created: int,
        deleted: int,
        updatable: Callable[[int], bool] | None = None,
    ) -> Mutation:
        """Create, update and delete records at times within (start, end]; returns what moved.

        Updated and deleted records are drawn from those existing before this call; new records
        take the next indices with creation times spread over the interval. The interval never
        starts before the latest time already handed out, which keeps creation and base update
        times increasing with the index (the invariant every binary search here relies on).
        """
        start = max(start, self.latest)
        end = max(end, start)
        existing = self.total
        touched = self._pick_live(rng, updated + deleted, existing, updatable)
        to_update, to_delete = touched[:updated], touched[updated : updated + deleted]
        if created > 0:
            step = max(1, (end - start) // (created + 1))
            self._runs.append(_Run(existing, start + step, step))
            self._run_firsts.append(existing)
            self.total += created
        if to_update:
            step = max(1, (end - start) // (len(to_update) + 1))
            for position, index in enumerate(to_update):
                self.versions[index] = self.versions.get(index, 0) + 1
                self.changed_at[index] = start + (position + 1) * step
        self.deleted.update(to_delete)
        self.latest = max(end, self.last_created_at())
        self._reindex()
        return Mutation(range(existing, self.total), tuple(to_update), tuple(to_delete))

    def last_created_at(self) -> int:
        """Creation time of the newest index (the store's own notion of 'latest')."""
        return self.created_at(self.total - 1) if self.total else self.clock0

    def _pick_live(
        self,
        rng: random.Random,
        count: int,
        below: int,
        allowed: Callable[[int], bool] | None,
    ) -> list[int]:
        """`count` distinct live indices under `below`, drawn with the given generator."""
        live = below - sum(1 for index in self.deleted if index < below)
        count = min(count, live)
        chosen: list[int] = []
        seen: set[int] = set()
        attempts = 0
        while len(chosen) < count and attempts < 20 * count + 100:
            attempts += 1
            index = rng.randrange(below)
            if index in seen or index in self.deleted:
                continue
            seen.add(index)
            if allowed is None or allowed(index):
                chosen.append(index)
        return chosen

    def _reindex(self) -> None:
        self._by_time = sorted((ts, index) for index, ts in self.changed_at.items())
        self._touched = sorted(self.deleted.union(self.versions))
        self.generation += 1
        self._changed_cache.clear()

    # --- reading ------------------------------------------------------------------------

    def select(
        self,
        selection: Selection,
        order: Order = Order.INDEX,
        descending: bool = False,
        after: int | tuple[float, int] | None = None,
        limit: int = 50,
    ) -> list[Row]:
        """Up to `limit` matching rows after the cursor key `after`, in the requested order."""
        if selection.indices is not None:
            rows = self._explicit_rows(selection, order, descending)
            if after is not None:
                rows = [row for row in rows if _beyond(row.key, after, descending)]
            return rows[:limit]
        start, stop = self._index_bounds(selection)
        base_start, base_stop = self._base_bounds(selection, start, stop)
        streams = (
            self._base_rows(selection, order, descending, after, base_start, base_stop),
            self._changed_rows(selection, order, descending, after, start, stop),
        )
        merged = heapq.merge(*streams, key=_row_key, reverse=descending)
        return list(itertools.islice(merged, limit))

    def count(self, selection: Selection) -> int:
        """How many records match, without walking the untouched ones."""
        if selection.indices is not None:
            return len(self._explicit_rows(selection, Order.INDEX, False))
        start, stop = self._index_bounds(selection)
        base_start, base_stop = self._base_bounds(selection, start, stop)
        total = self._count_base(selection, base_start, base_stop)
        first = bisect_left(self._touched, base_start)
        last = bisect_left(self._touched, base_stop)
        for index in self._touched[first:last]:
            if selection.matches(index, 0):
                total -= 1
        changed = self._changed_list(selection, Order.INDEX, start, stop)
        return total + sum(1 for row in changed if selection.matches(row.index, row.version))

    def iter_live(self, chunk: int = 1000) -> Iterator[list[Row]]:
        """Every live record in index order, in chunks (re-reading the state between chunks)."""
        after: int | None = None
        while True:
            rows = self.select(Selection(), Order.INDEX, False, after, chunk)
            if not rows:
                return
            yield rows
            after = rows[-1].index

    def _count_base(self, selection: Selection, start: int, stop: int) -> int:
        if stop <= start:
            return 0
        if not selection.predicates:
            return stop - start
        counts = [predicate.count_base(start, stop) for predicate in selection.predicates]
        if len(counts) == 1 and counts[0] is not None:
            return counts[0]
        return sum(1 for index in range(start, stop) if selection.matches(index, 0))

    def _index_bounds(self, selection: Selection) -> tuple[int, int]:
        """Index interval allowed by explicit index bounds and the creation-time window."""
        start = max(selection.index_low, 0)
        stop = self.total if selection.index_high is None else min(selection.index_high, self.total)
        window = selection.created
        if window.low is not None:
            start = max(start, self._first_index(self.created_at, window.low, window.low_strict))
        if window.high is not None:
            stop = min(
                stop, self._first_index(self.created_at, window.high, not window.high_strict)
            )
        return start, max(start, stop)

    def _base_bounds(self, selection: Selection, start: int, stop: int) -> tuple[int, int]:
        """Narrow an index interval by the update window, valid for untouched records only."""
        window = selection.updated
        if window.low is not None:
            start = max(
                start, self._first_index(self.base_updated_at, window.low, window.low_strict)
            )
        if window.high is not None:
            stop = min(
                stop, self._first_index(self.base_updated_at, window.high, not window.high_strict)
            )
        return start, max(start, stop)

    def _first_index(self, time_of: Callable[[int], int], bound: float, strict: bool) -> int:
        """First index whose (increasing) time is > bound when strict, else >= bound."""
        low, high = 0, self.total
        while low < high:
            middle = (low + high) // 2
            value = time_of(middle)
            if value > bound or (not strict and value == bound):
                high = middle
            else:
                low = middle + 1
        return low

    def _base_rows(
        self,
        selection: Selection,
        order: Order,
        descending: bool,
        after: int | tuple[float, int] | None,
        start: int,
        stop: int,
    ) -> Iterator[Row]:
        """Untouched records of [start, stop), lazily, in order, beyond the cursor."""
        if after is not None:
            if descending:
                stop = min(stop, self._cursor_position(order, after))
            else:
                start = max(start, self._cursor_position(order, after, ascending=True))
        versions, deleted = self.versions, self.deleted
        indices: Iterable[int] = (
            range(stop - 1, start - 1, -1) if descending else range(start, stop)
        )
        by_updated = order is Order.UPDATED
        for index in indices:
            if index in versions or index in deleted or not selection.matches(index, 0):
                continue
            updated = self.base_updated_at(index)
            yield Row((updated, index) if by_updated else index, index, 0, updated)

    def _cursor_position(
        self, order: Order, after: int | tuple[float, int], ascending: bool = False
    ) -> int:
        """Ascending: first index whose key is > `after`. Descending: first whose key is >= it."""
        if order is Order.INDEX:
            assert isinstance(after, int)
            return after + 1 if ascending else after
        assert isinstance(after, tuple)
        stamp, last = after
        position = self._first_index(self.base_updated_at, stamp, False)
        at_stamp = position < self.total and self.base_updated_at(position) == stamp
        if at_stamp and (position <= last if ascending else position < last):
            position += 1
        return position

    def _changed_rows(
        self,
        selection: Selection,
        order: Order,
        descending: bool,
        after: int | tuple[float, int] | None,
        start: int,
        stop: int,
    ) -> Iterator[Row]:
        rows, keys = self._changed_keyed(selection, order, start, stop)
        if descending:
            end = len(rows) if after is None else bisect_left(keys, after)
            candidates: Iterable[Row] = reversed(rows[:end])
        else:
            begin = 0 if after is None else bisect_right(keys, after)
            candidates = rows[begin:]
        for row in candidates:
            if selection.matches(row.index, row.version):
                yield row

    def _changed_list(self, selection: Selection, order: Order, start: int, stop: int) -> list[Row]:
        """Live changed records inside the index interval and update window, sorted by key."""
        return self._changed_keyed(selection, order, start, stop)[0]

    def _changed_keyed(
        self, selection: Selection, order: Order, start: int, stop: int
    ) -> tuple[list[Row], list[int | tuple[float, int]]]:
        """`_changed_list` and its keys (for bisecting to a cursor), cached per state."""
        window = selection.updated
        cache_key = (order, start, stop, window)
        cached = self._changed_cache.get(cache_key)
        if cached is not None:
            return cached
        times = self._by_time
        first = 0 if window.low is None else bisect_left(times, (window.low, -1))
        last = len(times) if window.high is None else bisect_right(times, (window.high, self.total))
        rows = []
        for updated, index in times[first:last]:
            if start <= index < stop and index not in self.deleted and window.contains(updated):
                key: int | tuple[float, int] = (updated, index) if order is Order.UPDATED else index
                rows.append(Row(key, index, self.versions[index], updated))
        if order is Order.INDEX:
            rows.sort(key=_row_key)
        if len(self._changed_cache) > 64:
            self._changed_cache.clear()
        keyed = (rows, [row.key for row in rows])
        self._changed_cache[cache_key] = keyed
        return keyed

    def _explicit_rows(self, selection: Selection, order: Order, descending: bool) -> list[Row]:
        assert selection.indices is not None
        start, stop = self._index_bounds(selection)
        rows = []
        for index in sorted(set(selection.indices)):
            if not (start <= index < stop) or index in self.deleted:
                continue
            version, updated = self.version(index), self.updated_at(index)
            if selection.updated.contains(updated) and selection.matches(index, version):
                key: int | tuple[float, int] = (updated, index) if order is Order.UPDATED else index
                rows.append(Row(key, index, version, updated))
        rows.sort(key=_row_key, reverse=descending)
        return rows


def _row_key(row: Row) -> int | tuple[float, int]:
    return row.key


def _beyond(key: int | tuple[float, int], after: int | tuple[float, int], descending: bool) -> bool:
    return key < after if descending else key > after  # type: ignore[operator]
