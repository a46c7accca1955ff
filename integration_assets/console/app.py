"""The console's ASGI app: one webhook route per vendor, and a health check."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from integration_assets.connectors import CONNECTORS
from integration_assets.connectors.connections import Connection
from integration_assets.console.batcher import InboxBatcher
from integration_assets.console.receive import WebhookEndpoint
from integration_assets.console.secrets import webhook_receivers
from integration_assets.console.settings import ConsoleSettings
from integration_assets.load.warehouse import Warehouse


async def _health(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def build_app(
    warehouse: Warehouse,
    connections: Sequence[Connection],
    settings: ConsoleSettings | None = None,
    environ: Mapping[str, str] | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Starlette:
    """The console app. Secrets are read from `environ` (default: the process environment)
    now, so a missing one stops the start with `ConsoleConfigError`, not the first delivery.
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
    app = Starlette(routes=routes)
    app.state.inbox = writer
    return app
