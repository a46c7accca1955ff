"""The cursor a sync saves: the newest timestamp seen, never past the walk's start less skew."""

from __future__ import annotations

from datetime import UTC, datetime

from integration_assets.connectors.spec import IncrementalSpec
from integration_assets.sync.cursor import CursorTracker, cursor_ceiling

UPDATED = IncrementalSpec(cursor_field="updated_at", params={"updated_at_min": "{since}"})
WALK_START = datetime(2024, 10, 1, 12, 0, tzinfo=UTC)
CEILING = cursor_ceiling(WALK_START, 60)


def _cursor(previous: str | None, *stamps: str) -> str | None:
    tracker = CursorTracker(UPDATED, previous, CEILING)
    tracker.observe({"updated_at": stamp} for stamp in stamps)
    return tracker.cursor


def test_the_cursor_is_the_newest_timestamp_seen_when_older_than_the_ceiling() -> None:
    assert datetime(2024, 10, 1, 11, 59, tzinfo=UTC) == CEILING
    assert _cursor(None, "2024-10-01T06:00:00-05:00", "2024-10-01T09:00:00Z") == (
        "2024-10-01T11:00:00+00:00"
    )


def test_a_record_changed_during_the_walk_or_dated_ahead_cannot_carry_it_past_the_start() -> None:
    assert _cursor(None, "2024-10-01T09:00:00Z", "2024-10-01T12:05:00Z") == CEILING.isoformat()
    assert _cursor(None, "2030-01-01T00:00:00Z") == CEILING.isoformat()


def test_it_never_moves_back_except_from_beyond_the_ceiling() -> None:
    assert _cursor("2024-10-01T10:00:00+00:00", "2024-10-01T09:00:00Z") == (
        "2024-10-01T10:00:00+00:00"
    )
    # A cursor an earlier version saved from a future-dated record is pulled back.
    assert _cursor("2030-01-01T00:00:00+00:00") == CEILING.isoformat()
    assert CursorTracker(UPDATED, "2030-01-01T00:00:00+00:00").cursor == (
        "2030-01-01T00:00:00+00:00"
    )  # no walk start known (no cap): as before
    assert cursor_ceiling(None, 60) is None
