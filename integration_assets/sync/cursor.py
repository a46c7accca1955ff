"""The incremental cursor: the newest source timestamp a sync has seen.

Pages arrive in the vendor's order (usually by id), not by timestamp, so the cursor is only
known once every page of the window has been read; it is kept as an aware UTC datetime and
stored as ISO 8601 text. It never moves backwards.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from integration_assets.connectors.spec import IncrementalSpec


def parse_timestamp(value: Any) -> datetime | None:
    """An aware UTC datetime from an ISO 8601 string (offset or `Z`) or epoch seconds."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed.astimezone(UTC) if parsed.tzinfo else None
    return None


class CursorTracker:
    """Follows the maximum of an entity's cursor field across the records of one sync."""

    def __init__(self, incremental: IncrementalSpec | None, previous: str | None) -> None:
        self._path = incremental.cursor_field.split(".") if incremental else None
        self._max = parse_timestamp(previous)

    def observe(self, records: Iterable[dict[str, Any]]) -> None:
        if self._path is None:
            return
        path, newest = self._path, self._max
        for record in records:
            value: Any = record
            for key in path:
                value = value.get(key) if isinstance(value, dict) else None
            stamp = parse_timestamp(value)
            if stamp is not None and (newest is None or stamp > newest):
                newest = stamp
        self._max = newest

    @property
    def cursor(self) -> str | None:
        return self._max.isoformat() if self._max else None
