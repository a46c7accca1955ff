"""The column profiler: kinds from the schema and the data, exact counts, a bounded uniform
sample, folded categories, and distinct counts exact then estimated."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import numpy as np
import pytest

from integration_assets.quality.model import OTHER_CATEGORY, ColumnKind
from integration_assets.quality.profile import (
    EXACT_DISTINCT_LIMIT,
    SAMPLE_SIZE,
    TOP_CATEGORIES,
    ColumnProfiler,
    DistinctCounter,
)
from integration_assets.quality.settings import DriftSettings
from integration_assets.schema import ColumnSchema, ColumnType, TableSchema
from integration_assets_tests.quality.week import ORDERS, START, Week, profile_of


def test_columns_are_numeric_categorical_or_other_by_type_key_and_cardinality() -> None:
    profile = profile_of(Week(seed=1).rows(START, 500))
    kinds = {name: column.kind for name, column in profile.columns.items()}
    assert kinds == {
        "id": ColumnKind.OTHER,  # the key
        "status": ColumnKind.CATEGORICAL,
        "total": ColumnKind.NUMERIC,  # decimals
        "items": ColumnKind.NUMERIC,
        "email": ColumnKind.OTHER,  # free text: as many values as rows
        "test": ColumnKind.CATEGORICAL,  # booleans
        "updated_at": ColumnKind.OTHER,
    }
    assert profile.rows == 500
    assert profile.columns["id"].distinct == 500
    assert set(profile.columns["test"].categories) <= {"true", "false"}


def test_counts_and_nulls_add_up_over_batches() -> None:
    rows = Week(seed=2).rows(START, 1000)
    emails = [row["email"] for row in rows]
    profile = profile_of(rows, batch=37)
    email = profile.columns["email"]
    assert email.count == 1000
    assert email.nulls == emails.count(None)
    assert email.distinct == len({e for e in emails if e is not None})
    status = profile.columns["status"]
    assert sum(status.categories.values()) == 1000
    assert status.categories["paid"] == sum(row["status"] == "paid" for row in rows)


def test_the_numeric_sample_is_bounded_uniform_and_deterministic() -> None:
    table = TableSchema(
        "t", (ColumnSchema("k", ColumnType.INTEGER), ColumnSchema("x", ColumnType.FLOAT)), ("k",)
    )
    values = np.random.default_rng(3).normal(100.0, 15.0, 50_000)
    rows = [{"k": i, "x": float(v)} for i, v in enumerate(values)]

    def profile() -> tuple[float, ...]:
        profiler = ColumnProfiler(table)
        for start in range(0, len(rows), 1000):
            profiler.observe(rows[start : start + 1000])
        return profiler.result().columns["x"].sample

    sample = profile()
    assert len(sample) == SAMPLE_SIZE
    assert profile() == sample
    assert np.mean(sample) == pytest.approx(100.0, abs=1.5)
    # uniform over the whole stream: as many from the last half as from the first
    late = set(values[25_000:].tolist())
    assert 0.4 < sum(v in late for v in sample) / SAMPLE_SIZE < 0.6


def test_nan_and_infinities_count_as_nulls_and_decimals_as_numbers() -> None:
    table = TableSchema(
        "t", (ColumnSchema("x", ColumnType.FLOAT), ColumnSchema("d", ColumnType.DECIMAL)), ()
    )
    profiler = ColumnProfiler(table)
    profiler.observe(
        [
            {"x": 1.0, "d": Decimal("2.50")},
            {"x": float("nan"), "d": None},
            {"x": float("inf"), "d": Decimal("3")},
        ]
    )
    columns = profiler.result().columns
    assert (columns["x"].count, columns["x"].nulls, columns["x"].sample) == (3, 2, (1.0,))
    assert (columns["d"].nulls, columns["d"].sample) == (1, (2.5, 3.0))


def test_many_categories_keep_the_most_common_and_fold_the_rest() -> None:
    table = TableSchema("t", (ColumnSchema("c", ColumnType.STRING),), ())
    rows = [{"c": f"v{i % 30:02d}"} for i in range(3000)] + [{"c": "v00"}] * 100
    profiler = ColumnProfiler(table)
    profiler.observe(rows)
    column = profiler.result().columns["c"]
    assert column.kind == ColumnKind.CATEGORICAL
    assert column.distinct == 30
    assert len(column.categories) == TOP_CATEGORIES + 1
    assert column.categories["v00"] == 200
    assert column.categories[OTHER_CATEGORY] == 3100 - sum(
        n for name, n in column.categories.items() if name != OTHER_CATEGORY
    )
    assert column.categories[OTHER_CATEGORY] == 10 * 100


def test_excluded_columns_are_profiled_as_other() -> None:
    profile = ColumnProfiler(ORDERS, DriftSettings(exclude=("status", "total")))
    profile.observe(Week(seed=4).rows(START, 200))
    columns = profile.result().columns
    assert columns["status"].kind == ColumnKind.OTHER
    assert columns["total"].kind == ColumnKind.OTHER
    assert columns["status"].distinct == 4


def test_distinct_is_exact_up_to_the_limit_then_a_close_estimate() -> None:
    counter = DistinctCounter()
    counter.add([f"id-{i}" for i in range(EXACT_DISTINCT_LIMIT)] * 2)
    assert counter.exact and counter.estimate() == EXACT_DISTINCT_LIMIT
    for start in range(EXACT_DISTINCT_LIMIT, 100_000, 5000):
        counter.add([f"id-{i}" for i in range(start, start + 5000)])
    assert not counter.exact
    assert counter.estimate() == pytest.approx(100_000, rel=0.08)


def test_dates_and_json_documents_are_counted_for_nulls_and_distinct_only() -> None:
    table = TableSchema(
        "t", (ColumnSchema("at", ColumnType.DATETIME), ColumnSchema("doc", ColumnType.JSON)), ()
    )
    profiler = ColumnProfiler(table)
    profiler.observe(
        [{"at": datetime(2026, 1, i % 3 + 1, tzinfo=UTC), "doc": {"a": [i % 2]}} for i in range(9)]
        + [{"at": None, "doc": None}]
    )
    columns = profiler.result().columns
    assert (columns["at"].kind, columns["at"].distinct, columns["at"].nulls) == (
        ColumnKind.OTHER,
        3,
        1,
    )
    assert (columns["doc"].kind, columns["doc"].distinct) == (ColumnKind.OTHER, 2)


def test_a_value_that_is_no_number_counts_as_null_in_a_numeric_column() -> None:
    table = TableSchema("t", (ColumnSchema("x", ColumnType.INTEGER),), ())
    profiler = ColumnProfiler(table)
    profiler.observe([{"x": 1}, {"x": "n/a"}, {"x": 3}])
    column = profiler.result().columns["x"]
    assert (column.count, column.nulls, column.sample, column.distinct) == (3, 1, (1.0, 3.0), 2)


def test_personal_columns_of_a_small_shop_never_become_named_categories() -> None:
    """Sixty orders from twelve returning customers: their e-mails, first names, cities and
    zip codes repeat like categories would, but a profile is stored in `quality_metrics`,
    shown on `/quality` and named in drift alerts, so none of their values may be in it."""
    table = TableSchema(
        "orders",
        (
            ColumnSchema("id", ColumnType.INTEGER, nullable=False),
            ColumnSchema("email", ColumnType.STRING),
            ColumnSchema("phone", ColumnType.STRING),
            ColumnSchema("first_name", ColumnType.STRING),
            ColumnSchema("shipping_city", ColumnType.STRING),
            ColumnSchema("billing_zip", ColumnType.INTEGER),
            ColumnSchema("status", ColumnType.STRING),
        ),
        primary_key=("id",),
    )
    people = [
        (f"buyer{n}@example.com", f"+4915112345{n:02d}", f"Name{n}", f"Town{n % 4}", 10115 + n)
        for n in range(12)
    ]
    rows = [
        {
            "id": order,
            "email": people[order % 12][0],
            "phone": people[order % 12][1],
            "first_name": people[order % 12][2],
            "shipping_city": people[order % 12][3],
            "billing_zip": people[order % 12][4],
            "status": ("paid", "pending")[order % 2],
        }
        for order in range(60)
    ]
    profiler = ColumnProfiler(table)
    profiler.observe(rows)
    profile = profiler.result()

    for column in ("email", "phone", "first_name", "shipping_city", "billing_zip"):
        assert profile.columns[column].kind is ColumnKind.OTHER, column
        assert not profile.columns[column].categories, column
        assert not profile.columns[column].sample, column
    assert profile.columns["email"].distinct == 12  # still counted, never named
    stored = repr(profile)
    assert "buyer" not in stored and "Town" not in stored and "Name3" not in stored
    assert profile.columns["status"].categories == {"paid": 30, "pending": 30}
