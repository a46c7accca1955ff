"""Download an export file as a stream of lines, reconnecting where a broken download stopped.

The file can be far bigger than memory, so it is read in chunks and handed on one line at a
time with the byte offset just after it. The offset is what makes a broken download cheap
and exact: the next attempt asks for the rest with `Range: bytes=<offset>-`; a server that
ignores the range (200 instead of 206) sends the whole file again and the bytes already
handed on are skipped. Either way no line is handed on twice, so no record is landed twice.
Bytes are counted as they travel (`Accept-Encoding: identity`), or ranges would not mean the
same bytes.

A file shorter than the size the vendor announced is a broken download too (a proxy or the
server may end a response early without an error), as is a dropped connection, a timeout, a
5xx or a 429. A 400 (Google Cloud Storage's `ExpiredToken`), 401, 403, 404 or 410 usually
means the signed URL expired: `refresh` is asked
once for a new one (the vendor hands out a fresh URL when the operation is polled again).

The URL is signed: its query string is a credential. It is never logged, put into an
error or stored; `public_url` is what may be shown.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx

from integration_assets.extract.errors import ExtractError, redact_url
from integration_assets.extract.page import ExtractStats
from integration_assets.extract.retry import RETRYABLE_TRANSPORT_ERRORS, BackoffPolicy

logger = logging.getLogger("integration_assets.extract")

_EXPIRED_URL_STATUSES = frozenset({400, 401, 403, 404, 410})


class _SignedUrlsRedacted(logging.Filter):
    """httpx logs every request's URL at INFO ("HTTP Request: GET <url> ..."): a signed
    file URL would put its signature in any log that shows INFO. Credential-looking query
    values (`Signature`, `X-Goog-Signature`, ...) are masked in those lines, whoever asked."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(
                redact_url(str(arg)) if isinstance(arg, httpx.URL) else arg for arg in record.args
            )
        return True


logging.getLogger("httpx").addFilter(_SignedUrlsRedacted())


def public_url(url: str) -> str:
    """`url` without its query string, fragment or user info: safe to show and to store."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


@dataclass(frozen=True)
class DownloadContext:
    """Who is downloading, for errors; `retryable_statuses` are the connector's."""

    vendor: str
    connection: str
    entity: str
    retryable_statuses: frozenset[int]


class _Broken(Exception):
    """One attempt failed in a way worth another try; `reason` says how."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        self.reason = reason
        self.status = status
        super().__init__(reason)


class LineDownload:
    """The lines of the file at `url`, from a byte offset on; see the module docstring.

    `expected_size` is the file's size in bytes when the vendor said it; `refresh` returns
    a new URL for the same file (None: the URL cannot be renewed). Consecutive failed
    attempts with no line read in between are bounded by `policy.max_attempts`.
    """

    def __init__(
        self,
        client: httpx.Client,
        url: str,
        *,
        context: DownloadContext,
        policy: BackoffPolicy,
        stats: ExtractStats,
        timeout_seconds: float,
        expected_size: int | None = None,
        refresh: Callable[[], str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._client = client
        self._url = url
        self._context = context
        self._policy = policy
        self._stats = stats
        self._timeout = timeout_seconds
        self._expected_size = expected_size
        self._refresh = refresh
        self._sleep = sleep
        self._rng = rng or random.Random()

    def lines(self, start: int = 0) -> Iterator[tuple[bytes, int]]:
        """(line, offset just after it) for every line from byte `start` to the end."""
        offset = start
        failures = 0
        refreshed = False
        while True:
            progress_at = offset
            attempt = self._attempt(offset)
            try:
                for line, end in attempt:
                    offset = end
                    yield line, end
                return
            except _Broken as broken:
                if offset > progress_at:
                    failures, refreshed = 0, False
                failures += 1
                if broken.status in _EXPIRED_URL_STATUSES:
                    if refreshed or self._refresh is None:
                        raise self._error(
                            "the export file could not be downloaded",
                            broken.reason,
                            broken.status,
                            failures,
                            hint="the file's URL was refused even after it was renewed",
                        ) from None
                    self._url = self._refresh()
                    refreshed = True
                    continue
                if failures >= self._policy.max_attempts:
                    raise self._error(
                        f"gave up downloading the export file after {failures} attempts",
                        broken.reason,
                        broken.status,
                        failures,
                        hint=f"{offset} bytes were read; a retried sync goes on from there",
                    ) from None
                delay = self._policy.delay(failures, self._rng)
                logger.warning(
                    "%s/%s (connection %r): export download broke at byte %d (%s); "
                    "going on from there in %.2f s",
                    self._context.vendor,
                    self._context.entity,
                    self._context.connection,
                    offset,
                    broken.reason,
                    delay,
                )
                self._stats.retries += 1
                self._stats.retry_wait_seconds += delay
                if delay > 0:
                    self._sleep(delay)
            finally:
                attempt.close()

    def _attempt(self, offset: int) -> Iterator[tuple[bytes, int]]:
        headers = {"Accept-Encoding": "identity"}
        if offset > 0:
            headers["Range"] = f"bytes={offset}-"
        self._stats.requests += 1
        try:
            with self._client.stream(
                "GET", self._url, headers=headers, timeout=self._timeout
            ) as response:
                skip = self._skip(response, offset)
                yield from self._read(response, offset, skip)
        except httpx.TimeoutException as exc:
            self._stats.timeouts += 1
            raise _Broken(f"timed out ({type(exc).__name__})") from None
        except RETRYABLE_TRANSPORT_ERRORS as exc:
            self._stats.connection_errors += 1
            raise _Broken(f"connection failed ({type(exc).__name__})") from None

    def _skip(self, response: httpx.Response, offset: int) -> int:
        """How many leading bytes of this answer were handed on already."""
        status = response.status_code
        if status == 206:
            first = _content_range_start(response.headers.get("Content-Range"))
            if first != offset:
                raise self._error(
                    "the export file server answered the wrong range",
                    f"asked for bytes from {offset}, got Content-Range "
                    f"{response.headers.get('Content-Range')!r}",
                    status,
                    1,
                )
            return 0
        if status == 200:
            return offset
        if status == 416 and self._expected_size is not None and offset >= self._expected_size:
            return -1  # nothing left to read
        if status == 429 or status in self._context.retryable_statuses:
            if status >= 500:
                self._stats.server_errors += 1
            else:
                self._stats.throttled += 1
            raise _Broken(f"HTTP {status}", status)
        if status in _EXPIRED_URL_STATUSES:
            raise _Broken(f"HTTP {status}", status)
        raise self._error(
            "the export file could not be downloaded",
            f"HTTP {status}",
            status,
            1,
            hint="not retried, since repeating the same request cannot succeed",
        )

    def _read(
        self, response: httpx.Response, offset: int, skip: int
    ) -> Iterator[tuple[bytes, int]]:
        if skip < 0:
            return
        pending = b""
        for chunk in response.iter_raw():  # as they arrive: a chunker would hold bytes back
            self._stats.bytes += len(chunk)
            if skip:
                cut = min(skip, len(chunk))
                chunk, skip = chunk[cut:], skip - cut
                if not chunk:
                    continue
            parts = (pending + chunk).split(b"\n")
            pending = parts.pop()
            for part in parts:
                offset += len(part) + 1
                yield part + b"\n", offset
        if skip:
            raise _Broken(f"the file ended before byte {offset} that was already read")
        size = self._expected_size
        if size is not None and offset + len(pending) < size:
            raise _Broken(f"the answer ended at byte {offset + len(pending)} of {size}")
        if pending:
            offset += len(pending)
            yield pending, offset
        if size is not None and offset > size:
            raise self._error(
                "the export file is longer than the vendor announced",
                f"{offset} bytes, {size} announced",
                response.status_code,
                1,
            )

    def _error(
        self, summary: str, reason: str, status: int | None, attempts: int, hint: str | None = None
    ) -> ExtractError:
        return ExtractError(
            vendor=self._context.vendor,
            connection=self._context.connection,
            entity=self._context.entity,
            method="GET",
            url=public_url(self._url),
            summary=summary,
            reason=reason,
            status=status,
            attempts=attempts,
            hint=hint,
        )


def _content_range_start(value: str | None) -> int | None:
    """The first byte of a `Content-Range: bytes first-last/size` header, else None."""
    if not value or not value.startswith("bytes "):
        return None
    first, _, _ = value[6:].partition("-")
    try:
        return int(first)
    except ValueError:
        return None
