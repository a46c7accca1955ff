"""Fetch one page: pace, send, classify the answer, retry or fail with an actionable error.

This is the only place that turns HTTP outcomes into decisions (see `retry.py` for the policy);
`PageStream` just chains pages. Every attempt first waits for the shared rate budget, every
answer resyncs the budget from the vendor's header, and a 429 makes every stream sharing the
budget wait (`penalise`) besides this one sleeping through `Retry-After`.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn

import httpx

from integration_assets.extract.errors import (
    AuthenticationError,
    ExtractError,
    MalformedPageError,
    json_api_error_text,
    redact_url,
    scrub,
)
from integration_assets.extract.page import ExtractStats, Page
from integration_assets.extract.paginators import PageRequest
from integration_assets.extract.rate_limit import RateLimiter
from integration_assets.extract.records import MalformedBody, parse_page
from integration_assets.extract.retry import (
    RETRY_AFTER_STATUSES,
    RETRYABLE_TRANSPORT_ERRORS,
    BackoffPolicy,
    parse_retry_after,
)

logger = logging.getLogger("integration_assets.extract")

_SNIPPET_CHARS = 200


@dataclass(frozen=True)
class StreamContext:
    """Who is asking, for error messages: never holds secret values in anything it prints.

    `secret_env_vars` maps each secret name to the environment variable that holds it;
    `secret_values` are only used to scrub vendor text quoted in errors.
    `retry_after_header` is the header the vendor says how long to wait in (its rate-limit
    spec's `retry_after_header`). `api_version` is the version requested; the vendor's
    `served_version_header` and `deprecation_header` (its version policy's) are read from
    every answer into the stats' warnings.
    """

    vendor: str
    connection: str
    entity: str
    records_path: str
    retryable_statuses: frozenset[int]
    secret_env_vars: Mapping[str, str]
    secret_values: tuple[str, ...]
    retry_after_header: str = "Retry-After"
    api_version: str | None = None
    served_version_header: str | None = None
    deprecation_header: str | None = None

    def secret_hint(self) -> str:
        names = ", ".join(
            f"{env} (the {self.vendor} {secret})" for secret, env in self.secret_env_vars.items()
        )
        return f"check the environment variable {names}" if names else "check the credentials"


@dataclass(frozen=True)
class Fetched:
    """A page plus what the paginator needs to find the next one."""

    page: Page
    document: Any
    headers: httpx.Headers


def _release(response: httpx.Response) -> None:
    """Break httpx's reference cycle between a read response and its stream.

    `client.get` reads and closes the response, but its stream keeps a reference back to it,
    so the response, and the page body it holds, outlived every use and waited for the
    cyclic garbage collector. In a process with many long-lived objects (Dagster's) full
    collections are rare, and dead bodies piled up: about 40 MB of peak RSS over a sync.
    With the cycle broken, reference counting frees each body as soon as its page is done.
    """
    response.stream = httpx.ByteStream(b"")


class PageFetcher:
    """Fetches pages for one stream over one client; counts everything into `stats`."""

    def __init__(
        self,
        *,
        client: httpx.Client,
        headers: Mapping[str, str],
        context: StreamContext,
        limiter: RateLimiter,
        policy: BackoffPolicy,
        stats: ExtractStats,
        timeout_seconds: float,
        max_retry_after_seconds: float,
        page_deadline_seconds: float = float("inf"),
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self._client = client
        self._headers = dict(headers)
        self._context = context
        self._limiter = limiter
        self._policy = policy
        self._stats = stats
        self._timeout = timeout_seconds
        self._max_retry_after = max_retry_after_seconds
        self._page_deadline = page_deadline_seconds
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()

    def fetch(self, request: PageRequest, number: int) -> Fetched:
        """The page at `request`, after as many attempts as the policy allows."""
        url = request.full_url
        malformed_seen = 0
        attempt = 0
        started = self._clock()
        while True:
            attempt += 1
            self._stats.rate_limit_wait_seconds += self._limiter.acquire()
            self._stats.requests += 1
            delay: float | None = None
            last_status: int | None = None
            try:
                response = self._client.get(url, headers=self._headers, timeout=self._timeout)
            except httpx.TimeoutException as exc:
                self._stats.timeouts += 1
                last = f"last attempt timed out after {self._timeout:g} s ({type(exc).__name__})"
            except RETRYABLE_TRANSPORT_ERRORS as exc:
                self._stats.connection_errors += 1
                last = f"last attempt failed: {self._describe(exc)}"
            else:
                body = response.content
                _release(response)
                self._stats.bytes += len(body)
                self._limiter.observe(response.headers, response.elapsed.total_seconds())
                self._observe_version(response.headers)
                status = last_status = response.status_code
                if 200 <= status < 300:
                    try:
                        document, records = parse_page(body, self._context.records_path)
                    except MalformedBody as problem:
                        self._stats.malformed += 1
                        malformed_seen += 1
                        if (
                            malformed_seen > self._policy.malformed_retries
                            or attempt >= self._policy.max_attempts
                        ):
                            self._fail_malformed(url, number, status, attempt, problem)
                        last = f"last answer HTTP {status} was malformed: {problem.reason}"
                    else:
                        return self._page(url, number, response, body, document, records, attempt)
                elif status == 429:
                    self._stats.throttled += 1
                    delay = self._retry_after(url, response, attempt)
                    if delay is None:
                        delay = self._policy.delay(attempt, self._rng)
                    self._limiter.penalise(delay)
                    last = "last answer HTTP 429 (rate limited)"
                elif status in (401, 403):
                    self._fail_auth(url, response, attempt)
                elif status in self._context.retryable_statuses:
                    if status >= 500:
                        self._stats.server_errors += 1
                    if status in RETRY_AFTER_STATUSES:
                        delay = self._retry_after(url, response, attempt)
                    last = f"last answer HTTP {status}"
                else:
                    self._fail_refused(url, response, attempt)
            if attempt >= self._policy.max_attempts:
                raise self._error(
                    url,
                    summary=f"gave up after {attempt} attempts",
                    reason=last,
                    status=last_status,
                    attempts=attempt,
                )
            if delay is None:
                delay = self._policy.delay(attempt, self._rng)
            self._check_deadline(url, started, delay, attempt, last, last_status)
            logger.warning(
                "%s/%s (connection %r): page %d attempt %d failed (%s); retrying in %.2f s",
                self._context.vendor,
                self._context.entity,
                self._context.connection,
                number,
                attempt,
                last,
                delay,
            )
            self._stats.retries += 1
            self._stats.retry_wait_seconds += delay
            if delay > 0:
                self._sleep(delay)

    def _page(
        self,
        url: str,
        number: int,
        response: httpx.Response,
        body: bytes,
        document: Any,
        records: list[dict[str, Any]],
        attempts: int,
    ) -> Fetched:
        page = Page(
            number=number,
            url=redact_url(url),
            status=response.status_code,
            body=body,
            records=records,
            fetched_at=datetime.now(UTC),
            attempts=attempts,
        )
        self._stats.pages += 1
        self._stats.records += len(records)
        logger.debug(
            "%s/%s (connection %r): page %d, %d records from %s",
            self._context.vendor,
            self._context.entity,
            self._context.connection,
            number,
            len(records),
            page.url,
        )
        return Fetched(page=page, document=document, headers=response.headers)

    def _observe_version(self, headers: httpx.Headers) -> None:
        """Turn the vendor's version signals into warnings (once each, scrubbed, bounded).

        A deprecation header says the request used something the vendor will remove (a
        field, an endpoint, a version); a served version other than the one asked for means
        the vendor fell forward from a version it no longer supports, so records may already
        have a shape the mapping was not written for.
        """
        context = self._context
        if context.deprecation_header:
            reason = headers.get(context.deprecation_header)
            if reason:
                self._stats.warn(
                    f"{context.vendor} flagged {context.entity} requests as deprecated "
                    f"({context.deprecation_header}: {self._clean(reason)})"
                )
        if context.served_version_header:
            served = headers.get(context.served_version_header)
            if served:
                served = self._clean(served)
                self._stats.served_version = served
                if context.api_version and served != context.api_version:
                    self._stats.warn(
                        f"{context.vendor} served API version {served} instead of the "
                        f"requested {context.api_version} (it answers versions it no longer "
                        "supports with its oldest supported one): move the connection to a "
                        "supported version"
                    )

    def _clean(self, value: str) -> str:
        """A vendor header value fit to show: secrets scrubbed, URLs redacted, bounded."""
        text = " ".join(scrub(value, self._context.secret_values).split())
        if "://" in text:
            text = " ".join(redact_url(part) if "://" in part else part for part in text.split())
        return text[:_SNIPPET_CHARS]

    def _check_deadline(
        self,
        url: str,
        started: float,
        delay: float,
        attempt: int,
        last: str,
        status: int | None,
    ) -> None:
        """Give up on a page whose next retry would start past its deadline.

        Attempts and backoff alone do not bound time: six `Retry-After: 300` answers are half
        an hour on one page. The deadline keeps one page's retries (and so a run's, see
        `retry_budget.py`) bounded in time.
        """
        elapsed = self._clock() - started
        if elapsed + delay <= self._page_deadline:
            return
        raise self._error(
            url,
            summary=f"gave up after {attempt} attempts in {elapsed:.0f} s",
            reason=f"{last}; another try would start past this page's "
            f"{self._page_deadline:.0f} s deadline",
            status=status,
            attempts=attempt,
            hint="the vendor is struggling: run the sync again later",
        )

    def _retry_after(self, url: str, response: httpx.Response, attempt: int) -> float | None:
        """The vendor's Retry-After in seconds (None if absent), refusing absurdly long ones."""
        seconds = parse_retry_after(response.headers.get(self._context.retry_after_header))
        if seconds is not None and seconds > self._max_retry_after:
            raise self._error(
                url,
                summary=f"the vendor asked us to wait {seconds:.0f} s",
                reason=f"HTTP {response.status_code} with Retry-After beyond the "
                f"{self._max_retry_after:.0f} s this run accepts",
                status=response.status_code,
                attempts=attempt,
                hint="run the sync again later",
            )
        return seconds

    def _fail_auth(self, url: str, response: httpx.Response, attempt: int) -> NoReturn:
        status = response.status_code
        if status == 401:
            summary, reason = "authentication failed", "HTTP 401 Unauthorized"
            hint = self._context.secret_hint()
        else:
            summary, reason = "permission denied", "HTTP 403 Forbidden"
            hint = (
                f"the credential lacks access to {self._context.entity}: "
                f"{self._context.secret_hint()} and its scopes"
            )
        snippet = self._snippet(response)
        if snippet:
            reason += f" ({snippet})"
        raise self._error(
            url,
            summary=summary,
            reason=reason,
            status=status,
            attempts=attempt,
            hint=hint,
            kind=AuthenticationError,
        )

    def _fail_refused(self, url: str, response: httpx.Response, attempt: int) -> NoReturn:
        status = response.status_code
        if 300 <= status < 400:
            location = redact_url(response.headers.get("Location", "?"))
            raise self._error(
                url,
                summary="unexpected redirect",
                reason=f"HTTP {status} to {location}",
                status=status,
                attempts=attempt,
                hint="check the connection's base_url",
            )
        snippet = self._snippet(response)
        raise self._error(
            url,
            summary="request refused",
            reason=f"HTTP {status}" + (f": {snippet}" if snippet else ""),
            status=status,
            attempts=attempt,
            hint="not retried, since repeating the same request cannot succeed",
        )

    def _fail_malformed(
        self, url: str, number: int, status: int, attempt: int, problem: MalformedBody
    ) -> NoReturn:
        raise MalformedPageError(
            page=number,
            vendor=self._context.vendor,
            connection=self._context.connection,
            entity=self._context.entity,
            method="GET",
            url=url,
            summary=f"page {number} was malformed after {attempt} attempts",
            reason=f"HTTP {status}, {problem.reason}",
            status=status,
            attempts=attempt,
            position=problem.position,
            line=problem.line,
            column=problem.column,
        )

    def _error(
        self,
        url: str,
        *,
        summary: str,
        reason: str,
        status: int | None,
        attempts: int,
        hint: str | None = None,
        kind: type[ExtractError] = ExtractError,
    ) -> ExtractError:
        return kind(
            vendor=self._context.vendor,
            connection=self._context.connection,
            entity=self._context.entity,
            method="GET",
            url=url,
            summary=summary,
            reason=reason,
            status=status,
            attempts=attempts,
            hint=hint,
        )

    def _snippet(self, response: httpx.Response) -> str:
        text = json_api_error_text(response.content) or " ".join(
            response.content[: _SNIPPET_CHARS * 2].decode("utf-8", "replace").split()
        )
        return scrub(text, self._context.secret_values)[:_SNIPPET_CHARS]

    def _describe(self, exc: Exception) -> str:
        detail = scrub(str(exc), self._context.secret_values)[:_SNIPPET_CHARS]
        return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
