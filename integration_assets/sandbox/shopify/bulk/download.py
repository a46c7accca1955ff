"""Serving bulk results the way Google Cloud Storage serves Shopify's signed URLs.

`GET /_bulk/bulk-operation-outputs/<n>-final.jsonl?GoogleAccessId=…&Expires=…&Signature=…`
(`-partial` for a failed operation's partial data). Like the storage behind Shopify's URLs it
wants no Shopify access token, is not rate limited, and answers refusals in GCS's XML:

* a missing or wrong signature (including an edited `Expires`): 403 `SignatureDoesNotMatch`;
* a valid signature past its expiry: 400 `ExpiredToken` (GCS's status for an expired signed
  URL, "The provided token has expired.");
* a signed path whose file is gone (reset simulator): 404 `NoSuchKey`.

The body streams from disk in 64 KiB chunks with a `Content-Length`, so a client can tell a
cut download from a complete one; `Range: bytes=N-` resumes one (206), as GCS allows. The
`bulk_download_cut` fault drops the connection after some bytes: once per file or always.
Downloads are written to the request log like any vendor request.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from integration_assets.sandbox.shopify.bulk.controls import control_route
from integration_assets.sandbox.shopify.bulk.operations import DOWNLOAD_PREFIX
from integration_assets.sandbox.shopify.bulk.signing import Verdict
from integration_assets.sandbox.timefmt import http_date

if TYPE_CHECKING:
    from integration_assets.sandbox.shopify.simulator import ShopifySimulator

CHUNK = 64 * 1024
_RANGE = re.compile(r"^bytes=(\d+)-$")
_XML = "application/xml; charset=UTF-8"


class DownloadCutError(Exception):
    """Raised inside the body stream to drop the connection (the `bulk_download_cut` fault)."""


class _QuietCuts(logging.Filter):
    """Keep the server's error log free of the tracebacks of cuts the sandbox made on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        while error is not None:
            if isinstance(error, DownloadCutError):
                return False
            error = error.__cause__ or error.__context__
        return True


logging.getLogger("uvicorn.error").addFilter(_QuietCuts())


def _error(status: int, code: str, message: str, details: str | None = None) -> Response:
    body = f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code><Message>{message}</Message>"
    if details:
        body += f"<Details>{details}</Details>"
    body += "</Error>"
    return Response(body, status_code=status, media_type=_XML)


def bulk_routes(simulator: ShopifySimulator) -> list[Route]:
    """The download route of one simulated shop's bulk results, and `/_sandbox/bulk`."""

    async def download(request: Request) -> Response:
        response = _answer(simulator, request)
        with simulator.lock:
            response.headers["Date"] = http_date(simulator.clock)
            simulator.log.record(
                request.method, request.url.path, dict(request.query_params), response.status_code
            )
        return response

    return [
        control_route(simulator),
        Route(DOWNLOAD_PREFIX + "{path:path}", download, methods=["GET"]),
    ]


def _answer(simulator: ShopifySimulator, request: Request) -> Response:
    params = request.query_params
    verdict, file = simulator.bulk.resolve_download(
        request.url.path, params.get("Expires"), params.get("Signature")
    )
    if verdict is Verdict.BAD_SIGNATURE:
        return _error(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. "
            "Check your Google secret key and signing method.",
        )
    if verdict is Verdict.EXPIRED:
        return _error(
            400,
            "ExpiredToken",
            "The provided token has expired.",
            f"Request has expired: {params.get('Expires')}",
        )
    if file is None:
        return _error(404, "NoSuchKey", "The specified key does not exist.")
    size = file.stat().st_size
    start = 0
    status = 200
    headers = {"Accept-Ranges": "bytes", "Content-Type": "application/jsonl"}
    match = _RANGE.match(request.headers.get("range", ""))
    if match is not None:
        start = int(match[1])
        if start >= size and size > 0:
            return _error(416, "InvalidRange", "The requested range cannot be satisfied.")
        status = 206
        headers["Content-Range"] = f"bytes {start}-{max(size - 1, start)}/{size}"
    headers["Content-Length"] = str(size - start)
    cut = simulator.fault_settings.bulk_download_cut
    limit: int | None = None
    if cut is not None:
        with simulator.lock:
            first_time = simulator.bulk.first_download(request.url.path)
        if cut.mode == "always" or first_time:
            limit = cut.after_bytes
    return StreamingResponse(
        _stream(file, start, limit), status_code=status, headers=headers, media_type=None
    )


async def _stream(file: Path, start: int, limit: int | None) -> AsyncIterator[bytes]:
    """The file from `start`, in chunks; with `limit`, the connection drops after that many."""
    sent = 0
    with file.open("rb") as handle:
        handle.seek(start)
        while True:
            want = CHUNK if limit is None else min(CHUNK, limit - sent)
            if want <= 0:
                raise DownloadCutError("bulk download cut by the sandbox fault")
            chunk = await asyncio.to_thread(handle.read, want)
            if not chunk:
                return
            sent += len(chunk)
            yield chunk
