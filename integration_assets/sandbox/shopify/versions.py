"""Which Admin API version Shopify serves for the version a request names, on a given day.

From https://shopify.dev/docs/api/usage/versioning: a stable version comes out on the first
day of each quarter (`YYYY-01`, `-04`, `-07`, `-10`) and is supported for at least 12 months;
the next quarter's version is already open as the release candidate; a request for a version
that is no longer supported is answered with the oldest supported stable version ("falls
forward"), and every answer names the version it used in `X-Shopify-API-Version`. A version
string that names no release (a month off the quarter, a quarter further ahead than the
release candidate) is not an endpoint at all: 404.

The day is the simulator's `api_date` (by default the real date: which versions exist
follows the calendar, not the simulated shop's clock).
"""

from __future__ import annotations

import re
from datetime import date

QUARTER_MONTHS = (1, 4, 7, 10)
SUPPORT_MONTHS = 12
_VERSION = re.compile(r"^(\d{4})-(\d{2})$")


def _quarter_index(year: int, month: int) -> int:
    return year * 4 + (month - 1) // 3


def _name(index: int) -> str:
    year, quarter = divmod(index, 4)
    return f"{year:04d}-{quarter * 3 + 1:02d}"


def _latest_stable(today: date) -> int:
    return _quarter_index(today.year, today.month)


def supported_versions(today: date) -> list[str]:
    """The stable versions supported on `today`, oldest first (four: 12 months of quarters)."""
    latest = _latest_stable(today)
    return [_name(index) for index in range(latest - SUPPORT_MONTHS // 3 + 1, latest + 1)]


def release_candidate(today: date) -> str:
    """The next quarter's version, open before its release."""
    return _name(_latest_stable(today) + 1)


def served_version(requested: str, today: date) -> str | None:
    """The version Shopify answers `requested` with on `today`; None when it is no version."""
    match = _VERSION.match(requested)
    if match is None:
        return None
    year, month = int(match[1]), int(match[2])
    if month not in QUARTER_MONTHS:
        return None
    supported = supported_versions(today)
    index = _quarter_index(year, month)
    if requested in supported or requested == release_candidate(today):
        return requested
    if index < _quarter_index(*(int(part) for part in supported[0].split("-"))):
        return supported[0]
    return None
