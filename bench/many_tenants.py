"""Many tenants through the daemon: N Shopify shops synced by queued runs, against one shop alone.

Why this exists: an agency deployment syncs many shops with one daemon; what it feels is the
queue (deploy/dagster.yaml: the QueuedRunCoordinator lets 10 runs in at once, one per
connection) and the cost of each run (a run worker process, a step process, the code
location), not only the records/s of one sync. Every part is the real one on 127.0.0.1:

- `--shops` sandbox Shopify simulators of `--customers` customers each, each served from its
  own child process (`run_sandbox(process=True)`: rendering pages does not compete with the
  daemon for this process's interpreter lock), rate limits off on the server side; our
  client's own pacing stays as a user gets it;
- one `connections.yaml` with a connection per shop (`customers: 15m`), the project's
  definitions, a fresh Postgres warehouse and a fresh dagster-postgres storage database per
  phase, `dagster-daemon run` on deploy/dagster.yaml;
- the 15-minute sync schedule started just before the latest quarter hour, so the daemon's
  first pass requests one run per shop at once (as at every tick) and the queue drains them.

Phase 1 syncs shop 0 alone (the single-run throughput); phase 2 syncs all shops. Printed per
phase: wall time (first run queued to last run finished), records and records/s, runs that
did not succeed, the most runs at once, and per-run overhead = run wall time minus the sync
time the load reports in its metadata (`seconds`: extract + load). The warehouse row count
must equal shops x customers. Runs of a later quarter-hour tick, should one pass during a
phase, are left out and counted.

    .venv/bin/python bench/many_tenants.py                       # smoke: 4 shops x 2,000
    .venv/bin/python bench/many_tenants.py --shops 20 --customers 10000   # the full run
    BENCH_POSTGRES_URL=postgresql://…  (default: postgresql://postgres@127.0.0.1:5432/test)

Exit status 1 when a run failed or rows are missing.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
from daemon_stack import (
    RunTiming,
    fresh_database,
    most_at_once,
    run_timings,
    running_daemon,
    start_schedule_before_the_last_tick,
    write_home,
)
from dagster import DagsterInstance

from integration_assets.orchestration.schedules import CONNECTION_TAG, tick_label
from integration_assets.sandbox import Sandbox, run_sandbox

SCHEDULE = "shopify_sync_schedule"
TOKEN_ENV = "IA_BENCH_TENANT_TOKEN"
PHASE_DEADLINE_SECONDS = 3600
CONNECTION = """
  - name: {name}
    vendor: shopify
    base_url: {url}
    secrets: {{access_token: {token}}}
    entities: {{customers: 15m}}
    timeout_seconds: 10.0
"""


def shop_name(n: int) -> str:
    return f"tenant-{n:02d}"


@dataclass(frozen=True)
class Phase:
    shops: int
    runs: list[RunTiming]
    other_runs: int
    rows: int
    daemon_to_first_queued: float

    @property
    def wall(self) -> float:
        return max(r.ended for r in self.runs) - min(r.created for r in self.runs)

    @property
    def records(self) -> int:
        return sum(r.records for r in self.runs)

    @property
    def overheads(self) -> list[float]:
        return [r.wall - r.sync_seconds for r in self.runs]

    @property
    def failed(self) -> list[RunTiming]:
        return [r for r in self.runs if r.status != "SUCCESS"]


def run_phase(sandboxes: Sequence[Sandbox], directory: Path) -> Phase:
    """Sync every shop in `sandboxes` through one daemon on fresh databases."""
    connections = "connections:\n" + "".join(
        CONNECTION.format(name=shop_name(n), url=sandbox.shopify_url, token=TOKEN_ENV)
        for n, sandbox in enumerate(sandboxes)
    )
    with (
        fresh_database("ia_bench_wh") as warehouse_url,
        fresh_database("ia_bench_dagster") as storage_url,
    ):
        home = write_home(directory, connections, warehouse_url, storage_url)
        environ = {TOKEN_ENV: sandboxes[0].shopify.access_token}
        with _environ(environ):
            tick = start_schedule_before_the_last_tick(home, SCHEDULE)
        key_prefix = f"{tick_label(datetime.fromtimestamp(tick, UTC))}:"
        with (
            running_daemon(home, environ) as daemon,
            DagsterInstance.from_config(str(home)) as instance,
        ):
            started = time.time()
            deadline = time.monotonic() + PHASE_DEADLINE_SECONDS
            ours: list[RunTiming] = []
            while time.monotonic() < deadline:
                if daemon.poll() is not None:
                    raise SystemExit((home / "daemon.log").read_text()[-3000:])
                finished = [r for r in run_timings(instance) if CONNECTION_TAG in r.tags]
                ours = [
                    r for r in finished if r.tags.get("dagster/run_key", "").startswith(key_prefix)
                ]
                if len(ours) >= len(sandboxes):
                    break
                time.sleep(1)  # polling the daemon's storage: there is no event to wait on
            else:
                raise SystemExit(
                    f"{len(ours)}/{len(sandboxes)} runs finished within {PHASE_DEADLINE_SECONDS} s"
                )
            other = len(instance.get_run_records()) - len(ours)
        with psycopg.connect(warehouse_url) as conn:
            row = conn.execute("SELECT count(*) FROM shopify_customers").fetchone()
        assert row is not None
    return Phase(
        shops=len(sandboxes),
        runs=ours,
        other_runs=other,
        rows=int(row[0]),
        daemon_to_first_queued=min(r.created for r in ours) - started,
    )


@contextlib.contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    """The connection's token in this process while the schedule is started (the workspace
    is loaded here once for that)."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def report(label: str, phase: Phase, customers: int) -> None:
    overheads = phase.overheads
    walls = [r.wall for r in phase.runs]
    syncs = [r.sync_seconds for r in phase.runs]
    print(f"{label}: {phase.shops} shop(s) x {customers} customers")
    print(f"  daemon start to first run queued: {phase.daemon_to_first_queued:6.1f} s")
    print(
        f"  wall (first queued to last finished): {phase.wall:6.1f} s, {phase.records} records, "
        f"{phase.records / phase.wall:7.0f} records/s, {phase.rows} rows in the warehouse"
    )
    print(
        f"  runs: {len(phase.runs)}, not succeeded: {len(phase.failed)}, most at once: "
        f"{most_at_once([(r.started, r.ended) for r in phase.runs])}, runs of other ticks: "
        f"{phase.other_runs}"
    )
    print(
        f"  run wall: median {statistics.median(walls):6.1f} s, max {max(walls):6.1f} s; "
        f"sync (extract + load): median {statistics.median(syncs):6.1f} s, max {max(syncs):6.1f} s"
    )
    print(
        f"  per-run overhead (run wall - sync): median {statistics.median(overheads):6.1f} s, "
        f"max {max(overheads):6.1f} s"
    )
    if len(phase.runs) == 1:
        (run,) = phase.runs
        print(
            f"  single run: {run.records / run.wall:7.0f} records/s over the run's wall time, "
            f"{run.records / run.sync_seconds if run.sync_seconds else 0:7.0f} records/s of sync"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shops", type=int, default=4)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument(
        "--in-process",
        action="store_true",
        help="serve the sandboxes from threads of this process instead of child processes",
    )
    args = parser.parse_args()
    begun = time.monotonic()
    with contextlib.ExitStack() as stack:
        sandboxes = [
            stack.enter_context(
                run_sandbox(
                    seed=100 + n,
                    sizes={"customers": args.customers},
                    rate_limits=False,
                    process=not args.in_process,
                )
            )
            for n in range(args.shops)
        ]
        with tempfile.TemporaryDirectory() as single_dir:
            single = run_phase(sandboxes[:1], Path(single_dir))
        with tempfile.TemporaryDirectory() as many_dir:
            many = run_phase(sandboxes, Path(many_dir))
    report("one shop alone", single, args.customers)
    report("all shops", many, args.customers)
    single_run = single.runs[0]
    print(
        f"all shops: {many.records / many.wall:.0f} records/s through the queue vs one shop's "
        f"{single_run.records / single_run.wall:.0f} records/s alone "
        f"({many.records / many.wall / (single_run.records / single_run.wall):.1f}x)"
    )
    print(f"bench total: {time.monotonic() - begun:.0f} s")
    expected = args.shops * args.customers
    ok = not single.failed and not many.failed and many.rows == expected
    if many.rows != expected:
        print(f"MISSING ROWS: {many.rows} in the warehouse, {expected} expected")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
