"""Serving simulators over real HTTP on loopback: in a background thread, or in the foreground.

`run_sandbox()` is what tests and benchmarks use: both simulators on free 127.0.0.1 ports, each
uvicorn server in its own daemon thread, stopped when the `with` block ends. `serve_forever()`
is what `integration-assets sandbox` calls for the demo: fixed ports, until Ctrl-C.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn

from integration_assets.sandbox.klaviyo import DEMO_API_KEY, KlaviyoSimulator
from integration_assets.sandbox.remote import ChildProcess, RemoteSimulator
from integration_assets.sandbox.shopify import DEMO_ACCESS_TOKEN, ShopifySimulator
from integration_assets.sandbox.simulator import Simulator

DEFAULT_SHOPIFY_PORT = 8701
DEFAULT_KLAVIYO_PORT = 8702
_STARTUP_TIMEOUT = 10.0


def _require_loopback(host: str) -> None:
    """The sandbox is a local tool: refuse to listen anywhere but loopback."""
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"the sandbox only binds loopback addresses, not {host!r}")


class SimulatorServer:
    """One simulator behind a uvicorn server in a daemon thread."""

    def __init__(self, simulator: Simulator, host: str = "127.0.0.1", port: int = 0) -> None:
        _require_loopback(host)
        self.simulator = simulator
        self.host = "127.0.0.1" if host == "localhost" else host
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        self._socket = socket.socket(family, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._socket.bind((self.host, port))
        except OSError:
            self._socket.close()
            raise
        self.port = self._socket.getsockname()[1]
        config = uvicorn.Config(
            simulator.app,
            lifespan="off",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=1,
            # The simulators send their own `Date`, on their simulated clock, as a vendor's
            # servers send theirs; uvicorn's would be this machine's wall clock.
            date_header=False,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name=f"sandbox-{simulator.vendor}-{self.port}",
            daemon=True,
        )

    @property
    def url(self) -> str:
        """Base URL of the simulator, e.g. `http://127.0.0.1:54321`."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> SimulatorServer:
        """Start serving and wait until the server accepts connections."""
        self.simulator.public_url = self.url
        self._thread.start()
        deadline = time.monotonic() + _STARTUP_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the {self.simulator.vendor} simulator failed to start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        """Ask the server to finish and wait for its thread."""
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        self._socket.close()


@dataclass
class Sandbox:
    """Both simulators, running: their URLs and remote controls.

    In process mode the controls are `RemoteSimulator`s with the same methods.
    """

    shopify: ShopifySimulator | RemoteSimulator
    klaviyo: KlaviyoSimulator | RemoteSimulator
    shopify_url: str
    klaviyo_url: str


def build_simulators(
    seed: int = 7,
    sizes: Mapping[str, int] | None = None,
    rate_limits: bool = True,
    shopify_token: str = DEMO_ACCESS_TOKEN,
    klaviyo_key: str = DEMO_API_KEY,
) -> tuple[ShopifySimulator, KlaviyoSimulator]:
    """Both simulators from one seed; `sizes` may name entities of either vendor."""
    sizes = dict(sizes or {})
    unknown = set(sizes) - set(ShopifySimulator.entities) - set(KlaviyoSimulator.entities)
    if unknown:
        raise ValueError(f"unknown entities in sizes: {', '.join(sorted(unknown))}")
    shopify = ShopifySimulator(
        seed=seed,
        sizes={key: value for key, value in sizes.items() if key in ShopifySimulator.entities},
        rate_limits=rate_limits,
        access_token=shopify_token,
    )
    klaviyo = KlaviyoSimulator(
        seed=seed,
        sizes={key: value for key, value in sizes.items() if key in KlaviyoSimulator.entities},
        rate_limits=rate_limits,
        api_key=klaviyo_key,
    )
    return shopify, klaviyo


@contextmanager
def run_sandbox(
    seed: int = 7,
    sizes: Mapping[str, int] | None = None,
    rate_limits: bool = True,
    shopify_token: str = DEMO_ACCESS_TOKEN,
    klaviyo_key: str = DEMO_API_KEY,
    host: str = "127.0.0.1",
    shopify_port: int = 0,
    klaviyo_port: int = 0,
    process: bool = False,
) -> Iterator[Sandbox]:
    """Run both simulators on loopback (free ports by default) for the `with` block.

    By default the servers run in daemon threads of this process. `process=True` serves them
    from a child process instead, so generating pages does not compete with the caller for the
    interpreter lock (use it for throughput benchmarks); the controls behave the same.
    """
    _require_loopback(host)
    if process:
        with _run_in_child(
            seed, sizes, rate_limits, shopify_token, klaviyo_key, host, shopify_port, klaviyo_port
        ) as sandbox:
            yield sandbox
        return
    shopify, klaviyo = build_simulators(seed, sizes, rate_limits, shopify_token, klaviyo_key)
    servers: list[SimulatorServer] = []
    try:
        servers.append(SimulatorServer(shopify, host, shopify_port).start())
        servers.append(SimulatorServer(klaviyo, host, klaviyo_port).start())
        yield Sandbox(shopify, klaviyo, servers[0].url, servers[1].url)
    finally:
        for server in servers:
            server.stop()


@contextmanager
def _run_in_child(
    seed: int,
    sizes: Mapping[str, int] | None,
    rate_limits: bool,
    shopify_token: str,
    klaviyo_key: str,
    host: str,
    shopify_port: int,
    klaviyo_port: int,
) -> Iterator[Sandbox]:
    simulators = {
        "seed": seed,
        "sizes": dict(sizes or {}),
        "rate_limits": rate_limits,
        "shopify_token": shopify_token,
        "klaviyo_key": klaviyo_key,
    }
    replicas = build_simulators(**simulators)
    child = ChildProcess(
        {
            "simulators": simulators,
            "host": host,
            "shopify_port": shopify_port,
            "klaviyo_port": klaviyo_port,
        }
    )
    shopify_url, klaviyo_url = child.start()
    controls = [
        RemoteSimulator(replicas[0], shopify_url),
        RemoteSimulator(replicas[1], klaviyo_url),
    ]
    try:
        yield Sandbox(controls[0], controls[1], shopify_url, klaviyo_url)
    finally:
        for control in controls:
            control.close()
        child.stop()


def serve_forever(
    host: str = "127.0.0.1",
    shopify_port: int = DEFAULT_SHOPIFY_PORT,
    klaviyo_port: int = DEFAULT_KLAVIYO_PORT,
    seed: int = 7,
    sizes: Mapping[str, int] | None = None,
    rate_limits: bool = True,
    shopify_token: str = DEMO_ACCESS_TOKEN,
    klaviyo_key: str = DEMO_API_KEY,
) -> None:
    """Serve both simulators until interrupted (Ctrl-C); prints where and with which secrets."""
    with run_sandbox(
        seed=seed,
        sizes=sizes,
        rate_limits=rate_limits,
        shopify_token=shopify_token,
        klaviyo_key=klaviyo_key,
        host=host,
        shopify_port=shopify_port,
        klaviyo_port=klaviyo_port,
    ) as sandbox:
        print(f"Shopify 2024-10  {sandbox.shopify_url}  X-Shopify-Access-Token: {shopify_token}")
        print(f"Shopify GraphQL 2026-10  {sandbox.shopify_url}/admin/api/2026-10/graphql.json")
        print(
            f"Klaviyo 2024-10-15  {sandbox.klaviyo_url}  Authorization: Klaviyo-API-Key {klaviyo_key}"
        )
        print(
            "Controls under /_sandbox/ (info, stats, faults, advance, reset). Ctrl-C stops.",
            flush=True,
        )
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
