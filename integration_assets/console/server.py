"""Running the console with uvicorn: in the foreground (`serve`) or a background thread.

The console binds 127.0.0.1 by default. Webhooks come from the internet, but the way to
let them in is a reverse proxy or tunnel in front of a loopback listener, which terminates
TLS; binding another address is refused unless `allow_non_loopback` says it is meant.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

import uvicorn
from starlette.applications import Starlette

from integration_assets.connectors.origin import is_loopback_host
from integration_assets.console.settings import ConsoleConfigError

_STARTUP_TIMEOUT = 10.0


def check_host(host: str, allow_non_loopback: bool = False) -> None:
    """ConsoleConfigError for a non-loopback host unless explicitly allowed."""
    if not allow_non_loopback and not is_loopback_host(host):
        raise ConsoleConfigError(
            f"the console binds loopback addresses only, not {host!r}; put a TLS-terminating "
            "proxy in front of 127.0.0.1, or pass --allow-non-loopback if you really mean it"
        )


def _config(app: Starlette) -> uvicorn.Config:
    return uvicorn.Config(
        app, lifespan="off", log_level="warning", access_log=False, timeout_graceful_shutdown=2
    )


def serve(app: Starlette, host: str, port: int, allow_non_loopback: bool = False) -> None:
    """Serve `app` in the foreground until interrupted."""
    check_host(host, allow_non_loopback)
    config = _config(app)
    config.host, config.port = host, port
    uvicorn.Server(config).run()


class ConsoleServer:
    """The console on a free loopback port in a daemon thread (tests, benchmarks)."""

    def __init__(self, app: Starlette, host: str = "127.0.0.1", port: int = 0) -> None:
        check_host(host)
        self._socket = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.host = host
        self.port = self._socket.getsockname()[1]
        self._app = app
        self._server = uvicorn.Server(_config(app))
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name=f"console-{self.port}",
            daemon=True,
        )

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> ConsoleServer:
        """Start serving and wait until connections are accepted."""
        self._thread.start()
        deadline = time.monotonic() + _STARTUP_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the console failed to start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._socket.close()
        inbox = getattr(self._app.state, "inbox", None)
        if inbox is not None:
            inbox.close()

    def __enter__(self) -> ConsoleServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
