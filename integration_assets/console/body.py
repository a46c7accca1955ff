"""Reading a request body without letting a sender make us hold more than the limit.

A declared `Content-Length` over the limit is refused before a byte of the body is read; a
body without one (chunked) is counted while it streams and refused as soon as it passes the
limit, so memory never holds more than the limit plus one chunk.
"""

from __future__ import annotations

from starlette.requests import Request


class BodyTooLarge(Exception):
    """The body is (or declares itself) larger than the limit."""


class BadContentLength(Exception):
    """`Content-Length` is not a non-negative integer."""


async def read_limited(request: Request, limit: int) -> bytes:
    """The whole body, or BodyTooLarge as soon as it is known to exceed `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise BadContentLength
        if int(declared) > limit:
            raise BodyTooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)
