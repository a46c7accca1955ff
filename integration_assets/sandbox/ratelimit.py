"""The vendors' rate limiters, as their docs describe them.

Shopify REST: a leaky bucket per app and shop, 40 requests deep, draining 2 per second; the
fill level is reported on every answer as `X-Shopify-Shop-Api-Call-Limit: n/40`, and an
overflowing request gets 429 with `Retry-After: 2.0`.

Klaviyo: fixed windows per account and endpoint, a burst window of one second and a steady
window of one minute (profiles 75/s and 750/min, events 350/s and 3,500/min); answers carry
`RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` for the steady window and a 429
carries `Retry-After` in whole seconds.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    """Whether a request may proceed, and what to tell the client."""

    allowed: bool
    headers: dict[str, str]


class LeakyBucket:
    """Shopify's request bucket for one access token."""

    def __init__(
        self,
        capacity: int = 40,
        leak_per_second: float = 2.0,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = capacity
        self.leak_per_second = leak_per_second
        self._now = now
        self._level = 0.0
        self._at = now()

    def take(self) -> Verdict:
        """Add one request to the bucket, or refuse it when the bucket is full."""
        moment = self._now()
        self._level = max(0.0, self._level - (moment - self._at) * self.leak_per_second)
        self._at = moment
        if self._level + 1 > self.capacity:
            return Verdict(
                False,
                {
                    "X-Shopify-Shop-Api-Call-Limit": f"{self.capacity}/{self.capacity}",
                    "Retry-After": "2.0",
                },
            )
        self._level += 1
        used = min(self.capacity, math.ceil(self._level))
        return Verdict(True, {"X-Shopify-Shop-Api-Call-Limit": f"{used}/{self.capacity}"})


class FixedWindows:
    """Klaviyo's burst (1 s) and steady (60 s) windows for one account and endpoint."""

    def __init__(self, burst: int, steady: int, now: Callable[[], float] = time.monotonic) -> None:
        self.burst = burst
        self.steady = steady
        self._now = now
        self._burst_window = -1
        self._burst_used = 0
        self._steady_window = -1
        self._steady_used = 0

    def take(self) -> Verdict:
        """Count one request against both windows, or refuse it when either is spent."""
        moment = self._now()
        burst_window, steady_window = int(moment), int(moment // 60)
        if burst_window != self._burst_window:
            self._burst_window, self._burst_used = burst_window, 0
        if steady_window != self._steady_window:
            self._steady_window, self._steady_used = steady_window, 0
        steady_reset = max(1, math.ceil((steady_window + 1) * 60 - moment))
        if self._steady_used >= self.steady:
            return Verdict(False, {"Retry-After": str(steady_reset)})
        if self._burst_used >= self.burst:
            return Verdict(
                False, {"Retry-After": str(max(1, math.ceil(burst_window + 1 - moment)))}
            )
        self._burst_used += 1
        self._steady_used += 1
        return Verdict(
            True,
            {
                "RateLimit-Limit": str(self.steady),
                "RateLimit-Remaining": str(self.steady - self._steady_used),
                "RateLimit-Reset": str(steady_reset),
            },
        )
