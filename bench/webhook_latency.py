"""Webhook latency end to end on the demo stack, and the console's accepted webhooks/s.

Why this exists: a realtime entity promises that a change at the vendor reaches the
warehouse within seconds. Every part on that path is the real one, on 127.0.0.1: the
sandbox's Shopify simulator (in this process) sends signed `customers/update` webhooks to
the console (`integration_assets.console`, uvicorn, in this process), which stores them in
the inbox of a fresh Postgres warehouse; `dagster-daemon run` (deploy/dagster.yaml, storage
in a second fresh Postgres database, QueuedRunCoordinator with the repository's limits)
evaluates the webhook sensor, queues and launches the sync run, and the run writes the row.

1. Warm-up: one change, waited for, so the daemon's start-up and the table's creation are
   not in the figures.
2. `--changes` customer changes (default 200) at `--rate` per second (default 10): each is
   one `advance` of the simulator that updates exactly one customer. A poller reads the
   warehouse every 50 ms; a change's latency is from just before its `advance` to the
   first read that shows the customer's row with the new `updated_at`. Printed: p50, p95,
   max (target: p95 < 10 s), and how it splits, from the inbox's `received_at` and the
   instance's run records and events: delivery (change to stored in the inbox), sensor
   (stored to run created: the daemon's sensor loop, and events held while their entity's
   previous webhook run waits in the queue), queued (created to launched: the coordinator's
   dequeue interval and the runs of the connection ahead of it, one at a time), worker
   start-up (launched to started: a new run worker process importing Dagster and the code
   location) and in the run (started to row visible); then the webhook runs' count and wall
   time (started to ended).
3. The burst, as `bench/webhook_accept.py` measures it, while the daemon runs: `--burst`
   (default 5000) pre-signed deliveries from another process, 32 in flight, into a second
   console over the same warehouse; every one must be answered 200 and stored once
   (target: > 1,000 accepted/s, none lost).

    .venv/bin/python bench/webhook_latency.py [--changes 200] [--rate 10] [--burst 5000]
        [--dequeue-interval SECONDS] [--connection-run-limit N]
    BENCH_POSTGRES_URL=postgresql://…  (default: postgresql://postgres@127.0.0.1:5432/test)

`--dequeue-interval` sets the QueuedRunCoordinator's `dequeue_interval_seconds` (the
repository's config when not given) in the bench's instance, to measure what it costs;
`--connection-run-limit N` raises the runs-per-connection limits (`integration/connection`,
`dagster/partition`; 1 in the repository's config) to N, to measure what overlapping run
start-ups would give (the writer lock still keeps one writer per connection and entity).

Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import yaml
from daemon_stack import (
    fresh_database,
    percentile,
    running_daemon,
    write_home,
)
from dagster import DagsterEventType, DagsterInstance, RunsFilter
from webhook_accept import CONNECTION as BURST_CONNECTION
from webhook_accept import SECRET as BURST_SECRET
from webhook_accept import TARGET_PER_SECOND, _sender

from integration_assets.connectors.connections import load_connections
from integration_assets.console import build_app
from integration_assets.console.server import ConsoleServer
from integration_assets.load.warehouse import Warehouse
from integration_assets.orchestration.webhook_sensor import RANGE_TAG, SOURCE_TAG
from integration_assets.sandbox import Sandbox, run_sandbox
from integration_assets.sandbox.webhooks import Subscription

SHOP = "bench-latency-shop"
SHOP_SECRET = "bench-latency-webhook-secret"
CUSTOMERS = 1000
TARGET_P95_SECONDS = 10.0
WARM_UP_DEADLINE_SECONDS = 240
DRAIN_DEADLINE_SECONDS = 900
ENVIRON = {
    "IA_BENCH_SHOP_WEBHOOK_SECRET": SHOP_SECRET,
    "BENCH_WEBHOOK_SECRET": BURST_SECRET,
}
CONNECTIONS_YAML = """
connections:
  - name: {shop}
    vendor: shopify
    base_url: {url}
    secrets:
      access_token: IA_BENCH_SHOP_TOKEN
      webhook_secret: IA_BENCH_SHOP_WEBHOOK_SECRET
    entities: {{customers: realtime}}
    timeout_seconds: 5.0
"""


@dataclass
class Change:
    """One customer change: its vendor id, new `updated_at` and when it was made/seen."""

    customer_id: int
    updated_at: datetime
    made: float
    seen: float | None = None


class Watcher:
    """Polls the warehouse for changed rows; a change is seen once its row carries the new
    `updated_at` (or a later one: the same customer may change again meanwhile)."""

    def __init__(self, warehouse_url: str) -> None:
        self._url = warehouse_url
        self._waiting: list[Change] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-watcher", daemon=True)

    def __enter__(self) -> Watcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def watch(self, change: Change) -> None:
        with self._lock:
            self._waiting.append(change)

    def wait_all(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._waiting:
                    return True
            time.sleep(0.05)
        return False

    def _run(self) -> None:
        with psycopg.connect(self._url, autocommit=True) as conn:
            while not self._stop.is_set():
                with self._lock:
                    waiting = list(self._waiting)
                if waiting:
                    self._check(conn, waiting)
                self._stop.wait(0.05)

    def _check(self, conn: psycopg.Connection, waiting: list[Change]) -> None:
        ids = sorted({change.customer_id for change in waiting})
        try:
            found = dict(
                conn.execute(
                    "SELECT id, updated_at FROM shopify_customers "
                    "WHERE _connection = %s AND id = ANY(%s)",
                    (SHOP, ids),
                ).fetchall()
            )
        except psycopg.errors.UndefinedTable:
            return
        now = time.time()
        with self._lock:
            for change in waiting:
                stored = found.get(change.customer_id)
                if stored is not None and stored >= change.updated_at:
                    change.seen = now
                    self._waiting.remove(change)


def change_one(sandbox: Sandbox) -> Change:
    """Update exactly one customer in the simulator (which sends its webhook)."""
    made = time.time()
    report = sandbox.shopify.advance(
        seconds=1, updated_fraction=1 / CUSTOMERS, created=0, deleted=0
    )
    (index,) = report.updated["customers"]
    epoch = sandbox.shopify.store("customers").updated_at(index)
    return Change(
        customer_id=sandbox.shopify.vendor_id("customers", index),
        updated_at=datetime.fromtimestamp(epoch, UTC),
        made=made,
    )


@dataclass(frozen=True)
class Split:
    delivery: list[float]
    sensor: list[float]
    queued: list[float]
    start_up: list[float]
    in_run: list[float]
    run_walls: list[float]
    """Started to ended, per webhook run."""


def _launched_at(instance: DagsterInstance, run_id: str) -> float | None:
    """When the coordinator handed the run to the launcher (its RUN_STARTING event)."""
    events = instance.all_logs(run_id, of_type=DagsterEventType.RUN_STARTING)
    return events[0].timestamp if events else None


def split_latency(warehouse_url: str, home: Path, changes: list[Change]) -> Split:
    """Each change's inbox row (the first for its customer received after the change) and the
    webhook run whose inbox id range holds it."""
    with psycopg.connect(warehouse_url) as conn:
        inbox = conn.execute(
            "SELECT id, record_id, received_at FROM integration.webhook_inbox WHERE connection = %s "
            "ORDER BY id",
            (SHOP,),
        ).fetchall()
    with DagsterInstance.from_config(str(home)) as instance:
        records = instance.get_run_records(RunsFilter(tags={SOURCE_TAG: "webhook"}))
        launched = {
            r.dagster_run.run_id: _launched_at(instance, r.dagster_run.run_id) for r in records
        }
    runs = []
    for record in records:
        first, _, last = record.dagster_run.tags[RANGE_TAG].partition("-")
        runs.append((int(first), int(last), record))
    walls = [r.end_time - r.start_time for r in records if r.start_time and r.end_time]
    split = Split([], [], [], [], [], walls)
    for change in changes:
        assert change.seen is not None
        row = next(
            (
                (inbox_id, received.timestamp())
                for inbox_id, record_id, received in inbox
                if record_id == str(change.customer_id) and received.timestamp() >= change.made
            ),
            None,
        )
        if row is None:
            continue
        inbox_id, received = row
        run = next(
            (r for first, last, r in runs if first <= inbox_id <= last and r.start_time), None
        )
        if run is None or run.start_time is None:
            continue
        queued = run.create_timestamp.timestamp()
        handed = launched.get(run.dagster_run.run_id) or queued
        split.delivery.append(received - change.made)
        split.sensor.append(queued - received)
        split.queued.append(handed - queued)
        split.start_up.append(run.start_time - handed)
        split.in_run.append(change.seen - run.start_time)
    return split


def set_dequeue_interval(home: Path, seconds: int) -> None:
    """The QueuedRunCoordinator with `dequeue_interval_seconds`; its limits stay those of
    `concurrency.runs`."""
    path = home / "dagster.yaml"
    config = yaml.safe_load(path.read_text())
    config["run_coordinator"] = {
        "module": "dagster._core.run_coordinator",
        "class": "QueuedRunCoordinator",
        "config": {"dequeue_interval_seconds": seconds},
    }
    path.write_text(yaml.safe_dump(config))


def set_connection_run_limit(home: Path, limit: int) -> None:
    """Let `limit` runs of one connection run at once (both tag rules of `concurrency.runs`)."""
    path = home / "dagster.yaml"
    config = yaml.safe_load(path.read_text())
    for rule in config["concurrency"]["runs"]["tag_concurrency_limits"]:
        rule["limit"] = limit
    path.write_text(yaml.safe_dump(config))


def burst(warehouse_url: str, count: int, concurrency: int) -> tuple[float, int, dict[int, int]]:
    """bench/webhook_accept.py's method against this warehouse: (accepted/s, stored, statuses)."""
    warehouse = Warehouse.from_url(warehouse_url)
    app = build_app(warehouse, [BURST_CONNECTION], environ=ENVIRON)
    try:
        with ConsoleServer(app) as server:
            context = multiprocessing.get_context("spawn")
            results = context.Queue()
            url = f"{server.url}/webhooks/shopify/{BURST_CONNECTION.name}"
            sender = context.Process(target=_sender, args=(url, count, concurrency, results))
            sender.start()
            elapsed, statuses = results.get()
            sender.join()
    finally:
        warehouse.dispose()
    with psycopg.connect(warehouse_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM integration.webhook_inbox WHERE connection = %s",
            (BURST_CONNECTION.name,),
        ).fetchone()
    assert row is not None
    return count / elapsed, int(row[0]), statuses


def _summary(name: str, values: list[float]) -> str:
    if not values:
        return f"  {name:<26} (no data)"
    return (
        f"  {name:<26} p50 {percentile(values, 0.5):6.2f} s   p95 {percentile(values, 0.95):6.2f} s"
        f"   max {max(values):6.2f} s"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--changes", type=int, default=200)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--burst", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--dequeue-interval", type=int, default=None)
    parser.add_argument("--connection-run-limit", type=int, default=None)
    args = parser.parse_args()

    with (
        tempfile.TemporaryDirectory() as directory,
        fresh_database("ia_bench_wh") as warehouse_url,
        fresh_database("ia_bench_dagster") as storage_url,
        run_sandbox(seed=7, sizes={"customers": CUSTOMERS}, rate_limits=False) as sandbox,
    ):
        connections_yaml = CONNECTIONS_YAML.format(shop=SHOP, url=sandbox.shopify_url)
        home = write_home(Path(directory), connections_yaml, warehouse_url, storage_url)
        if args.dequeue_interval is not None:
            set_dequeue_interval(home, args.dequeue_interval)
        if args.connection_run_limit is not None:
            set_connection_run_limit(home, args.connection_run_limit)
        environ = {**ENVIRON, "IA_BENCH_SHOP_TOKEN": sandbox.shopify.access_token}
        warehouse = Warehouse.from_url(warehouse_url)
        app = build_app(
            warehouse, load_connections(home.parent / "connections.yaml"), environ=environ
        )
        with (
            ConsoleServer(app) as console,
            running_daemon(home, environ) as daemon,
            Watcher(warehouse_url) as watcher,
        ):
            address = f"{console.url}/webhooks/shopify/{SHOP}"
            sender = sandbox.shopify.set_webhooks(
                [Subscription("customers/*", address, SHOP_SECRET)]
            )
            assert sender is not None
            started = time.monotonic()
            watcher.watch(change_one(sandbox))
            if not watcher.wait_all(WARM_UP_DEADLINE_SECONDS):
                print((home / "daemon.log").read_text()[-3000:])
                raise SystemExit("the warm-up change never reached the warehouse")
            print(f"warm-up change reached the warehouse after {time.monotonic() - started:.1f} s")

            changes: list[Change] = []
            period = 1.0 / args.rate
            begin = time.monotonic()
            for n in range(args.changes):
                time.sleep(max(0.0, begin + n * period - time.monotonic()))
                change = change_one(sandbox)
                changes.append(change)
                watcher.watch(change)
            made_in = time.monotonic() - begin
            drained = watcher.wait_all(DRAIN_DEADLINE_SECONDS)
            assert daemon.poll() is None, (home / "daemon.log").read_text()[-3000:]
            undelivered = [d for d in sender.deliveries if not d.delivered]
            rate, stored, statuses = burst(warehouse_url, args.burst, args.concurrency)
        warehouse.dispose()
        split = split_latency(warehouse_url, home, [c for c in changes if c.seen is not None])

    latencies = [c.seen - c.made for c in changes if c.seen is not None]
    lost = len(changes) - len(latencies)
    print(f"{len(changes)} changes made in {made_in:.1f} s ({len(changes) / made_in:.1f}/s)")
    print(
        f"change -> row in the warehouse ({len(latencies)} seen, {lost} not within "
        f"{DRAIN_DEADLINE_SECONDS} s; {len(undelivered)} webhooks not delivered):"
    )
    print(_summary("end to end", latencies))
    print(f"split ({len(split.delivery)} changes matched to their inbox row and run):")
    print(_summary("delivery (to inbox)", split.delivery))
    print(_summary("sensor (inbox to created)", split.sensor))
    print(_summary("queued (to launched)", split.queued))
    print(_summary("worker start-up", split.start_up))
    print(_summary("in the run (to row)", split.in_run))
    print(f"{len(split.run_walls)} webhook runs; wall time, started to ended:")
    print(_summary("run wall", split.run_walls))
    p95 = percentile(latencies, 0.95) if latencies else float("inf")
    latency_met = drained and not lost and p95 < TARGET_P95_SECONDS
    print(f"target: p95 < {TARGET_P95_SECONDS:.0f} s: {'met' if latency_met else 'MISSED'}")
    burst_met = statuses == {200: args.burst} and stored == args.burst and rate > TARGET_PER_SECOND
    print(
        f"burst: {rate:.0f} accepted webhooks/s, {stored}/{args.burst} stored, answers {statuses}"
    )
    print(f"target: > {TARGET_PER_SECOND}/s with none lost: {'met' if burst_met else 'MISSED'}")
    return 0 if latency_met and burst_met else 1


if __name__ == "__main__":
    sys.exit(main())
