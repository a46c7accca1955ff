"""`integration-assets serve`: the console in the foreground.

Kept beside the console so `cli.py` only registers it. The configuration (host, connections,
secrets, warehouse URL) is checked before anything listens, so a mistake is a one-line error
and exit status 2, not a server answering every delivery with an error.
"""

from __future__ import annotations

import argparse
import sys

from integration_assets.console.settings import (
    DEFAULT_HOST,
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_PORT,
    DEFAULT_TIMESTAMP_TOLERANCE_SECONDS,
)


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
        )
        warehouse = Warehouse.from_url()
        app = build_app(warehouse, load_connections(), settings)
    except (ConsoleConfigError, ConnectionsFileError, WarehouseConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(
        f"console: http://{args.host}:{args.port} (webhooks: POST /webhooks/<vendor>/<connection>;"
        f" inbox in {warehouse.describe()})",
        flush=True,
    )
    serve(app, args.host, args.port, args.allow_non_loopback)
    return 0


def add_serve_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register `serve` on the main parser's subcommands."""
    serve = commands.add_parser(
        "serve", help="the console: receive webhooks into the warehouse inbox"
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
    serve.set_defaults(func=cmd_serve)
