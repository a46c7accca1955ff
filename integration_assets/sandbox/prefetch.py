"""Rendering the next page while the client is still busy with this one.

A sync walks pages strictly one after another: the client cannot ask for page k+1 before it has
read the `next` link of page k. When the simulator runs in its own process, rendering page k+1
right after sending page k overlaps the sandbox's work with the client's, so a benchmark
measures the sync, not the sum of the sync and the sandbox.

The pre-rendered page is only reused for exactly the same request against exactly the same
state (data generation and fault switches); rate limits, injected errors and the request log
still apply to the real request, and a page that a `malformed_page` fault could hit is never
rendered ahead.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

if TYPE_CHECKING:
    from integration_assets.sandbox.simulator import Simulator

VOLATILE_HEADERS = frozenset(
    {
        b"content-length",
        b"x-request-id",
        b"x-shopify-shop-api-call-limit",
        b"ratelimit-limit",
        b"ratelimit-remaining",
        b"ratelimit-reset",
    }
)
"""Headers that belong to one answer, not to the page: recomputed when a page is reused."""


class PageResponse(Response):
    """A list page that knows the URL of the page after it."""

    next_url: str | None = None


@dataclass(frozen=True)
class _Rendered:
    key: Hashable
    body: bytes
    status: int
    headers: list[tuple[bytes, bytes]]
    next_url: str | None


class PageCache:
    """Holds the one page rendered ahead (a sequential walk needs no more)."""

    def __init__(self) -> None:
        self._page: _Rendered | None = None

    @staticmethod
    def key(simulator: Simulator, path: str, query: str) -> Hashable | None:
        """Identity of a request against the current state, or None when it must not be reused."""
        settings = simulator.fault_settings
        if settings.malformed_page is not None:
            return None
        return (path, query, simulator.state_stamp(), settings)

    def put(self, key: Hashable, response: Response) -> None:
        """Keep a rendered page for the request it answers."""
        stable = [
            (name, value) for name, value in response.raw_headers if name not in VOLATILE_HEADERS
        ]
        following = response.next_url if isinstance(response, PageResponse) else None
        self._page = _Rendered(key, bytes(response.body), response.status_code, stable, following)

    def take(self, key: Hashable, fresh: dict[str, str]) -> PageResponse | None:
        """The page rendered for exactly this request, with this answer's own headers."""
        page = self._page
        if page is None or page.key != key:
            return None
        self._page = None
        response = PageResponse(page.body, status_code=page.status)
        response.next_url = page.next_url
        response.raw_headers = [
            *(pair for pair in page.headers if pair[0] != b"content-length"),
            *((name.lower().encode(), value.encode()) for name, value in fresh.items()),
            (b"content-length", str(len(page.body)).encode()),
        ]
        return response


def follow_up_request(template: Request, url: str) -> Request:
    """A request for `url` carrying the same headers (host, credentials) as `template`."""
    parts = urlsplit(url)
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": "GET",
        "scheme": template.url.scheme,
        "path": parts.path,
        "raw_path": parts.path.encode(),
        "query_string": parts.query.encode(),
        "headers": list(template.headers.raw),
        "server": template.scope.get("server"),
        "client": template.scope.get("client"),
        "root_path": "",
    }
    return Request(scope)
