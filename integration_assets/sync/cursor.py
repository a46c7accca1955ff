"""The incremental cursor: the newest source timestamp a sync has seen, capped by the walk's start.

Pages arrive in the vendor's order (usually by id), not by timestamp, so the cursor is only
known once every page of the window has been read; it is kept as an aware UTC datetime and
stored as ISO 8601 text with an offset. Record timestamps are read by the project's one rule
(`integration_assets/timestamps.py`): a timestamp without an offset is not an instant and
does not move the cursor.

The cap: the saved cursor never passes the moment the walk began (on the vendor's clock,
from the first answer's `Date` header) less the connection's clock-skew allowance. Without
it, a record on a page already read that changed while the walk went on could be older than
(saved cursor - lookback) and never be asked for again: every walk longer than the lookback
was exposed (200,000 Shopify customers at 2 requests/s take about 7 minutes against a 300 s
lookback). And one record dated in the future (a Klaviyo event's `datetime` is the sender's)
pushed the cursor past now, so the records that came after it were skipped. Under the cap
every change made after the walk began is newer than the saved cursor.

Otherwise the cursor never moves backwards, except that a previous cursor beyond the cap (one
saved before the cap existed, from a future-dated record) is pulled back to it: that only
re-reads more.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from integration_assets.connectors.spec import IncrementalSpec
from integration_assets.paths import PathError, build_getter, parse_path
from integration_assets.timestamps import parse_instant


def cursor_ceiling(walk_started_at: datetime | None, clock_skew_seconds: float) -> datetime | None:
    """The latest cursor a walk that began at `walk_started_at` may save (None: no cap)."""
    if walk_started_at is None:
        return None
    return walk_started_at - timedelta(seconds=clock_skew_seconds)


class CursorTracker:
    """Follows the maximum of an entity's cursor field across the records of one sync.

    `ceiling` (see `cursor_ceiling`) caps the cursor it reports; None means no cap.
    """

    def __init__(
        self,
        incremental: IncrementalSpec | None,
        previous: str | None,
        ceiling: datetime | None = None,
    ) -> None:
        self._get = build_getter(parse_path(incremental.cursor_field)) if incremental else None
        self._max = parse_instant(previous)
        self._ceiling = ceiling

    def observe(self, records: Iterable[dict[str, Any]]) -> None:
        if self._get is None:
            return
        get, newest = self._get, self._max
        for record in records:
            try:
                value = get(record)
            except PathError:  # a record of another shape has no cursor value; the mapping
                continue  # quarantines it
            stamp = parse_instant(value)
            if stamp is not None and (newest is None or stamp > newest):
                newest = stamp
        self._max = newest

    @property
    def newest(self) -> datetime | None:
        """The newest timestamp seen (or the previous cursor), without the cap: for the lag."""
        return self._max

    @property
    def cursor(self) -> str | None:
        """The cursor to save: the newest timestamp seen, no later than the ceiling."""
        if self._max is None:
            return None
        if self._ceiling is not None and self._max > self._ceiling:
            return self._ceiling.isoformat()
        return self._max.isoformat()
