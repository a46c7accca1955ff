"""The `/_sandbox/…` HTTP controls, so a demo or another process can drive a running simulator.

They mirror the Python API one to one and are neither logged, rate limited nor faulted: they
are the test bench, not the vendor.

    GET    /_sandbox/info           vendor, clock, live counts per entity
    GET    /_sandbox/stats          request counters (+ `requests` log unless ?log=0)
    POST   /_sandbox/reset-stats    forget the request log
    GET    /_sandbox/faults         current fault switches
    POST   /_sandbox/faults         change some switches: {"error_rate": 0.2, ...}
    DELETE /_sandbox/faults         back to good behaviour
    POST   /_sandbox/advance        {"seconds", "updated_fraction", "created", "deleted"}
    POST   /_sandbox/reset          initial data, clock, faults and empty log
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

if TYPE_CHECKING:
    from integration_assets.sandbox.simulator import Simulator


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    payload = orjson.loads(raw)
    if not isinstance(payload, dict):
        raise ValueError("expected a JSON object")
    return payload


def control_routes(simulator: Simulator) -> list[Route]:
    """Starlette routes for the controls of one simulator."""

    async def info(request: Request) -> Response:
        return _json(simulator.info())

    async def stats(request: Request) -> Response:
        with_log = request.query_params.get("log", "1") not in ("0", "false")
        return _json(simulator.stats().to_json(with_requests=with_log))

    async def reset_stats(request: Request) -> Response:
        simulator.reset_stats()
        return _json({"ok": True})

    async def faults(request: Request) -> Response:
        if request.method == "DELETE":
            return _json(simulator.clear_faults().to_json())
        if request.method == "POST":
            try:
                settings = simulator.set_faults(**await _body(request))
            except (ValueError, TypeError, orjson.JSONDecodeError) as error:
                return _json({"error": str(error)}, 400)
            return _json(settings.to_json())
        return _json(simulator.fault_settings.to_json())

    async def advance(request: Request) -> Response:
        try:
            report = simulator.advance(**await _body(request))
        except (ValueError, TypeError, orjson.JSONDecodeError) as error:
            return _json({"error": str(error)}, 400)
        return _json(report.to_json())

    async def reset(request: Request) -> Response:
        simulator.reset()
        return _json({"ok": True})

    return [
        Route("/_sandbox/info", info, methods=["GET"]),
        Route("/_sandbox/stats", stats, methods=["GET"]),
        Route("/_sandbox/reset-stats", reset_stats, methods=["POST"]),
        Route("/_sandbox/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route("/_sandbox/advance", advance, methods=["POST"]),
        Route("/_sandbox/reset", reset, methods=["POST"]),
    ]
