"""Which walk an extract takes: the paginated listing, or the vendor's asynchronous export.

An export (Shopify bulk operations) reads a whole entity in one vendor-side job, so it is
what a first sync and a full refresh use when the connector declares one for the entity and
the connection allows it (`Connection.bulk`, default `auto`); an incremental sync pages as
before, since a small window is cheaper to page than to export. Either walk lands the same
pages (see `extract.export`), so the load, the cursor rule and replay do not care which ran.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from integration_assets.extract.errors import redact_url
from integration_assets.extract.export import ExportStream, has_export, secret_values_of
from integration_assets.extract.export_operation import GraphQLAnswer
from integration_assets.extract.page import ExtractStats
from integration_assets.extract.settings import ExtractSettings
from integration_assets.sync.resume import WalkStart
from integration_assets.sync.target import SyncTarget


def exports(target: SyncTarget, *, since: datetime | None, full_refresh: bool) -> bool:
    """Whether this extract reads through the asynchronous export.

    `since` is where an incremental walk would start (None: no cursor, a first sync).
    """
    if not has_export(target.connector, target.entity):
        if target.connection.bulk == "always":
            raise ValueError(
                f"connection {target.connection.name!r} sets bulk: always, but "
                f"{target.connection.vendor}/{target.entity_name} has no asynchronous export"
            )
        return False
    mode = target.connection.bulk
    if mode == "never":
        return False
    return mode == "always" or full_refresh or since is None


@contextmanager
def export_stream(
    target: SyncTarget,
    *,
    since: datetime | None,
    settings: ExtractSettings,
    start: WalkStart,
    on_restart: Callable[[], None] | None = None,
) -> Iterator[ExportStream]:
    """The export walk of `target`, its control documents sent over the connector's GraphQL
    transport (auth, cost budget, retries); that transport's counts go into the stream's.

    The file is downloaded with a client of the stream's own, never one that talks to the
    vendor's API: the file lives on another host, which must see no credential."""
    from integration_assets.extract.graphql import GraphQLClient

    connection = target.connection
    secrets = connection.resolve_secrets()
    graphql = GraphQLClient(
        target.connector,
        connection,
        purpose=target.entity_name,
        settings=settings,
        secrets=secrets,
    )

    def call(document: str, variables: Mapping[str, Any]) -> GraphQLAnswer:
        answer = graphql.execute(document, variables)
        return GraphQLAnswer(data=answer.get("data") or {}, headers={})

    stream = ExportStream(
        target.connector,
        target.entity_name,
        connection,
        call=call,
        endpoint=redact_url(graphql.endpoint),
        since=since,
        settings=settings,
        secret_values=secret_values_of(target.connector, secrets),
        resume=start.export,
        first_page=start.first_page,
        walk_started_at=start.walk_started_at,
        on_restart=on_restart,
    )
    try:
        yield stream
    finally:
        stream.close()
        _add_transport_stats(stream.stats, graphql.stats)
        graphql.close()


def _add_transport_stats(stats: ExtractStats, transport: ExtractStats) -> None:
    stats.requests += transport.requests
    stats.retries += transport.retries
    stats.throttled += transport.throttled
    stats.server_errors += transport.server_errors
    stats.timeouts += transport.timeouts
    stats.connection_errors += transport.connection_errors
    stats.bytes += transport.bytes
    stats.rate_limit_wait_seconds += transport.rate_limit_wait_seconds
    stats.retry_wait_seconds += transport.retry_wait_seconds
    stats.served_version = stats.served_version or transport.served_version
    for warning in transport.warnings:  # the vendor's version signals on the control calls
        stats.warn(warning)
