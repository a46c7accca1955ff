"""Whole walks against the vendor simulators over real HTTP, compared with their truth.

One sandbox serves the module (rate limits off unless a test turns them on); each test resets
it and uses a connection name of its own, so no rate bucket, request log or fault leaks between
tests. Retry sleeps go to a recorder that does not wait unless the test needs real time to pass
(only the rate-limit tests do: the simulator's bucket drains in real time).
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import redis

from integration_assets.connectors import ConnectorSpec, get_connector
from integration_assets.connectors.connections import Connection
from integration_assets.connectors.spec import RateLimitSpec
from integration_assets.extract import (
    AuthenticationError,
    ExtractSettings,
    MalformedPageError,
    PageStream,
    RateLimiter,
    RateLimitKey,
    shared_limiter,
)
from integration_assets.extract.stream import format_since
from integration_assets.sandbox import Sandbox, Simulator, run_sandbox

SIZES = {"customers": 300, "orders": 260, "products": 60, "profiles": 250, "events": 330}
SHOPIFY_ENTITIES = ("customers", "orders", "products")
KLAVIYO_ENTITIES = ("profiles", "events")
REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with run_sandbox(seed=11, sizes=SIZES, rate_limits=False) as running:
        yield running


@pytest.fixture
def sb(sandbox: Sandbox) -> Sandbox:
    sandbox.shopify.reset()
    sandbox.klaviyo.reset()
    return sandbox


class Sleeps:
    """Records the sleeps asked for; really sleeps only when `real` (the vendor's clock runs)."""

    def __init__(self, real: bool = False) -> None:
        self.real = real
        self.calls: list[float] = []
        self._lock = threading.Lock()

    def __call__(self, seconds: float) -> None:
        with self._lock:
            self.calls.append(seconds)
        if self.real:
            time.sleep(seconds)


def vendor_of(entity: str) -> str:
    return "shopify" if entity in SHOPIFY_ENTITIES else "klaviyo"


def simulator(sb: Sandbox, entity: str) -> Simulator:
    return sb.shopify if vendor_of(entity) == "shopify" else sb.klaviyo


def connection(sb: Sandbox, entity: str, name: str | None = None) -> Connection:
    vendor = vendor_of(entity)
    return Connection(
        name=name or f"{vendor}-{uuid.uuid4().hex[:10]}",
        vendor=vendor,
        base_url=sb.shopify_url if vendor == "shopify" else sb.klaviyo_url,
        secrets={"access_token": "SANDBOX_SHOP_TOKEN"}
        if vendor == "shopify"
        else {"api_key": "SANDBOX_KLAVIYO_KEY"},
        entities={entity: "hourly"},
    )


def secrets(sb: Sandbox, entity: str) -> dict[str, str]:
    if vendor_of(entity) == "shopify":
        return {"access_token": sb.shopify.access_token}
    return {"api_key": sb.klaviyo.api_key}


def walk(
    sb: Sandbox,
    entity: str,
    *,
    since: datetime | None = None,
    sleep: Callable[[float], None] | None = None,
    limiter: RateLimiter | None = None,
    name: str | None = None,
    spec: ConnectorSpec | None = None,
    **settings: Any,
) -> PageStream:
    return PageStream(
        spec or get_connector(vendor_of(entity), "rest"),
        entity,
        connection(sb, entity, name),
        since=since,
        settings=ExtractSettings(**settings),
        secrets=secrets(sb, entity),
        limiter=limiter,
        sleep=sleep or Sleeps(),
        rng=random.Random(3),
    )


def ids(stream: PageStream) -> list[Any]:
    return [record["id"] for page in stream for record in page.records]


def truth(sb: Sandbox, entity: str) -> list[Any]:
    return [record["id"] for record in simulator(sb, entity).records(entity)]


def sandbox_clock(sim: Simulator) -> datetime:
    return datetime.fromisoformat(sim.info()["clock"].replace("Z", "+00:00")).astimezone(UTC)


@pytest.mark.parametrize("entity", [*SHOPIFY_ENTITIES, *KLAVIYO_ENTITIES])
def test_every_entity_is_paged_completely(sb: Sandbox, entity: str) -> None:
    stream = walk(sb, entity)
    got = ids(stream)
    expected = truth(sb, entity)
    assert len(got) == len(set(got)) == SIZES[entity]  # none doubled
    assert sorted(got, key=str) == sorted(expected, key=str)  # none missing
    pages = stream.stats.pages
    assert stream.stats.requests == pages
    assert stream.stats.records == SIZES[entity] and stream.stats.retries == 0
    assert simulator(sb, entity).stats().total == pages


def test_small_pages_follow_many_next_links(sb: Sandbox) -> None:
    stream = walk(sb, "customers", page_size=11)
    assert ids(stream) == truth(sb, "customers")
    assert stream.stats.pages == -(-300 // 11)
    follow_ups = sb.shopify.stats().requests[1:]
    assert all(set(request.params) == {"limit", "page_info"} for request in follow_ups)


@pytest.mark.parametrize("entity", [*SHOPIFY_ENTITIES, *KLAVIYO_ENTITIES])
def test_incremental_since_reads_only_what_changed(sb: Sandbox, entity: str) -> None:
    sim = simulator(sb, entity)
    since = sandbox_clock(sim)
    sim.advance(seconds=3600, updated_fraction=0.05, created=4)
    sim.reset_stats()

    got = ids(walk(sb, entity, since=since))

    incremental = get_connector(vendor_of(entity), "rest").entity(entity).incremental
    assert incremental is not None
    field = incremental.cursor_field

    def changed(record: dict[str, Any]) -> bool:
        value: Any = record
        for part in field.split("."):
            value = value[part]
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
        # Shopify's updated_at_min is inclusive; Klaviyo's greater-than is strict.
        return stamp >= since if vendor_of(entity) == "shopify" else stamp > since

    expected = [record["id"] for record in sim.records(entity) if changed(record)]
    assert 4 <= len(expected) < SIZES[entity] // 2
    assert sorted(got, key=str) == sorted(expected, key=str)
    first = sim.stats().requests[0]
    sent = {name: template.replace("{since}", format_since(since, incremental.since_format))
            for name, template in incremental.params.items()}  # fmt: skip
    assert {name: first.params[name] for name in sent} == sent


def test_5xx_and_timeouts_at_20_percent_lose_nothing(sb: Sandbox) -> None:
    sb.shopify.set_faults(error_rate=0.2, timeout_rate=0.2, timeout_seconds=2.0, seed=5)
    sleeps = Sleeps()
    stream = walk(sb, "customers", page_size=25, sleep=sleeps, timeout_seconds=0.25, max_attempts=8)
    assert ids(stream) == truth(sb, "customers")
    stats = stream.stats
    served = sb.shopify.stats()
    assert stats.pages == 12
    assert stats.server_errors == sum(n for status, n in served.by_status.items() if status >= 500)
    assert stats.server_errors > 0 and stats.timeouts > 0
    assert stats.retries == stats.server_errors + stats.timeouts == stats.requests - stats.pages
    assert len(sleeps.calls) == stats.retries  # one backoff per retry


def test_klaviyo_5xx_are_retried_too(sb: Sandbox) -> None:
    sb.klaviyo.set_faults(error_rate=0.3, seed=2)
    stream = walk(sb, "profiles", page_size=20, max_attempts=8)
    assert sorted(ids(stream)) == sorted(truth(sb, "profiles"))
    assert stream.stats.server_errors > 0


def test_duplicates_across_pages_are_passed_through_for_the_upsert_to_absorb(sb: Sandbox) -> None:
    sb.shopify.set_faults(duplicate_across_pages=True)
    got = ids(walk(sb, "customers", page_size=50))
    assert set(got) == set(truth(sb, "customers"))
    assert len(got) > len(set(got))  # raw pages are landed as the vendor sent them


def test_a_page_malformed_once_is_retried(sb: Sandbox) -> None:
    sb.shopify.set_faults(malformed_page={"entity": "customers", "page": 2, "mode": "once"})
    stream = walk(sb, "customers", page_size=100)
    assert ids(stream) == truth(sb, "customers")
    assert stream.stats.malformed == 1 and stream.stats.retries == 1


def test_a_page_malformed_always_fails_naming_page_and_url(sb: Sandbox) -> None:
    sb.klaviyo.set_faults(malformed_page={"entity": "profiles", "page": 2, "mode": "always"})
    stream = walk(sb, "profiles")
    with pytest.raises(MalformedPageError) as caught:
        ids(stream)
    error = caught.value
    assert error.page == 2 and error.attempts == 3 and error.position is not None
    assert error.url.startswith(f"{sb.klaviyo_url}/api/profiles/?page")
    assert "page 2 was malformed after 3 attempts" in str(error)
    assert sb.klaviyo.api_key not in str(error)


def test_a_wrong_token_is_a_clear_401_without_the_token(sb: Sandbox) -> None:
    stream = PageStream(
        get_connector("shopify", "rest"),
        "orders",
        connection(sb, "orders", name="demo-shop"),
        secrets={"access_token": "shpat_WRONG_and_secret"},
    )
    with pytest.raises(AuthenticationError) as caught:
        ids(stream)
    message = str(caught.value)
    assert message.startswith(
        f"shopify/orders (connection 'demo-shop'): authentication failed on GET "
        f"{sb.shopify_url}/admin/api/2026-10/orders.json?status=any&limit=250 — HTTP 401"
    )
    assert "SANDBOX_SHOP_TOKEN" in message
    assert "shpat_WRONG_and_secret" not in message and sb.shopify.access_token not in message
    # Not retried. Counted by status: a request an earlier test timed out on may still be
    # logged by the server after the reset, with its own (non-401) status.
    assert sb.shopify.stats().count(status=401) == 1


def test_secrets_come_from_the_connections_env_vars(
    sb: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SANDBOX_KLAVIYO_KEY", sb.klaviyo.api_key)
    stream = PageStream(get_connector("klaviyo"), "events", connection(sb, "events"))
    assert len(ids(stream)) == SIZES["events"]


# --- rate limits on: the simulator's buckets drain in real time ---------------------------------


def test_pre_drained_bucket_makes_the_stream_wait_out_retry_after(sb: Sandbox) -> None:
    import httpx

    sb.shopify.set_faults(rate_limits=True)
    headers = {"X-Shopify-Access-Token": sb.shopify.access_token}
    with httpx.Client(headers=headers) as other_app:  # someone else spends the whole budget
        url = f"{sb.shopify_url}/admin/api/2026-10/products.json?limit=1"
        while other_app.get(url).status_code != 429:
            pass
    sb.shopify.reset_stats()
    sleeps = Sleeps(real=True)
    # Six pages: the bucket leaks 2 requests a second, so the walk still meets the full bucket
    # when it starts up to 3 s after the drain (a busy machine), not only within 0.5 s.
    stream = walk(sb, "products", sleep=sleeps, page_size=10)
    assert ids(stream) == truth(sb, "products")
    assert stream.stats.throttled >= 1
    assert 2.0 in sleeps.calls  # Shopify's Retry-After: 2.0, waited exactly
    assert sb.shopify.stats().count(status=429) == stream.stats.throttled


def _walk_in_threads(walks: list[Callable[[], list[Any]]]) -> list[list[Any]]:
    results: list[list[Any]] = [[] for _ in walks]
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            results[index] = walks[index]()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(walks))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


# Pacing from the shared bucket alone: without the budget header, a stream can't resync from
# what the vendor reports, so only sharing one bucket keeps two streams under the budget.
BLIND_SHOPIFY = get_connector("shopify", "rest").model_copy(
    update={"rate_limit": RateLimitSpec(capacity=40, refill_per_second=2.0)}
)


def test_two_concurrent_streams_share_the_budget_in_process(sb: Sandbox) -> None:
    """45 requests at once against a 40-deep bucket: paced, not throttled."""
    sb.shopify.set_faults(rate_limits=True)
    shop = f"shop-{uuid.uuid4().hex[:8]}"  # both streams resolve the same shared bucket
    streams = [
        walk(sb, "customers", name=shop, spec=BLIND_SHOPIFY, page_size=13, sleep=Sleeps(True)),
        walk(sb, "orders", name=shop, spec=BLIND_SHOPIFY, page_size=12, sleep=Sleeps(True)),
    ]
    customers, orders = _walk_in_threads([lambda: ids(streams[0]), lambda: ids(streams[1])])
    assert customers == truth(sb, "customers") and orders == truth(sb, "orders")
    served = sb.shopify.stats()
    assert served.count(status=200) == 24 + 22
    assert served.count(status=429) == 0
    assert sum(stream.stats.rate_limit_wait_seconds for stream in streams) > 0  # paced


def test_two_limiter_instances_share_the_budget_through_redis(sb: Sandbox) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis at {REDIS_URL} unavailable: {exc}")
    prefix = f"test-ia-{uuid.uuid4().hex}"
    key = RateLimitKey("shopify", "demo-shop")
    # Two separate limiter objects (as two processes would have), one Redis bucket.
    one = shared_limiter(BLIND_SHOPIFY.rate_limit, key, redis_url=REDIS_URL, redis_prefix=prefix)
    two = shared_limiter(BLIND_SHOPIFY.rate_limit, key, redis_url=REDIS_URL, redis_prefix=prefix)
    assert one is not two
    sb.shopify.set_faults(rate_limits=True)
    try:
        customers, products = _walk_in_threads(
            [
                lambda: ids(walk(sb, "customers", spec=BLIND_SHOPIFY, limiter=one, page_size=12)),
                lambda: ids(walk(sb, "products", spec=BLIND_SHOPIFY, limiter=two, page_size=3)),
            ]
        )
    finally:
        for stale in client.scan_iter(f"{prefix}:*"):
            client.delete(stale)
    assert customers == truth(sb, "customers") and products == truth(sb, "products")
    served = sb.shopify.stats()
    assert served.count(status=200) == 25 + 20
    assert served.count(status=429) == 0


def test_without_sharing_the_same_load_is_throttled(sb: Sandbox) -> None:
    """The control experiment for the two tests above: separate buckets overflow the shop's."""
    sb.shopify.set_faults(rate_limits=True)
    streams = [
        walk(sb, "customers", spec=BLIND_SHOPIFY, page_size=13),  # each its own connection name,
        walk(sb, "orders", spec=BLIND_SHOPIFY, page_size=12),  # so each its own bucket
    ]
    customers, orders = _walk_in_threads([lambda: ids(streams[0]), lambda: ids(streams[1])])
    assert customers == truth(sb, "customers") and orders == truth(sb, "orders")  # still complete
    assert sb.shopify.stats().count(status=429) > 0
