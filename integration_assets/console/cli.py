"""`integration-assets serve`: the console in the foreground.

Kept beside the console so `cli.py` only registers it. The configuration (host, connections,
secrets, warehouse URL) is checked before anything listens, so a mistake is a one-line error
and exit status 2, not a server answering every delivery with an error.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from integration_assets.console.settings import (
    DEFAULT_HOST,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_PORT,
    DEFAULT_STATUS_REFRESH_SECONDS,
    DEFAULT_TIMESTAMP_TOLERANCE_SECONDS,
)

if TYPE_CHECKING:
    from integration_assets.console.triggers import Launcher


def _launcher(args: argparse.Namespace) -> Launcher:
    """ "Sync now" through the webserver when asked (or `DAGSTER_GRAPHQL_URL` is set), else
    in this process (see `console/triggers.py`)."""
    import os

    from integration_assets.console.settings import ConsoleConfigError
    from integration_assets.console.triggers import GraphQLLauncher, InProcessLauncher
    from integration_assets.monitoring.links import DEFAULT_GRAPHQL_URL

    url = args.dagster_graphql_url or os.environ.get("DAGSTER_GRAPHQL_URL") or ""
    mode = args.trigger or ("graphql" if url else "in-process")
    if mode == "in-process":
        return InProcessLauncher()
    try:
        return GraphQLLauncher(url or DEFAULT_GRAPHQL_URL)
    except ValueError as exc:
        raise ConsoleConfigError(str(exc)) from None


def cmd_serve(args: argparse.Namespace) -> int:
    """Check the configuration, then serve until interrupted; 2 with a clear error if not."""
    from integration_assets.connectors.connections import ConnectionsFileError, load_connections
    from integration_assets.console.app import build_app
    from integration_assets.console.server import check_host, serve
    from integration_assets.console.settings import ConsoleConfigError, ConsoleSettings
    from integration_assets.load.warehouse import Warehouse, WarehouseConfigError

    try:
        check_host(args.host, args.allow_non_loopback)
        settings = ConsoleSettings(
            max_body_bytes=args.max_body_bytes,
            timestamp_tolerance_seconds=args.timestamp_tolerance,
            status_refresh_seconds=args.status_refresh,
        )
        warehouse = Warehouse.from_url()
        launcher = _launcher(args)
        app = build_app(warehouse, load_connections(), settings, launcher=launcher)
    except (ConsoleConfigError, ConnectionsFileError, WarehouseConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"console: http://{args.host}:{args.port} (webhooks: POST /webhooks/<vendor>/<connection>;"
        f" inbox in {warehouse.describe()}; status page /status, sync now {launcher.mode})",
        flush=True,
    )
    serve(app, args.host, args.port, args.allow_non_loopback)
    return 0


def add_serve_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register `serve` on the main parser's subcommands."""
    serve = commands.add_parser(
        "serve",
        help="the console: receive webhooks into the warehouse inbox; status page and sync now "
        "(sign in with INTEGRATION_CONSOLE_TOKEN)",
    )
    serve.add_argument("--host", default=DEFAULT_HOST, help=f"default {DEFAULT_HOST}")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}")
    serve.add_argument(
        "--allow-non-loopback",
        action="store_true",
        help="permit a host other than loopback (prefer a TLS proxy in front of 127.0.0.1)",
    )
    serve.add_argument(
        "--max-body-bytes",
        type=int,
        default=DEFAULT_MAX_BODY_BYTES,
        help=f"refuse larger deliveries with 413 (default {DEFAULT_MAX_BODY_BYTES})",
    )
    serve.add_argument(
        "--timestamp-tolerance",
        type=int,
        default=DEFAULT_TIMESTAMP_TOLERANCE_SECONDS,
        help="seconds a delivery's timestamp may differ from our clock, on top of the "
        f"vendor's retry window (default {DEFAULT_TIMESTAMP_TOLERANCE_SECONDS})",
    )
    serve.add_argument(
        "--status-refresh",
        type=int,
        default=DEFAULT_STATUS_REFRESH_SECONDS,
        help=f"seconds between the status page's refreshes (default {DEFAULT_STATUS_REFRESH_SECONDS})",
    )
    serve.add_argument(
        "--trigger",
        choices=["graphql", "in-process"],
        help="how 'sync now' launches runs: through the Dagster webserver's GraphQL API "
        "(default when DAGSTER_GRAPHQL_URL is set) or in this process (default otherwise)",
    )
    serve.add_argument(
        "--dagster-graphql-url",
        help="the webserver's GraphQL endpoint (default $DAGSTER_GRAPHQL_URL, else "
        "http://127.0.0.1:3000/graphql)",
    )
    serve.set_defaults(func=cmd_serve)
