"""GraphQL requests from a connector spec: the first page's POST, page sizes that fit the cost
limit, whole nested connections, and one-off documents (`GraphQLClient`).

Everything vendor-specific comes from the spec (`ConnectorSpec.graphql`, the entity's
`query`, `ids_query` and `nested_connections`, the rate limit's `max_request_cost`); this
module is the generic GraphQL machinery any vendor speaking Relay connections could use.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

import httpx
import orjson

from integration_assets.connectors.connections import Connection
from integration_assets.connectors.spec import ConnectorSpec, EntitySpec, NestedConnectionSpec
from integration_assets.extract.errors import ExtractError
from integration_assets.extract.fetch import PageFetcher, StreamContext
from integration_assets.extract.graphql_cost import (
    QueryCostError,
    estimate_query_cost,
    largest_page_size,
)
from integration_assets.extract.page import ExtractStats, Page
from integration_assets.extract.paginators import PageRequest
from integration_assets.extract.rate_limit import RateLimiter, limiter_for
from integration_assets.extract.records import (
    MalformedBody,
    TruncatedConnection,
    connection_nodes,
    flatten_connections,
    has_next_page,
    locate_records,
)
from integration_assets.extract.settings import ExtractSettings
from integration_assets.paths import lookup_optional

logger = logging.getLogger("integration_assets.extract")


def graphql_endpoint(spec: ConnectorSpec, api_base_url: str) -> str:
    """The one URL every document of `spec` is POSTed to."""
    assert spec.graphql is not None
    return api_base_url.rstrip("/") + "/" + spec.graphql.path.lstrip("/")


def with_cost(spec: ConnectorSpec, request: PageRequest) -> PageRequest:
    """`request` carrying its estimated cost, when the budget is counted in cost points."""
    limit = spec.rate_limit
    if limit.unit != "cost" or not request.is_post or request.document is None:
        return request
    try:
        cost = estimate_query_cost(request.document, dict(request.variables))
    except QueryCostError as exc:
        raise ValueError(f"{spec.vendor}: the query was not sent: {exc}") from None
    if limit.max_request_cost is not None and cost > limit.max_request_cost:
        raise ValueError(
            f"{spec.vendor}: a query would cost an estimated {cost} points, above the "
            f"{limit.max_request_cost} the vendor allows in one query: lower the page size"
        )
    return PageRequest(
        request.url,
        request.params,
        request.method,
        request.document,
        request.variables,
        cost=float(cost),
    )


def fitted_page_size(
    spec: ConnectorSpec,
    document: str,
    page_size_variable: str,
    ceiling: int,
    *,
    explicit: bool,
    label: str,
) -> int:
    """The page size for `document`: the largest up to `ceiling` whose estimated cost stays
    within the vendor's single-query maximum.

    An `explicit` ceiling (the sync's `page_size` setting, one number for every entity and
    vendor) that would cost too much is lowered to what fits, with a log line saying so:
    refusing it would fail the costly entities (orders with their line items) of a setting
    that suits the others.
    """
    max_cost = spec.rate_limit.max_request_cost
    if spec.rate_limit.unit != "cost" or max_cost is None:
        return ceiling
    try:
        fits = largest_page_size(
            document, {}, page_size_variable, ceiling=ceiling, max_cost=max_cost
        )
    except QueryCostError as exc:
        raise ValueError(f"{label}: {exc}") from None
    if explicit and fits < ceiling:
        logger.info(
            "%s: page size %d would cost more than the %d points %s allows in one query; "
            "asking for %d per page",
            label,
            ceiling,
            max_cost,
            spec.vendor,
            fits,
        )
    return fits


def first_graphql_request(
    spec: ConnectorSpec,
    entity: EntitySpec,
    api_base_url: str,
    *,
    since_text: str | None,
    page_size: int,
    explicit_page_size: bool,
    ids_only: bool = False,
    variables: Mapping[str, Any] | None = None,
) -> PageRequest:
    """The first page's POST: the entity's listing (or id) document with its variables.

    Variables: the entity's `params`, then `variables`, the page size (fitted to the cost
    limit), then the incremental ones with `{since}` filled in (`since_text`, formatted).
    """
    document = entity.ids_query if ids_only else entity.query
    if document is None:
        raise ValueError(
            f"{spec.vendor}/{entity.name} has no {'ids_query' if ids_only else 'query'}"
        )
    size_name = spec.paginator.page_size_param
    size = fitted_page_size(
        spec,
        document,
        size_name,
        page_size,
        explicit=explicit_page_size,
        label=f"{spec.vendor}/{entity.name}",
    )
    values: dict[str, Any] = {**entity.params, **(variables or {}), size_name: size}
    if since_text is not None and entity.incremental is not None:
        for name, template in entity.incremental.params.items():
            values[name] = template.replace("{since}", since_text)
    request = PageRequest(
        graphql_endpoint(spec, api_base_url),
        method="POST",
        document=document,
        variables=tuple(values.items()),
    )
    return with_cost(spec, request)


class NestedCompleter:
    """Reads the rest of each record's nested connections that a page cut short.

    For every declared `NestedConnectionSpec` whose connection in a record says
    `hasNextPage`, it POSTs the follow-up document (record id, page size, cursor) until the
    connection is whole, appending the nodes to the record's connection and marking its
    `pageInfo` complete: the page body is then re-serialized so landing holds the whole
    record and a replay flattens it to the same lists.
    """

    def __init__(
        self, spec: ConnectorSpec, entity: EntitySpec, endpoint: str, fetcher: PageFetcher
    ) -> None:
        self.spec = spec
        self.entity = entity
        self.endpoint = endpoint
        self.fetcher = fetcher
        self._sizes: dict[str, int] = {}

    def _size(self, nested: NestedConnectionSpec) -> int:
        if nested.field not in self._sizes:
            self._sizes[nested.field] = fitted_page_size(
                self.spec,
                nested.query,
                self.spec.paginator.page_size_param,
                nested.page_size,
                explicit=False,
                label=f"{self.spec.vendor}/{self.entity.name} {nested.field}",
            )
        return self._sizes[nested.field]

    def complete(self, records: list[dict[str, Any]], page: int) -> int:
        """Complete every cut-short nested connection of `records`; returns the follow-up
        requests made (0: the page was whole as it came).

        A record the vendor no longer has when its follow-up is asked (`node` is null: it
        was deleted since the page was served) is removed from `records`, with a warning:
        the rest of it cannot be read, and keeping it cut short would store a wrong record.
        Its deletion is what reconciliation finds.
        """
        requests = 0
        gone: list[Any] = []
        for nested in self.entity.nested_connections:
            for record in records:
                connection = lookup_optional(record, nested.field)
                if connection_nodes(connection) is None or not has_next_page(connection):
                    continue
                made = self._complete_one(record, connection, nested, page)
                if made is None:
                    gone.append(lookup_optional(record, self.entity.primary_key))
                    requests += 1
                else:
                    requests += made
        if gone:
            logger.warning(
                "%s/%s: page %d: %d record(s) vanished while their nested connections were "
                "read (%s); left out of the page",
                self.spec.vendor,
                self.entity.name,
                page,
                len(gone),
                ", ".join(str(record_id) for record_id in gone[:5]),
            )
            records[:] = [
                r for r in records if lookup_optional(r, self.entity.primary_key) not in gone
            ]
        return requests

    def _complete_one(
        self,
        record: dict[str, Any],
        connection: dict[str, Any],
        nested: NestedConnectionSpec,
        page: int,
    ) -> int | None:
        """The follow-up requests made to complete one record's connection; None when the
        vendor no longer has the record."""
        record_id = lookup_optional(record, self.entity.primary_key)
        if record_id is None:
            raise MalformedBody(
                f"a record of page {page} has more {nested.field} than the page holds but no "
                f"{self.entity.primary_key!r} to read the rest by"
            )
        paginator = self.spec.paginator
        parent, _, _ = nested.records_path.rpartition(".")
        info_path = f"{parent}.{paginator.page_info_field}" if parent else paginator.page_info_field
        edges = "nodes" not in connection
        seen_cursors: set[str] = set()
        requests = 0
        while has_next_page(connection):
            cursor = connection[paginator.page_info_field].get("endCursor")
            if not isinstance(cursor, str) or not cursor or cursor in seen_cursors:
                raise MalformedBody(
                    f"record {record_id!r}: its {nested.field!r} says it has a next page but "
                    "gives no new cursor to read it from"
                )
            seen_cursors.add(cursor)
            request = with_cost(
                self.spec,
                PageRequest(
                    self.endpoint,
                    method="POST",
                    document=nested.query,
                    variables=(
                        (nested.id_variable, record_id),
                        (paginator.page_size_param, self._size(nested)),
                        (paginator.cursor_param or "after", cursor),
                    ),
                ),
            )
            answer = self.fetcher.exchange(
                request,
                validate=lambda document: (
                    None
                    if null_on_the_way(document, nested.records_path)
                    else locate_records(document, nested.records_path)
                ),
                page=page,
            )
            requests += 1
            if null_on_the_way(answer.document, nested.records_path):
                return None
            nodes = locate_records(answer.document, nested.records_path)
            if edges:
                connection["edges"].extend({"node": node} for node in nodes)
            else:
                connection["nodes"].extend(nodes)
            info = lookup_optional(answer.document, info_path)
            connection[paginator.page_info_field] = (
                info if isinstance(info, dict) else {"hasNextPage": False}
            )
            if not nodes:
                break
        return requests


def null_on_the_way(document: Any, path: str) -> bool:
    """Whether an object on the way to `path` is an explicit null (`data.node: null`: the
    node does not exist), as opposed to missing (a malformed answer)."""
    value = document
    segments = path.split(".")
    for segment in segments[:-1]:
        if not isinstance(value, dict) or segment not in value:
            return False
        value = value[segment]
        if value is None:
            return True
    return False


def finish_page(
    page: Page,
    document: Any,
    completer: NestedCompleter | None,
    *,
    fail: Callable[[str], Exception],
) -> Page:
    """A fetched GraphQL page made whole: nested connections completed (body re-serialized
    only then), records flattened as the contract says. A connection still cut short fails
    the page through `fail(reason)`."""
    records = page.records
    body = page.body
    try:
        if completer is not None and completer.complete(records, page.number):
            body = orjson.dumps(document)
        for record in records:
            flatten_connections(record)
    except (TruncatedConnection, MalformedBody) as problem:
        raise fail(problem.reason) from None
    if body is page.body:
        return page
    return Page(
        number=page.number,
        url=page.url,
        status=page.status,
        body=body,
        records=records,
        fetched_at=page.fetched_at,
        attempts=page.attempts,
        next_url=page.next_url,
        last=page.last,
    )


class GraphQLClient:
    """POST one GraphQL document of a connection and get the parsed answer, with everything a
    page gets: the connection's auth, the shared cost budget (estimated, refunded, resynced),
    retries of transport faults, 5xx and retryable GraphQL codes, waiting through THROTTLED,
    and errors naming the vendor's message (`GraphQLQueryError`, `AuthenticationError`,
    `ExtractError`). For callers that are not a listing walk (bulk operations).

        with GraphQLClient(spec, connection, purpose="orders") as client:
            answer = client.execute(document, {"id": gid})   # the whole parsed body (dict)

    `purpose` names the entity (or task) in errors and picks the entity's budget when it
    has its own. Single-threaded, like a `PageStream`; `stats` counts its requests.
    """

    def __init__(
        self,
        spec: ConnectorSpec,
        connection: Connection,
        *,
        purpose: str,
        settings: ExtractSettings | None = None,
        secrets: Mapping[str, str] | None = None,
        limiter: RateLimiter | None = None,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        # The stream module imports this one; its header and client helpers come late.
        from integration_assets.extract.stream import new_client, request_headers

        if spec.request != "graphql" or spec.graphql is None:
            raise ValueError(f"{spec.vendor} ({spec.api_id}) is not a GraphQL API")
        self.spec = spec
        self.connection = connection
        self.settings = settings or ExtractSettings()
        self.stats = ExtractStats()
        resolved = (
            dict(secrets)
            if secrets is not None
            else connection.resolve_secrets(only=spec.auth.secrets)
        )
        self.timeout_seconds = self.settings.timeout_seconds or connection.timeout_seconds
        self.api_version = connection.effective_api_version
        policy = spec.version_policy
        self.endpoint = graphql_endpoint(spec, connection.api_base_url_for(spec))
        known = {entity.name for entity in spec.entities}
        if limiter is None:
            entity = purpose if purpose in known else spec.entities[0].name
            limiter = limiter_for(spec, entity, connection.name, budget=connection.rate_limit)
        self._owns_client = client is None
        self._client = client or new_client(self.timeout_seconds)
        self.fetcher = PageFetcher(
            client=self._client,
            headers=request_headers(spec, resolved, self.settings.user_agent, self.api_version),
            context=StreamContext(
                vendor=spec.vendor,
                connection=connection.name,
                entity=purpose,
                records_path="data",
                retryable_statuses=frozenset(spec.retryable_statuses),
                secret_env_vars=dict(connection.secrets),
                secret_values=tuple(resolved.get(s, "") for s in spec.auth.secrets),
                retry_after_header=spec.rate_limit.retry_after_header,
                graphql_errors=spec.graphql.errors,
                cost_report=spec.rate_limit.cost_report,
                api_version=self.api_version,
                served_version_header=policy.served_version_header if policy else None,
                deprecation_header=policy.deprecation_header if policy else None,
            ),
            limiter=limiter,
            policy=self.settings.backoff(),
            stats=self.stats,
            timeout_seconds=self.timeout_seconds,
            max_retry_after_seconds=self.settings.max_retry_after_seconds,
            page_deadline_seconds=self.settings.page_deadline_seconds,
            sleep=sleep,
            clock=clock,
            rng=rng,
        )

    def execute(self, document: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The parsed answer (`{"data": …, "extensions": …}`) of `document` with `variables`.

        Raises ValueError before sending when the document's estimated cost is above the
        vendor's single-query maximum, and the extract errors above when the vendor refuses.
        """
        request = with_cost(
            self.spec,
            PageRequest(
                self.endpoint,
                method="POST",
                document=document,
                variables=tuple((variables or {}).items()),
            ),
        )

        def has_data(answer: Any) -> None:
            if not isinstance(answer, dict) or not isinstance(answer.get("data"), dict):
                raise MalformedBody("the answer has no `data` object")

        answer = self.fetcher.exchange(request, validate=has_data)
        assert isinstance(answer.document, dict)
        return answer.document

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> GraphQLClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def page_error(
    spec: ConnectorSpec, connection: str, entity: str, request: PageRequest, page: int, status: int
) -> Callable[[str], Exception]:
    """How a page that cannot be made whole fails: an `ExtractError` naming record and why."""

    def fail(reason: str) -> Exception:
        return ExtractError(
            vendor=spec.vendor,
            connection=connection,
            entity=entity,
            method=request.method,
            url=request.full_url,
            summary=f"page {page} cannot be landed whole",
            reason=reason,
            status=status,
            attempts=1,
            hint="declare the connection in the entity's nested_connections, or ask for more "
            "of it in the query",
        )

    return fail


__all__ = [
    "GraphQLClient",
    "NestedCompleter",
    "finish_page",
    "first_graphql_request",
    "fitted_page_size",
    "graphql_endpoint",
    "page_error",
    "with_cost",
]
