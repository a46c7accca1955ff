"""Timestamps as the vendors write and read them.

Shopify writes times in the shop's own time zone with its UTC offset (`2024-03-01T10:15:00-05:00`,
and `-04:00` in summer: the offset changes with daylight saving, a classic trap for anyone who
compares those strings). Klaviyo writes UTC (`2024-03-01T15:15:00+00:00`). Both accept ISO 8601
in filters. The sandbox keeps every time as integer epoch seconds and only formats at the edge.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from datetime import UTC, date, datetime, timedelta, timezone
from email.utils import formatdate
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_EPOCH = datetime(1970, 1, 1)
_SPACE_OFFSET = re.compile(r" (\d{2}:?\d{2})$")


_TIMES_OF_DAY = tuple(
    f"{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}" for second in range(86400)
)
"""Every `HH:MM:SS` of a day: formatting a timestamp becomes two lookups and a join."""


@lru_cache(maxsize=65536)
def _day(days: int) -> str:
    return (_EPOCH + timedelta(days=days)).strftime("%Y-%m-%dT")


def naive_iso(seconds: int) -> str:
    """`YYYY-MM-DDTHH:MM:SS` for whole epoch seconds, without any zone suffix."""
    days, second = divmod(seconds, 86400)
    return _day(days) + _TIMES_OF_DAY[second]


def utc_iso(seconds: int) -> str:
    """UTC in Klaviyo's spelling: `2024-03-01T15:15:00+00:00`."""
    return naive_iso(seconds) + "+00:00"


def http_date(seconds: int) -> str:
    """An HTTP `Date` value (RFC 9110 IMF-fixdate): `Tue, 01 Oct 2024 12:00:00 GMT`."""
    return formatdate(seconds, usegmt=True)


def _suffix(offset: int) -> str:
    sign = "-" if offset < 0 else "+"
    minutes = abs(offset) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


class ShopClock:
    """Formats epoch seconds in one shop's time zone, daylight saving included.

    The zone's transitions are computed once (1990-2060) so formatting is a bisect and a string
    join, cheap enough to run for every timestamp of a million-record walk.
    """

    def __init__(self, tz_name: str = "America/New_York") -> None:
        self.tz_name = tz_name
        self._starts, self._offsets = _transitions(tz_name)
        self._suffixes = [_suffix(offset) for offset in self._offsets]

    def offset(self, seconds: float) -> int:
        """The zone's UTC offset in seconds at that instant."""
        return self._offsets[bisect_right(self._starts, seconds) - 1]

    def iso(self, seconds: int) -> str:
        """Local time with its offset, as Shopify writes it."""
        position = bisect_right(self._starts, seconds) - 1
        days, second = divmod(seconds + self._offsets[position], 86400)
        return _day(days) + _TIMES_OF_DAY[second] + self._suffixes[position]

    def parse(self, text: str) -> float | None:
        """Parse an ISO 8601 filter value; a time without offset is read in the shop's zone."""
        moment = parse_iso(text)
        if moment is None:
            return None
        if moment.tzinfo is None:
            naive = (moment - _EPOCH).total_seconds()
            return naive - self.offset(naive - self.offset(naive))
        return moment.timestamp()


def parse_iso(text: str) -> datetime | None:
    """Parse ISO 8601 leniently: `Z`, fractions, bare dates, and a `+` that a URL made a space."""
    cleaned = _SPACE_OFFSET.sub(r"+\1", text.strip())
    if not cleaned:
        return None
    try:
        return datetime.fromisoformat(cleaned)
    except ValueError:
        try:
            day = date.fromisoformat(cleaned)
        except ValueError:
            return None
        return datetime(day.year, day.month, day.day)


def parse_utc(text: str) -> float | None:
    """Parse an ISO 8601 value to epoch seconds, reading a time without offset as UTC."""
    moment = parse_iso(text)
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


@lru_cache(maxsize=8)
def _transitions(tz_name: str) -> tuple[list[float], list[int]]:
    """(start instants, offsets) of every UTC-offset period of the zone between 1990 and 2060."""
    try:
        zone: timezone | ZoneInfo = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        zone = timezone(timedelta(hours=-5))

    def offset_at(seconds: int) -> int:
        delta = datetime.fromtimestamp(seconds, zone).utcoffset()
        return int(delta.total_seconds()) if delta is not None else 0

    first = int(datetime(1990, 1, 1, tzinfo=UTC).timestamp())
    last = int(datetime(2060, 1, 1, tzinfo=UTC).timestamp())
    starts: list[float] = [float("-inf")]
    offsets = [offset_at(first)]
    probe = first
    step = 15 * 86400
    while probe < last:
        following = probe + step
        if offset_at(following) != offsets[-1]:
            low, high = probe, following
            while high - low > 1:
                middle = (low + high) // 2
                if offset_at(middle) == offsets[-1]:
                    low = middle
                else:
                    high = middle
            starts.append(float(high))
            offsets.append(offset_at(high))
        probe = following
    return starts, offsets
