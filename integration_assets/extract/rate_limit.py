"""A proactive leaky-bucket rate limiter, shared by every stream of one vendor account.

Why proactive: the vendor's bucket is published (Shopify: 40 requests, draining 2/s per shop),
so we can pace requests to fit it and never see a 429 in normal operation, instead of hitting
the wall and sleeping through `Retry-After`. Every concurrent stream against the same
(vendor, account[, entity when the entity has its own budget]) shares one bucket: in-process by
default, in Redis when `REDIS_URL` is set so runs in different processes or pods share it too.

The bucket is kept as GCRA (the "virtual scheduling" form of a leaky bucket): one number, the
theoretical arrival time `tat` at which the bucket would be empty. `acquire()` reserves the next
slot atomically and returns how long to sleep before using it, so waiters are served in order
without polling, and the Redis version is one short Lua script. In bucket terms, the level at
time `now` is `(tat - now) / interval` requests, and a request fits while level + 1 ≤ capacity.

`headroom` (default one request) keeps the bucket one request short of full: vendors count a
request when it arrives and may leak in whole steps, so a bucket filled to the last slot by our
estimate can be a hair over by theirs. One request of headroom costs one refill interval per
sync (0.5 s for Shopify), not a slower steady rate, so the sync still runs at the published rate.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

import redis

from integration_assets.connectors.connections import RateLimitOverride
from integration_assets.connectors.spec import ConnectorSpec, RateLimitSpec
from integration_assets.extract.errors import redact_url
from integration_assets.extract.headers import header

Clock = Callable[[], float]
Sleep = Callable[[float], None]
REDIS_URL_ENV_VAR = "REDIS_URL"
DEFAULT_REDIS_PREFIX = "integration_assets:ratelimit"


@dataclass(frozen=True)
class CostReport:
    """What a cost-budgeted vendor said about one answer (`RateLimitSpec.cost_report`).

    `actual` is None when the request was not run (throttled): nothing was charged.
    """

    requested: float | None
    actual: float | None
    available: float | None
    maximum: float | None
    restore_rate: float | None

    def wait_for(self, cost: float) -> float | None:
        """Seconds until the bucket holds `cost` points at the reported restore rate."""
        if self.available is None or not self.restore_rate or self.restore_rate <= 0:
            return None
        return max(0.0, (cost - self.available) / self.restore_rate)


class RateLimiter(Protocol):
    """What the extract stage needs from a limiter."""

    def acquire(self, amount: float = 1.0) -> float:
        """Block until `amount` (one request, or a request's cost in points) fits the
        budget; return the seconds waited."""
        ...

    def observe_cost(self, report: CostReport, charged: float, age_seconds: float = 0.0) -> None:
        """Settle a cost-budgeted answer: refund what `charged` overestimated (or all of it,
        when the vendor did not run the request) and resync from the reported budget."""
        ...

    def observe(self, headers: Mapping[str, str], age_seconds: float = 0.0) -> None:
        """Resync from the vendor's budget header, when the answer carries one.

        `age_seconds` is how long ago the request was sent (its round trip): the vendor
        measured its bucket when the request arrived, not when we read the answer.
        """
        ...

    def penalise(self, retry_after_seconds: float) -> None:
        """The vendor answered 429: nobody sharing this budget sends for that long."""
        ...


class RateLimiterUnavailable(RuntimeError):
    """The shared store (Redis) could not be reached; the message names it without password."""


@dataclass(frozen=True)
class RateLimitKey:
    """Whose budget: a vendor account, or one endpoint of it when the entity has its own.

    `api` keeps the budgets of a vendor's APIs apart (Shopify's REST and GraphQL Admin APIs
    have separate buckets); None for a vendor's only or request-counted API, so existing
    keys stay as they were.
    """

    vendor: str
    account: str
    entity: str | None = None
    api: str | None = None

    def as_string(self) -> str:
        vendor = f"{self.vendor}.{self.api}" if self.api else self.vendor
        parts = [vendor, self.account] + ([self.entity] if self.entity else [])
        return ":".join(parts)


def budget_level(spec: RateLimitSpec, headers: Mapping[str, str]) -> float | None:
    """The bucket level (requests, on our capacity's scale) the vendor reports, if it does.

    `used/limit` (e.g. `3/40`) is scaled to our capacity so a shop on a bigger plan (`3/80`)
    still maps onto the bucket we model; `remaining` is `capacity - remaining`.
    """
    if spec.budget_header is None or spec.budget_header_format is None:
        return None
    raw = header(headers, spec.budget_header)
    if raw is None:
        return None
    try:
        if spec.budget_header_format == "used/limit":
            used_text, _, limit_text = raw.partition("/")
            used, limit = float(used_text), float(limit_text)
            if limit <= 0 or used < 0:
                return None
            return used * spec.capacity / limit
        remaining = float(raw)
    except ValueError:
        return None
    if remaining < 0:
        return None
    return max(0.0, spec.capacity - remaining)


class BucketStore(Protocol):
    """Where the bucket's one number (`tat`) lives; every operation is atomic."""

    def reserve(self, now: float, interval: float, tolerance: float) -> float:
        """Take the next slot and return the seconds until it may be used."""
        ...

    def raise_to(self, now: float, floor: float, slack: float = 0.0) -> None:
        """Make the bucket at least as full as `floor` (a `tat`) says, unless `floor` is
        within `slack` seconds of the bucket's own `tat` (or of `now`, if it is empty)."""
        ...

    def refund(self, now: float, seconds: float) -> None:
        """Give back `seconds` of reserved time (never below an empty bucket)."""
        ...


class LocalBucketStore:
    """In-process store, guarded by a lock so threads share it safely."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tat = -math.inf

    def reserve(self, now: float, interval: float, tolerance: float) -> float:
        with self._lock:
            self._tat = max(self._tat, now) + interval
            return max(0.0, self._tat - tolerance - now)

    def raise_to(self, now: float, floor: float, slack: float = 0.0) -> None:
        with self._lock:
            if floor > max(self._tat, now) + slack:
                self._tat = floor

    def refund(self, now: float, seconds: float) -> None:
        with self._lock:
            self._tat = max(now, self._tat - max(0.0, seconds))


# KEYS[1]: the bucket. ARGV: op ("reserve" | "raise" | "refund"), now, interval (the seconds
# reserved or refunded), tolerance, floor, slack.
# Returns the wait in seconds as a string (Lua numbers would be truncated to integers).
_LUA = """
local now = tonumber(ARGV[2])
local tat = now
local stored = redis.call('GET', KEYS[1])
if stored then
  local previous = tonumber(stored)
  if previous > tat then tat = previous end
end
local wait = 0
if ARGV[1] == 'reserve' then
  tat = tat + tonumber(ARGV[3])
  wait = tat - tonumber(ARGV[4]) - now
  if wait < 0 then wait = 0 end
elseif ARGV[1] == 'refund' then
  tat = tat - tonumber(ARGV[3])
  if tat < now then tat = now end
else
  local floor = tonumber(ARGV[5])
  if floor > tat + tonumber(ARGV[6]) then tat = floor end
end
local ttl = math.ceil((tat - now) * 1000) + 1000
redis.call('SET', KEYS[1], string.format('%.6f', tat), 'PX', ttl)
return string.format('%.6f', wait)
"""


class RedisBucketStore:
    """Redis store: one key per bucket, updated by an atomic Lua script, expiring when empty.

    Times are wall-clock seconds from the callers (shared across hosts); the key's TTL is the
    time until the bucket drains plus a second, so idle buckets leave nothing behind.
    """

    def __init__(self, client: redis.Redis, key: str, redis_url: str = "") -> None:
        self._client = client
        self._key = key
        self._where = redact_url(redis_url) if redis_url else "Redis"
        self._script = client.register_script(_LUA)

    @property
    def key(self) -> str:
        return self._key

    def _run(
        self,
        op: str,
        now: float,
        interval: float = 0.0,
        tolerance: float = 0.0,
        floor: float = 0.0,
        slack: float = 0.0,
    ) -> float:
        args = [op, *(repr(value) for value in (now, interval, tolerance, floor, slack))]
        try:
            result = self._script(keys=[self._key], args=args)
        except redis.RedisError as exc:
            raise RateLimiterUnavailable(
                f"shared rate limiter at {self._where} is unreachable ({type(exc).__name__}); "
                f"check {REDIS_URL_ENV_VAR} or unset it to limit in-process"
            ) from None
        return float(result.decode() if isinstance(result, bytes) else result)

    def reserve(self, now: float, interval: float, tolerance: float) -> float:
        return self._run("reserve", now, interval, tolerance)

    def raise_to(self, now: float, floor: float, slack: float = 0.0) -> None:
        self._run("raise", now, floor=floor, slack=slack)

    def refund(self, now: float, seconds: float) -> None:
        self._run("refund", now, interval=max(0.0, seconds))


class LeakyBucketLimiter:
    """A `RateLimiter` for one `RateLimitSpec` over a store; clock and sleep are injectable.

    Tests pass a fake clock and a sleep that records and advances it, so they observe the sleeps
    the limiter asks for without waiting.

    For a cost budget (`spec.unit == "cost"`) the bucket's unit is one point: a request
    reserves its estimated cost (GCRA takes any weight: `tat` moves by cost times interval), the
    answer refunds what the vendor did not charge and resyncs from the budget it reports in
    its body. The bucket's size and rate stay the spec's (or the connection's override): every
    limiter sharing a store, in any process, must read its one number on the same scale.
    """

    def __init__(
        self,
        spec: RateLimitSpec,
        store: BucketStore,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
        headroom: int = 1,
    ) -> None:
        self.spec = spec
        self.store = store
        self._clock = clock
        self._sleep = sleep
        self._headroom = max(0, headroom)
        capacity, refill_per_second = float(spec.capacity), spec.refill_per_second
        self.capacity = capacity
        self.refill_per_second = refill_per_second
        self.interval = 1.0 / refill_per_second
        headroom = float(self._headroom)
        if spec.unit == "cost":
            # Points are small units: a tenth of a second of restore (10 points at Shopify's
            # 100/s) absorbs the vendor's whole-point rounding and the time its answer took.
            headroom = max(headroom, 0.1 * refill_per_second)
        usable = max(1.0, capacity - headroom)
        self.tolerance = usable * self.interval
        # How far above our own estimate a vendor's report may be and still be no news: the
        # headroom absorbs that many requests, half a request more absorbs rounding.
        self.slack = (headroom + 0.5) * self.interval

    def acquire(self, amount: float = 1.0) -> float:
        # More than the bucket holds could never fit: it waits for an empty bucket instead.
        weight = min(max(amount, 0.0), self.tolerance / self.interval)
        wait = self.store.reserve(self._clock(), weight * self.interval, self.tolerance)
        if wait > 0:
            self._sleep(wait)
        return wait

    def observe(self, headers: Mapping[str, str], age_seconds: float = 0.0) -> None:
        level = budget_level(self.spec, headers)
        if level is None:
            return
        # Only ever raise: the header was computed before requests other streams have in flight,
        # so a lower figure than ours is stale, while a higher one means someone else (another
        # app on the same shop) is spending the budget too. The level is dated from when the
        # request was sent: dating it from when the answer arrived would add a round trip to
        # every interval and make a steady sync slower than the published rate. A level
        # within `slack` of ours is no news: the header counts whole requests (Shopify rounds
        # up) and the headroom is there for such small disagreements. Taking every report
        # literally raised the bucket by one interval each time rounding tipped over: a
        # paced sync of 80 pages took 21.1 s where the published limit allows 20 (20.5 with
        # the headroom). A busier shop (another app spending the budget) shows at once.
        now = self._clock()
        sent = now - max(0.0, age_seconds)
        self.store.raise_to(now, sent + level * self.interval, slack=self.slack)

    def observe_cost(self, report: CostReport, charged: float, age_seconds: float = 0.0) -> None:
        now = self._clock()
        charged = min(max(charged, 0.0), self.tolerance / self.interval)
        refund = charged if report.actual is None else charged - report.actual
        if refund > 0:
            self.store.refund(now, refund * self.interval)
        if report.available is None:
            return
        # The vendor's level, scaled to our capacity as `budget_level` scales a header: a shop
        # on a bigger plan than the one modelled still maps onto our bucket (its own figures
        # can be declared on the connection). As for headers, only ever raise: a lower level
        # is stale next to requests in flight. Dated when the answer arrived, not when the
        # request left: the vendor reports its bucket after the query ran and its unused
        # cost went back.
        maximum = report.maximum if report.maximum and report.maximum > 0 else self.capacity
        used = max(0.0, maximum - report.available) * self.capacity / maximum
        self.store.raise_to(now, now + used * self.interval, slack=self.slack)

    def penalise(self, retry_after_seconds: float) -> None:
        # The bucket is full until now + retry_after: the next slot opens then.
        now = self._clock()
        floor = now + max(0.0, retry_after_seconds) + self.tolerance - self.interval
        self.store.raise_to(now, floor)


class UnlimitedLimiter:
    """A limiter that never waits; for tools that page a local fixture or a vendor with no limit."""

    def acquire(self, amount: float = 1.0) -> float:
        return 0.0

    def observe_cost(self, report: CostReport, charged: float, age_seconds: float = 0.0) -> None:
        return None

    def observe(self, headers: Mapping[str, str], age_seconds: float = 0.0) -> None:
        return None

    def penalise(self, retry_after_seconds: float) -> None:
        return None


_registry_lock = threading.Lock()
_local_stores: dict[tuple[RateLimitKey, RateLimitSpec], LocalBucketStore] = {}
_redis_clients: dict[str, redis.Redis] = {}


def _redis_client(url: str) -> redis.Redis:
    with _registry_lock:
        client = _redis_clients.get(url)
        if client is None:
            client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
            _redis_clients[url] = client
        return client


def forget_local_buckets() -> None:
    """Forget every in-process bucket, as a new process would start (Redis ones are kept).

    For test isolation: tests run in one process, so without it a test would inherit the
    budget the previous test spent against the same account and wait for it to drain.
    """
    with _registry_lock:
        _local_stores.clear()


def shared_limiter(
    spec: RateLimitSpec,
    key: RateLimitKey,
    *,
    redis_url: str | None = None,
    redis_prefix: str = DEFAULT_REDIS_PREFIX,
    clock: Clock | None = None,
    sleep: Sleep = time.sleep,
    headroom: int = 1,
) -> LeakyBucketLimiter:
    """The limiter for `key`: every caller with the same key shares one bucket.

    With `redis_url` the bucket lives in Redis under `<redis_prefix>:<key>` (wall clock);
    otherwise in a process-wide registry (monotonic clock).
    """
    if redis_url:
        store: BucketStore = RedisBucketStore(
            _redis_client(redis_url), f"{redis_prefix}:{key.as_string()}", redis_url
        )
        return LeakyBucketLimiter(
            spec, store, clock=clock or time.time, sleep=sleep, headroom=headroom
        )
    with _registry_lock:
        local = _local_stores.setdefault((key, spec), LocalBucketStore())
    return LeakyBucketLimiter(
        spec, local, clock=clock or time.monotonic, sleep=sleep, headroom=headroom
    )


def limiter_for(
    connector: ConnectorSpec,
    entity: str,
    account: str,
    *,
    redis_url: str | None = None,
    redis_prefix: str = DEFAULT_REDIS_PREFIX,
    clock: Clock | None = None,
    sleep: Sleep = time.sleep,
    budget: RateLimitOverride | None = None,
) -> LeakyBucketLimiter:
    """The shared limiter an entity's stream uses for `account` (a connection name).

    The entity's own `rate_limit` wins when it has one (Klaviyo budgets each endpoint), and its
    name then joins the key; otherwise the whole account shares the connector's budget, which a
    connection's `budget` may resize (a Shopify Plus shop has ten times the default), in the
    budget's own unit (requests, or points for a cost budget). Each API of a vendor has its own
    bucket (`RateLimitKey.api`). Redis is used when `redis_url` is given or `REDIS_URL` is set.
    """
    entity_spec = connector.entity(entity)
    spec = entity_spec.rate_limit or connector.rate_limit
    if budget is not None and entity_spec.rate_limit is None:
        spec = spec.model_copy(
            update={"capacity": budget.capacity, "refill_per_second": budget.refill_per_second}
        )
    key = RateLimitKey(
        connector.vendor,
        account,
        entity_spec.name if entity_spec.rate_limit else None,
        # A vendor's APIs have budgets of their own; the request-counted GET API keeps the
        # key it always had.
        api=connector.api_id if connector.request != "get" else None,
    )
    url = redis_url if redis_url is not None else os.environ.get(REDIS_URL_ENV_VAR) or None
    return shared_limiter(
        spec, key, redis_url=url, redis_prefix=redis_prefix, clock=clock, sleep=sleep
    )
