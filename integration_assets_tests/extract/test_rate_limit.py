"""The leaky bucket paces to the published budget, resyncs from headers, and is shared.

Time is a `FakeTime`: sleeps are recorded and advance the clock, so the tests see exactly which
waits the limiter asks for without waiting.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator

import pytest
import redis

from integration_assets.connectors import get_connector
from integration_assets.connectors.connections import RateLimitOverride
from integration_assets.connectors.spec import RateLimitSpec
from integration_assets.extract.rate_limit import (
    LeakyBucketLimiter,
    LocalBucketStore,
    RateLimiterUnavailable,
    RateLimitKey,
    RedisBucketStore,
    budget_level,
    limiter_for,
    shared_limiter,
)
from integration_assets_tests.extract.loopback import FakeTime
from integration_assets_tests.services import service_unavailable

SHOPIFY_BUDGET = RateLimitSpec(
    capacity=40,
    refill_per_second=2.0,
    budget_header="X-Shopify-Shop-Api-Call-Limit",
    budget_header_format="used/limit",
)
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _limiter(time: FakeTime, headroom: int = 0, store: object | None = None) -> LeakyBucketLimiter:
    return LeakyBucketLimiter(
        SHOPIFY_BUDGET,
        store or LocalBucketStore(),  # type: ignore[arg-type]
        clock=time.clock,
        sleep=time.sleep,
        headroom=headroom,
    )


def test_burst_of_capacity_then_the_refill_rate() -> None:
    time = FakeTime()
    limiter = _limiter(time)
    waits = [limiter.acquire() for _ in range(80)]
    assert waits[:40] == [0.0] * 40
    assert waits[40:] == pytest.approx([0.5] * 40)
    # 80 requests at 40 burst + 2/s take exactly the 20 s the published limit allows.
    assert sum(time.sleeps) == pytest.approx(20.0)


def test_default_headroom_costs_one_interval_not_the_rate() -> None:
    time = FakeTime()
    limiter = _limiter(time, headroom=1)
    for _ in range(80):
        limiter.acquire()
    assert len(time.sleeps) == 41
    assert sum(time.sleeps) == pytest.approx(20.5)


def test_idle_time_drains_the_bucket() -> None:
    time = FakeTime()
    limiter = _limiter(time)
    for _ in range(40):
        limiter.acquire()
    time.now += 5.0  # 10 requests leak away
    assert [limiter.acquire() for _ in range(10)] == [0.0] * 10
    assert limiter.acquire() == pytest.approx(0.5)


def test_observe_only_raises_the_level() -> None:
    time = FakeTime()
    limiter = _limiter(time)
    limiter.acquire()
    limiter.observe({"x-shopify-shop-api-call-limit": "40/40"})  # someone else spent it
    assert limiter.acquire() == pytest.approx(0.5)
    limiter.observe({"X-Shopify-Shop-Api-Call-Limit": "1/40"})  # stale: ignored
    assert limiter.acquire() == pytest.approx(0.5)
    limiter.observe({"X-Shopify-Shop-Api-Call-Limit": "garbage"})
    limiter.observe({})


def test_observe_dates_the_level_from_when_the_request_was_sent() -> None:
    """A round trip must not be added to every interval of a steady sync."""
    time = FakeTime()
    limiter = _limiter(time)
    for _ in range(40):
        limiter.acquire()
    assert limiter.acquire() == pytest.approx(0.5)  # request 41 sent at t
    time.now += 0.3  # its answer arrives 0.3 s later: the vendor's bucket was full at t
    limiter.observe({"X-Shopify-Shop-Api-Call-Limit": "40/40"}, age_seconds=0.3)
    assert limiter.acquire() == pytest.approx(0.2)  # t + 0.5, not arrival + 0.5


def test_budget_header_formats() -> None:
    assert budget_level(SHOPIFY_BUDGET, {"X-Shopify-Shop-Api-Call-Limit": "3/40"}) == 3
    assert budget_level(SHOPIFY_BUDGET, {"X-Shopify-Shop-Api-Call-Limit": "40/80"}) == 20
    remaining = RateLimitSpec(
        capacity=75, refill_per_second=10, budget_header="RateLimit-Remaining",
        budget_header_format="remaining",
    )  # fmt: skip
    assert budget_level(remaining, {"ratelimit-remaining": "70"}) == 5
    assert budget_level(remaining, {"ratelimit-remaining": "x"}) is None
    assert budget_level(get_connector("klaviyo").rate_limit, {"anything": "1"}) is None


def test_penalise_makes_the_next_acquire_wait_retry_after() -> None:
    time = FakeTime()
    limiter = _limiter(time)
    limiter.acquire()
    limiter.penalise(3.0)
    assert limiter.acquire() == pytest.approx(3.0)
    # Afterwards the bucket is full: one request per refill interval.
    assert limiter.acquire() == pytest.approx(0.5)


def test_in_process_registry_shares_one_bucket_per_key() -> None:
    time = FakeTime()
    account = f"shop-{uuid.uuid4().hex[:8]}"
    shopify = get_connector("shopify", "rest")
    a = limiter_for(shopify, "customers", account, redis_url="", clock=time.clock, sleep=time.sleep)
    b = limiter_for(shopify, "orders", account, redis_url="", clock=time.clock, sleep=time.sleep)
    other = limiter_for(shopify, "orders", account + "x", redis_url="", clock=time.clock)
    assert a.store is b.store  # Shopify budgets the whole shop
    assert other.store is not a.store
    klaviyo = get_connector("klaviyo")
    profiles = limiter_for(klaviyo, "profiles", account, redis_url="")
    events = limiter_for(klaviyo, "events", account, redis_url="")
    assert profiles.store is not events.store  # events has its own endpoint budget
    assert events.spec == klaviyo.entity("events").rate_limit


def test_threads_never_share_a_slot() -> None:
    """Concurrent reservations are atomic: every slot is handed out exactly once."""
    store = LocalBucketStore()
    interval, tolerance, now = 0.5, 20.0, 100.0
    waits: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        mine = [store.reserve(now, interval, tolerance) for _ in range(50)]
        with lock:
            waits.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(waits) == pytest.approx([0.0] * 39 + [0.5 * k for k in range(0, 161)])


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        service_unavailable(f"Redis at {REDIS_URL} is unreachable: {exc}")
    prefix = f"test-ia-{uuid.uuid4().hex}"
    yield prefix
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


def test_redis_bucket_is_shared_by_two_limiter_instances(redis_prefix: str) -> None:
    time = FakeTime()
    key = f"{redis_prefix}:shopify:demo-shop"
    one = _limiter(time, store=RedisBucketStore(redis.Redis.from_url(REDIS_URL), key))
    two = _limiter(time, store=RedisBucketStore(redis.Redis.from_url(REDIS_URL), key))
    waits = [(one if i % 2 else two).acquire() for i in range(60)]
    assert waits[:40] == [0.0] * 40
    assert waits[40:] == pytest.approx([0.5] * 20)
    two.penalise(4.0)
    assert one.acquire() == pytest.approx(4.0)
    one.observe({"X-Shopify-Shop-Api-Call-Limit": "40/40"})
    assert two.acquire() == pytest.approx(0.5)
    ttl_ms = redis.Redis.from_url(REDIS_URL).pttl(key)
    assert 0 < ttl_ms <= 22_000  # expires once the bucket has drained (+1 s)


def test_shared_limiter_uses_redis_when_given_a_url(redis_prefix: str) -> None:
    time = FakeTime()
    key = RateLimitKey("shopify", "demo-shop")
    a = shared_limiter(SHOPIFY_BUDGET, key, redis_url=REDIS_URL, redis_prefix=redis_prefix,
                       clock=time.clock, sleep=time.sleep, headroom=0)  # fmt: skip
    b = shared_limiter(SHOPIFY_BUDGET, key, redis_url=REDIS_URL, redis_prefix=redis_prefix,
                       clock=time.clock, sleep=time.sleep, headroom=0)  # fmt: skip
    assert isinstance(a.store, RedisBucketStore)
    assert a.store.key == f"{redis_prefix}:shopify:demo-shop"
    assert [a.acquire() for _ in range(40)] == [0.0] * 40
    assert b.acquire() == pytest.approx(0.5)


def test_redis_limiter_picks_up_redis_url_from_the_environment(
    redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    limiter = limiter_for(get_connector("klaviyo"), "events", "acct", redis_prefix=redis_prefix)
    assert isinstance(limiter.store, RedisBucketStore)
    assert limiter.store.key == f"{redis_prefix}:klaviyo:acct:events"


def test_unreachable_redis_is_a_clear_error_without_the_password() -> None:
    limiter = shared_limiter(
        SHOPIFY_BUDGET,
        RateLimitKey("shopify", "x"),
        redis_url="redis://:s3cret@127.0.0.1:1/0",
    )
    with pytest.raises(RateLimiterUnavailable) as caught:
        limiter.acquire()
    assert "s3cret" not in str(caught.value)
    assert "REDIS_URL" in str(caught.value)


def test_a_connection_can_declare_a_bigger_account_budget() -> None:
    """A Shopify Plus shop gets 400 requests of burst leaking 20/s; Klaviyo's per-endpoint
    budgets stay the vendor's."""
    plus = RateLimitOverride(capacity=400, refill_per_second=20.0)
    account = f"plus-{uuid.uuid4().hex[:8]}"

    shop = limiter_for(
        get_connector("shopify", "rest"), "customers", account, redis_url="", budget=plus
    )
    events = limiter_for(get_connector("klaviyo"), "events", account, redis_url="", budget=plus)

    assert (shop.spec.capacity, shop.spec.refill_per_second) == (400, 20.0)
    assert shop.spec.budget_header == "X-Shopify-Shop-Api-Call-Limit"
    assert events.spec == get_connector("klaviyo").entity("events").rate_limit
