"""Downloading an export file: streamed line by line, a broken download goes on where it broke.

The file server here is a tiny loopback app (range support, cuts and refusals on cue), since
these are properties of whatever host serves the vendor's signed file.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from integration_assets.extract.errors import ExtractError
from integration_assets.extract.export_download import DownloadContext, LineDownload, public_url
from integration_assets.extract.page import ExtractStats
from integration_assets.extract.retry import BackoffPolicy
from integration_assets_tests.extract.loopback import serve

LINES = [b'{"id": %d, "name": "record %d"}\n' % (i, i) for i in range(200)]
CONTENT = b"".join(LINES)
CONTEXT = DownloadContext("acme", "shop", "orders", frozenset({429, 500, 502, 503, 504}))


@dataclass
class FileApp:
    """Serves `content`; `cuts` drop the connection after that many bytes of the file (one
    per request, in order), `short` ends a response cleanly that early, `statuses` answer
    with an error status first; `ranges` says whether `Range` is honoured."""

    content: bytes
    ranges: bool = True
    cuts: list[int] = field(default_factory=list)
    short: list[int] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    seen: list[dict[str, str]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        with self.lock:
            self.seen.append(headers)
            self.paths.append(scope["path"] + "?" + scope["query_string"].decode())
            status = self.statuses.pop(0) if self.statuses else None
            cut = self.cuts.pop(0) if self.cuts else None
            short = self.short.pop(0) if self.short else None
        if status is not None:
            await send({"type": "http.response.start", "status": status, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        start = 0
        answer = 200
        extra: list[tuple[bytes, bytes]] = [(b"accept-ranges", b"bytes")] if self.ranges else []
        if self.ranges and headers.get("range", "").startswith("bytes="):
            start = int(headers["range"][6:].rstrip("-"))
            answer = 206
            extra.append(
                (
                    b"content-range",
                    b"bytes %d-%d/%d" % (start, len(self.content) - 1, len(self.content)),
                )
            )
        body = self.content[start:]
        if short is not None:
            body = self.content[start:short]
        length = str(len(body)).encode()
        await send(
            {
                "type": "http.response.start",
                "status": answer,
                "headers": [(b"content-length", length), *extra],
            }
        )
        if cut is not None:
            await send(
                {"type": "http.response.body", "body": body[: cut - start], "more_body": True}
            )
            raise RuntimeError("connection dropped on purpose")
        await send({"type": "http.response.body", "body": body})


def _download(
    base: str, path: str = "/file.jsonl?X-Goog-Signature=s3cr3t", **kwargs
) -> LineDownload:
    return LineDownload(
        httpx.Client(),
        base + path,
        context=CONTEXT,
        policy=BackoffPolicy(base_seconds=0, cap_seconds=0, max_attempts=3),
        stats=ExtractStats(),
        timeout_seconds=5,
        **kwargs,
    )


def test_lines_come_one_by_one_with_the_offset_after_each() -> None:
    with serve(FileApp(CONTENT)) as base:
        got = list(_download(base, expected_size=len(CONTENT)).lines())
    assert [line for line, _ in got] == LINES
    assert got[-1][1] == len(CONTENT)
    assert got[0][1] == len(LINES[0])


def test_a_cut_download_goes_on_with_a_range_request_and_repeats_no_line() -> None:
    cut_at = len(CONTENT) // 2 + 7  # in the middle of a line
    app = FileApp(CONTENT, cuts=[cut_at])
    with serve(app) as base:
        got = [line for line, _ in _download(base, expected_size=len(CONTENT)).lines()]
    assert got == LINES
    complete = sum(len(line) for line in LINES if CONTENT.index(line) + len(line) <= cut_at)
    assert "range" not in app.seen[0]
    assert app.seen[1]["range"] == f"bytes={complete}-"
    assert app.seen[1]["accept-encoding"] == "identity"


def test_a_server_without_ranges_sends_it_all_again_and_the_read_part_is_skipped() -> None:
    app = FileApp(CONTENT, ranges=False, cuts=[1000, 3000])
    with serve(app) as base:
        got = [line for line, _ in _download(base, expected_size=len(CONTENT)).lines()]
    assert got == LINES
    assert len(app.seen) == 3


def test_an_answer_shorter_than_the_announced_size_is_a_broken_download() -> None:
    app = FileApp(CONTENT, short=[2500])
    with serve(app) as base:
        got = [line for line, _ in _download(base, expected_size=len(CONTENT)).lines()]
    assert got == LINES
    assert len(app.seen) == 2


def test_a_download_resumed_from_an_offset_reads_only_the_rest() -> None:
    offset = sum(len(line) for line in LINES[:150])
    app = FileApp(CONTENT)
    with serve(app) as base:
        got = [line for line, _ in _download(base, expected_size=len(CONTENT)).lines(offset)]
    assert got == LINES[150:]
    assert app.seen[0]["range"] == f"bytes={offset}-"


def test_a_refused_url_is_renewed_once() -> None:
    app = FileApp(CONTENT, statuses=[403])
    renewed: list[str] = []

    def refresh() -> str:
        renewed.append("yes")
        return base + "/file.jsonl?X-Goog-Signature=fresh"

    with serve(app) as base:
        got = [line for line, _ in _download(base, refresh=refresh).lines()]
    assert got == LINES
    assert renewed == ["yes"]
    assert app.paths[1].endswith("X-Goog-Signature=fresh")


def test_giving_up_names_the_file_without_its_signature() -> None:
    app = FileApp(CONTENT, statuses=[503, 503, 503, 503])
    with serve(app) as base, pytest.raises(ExtractError) as raised:
        list(_download(base).lines())
    message = str(raised.value)
    assert "gave up downloading the export file after 3 attempts" in message
    assert "/file.jsonl" in message
    assert "s3cr3t" not in message and "Signature" not in message
    chained: BaseException | None = raised.value
    while chained is not None:  # nothing a traceback prints may carry the signed URL
        assert "s3cr3t" not in repr(chained)
        chained = chained.__cause__ or chained.__context__


def test_a_refusal_that_renewal_cannot_fix_fails_at_once() -> None:
    app = FileApp(CONTENT, statuses=[404, 404])
    with serve(app) as base, pytest.raises(ExtractError, match="refused even after it was renewed"):
        list(_download(base, refresh=lambda: base + "/file.jsonl?sig=2").lines())


def test_the_public_url_keeps_where_the_file_is_and_drops_the_credential() -> None:
    signed = "https://user:pw@storage.example.com:8443/bulk/op-1.jsonl?X-Goog-Signature=abc&X-Goog-Credential=x#f"
    assert public_url(signed) == "https://storage.example.com:8443/bulk/op-1.jsonl"


def test_no_log_line_shows_the_signature(caplog: pytest.LogCaptureFixture) -> None:
    app = FileApp(CONTENT, cuts=[500])
    with caplog.at_level(logging.DEBUG), serve(app) as base:
        list(_download(base, expected_size=len(CONTENT)).lines())
    assert any("/file.jsonl" in record.getMessage() for record in caplog.records)
    assert all("s3cr3t" not in record.getMessage() for record in caplog.records)
