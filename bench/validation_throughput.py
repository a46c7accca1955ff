"""What the quality gate costs a load: mapped Shopify orders upserted with validation on/off.

Each mode runs in its own process (its own peak RSS, its own schema on Postgres, dropped
afterwards) over the same generated REST orders (`bench/quality_orders.py`, 1-4 line items
each, totals that balance), in batches of 10,000 as `run_load` makes them: map page by page (250 records, with row
origins), then, with validation on, the gate (`quality.gate.Gate.validate` with the shipped
order rules, the report, the split of failing records), then `upsert_batch`. Generating the
raw records is not timed. Printed per mode: orders/s, peak RSS; and validation's share of
the load's time (target < 25%, RSS < 200 MB).

    .venv/bin/python -m bench.validation_throughput [orders]   # default 1000000
    BENCH_POSTGRES_URL=postgresql://…  (default: postgresql://postgres@127.0.0.1:5432/test)
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time

import psycopg

from bench.quality_orders import make_order, orders_mapping
from integration_assets.load import Warehouse, ensure_tables, upsert_batch
from integration_assets.quality.gate import Gate, ReportBuilder, split_batch
from integration_assets.schema import MappedBatch

URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
BATCH = 10_000
PAGE = 250


def run(mode: str, orders: int) -> None:
    schema = f"bench_gate_{mode}_{os.getpid()}"
    plain = URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    warehouse = Warehouse.from_url(URL, schema=schema)
    mapping = orders_mapping()
    gate = Gate(mapping.quality_rules)
    report = ReportBuilder(gate.threshold)
    own = mapping.table.name
    spent = {"map": 0.0, "validate": 0.0, "upsert": 0.0}
    try:
        ensure_tables(warehouse, mapping.tables)
        for first in range(0, orders, BATCH):
            # Page by page, as `run_load` maps: only one page of raw records is ever alive.
            batch = MappedBatch(rows={table.name: [] for table in mapping.tables})
            spent_mapping = 0.0
            for page in range(first, min(first + BATCH, orders), PAGE):
                raw = [make_order(n) for n in range(page, min(page + PAGE, orders))]
                started = time.perf_counter()
                origins: list[int] = []
                mapped_page = mapping.map_records(raw, origins)
                for name, rows in mapped_page.rows.items():
                    batch.rows[name].extend(rows)
                batch.rejected.extend(mapped_page.rejected)
                spent_mapping += time.perf_counter() - started
            spent["map"] += spent_mapping
            mapped = time.perf_counter()
            if mode == "on":
                verdict = gate.validate(batch)
                report.add_rejected(batch.rejected)
                rows = batch.rows[own]
                report.add(verdict, lambda position, rows=rows: str(rows[position]["id"]))
                batch, _ = split_batch(batch, own, verdict.reasons)
            validated = time.perf_counter()
            upsert_batch(
                warehouse,
                mapping.tables,
                batch,
                connection="bench",
                entity="orders",
                run_id="bench",
            )
            done = time.perf_counter()
            spent["validate"] += validated - mapped
            spent["upsert"] += done - validated
    finally:
        warehouse.dispose()
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    total = sum(spent.values())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"validation {mode:3s}: {orders:,} orders in {total:7.1f} s = {orders / total:8,.0f} "
        f"orders/s  (map {spent['map']:.1f} s, validate {spent['validate']:.1f} s, upsert "
        f"{spent['upsert']:.1f} s)  peak RSS {peak:,.0f} MB"
    )
    if mode == "on":
        final = report.report()
        share = spent["validate"] / total
        verdict = "ok" if share < 0.25 and peak < 200 else "ABOVE TARGET"
        print(
            f"  validation share of the load: {share:.1%} (target < 25%, RSS < 200 MB): "
            f"{verdict}; pass rate {final.pass_rate:.2%} of {final.records:,}"
        )


def main(argv: list[str]) -> int:
    if len(argv) > 2 and argv[1] in ("on", "off"):
        run(argv[1], int(argv[2]))
        return 0
    orders = argv[1] if len(argv) > 1 else "1000000"
    for mode in ("off", "on"):
        subprocess.run(
            [sys.executable, "-m", "bench.validation_throughput", mode, orders], check=True
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
