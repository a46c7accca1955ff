"""A synthetic orders entity for the quality stories: hourly syncs with daily seasonality.

Volume follows a daily curve (busy afternoons, quiet nights) with multiplicative noise and
Poisson counts; columns have steady distributions: a key, a categorical status, a decimal
total, an integer item count, an e-mail with a few nulls, a boolean. Everything comes from a
seeded RNG, so every story replays the same week.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np

from integration_assets.quality.model import Dimension, SyncProfile, ValidationReport
from integration_assets.quality.profile import ColumnProfiler
from integration_assets.schema import ColumnSchema, ColumnType, TableSchema

ORDERS = TableSchema(
    "orders",
    (
        ColumnSchema("id", ColumnType.INTEGER, nullable=False),
        ColumnSchema("status", ColumnType.STRING),
        ColumnSchema("total", ColumnType.DECIMAL),
        ColumnSchema("items", ColumnType.INTEGER),
        ColumnSchema("email", ColumnType.STRING),
        ColumnSchema("test", ColumnType.BOOLEAN),
        ColumnSchema("updated_at", ColumnType.DATETIME),
    ),
    primary_key=("id",),
    source_updated_at="updated_at",
)
START = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday
STATUSES = ("paid", "pending", "refunded", "voided")
USUAL_SHARES = (0.6, 0.2, 0.1, 0.1)


def hourly_mean(at: datetime, base: float = 120.0) -> float:
    """Changed orders per hour: a daily curve peaking mid-afternoon UTC, a third at night."""
    return base * (1.0 + 0.6 * math.sin(2 * math.pi * (at.hour - 9) / 24))


@dataclass
class Week:
    """Generates the rows of each hourly sync of the week."""

    seed: int = 11
    next_id: int = 1

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)

    def count(self, at: datetime, factor: float = 1.0) -> int:
        noisy = hourly_mean(at) * float(self.rng.lognormal(0.0, 0.1))
        return int(self.rng.poisson(noisy * factor))

    def rows(
        self,
        at: datetime,
        n: int,
        shares: Sequence[float] = USUAL_SHARES,
        statuses: Sequence[str] = STATUSES,
    ) -> list[dict[str, Any]]:
        rng = self.rng
        chosen = rng.choice(len(statuses), size=n, p=np.asarray(shares) / sum(shares))
        totals = rng.gamma(2.0, 40.0, size=n)
        items = rng.integers(1, 6, size=n)
        nulls = rng.random(n) < 0.05
        tests = rng.random(n) < 0.02
        offsets = rng.uniform(-3600, 0, size=n)
        rows = []
        for i in range(n):
            rows.append(
                {
                    "id": self.next_id + i,
                    "status": statuses[int(chosen[i])],
                    "total": Decimal(f"{totals[i]:.2f}"),
                    "items": int(items[i]),
                    "email": None if nulls[i] else f"c{self.next_id + i}@example.com",
                    "test": bool(tests[i]),
                    "updated_at": at + timedelta(seconds=float(offsets[i])),
                }
            )
        self.next_id += n
        return rows


def profile_of(rows: Sequence[dict[str, Any]], batch: int = 100) -> SyncProfile:
    profiler = ColumnProfiler(ORDERS)
    for start in range(0, len(rows), batch):
        profiler.observe(rows[start : start + batch])
    return profiler.result()


def clean_report(records: int) -> ValidationReport:
    """Every record passed: two completeness and one validity evaluation per record."""
    return ValidationReport(
        records=records,
        passed=records,
        evaluated={Dimension.COMPLETENESS: 2 * records, Dimension.VALIDITY: records},
        failed={},
    )
