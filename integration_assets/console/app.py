"""The console's ASGI app: one webhook route per vendor, a health check, and the signed-in
pages (status, sync now; see `monitor.py`; data quality and the quarantine, see
`quality_pages.py`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from integration_assets.connectors import CONNECTORS
from integration_assets.connectors.connections import Connection
from integration_assets.console.auth import ConsoleAuth
from integration_assets.console.batcher import InboxBatcher
from integration_assets.console.monitor import MonitorPages
from integration_assets.console.quality_pages import QualityPages
from integration_assets.console.receive import WebhookEndpoint
from integration_assets.console.secrets import webhook_receivers
from integration_assets.console.settings import ConsoleSettings
from integration_assets.console.triggers import InProcessLauncher, Launcher
from integration_assets.load.warehouse import Warehouse
from integration_assets.monitoring.links import dagster_ui_url


async def _health(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def build_app(
    warehouse: Warehouse,
    connections: Sequence[Connection],
    settings: ConsoleSettings | None = None,
    environ: Mapping[str, str] | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    launcher: Launcher | None = None,
) -> Starlette:
    """The console app. Secrets are read from `environ` (default: the process environment)
    now, so a missing one stops the start with `ConsoleConfigError`, not the first delivery.
    `launcher` runs "sync now" (default: in this process, see `triggers.py`).
    """
    chosen = settings or ConsoleSettings()
    receivers = webhook_receivers(connections, environ)
    writer = InboxBatcher(warehouse)
    routes = [Route("/health", _health, methods=["GET"])]
    for vendor, spec in sorted(CONNECTORS.items()):
        if spec.webhooks is None:
            continue
        endpoint = WebhookEndpoint(vendor, receivers, writer, chosen, clock)
        routes.append(
            Route(f"/webhooks/{vendor}/{{connection}}", endpoint.handle, methods=["POST"])
        )
    pages = MonitorPages(
        warehouse,
        connections,
        ConsoleAuth.from_environ(environ),
        launcher or InProcessLauncher(),
        refresh_seconds=chosen.status_refresh_seconds,
        dagster_ui=dagster_ui_url(environ),
        clock=clock,
    )
    auth = pages.auth
    routes += pages.routes()
    routes += QualityPages(warehouse, connections, auth, clock=clock).routes()
    app = Starlette(routes=routes)
    app.state.inbox = writer
    return app
