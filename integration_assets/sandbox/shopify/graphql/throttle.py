"""Shopify's GraphQL cost bucket: points, not requests, restored continuously.

shopify.dev "GraphQL Admin API rate limits": each (app, store) pair has a bucket of cost
points that refills at the plan's restore rate (Standard 100 points/second, Advanced 200,
Plus 1000, Enterprise 2000). A query runs only when the bucket holds its *requested* cost;
after it ran, the difference to the *actual* cost is refunded. Standard shops report
`maximumAvailable: 2000.0`, `restoreRate: 100.0` in `extensions.cost.throttleStatus` (as
published answers show), with `currentlyAvailable` as an integer.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

STANDARD_MAXIMUM = 2000.0
STANDARD_RESTORE_RATE = 100.0
SINGLE_QUERY_MAX_COST = 1000


@dataclass(frozen=True)
class CostLimits:
    """A plan's bucket: how many points it holds and how fast they come back."""

    maximum_available: float = STANDARD_MAXIMUM
    restore_rate: float = STANDARD_RESTORE_RATE

    def __post_init__(self) -> None:
        if self.maximum_available <= 0 or self.restore_rate < 0:
            raise ValueError("maximum_available must be > 0 and restore_rate >= 0")


class CostBucket:
    """The points one access token may still spend."""

    def __init__(self, limits: CostLimits, now: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._now = now
        self._available = limits.maximum_available
        self._at = now()

    def _restore(self) -> None:
        moment = self._now()
        restored = (moment - self._at) * self.limits.restore_rate
        self._available = min(self.limits.maximum_available, self._available + restored)
        self._at = moment

    def take(self, requested: int) -> bool:
        """Reserve the requested cost, or refuse (the query is throttled) when it is missing."""
        self._restore()
        if requested > self._available:
            return False
        self._available -= requested
        return True

    def refund(self, points: int) -> None:
        """Give back what a query did not use (requested minus actual)."""
        self._restore()
        self._available = min(self.limits.maximum_available, self._available + max(0, points))

    def status(self) -> dict[str, float | int]:
        """`throttleStatus` as Shopify reports it."""
        self._restore()
        return {
            "maximumAvailable": float(self.limits.maximum_available),
            "currentlyAvailable": math.floor(self._available),
            "restoreRate": float(self.limits.restore_rate),
        }


def full_status(limits: CostLimits) -> dict[str, float | int]:
    """A full bucket's status, reported while rate limiting is switched off."""
    return {
        "maximumAvailable": float(limits.maximum_available),
        "currentlyAvailable": math.floor(limits.maximum_available),
        "restoreRate": float(limits.restore_rate),
    }
