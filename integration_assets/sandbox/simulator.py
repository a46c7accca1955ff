"""What every vendor simulator shares: the clock, the entity stores, faults, the request log.

A simulator is one simulated account (a Shopify shop, a Klaviyo account) served by one HTTP
server. Its Python API is the tests' and benchmarks' remote control: move time forward with
`advance`, read the truth with `records`, switch faults with `set_faults`, read the traffic with
`stats`. Everything that reads or changes state takes `lock`, because the HTTP server runs in
another thread.
"""

from __future__ import annotations

import random
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, ClassVar

from starlette.applications import Starlette

from integration_assets.sandbox.cursor import CursorCodec
from integration_assets.sandbox.faults import FaultEngine, FaultSettings
from integration_assets.sandbox.rand import salt
from integration_assets.sandbox.requestlog import RequestLog, RequestStats
from integration_assets.sandbox.store import DEFAULT_SPAN, EntityStore, Row
from integration_assets.sandbox.timefmt import utc_iso
from integration_assets.sandbox.webhooks import Delivery, Subscription, WebhookSender

DEFAULT_START = int(datetime(2024, 10, 1, 12, 0, tzinfo=UTC).timestamp())
"""The sandbox clock at start: fixed, so runs are reproducible whatever the wall clock says."""

Counts = int | Mapping[str, int]


@dataclass(frozen=True)
class AdvanceReport:
    """What one `advance` did: the new clock and, per entity, the indices it touched."""

    clock: int
    created: dict[str, range]
    updated: dict[str, tuple[int, ...]]
    deleted: dict[str, tuple[int, ...]]

    def to_json(self) -> dict[str, Any]:
        """Counts per entity, JSON-ready."""
        return {
            "clock": utc_iso(self.clock),
            "entities": {
                entity: {
                    "created": len(self.created[entity]),
                    "updated": len(self.updated[entity]),
                    "deleted": len(self.deleted[entity]),
                }
                for entity in self.created
            },
        }


class Simulator(ABC):
    """Base class of the Shopify and Klaviyo simulators."""

    vendor: ClassVar[str]
    entities: ClassVar[tuple[str, ...]]
    default_sizes: ClassVar[Mapping[str, int]]
    append_only: ClassVar[frozenset[str]] = frozenset()
    history: ClassVar[Mapping[str, int]] = {}
    """How far back (seconds) each entity's initial records were created; default three years."""

    def __init__(
        self,
        seed: int = 7,
        sizes: Mapping[str, int] | None = None,
        rate_limits: bool = True,
        start: int = DEFAULT_START,
    ) -> None:
        unknown = set(sizes or {}) - set(self.entities)
        if unknown:
            raise ValueError(f"{self.vendor} has no entity {', '.join(sorted(unknown))}")
        self.seed = seed
        self.sizes = {
            entity: int((sizes or {}).get(entity, self.default_sizes[entity]))
            for entity in self.entities
        }
        self.start = start
        self.lock = threading.RLock()
        self.log = RequestLog()
        self._initial_faults = FaultSettings(rate_limits=rate_limits, seed=seed)
        self.faults = FaultEngine(self._initial_faults)
        self.codec = CursorCodec(f"{self.vendor}:{seed}")
        self.public_url = self.default_public_url
        # Render the next page ahead of the client: worth it only in a separate process.
        self.prefetch = False
        self.subscriptions: tuple[Subscription, ...] = ()
        self.webhook_sender: WebhookSender | None = None
        self._build_state()

    @property
    @abstractmethod
    def default_public_url(self) -> str:
        """The vendor's real base URL, used in truth records until a server is bound."""

    def _build_state(self) -> None:
        self.clock = self.start
        self.advances = 0
        self.stores = {
            entity: EntityStore(
                entity, self.sizes[entity], self.start, self.history.get(entity, DEFAULT_SPAN)
            )
            for entity in self.entities
        }
        self._reset_limiters()

    @abstractmethod
    def _reset_limiters(self) -> None:
        """Forget rate-limit state (new buckets/windows)."""

    # --- the remote control ---------------------------------------------------------------

    def store(self, entity: str) -> EntityStore:
        """The bookkeeping of one entity; ValueError names the valid ones."""
        try:
            return self.stores[entity]
        except KeyError:
            raise ValueError(
                f"{self.vendor} has no entity {entity!r}; choose from {', '.join(self.entities)}"
            ) from None

    def advance(
        self,
        seconds: int = 3600,
        updated_fraction: float = 0.01,
        created: Counts = 0,
        deleted: Counts = 0,
    ) -> AdvanceReport:
        """Move the clock forward and change the data, deterministically.

        A fraction of each entity's live records gets a new version (new `updated_at` within the
        elapsed interval, some fields changed), `created` new records get the next ids and
        `deleted` ones vanish. Counts are per entity: an int applies to every entity, a mapping
        names them. Append-only entities (Klaviyo events) are only ever created.
        """
        if seconds < 0 or not 0.0 <= updated_fraction <= 1.0:
            raise ValueError("seconds must be >= 0 and updated_fraction within [0, 1]")
        with self.lock:
            rng = random.Random(salt(self.seed, f"advance:{self.advances}"))
            start, end = self.clock, self.clock + seconds
            created_now: dict[str, range] = {}
            updated_now: dict[str, tuple[int, ...]] = {}
            deleted_now: dict[str, tuple[int, ...]] = {}
            for entity in self.entities:
                store = self.store(entity)
                frozen = entity in self.append_only
                mutation = store.mutate(
                    rng,
                    start,
                    end,
                    updated=0 if frozen else round(updated_fraction * store.live_count),
                    created=_count_for(created, entity),
                    deleted=0 if frozen else _count_for(deleted, entity),
                )
                created_now[entity] = mutation.created
                updated_now[entity] = mutation.updated
                deleted_now[entity] = mutation.deleted
                end = max(end, store.last_created_at())
            self.clock = end
            self.advances += 1
            report = AdvanceReport(end, created_now, updated_now, deleted_now)
            deliveries = self._webhook_deliveries(report) if self.webhook_sender else []
        if deliveries and self.webhook_sender:
            self.webhook_sender.submit(deliveries)
        return report

    # --- webhooks (see sandbox/webhooks.py) -------------------------------------------------

    def set_webhooks(
        self, subscriptions: Sequence[Subscription], sender: WebhookSender | None = None
    ) -> WebhookSender | None:
        """Send signed webhooks for the changes of each later `advance` to `subscriptions`.

        Replaces earlier subscriptions (their sender is closed); an empty list stops sending.
        Returns the sender, whose `deliveries` and `wait_idle()` tests read.
        """
        with self.lock:
            if self.webhook_sender is not None:
                self.webhook_sender.close()
            self.subscriptions = tuple(subscriptions)
            self.webhook_sender = (sender or WebhookSender()) if self.subscriptions else None
            return self.webhook_sender

    def _webhook_deliveries(self, report: AdvanceReport) -> list[Delivery]:
        """The deliveries `report` causes; vendors that send webhooks override this."""
        return []

    def records(self, entity: str) -> Iterator[dict[str, Any]]:
        """Every current record of `entity`, in id order, exactly as the API serves it.

        Children (line items, variants, addresses) are nested as in the API. Faults do not apply:
        this is the truth a sync is compared with. Do not `advance` while iterating.
        """
        store = self.store(entity)
        for rows in store.iter_live():
            with self.lock:
                rendered = [self.render(entity, row) for row in rows]
            yield from rendered

    def count(self, entity: str) -> int:
        """How many records of `entity` exist now."""
        with self.lock:
            return self.store(entity).live_count

    @property
    def fault_settings(self) -> FaultSettings:
        """The current fault switches."""
        return self.faults.settings

    def set_faults(self, **changes: Any) -> FaultSettings:
        """Change some fault switches (see FaultSettings); the others keep their values."""
        with self.lock:
            self.faults.configure(self.faults.settings.with_changes(**changes))
            return self.faults.settings

    def clear_faults(self) -> FaultSettings:
        """Back to good behaviour; the rate-limit switch keeps its current value."""
        with self.lock:
            keep = self.faults.settings
            self.faults.configure(FaultSettings(rate_limits=keep.rate_limits, seed=keep.seed))
            return self.faults.settings

    def stats(self) -> RequestStats:
        """Counts and log of the vendor requests answered so far."""
        with self.lock:
            return self.log.snapshot()

    def reset_stats(self) -> None:
        """Forget the request log and counters."""
        with self.lock:
            self.log.clear()

    def reset(self) -> None:
        """Back to the initial data, clock, faults, rate limits and an empty log."""
        with self.lock:
            self._build_state()
            self.faults.configure(self._initial_faults)
            self.log.clear()

    def state_stamp(self) -> tuple[int, ...]:
        """Changes whenever the data may have changed (advance, reset)."""
        with self.lock:
            return (self.advances, *(store.generation for store in self.stores.values()))

    def info(self) -> dict[str, Any]:
        """A JSON-ready summary: vendor, clock and live counts."""
        with self.lock:
            return {
                "vendor": self.vendor,
                "seed": self.seed,
                "clock": utc_iso(self.clock),
                "advances": self.advances,
                "url": self.public_url,
                "counts": {entity: store.live_count for entity, store in self.stores.items()},
            }

    # --- what each vendor provides -----------------------------------------------------------

    @abstractmethod
    def render(self, entity: str, row: Row) -> dict[str, Any]:
        """Build the record of `row` exactly as the vendor API serves it (no faults)."""

    @abstractmethod
    def build_app(self) -> Starlette:
        """The ASGI app speaking this vendor's wire protocol plus the `/_sandbox` controls."""

    @cached_property
    def app(self) -> Starlette:
        """The ASGI app, built once."""
        return self.build_app()


def _count_for(counts: Counts, entity: str) -> int:
    if isinstance(counts, int):
        return max(0, counts)
    return max(0, int(counts.get(entity, 0)))
