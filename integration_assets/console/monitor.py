"""The console's pages: `/login`, `/logout`, `/status` (+ `/status.json`) and "sync now".

Every page needs a login (see `auth.py`); an anonymous page request is sent to `/login`, an
anonymous `/status.json` gets 401. Forms carry the session's CSRF token (the login form a
token of its own, double-submitted in a signed cookie) and a POST without a matching one is
refused with 403 before anything happens. Responses forbid framing and caching and allow
only their own inline style and script (CSP nonce).

The status rows come from `monitoring.read_status` in a worker thread, so a slow database
never stalls the webhook endpoints served by the same event loop.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from urllib.parse import parse_qs

from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse
from starlette.responses import Response as StarletteResponse
from starlette.routing import Route

from integration_assets.connectors.connections import Connection
from integration_assets.console.auth import SESSION_COOKIE, SESSION_HOURS, TOKEN_ENV, ConsoleAuth
from integration_assets.console.pages import login_page, status_page
from integration_assets.console.status_view import display, status_document
from integration_assets.console.triggers import Launcher, LaunchRefused
from integration_assets.load.warehouse import Warehouse
from integration_assets.monitoring.status import EntityStatus, read_status

FLASH_COOKIE = "ia_console_flash"
LOGIN_COOKIE = "ia_console_login"
MAX_FORM_BYTES = 8192
LAUNCH_TIMEOUT_SECONDS = 30


def _headers(nonce: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": (
            f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
            "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        ),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    }


def _set_cookie(
    response: StarletteResponse, request: Request, name: str, value: str, max_age: int
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )


async def _form(request: Request) -> dict[str, str]:
    """An urlencoded form of at most `MAX_FORM_BYTES` (empty when larger or another type)."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return {}
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return {}
    fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {name: values[0] for name, values in fields.items()}


class WarehouseUnavailable(Exception):
    """Reading the status failed; the message is safe to show."""


class MonitorPages:
    """The page handlers; `auth` None means no token is configured: pages answer 503."""

    def __init__(
        self,
        warehouse: Warehouse,
        connections: Sequence[Connection],
        auth: ConsoleAuth | None,
        launcher: Launcher,
        *,
        refresh_seconds: int,
        dagster_ui: str,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.warehouse = warehouse
        self.connections = {c.name: c for c in connections}
        self.auth = auth
        self.launcher = launcher
        self.refresh_seconds = refresh_seconds
        self.dagster_ui = dagster_ui
        self.clock = clock

    def routes(self) -> list[Route]:
        return [
            Route("/", self.home, methods=["GET"]),
            Route("/login", self.login_form, methods=["GET"]),
            Route("/login", self.login, methods=["POST"]),
            Route("/logout", self.logout, methods=["POST"]),
            Route("/status", self.status, methods=["GET"]),
            Route("/status.json", self.status_json, methods=["GET"]),
            Route("/connections/{connection}/sync", self.sync_now, methods=["POST"]),
        ]

    def _off(self) -> PlainTextResponse:
        return PlainTextResponse(
            f"The console's pages are off: set {TOKEN_ENV} (16+ characters) and restart.", 503
        )

    def _signed_in(self, request: Request) -> bool:
        assert self.auth is not None
        return self.auth.session_csrf(request) is not None

    async def home(self, request: Request) -> StarletteResponse:
        return RedirectResponse("/status", 303)

    async def login_form(self, request: Request) -> StarletteResponse:
        if self.auth is None:
            return self._off()
        return self._login_page(request)

    def _login_page(self, request: Request, error: str | None = None) -> StarletteResponse:
        assert self.auth is not None
        nonce, form_token = secrets.token_urlsafe(16), secrets.token_urlsafe(24)
        response = HTMLResponse(
            login_page(nonce, form_token, error), 401 if error else 200, _headers(nonce)
        )
        cookie = self.auth.login_form.sign({"t": form_token}, 3600)
        _set_cookie(response, request, LOGIN_COOKIE, cookie, 3600)
        return response

    async def login(self, request: Request) -> StarletteResponse:
        if self.auth is None:
            return self._off()
        form = await _form(request)
        expected = self.auth.login_form.load(request.cookies.get(LOGIN_COOKIE))
        if not expected or not secrets.compare_digest(
            str(expected.get("t", "")).encode(), form.get("csrf", "").encode()
        ):
            return PlainTextResponse("Forbidden: the form's CSRF token is missing or stale.", 403)
        if not self.auth.token_matches(form.get("token", "")):
            return self._login_page(request, "That token is not the console's token.")
        cookie, _ = self.auth.new_session()
        response = RedirectResponse("/status", 303)
        _set_cookie(response, request, SESSION_COOKIE, cookie, SESSION_HOURS * 3600)
        response.delete_cookie(LOGIN_COOKIE, path="/")
        return response

    async def logout(self, request: Request) -> StarletteResponse:
        if self.auth is None:
            return self._off()
        if not self.auth.csrf_ok(request, (await _form(request)).get("csrf")):
            return PlainTextResponse("Forbidden: CSRF token missing or wrong.", 403)
        response = RedirectResponse("/login", 303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    async def _rows(self) -> tuple[list[EntityStatus], datetime]:
        """The status rows; `WarehouseUnavailable` when the database cannot be read."""
        now = self.clock()
        try:
            rows = await asyncio.to_thread(
                read_status, self.warehouse, list(self.connections.values()), now=now
            )
        except SQLAlchemyError as exc:
            # The class says enough; the message may quote SQL and its parameters.
            raise WarehouseUnavailable(
                f"The warehouse ({self.warehouse.describe()}) cannot be read now "
                f"({type(exc).__name__}); this page tries again on reload."
            ) from None
        return rows, now

    async def status(self, request: Request) -> StarletteResponse:
        if self.auth is None:
            return self._off()
        csrf = self.auth.session_csrf(request)
        if csrf is None:
            return RedirectResponse("/login", 303)
        try:
            rows, now = await self._rows()
        except WarehouseUnavailable as down:
            return PlainTextResponse(str(down), 503, headers={"Cache-Control": "no-store"})
        flash = self.auth.flash.load(request.cookies.get(FLASH_COOKIE))
        nonce = secrets.token_urlsafe(16)
        html = status_page(
            [(row, display(row, now, self.dagster_ui)) for row in rows],
            nonce=nonce,
            csrf=csrf,
            as_of=f"{now:%Y-%m-%d %H:%M:%S} UTC",
            refresh_seconds=self.refresh_seconds,
            flash=(str(flash.get("k")), str(flash.get("m"))) if flash else None,
            trigger_mode=self.launcher.mode,
        )
        response = HTMLResponse(html, headers=_headers(nonce))
        if flash:
            response.delete_cookie(FLASH_COOKIE, path="/")
        return response

    async def status_json(self, request: Request) -> StarletteResponse:
        if self.auth is None:
            return self._off()
        if not (self._signed_in(request) or self.auth.header_token_ok(request)):
            return JSONResponse(
                {"error": "not signed in"}, 401, {"WWW-Authenticate": 'Basic realm="console"'}
            )
        try:
            rows, now = await self._rows()
        except WarehouseUnavailable as down:
            return JSONResponse({"error": str(down)}, 503, headers={"Cache-Control": "no-store"})
        return JSONResponse(
            status_document(rows, now, self.dagster_ui), headers={"Cache-Control": "no-store"}
        )

    async def sync_now(self, request: Request) -> StarletteResponse:
        if self.auth is None:
            return self._off()
        if not self.auth.csrf_ok(request, (await _form(request)).get("csrf")):
            return PlainTextResponse("Forbidden: CSRF token missing or wrong.", 403)
        connection = self.connections.get(request.path_params["connection"])
        if connection is None:
            return PlainTextResponse("No such connection.", 404)
        try:
            message = await asyncio.wait_for(
                asyncio.to_thread(self.launcher.launch, connection), LAUNCH_TIMEOUT_SECONDS
            )
            flash = {"k": "ok", "m": message}
        except LaunchRefused as refused:
            flash = {"k": "error", "m": str(refused)}
        except TimeoutError:
            flash = {"k": "error", "m": f"Launching the sync of {connection.name} timed out."}
        response = RedirectResponse("/status", 303)
        _set_cookie(response, request, FLASH_COOKIE, self.auth.flash.sign(flash, 60), 60)
        return response
