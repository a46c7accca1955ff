"""Tiny purpose-built HTTP apps on loopback, for protocol behaviours the sandbox can't stage.

`serve(app)` runs a Starlette app under uvicorn on a free 127.0.0.1 port in a thread;
`ScriptedApp` answers each request with the next scripted response, and records what it got.
`FakeTime` is a clock whose sleep records the request and advances time without waiting.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import uvicorn
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send


@contextmanager
def serve(app: ASGIApp) -> Iterator[str]:
    """Serve `app` on a free loopback port; yields its base URL (no trailing slash)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="warning", lifespan="off", access_log=False, timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("loopback server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@dataclass
class Scripted:
    """One scripted answer; `delay` seconds of silence first (to provoke client timeouts)."""

    status: int = 200
    body: bytes = b"{}"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Seen:
    """One request the app received."""

    path: str
    query: str
    headers: dict[str, str]


class ScriptedApp:
    """Answers requests with `script` in order, then repeats the last answer for ever."""

    def __init__(self, script: list[Scripted]) -> None:
        self.script = list(script)
        self.seen: list[Seen] = []
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        import asyncio

        request = Request(scope, receive)
        with self._lock:
            self.seen.append(
                Seen(
                    path=request.url.path,
                    query=request.url.query,
                    headers={k.lower(): v for k, v in request.headers.items()},
                )
            )
            answer = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if answer.delay:
            await asyncio.sleep(answer.delay)
        response = Response(answer.body, status_code=answer.status, headers=answer.headers)
        await response(scope, receive, send)


@dataclass
class FakeTime:
    """A clock that only moves when someone sleeps; records every sleep requested."""

    now: float = 1_000_000.0
    sleeps: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
