"""The `/quality` page, `/quality.json` and the quarantine's Replay button.

Same rules as the status page (`monitor.py`): a login for everything, the session's CSRF
token on the POST, strict headers. The figures come from `quality_data.read_quality` and
`quarantine_view.search_quarantine` in a worker thread. Replay builds the `SyncTarget` the
way `integration-assets quarantine replay` does (the configured connection and the entity,
mappings from `$INTEGRATION_MAPPINGS` with the connection's override), runs
`replay_quarantine` and says what it did in a flash message on the page it returns to.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse
from starlette.responses import Response as StarletteResponse
from starlette.routing import Route

from integration_assets.connectors.connections import Connection
from integration_assets.console.auth import ConsoleAuth
from integration_assets.console.monitor import FLASH_COOKIE, _form, _headers, _set_cookie
from integration_assets.console.quality_data import IntegrationQuality, read_quality
from integration_assets.console.quality_html import quality_page
from integration_assets.console.quarantine_view import (
    QuarantinePage,
    QuarantineQuery,
    search_quarantine,
)
from integration_assets.load.bookkeeping import ensure_bookkeeping
from integration_assets.load.warehouse import Warehouse
from integration_assets.quality.metrics import quality_tables
from integration_assets.sync.failure import failure_message
from integration_assets.sync.quarantine import ReplayResult, replay_quarantine
from integration_assets.sync.target import SyncTarget


class QualityPages:
    """The handlers; `auth` None means the console's pages are off (503)."""

    def __init__(
        self,
        warehouse: Warehouse,
        connections: Sequence[Connection],
        auth: ConsoleAuth | None,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.warehouse = warehouse
        self.connections = list(connections)
        self.auth = auth
        self.clock = clock
        self._tables_ready = False

    def routes(self) -> list[Route]:
        return [
            Route("/quality", self.quality, methods=["GET"]),
            Route("/quality.json", self.quality_json, methods=["GET"]),
            Route("/quality/replay", self.replay, methods=["POST"]),
        ]

    def _off(self) -> PlainTextResponse:
        return PlainTextResponse("The console's pages are off (see /status).", 503)

    def _read(
        self, query: QuarantineQuery, now: datetime
    ) -> tuple[list[IntegrationQuality], QuarantinePage]:
        if not self._tables_ready:  # once: the quality stage may not have run yet
            ensure_bookkeeping(self.warehouse, quality_tables(self.warehouse.dialect).metadata)
            self._tables_ready = True
        return (
            read_quality(self.warehouse, self.connections, now),
            search_quarantine(self.warehouse, query),
        )

    async def _figures(
        self, query: QuarantineQuery
    ) -> tuple[list[IntegrationQuality], QuarantinePage, datetime] | str:
        """The figures, or a message safe to show when the warehouse cannot be read."""
        now = self.clock()
        try:
            integrations, found = await asyncio.to_thread(self._read, query, now)
        except SQLAlchemyError as exc:
            # The class says enough; the message may quote SQL and its parameters.
            return (
                f"The warehouse ({self.warehouse.describe()}) cannot be read now "
                f"({type(exc).__name__}); this page tries again on reload."
            )
        return integrations, found, now

    async def quality(self, request: Request) -> StarletteResponse:
        if self.auth is None:
            return self._off()
        csrf = self.auth.session_csrf(request)
        if csrf is None:
            return RedirectResponse("/login", 303)
        query = QuarantineQuery.from_params(request.query_params)
        figures = await self._figures(query)
        if isinstance(figures, str):
            return PlainTextResponse(figures, 503, headers={"Cache-Control": "no-store"})
        integrations, found, now = figures
        flash = self.auth.flash.load(request.cookies.get(FLASH_COOKIE))
        nonce = secrets.token_urlsafe(16)
        html = quality_page(
            integrations,
            found,
            query,
            nonce=nonce,
            csrf=csrf,
            now=now,
            flash=(str(flash.get("k")), str(flash.get("m"))) if flash else None,
        )
        response = HTMLResponse(html, headers=_headers(nonce))
        if flash:
            response.delete_cookie(FLASH_COOKIE, path="/")
        return response

    async def quality_json(self, request: Request) -> StarletteResponse:
        if self.auth is None:
            return self._off()
        if not (self.auth.session_csrf(request) is not None or self.auth.header_token_ok(request)):
            return JSONResponse(
                {"error": "not signed in"}, 401, {"WWW-Authenticate": 'Basic realm="console"'}
            )
        figures = await self._figures(QuarantineQuery())
        if isinstance(figures, str):
            return JSONResponse({"error": figures}, 503, headers={"Cache-Control": "no-store"})
        integrations, found, now = figures
        document: dict[str, Any] = {
            "generated_at": now.isoformat(),
            "integrations": [item.to_json() for item in integrations],
            "quarantine": [
                {"connection": c, "entity": e, "open": n} for c, e, n in found.open_by_entity
            ],
        }
        return JSONResponse(document, headers={"Cache-Control": "no-store"})

    async def replay(self, request: Request) -> StarletteResponse:
        if self.auth is None:
            return self._off()
        form = await _form(request)
        if not self.auth.csrf_ok(request, form.get("csrf")):
            return PlainTextResponse("Forbidden: CSRF token missing or wrong.", 403)
        name, entity = form.get("connection", ""), form.get("entity", "")
        connection = next((c for c in self.connections if c.name == name), None)
        if connection is None:
            flash = {"k": "error", "m": f"No connection {name!r} in the connections file."}
        else:
            try:
                result = await asyncio.to_thread(self._replay, connection, entity)
                flash = {"k": "ok", "m": _said(connection, result)}
            except SQLAlchemyError as exc:
                flash = {
                    "k": "error",
                    "m": f"Replay of {entity} @ {name} failed: the warehouse "
                    f"({self.warehouse.describe()}) answered {type(exc).__name__}.",
                }
            except Exception as exc:
                flash = {
                    "k": "error",
                    "m": f"Replay of {entity} @ {name} failed: {failure_message(exc)}",
                }
        back = urlencode({"connection": name, "entity": entity})
        response = RedirectResponse(f"/quality?{back}#quarantine", 303)
        _set_cookie(response, request, FLASH_COOKIE, self.auth.flash.sign(flash, 60), 60)
        return response

    def _replay(self, connection: Connection, entity: str) -> ReplayResult:
        # As `integration-assets quarantine replay`: the mappings directory of the
        # environment, the connection's override applied.
        return replay_quarantine(SyncTarget(connection, entity), self.warehouse)


def _said(connection: Connection, result: ReplayResult) -> str:
    return (
        f"Replayed {connection.vendor}/{result.entity} @ {result.connection}: "
        f"{result.replayed} replayed, {result.still_failing} still failing, "
        f"{result.stale} stale."
    )
