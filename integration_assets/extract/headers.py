"""Case-insensitive header lookup over any mapping.

The paginators, limiter and retry policy read response headers; taking a plain `Mapping`
(not only `httpx.Headers`) keeps them pure and testable with a dict.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx


def header(headers: Mapping[str, str], name: str) -> str | None:
    """The value of header `name` (any case), repeated headers joined with ", "; else None."""
    if isinstance(headers, httpx.Headers):
        return headers.get(name)
    lowered = name.lower()
    values = [value for key, value in headers.items() if key.lower() == lowered]
    return ", ".join(values) if values else None


def parse_http_date(value: str | None) -> datetime | None:
    """An HTTP `Date` header (RFC 9110: IMF-fixdate, or the obsolete forms) as aware UTC.

    None when absent or unparseable, so the caller can fall back to its own clock.
    """
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
