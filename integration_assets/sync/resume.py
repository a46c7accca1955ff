"""Where a (re)tried extract starts: page 1, or after the pages its run already landed.

A retried extract used to delete its run's landed pages and walk again from page 1, so a long
backfill that failed near its end could fail the same way on every retry and never finish.
Each landed page now records the request that follows it and when the walk began, and a
retry of the same run goes on from the last landed page when the connector's paginator is
`resumable` (see `PaginatorSpec`). Otherwise, or when the landed pages cannot say where to go
on (landed by an earlier version, a next URL that could not be stored), it starts afresh as
before. The walk's start stays the first attempt's, so the cursor rule (see `sync.cursor`)
still covers every change made since the first page was read.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from integration_assets.connectors.origin import same_origin
from integration_assets.extract.export import ExportResume, parse_resume_token
from integration_assets.extract.paginators import PageRequest, resume_request
from integration_assets.load.landing import LandingStore
from integration_assets.sync.target import SyncTarget

logger = logging.getLogger("integration_assets.sync")


@dataclass(frozen=True)
class WalkStart:
    """How an extract attempt begins: what was landed before, and the request to go on with.

    `complete` means an earlier attempt landed the walk's last page: nothing is left to fetch.
    `export` is set instead of `resume_from` when the walk is an asynchronous export: the
    operation an earlier attempt started and the byte of its file to go on from.
    """

    resume_from: PageRequest | None = None
    export: ExportResume | None = None
    first_page: int = 1
    pages: int = 0
    records: int = 0
    walk_started_at: datetime | None = None
    complete: bool = False

    @property
    def resumed(self) -> bool:
        return self.pages > 0


FRESH = WalkStart()


def plan_walk(
    target: SyncTarget, landing: LandingStore, run_id: str, *, exporting: bool = False
) -> WalkStart:
    """Resume this run's walk if its landed pages allow it, else clear them and start afresh.

    `exporting`: this attempt reads through the connector's asynchronous export, whose
    landed pages resume from an export token (see `extract.export`), never a URL; pages of
    the other kind are not resumed.
    """
    connection, entity = target.connection.name, target.entity_name
    point = landing.resume_point(run_id, connection, entity)
    if point is None:
        return FRESH
    export = parse_resume_token(point.next_url)
    if exporting and export is not None and point.walk_started_at is not None:
        logger.info(
            "%s/%s (connection %r): run %s goes on with export %s after page %d",
            target.connection.vendor,
            entity,
            connection,
            run_id,
            export.operation_id,
            point.last_page,
        )
        return WalkStart(
            export=export,
            first_page=point.last_page + 1,
            pages=point.pages,
            records=point.records,
            walk_started_at=point.walk_started_at,
        )
    paginator = target.connector.paginator
    resume_from = _stored_request(target, point.next_url) if point.next_url else None
    if (
        export is not None
        or (exporting and point.next_url != "")
        or not paginator.resumable
        or point.next_url is None
        or point.walk_started_at is None
        or (point.next_url and resume_from is None)
    ):
        # No page of an earlier attempt (which may have seen other data) is loaded twice.
        landing.delete_run(run_id, connection, entity)
        logger.info(
            "%s/%s (connection %r): run %s starts its walk again (landed pages cannot be resumed)",
            target.connection.vendor,
            entity,
            connection,
            run_id,
        )
        return FRESH
    logger.info(
        "%s/%s (connection %r): run %s resumes after page %d (%d records already landed)",
        target.connection.vendor,
        entity,
        connection,
        run_id,
        point.last_page,
        point.records,
    )
    return WalkStart(
        resume_from=resume_from,
        first_page=point.last_page + 1,
        pages=point.pages,
        records=point.records,
        walk_started_at=point.walk_started_at,
        complete=point.next_url == "",
    )


def _stored_request(target: SyncTarget, stored: str) -> PageRequest | None:
    """The stored next request, if it is readable, of the connection's own origin and of the
    request shape the connection now speaks (a connection switched from REST to GraphQL
    between attempts cannot go on from a REST link)."""
    try:
        request = resume_request(target.connector.paginator, stored)
    except ValueError:
        return None
    if not same_origin(request.full_url, target.connection.api_base_url):
        return None
    if request.is_post != (target.connector.request == "graphql"):
        return None
    return request
