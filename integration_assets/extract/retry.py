"""When to try a request again, and how long to wait first.

- Exponential backoff with full jitter (`uniform(0, min(cap, base * 2**n))`): concurrent streams
  that failed together do not retry together.
- `Retry-After` (delta seconds, or an HTTP-date) on 429/503 wins over the backoff: the vendor
  knows when it will take us back.
- Retried: statuses in the connector's `retryable_statuses` (429 and 5xx by default), timeouts,
  dropped connections and protocol errors (a truncated body with a Content-Length).
- Never retried: other 4xx (401/403 become an authentication error naming the env var to fix;
  400/404/422 are our request being wrong, and repeating it cannot help).
- A 200 whose body is not JSON or lacks the records: retried `malformed_retries` times (2 by
  default), because a body cut short by a proxy or a dropped connection is transient, then it
  fails with `MalformedPageError`. It is not retried for ever, because a vendor that really
  returns a broken page returns it every time, and the user must hear about it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import httpx

from integration_assets.retry_budget import DEFAULT_BUDGET

# Transport failures worth another attempt. UnsupportedProtocol, InvalidURL etc. are not: the
# same request would fail the same way.
RETRYABLE_TRANSPORT_ERRORS: tuple[type[Exception], ...] = (
    httpx.TimeoutException,
    httpx.NetworkError,
    httpx.RemoteProtocolError,
)

# Statuses whose Retry-After we honour (RFC 9110 defines it for 503 and 3xx; RFC 6585 for 429).
RETRY_AFTER_STATUSES: frozenset[int] = frozenset({429, 503})


@dataclass(frozen=True)
class BackoffPolicy:
    """Backoff parameters; `max_attempts` counts the first try."""

    base_seconds: float = DEFAULT_BUDGET.http_backoff_base_seconds
    cap_seconds: float = DEFAULT_BUDGET.http_backoff_cap_seconds
    max_attempts: int = DEFAULT_BUDGET.http_max_attempts
    malformed_retries: int = 2

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_seconds < 0 or self.cap_seconds < 0:
            raise ValueError("backoff base and cap must not be negative")
        if self.malformed_retries < 0:
            raise ValueError("malformed_retries must not be negative")

    def delay(self, retry_number: int, rng: random.Random) -> float:
        """Seconds to wait before retry `retry_number` (1 for the first retry), full jitter."""
        ceiling = min(self.cap_seconds, self.base_seconds * 2 ** max(0, retry_number - 1))
        return rng.uniform(0.0, ceiling)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` value (`"2"`, `"2.0"` or an HTTP-date), else None.

    Shopify sends fractional seconds (`2.0`), which RFC 9110 does not allow but we accept. A
    date in the past means "now" (0). Garbage means the header is ignored (None), so the caller
    falls back to its backoff.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if seconds != seconds or seconds in (float("inf"), float("-inf")):  # NaN / inf
            return None
        return max(0.0, seconds)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    reference = now or datetime.now(UTC)
    return max(0.0, (when - reference).total_seconds())
