"""Throughput of `upsert_batch` on Postgres against a bare hand-written COPY + upsert.

The load stage adds deduplication, row hashes, the source-timestamp guard, insert/update
counts and bookkeeping columns on top of what a hand-written loader does. It must stay within
2x of it (ceiling: ratio >= 0.50), so that the framework is never the reason to hand-code a
sync. Both sides load the same 200,000 synthetic 20-column rows (integers, strings, floats,
decimals, booleans, dates, aware datetimes, JSON) in batches of 10,000, one transaction per
batch, into empty tables of a schema of their own (dropped afterwards):

- bare: psycopg binary `COPY` (`set_types` + `write_row`, JSON through orjson) into
  `CREATE TEMP TABLE … ON COMMIT DROP`, then `INSERT … SELECT … ON CONFLICT (id) DO UPDATE
  SET …`, nothing else: the fastest honest hand-written loader, not a handicapped one;
- framework: `upsert_batch(…)` (binary COPY, guard, counts, five bookkeeping columns).

Row generation is not timed. The two sides take turns batch by batch (same rows, tables of
the same size), so a busy machine slows both alike. A second pass replays every row with a
newer timestamp and new content, so both sides update every row.

    .venv/bin/python bench/load_throughput.py [records] [batch]   # defaults 200000 10000
    BENCH_POSTGRES_URL=postgresql://…  (default: postgresql://postgres@127.0.0.1:5432/test)
"""

from __future__ import annotations

import os
import resource
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
import psycopg
from psycopg.types.json import set_json_dumps

from integration_assets.load import Warehouse, ensure_tables, upsert_batch
from integration_assets.schema import ColumnSchema, ColumnType, MappedBatch, TableSchema

CEILING = 0.50
URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
SCHEMA = f"bench_load_{os.getpid()}"
T0 = datetime(2024, 3, 1, 10, 0, tzinfo=UTC)

COLUMNS: tuple[tuple[str, ColumnType], ...] = (
    ("id", ColumnType.INTEGER),
    ("email", ColumnType.STRING),
    ("first_name", ColumnType.STRING),
    ("last_name", ColumnType.STRING),
    ("phone", ColumnType.STRING),
    ("state", ColumnType.STRING),
    ("currency", ColumnType.STRING),
    ("tags", ColumnType.STRING),
    ("orders_count", ColumnType.INTEGER),
    ("last_order_id", ColumnType.INTEGER),
    ("total_spent", ColumnType.DECIMAL),
    ("average_order", ColumnType.DECIMAL),
    ("score", ColumnType.FLOAT),
    ("accepts_marketing", ColumnType.BOOLEAN),
    ("verified_email", ColumnType.BOOLEAN),
    ("birthday", ColumnType.DATE),
    ("created_at", ColumnType.DATETIME),
    ("updated_at", ColumnType.DATETIME),
    ("consent", ColumnType.JSON),
    ("note", ColumnType.STRING),
)
TABLE = TableSchema(
    name="bench_customers",
    columns=tuple(
        ColumnSchema(name, kind, nullable=name not in ("id", "email", "updated_at"))
        for name, kind in COLUMNS
    ),
    primary_key=("id",),
    source_updated_at="updated_at",
)
NAMES = [name for name, _ in COLUMNS]
# The bare table's column types, as psycopg's binary COPY names them.
COPY_TYPES: dict[ColumnType, str] = {
    ColumnType.INTEGER: "int8",
    ColumnType.STRING: "text",
    ColumnType.DECIMAL: "numeric",
    ColumnType.FLOAT: "float8",
    ColumnType.BOOLEAN: "bool",
    ColumnType.DATE: "date",
    ColumnType.DATETIME: "timestamptz",
    ColumnType.JSON: "jsonb",
}


def make_row(number: int, version: int) -> dict[str, Any]:
    stamp = T0 + timedelta(minutes=number % 1440, days=version)
    return {
        "id": 1_000_000 + number,
        "email": f"customer{number}@example.com",
        "first_name": "Bob" if version == 0 else "Robert",
        "last_name": f"Norman{number}",
        "phone": f"+1613555{number % 10000:04d}",
        "state": "enabled",
        "currency": "USD",
        "tags": "Léon, Noël",
        "orders_count": number % 7 + version,
        "last_order_id": 450_789_469 + number,
        "total_spent": Decimal(f"{number % 1000}.{number % 100:02d}"),
        "average_order": Decimal(f"{number % 97}.5"),
        "score": (number % 1000) / 7,
        "accepts_marketing": number % 2 == 0,
        "verified_email": True,
        "birthday": date(1970 + number % 40, 1 + number % 12, 1 + number % 28),
        "created_at": T0 - timedelta(days=number % 365),
        "updated_at": stamp,
        "consent": {"state": "subscribed", "opt_in_level": "single_opt_in", "v": version},
        "note": None if number % 3 else f"note {number}",
    }


def batches(records: int, size: int, version: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, records, size):
        yield [make_row(n, version) for n in range(start, min(start + size, records))]


def bare_loader(url: str) -> tuple[Callable[[list[dict[str, Any]]], None], Callable[[], None]]:
    """What a developer writes by hand: COPY into a temp table, INSERT … ON CONFLICT."""
    conn = psycopg.connect(url, prepare_threshold=None)
    set_json_dumps(lambda value: orjson.dumps(value).decode(), context=conn)
    target = f'"{SCHEMA}"."bare_customers"'
    columns = ", ".join(f'"{n}"' for n in NAMES)
    updates = ", ".join(f'"{n}" = EXCLUDED."{n}"' for n in NAMES if n != "id")
    copy_types = [COPY_TYPES[kind] for _, kind in COLUMNS]

    def load(rows: list[dict[str, Any]]) -> None:
        with conn.transaction(), conn.cursor() as cur:
            cur.execute(f"CREATE TEMP TABLE stage (LIKE {target}) ON COMMIT DROP")
            with cur.copy(f"COPY stage ({columns}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(copy_types)
                write_row = copy.write_row
                for row in rows:
                    write_row([row[n] for n in NAMES])
            cur.execute(
                f"INSERT INTO {target} ({columns}) SELECT {columns} FROM stage "
                f"ON CONFLICT (id) DO UPDATE SET {updates}"
            )

    return load, conn.close


def create_bare_table(url: str) -> None:
    columns = ", ".join(f'"{n}" {COPY_TYPES[k]}' for n, k in COLUMNS)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{SCHEMA}"')
        conn.execute(f'CREATE TABLE "{SCHEMA}"."bare_customers" ({columns}, PRIMARY KEY (id))')


def timed_pair(
    bare: Callable[[list[dict[str, Any]]], Any],
    framework: Callable[[list[dict[str, Any]]], Any],
    records: int,
    size: int,
    version: int,
) -> tuple[float, float]:
    """Seconds spent by each side, loading the same batches in turns."""
    spent = [0.0, 0.0]
    for rows in batches(records, size, version):
        for side, load in enumerate((bare, framework)):
            start = time.perf_counter()
            load(rows)
            spent[side] += time.perf_counter() - start
    return spent[0], spent[1]


def main() -> int:
    records = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
    plain_url = URL.replace("postgresql+psycopg://", "postgresql://")
    create_bare_table(plain_url)
    warehouse = Warehouse.from_url(URL, schema=SCHEMA)
    bare, close_bare = bare_loader(plain_url)
    try:
        ensure_tables(warehouse, [TABLE])

        def framework(rows: list[dict[str, Any]]) -> Any:
            return upsert_batch(
                warehouse,
                [TABLE],
                MappedBatch(rows={TABLE.name: rows}),
                connection="bench",
                entity="customers",
                run_id="bench",
            )

        print(f"load throughput: {records:,} rows x {len(COLUMNS)} columns, batches of {size:,}")
        ratios = []
        for version, phase in ((0, "insert"), (1, "update")):
            bare_s, framework_s = timed_pair(bare, framework, records, size, version)
            bare_rate = records / bare_s
            framework_rate = records / framework_s
            ratio = framework_rate / bare_rate
            ratios.append(ratio)
            print(
                f"  {phase:6}  bare COPY+upsert {bare_rate:>10,.0f} rec/s   "
                f"upsert_batch {framework_rate:>10,.0f} rec/s   ratio {ratio:.2f}"
            )
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        worst = min(ratios)
        verdict = "ok" if worst >= CEILING else "BELOW CEILING"
        print(f"  worst ratio {worst:.2f} (ceiling >= {CEILING:.2f}): {verdict}")
        print(f"  peak RSS {peak_mb:,.0f} MB")
        return 0 if worst >= CEILING else 1
    finally:
        close_bare()
        warehouse.dispose()
        with psycopg.connect(plain_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{SCHEMA}" CASCADE')


if __name__ == "__main__":
    sys.exit(main())
