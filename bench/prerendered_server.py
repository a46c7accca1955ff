"""A vendor server that is never the bottleneck: the sandbox's pages, rendered once, served from memory.

Why this exists: a throughput ceiling must be the fastest honest way to do a step. The sandbox
renders every page on request (about 28,000 Shopify customers/s of bare paging on the 2-core
development machine), so a benchmark paging it measures the sandbox as much as the client.
This server speaks the same wire protocol with the same bytes, but does no work per request:

1. before anything is timed, it walks each listing given (`first_targets`) on the real sandbox
   (`upstream`), sending the `Host` of this server, so every `Link` header and `page_info`
   token in the answers points back here and is valid for it; each answer is stored as the
   exact bytes the sandbox sent (status line, headers, body);
2. then it answers `GET <target>` on 127.0.0.1 by one dict lookup and one `sendall`, over
   HTTP/1.1 keep-alive, one thread per connection.

A request it holds no page for (another listing, other credentials, any other method) is
forwarded to the sandbox as it came, and counted: `GET /_prerendered/stats` reports hits and
misses, so a benchmark can show that what it timed was served from memory. Pages describe
the sandbox's state when they were rendered; after the sandbox's data changes, use the sandbox.

GraphQL pages and bulk exports are not walked by `Link` headers: their next page is named in
the POST body (`variables.after`), and an export is a conversation (start, poll, download).
With `record=True` the server starts *recording*: every request is forwarded and its answer
stored under the request's key (method, target, the credential headers it carried and, for a
POST, its JSON body with sorted keys, so the `after` cursor picks the page); a key asked again
is forwarded again and the newest answer kept (a poll ends on the finished operation). The
sandbox's own URL in a stored body is rewritten to this server's, so a bulk file's signed URL
points here. `POST /_prerendered/replay` ends the recording: from then on a recorded key is
answered from memory and anything else forwarded and counted as a miss, as above.

    with serve_prerendered(sandbox_url, [path_and_query], headers) as server:
        server.url, server.stats()

It runs in a child process (`python bench/prerendered_server.py '<json>'`), like the sandbox's
own `process=True`, so serving never competes with the measured client for the interpreter
lock; closing its stdin stops it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

STATS_TARGET = b"/_prerendered/stats"
REPLAY_TARGET = b"/_prerendered/replay"
_STARTUP_TIMEOUT = 600.0
_NEXT_LINK = re.compile(r'<([^>]+)>;\s*rel="next"')
# Hop-by-hop headers of the upstream answer; the stored answer carries its decoded body and
# its own length.
_DROPPED = frozenset(
    {b"connection", b"keep-alive", b"transfer-encoding", b"content-encoding", b"content-length"}
)


def raw_response(response: httpx.Response) -> bytes:
    """The answer as bytes on the wire: status line, the sandbox's headers, the body."""
    body = response.content
    lines = [f"HTTP/1.1 {response.status_code} {response.reason_phrase}".encode()]
    lines += [
        name + b": " + value for name, value in response.headers.raw if name.lower() not in _DROPPED
    ]
    lines.append(b"content-length: " + str(len(body)).encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def origin_form(url: str) -> bytes:
    """`/path?query` of an absolute URL: the request target a client sends for it."""
    parts = urlsplit(url)
    return (parts.path + (f"?{parts.query}" if parts.query else "")).encode()


@dataclass
class Pages:
    """Stored answers by request target, and the credentials they were rendered with."""

    answers: dict[bytes, bytes]
    credentials: dict[bytes, bytes]  # lower-case header name -> value every hit must carry
    rendered_bytes: int = 0
    render_seconds: float = 0.0
    hits: int = 0
    misses: int = 0
    recording: bool = False
    recorded: dict[tuple[bytes, ...], bytes] = field(default_factory=dict)
    recorded_gets: list[str] = field(default_factory=list)


def request_key(
    method: bytes, target: bytes, headers: Mapping[bytes, bytes], body: bytes, pages: Pages
) -> tuple[bytes, ...]:
    """What picks a recorded answer: method, target, credentials carried and the JSON body.

    The body is parsed and written back with sorted keys, so two clients that put the same
    variables (the same `after` cursor) in another order ask for the same page.
    """
    credentials = tuple(headers.get(name, b"") for name in sorted(pages.credentials))
    canonical = b""
    if body:
        try:
            canonical = json.dumps(json.loads(body), sort_keys=True).encode()
        except ValueError:
            canonical = body
    return (method, target, *credentials, canonical)


def render(
    upstream: str, host: str, first_targets: Sequence[str], headers: Mapping[str, str]
) -> Pages:
    """Walk every listing from its first target on the sandbox; keep each answer's bytes."""
    started = time.perf_counter()
    pages = Pages({}, {name.lower().encode(): value.encode() for name, value in headers.items()})
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    with httpx.Client(
        base_url=upstream, headers={**headers, "Host": host}, limits=limits, timeout=120
    ) as client:
        for first in first_targets:
            target: bytes | None = first.encode()
            while target is not None and target not in pages.answers:
                response = client.get(target.decode())
                if response.status_code != 200:
                    raise RuntimeError(f"the sandbox answered {response.status_code} to {target!r}")
                pages.answers[target] = raw_response(response)
                pages.rendered_bytes += len(response.content)
                match = _NEXT_LINK.search(response.headers.get("link", ""))
                target = origin_form(match.group(1)) if match else None
    pages.render_seconds = time.perf_counter() - started
    return pages


class _Connection:
    """One client connection: read a request head, answer it, until the client closes."""

    def __init__(
        self,
        sock: socket.socket,
        pages: Pages,
        upstream: httpx.Client,
        host: str,
        rewrite: tuple[bytes, bytes] | None = None,
    ) -> None:
        self.sock, self.pages, self.upstream, self.host = sock, pages, upstream, host
        self.rewrite = rewrite  # (the sandbox's URL, this server's) in recorded bodies

    def serve(self) -> None:
        buffer = b""
        with self.sock:
            while True:
                end = buffer.find(b"\r\n\r\n")
                while end < 0:
                    data = self.sock.recv(65536)
                    if not data:
                        return
                    buffer += data
                    end = buffer.find(b"\r\n\r\n")
                head, buffer = buffer[:end], buffer[end + 4 :]
                request_line, _, header_block = head.partition(b"\r\n")
                method, target, _ = request_line.split(b" ", 2)
                headers = dict(
                    (name.strip().lower(), value.strip())
                    for name, _, value in (
                        line.partition(b":") for line in header_block.split(b"\r\n")
                    )
                )
                length = int(headers.get(b"content-length", b"0"))
                while len(buffer) < length:
                    data = self.sock.recv(65536)
                    if not data:
                        return
                    buffer += data
                body, buffer = buffer[:length], buffer[length:]
                self.sock.sendall(self.answer(method, target, headers, body))
                if headers.get(b"connection", b"").lower() == b"close":
                    return

    def answer(
        self, method: bytes, target: bytes, headers: dict[bytes, bytes], body: bytes
    ) -> bytes:
        pages = self.pages
        if method == b"GET":
            stored = pages.answers.get(target)
            if stored is not None and all(
                headers.get(k) == v for k, v in pages.credentials.items()
            ):
                pages.hits += 1
                return stored
            if target == STATS_TARGET:
                return _json_answer(
                    {
                        "hits": pages.hits,
                        "misses": pages.misses,
                        "pages": len(pages.answers),
                        "rendered_bytes": pages.rendered_bytes,
                        "render_seconds": pages.render_seconds,
                        "recording": pages.recording,
                        "recorded": len(pages.recorded),
                        "recorded_gets": pages.recorded_gets,
                    }
                )
        if method == b"POST" and target == REPLAY_TARGET:
            pages.recording = False
            return _json_answer({"recorded": len(pages.recorded)})
        key = request_key(method, target, headers, body, pages)
        if not pages.recording:
            stored = pages.recorded.get(key)
            if stored is not None:
                pages.hits += 1
                return stored
            pages.misses += 1
        response = self._send(method, target, headers, body)
        if not (pages.recording and 200 <= response.status_code < 300):
            return raw_response(response)
        if self.rewrite is not None:
            old, new = self.rewrite
            response = httpx.Response(
                response.status_code,
                headers=response.headers,
                content=response.content.replace(old, new),
            )
        answer = raw_response(response)
        if method == b"GET" and key not in pages.recorded:
            pages.recorded_gets.append(target.decode())
        pages.recorded[key] = answer
        return answer

    def _send(
        self, method: bytes, target: bytes, headers: dict[bytes, bytes], body: bytes
    ) -> httpx.Response:
        """`method target` on the sandbox, with the client's headers (not its connection's)."""
        forwarded = {
            k.decode(): v.decode()
            for k, v in headers.items()
            if k not in (b"connection", b"content-length")
        }
        forwarded["host"] = self.host
        return self.upstream.request(
            method.decode(), target.decode(), headers=forwarded, content=body
        )


def _json_answer(payload: dict[str, Any]) -> bytes:
    body = json.dumps(payload).encode()
    return (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )


def main(options: dict[str, Any]) -> None:
    """Child process: bind, render, print the URL as one JSON line, serve until stdin closes."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    host = f"127.0.0.1:{listener.getsockname()[1]}"
    pages = render(options["upstream"], host, options["first_targets"], options["headers"])
    pages.recording = bool(options.get("record"))
    rewrite = (options["upstream"].rstrip("/").encode(), f"http://{host}".encode())
    upstream = httpx.Client(base_url=options["upstream"], timeout=600)

    def accept() -> None:
        while True:
            sock, _ = listener.accept()
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connection = _Connection(sock, pages, upstream, host, rewrite)
            threading.Thread(target=connection.serve, daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    print(json.dumps({"url": f"http://{host}"}), flush=True)
    sys.stdin.read()
    listener.close()


# --- the parent's side ------------------------------------------------------------------------


@dataclass
class PrerenderedServer:
    """The running child: its URL, and its counters on demand."""

    url: str

    def stats(self) -> dict[str, Any]:
        """Hits, misses, pages held, bytes and seconds spent rendering them, what was recorded."""
        return httpx.get(self.url + STATS_TARGET.decode(), timeout=30).json()

    def replay(self) -> int:
        """End the recording: answer recorded requests from memory from now on."""
        return int(httpx.post(self.url + REPLAY_TARGET.decode(), timeout=30).json()["recorded"])


@contextlib.contextmanager
def serve_prerendered(
    upstream: str,
    first_targets: Sequence[str],
    headers: Mapping[str, str],
    *,
    record: bool = False,
) -> Iterator[PrerenderedServer]:
    """Render the listings from `upstream` in a child process and serve them for the block;
    with `record`, record what passes through until `replay()` (see the module docstring)."""
    options = {
        "upstream": upstream,
        "first_targets": list(first_targets),
        "headers": dict(headers),
        "record": record,
    }
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), json.dumps(options)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        ready, _, _ = select.select([process.stdout], [], [], _STARTUP_TIMEOUT)
        line = process.stdout.readline() if ready else ""
        if not line:
            raise RuntimeError("the pre-rendered server did not start (see its stderr above)")
        yield PrerenderedServer(json.loads(line)["url"])
    finally:
        with contextlib.suppress(OSError):
            process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.terminate()
            process.wait(timeout=5)
        process.stdout.close()


if __name__ == "__main__":
    main(json.loads(sys.argv[1]))
