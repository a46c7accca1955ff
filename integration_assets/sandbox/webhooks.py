"""Webhooks from the simulators: when `advance()` changes records, POST signed deliveries.

A simulator with subscriptions (`Simulator.set_webhooks`) renders, inside `advance`, one
delivery per change and subscription in its vendor's documented shape (`shopify/webhooks.py`,
`klaviyo/webhooks.py`), and hands them to a `WebhookSender`. The sender POSTs them from
worker threads and retries the way the vendor documents, bounded:

- Shopify: any answer outside 2xx, or none within 5 seconds, fails the attempt; a failed
  delivery is retried 8 times with exponential backoff, with the same body and headers
  (the original `X-Shopify-Triggered-At`).
- Klaviyo: 429, 500, 502, 503 and 504 (and no answer) are retried, up to 17 times with
  exponential backoff, each attempt signed anew with its own `Klaviyo-Timestamp`; any other
  answer is final.

The vendors spread retries over hours (Shopify 4, Klaviyo 24); the sandbox keeps their
counts but starts its backoff at `backoff_seconds` (50 ms by default), so a test sees the
whole schedule in seconds. Signing is written here from the vendors' docs, independently
of the console's verifier, so a test that passes proves both agree with the docs.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import httpx

ATTEMPT_TIMEOUT_SECONDS = 5.0
"""Shopify waits 5 seconds for an answer (1 to connect); the sandbox uses the same for both."""


@dataclass(frozen=True)
class Subscription:
    """Where a topic's deliveries go and the secret that signs them.

    `topic` is a vendor topic (`orders/updated`, `event:klaviyo.received_email`) or a prefix
    ending in `*` (`orders/*`, `event:*`), a convenience of the sandbox.
    """

    topic: str
    address: str
    secret: str = field(repr=False)

    def matches(self, topic: str) -> bool:
        if self.topic.endswith("*"):
            return topic.startswith(self.topic[:-1])
        return topic == self.topic


@dataclass(frozen=True)
class RetryPolicy:
    """How many times a vendor retries a failed delivery, and after which answers."""

    retries: int
    retry_statuses: frozenset[int] | None
    """None: every status outside 2xx is retried."""

    def retryable(self, status: int | None) -> bool:
        if status is None:
            return True
        return self.retry_statuses is None or status in self.retry_statuses


SHOPIFY_RETRIES = RetryPolicy(retries=8, retry_statuses=None)
KLAVIYO_RETRIES = RetryPolicy(retries=17, retry_statuses=frozenset({429, 500, 502, 503, 504}))


@dataclass
class Delivery:
    """One delivery to one address. `sign(body, now)` gives the headers of an attempt."""

    topic: str
    address: str
    body: bytes
    sign: Callable[[bytes, float], dict[str, str]]
    policy: RetryPolicy
    attempts: list[int | None] = field(default_factory=list)
    """The status of each attempt (None: no answer)."""

    @property
    def delivered(self) -> bool:
        return bool(self.attempts) and self.attempts[-1] is not None and self._ok(self.attempts[-1])

    @staticmethod
    def _ok(status: int) -> bool:
        return 200 <= status < 300


class WebhookSender:
    """POSTs deliveries from worker threads, retrying failed ones on a backoff schedule.

    `deliveries` lists every delivery handed over, with its attempts; `wait_idle()` returns
    once nothing is queued or in flight (delivered or given up), for tests to synchronise on.
    """

    def __init__(
        self,
        workers: int = 4,
        backoff_seconds: float = 0.05,
        max_backoff_seconds: float = 2.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.clock = clock
        self.deliveries: list[Delivery] = []
        self._queue: list[tuple[float, int, Delivery]] = []
        self._order = itertools.count()
        self._busy = 0
        self._closed = False
        self._changed = threading.Condition()
        self._client = httpx.Client(timeout=httpx.Timeout(ATTEMPT_TIMEOUT_SECONDS, connect=1.0))
        self._threads = [
            threading.Thread(target=self._work, name=f"sandbox-webhooks-{n}", daemon=True)
            for n in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, deliveries: Iterable[Delivery]) -> None:
        """Queue deliveries for sending now."""
        with self._changed:
            for delivery in deliveries:
                self.deliveries.append(delivery)
                heapq.heappush(self._queue, (time.monotonic(), next(self._order), delivery))
            self._changed.notify_all()

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Block until every delivery is delivered or given up; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._queue and not self._busy, timeout)

    def wait_attempted(self, delivery: Delivery, attempts: int = 1, timeout: float = 60.0) -> bool:
        """Block until `delivery` was attempted at least `attempts` times; False on timeout."""
        with self._changed:
            return self._changed.wait_for(lambda: len(delivery.attempts) >= attempts, timeout)

    def close(self) -> None:
        """Stop the workers (queued deliveries are dropped) and close the HTTP client."""
        with self._changed:
            self._closed = True
            self._queue.clear()
            self._changed.notify_all()
        for thread in self._threads:
            thread.join(timeout=ATTEMPT_TIMEOUT_SECONDS + 1)
        self._client.close()

    def _next(self) -> Delivery | None:
        with self._changed:
            while not self._closed:
                if self._queue:
                    due = self._queue[0][0] - time.monotonic()
                    if due <= 0:
                        self._busy += 1
                        return heapq.heappop(self._queue)[2]
                    self._changed.wait(due)
                else:
                    self._changed.wait()
            return None

    def _work(self) -> None:
        while (delivery := self._next()) is not None:
            status = self._attempt(delivery)
            with self._changed:
                delivery.attempts.append(status)
                retries_done = len(delivery.attempts) - 1
                if (
                    not delivery.delivered
                    and delivery.policy.retryable(status)
                    and retries_done < delivery.policy.retries
                    and not self._closed
                ):
                    delay = min(self.backoff_seconds * 2**retries_done, self.max_backoff_seconds)
                    heapq.heappush(
                        self._queue, (time.monotonic() + delay, next(self._order), delivery)
                    )
                self._busy -= 1
                self._changed.notify_all()

    def _attempt(self, delivery: Delivery) -> int | None:
        headers = {"Content-Type": "application/json", **delivery.sign(delivery.body, self.clock())}
        try:
            return self._client.post(
                delivery.address, content=delivery.body, headers=headers
            ).status_code
        except httpx.HTTPError:
            return None
