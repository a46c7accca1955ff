"""Shopify Admin REST API 2024-10 over HTTP: customers, orders and products.

The same app serves the GraphQL Admin API at `POST /admin/api/{version}/graphql.json` (see
`shopify.graphql.endpoint`): same shop, same records, cost-based limits instead of the
request bucket. The `deprecated_reason` fault switch puts `X-Shopify-API-Deprecated-Reason`
on every answer of both.

Endpoints: `GET /admin/api/2024-10/{customers,orders,products}.json`, `…/count.json` and
`…/{id}.json`. What a client meets, as on the real service:

* `X-Shopify-Access-Token` is required; anything else is a 401 with Shopify's plain-string
  `errors` body.
* Results are ordered by id. Pagination is cursor-based: the `Link` header carries
  `rel="previous"` / `rel="next"` URLs (absolute, on the host the client used) with an opaque
  `page_info` that remembers the filters. A request with `page_info` and any parameter other
  than `limit` or `fields` is a 400 (`"<param> cannot be passed when page_info is present…"`);
  an altered `page_info` is a 400 too.
* `limit` defaults to 50 and is capped at 250 (larger values get 250 records, silently).
* Filters: `ids`, `since_id`, `created_at_min/max`, `updated_at_min/max` (inclusive; a time
  without offset is read in the shop's zone), orders' `status` whose default `open` hides
  closed and cancelled orders. Other documented filters (financial_status, vendor …) are
  ignored, as unknown parameters are.
* Every authenticated answer reports the leaky bucket in `X-Shopify-Shop-Api-Call-Limit`;
  overflowing it is a 429 with `Retry-After: 2.0`.
* Only version 2024-10 is simulated; other versions answer 404.
* An app without the `read_all_orders` scope (`ShopifySimulator(read_all_orders=False)`)
  sees only the orders created in the last 60 days: older ones are missing from lists and
  counts and answer 404 alone.
"""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from integration_assets.sandbox.cursor import InvalidCursor
from integration_assets.sandbox.pipeline import VendorApp, absolute_base
from integration_assets.sandbox.prefetch import PageResponse
from integration_assets.sandbox.ratelimit import Verdict
from integration_assets.sandbox.shopify.bulk.download import bulk_routes
from integration_assets.sandbox.shopify.graphql.endpoint import PATH as GRAPHQL_PATH
from integration_assets.sandbox.shopify.graphql.endpoint import GraphQLEndpoint, served_version
from integration_assets.sandbox.shopify.orders import OrderState
from integration_assets.sandbox.store import Order, Predicate, Row, Selection, Window

if TYPE_CHECKING:
    from integration_assets.sandbox.shopify.simulator import ShopifySimulator

API_VERSION = "2024-10"
DEFAULT_LIMIT = 50
MAX_LIMIT = 250
JSON = "application/json; charset=utf-8"
UNAUTHORIZED = "[API] Invalid API key or access token (unrecognized login or wrong password)"
THROTTLED = (
    "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted "
    "service."
)
PAGINATION_GUIDE = "https://help.shopify.com/api/guides/paginated-rest-results"
PAGE_PARAMS = frozenset({"page_info", "limit", "fields"})
SINGULAR = {"customers": "customer", "orders": "order", "products": "product"}
DEPRECATED = {
    "products": "https://shopify.dev/docs/api/admin-rest/2024-10/resources/product",
}

_PATH = re.compile(
    r"^/admin/api/(?P<version>[^/]+)/(?P<resource>customers|orders|products)"
    r"(?:/(?P<tail>count|\d+))?\.json$"
)
_BAD_GATEWAY = (
    b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway"
    b"</h1></center><hr><center>cloudflare</center></body></html>"
)


def _json(body: Any, status: int, headers: dict[str, str]) -> Response:
    return Response(orjson.dumps(body), status_code=status, headers=headers, media_type=JSON)


def _limit(raw: str | None) -> int:
    try:
        value = int(raw) if raw is not None else DEFAULT_LIMIT
    except ValueError:
        return DEFAULT_LIMIT
    return min(max(value, 1), MAX_LIMIT)


class _BadRequest(Exception):
    """A parameter error, answered as Shopify's `{"errors": {param: message}}`."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


def _drift(resource: str, record: dict[str, Any]) -> None:
    """Change one field's JSON type, as a vendor-side schema drift would."""
    if resource == "customers":
        record["verified_email"] = "yes" if record["verified_email"] else "no"
    elif resource == "orders":
        record["total_price"] = float(record["total_price"])
    else:
        for variant in record["variants"]:
            variant["price"] = float(variant["price"])


class ShopifyApp(VendorApp):
    """The Shopify wire protocol of one simulated shop."""

    simulator: ShopifySimulator

    def __init__(self, simulator: ShopifySimulator) -> None:
        super().__init__(simulator)
        self.graphql = GraphQLEndpoint(simulator)

    async def endpoint(self, request: Request) -> Response:
        """Read a GraphQL body before the (synchronous) pipeline runs; stamp deprecations."""
        graphql = GRAPHQL_PATH.match(request.url.path)
        if graphql:
            request.state.body = await request.body()
        response = await super().endpoint(request)
        served = served_version(graphql["version"]) if graphql else None
        if served is not None:
            # Refusals made before the GraphQL endpoint ran (401, 429, 5xx) name it too.
            response.headers["X-Shopify-API-Version"] = served
        reason = self.simulator.fault_settings.deprecated_reason
        if reason:
            response.headers["X-Shopify-API-Deprecated-Reason"] = reason
        return response

    def extra_routes(self) -> list[Route]:
        """The signed, token-free downloads of bulk operation results (`shopify.bulk`)."""
        return bulk_routes(self.simulator)

    def check_access(self, request: Request) -> Response | None:
        """401 unless the request carries the shop's access token."""
        if request.headers.get("x-shopify-access-token") != self.simulator.access_token:
            return _json({"errors": UNAUTHORIZED}, 401, self._base_headers())
        return None

    def rate_limit(self, request: Request) -> Verdict | None:
        """One bucket per access token (only the valid token gets this far).

        GraphQL is limited by query cost inside its endpoint, not by this request bucket.
        """
        if GRAPHQL_PATH.match(request.url.path):
            return None
        return self.simulator.bucket(request.headers.get("x-shopify-access-token", "")).take()

    def unlimited_headers(self, request: Request) -> dict[str, str]:
        """An almost empty bucket, so clients that pace themselves by the header never wait."""
        if GRAPHQL_PATH.match(request.url.path):
            return {}
        return {"X-Shopify-Shop-Api-Call-Limit": "1/40"}

    def throttled(self, headers: dict[str, str]) -> Response:
        """Shopify's 429."""
        return _json({"errors": THROTTLED}, 429, {**self._base_headers(), **headers})

    def server_error(self, status: int, headers: dict[str, str]) -> Response:
        """500/503 in Shopify's JSON, 502 as the edge's HTML page (not JSON at all)."""
        if status == 502:
            return Response(_BAD_GATEWAY, status_code=502, media_type="text/html")
        message = "Internal Server Error" if status == 500 else "Service Unavailable"
        return _json({"errors": message}, status, {**self._base_headers(), **headers})

    def handle(self, request: Request, headers: dict[str, str]) -> Response:
        """Route to list, count or single-record reads."""
        headers = {**self._base_headers(), **headers}
        if GRAPHQL_PATH.match(request.url.path):
            return self.graphql.answer(request, getattr(request.state, "body", b""), headers)
        match = _PATH.match(request.url.path)
        if match is None or match["version"] != API_VERSION:
            return _json({"errors": "Not Found"}, 404, headers)
        if request.method != "GET":
            return _json({"errors": "Method Not Allowed"}, 405, headers)
        resource, tail = match["resource"], match["tail"]
        if resource in DEPRECATED:
            headers["X-Shopify-API-Deprecated-Reason"] = DEPRECATED[resource]
        query = dict(request.query_params)
        try:
            if tail == "count":
                return self._count(resource, query, headers)
            if tail is not None:
                return self._single(resource, int(tail), query, headers)
            return self._list(request, resource, query, headers)
        except _BadRequest as error:
            return _json({"errors": error.errors}, 400, headers)

    def fresh_headers(self) -> dict[str, str]:
        """A new request id for every answer."""
        return {"X-Request-Id": str(uuid.uuid4())}

    def _base_headers(self) -> dict[str, str]:
        return {"X-Shopify-API-Version": API_VERSION, "X-Request-Id": str(uuid.uuid4())}

    # --- endpoints --------------------------------------------------------------------------

    def _list(
        self, request: Request, resource: str, query: dict[str, str], headers: dict[str, str]
    ) -> Response:
        simulator = self.simulator
        limit, fields = _limit(query.get("limit")), query.get("fields")
        if "page_info" in query:
            extras = sorted(key for key in query if key not in PAGE_PARAMS)
            if extras:
                raise _BadRequest(
                    {
                        key: f"{key} cannot be passed when page_info is present. See "
                        f"{PAGINATION_GUIDE} for more information."
                        for key in extras
                    }
                )
            filters, forward, after, page = self._read_page_info(resource, query["page_info"])
        else:
            filters = {key: value for key, value in query.items() if key not in PAGE_PARAMS}
            forward, after, page = True, None, 1
        selection = self._selection(resource, filters)
        store = simulator.store(resource)
        duplicate = (
            simulator.fault_settings.duplicate_across_pages
            and forward
            and after is not None
            and limit > 1
        )
        fresh = limit - 1 if duplicate else limit
        rows = store.select(selection, Order.INDEX, not forward, after, fresh + 1)
        more = len(rows) > fresh
        rows = rows[:fresh]
        if forward:
            has_next, has_previous = more, page > 1
        else:
            rows.reverse()
            has_next, has_previous = True, more
        if duplicate and after is not None and store.exists(after):
            rows.insert(0, Row(after, after, store.version(after), store.updated_at(after)))
        records = [self._serve(resource, row, fields) for row in rows]
        body = orjson.dumps({resource: records})
        if simulator.faults.malformed(resource, page):
            body = body[: max(1, len(body) // 2)]
        links = []
        base = absolute_base(request) + request.url.path
        next_url = None
        if rows and has_previous:
            previous_url = self._link(
                base, resource, filters, limit, fields, False, rows[0].index, page - 1
            )
            links.append(f'<{previous_url}>; rel="previous"')
        if rows and has_next:
            next_url = self._link(
                base, resource, filters, limit, fields, True, rows[-1].index, page + 1
            )
            links.append(f'<{next_url}>; rel="next"')
        if links:
            headers["Link"] = ", ".join(links)
        response = PageResponse(body, status_code=200, headers=headers, media_type=JSON)
        response.next_url = next_url
        return response

    def _count(self, resource: str, query: dict[str, str], headers: dict[str, str]) -> Response:
        selection = self._selection(resource, query)
        return _json({"count": self.simulator.store(resource).count(selection)}, 200, headers)

    def _single(
        self, resource: str, vendor_id: int, query: dict[str, str], headers: dict[str, str]
    ) -> Response:
        store = self.simulator.store(resource)
        index = self.simulator.catalog.id_spaces[resource].index_of(vendor_id)
        if index is None or not store.exists(index):
            return _json({"errors": "Not Found"}, 404, headers)
        if resource == "orders" and not self.simulator.order_readable(index):
            return _json({"errors": "Not Found"}, 404, headers)
        row = Row(index, index, store.version(index), store.updated_at(index))
        record = self._serve(resource, row, query.get("fields"))
        return _json({SINGULAR[resource]: record}, 200, headers)

    # --- helpers ----------------------------------------------------------------------------

    def _serve(self, resource: str, row: Row, fields: str | None) -> dict[str, Any]:
        """The record as served: rendered, maybe type-drifted, cut to `fields`."""
        record = self.simulator.render(resource, row)
        if self.simulator.faults.drifts(resource, row.index):
            _drift(resource, record)
        if fields:
            wanted = [name.strip() for name in fields.split(",") if name.strip()]
            record = {name: record[name] for name in wanted if name in record}
        return record

    def _link(
        self,
        base: str,
        resource: str,
        filters: dict[str, str],
        limit: int,
        fields: str | None,
        forward: bool,
        index: int,
        page: int,
    ) -> str:
        token = self.simulator.codec.encode(
            {"e": resource, "d": "n" if forward else "p", "k": index, "q": filters, "p": page}
        )
        params: dict[str, str | int] = {"limit": limit, "page_info": token}
        if fields:
            params["fields"] = fields
        return f"{base}?{urlencode(params)}"

    def _read_page_info(self, resource: str, token: str) -> tuple[dict[str, str], bool, int, int]:
        try:
            payload = self.simulator.codec.decode(token)
        except InvalidCursor:
            raise _BadRequest({"page_info": "Invalid value."}) from None
        filters, direction, index, page = (payload.get(key) for key in ("q", "d", "k", "p"))
        valid = (
            payload.get("e") == resource
            and isinstance(filters, dict)
            and direction in ("n", "p")
            and isinstance(index, int)
            and isinstance(page, int)
        )
        if not valid:
            raise _BadRequest({"page_info": "Invalid value."})
        assert isinstance(filters, dict) and isinstance(index, int) and isinstance(page, int)
        return filters, direction == "n", index, max(1, page)

    def _selection(self, resource: str, filters: dict[str, str]) -> Selection:
        """Translate Shopify's query parameters into the store's terms."""
        catalog = self.simulator.catalog
        ids = catalog.id_spaces[resource]
        index_low = 0
        if "since_id" in filters:
            index_low = ids.first_index_above(self._integer(filters, "since_id"))
        indices = None
        if filters.get("ids"):
            indices = tuple(
                index
                for token in filters["ids"].split(",")
                if token.strip().isdigit()
                and (index := ids.index_of(int(token.strip()))) is not None
            )
        predicates: tuple[Predicate, ...] = ()
        if resource == "orders":
            status = filters.get("status", "open")
            if status != "any":
                predicates = (
                    OrderState(catalog.orders, status if status in OrderState.ACCEPTS else "open"),
                )
        return Selection(
            index_low=index_low,
            created=self._window(filters, "created_at").narrowed(
                self.simulator.orders_window() if resource == "orders" else Window()
            ),
            updated=self._window(filters, "updated_at"),
            indices=indices,
            predicates=predicates,
        )

    def _window(self, filters: dict[str, str], field: str) -> Window:
        low = self._time(filters, f"{field}_min")
        high = self._time(filters, f"{field}_max")
        return Window(low=low, high=high)

    def _time(self, filters: dict[str, str], name: str) -> float | None:
        raw = filters.get(name)
        if raw is None or raw == "":
            return None
        value = self.simulator.catalog.clock.parse(raw)
        if value is None:
            raise _BadRequest({name: f"{name} must be a valid ISO 8601 date and time."})
        return value

    @staticmethod
    def _integer(filters: dict[str, str], name: str) -> int:
        try:
            return int(filters[name])
        except ValueError:
            raise _BadRequest({name: f"{name} must be an integer."}) from None
