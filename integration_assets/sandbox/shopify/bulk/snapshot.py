"""The shop as it was when a bulk operation started, for its runner to read at leisure.

An export of a million records takes a while; the shop keeps changing meanwhile (`advance`).
Shopify does not promise that an export sees changes made after it started, and reading a
moving store page by page would mix states. The sandbox can freeze a shop for free: records
are functions of (seed, index, version), so a snapshot is a copy of each store's small
bookkeeping (the versions, change times and deletions made by `advance`, never the records)
plus a catalog and simulator view over those copies. The runner then reads it without the
simulator's lock, so the HTTP server never waits for an export.
"""

from __future__ import annotations

import copy
import threading
from typing import TYPE_CHECKING

from integration_assets.sandbox.faults import FaultEngine, FaultSettings
from integration_assets.sandbox.shopify.catalog import ShopifyCatalog
from integration_assets.sandbox.store import EntityStore

if TYPE_CHECKING:
    from integration_assets.sandbox.shopify.simulator import ShopifySimulator


def frozen_store(store: EntityStore) -> EntityStore:
    """A copy of the store's bookkeeping that later `advance` calls do not touch."""
    frozen = copy.copy(store)
    frozen.versions = dict(store.versions)
    frozen.changed_at = dict(store.changed_at)
    frozen.deleted = set(store.deleted)
    frozen._runs = list(store._runs)
    frozen._run_firsts = list(store._run_firsts)
    frozen._by_time = list(store._by_time)
    frozen._touched = list(store._touched)
    frozen._changed_cache = {}
    return frozen


def frozen_shop(simulator: ShopifySimulator) -> ShopifySimulator:
    """A read-only view of the shop now: same seed, ids, cursors and schema; frozen data.

    Faults do not apply to the view: a bulk export is not served page by page to the client,
    so the per-request faults (type drift, malformed pages, duplicates) have no place in it;
    bulk failures have their own switch.
    """
    with simulator.lock:
        view = copy.copy(simulator)
        view.stores = {entity: frozen_store(store) for entity, store in simulator.stores.items()}
        view.clock = simulator.clock
    view.lock = threading.RLock()
    view.faults = FaultEngine(FaultSettings(rate_limits=False, seed=simulator.seed))
    view.catalog = ShopifyCatalog(
        simulator.seed, view.stores, simulator.shop_clock, simulator.catalog.shop_domain
    )
    return view
