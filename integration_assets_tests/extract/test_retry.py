"""Backoff with full jitter stays under its ceiling; Retry-After is read in both forms."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from integration_assets.extract.retry import BackoffPolicy, parse_retry_after


def test_full_jitter_stays_within_the_exponential_ceiling_and_the_cap() -> None:
    policy = BackoffPolicy(base_seconds=0.5, cap_seconds=4.0, max_attempts=6)
    rng = random.Random(7)
    for retry_number, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 4.0), (9, 4.0)]:
        delays = [policy.delay(retry_number, rng) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling / 2  # jitter spreads over the whole range


def test_policy_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        BackoffPolicy(max_attempts=0)


def test_retry_after_seconds_fractions_dates_and_garbage() -> None:
    now = datetime(2024, 10, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after("2.0") == 2.0
    assert parse_retry_after(" 0 ") == 0.0
    assert parse_retry_after("-3") == 0.0
    later = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert parse_retry_after(later, now=now) == 90.0
    earlier = format_datetime(now - timedelta(seconds=90), usegmt=True)
    assert parse_retry_after(earlier, now=now) == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("") is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("nan") is None
