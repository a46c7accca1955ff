"""The request pipeline every simulated vendor endpoint goes through.

access check (401/400) → rate limit (429) → injected 5xx or stall → the vendor handler (or the
page rendered ahead for exactly this request, see `prefetch`) → log.
The order mirrors the real services: a request without credentials is refused before it costs
rate budget, and injected faults happen before any data is read, so they can never consume or
skip data.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Hashable
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from integration_assets.sandbox.control import control_routes
from integration_assets.sandbox.prefetch import PageCache, PageResponse, follow_up_request
from integration_assets.sandbox.ratelimit import Verdict
from integration_assets.sandbox.timefmt import http_date

if TYPE_CHECKING:
    from integration_assets.sandbox.simulator import Simulator

_METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def absolute_base(request: Request) -> str:
    """Scheme and host the client used, so links point back to wherever it reached us."""
    host = request.headers.get("host") or f"{request.url.hostname}:{request.url.port}"
    return f"{request.url.scheme}://{host}"


class VendorApp(ABC):
    """One vendor's wire protocol on top of the shared pipeline."""

    def __init__(self, simulator: Simulator) -> None:
        self.simulator = simulator
        self.pages = PageCache()

    def build(self) -> Starlette:
        """The Starlette app: controls first, then every other path goes to the vendor."""
        routes = [
            *control_routes(self.simulator),
            *self.extra_routes(),
            Route("/{path:path}", self.endpoint, methods=_METHODS),
        ]
        return Starlette(routes=routes)

    async def endpoint(self, request: Request) -> Response:
        """Answer one vendor request, stamp it with the simulated time, and log it.

        Every answer carries an RFC 9110 `Date` on the simulator's clock, as a vendor's
        servers stamp theirs with their own clock: record timestamps and `Date` then agree.
        """
        response = await self._answer(request)
        with self.simulator.lock:
            response.headers["Date"] = http_date(self.simulator.clock)
            # A handler may describe a request whose parameters are in its body (GraphQL).
            params = getattr(request.state, "log_params", None) or dict(request.query_params)
            self.simulator.log.record(
                request.method, request.url.path, params, response.status_code
            )
        return response

    async def _answer(self, request: Request) -> Response:
        simulator = self.simulator
        with simulator.lock:
            refused = self.check_access(request)
            if refused is not None:
                return refused
            headers: dict[str, str] = {}
            if simulator.fault_settings.rate_limits:
                verdict = self.rate_limit(request)
                if verdict is not None:
                    if not verdict.allowed:
                        return self.throttled(verdict.headers)
                    headers.update(verdict.headers)
            else:
                headers.update(self.unlimited_headers(request))
            fault = simulator.faults.next_request()
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.status is not None:
            return self.server_error(fault.status, headers)
        with simulator.lock:
            key = self._cache_key(request)
            response = None
            if key is not None:
                response = self.pages.take(key, {**self.fresh_headers(), **headers})
            if response is None:
                response = self.handle(request, headers)
        if key is not None and isinstance(response, PageResponse) and response.next_url:
            response.background = BackgroundTask(self._render_ahead, request, response.next_url)
        return response

    def _cache_key(self, request: Request) -> Hashable | None:
        if not self.simulator.prefetch or request.method != "GET":
            return None
        return self.pages.key(self.simulator, request.url.path, request.url.query)

    def _render_ahead(self, request: Request, url: str) -> None:
        """Render the next page after the answer went out (runs in a worker thread)."""
        following = follow_up_request(request, url)
        with self.simulator.lock:
            key = self._cache_key(following)
            if key is None:
                return
            response = self.handle(following, {})
            if response.status_code == 200:
                self.pages.put(key, response)

    def extra_routes(self) -> list[Route]:
        """Vendor routes outside the request pipeline (e.g. Shopify's bulk result storage)."""
        return []

    def fresh_headers(self) -> dict[str, str]:
        """Headers each answer gets anew even when its page was rendered ahead."""
        return {}

    @abstractmethod
    def check_access(self, request: Request) -> Response | None:
        """The vendor's refusal (401, missing revision …) or None to go on."""

    @abstractmethod
    def rate_limit(self, request: Request) -> Verdict | None:
        """Count the request against the vendor's limiter; None when the path has none."""

    @abstractmethod
    def unlimited_headers(self, request: Request) -> dict[str, str]:
        """Budget headers while rate limiting is off: present, and reporting a full budget."""

    @abstractmethod
    def throttled(self, headers: dict[str, str]) -> Response:
        """The vendor's 429."""

    @abstractmethod
    def server_error(self, status: int, headers: dict[str, str]) -> Response:
        """What the vendor (or its edge) answers for an injected 5xx."""

    @abstractmethod
    def handle(self, request: Request, headers: dict[str, str]) -> Response:
        """Serve the request (routing, parameters, records, links)."""
