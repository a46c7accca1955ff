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

from integration_assets.connectors.spec import CostReportSpec, GraphQLErrorSpec
from integration_assets.extract.errors import (
    AuthenticationError,
    ExtractError,
    GraphQLQueryError,
    MalformedPageError,
    json_api_error_text,
    redact_url,
    scrub,
)
from integration_assets.extract.graphql_errors import GraphQLVerdict, graphql_verdict
from integration_assets.extract.page import ExtractStats, Page
from integration_assets.extract.paginators import PageRequest
from integration_assets.extract.rate_limit import CostReport, RateLimiter
from integration_assets.extract.records import MalformedBody, locate_records, parse_json
from integration_assets.extract.retry import (
    RETRY_AFTER_STATUSES,
    RETRYABLE_TRANSPORT_ERRORS,
    BackoffPolicy,
    parse_retry_after,
)
from integration_assets.paths import lookup_optional

logger = logging.getLogger("integration_assets.extract")

_SNIPPET_CHARS = 200
MAX_THROTTLED_WAITS = 100
"""Throttled answers a page waits through (they are not failed attempts) before giving up:
a bound for a vendor that throttles for ever; the page deadline bounds the time too."""


@dataclass(frozen=True)
class StreamContext:
    """Who is asking, for error messages: never holds secret values in anything it prints.

    `secret_env_vars` maps each secret name to the environment variable that holds it;
    `secret_values` are only used to scrub vendor text quoted in errors.
    `retry_after_header` is the header the vendor says how long to wait in (its rate-limit
    spec's `retry_after_header`). `api_version` is the version requested; the vendor's
    `served_version_header` and `deprecation_header` (its version policy's) are read from
    every answer into the stats' warnings. `graphql_errors` and `cost_report` come from a
    GraphQL connector's spec: how a 200 reports errors, and where it reports the cost budget.
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
    graphql_errors: GraphQLErrorSpec | None = None
    cost_report: CostReportSpec | None = None

    def secret_hint(self) -> str:
        names = ", ".join(
            f"{env} (the {self.vendor} {secret})" for secret, env in self.secret_env_vars.items()
        )
        return f"check the environment variable {names}" if names else "check the credentials"


@dataclass(frozen=True)
class Exchanged:
    """One successful answer: status, headers, raw body and its parsed JSON."""

    status: int
    headers: httpx.Headers
    body: bytes
    document: Any
    attempts: int


def cost_report(spec: CostReportSpec | None, document: Any) -> CostReport | None:
    """The cost figures an answer's body reports (None when the spec declares none)."""
    if spec is None or not isinstance(document, dict):
        return None

    def number(path: str) -> float | None:
        value = lookup_optional(document, path)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        return float(value)

    report = CostReport(
        requested=number(spec.requested_path),
        actual=number(spec.actual_path),
        available=number(spec.available_path),
        maximum=number(spec.maximum_path),
        restore_rate=number(spec.restore_rate_path),
    )
    if report == CostReport(None, None, None, None, None):
        return None
    return report


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
        records_path = self._context.records_path
        located: list[list[dict[str, Any]]] = []

        def validate(document: Any) -> None:
            located.append(locate_records(document, records_path))

        exchanged = self.exchange(request, validate=validate, page=number)
        return self._page(request, number, exchanged, located[-1])

    def exchange(
        self,
        request: PageRequest,
        *,
        validate: Callable[[Any], object] | None = None,
        page: int | None = None,
    ) -> Exchanged:
        """Send `request` until an answer passes, as the policy allows; the answer parsed.

        `validate` checks the parsed body and raises `MalformedBody` when it is not what was
        asked for (retried as a malformed answer). GraphQL errors inside a 200 are classified
        by the connector's `graphql_errors` (see `GraphQLErrorSpec`). `page` numbers the
        request in errors.
        """
        url = request.full_url
        malformed_seen = 0
        throttled_waits = 0
        attempt = 0
        started = self._clock()
        while True:
            attempt += 1
            self._stats.rate_limit_wait_seconds += self._limiter.acquire(request.cost)
            self._stats.requests += 1
            delay: float | None = None
            last_status: int | None = None
            try:
                response = self._send(request, url)
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
                age = response.elapsed.total_seconds()
                self._limiter.observe(response.headers, age)
                self._observe_version(response.headers)
                status = last_status = response.status_code
                if 200 <= status < 300:
                    problem: MalformedBody | None = None
                    verdict: GraphQLVerdict | None = None
                    report: CostReport | None = None
                    try:
                        document = parse_json(body)
                    except MalformedBody as exc:
                        problem = exc
                    else:
                        report = cost_report(self._context.cost_report, document)
                        if report is not None:
                            self._limiter.observe_cost(report, request.cost, age)
                        verdict = graphql_verdict(self._context.graphql_errors, document)
                        if verdict is None:
                            try:
                                if validate is not None:
                                    validate(document)
                            except MalformedBody as exc:
                                problem = exc
                            else:
                                return Exchanged(status, response.headers, body, document, attempt)
                    if problem is not None:
                        self._stats.malformed += 1
                        malformed_seen += 1
                        if (
                            malformed_seen > self._policy.malformed_retries
                            or attempt >= self._policy.max_attempts
                        ):
                            self._fail_malformed(request, page, status, attempt, problem)
                        last = f"last answer HTTP {status} was malformed: {problem.reason}"
                    elif verdict is not None and verdict.kind == "throttled":
                        # Not a failure: the vendor ran nothing and said when it will.
                        throttled_waits += 1
                        self._stats.throttled += 1
                        wait = self._throttled_wait(request, report, attempt)
                        last = f"last answer was throttled ({verdict.describe()})"
                        if throttled_waits > MAX_THROTTLED_WAITS:
                            raise self._error(
                                request,
                                summary=f"throttled {throttled_waits} times on one request",
                                reason=last,
                                status=status,
                                attempts=attempt,
                                hint="another app may be spending the shop's budget: run later",
                            )
                        self._check_deadline(request, started, wait, attempt, last, status)
                        attempt -= 1
                        logger.info(
                            "%s/%s (connection %r): %s throttled; waiting %.2f s for %g points",
                            self._context.vendor,
                            self._context.entity,
                            self._context.connection,
                            f"page {page}" if page is not None else "request",
                            wait,
                            report.requested if report and report.requested else request.cost,
                        )
                        self._stats.retries += 1
                        self._stats.retry_wait_seconds += wait
                        if wait > 0:
                            self._sleep(wait)
                        continue
                    elif verdict is not None and verdict.kind == "retryable":
                        self._stats.server_errors += 1
                        last = f"last answer carried {verdict.describe()}"
                    elif verdict is not None:
                        self._fail_graphql(request, verdict, status, attempt, report)
                elif status == 429:
                    self._stats.throttled += 1
                    delay = self._retry_after(request, response, attempt)
                    if delay is None:
                        delay = self._policy.delay(attempt, self._rng)
                    self._limiter.penalise(delay)
                    last = "last answer HTTP 429 (rate limited)"
                elif status in (401, 403):
                    self._fail_auth(request, response, attempt)
                elif status in self._context.retryable_statuses:
                    if status >= 500:
                        self._stats.server_errors += 1
                    if status in RETRY_AFTER_STATUSES:
                        delay = self._retry_after(request, response, attempt)
                    last = f"last answer HTTP {status}"
                else:
                    self._fail_refused(request, response, attempt)
            if attempt >= self._policy.max_attempts:
                raise self._error(
                    request,
                    summary=f"gave up after {attempt} attempts",
                    reason=last,
                    status=last_status,
                    attempts=attempt,
                )
            if delay is None:
                delay = self._policy.delay(attempt, self._rng)
            self._retry_after_wait(request, page, started, delay, attempt, last, last_status)

    def _send(self, request: PageRequest, url: str) -> httpx.Response:
        if request.is_post:
            return self._client.post(
                url,
                headers={**self._headers, "Content-Type": "application/json"},
                content=request.content,
                timeout=self._timeout,
            )
        return self._client.get(url, headers=self._headers, timeout=self._timeout)

    def _retry_after_wait(
        self,
        request: PageRequest,
        page: int | None,
        started: float,
        delay: float,
        attempt: int,
        last: str,
        status: int | None,
    ) -> None:
        self._check_deadline(request, started, delay, attempt, last, status)
        logger.warning(
            "%s/%s (connection %r): %s attempt %d failed (%s); retrying in %.2f s",
            self._context.vendor,
            self._context.entity,
            self._context.connection,
            f"page {page}" if page is not None else "request",
            attempt,
            last,
            delay,
        )
        self._stats.retries += 1
        self._stats.retry_wait_seconds += delay
        if delay > 0:
            self._sleep(delay)

    def _throttled_wait(
        self, request: PageRequest, report: CostReport | None, attempt: int
    ) -> float:
        """Seconds until the bucket holds the points the request needs, by the vendor's own
        figures (requested cost, what is available, the restore rate); else the backoff."""
        needed = report.requested if report and report.requested is not None else request.cost
        wait = report.wait_for(needed) if report is not None else None
        if wait is None:
            return self._policy.delay(attempt + 1, self._rng)
        return wait

    def _page(
        self,
        request: PageRequest,
        number: int,
        exchanged: Exchanged,
        records: list[dict[str, Any]],
    ) -> Fetched:
        page = Page(
            number=number,
            url=redact_url(request.full_url),
            status=exchanged.status,
            body=exchanged.body,
            records=records,
            fetched_at=datetime.now(UTC),
            attempts=exchanged.attempts,
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
        return Fetched(page=page, document=exchanged.document, headers=exchanged.headers)

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
        request: PageRequest,
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
            request,
            summary=f"gave up after {attempt} attempts in {elapsed:.0f} s",
            reason=f"{last}; another try would start past this page's "
            f"{self._page_deadline:.0f} s deadline",
            status=status,
            attempts=attempt,
            hint="the vendor is struggling: run the sync again later",
        )

    def _retry_after(
        self, request: PageRequest, response: httpx.Response, attempt: int
    ) -> float | None:
        """The vendor's Retry-After in seconds (None if absent), refusing absurdly long ones."""
        seconds = parse_retry_after(response.headers.get(self._context.retry_after_header))
        if seconds is not None and seconds > self._max_retry_after:
            raise self._error(
                request,
                summary=f"the vendor asked us to wait {seconds:.0f} s",
                reason=f"HTTP {response.status_code} with Retry-After beyond the "
                f"{self._max_retry_after:.0f} s this run accepts",
                status=response.status_code,
                attempts=attempt,
                hint="run the sync again later",
            )
        return seconds

    def _fail_auth(self, request: PageRequest, response: httpx.Response, attempt: int) -> NoReturn:
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
            request,
            summary=summary,
            reason=reason,
            status=status,
            attempts=attempt,
            hint=hint,
            kind=AuthenticationError,
        )

    def _fail_refused(
        self, request: PageRequest, response: httpx.Response, attempt: int
    ) -> NoReturn:
        status = response.status_code
        if 300 <= status < 400:
            location = redact_url(response.headers.get("Location", "?"))
            raise self._error(
                request,
                summary="unexpected redirect",
                reason=f"HTTP {status} to {location}",
                status=status,
                attempts=attempt,
                hint="check the connection's base_url",
            )
        snippet = self._snippet(response)
        raise self._error(
            request,
            summary="request refused",
            reason=f"HTTP {status}" + (f": {snippet}" if snippet else ""),
            status=status,
            attempts=attempt,
            hint="not retried, since repeating the same request cannot succeed",
        )

    def _fail_malformed(
        self,
        request: PageRequest,
        number: int | None,
        status: int,
        attempt: int,
        problem: MalformedBody,
    ) -> NoReturn:
        what = f"page {number}" if number is not None else "the answer"
        raise MalformedPageError(
            page=number or 0,
            vendor=self._context.vendor,
            connection=self._context.connection,
            entity=self._context.entity,
            method=request.method,
            url=request.full_url,
            summary=f"{what} was malformed after {attempt} attempts",
            reason=f"HTTP {status}, {problem.reason}",
            status=status,
            attempts=attempt,
            position=problem.position,
            line=problem.line,
            column=problem.column,
        )

    def _fail_graphql(
        self,
        request: PageRequest,
        verdict: GraphQLVerdict,
        status: int,
        attempt: int,
        report: CostReport | None,
    ) -> NoReturn:
        """A GraphQL error that sending the same document again cannot cure."""
        query = verdict.operation_of(request.document)
        messages = scrub(verdict.describe(), self._context.secret_values)
        if verdict.kind == "access_denied":
            raise self._error(
                request,
                summary=f"permission denied to query {query}",
                reason=messages,
                status=status,
                attempts=attempt,
                hint=f"the credential lacks a scope {self._context.entity} needs: "
                f"{self._context.secret_hint()} and its scopes",
                kind=AuthenticationError,
            )
        if verdict.kind == "max_cost":
            cost = (
                f" (requested {report.requested:g} points)" if report and report.requested else ""
            )
            raise self._error(
                request,
                summary=f"query {query} costs more than the vendor allows in one query{cost}",
                reason=messages,
                status=status,
                attempts=attempt,
                hint="lower the page size or the `first` of nested connections in the "
                "connector's query; not retried",
                kind=GraphQLQueryError,
            )
        raise self._error(
            request,
            summary=f"the vendor refused query {query}",
            reason=messages,
            status=status,
            attempts=attempt,
            hint="the connector's query does not fit the vendor's schema or API version; "
            "not retried, since sending the same document again cannot succeed",
            kind=GraphQLQueryError,
        )

    def _error(
        self,
        request: PageRequest,
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
            method=request.method,
            url=request.full_url,
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
