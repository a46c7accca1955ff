"""`integration-assets`: sync from the terminal, check mappings and API versions, see each
sync's status, run the sandbox and the demo.

`sync` materializes the same Dagster assets the UI does (same instance, same run history),
in this process, with a progress bar read from landing and a one-screen summary.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from integration_assets.console.cli import add_serve_parser
from integration_assets.monitoring.cli import add_status_parser

DEFAULT_DAGSTER_HOME = ".dagster_home"


def _ensure_dagster_home() -> Path:
    """Use `$DAGSTER_HOME`, else `./.dagster_home` with the repo's dagster.yaml in it."""
    home = Path(os.environ.get("DAGSTER_HOME") or Path.cwd() / DEFAULT_DAGSTER_HOME).resolve()
    home.mkdir(parents=True, exist_ok=True)
    config = Path.cwd() / "dagster.yaml"
    if config.exists() and not (home / "dagster.yaml").exists():
        (home / "dagster.yaml").write_text(config.read_text())
    os.environ["DAGSTER_HOME"] = str(home)
    return home


@dataclass(frozen=True)
class SyncRequest:
    vendor: str
    entity: str
    connection: str

    @property
    def label(self) -> str:
        return f"{self.vendor}/{self.entity} @ {self.connection}"


def _requests(args: argparse.Namespace) -> list[SyncRequest]:
    """What to sync: one asset (optionally one connection), or every entity of every connection."""
    from integration_assets.connectors.connections import load_connections

    connections = load_connections()
    if args.all:
        return [SyncRequest(c.vendor, entity, c.name) for c in connections for entity in c.entities]
    if not args.asset or "/" not in args.asset:
        raise SystemExit("name an asset as VENDOR/ENTITY (e.g. shopify/customers), or use --all")
    vendor, entity = args.asset.split("/", 1)
    chosen = [
        SyncRequest(vendor, entity, c.name)
        for c in connections
        if c.vendor == vendor
        and entity in c.entities
        and (args.connection is None or c.name == args.connection)
    ]
    if not chosen:
        which = f"connection {args.connection!r}" if args.connection else "any connection"
        raise SystemExit(f"{which} in the connections file does not sync {vendor}/{entity}")
    return chosen


class _ProgressBar:
    """Pages and records landed so far, read from landing by run id (works for any process)."""

    def __init__(self, request: SyncRequest, run_id: str, stream: Any = sys.stderr) -> None:
        self.request, self.run_id, self.stream = request, run_id, stream
        self._stop = threading.Event()
        self._started = time.perf_counter()

    def _draw(self, pages: int, records: int) -> None:
        seconds = max(time.perf_counter() - self._started, 1e-9)
        line = (
            f"\r{self.request.label}: {pages:>6} pages  {records:>9,} records  "
            f"{records / seconds:>9,.0f} records/s"
        )
        self.stream.write(line)
        self.stream.flush()

    def run(self) -> None:
        from integration_assets.load.landing import LandingStore
        from integration_assets.load.warehouse import Warehouse

        warehouse = Warehouse.from_url(None)
        landing = LandingStore(warehouse)
        try:
            while not self._stop.wait(0.5):
                try:
                    pages = landing.page_count(
                        self.run_id, self.request.connection, self.request.entity
                    )
                    records = landing.record_count(
                        self.run_id, self.request.connection, self.request.entity
                    )
                except Exception:  # tables not created yet at the very start
                    continue
                self._draw(pages, records)
        finally:
            warehouse.dispose()

    def stop(self) -> None:
        self._stop.set()


def _summary(request: SyncRequest, metadata: dict[str, Any], seconds: float) -> str:
    def value(key: str, default: Any = 0) -> Any:
        item = metadata.get(key)
        return getattr(item, "value", item) if item is not None else default

    warnings = value("warnings", []) or []
    return "\n".join(
        [
            f"✔ {request.label}  ({seconds:.1f} s wall)",
            f"  fetched     {value('records_fetched'):>10,} records in {value('pages')} pages, "
            f"{value('requests')} requests ({value('retries')} retries, "
            f"{value('rate_limited_429s')} rate-limited, {value('timeouts')} timeouts)",
            f"  warehouse   {value('records_inserted'):>10,} inserted  {value('records_updated'):,} updated  "
            f"{value('records_unchanged'):,} unchanged  {value('records_quarantined'):,} quarantined",
            f"  table rows  {value('dagster/row_count'):>10,}  (this connection)",
            f"  speed       {value('records_per_second'):>10,.0f} records/s  "
            f"(extract {value('extract_seconds')} s, load {value('load_seconds')} s)",
            f"  window      since {value('incremental_since', 'full')}  →  cursor {value('cursor', '') or '-'}",
            f"  api version {value('api_version', '') or '-'}"
            + (
                f" (served {served})"
                if (served := value("api_version_served", "")) and served != value("api_version")
                else ""
            ),
            *(f"  ⚠ WARNING: {warning}" for warning in warnings),
        ]
    )


def _console_logger(verbose: bool) -> dict[str, object]:
    """Run config of Dagster's console logger: quiet unless `--verbose`.

    By default Dagster logs every event of the run (STEP_START, LOADED_INPUT, …) at DEBUG to
    the terminal, through the progress bar. A user wants the progress, the summary, warnings
    and errors; the event log stays in the instance (and in `--verbose`) for debugging.
    """
    return {"console": {"config": {"log_level": "DEBUG" if verbose else "WARNING"}}}


def materialize(
    instance: Any,
    job: Any,
    vendor: str,
    entities: Sequence[str],
    connection: str,
    *,
    run_id: str | None = None,
    full_refresh: bool = False,
    verbose: bool = False,
    trigger: str = "cli",
) -> Any:
    """Sync `entities` of `connection` in one Dagster run in this process, as the UI would:
    same assets, same instance and run history; entities that depend on each other are
    ordered inside the run. Returns the `ExecuteInProcessResult` (failures are not raised).

    The sync function of `sync` and of the console's in-process "sync now".
    """
    from dagster import AssetKey

    from integration_assets.orchestration.partitions import connection_partitions
    from integration_assets.orchestration.schedules import run_tags

    partitions = connection_partitions(vendor).name
    if not instance.has_dynamic_partition(partitions, connection):
        instance.add_dynamic_partitions(partitions, [connection])
    run_config: dict[str, object] = {
        "loggers": _console_logger(verbose),
        "ops": {
            f"{vendor}__{entity}": {
                "ops": {f"{vendor}_{entity}_extract": {"config": {"full_refresh": full_refresh}}}
            }
            for entity in entities
        },
    }
    return job.execute_in_process(
        run_config=run_config,
        instance=instance,
        partition_key=connection,
        asset_selection=[AssetKey([vendor, entity]) for entity in entities],
        run_id=run_id or str(uuid.uuid4()),
        raise_on_error=False,
        tags={**run_tags(connection, entities), "integration/trigger": trigger},
    )


def cmd_sync(args: argparse.Namespace) -> int:
    _ensure_dagster_home()
    from dagster import DagsterInstance

    from integration_assets.orchestration.definitions_factory import build_definitions
    from integration_assets.orchestration.failures import run_failure_message

    requests = _requests(args)
    defs = build_definitions()
    job = defs.resolve_implicit_global_asset_job_def()
    failures = 0
    with DagsterInstance.get() as instance:
        for request in requests:
            run_id = str(uuid.uuid4())
            bar = _ProgressBar(request, run_id)
            thread = threading.Thread(target=bar.run, daemon=True)
            thread.start()
            started = time.perf_counter()
            try:
                result = materialize(
                    instance,
                    job,
                    request.vendor,
                    [request.entity],
                    request.connection,
                    run_id=run_id,
                    full_refresh=args.full_refresh,
                    verbose=args.verbose,
                )
            finally:
                bar.stop()
                thread.join()
                sys.stderr.write("\r\033[K")
            seconds = time.perf_counter() - started
            if result.success:
                materializations = result.asset_materializations_for_node(
                    f"{request.vendor}__{request.entity}"
                )
                metadata = dict(materializations[-1].metadata) if materializations else {}
                print(_summary(request, metadata, seconds))
            else:
                failures += 1
                print(f"✘ {request.label}: {run_failure_message(result)}  (run {run_id})")
    return 1 if failures else 0


def _connection(name: str) -> Any:
    """The connection called `name`, or a SystemExit saying why there is none."""
    from integration_assets.connectors.connections import ConnectionsFileError, get_connection

    try:
        return get_connection(name)
    except (ConnectionsFileError, KeyError, ValueError) as exc:
        raise SystemExit(str(exc)) from None


def _target(asset: str, connection_name: str) -> Any:
    """The `SyncTarget` for VENDOR/ENTITY of one connection, or a SystemExit saying why not."""
    from integration_assets.sync.target import SyncTarget

    if "/" not in asset:
        raise SystemExit("name an asset as VENDOR/ENTITY (e.g. shopify/customers)")
    vendor, entity = asset.split("/", 1)
    connection = _connection(connection_name)
    if connection.vendor != vendor or entity not in connection.entities:
        raise SystemExit(f"connection {connection_name!r} does not sync {vendor}/{entity}")
    return SyncTarget(connection, entity)


def _failed(label: str, exc: BaseException) -> int:
    """Print a failure as the sync command does (`✘ label: Error: message`); exit status 1.

    The messages are the stages' own: secrets and row values are already redacted there.
    """
    print(f"✘ {label}: {type(exc).__name__}: {exc}")
    return 1


def cmd_reconcile(args: argparse.Namespace) -> int:
    """Walk the vendor's ids and soft-delete rows of records it no longer has."""
    from integration_assets.load.warehouse import Warehouse
    from integration_assets.sync.reconcile import run_reconcile

    target = _target(args.asset, args.connection)
    warehouse = Warehouse.from_url()
    try:
        result = run_reconcile(target, warehouse, max_deleted_fraction=args.max_deleted_fraction)
    except Exception as exc:  # refusals, vendor and database errors alike: said, not raised
        return _failed(f"{args.asset} @ {args.connection}", exc)
    finally:
        warehouse.dispose()
    print(
        f"✔ {args.asset} @ {args.connection}: {result.seen} ids seen in {result.requests} "
        f"requests, {result.marked_deleted} marked deleted, {result.restored} restored "
        f"(child rows: {result.children_marked_deleted} marked, "
        f"{result.children_restored} restored) in {result.seconds:.1f}s"
    )
    return 0


def cmd_redact(args: argparse.Namespace) -> int:
    """Remove one person from warehouse, landing and quarantine (e.g. Shopify customers/redact)."""
    from integration_assets.load.warehouse import Warehouse
    from integration_assets.sync.redact import redact_person

    connection = _connection(args.connection)
    if connection.vendor != args.vendor:
        raise SystemExit(f"connection {args.connection!r} is a {connection.vendor} connection")
    warehouse = Warehouse.from_url()
    try:
        result = redact_person(connection, warehouse, args.person_id)
    except Exception as exc:
        return _failed(f"redact {args.vendor} @ {args.connection}", exc)
    finally:
        warehouse.dispose()
    deleted = ", ".join(f"{name} {count}" for name, count in result.rows_deleted.items())
    scrubbed = ", ".join(f"{name} {count}" for name, count in result.rows_scrubbed.items())
    print(
        f"✔ redacted person from {args.vendor} @ {args.connection}: rows deleted ({deleted}); "
        f"rows scrubbed ({scrubbed}); landing: {result.landing_pages_rewritten} pages "
        f"rewritten, {result.landing_records_removed} records removed, "
        f"{result.landing_records_scrubbed} scrubbed; quarantine: "
        f"{result.quarantine_deleted} deleted"
    )
    return 0


def cmd_validate_mappings(args: argparse.Namespace) -> int:
    from integration_assets.connectors import CONNECTORS
    from integration_assets.connectors.connections import Connection, load_connections
    from integration_assets.mapping.compiler import compile_mapping
    from integration_assets.mapping.loader import MappingError, load_mapping, mapping_apis
    from integration_assets.mapping.union import load_table_union

    problems = 0
    connections: list[Connection] = []
    try:
        connections = list(load_connections())
    except Exception as exc:
        print(f"✘ connections: {exc}")
        problems += 1
    else:
        _print_version_warnings(connections)
    for connector in CONNECTORS.values():
        for entity in connector.entities:
            name = f"{connector.vendor}/{entity.name}"
            try:
                apis: tuple[str | None, ...] = mapping_apis(connector.vendor, entity.name) or (
                    None,
                )
            except MappingError as exc:
                problems += 1
                print(f"✘ {name}: {exc}")
                continue
            for api in apis:  # every API's mapping, whether or not a connection uses it
                label = f"{name} ({api})" if api else name
                try:
                    compiled = compile_mapping(load_mapping(connector.vendor, entity.name, api=api))
                except MappingError as exc:
                    problems += 1
                    print(f"✘ {label}: {exc}")
                    continue
                print(f"✔ {label} → {', '.join(t.name for t in compiled.tables)}")
            for connection in connections:  # each override, on the API its connection uses
                if connection.vendor != connector.vendor:
                    continue
                try:
                    load_mapping(
                        connector.vendor,
                        entity.name,
                        connection=connection.name,
                        api=connection.connector.api_id,
                    )
                except MappingError as exc:
                    problems += 1
                    print(f"✘ {name} ({connection.name}): {exc}")
            try:  # the API mappings and every override share the tables: they must agree
                load_table_union(connector.vendor, entity.name)
            except MappingError as exc:
                problems += 1
                print(f"✘ {name} (API mappings and overrides together): {exc}")
    return 1 if problems else 0


def _print_version_warnings(connections: Sequence[Any]) -> None:
    """One `⚠` line per connection whose API version is retired, deprecated or near its end."""
    from datetime import UTC, datetime

    from integration_assets.connectors.doctor import health_report

    for health in health_report(connections, datetime.now(UTC).date()):
        if health.warning:
            print(f"⚠ {health.connection}: {health.warning} (see `integration-assets doctor`)")


def cmd_doctor(args: argparse.Namespace) -> int:
    """Each connection's API version, its status and support window; exit 1 if any is retired."""
    from datetime import UTC, date, datetime

    from integration_assets.connectors.connections import ConnectionsFileError, load_connections
    from integration_assets.connectors.doctor import health_report

    try:
        today = date.fromisoformat(args.today) if args.today else datetime.now(UTC).date()
    except ValueError:
        raise SystemExit(f"--today takes a date as YYYY-MM-DD, got {args.today!r}") from None
    try:
        connections = load_connections()
    except ConnectionsFileError as exc:
        print(f"✘ connections: {exc}")
        return 1
    errors = 0
    print(f"API versions as of {today}:")
    for health in health_report(connections, today, args.warn_days):
        mark = "✘" if health.is_error else ("⚠" if health.warning else "✔")
        print(f"{mark} {health.line()}")
        if health.warning:
            print(f"    {'ERROR' if health.is_error else 'WARNING'}: {health.warning}")
        errors += health.is_error
    if errors:
        print(f"✘ {errors} connection(s) use an API version the vendor does not serve as asked")
    return 1 if errors else 0


def _age(since: Any, now: Any) -> str:
    seconds = max((now - since).total_seconds(), 0)
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s"


def cmd_quarantine_list(args: argparse.Namespace) -> int:
    """Open quarantine rows, one line each; record keys and reasons never show personal data."""
    from datetime import UTC, datetime

    from integration_assets.load.warehouse import Warehouse
    from integration_assets.mapping.masking import mask_text
    from integration_assets.sync.quarantine import list_quarantine

    warehouse = Warehouse.from_url(None)
    try:
        records = list_quarantine(
            warehouse, connection=args.connection, entity=args.entity, limit=args.limit
        )
    finally:
        warehouse.dispose()
    if not records:
        print("no open quarantined records")
        return 0
    now = datetime.now(UTC)
    print(
        f"{'id':>8}  {'connection':<20} {'entity':<12} {'record key':<22} {'seen':>5} {'age':>5}  reason"
    )
    for record in records:
        key = mask_text(record.record_key) if record.record_key is not None else "-"
        reason = record.reasons[0] if record.reasons else "-"
        more = f" (+{len(record.reasons) - 1} more)" if len(record.reasons) > 1 else ""
        print(
            f"{record.id:>8}  {record.connection:<20} {record.entity:<12} {key[:22]:<22} "
            f"{record.seen_count:>5} {_age(record.quarantined_at, now):>5}  {reason}{more}"
        )
    return 0


def cmd_quarantine_replay(args: argparse.Namespace) -> int:
    """Replay open quarantined records with the current mappings; print what happened."""
    from integration_assets.connectors.connections import load_connections
    from integration_assets.load.warehouse import Warehouse
    from integration_assets.sync.quarantine import open_entities, replay_quarantine
    from integration_assets.sync.target import SyncTarget

    connections = {connection.name: connection for connection in load_connections()}
    warehouse = Warehouse.from_url(None)
    problems = 0
    try:
        pairs = [
            (name, entity)
            for name, entity in open_entities(warehouse)
            if args.connection in (None, name) and args.entity in (None, entity)
        ]
        if not pairs:
            print("no open quarantined records to replay")
        for name, entity in pairs:
            connection = connections.get(name)
            if connection is None:
                problems += 1
                print(f"✘ {entity} @ {name}: no connection {name!r} in the connections file")
                continue
            label = f"{connection.vendor}/{entity} @ {name}"
            try:
                result = replay_quarantine(SyncTarget(connection, entity), warehouse)
            except Exception as exc:
                problems += _failed(label, exc)
                continue
            print(
                f"✔ {label}: {result.replayed} replayed, {result.still_failing} still failing, "
                f"{result.stale} stale"
            )
    finally:
        warehouse.dispose()
    return 1 if problems else 0


def _quarantine_parser(commands: Any) -> None:
    quarantine = commands.add_parser(
        "quarantine", help="list or replay records the mapping rejected"
    )
    actions = quarantine.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="open quarantined records (personal data masked)")
    replay = actions.add_parser(
        "replay", help="load open records that pass the current mapping; mark them resolved"
    )
    for action in (listing, replay):
        action.add_argument("--connection", help="only this connection")
        action.add_argument("--entity", help="only this entity, e.g. customers")
    listing.add_argument("--limit", type=int, default=50, help="at most this many rows (50)")
    listing.set_defaults(func=cmd_quarantine_list)
    replay.set_defaults(func=cmd_quarantine_replay)


DEMO_SIZES = {"customers": 2000, "orders": 3000, "products": 300, "profiles": 2000, "events": 8000}


def _sandbox_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=int, default=7, help="data seed (same seed, same data)")
    parser.add_argument("--shopify-port", type=int, default=8701)
    parser.add_argument("--klaviyo-port", type=int, default=8702)
    parser.add_argument(
        "--size",
        action="append",
        default=[],
        metavar="ENTITY=N",
        help="records of an entity, e.g. --size customers=200000 (repeatable)",
    )
    parser.add_argument(
        "--no-rate-limits", action="store_true", help="switch the vendors' rate limits off"
    )


def _sizes(args: argparse.Namespace) -> dict[str, int]:
    sizes = dict(DEMO_SIZES)
    for item in args.size:
        entity, _, count = item.partition("=")
        if not count.isdigit():
            raise SystemExit(f"--size takes ENTITY=N, got {item!r}")
        sizes[entity] = int(count)
    return sizes


def cmd_sandbox(args: argparse.Namespace) -> int:
    from integration_assets.sandbox import serve_forever

    serve_forever(
        shopify_port=args.shopify_port,
        klaviyo_port=args.klaviyo_port,
        seed=args.seed,
        sizes=_sizes(args),
        rate_limits=not args.no_rate_limits,
    )
    return 0


def _runs_waiting(home: Path) -> bool:
    """Whether runs wait in the instance's queue (the demo's feed then skips a change)."""
    from dagster import DagsterInstance, DagsterRunStatus, RunsFilter

    waiting = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED]
    try:
        with DagsterInstance.from_config(str(home)) as instance:
            return instance.get_runs_count(RunsFilter(statuses=waiting)) > 0
    except Exception:  # the instance is busy being created by `dagster dev`; try next time
        return True


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _stop_group(child: Any, grace_seconds: float = 20.0) -> None:
    """Stop `child`'s process group: SIGINT (Dagster's clean shutdown), then SIGTERM, then
    SIGKILL for whatever is still there, so the demo leaves no process behind."""
    import subprocess

    for sig, wait in ((signal.SIGINT, grace_seconds), (signal.SIGTERM, 5.0)):
        try:
            os.killpg(child.pid, sig)
            child.wait(timeout=wait)
        except ProcessLookupError:
            break
        except subprocess.TimeoutExpired:
            continue
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signal.SIGKILL)  # children outliving `dagster dev` itself


def cmd_demo(args: argparse.Namespace) -> int:
    """The sandbox and the console in this process, `dagster dev` as a child, the demo
    connections as partitions; the sandbox's webhooks go to the console and its records change
    every `--change-every` seconds, so the webhook sensor's real-time syncs are visible.

    The demo's credentials (API tokens, webhook secrets, console token) are published demo
    values for loopback servers, set only when the variables are unset (`demo.py`).
    """
    import subprocess

    from dagster import DagsterInstance

    from integration_assets.connectors.connections import load_connections
    from integration_assets.console.app import build_app
    from integration_assets.console.auth import TOKEN_ENV
    from integration_assets.console.server import ConsoleServer
    from integration_assets.console.settings import ConsoleSettings
    from integration_assets.console.triggers import GraphQLLauncher
    from integration_assets.demo import (
        ChangeFeed,
        catch_up_clock,
        launch_first_syncs,
        set_demo_environment,
        subscribe,
    )
    from integration_assets.load.warehouse import Warehouse
    from integration_assets.orchestration.partitions import connection_partitions
    from integration_assets.sandbox import run_sandbox

    if args.change_every <= 0:
        raise SystemExit("--change-every takes a positive number of seconds")
    home = _ensure_dagster_home()
    Path(".data").mkdir(exist_ok=True)
    connections = load_connections()
    demo_values = set_demo_environment(connections)
    with DagsterInstance.get() as instance:
        for connection in connections:
            name = connection_partitions(connection.vendor).name
            if not instance.has_dynamic_partition(name, connection.name):
                instance.add_dynamic_partitions(name, [connection.name])
    launcher = GraphQLLauncher(f"http://127.0.0.1:{args.port}/graphql")
    app = build_app(Warehouse.from_url(), connections, ConsoleSettings(), launcher=launcher)
    stop = threading.Event()
    with (
        run_sandbox(
            seed=args.seed,
            sizes=_sizes(args),
            rate_limits=not args.no_rate_limits,
            shopify_port=args.shopify_port,
            klaviyo_port=args.klaviyo_port,
        ) as sandbox,
        ConsoleServer(app, port=args.console_port) as console,
    ):
        for simulator in (sandbox.shopify, sandbox.klaviyo):
            catch_up_clock(simulator, time.time())  # type: ignore[arg-type]
        subscribed = subscribe(sandbox, connections, console.url)
        feed = None
        if not args.no_changes:
            simulators = {"shopify": sandbox.shopify, "klaviyo": sandbox.klaviyo}
            feed = ChangeFeed(
                simulators,  # type: ignore[arg-type]
                args.change_every,
                busy=lambda: _runs_waiting(home),
            ).start()
        print(f"sandbox: Shopify at {sandbox.shopify_url}, Klaviyo at {sandbox.klaviyo_url}")
        print(f"console: {console.url}/status ({subscribed} webhook subscriptions to it)")
        if TOKEN_ENV in demo_values:
            print(
                f"  sign in with {demo_values[TOKEN_ENV]} (a local demo token, not a secret "
                f"of any real system; export {TOKEN_ENV} to choose your own)"
            )
        changes = "off" if feed is None else f"every {args.change_every:g} s"
        print(f"sandbox changes: {changes} (--change-every N, --no-changes)")
        print(f"dagster: http://127.0.0.1:{args.port} (DAGSTER_HOME={home})", flush=True)
        if not args.no_first_sync:
            launch_first_syncs(
                launcher, connections, stop, say=lambda line: print(line, flush=True)
            )
        dagster = [sys.executable, "-m", "dagster", "dev", "-h", "127.0.0.1", "-p", str(args.port)]
        # Its own process group, so stopping the demo can stop every process it started
        # (webserver, daemon, code server, runs), even when `dagster dev` is slow to exit.
        child = subprocess.Popen([*dagster, "-w", "workspace.yaml"], start_new_session=True)
        # SIGINT too: a shell starting the demo in the background makes it ignore SIGINT.
        previous = {sig: signal.signal(sig, _interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            return child.wait()
        except KeyboardInterrupt:
            return 0
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            stop.set()
            if feed is not None:
                feed.stop()
            _stop_group(child)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="integration-assets", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    sync = commands.add_parser("sync", help="materialize a sync asset partition now")
    sync.add_argument("asset", nargs="?", help="VENDOR/ENTITY, e.g. shopify/customers")
    sync.add_argument(
        "--connection", help="only this connection (default: every one that syncs it)"
    )
    sync.add_argument("--all", action="store_true", help="every entity of every connection")
    sync.add_argument("--full-refresh", action="store_true", help="ignore the saved cursor")
    sync.add_argument(
        "--verbose", action="store_true", help="also print Dagster's event log (DEBUG)"
    )
    sync.set_defaults(func=cmd_sync)

    validate = commands.add_parser(
        "validate-mappings", help="check every mapping and override file"
    )
    validate.set_defaults(func=cmd_validate_mappings)

    doctor = commands.add_parser(
        "doctor", help="each connection's API version: status, support window, warnings"
    )
    doctor.add_argument("--today", help="judge as of this day, YYYY-MM-DD (default: today, UTC)")
    doctor.add_argument(
        "--warn-days",
        type=int,
        default=90,
        help="warn when support ends within this many days (default 90)",
    )
    doctor.set_defaults(func=cmd_doctor)

    reconcile = commands.add_parser(
        "reconcile", help="mark rows of records the vendor deleted (_deleted_at)"
    )
    reconcile.add_argument("asset", help="VENDOR/ENTITY, e.g. shopify/customers")
    reconcile.add_argument("--connection", required=True, help="the connection to reconcile")
    reconcile.add_argument(
        "--max-deleted-fraction",
        type=float,
        default=0.5,
        help="refuse to mark more than this share of live rows (default 0.5; 1 allows all)",
    )
    reconcile.set_defaults(func=cmd_reconcile)

    redact = commands.add_parser(
        "redact", help="remove a person from warehouse, landing and quarantine"
    )
    redact.add_argument("vendor", help="e.g. shopify")
    redact.add_argument("person_id", help="the vendor's id of the person (customer, profile)")
    redact.add_argument("--connection", required=True, help="the connection holding the person")
    redact.set_defaults(func=cmd_redact)

    sandbox = commands.add_parser("sandbox", help="serve the Shopify and Klaviyo simulators")
    _sandbox_arguments(sandbox)
    sandbox.set_defaults(func=cmd_sandbox)

    demo = commands.add_parser(
        "demo", help="sandbox + console (127.0.0.1:8700) + dagster dev (127.0.0.1:3000)"
    )
    _sandbox_arguments(demo)
    demo.add_argument("--port", type=int, default=3000, help="Dagster UI port")
    demo.add_argument("--console-port", type=int, default=8700, help="console port (webhooks)")
    demo.add_argument(
        "--change-every",
        type=float,
        default=15.0,
        metavar="SECONDS",
        help="change a few sandbox records this often, sending webhooks (default 15)",
    )
    demo.add_argument("--no-changes", action="store_true", help="keep the sandbox's records still")
    demo.add_argument(
        "--no-first-sync",
        action="store_true",
        help="do not launch a sync of each connection once Dagster is up",
    )
    demo.set_defaults(func=cmd_demo)

    _quarantine_parser(commands)
    add_serve_parser(commands)
    add_status_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
