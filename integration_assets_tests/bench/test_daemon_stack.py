"""The daemon benches' arithmetic and databases: what they print is only as right as these.

`most_at_once` is the "most runs at once" of bench/many_tenants.py (back-to-back runs under a
limit of one must count as one), `percentile` the p50/p95 of bench/webhook_latency.py, and
`fresh_database` must leave nothing behind on the shared Postgres.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import psycopg
import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _bench_module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


daemon_stack = _bench_module("daemon_stack")


def test_back_to_back_runs_were_never_two_at_once() -> None:
    assert daemon_stack.most_at_once([(0.0, 5.0), (5.0, 9.0), (9.0, 12.0)]) == 1


def test_overlapping_runs_count_at_their_busiest_moment() -> None:
    runs = [(0.0, 10.0), (1.0, 3.0), (2.0, 4.0), (3.5, 6.0), (11.0, 12.0)]
    assert daemon_stack.most_at_once(runs) == 3


def test_percentiles_are_nearest_rank_values_that_were_measured() -> None:
    latencies = [float(n) for n in range(1, 201)]  # 1..200 s
    latencies.reverse()  # sorting is the function's job
    assert daemon_stack.percentile(latencies, 0.5) == 100.0
    assert daemon_stack.percentile(latencies, 0.95) == 190.0
    assert daemon_stack.percentile([7.5], 0.95) == 7.5


def test_a_fresh_database_is_usable_and_dropped_afterwards(
    postgres_admin_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(daemon_stack, "ADMIN_URL", postgres_admin_url)
    with daemon_stack.fresh_database("ia_bench_test") as url:
        name = url.rpartition("/")[2]
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT current_database()").fetchone() == (name,)
    with psycopg.connect(postgres_admin_url) as admin:
        left = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchall()
    assert left == []
