"""The demo's wiring: demo-only credentials, the sandbox's webhook subscriptions to the console,
and a feed of changes that keeps the sandbox's records moving.

Only `integration-assets demo` (cli.py) uses this module; it is the one place outside tests and
benchmarks that knows about the sandbox. The credentials here are published demo values for
loopback servers, set only where the environment leaves a variable unset, so a real
deployment's variables always win.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from integration_assets.connectors.connections import Connection
from integration_assets.console.auth import TOKEN_ENV
from integration_assets.console.secrets import WEBHOOK_SECRET
from integration_assets.console.triggers import Launcher, LaunchRefused
from integration_assets.sandbox import DEMO_ACCESS_TOKEN, DEMO_API_KEY, Sandbox
from integration_assets.sandbox.simulator import AdvanceReport, Simulator
from integration_assets.sandbox.webhooks import Subscription

DEMO_CONSOLE_TOKEN = "demo-console-token-for-localhost"
"""Signs a person into the demo's console; a local demo value, not a secret of a real system."""
DEMO_CREDENTIALS = {
    ("shopify", "access_token"): DEMO_ACCESS_TOKEN,
    ("klaviyo", "api_key"): DEMO_API_KEY,
    ("shopify", WEBHOOK_SECRET): "shpss_demo_sandbox_app_secret",
    ("klaviyo", WEBHOOK_SECRET): "klaviyo-demo-sandbox-webhook-secret",
}
WEBHOOK_TOPICS: dict[tuple[str, str], tuple[str, ...]] = {
    ("shopify", "customers"): ("customers/*",),
    ("shopify", "orders"): ("orders/*",),
    ("shopify", "products"): ("products/*",),
    ("klaviyo", "events"): ("event:*",),
}
"""The sandbox topics that change each (vendor, entity); Klaviyo sends webhooks for events only."""


def set_demo_environment(
    connections: Iterable[Connection], environ: dict[str, str] | None = None
) -> dict[str, str]:
    """Give every unset variable the demo value: the console token and each connection's
    secrets. Returns the variables it set (name -> value), so the terminal can say which."""
    env = os.environ if environ is None else environ
    wanted = {TOKEN_ENV: DEMO_CONSOLE_TOKEN}
    for connection in connections:
        for key, variable in connection.secrets.items():
            value = DEMO_CREDENTIALS.get((connection.vendor, key))
            if value is not None:
                wanted.setdefault(variable, value)
    chosen = {name: value for name, value in wanted.items() if not env.get(name)}
    env.update(chosen)
    return chosen


def subscriptions(
    connections: Iterable[Connection],
    vendor: str,
    console_url: str,
    environ: Mapping[str, str] | None = None,
) -> list[Subscription]:
    """What `vendor`'s simulator sends where: the topics of each `realtime` entity of each
    connection that names a webhook secret, to that connection's console endpoint, signed
    with the secret's value. Entities on a polling cadence get no webhooks, so the
    connections file alone decides which syncs are real-time."""
    env = os.environ if environ is None else environ
    found: list[Subscription] = []
    for connection in connections:
        variable = connection.secrets.get(WEBHOOK_SECRET)
        if connection.vendor != vendor or not variable or not env.get(variable):
            continue
        address = f"{console_url.rstrip('/')}/webhooks/{vendor}/{connection.name}"
        for entity, cadence in connection.entities.items():
            if cadence != "realtime":
                continue
            for topic in WEBHOOK_TOPICS.get((vendor, entity), ()):
                found.append(Subscription(topic, address, env[variable]))
    return found


def subscribe(
    sandbox: Sandbox,
    connections: list[Connection],
    console_url: str,
    environ: Mapping[str, str] | None = None,
) -> int:
    """Subscribe both simulators to the console; returns how many subscriptions were made."""
    made = 0
    for vendor, simulator in (("shopify", sandbox.shopify), ("klaviyo", sandbox.klaviyo)):
        wanted = subscriptions(connections, vendor, console_url, environ)
        if wanted:
            simulator.set_webhooks(wanted)
            made += len(wanted)
    return made


@dataclass(frozen=True)
class Changes:
    """One step of the feed for one simulator: `Simulator.advance` arguments."""

    updated_fraction: float
    created: Mapping[str, int]
    deleted: Mapping[str, int]


FEED_CHANGES = {
    "shopify": Changes(0.002, {"customers": 2, "orders": 3}, {"customers": 1}),
    "klaviyo": Changes(0.002, {"profiles": 1, "events": 5}, {}),
}
"""A handful of changes per step: enough to see rows move, few enough to read in the UI."""


def catch_up_clock(simulator: Simulator, now: float) -> None:
    """Move the simulator's clock (it starts in the past) to `now` without changing a record,
    so the changes of the feed carry today's timestamps and the status page's lag is real."""
    if simulator.clock < now:
        simulator.advance(seconds=int(now - simulator.clock), updated_fraction=0.0)


def advance_once(
    simulators: Mapping[str, Simulator], now: float | None = None
) -> dict[str, AdvanceReport]:
    """Change each simulator by its vendor's `FEED_CHANGES`, timestamped between its clock
    and `now` (at least a second later), so its clock keeps pace with ours."""
    now = time.time() if now is None else now
    reports = {}
    for vendor, simulator in simulators.items():
        step = FEED_CHANGES[vendor]
        reports[vendor] = simulator.advance(
            seconds=max(1, int(now - simulator.clock)),
            updated_fraction=step.updated_fraction,
            created=dict(step.created),
            deleted=dict(step.deleted),
        )
    return reports


class ChangeFeed:
    """A daemon thread that advances the simulators every `interval_seconds` until stopped,
    so webhooks keep flowing and polls keep finding changes while the demo runs.

    `busy()` true skips a step: the demo passes "sync runs are waiting in Dagster's queue", so
    on a slow machine the changes wait for the syncs instead of piling up a backlog of runs
    that would hide the real-time behaviour the demo is there to show.
    """

    def __init__(
        self,
        simulators: Mapping[str, Simulator],
        interval_seconds: float,
        busy: Callable[[], bool] = lambda: False,
    ) -> None:
        if interval_seconds <= 0:
            raise ValueError("the change interval must be positive")
        self.simulators = dict(simulators)
        self.interval_seconds = interval_seconds
        self.busy = busy
        self.steps = 0
        self.skipped = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-change-feed", daemon=True)

    def step(self) -> bool:
        """One step: advance unless busy; whether it advanced."""
        if self.busy():
            self.skipped += 1
            return False
        advance_once(self.simulators)
        self.steps += 1
        return True

    def _run(self) -> None:
        while not self._stop.wait(self.interval_seconds):
            self.step()

    def start(self) -> ChangeFeed:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def launch_first_syncs(
    launcher: Launcher,
    connections: Iterable[Connection],
    stop: threading.Event,
    retry_seconds: float = 5.0,
    say: Callable[[str], None] = print,
) -> threading.Thread:
    """In a daemon thread, launch one sync of each connection (as "Sync now" does) once the
    webserver takes launches, so the warehouse fills and the status page turns `ok` without a
    click. Refusals (the webserver or its code location still starting) are retried until
    `stop` is set."""

    def run() -> None:
        for connection in connections:
            while not stop.is_set():
                try:
                    say(f"first sync: {launcher.launch(connection)}")
                    break
                except LaunchRefused:
                    stop.wait(retry_seconds)

    thread = threading.Thread(target=run, name="demo-first-syncs", daemon=True)
    thread.start()
    return thread
