"""Pandas or polars under the quality gate: the same rules over 100,000 mapped orders.

Runs one backend per process (so each peak RSS is its own) over the mapped Shopify orders
of `bench/quality_orders.py` (about 250,000 line items) in batches of 10,000: building the
frames from the mapped rows, then Pandera's lazy validation with the shipped order rules
(email, E.164, ISO 4217, six ranges, order_number unique, updated_after_created,
order_total_balances). The pandas side is the gate itself (`quality.gate.Gate`); the polars
side is the same schema written for `pandera.polars`.

    .venv/bin/python -m bench.validation_backends [records] [rounds]   # 100000, 3 rounds
    (needs: uv pip install --python .venv/bin/python polars 'pandera[polars]')
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from typing import Any

from bench.quality_orders import mapped_batches, orders_mapping
from integration_assets.quality.formats import E164_PATTERN, EMAIL_PATTERN, ISO_CURRENCIES
from integration_assets.quality.gate import Gate, _column_values
from integration_assets.schema import PARENT_ROW, ColumnType, MappedBatch


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_pandas(batches: list[MappedBatch], rules: Any) -> int:
    gate = Gate(rules)
    return sum(len(gate.validate(batch).reasons) for batch in batches)


def run_polars(batches: list[MappedBatch], rules: Any) -> int:
    import pandera.polars as pa
    import polars as pl

    amounts = ("subtotal_price", "total_price", "total_tax", "total_discounts", "total_shipping")

    def ge0(data: Any) -> Any:
        return data.lazyframe.select(pl.col(data.key).cast(pl.Float64) >= 0)

    def regex(pattern: str) -> Any:
        return lambda data: data.lazyframe.select(pl.col(data.key).str.contains(f"^(?:{pattern})$"))

    def unique(data: Any) -> Any:
        return data.lazyframe.select(pl.col("order_number").is_unique())

    def updated_after_created(data: Any) -> Any:
        return data.lazyframe.select(pl.col("updated_at") >= pl.col("created_at"))

    def balances(data: Any) -> Any:
        expected = (
            pl.col("__lines")
            + pl.col("total_tax").cast(pl.Float64)
            + pl.col("total_shipping").cast(pl.Float64)
            - pl.col("total_discounts").cast(pl.Float64)
        )
        return data.lazyframe.select(
            (pl.col("total_price").cast(pl.Float64) - expected).abs() <= 0.01 + 1e-9
        )

    columns = {name: pa.Column(nullable=True, checks=[pa.Check(ge0)]) for name in amounts}
    columns["email"] = pa.Column(nullable=True, checks=[pa.Check(regex(EMAIL_PATTERN))])
    columns["phone"] = pa.Column(nullable=True, checks=[pa.Check(regex(E164_PATTERN))])
    columns["currency"] = pa.Column(nullable=True, checks=[pa.Check.isin(sorted(ISO_CURRENCIES))])
    columns["id"] = pa.Column(nullable=False)
    columns["updated_at"] = pa.Column(nullable=False)
    schema = pa.DataFrameSchema(
        columns,
        checks=[pa.Check(unique), pa.Check(updated_after_created), pa.Check(balances)],
    )
    lines_schema = pa.DataFrameSchema(
        {
            "price": pa.Column(nullable=False, checks=[pa.Check(ge0)]),
            "quantity": pa.Column(nullable=False, checks=[pa.Check(ge0)]),
        }
    )
    wanted = ("id", "email", "phone", "currency", "order_number", "created_at", "updated_at")
    types = {column.name: column.type for column in rules.tables.table.columns}
    failures = 0
    for batch in batches:
        orders = batch.rows["shopify_orders"]
        positions = {id(row): n for n, row in enumerate(orders)}
        lines = batch.rows["shopify_order_line_items"]
        line_frame = pl.DataFrame(
            {
                "price": _column_values(lines, "price", ColumnType.DECIMAL),
                "quantity": [row["quantity"] for row in lines],
                "__parent": [positions[id(row[PARENT_ROW])] for row in lines],
            }
        )
        sums = line_frame.group_by("__parent").agg(
            (pl.col("price") * pl.col("quantity")).sum().alias("__lines")
        )
        # The same conversions as the pandas gate: amounts as float64, instants as epoch
        # seconds (polars' own Decimal and Datetime conversions from objects are slower).
        data: dict[str, Any] = {
            name: _column_values(orders, name, types.get(name)) for name in (*wanted, *amounts)
        }
        frame = pl.DataFrame(data, strict=False).with_row_index("__position")
        frame = frame.join(
            sums, left_on="__position", right_on="__parent", how="left"
        ).with_columns(pl.col("__lines").fill_null(0.0))
        for target, frame_schema in ((frame, schema), (line_frame, lines_schema)):
            try:
                frame_schema.validate(target, lazy=True)
            except pa.errors.SchemaErrors as errors:
                failures += len(errors.failure_cases)
    return failures


def one(backend: str, records: int) -> None:
    mapping = orders_mapping()
    batches = list(mapped_batches(mapping, records))
    before = rss_mb()
    started = time.perf_counter()
    cpu_started = time.process_time()
    failures = (run_pandas if backend == "pandas" else run_polars)(batches, mapping.quality_rules)
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    print(
        f"{backend:7s} {records:,} orders: {seconds:6.2f} s (CPU {cpu:5.2f} s) "
        f"{records / seconds:9,.0f} rows/s  "
        f"peak RSS +{rss_mb() - before:6.1f} MB  failures {failures}"
    )


def main(argv: list[str]) -> int:
    if len(argv) > 1 and argv[1] in ("pandas", "polars"):
        one(argv[1], int(argv[2]) if len(argv) > 2 else 100_000)
        return 0
    records = argv[1] if len(argv) > 1 else "100000"
    rounds = int(argv[2]) if len(argv) > 2 else 3
    for _ in range(rounds):  # in turns, so a busy machine slows both alike
        for backend in ("pandas", "polars"):
            command = [sys.executable, "-m", "bench.validation_backends", backend, records]
            subprocess.run(command, check=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
