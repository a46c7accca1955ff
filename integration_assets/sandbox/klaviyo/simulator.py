"""One simulated Klaviyo account: profiles, append-only events, its private key and limits."""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import date
from typing import Any, ClassVar

from starlette.applications import Starlette

from integration_assets.sandbox.klaviyo.app import RATE_LIMITS, KlaviyoApp
from integration_assets.sandbox.klaviyo.records import KlaviyoCatalog
from integration_assets.sandbox.klaviyo.revisions import LIFECYCLE_DAY
from integration_assets.sandbox.klaviyo.webhooks import klaviyo_deliveries
from integration_assets.sandbox.rand import salt
from integration_assets.sandbox.ratelimit import FixedWindows
from integration_assets.sandbox.simulator import DEFAULT_START, AdvanceReport, Simulator
from integration_assets.sandbox.store import Row
from integration_assets.sandbox.webhooks import Delivery

DEMO_API_KEY = "pk_demo_key"


class KlaviyoSimulator(Simulator):
    """Klaviyo API revision 2026-10-15 for one account (see `klaviyo.app` for the wire details).

    `revision_day` is the day whose revision lifecycle requests are answered by (which
    revisions are released, supported or retired, see `klaviyo.revisions`).
    """

    vendor: ClassVar[str] = "klaviyo"
    entities: ClassVar[tuple[str, ...]] = ("profiles", "events")
    default_sizes: ClassVar[Mapping[str, int]] = {"profiles": 1000, "events": 5000}
    append_only: ClassVar[frozenset[str]] = frozenset({"events"})
    history: ClassVar[Mapping[str, int]] = {"events": 365 * 86400}

    def __init__(
        self,
        seed: int = 7,
        sizes: Mapping[str, int] | None = None,
        rate_limits: bool = True,
        api_key: str = DEMO_API_KEY,
        start: int = DEFAULT_START,
        limits: Mapping[str, tuple[int, int]] | None = None,
        revision_day: date = LIFECYCLE_DAY,
    ) -> None:
        self.api_key = api_key
        self.revision_day = revision_day
        # (burst per second, steady per minute) per endpoint; Klaviyo's documented values.
        self.limits = {**RATE_LIMITS, **(limits or {})}
        super().__init__(seed=seed, sizes=sizes, rate_limits=rate_limits, start=start)

    @property
    def default_public_url(self) -> str:
        """Klaviyo's real API host."""
        return "https://a.klaviyo.com"

    def _build_state(self) -> None:
        super()._build_state()
        self.catalog = KlaviyoCatalog(self.seed, self.stores)
        # Events whose sender gave their time: index -> that time (epoch seconds).
        self.event_times: dict[int, int] = {}

    def send_event(self, at: int) -> int:
        """An event arriving now whose sender dated it `at` (epoch seconds); its index.

        Klaviyo's Create Event takes the time from the client, so an event may be dated in
        the future (a wrong clock) or in the past (a backfill, a queue drained late): its
        `datetime` and `timestamp` are `at`, and the API's time filters apply to `at`.
        """
        with self.lock:
            store = self.store("events")
            rng = random.Random(salt(self.seed, f"event:{store.total}"))
            index = store.mutate(rng, self.clock, self.clock, 0, 1, 0).created[0]
            self.event_times[index] = int(at)
            self.clock = max(self.clock, store.latest)
            return index

    def _reset_limiters(self) -> None:
        self._limiters = {
            entity: FixedWindows(burst, steady) for entity, (burst, steady) in self.limits.items()
        }

    def limiter(self, entity: str) -> FixedWindows:
        """The burst/steady windows of one endpoint."""
        return self._limiters[entity]

    def render(self, entity: str, row: Row) -> dict[str, Any]:
        """The resource object as Klaviyo serves it, with links on the public URL."""
        return self.render_at(entity, row, self.public_url)

    def render_at(self, entity: str, row: Row, base_url: str) -> dict[str, Any]:
        """The resource object with links on `base_url` (the host the client used)."""
        created = self.store(entity).created_at(row.index)
        if entity == "profiles":
            return self.catalog.profile(row.index, row.version, created, row.updated, base_url)
        return self.catalog.event(row.index, self.event_times.get(row.index, created), base_url)

    def vendor_id(self, entity: str, index: int) -> str:
        """The Klaviyo id of record `index` (handy in tests)."""
        if entity == "profiles":
            return self.catalog.profile_id(index)
        return self.catalog.event_id(index)

    def _webhook_deliveries(self, report: AdvanceReport) -> list[Delivery]:
        """Deliveries of this vendor's documented shape (see `klaviyo.webhooks`)."""
        assert self.webhook_sender is not None
        return klaviyo_deliveries(self, report, self.subscriptions, self.webhook_sender.clock())

    def build_app(self) -> Starlette:
        """The Klaviyo ASGI app."""
        return KlaviyoApp(self).build()
