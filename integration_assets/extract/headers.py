"""Case-insensitive header lookup over any mapping.

The paginators, limiter and retry policy read response headers; taking a plain `Mapping`
(not only `httpx.Headers`) keeps them pure and testable with a dict.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx


def header(headers: Mapping[str, str], name: str) -> str | None:
    """The value of header `name` (any case), repeated headers joined with ", "; else None."""
    if isinstance(headers, httpx.Headers):
        return headers.get(name)
    lowered = name.lower()
    values = [value for key, value in headers.items() if key.lower() == lowered]
    return ", ".join(values) if values else None
