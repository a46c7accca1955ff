"""Klaviyo API revision 2026-10-15 over HTTP: `GET /api/profiles/` and `GET /api/events/`.

What a client meets, as on the real service:

* `Authorization: Klaviyo-API-Key pk_…` is required (401 JSON:API error otherwise), and so is
  the `revision` header (400 when missing or not a released revision). A retired revision
  (two years after its release) falls forward to the oldest supported one, or, with
  `X-Klaviyo-Revision-Fall-Forward-Opt-Out: 1`, gets a 410 naming it (see `revisions`).
  Revisions 2024-10-15 to 2026-10-15 are simulated; they differ here only in Get Events'
  `page[size]`.
* Bodies are JSON:API (`application/vnd.api+json`): `data[]` of `{type, id, attributes,
  relationships, links}` and top-level `links.self/next/prev`, absolute URLs on the host the
  client used. `links.next` repeats the request's parameters plus an opaque `page[cursor]`.
* Profiles: `page[size]` 1-100 (default 20; outside → 400); `filter` on id/email/phone_number/
  external_id (`equals`, `any`) and created/updated (`greater-than`, `less-than` only: Klaviyo
  rejects `greater-or-equal` on profiles); `sort` by id, created or updated, `-` for descending.
* Events: `page[size]` 1-1,000 (default 200; outside → 400) since revision 2026-01-15; older
  revisions always answer 200 per page and ignore a sent one. `filter` on datetime/timestamp
  (`greater-than`, `greater-or-equal`, `less-than`, `less-or-equal`), `equals(metric_id,…)`,
  `equals(profile_id,…)`, `has(profile)`, `has(metric)`; `sort` by datetime or timestamp.
  Events are append-only. An event's `datetime` is the time its sender gave (Klaviyo's Create
  Event takes a client `time`), so it may lie in the future or the past of its arrival; filters
  apply to that time (`KlaviyoSimulator.send_event`). Such events are listed in arrival order,
  where Klaviyo would sort them by their time.
* Sparse fieldsets `fields[profile]=email,created` / `fields[event]=…` cut the attributes
  (`id`, relationships and links stay); an unknown field name is a 400 `invalid`.
* Rate limits per endpoint: profiles 75/s burst and 750/min steady, events 350/s and 3,500/min,
  with `RateLimit-*` headers and 429 + `Retry-After` when spent.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, replace
from datetime import date
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import orjson
from starlette.requests import Request
from starlette.responses import Response

from integration_assets.sandbox.cursor import InvalidCursor
from integration_assets.sandbox.klaviyo.filters import (
    EVENT_RULES,
    PROFILE_RULES,
    Condition,
    FilterError,
    parse_filter,
)
from integration_assets.sandbox.klaviyo.revisions import (
    EVENTS_PAGE_SIZE_SINCE,
    FALL_FORWARD_OPT_OUT,
    SIMULATED,
    Refused,
    resolve,
)
from integration_assets.sandbox.pipeline import VendorApp, absolute_base
from integration_assets.sandbox.prefetch import PageResponse
from integration_assets.sandbox.ratelimit import Verdict
from integration_assets.sandbox.store import Order, Predicate, Row, Selection, Window

if TYPE_CHECKING:
    from integration_assets.sandbox.klaviyo.simulator import KlaviyoSimulator

RATE_LIMITS = {"profiles": (75, 750), "events": (350, 3500)}
"""(burst per second, steady per minute) of each endpoint in revision 2026-10-15."""
JSON_API = "application/vnd.api+json"
PAGE_SIZES = {"profiles": (20, 100), "events": (200, 1000)}
"""(default, maximum) `page[size]` of each endpoint."""
_PATH = re.compile(r"^/api/(?P<resource>profiles|events)/?$")
_SORTS = {
    "profiles": {
        "id": Order.INDEX,
        "created": Order.INDEX,
        "updated": Order.UPDATED,
    },
    "events": {"datetime": Order.INDEX, "timestamp": Order.INDEX},
}
_RESOURCE_TYPE = {"profiles": "profile", "events": "event"}
_SERVICE_UNAVAILABLE = (
    b"<html><head><title>503 Service Temporarily Unavailable</title></head><body><center><h1>"
    b"503 Service Temporarily Unavailable</h1></center></body></html>"
)


def error_body(
    status: int, code: str, title: str, detail: str, source: dict[str, str] | None = None
) -> bytes:
    """A JSON:API error document shaped like Klaviyo's."""
    return orjson.dumps(
        {
            "errors": [
                {
                    "id": str(uuid.uuid4()),
                    "status": status,
                    "code": code,
                    "title": title,
                    "detail": detail,
                    "source": source or {"pointer": "/data/"},
                    "links": {},
                    "meta": {},
                }
            ]
        }
    )


class _Invalid(Exception):
    """A 400 `invalid` error about one query parameter."""

    def __init__(self, detail: str, parameter: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.parameter = parameter


@dataclass(frozen=True)
class _Match(Predicate):
    """Attribute equality checked on the rendered record (candidates were computed already)."""

    test: Any
    key: Any = None

    def matches(self, index: int, version: int) -> bool:
        return bool(self.test(index, version))


def _drift(resource: str, record: dict[str, Any]) -> None:
    attributes = record["attributes"]
    if resource == "profiles":
        latitude = attributes["location"]["latitude"]
        attributes["location"]["latitude"] = None if latitude is None else str(latitude)
    else:
        attributes["timestamp"] = str(attributes["timestamp"])


class KlaviyoApp(VendorApp):
    """The Klaviyo wire protocol of one simulated account."""

    simulator: KlaviyoSimulator

    def check_access(self, request: Request) -> Response | None:
        """401 without the account's private key, 400 without a usable revision header."""
        authorization = request.headers.get("authorization")
        if not authorization:
            return self._error(
                401,
                "not_authenticated",
                "Authentication credentials were not provided.",
                "Missing or invalid private key.",
            )
        scheme, _, key = authorization.partition(" ")
        if scheme != "Klaviyo-API-Key" or key.strip() != self.simulator.api_key:
            return self._error(
                401,
                "authentication_failed",
                "Incorrect authentication credentials.",
                "Missing or invalid private key.",
            )
        served = self._revision(request)
        if isinstance(served, Refused):
            return self._error(
                served.status, served.code, served.title, served.detail, {"header": "revision"}
            )
        oldest, newest = SIMULATED
        if not oldest <= served <= newest:
            return self._error(
                400,
                "invalid",
                "Invalid input.",
                f"Revision {served.isoformat()} is not simulated by this sandbox; "
                f"use one from {oldest.isoformat()} to {newest.isoformat()}.",
                {"header": "revision"},
            )
        return None

    def _revision(self, request: Request) -> date | Refused:
        """The revision this request is answered as (after any fall-forward), or its refusal."""
        outcome = resolve(
            request.headers.get("revision"),
            self.simulator.revision_day,
            request.headers.get(FALL_FORWARD_OPT_OUT, "").strip() == "1",
        )
        return outcome if isinstance(outcome, Refused) else outcome.revision

    def _cache_key(self, request: Request) -> Hashable | None:
        """A page rendered ahead is reused only by a request answered as the same revision."""
        key = super()._cache_key(request)
        return None if key is None else (key, self._revision(request))

    def rate_limit(self, request: Request) -> Verdict | None:
        """Per-endpoint fixed windows; unknown paths are not limited."""
        match = _PATH.match(request.url.path)
        return self.simulator.limiter(match["resource"]).take() if match else None

    def unlimited_headers(self, request: Request) -> dict[str, str]:
        """A full steady window, so clients that pace themselves by the headers never wait."""
        match = _PATH.match(request.url.path)
        if match is None:
            return {}
        steady = str(self.simulator.limits[match["resource"]][1])
        return {"RateLimit-Limit": steady, "RateLimit-Remaining": steady, "RateLimit-Reset": "60"}

    def throttled(self, headers: dict[str, str]) -> Response:
        """Klaviyo's 429 JSON:API error."""
        wait = headers.get("Retry-After", "1")
        unit = "second" if wait == "1" else "seconds"
        body = error_body(
            429,
            "throttled",
            "Request was throttled.",
            f"Request was throttled. Expected available in {wait} {unit}.",
        )
        return Response(body, status_code=429, headers=headers, media_type=JSON_API)

    def server_error(self, status: int, headers: dict[str, str]) -> Response:
        """500 as a JSON:API error, 502/503 as the load balancer's HTML."""
        if status == 500:
            body = error_body(500, "error", "A server error occurred.", "A server error occurred.")
            return Response(body, status_code=500, headers=headers, media_type=JSON_API)
        title = b"502 Bad Gateway" if status == 502 else None
        page = (
            _SERVICE_UNAVAILABLE
            if title is None
            else _SERVICE_UNAVAILABLE.replace(b"503 Service Temporarily Unavailable", title)
        )
        return Response(page, status_code=status, media_type="text/html")

    def handle(self, request: Request, headers: dict[str, str]) -> Response:
        """List profiles or events."""
        match = _PATH.match(request.url.path)
        if match is None:
            return self._error(404, "not_found", "Not found.", "Not found.", headers=headers)
        if request.method != "GET":
            return self._error(
                405,
                "method_not_allowed",
                f'Method "{request.method}" not allowed.',
                f'Method "{request.method}" not allowed.',
                headers=headers,
            )
        try:
            return self._list(request, match["resource"], headers)
        except _Invalid as error:
            return self._error(
                400,
                "invalid",
                "Invalid input.",
                error.detail,
                {"parameter": error.parameter},
                headers,
            )

    # --- listing ----------------------------------------------------------------------------

    def _list(self, request: Request, resource: str, headers: dict[str, str]) -> Response:
        simulator = self.simulator
        query = dict(request.query_params)
        revision = self._revision(request)
        assert isinstance(revision, date), "check_access refuses every unserved revision"
        size = self._page_size(resource, query, revision)
        sort_text = query.get("sort", "datetime" if resource == "events" else "id")
        order, descending = self._sort(resource, sort_text)
        selection = self._selection(resource, query.get("filter"))
        forward, after, page = True, None, 1
        if "page[cursor]" in query:
            forward, after, page = self._read_cursor(resource, sort_text, query["page[cursor]"])
        store = simulator.store(resource)
        duplicate = (
            simulator.fault_settings.duplicate_across_pages
            and forward
            and after is not None
            and size > 1
        )
        fresh = size - 1 if duplicate else size
        walk_descending = descending != (not forward)
        if resource == "events" and simulator.event_times:
            rows = self._events_with_client_times(selection, walk_descending, after, fresh + 1)
        else:
            rows = store.select(selection, order, walk_descending, after, fresh + 1)
        more = len(rows) > fresh
        rows = rows[:fresh]
        if forward:
            has_next, has_previous = more, page > 1
        else:
            rows.reverse()
            has_next, has_previous = True, more
        if duplicate and after is not None:
            previous = self._row_at(resource, order, after)
            if previous is not None:
                rows.insert(0, previous)
        base = absolute_base(request)
        records = [self._serve(resource, row, base, query) for row in rows]
        url = base + request.url.path
        links = {
            "self": f"{url}?{request.url.query}" if request.url.query else url,
            "next": self._link(url, query, resource, sort_text, True, rows[-1], page + 1)
            if rows and has_next
            else None,
            "prev": self._link(url, query, resource, sort_text, False, rows[0], page - 1)
            if rows and has_previous
            else None,
        }
        body = orjson.dumps({"data": records, "links": links})
        if simulator.faults.malformed(resource, page):
            body = body[: max(1, len(body) // 2)]
        response = PageResponse(body, status_code=200, headers=headers, media_type=JSON_API)
        response.next_url = links["next"]
        return response

    def _events_with_client_times(
        self, selection: Selection, descending: bool, after: Any, limit: int
    ) -> list[Row]:
        """Events by index, the time filter applied to each sender-given time.

        The store filters by arrival time; events whose sender gave another time are left
        out of its answer and matched here against their own time instead.
        """
        store = self.simulator.store("events")
        client_times = self.simulator.event_times
        undated = _Match(
            lambda index, version: index not in client_times, ("undated", tuple(client_times))
        )
        arrived = store.select(
            replace(selection, predicates=(*selection.predicates, undated)),
            Order.INDEX,
            descending,
            after,
            limit,
        )
        dated = [
            Row(index, index, 0, store.updated_at(index))
            for index, at in client_times.items()
            if store.exists(index)
            and selection.created.contains(at)
            and (selection.indices is None or index in selection.indices)
            and selection.matches(index, 0)
            and (after is None or (index < after if descending else index > after))
        ]
        merged = sorted([*arrived, *dated], key=lambda row: row.index, reverse=descending)
        return merged[:limit]

    def _row_at(self, resource: str, order: Order, key: Any) -> Row | None:
        store = self.simulator.store(resource)
        index = key if order is Order.INDEX else key[1]
        if not store.exists(index):
            return None
        updated = store.updated_at(index)
        return Row(
            index if order is Order.INDEX else (updated, index),
            index,
            store.version(index),
            updated,
        )

    def _serve(self, resource: str, row: Row, base: str, query: dict[str, str]) -> dict[str, Any]:
        record = self.simulator.render_at(resource, row, base)
        if self.simulator.faults.drifts(resource, row.index):
            _drift(resource, record)
        kind = _RESOURCE_TYPE[resource]
        wanted = query.get(f"fields[{kind}]")
        if wanted:
            names = {name.strip() for name in wanted.split(",")}
            attributes = record["attributes"]
            unknown = sorted(n for n in names if n != "id" and n.split(".")[0] not in attributes)
            if unknown:
                raise _Invalid(
                    f"'{unknown[0]}' is not a valid field for the resource '{kind}'.",
                    f"fields[{kind}]",
                )
            record["attributes"] = {
                name: value for name, value in attributes.items() if name in names
            }
        return record

    def _link(
        self,
        url: str,
        query: dict[str, str],
        resource: str,
        sort_text: str,
        forward: bool,
        row: Row,
        page: int,
    ) -> str:
        key: Any = list(row.key) if isinstance(row.key, tuple) else row.key
        token = self.simulator.codec.encode(
            {"r": resource, "s": sort_text, "d": "n" if forward else "p", "k": key, "p": page}
        )
        params = {name: value for name, value in query.items() if name != "page[cursor]"}
        params["page[cursor]"] = token
        return f"{url}?{urlencode(params)}"

    def _read_cursor(self, resource: str, sort_text: str, token: str) -> tuple[bool, Any, int]:
        try:
            payload = self.simulator.codec.decode(token)
        except InvalidCursor:
            raise _Invalid("Invalid page cursor.", "page[cursor]") from None
        key, direction, page = payload.get("k"), payload.get("d"), payload.get("p")
        if payload.get("r") != resource or payload.get("s") != sort_text:
            raise _Invalid("The page cursor does not match this request's sort.", "page[cursor]")
        if isinstance(key, list) and len(key) == 2:
            key = (key[0], key[1])
        if direction not in ("n", "p") or not isinstance(page, int) or key is None:
            raise _Invalid("Invalid page cursor.", "page[cursor]")
        return direction == "n", key, max(1, page)

    def _page_size(self, resource: str, query: dict[str, str], revision: date) -> int:
        default, maximum = PAGE_SIZES[resource]
        raw = query.get("page[size]")
        if raw is None or (resource == "events" and revision < EVENTS_PAGE_SIZE_SINCE):
            return default
        try:
            size = int(raw)
        except ValueError:
            raise _Invalid(f"'{raw}' is not a valid integer.", "page[size]") from None
        if not 1 <= size <= maximum:
            raise _Invalid(f"Page size must be between 1 and {maximum}, got {size}.", "page[size]")
        return size

    def _sort(self, resource: str, text: str) -> tuple[Order, bool]:
        descending = text.startswith("-")
        order = _SORTS[resource].get(text.lstrip("-"))
        if order is None:
            allowed = ", ".join(f"{name}, -{name}" for name in _SORTS[resource])
            raise _Invalid(
                f"'{text}' is not a valid sort for the resource '{_RESOURCE_TYPE[resource]}'. "
                f"Valid sorts: {allowed}.",
                "sort",
            )
        return order, descending

    # --- filters ----------------------------------------------------------------------------

    def _selection(self, resource: str, text: str | None) -> Selection:
        if not text:
            return Selection()
        rules = PROFILE_RULES if resource == "profiles" else EVENT_RULES
        try:
            conditions = parse_filter(text, rules, _RESOURCE_TYPE[resource])
        except FilterError as error:
            raise _Invalid(str(error), "filter") from None
        created, updated = Window(), Window()
        candidate_sets: list[set[int]] = []
        predicates: list[Predicate] = []
        for condition in conditions:
            if condition.field in ("created", "datetime", "timestamp"):
                created = created.narrowed(_window(condition))
            elif condition.field == "updated":
                updated = updated.narrowed(_window(condition))
            elif condition.operator == "has":
                predicates.extend(self._presence(condition.field))
            else:
                values = condition.value if condition.operator == "any" else [condition.value]
                if condition.field != "metric_id":
                    candidate_sets.append(set(self._candidates(condition.field, values)))
                predicates.append(self._equality(condition.field, values))
        indices = None
        if candidate_sets:
            indices = tuple(sorted(set.intersection(*candidate_sets)))
        return Selection(
            created=created, updated=updated, indices=indices, predicates=tuple(predicates)
        )

    def _presence(self, relationship: str) -> list[Predicate]:
        """`has(profile)` / `has(metric)`: every simulated metric resolves, and every event
        has a profile unless the account has none."""
        if relationship == "metric" or self.simulator.store("profiles").total:
            return []
        return [_Match(lambda index, version: False, ("no profile",))]

    def _candidates(self, field: str, values: Iterable[str]) -> list[int]:
        """Indices that may match an equality; metric_id has none (it is scanned instead)."""
        catalog = self.simulator.catalog
        found: list[int] = []
        for value in values:
            if field == "id":
                index = catalog.profile_index(value)
                found.extend([] if index is None else [index])
            elif field == "profile_id":
                profile = catalog.profile_index(value)
                found.extend([] if profile is None else catalog.events_of_profile(profile))
            else:
                found.extend(catalog.indices_for(field, value))
        return found

    def _equality(self, field: str, values: list[str]) -> Predicate:
        catalog = self.simulator.catalog
        accepted = set(values)
        if field == "metric_id":
            return _Match(
                lambda index, version: catalog.metric_of(index) in accepted,
                ("metric", tuple(values)),
            )
        if field == "profile_id":
            return _Match(
                lambda index, version: catalog.profile_id(catalog.event_profile(index)) in accepted,
                ("profile", tuple(values)),
            )
        lookups = {
            "id": catalog.profile_id,
            "email": catalog.email,
            "phone_number": catalog.phone,
            "external_id": catalog.external_id,
        }
        lookup = lookups[field]
        return _Match(lambda index, version: lookup(index) in accepted, (field, tuple(values)))

    def _error(
        self,
        status: int,
        code: str,
        title: str,
        detail: str,
        source: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        body = error_body(status, code, title, detail, source)
        return Response(body, status_code=status, headers=headers, media_type=JSON_API)


def _window(condition: Condition) -> Window:
    value = float(condition.value)
    if condition.operator == "greater-than":
        return Window(low=value, low_strict=True)
    if condition.operator == "greater-or-equal":
        return Window(low=value)
    if condition.operator == "less-than":
        return Window(high=value, high_strict=True)
    return Window(high=value)
