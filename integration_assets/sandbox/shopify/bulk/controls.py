"""`/_sandbox/bulk`: the bulk runners' pace, over HTTP, for a demo or another process.

    GET  /_sandbox/bulk   {"operations": [BulkOperation as served …], "paused_at",
                           "objects_per_second", "root_page", "nested_page"}
    POST /_sandbox/bulk   any of {"pause": <lines> | null, "objects_per_second": <float> | null,
                                  "root_page": <int>, "nested_page": <int>}

`pause: n` holds every runner before its next page once it has written n lines (0: before
the first page); `pause: null` lets them go on. Like the other `/_sandbox` controls these are
neither logged, rate limited nor faulted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from integration_assets.sandbox.shopify.bulk.operations import BulkOperations, to_graphql

if TYPE_CHECKING:
    from integration_assets.sandbox.shopify.simulator import ShopifySimulator

_KNOWN = frozenset({"pause", "objects_per_second", "root_page", "nested_page"})


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def describe(registry: BulkOperations) -> dict[str, Any]:
    """The registry's operations and pace, JSON-ready."""
    return {
        "operations": [to_graphql(registry, operation) for operation in registry.all()],
        "paused_at": registry.paused_at,
        "objects_per_second": registry.objects_per_second,
        "root_page": registry.root_page,
        "nested_page": registry.nested_page,
    }


def configure(registry: BulkOperations, changes: dict[str, Any]) -> None:
    """Apply a POST body, all of it or (ValueError naming what is wrong) none of it."""
    unknown = set(changes) - _KNOWN
    if unknown:
        raise ValueError(f"unknown bulk control(s): {', '.join(sorted(unknown))}")
    sizes: dict[str, int] = {}
    for name in ("root_page", "nested_page"):
        if name in changes:
            size = int(changes[name])
            if not 1 <= size <= 250:
                raise ValueError(f"{name} must be within [1, 250], got {size}")
            sizes[name] = size
    rate = changes.get("objects_per_second")
    if rate is not None and float(rate) <= 0:
        raise ValueError(f"objects_per_second must be positive or null, got {rate!r}")
    held = changes.get("pause")
    held_at = None if held is None else int(held)
    for name, size in sizes.items():
        setattr(registry, name, size)
    if "objects_per_second" in changes:
        registry.objects_per_second = None if rate is None else float(rate)
    if "pause" in changes:
        if held_at is None:
            registry.resume()
        else:
            registry.pause(after_objects=held_at)


def control_route(simulator: ShopifySimulator) -> Route:
    """The `/_sandbox/bulk` route of one simulated shop."""

    async def bulk(request: Request) -> Response:
        if request.method == "POST":
            try:
                raw = await request.body()
                body = orjson.loads(raw) if raw.strip() else {}
                if not isinstance(body, dict):
                    raise ValueError("expected a JSON object")
                configure(simulator.bulk, body)
            except (ValueError, TypeError, orjson.JSONDecodeError) as error:
                return _json({"error": str(error)}, 400)
        return _json(describe(simulator.bulk))

    return Route("/_sandbox/bulk", bulk, methods=["GET", "POST"])
