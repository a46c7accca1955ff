"""Timestamps: the one rule for reading an instant, and HTTP dates.

Vendor timestamps, saved cursors and the SQLite storage form of timestamp columns are ISO 8601
text; a few vendors send epoch seconds. The rule, everywhere:

- ISO 8601 with an offset (`+02:00`, `-05:00`) or `Z`: that instant, returned in UTC.
- ISO 8601 without an offset: refused. Its instant is unknown (the vendor's local time? the
  server's? UTC?), and guessing moves data by hours: a cursor guessed too late skips records
  for good. Nothing the project writes lacks an offset: the cursor tracker saves aware
  `isoformat()` text and SQLite timestamp columns are written by `load/types.utc_iso`; a
  saved cursor without one (edited by hand) is therefore unknown, so the next sync reads
  everything again (the upsert guard keeps that idempotent) rather than skip anything.
- Integer (and, in the lenient reader, float) epoch seconds: that instant.
- Anything else: refused.

`instant_from_iso` raises `TimestampError` with the reason (the mapping's datetime converter
turns it into a `ConversionError`, the load stage into a storage error); `parse_instant` is the
lenient reader (None for anything that is not an instant) that cursor tracking and sync state
use, where a non-timestamp cursor is an opaque token, not an error. HTTP `Date` headers have
their own format (RFC 9110) and reader, `parse_http_date`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

NOT_ISO = "not an ISO 8601 timestamp"
NO_OFFSET = "no UTC offset, so the instant is ambiguous (add Z or +hh:mm)"
OUT_OF_RANGE = "outside the representable years"
EPOCH_OUT_OF_RANGE = "epoch seconds out of range"


class TimestampError(ValueError):
    """A value that is not an instant under the rule above; `reason` says why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def in_utc(parsed: datetime) -> datetime:
    """An aware datetime converted to UTC (TimestampError when UTC cannot represent it)."""
    try:
        return parsed.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        raise TimestampError(OUT_OF_RANGE) from None


def aware_in_utc(value: datetime) -> datetime:
    """`value` in UTC; a naive datetime is refused (its instant is unknown)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise TimestampError(NO_OFFSET)
    return in_utc(value)


def instant_from_iso(text: str) -> datetime:
    """The instant of ISO 8601 `text` with an offset or `Z`, in UTC; else TimestampError."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise TimestampError(NOT_ISO) from None
    if parsed.tzinfo is None:
        raise TimestampError(NO_OFFSET)
    # fromisoformat only produces fixed offsets, which always have a utcoffset().
    return in_utc(parsed)


def instant_from_epoch(seconds: float) -> datetime:
    """The instant `seconds` after 1970-01-01T00:00:00Z; TimestampError when out of range."""
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        raise TimestampError(EPOCH_OUT_OF_RANGE) from None


def parse_instant(value: Any) -> datetime | None:
    """The instant `value` denotes (ISO 8601 with offset or `Z`, epoch seconds), else None."""
    if value is None or isinstance(value, bool):
        return None
    try:
        if isinstance(value, int | float):
            return instant_from_epoch(value)
        if isinstance(value, str):
            return instant_from_iso(value)
    except TimestampError:
        return None
    return None


def parse_http_date(value: str | None) -> datetime | None:
    """An HTTP `Date` header (RFC 9110: IMF-fixdate, or the obsolete forms) as aware UTC.

    None when absent or unparseable, so the caller can fall back to its own clock. HTTP dates
    are GMT by definition, so the obsolete forms without a zone are UTC (RFC 9110 5.6.7).
    """
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
