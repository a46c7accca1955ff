"""`integration-assets status`: the monitoring table in the terminal.

Exit status: 0 when nothing is failing (late or running entities are shown, not failed on:
they are a question of time), 1 when any (connection, entity) shown is failing, 2 when the
connections file or the warehouse cannot be read. So `integration-assets status` works as a
cron or CI probe.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime


def cmd_status(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from integration_assets.connectors.connections import ConnectionsFileError, load_connections
    from integration_assets.load.warehouse import Warehouse, WarehouseConfigError
    from integration_assets.monitoring.status import read_status
    from integration_assets.monitoring.table import render_table, summary

    try:
        connections = load_connections()
        warehouse = Warehouse.from_url()
    except (ConnectionsFileError, WarehouseConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.connection is not None:
        connections = [c for c in connections if c.name == args.connection]
        if not connections:
            print(
                f"error: no connection {args.connection!r} in the connections file", file=sys.stderr
            )
            return 2
    now = datetime.now(UTC)
    try:
        rows = read_status(warehouse, connections, now=now)
    except SQLAlchemyError as exc:  # the class names the problem; the text may quote SQL
        print(f"error: cannot read {warehouse.describe()}: {type(exc).__name__}", file=sys.stderr)
        return 2
    finally:
        warehouse.dispose()
    if args.json:
        print(json.dumps([row.to_json(now) for row in rows], indent=2))
    else:
        print(render_table(rows, now))
        print(f"\n{summary(rows)}  (as of {now:%Y-%m-%d %H:%M:%S} UTC)")
    return 1 if any(row.status == "failing" for row in rows) else 0


def add_status_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register `status` on the main parser's subcommands."""
    status = commands.add_parser(
        "status",
        help="each connection and entity: ok/running/failing/late, last success, lag, errors "
        "(exit 1 when any is failing)",
    )
    status.add_argument("--connection", help="only this connection")
    status.add_argument("--json", action="store_true", help="print JSON instead of a table")
    status.set_defaults(func=cmd_status)
