"""The extract entry point: page through one (connection, entity), lazily.

`PageStream` builds the first request from the connector spec (entity path and params, page
size, incremental filter; for a GraphQL connector, the entity's document POSTed with those as
variables), then alternates fetch → yield → ask the paginator for the next request. It is a generator underneath, so only the page being handled is in memory, and it
holds one `httpx.Client` (HTTP/1.1 keep-alive, one connection) for the whole walk. Its `stats`
are readable during and after iteration.

Two facts a sync needs besides the pages:

- `walk_started_at`: when the walk began, on the *vendor's* clock, since record timestamps
  are the vendor's. It is the `Date` header of the first page's answer (every vendor sends
  one), else our own clock when the first request went out. The sync's cursor may never pass
  it (see `sync.cursor`).
- each page's `next_url` (and `last`), so a retried extract can resume after the last page
  it landed: `resume_from` / `first_page` start the walk at a stored request instead of the
  first one.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime

import httpx

from integration_assets.connectors.connections import Connection
from integration_assets.connectors.origin import describe_origin, same_origin
from integration_assets.connectors.spec import ConnectorSpec, EntitySpec
from integration_assets.connectors.versions import run_lifecycle_warning
from integration_assets.extract.errors import ExtractError, looks_secret, redact_url
from integration_assets.extract.fetch import PageFetcher, StreamContext
from integration_assets.extract.graphql import (
    NestedCompleter,
    finish_page,
    first_graphql_request,
    graphql_endpoint,
    page_error,
    with_cost,
)
from integration_assets.extract.headers import header
from integration_assets.extract.page import ExtractStats, Page
from integration_assets.extract.paginators import PageRequest, paginator_for
from integration_assets.extract.rate_limit import RateLimiter, limiter_for
from integration_assets.extract.settings import ExtractSettings
from integration_assets.extract.walk import PageWalk
from integration_assets.timestamps import parse_http_date

logger = logging.getLogger("integration_assets.extract")


def format_since(since: datetime, since_format: str) -> str:
    """`since` in UTC with the vendor's format; a naive datetime is taken to be UTC already."""
    aware = since.replace(tzinfo=UTC) if since.tzinfo is None else since.astimezone(UTC)
    return aware.strftime(since_format)


def page_size_for(spec: ConnectorSpec, entity: EntitySpec, settings: ExtractSettings) -> int:
    """The page size to ask for: settings, else the entity's, else the paginator's default."""
    size = settings.page_size or entity.page_size or spec.paginator.page_size
    maximum = entity.max_page_size or spec.paginator.max_page_size
    if size > maximum:
        raise ValueError(
            f"{spec.vendor}/{entity.name}: page size {size} exceeds the vendor's maximum {maximum}"
        )
    return size


def first_request(
    spec: ConnectorSpec,
    entity: EntitySpec,
    api_base_url: str,
    *,
    since: datetime | None,
    page_size: int,
    params: Mapping[str, str] | None = None,
) -> PageRequest:
    """The first page's request: entity params, page size, then the incremental filter.

    `params` are added to (or replace) the entity's own, e.g. its `ids_only_params` for an id
    walk. `since` is used as given (the caller has already subtracted the connection's lookback, see
    `window_start`). An entity without an `incremental` spec ignores it and reads everything,
    which is slower but never wrong.
    """
    params: list[tuple[str, str]] = list({**entity.params, **(params or {})}.items())
    if entity.sends_page_size:
        params.append((spec.paginator.page_size_param, str(page_size)))
    if since is not None and entity.incremental is not None:
        formatted = format_since(since, entity.incremental.since_format)
        params.extend(
            (name, template.replace("{since}", formatted))
            for name, template in entity.incremental.params.items()
        )
    elif since is not None:
        logger.info("%s/%s has no incremental filter; reading everything", spec.vendor, entity.name)
    return PageRequest(api_base_url.rstrip("/") + "/" + entity.path.lstrip("/"), tuple(params))


def new_client(timeout_seconds: float) -> httpx.Client:
    """One HTTP/1.1 keep-alive connection, no redirects followed (credentials stay home)."""
    return httpx.Client(
        http1=True,
        http2=False,
        timeout=httpx.Timeout(timeout_seconds),
        limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        follow_redirects=False,
    )


def request_headers(
    spec: ConnectorSpec,
    secrets: Mapping[str, str],
    user_agent: str,
    version: str | None = None,
) -> dict[str, str]:
    """The connector's static headers (with `{version}`: `version`, else the spec's), its auth
    headers with secrets filled in, a User-Agent."""
    headers = {
        "User-Agent": user_agent,
        **{name: spec.versioned(value, version) for name, value in spec.headers.items()},
    }
    for name, template in spec.auth.headers.items():
        value = template
        for secret in spec.auth.secrets:
            value = value.replace("{" + secret + "}", secrets.get(secret, ""))
        headers[name] = value
    return headers


class PageStream(PageWalk):
    """Iterate the pages of one entity of one connection; read `stats` at any time.

    `params` override or extend the entity's query parameters on the first request (the
    paginator carries them on); for a GraphQL connector they are variables of its query.
    `ids_only` walks ids only, as reconciliation does: the entity's `ids_only_params` (GET)
    or its `ids_query` (GraphQL).

    GraphQL connectors POST the entity's document to the one endpoint; the page size is the
    largest whose estimated cost fits the vendor's single-query maximum (an explicit
    `settings.page_size` is a ceiling, lowered to what fits), and each page's nested connections are
    completed and flattened before it is yielded (see `extract.graphql`).

    Single use: iterate it once. Leaving the loop early (break, exception) closes the client
    it created; a client passed in is left open for its owner. `resume_from` starts the walk
    at that request, numbering its first page `first_page` (a retried extract resuming after
    the pages it already landed); `walk_started_at` is set once the first answer arrived.
    """

    def __init__(
        self,
        spec: ConnectorSpec,
        entity: str,
        connection: Connection,
        *,
        since: datetime | None = None,
        settings: ExtractSettings | None = None,
        secrets: Mapping[str, str] | None = None,
        limiter: RateLimiter | None = None,
        client: httpx.Client | None = None,
        params: Mapping[str, str] | None = None,
        ids_only: bool = False,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        resume_from: PageRequest | None = None,
        first_page: int = 1,
    ) -> None:
        if first_page < 1:
            raise ValueError("first_page must be at least 1")
        self.spec = spec
        self.entity = spec.entity(entity)
        self.connection = connection
        self.settings = settings or ExtractSettings()
        self.stats = ExtractStats()
        resolved = (
            dict(secrets)
            if secrets is not None
            else connection.resolve_secrets(only=spec.auth.secrets)
        )
        missing = [s for s in spec.auth.secrets if not resolved.get(s)]
        if missing:
            raise ValueError(
                f"{spec.vendor}/{entity} (connection '{connection.name}'): no value for "
                f"secret(s) {', '.join(missing)}"
            )
        self.api_version = connection.effective_api_version
        self._headers = request_headers(spec, resolved, self.settings.user_agent, self.api_version)
        self._secret_values = tuple(resolved[s] for s in spec.auth.secrets)
        self.timeout_seconds = self.settings.timeout_seconds or connection.timeout_seconds
        base_url = connection.api_base_url_for(spec)
        page_size = page_size_for(spec, self.entity, self.settings)
        if spec.request == "graphql":
            self.first_request = first_graphql_request(
                spec,
                self.entity,
                base_url,
                since_text=(
                    format_since(since, self.entity.incremental.since_format)
                    if since is not None and self.entity.incremental is not None
                    else None
                ),
                page_size=page_size,
                explicit_page_size=self.settings.page_size is not None,
                ids_only=ids_only,
                variables=params,
            )
        else:
            extra = (
                {**(self.entity.ids_only_params or {}), **(params or {})} if ids_only else params
            )
            self.first_request = first_request(
                spec, self.entity, base_url, since=since, page_size=page_size, params=extra
            )
        self._limiter = limiter or limiter_for(
            spec, entity, connection.name, budget=connection.rate_limit
        )
        self._client = client
        self._owns_client = client is None
        self._sleep = sleep
        self._clock = clock
        self._rng = rng
        self._resume_from = resume_from
        self._first_page = first_page
        self.walk_started_at: datetime | None = None
        if warning := run_lifecycle_warning(self.spec, self.api_version, self.settings.today):
            self.stats.warn(warning)

    def _new_client(self) -> httpx.Client:
        return new_client(self.timeout_seconds)

    def _pages(self) -> Iterator[Page]:
        started = self._clock()
        policy = self.spec.version_policy
        if self._client is None:
            self._client = self._new_client()
        fetcher = PageFetcher(
            client=self._client,
            headers=self._headers,
            context=StreamContext(
                vendor=self.spec.vendor,
                connection=self.connection.name,
                entity=self.entity.name,
                records_path=self.entity.records_path,
                retryable_statuses=frozenset(self.spec.retryable_statuses),
                secret_env_vars=dict(self.connection.secrets),
                secret_values=self._secret_values,
                retry_after_header=(
                    self.entity.rate_limit or self.spec.rate_limit
                ).retry_after_header,
                api_version=self.api_version,
                served_version_header=policy.served_version_header if policy else None,
                deprecation_header=policy.deprecation_header if policy else None,
                graphql_errors=self.spec.graphql.errors if self.spec.graphql else None,
                cost_report=(self.entity.rate_limit or self.spec.rate_limit).cost_report,
            ),
            limiter=self._limiter,
            policy=self.settings.backoff(),
            stats=self.stats,
            timeout_seconds=self.timeout_seconds,
            max_retry_after_seconds=self.settings.max_retry_after_seconds,
            page_deadline_seconds=self.settings.page_deadline_seconds,
            sleep=self._sleep,
            clock=self._clock,
            rng=self._rng,
        )
        paginator = paginator_for(self.spec.paginator, self.entity.records_path)
        completer = (
            NestedCompleter(
                self.spec,
                self.entity,
                graphql_endpoint(self.spec, self.connection.api_base_url_for(self.spec)),
                fetcher,
            )
            if self.spec.request == "graphql" and self.entity.nested_connections
            else None
        )
        request: PageRequest | None = self._resume_from or self.first_request
        if request is not None and request.is_post:
            request = with_cost(self.spec, request)
        seen: set[str] = set()
        number = self._first_page - 1
        requested_at = datetime.now(UTC)
        try:
            while request is not None:
                number += 1
                seen.add(request.identity)
                fetched = fetcher.fetch(request, number)
                self.stats.seconds = self._clock() - started
                if self.walk_started_at is None:
                    vendor_now = parse_http_date(header(fetched.headers, "Date"))
                    self.walk_started_at = vendor_now or requested_at
                following = paginator.next_request(
                    request, fetched.headers, fetched.document, len(fetched.page.records)
                )
                if following is not None and not same_origin(
                    following.full_url, self.first_request.url
                ):
                    raise ExtractError(
                        vendor=self.spec.vendor,
                        connection=self.connection.name,
                        entity=self.entity.name,
                        method=following.method,
                        url=describe_origin(following.full_url),
                        summary=f"next-page link after page {number} leaves the connection's origin",
                        reason=(
                            f"it points to {describe_origin(following.full_url)}, not "
                            f"{describe_origin(self.first_request.url)}; the request was not "
                            "sent, because it would carry the connection's credentials there"
                        ),
                        hint="check the connection's base_url and the vendor's answers",
                        status=fetched.page.status,
                        attempts=1,
                    )
                if following is not None and following.identity in seen:
                    raise ExtractError(
                        vendor=self.spec.vendor,
                        connection=self.connection.name,
                        entity=self.entity.name,
                        method=following.method,
                        url=following.full_url,
                        summary=f"pagination loop after page {number}",
                        reason="the vendor pointed back to a page already read",
                        status=fetched.page.status,
                        attempts=1,
                    )
                page = fetched.page
                if self.spec.request == "graphql":
                    landed_before = len(page.records)
                    # After the paginator read the page info: completing nested connections
                    # and flattening them rewrites the document.
                    page = finish_page(
                        page,
                        fetched.document,
                        completer,
                        fail=page_error(
                            self.spec,
                            self.connection.name,
                            self.entity.name,
                            request,
                            number,
                            page.status,
                        ),
                    )
                    self.stats.records -= landed_before - len(page.records)
                yield replace(page, next_url=_storable(following), last=following is None)
                request = following
        finally:
            self.stats.seconds = self._clock() - started
            if self._owns_client and self._client is not None:
                self._client.close()
                self._client = None


def _storable(request: PageRequest | None) -> str | None:
    """The next request as landing stores it (`PageRequest.stored`), if it may be stored:
    no credential-looking query parameter or GraphQL variable name."""
    if request is None:
        return None
    url = request.full_url
    if redact_url(url) != url or any(looks_secret(name) for name, _ in request.variables):
        return None
    return request.stored


def extract_pages(
    spec: ConnectorSpec,
    entity: str,
    connection: Connection,
    *,
    since: datetime | None = None,
    settings: ExtractSettings | None = None,
    secrets: Mapping[str, str] | None = None,
    limiter: RateLimiter | None = None,
    client: httpx.Client | None = None,
) -> PageStream:
    """The pages of `entity` for `connection`, lazily; see `PageStream`.

    Raises `MissingSecretError` (from the connection) at once if a secret's env var is unset,
    `ExtractError` / `AuthenticationError` / `MalformedPageError` while iterating.
    """
    return PageStream(
        spec,
        entity,
        connection,
        since=since,
        settings=settings,
        secrets=secrets,
        limiter=limiter,
        client=client,
    )
