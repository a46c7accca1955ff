"""Paginators: given the page just fetched, decide the next request (or that paging is done).

One small pure class per `PaginatorSpec.kind`. They see only what the vendor answered (headers
and parsed body), the request that produced it and how many records it held; they never touch
the network, so each vendor's paging rules are unit-testable in isolation.

A next URL handed out by the vendor (`link_header`, `json_next_link`) is followed exactly as
given: it already carries every parameter the vendor wants, and Shopify rejects a `page_info`
request that repeats filters. Paging stops when there is no next link/token or a page comes back
empty, as the spec says; a vendor that hands back the very request just made would loop forever,
so `PageStream` also refuses to request the same URL twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any, Protocol
from urllib.parse import parse_qsl, urljoin, urlsplit, urlunsplit

import httpx
import orjson

from integration_assets.connectors.spec import PaginatorSpec
from integration_assets.extract.headers import header
from integration_assets.paths import lookup_optional

Params = tuple[tuple[str, str], ...]


Variables = tuple[tuple[str, Any], ...]
STORED_POST_PREFIX = "{"
"""A stored POST request is JSON (`PageRequest.stored`); a stored GET request is its URL."""


@dataclass(frozen=True)
class PageRequest:
    """One request to make: a GET of a URL plus query parameters to add to it (none for vendor
    next links), or a POST of a GraphQL `document` with `variables` to the URL.

    `cost` is what the request is expected to cost against a cost-based budget (1 for a
    request-counted one); it is not part of the request's identity.
    """

    url: str
    params: Params = ()
    method: str = "GET"
    document: str | None = None
    variables: Variables = ()
    cost: float = field(default=1.0, compare=False)

    @cached_property
    def full_url(self) -> str:
        """The URL as it goes on the wire, query included.

        Cached: a walk asks for it several times per page (loop check, fetch, next link), and
        parsing a long vendor URL with httpx costs about 0.1 ms each time.
        """
        url = httpx.URL(self.url)
        if self.params:
            url = url.copy_merge_params(list(self.params))
        return str(url)

    @property
    def is_post(self) -> bool:
        return self.method == "POST"

    @cached_property
    def content(self) -> bytes | None:
        """The body to send: `{"query", "variables"}` as JSON for a GraphQL POST, else None."""
        if not self.is_post:
            return None
        return orjson.dumps({"query": self.document or "", "variables": dict(self.variables)})

    @cached_property
    def identity(self) -> str:
        """What makes two requests the same request (the walk's loop check compares these):
        the URL for a GET; method, URL, document and variables for a POST."""
        if not self.is_post:
            return self.full_url
        return self.stored

    @cached_property
    def stored(self) -> str:
        """The request as one string, for landing's resume point: the URL of a GET, a JSON
        object (method, url, query, variables) of a POST. Holds no header, so no secret."""
        if not self.is_post:
            return self.full_url
        return orjson.dumps(
            {
                "method": self.method,
                "url": self.full_url,
                "query": self.document,
                "variables": dict(self.variables),
            },
            option=orjson.OPT_SORT_KEYS,
        ).decode()

    def param(self, name: str) -> str | None:
        """The last value given for `name` among the added params."""
        value = None
        for key, candidate in self.params:
            if key == name:
                value = candidate
        return value

    def with_param(self, name: str, value: str) -> PageRequest:
        """The same request with `name` set to `value` (replacing any earlier value)."""
        kept = tuple((key, val) for key, val in self.params if key != name)
        return replace(self, params=(*kept, (name, value)))

    def variable(self, name: str) -> Any:
        """The value of GraphQL variable `name`, None when unset."""
        return dict(self.variables).get(name)

    def with_variable(self, name: str, value: Any) -> PageRequest:
        """The same POST with variable `name` set to `value` (replacing any earlier value)."""
        kept = tuple((key, val) for key, val in self.variables if key != name)
        return replace(self, variables=(*kept, (name, value)))

    @classmethod
    def from_stored(cls, text: str) -> PageRequest:
        """The request `stored` describes (a URL is a GET with the query left in the URL)."""
        if not text.startswith(STORED_POST_PREFIX):
            return cls(text)
        try:
            data = orjson.loads(text)
            variables = data.get("variables") or {}
            if not isinstance(data["url"], str) or not isinstance(variables, dict):
                raise TypeError("url or variables of the wrong type")
            return cls(
                url=data["url"],
                method=str(data.get("method", "POST")),
                document=data.get("query"),
                variables=tuple(variables.items()),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"stored request is not readable ({exc})") from None


@dataclass(frozen=True)
class Link:
    """One RFC 8288 link: its target and parameters (`rel` is a set of lower-cased types)."""

    url: str
    params: dict[str, str] = field(default_factory=dict)

    @property
    def rels(self) -> frozenset[str]:
        return frozenset(self.params.get("rel", "").lower().split())


def parse_link_header(value: str) -> list[Link]:
    """Parse a `Link` header (several comma-separated links, quoted params, commas in URLs).

    A hand-written scanner rather than a regex split on commas: URLs and quoted parameter
    values may themselves contain commas and semicolons.
    """
    links: list[Link] = []
    i, n = 0, len(value)
    while i < n:
        start = value.find("<", i)
        if start < 0:
            break
        end = value.find(">", start + 1)
        if end < 0:
            break
        url = value[start + 1 : end].strip()
        i = end + 1
        params: dict[str, str] = {}
        while i < n:
            while i < n and value[i] in " \t":
                i += 1
            if i >= n or value[i] == ",":
                i += 1
                break
            if value[i] != ";":
                # Garbage between links: skip to the next link.
                nxt = value.find(",", i)
                i = n if nxt < 0 else nxt + 1
                break
            i += 1
            name_end = i
            while name_end < n and value[name_end] not in "=;,":
                name_end += 1
            name = value[i:name_end].strip().lower()
            i = name_end
            param_value = ""
            if i < n and value[i] == "=":
                i += 1
                while i < n and value[i] in " \t":
                    i += 1
                if i < n and value[i] == '"':
                    close = i + 1
                    chunks: list[str] = []
                    while close < n and value[close] != '"':
                        if value[close] == "\\" and close + 1 < n:
                            close += 1
                        chunks.append(value[close])
                        close += 1
                    param_value = "".join(chunks)
                    i = close + 1
                else:
                    val_end = i
                    while val_end < n and value[val_end] not in ";,":
                        val_end += 1
                    param_value = value[i:val_end].strip()
                    i = val_end
            if name and name not in params:  # RFC 8288: first occurrence wins
                params[name] = param_value
        links.append(Link(url=url, params=params))
    return links


def find_link(value: str | None, rel: str) -> str | None:
    """The target of the first link with relation `rel`, or None."""
    if not value:
        return None
    for link in parse_link_header(value):
        if rel.lower() in link.rels:
            return link.url
    return None


class Paginator(Protocol):
    """Decides the request after `current`, or None when the listing is complete."""

    def next_request(
        self,
        current: PageRequest,
        headers: Mapping[str, str],
        body: Any,
        record_count: int,
    ) -> PageRequest | None: ...


class LinkHeaderPaginator:
    """RFC 8288 `Link: <…>; rel="next"` (Shopify); relative targets resolve against the request."""

    def next_request(
        self, current: PageRequest, headers: Mapping[str, str], body: Any, record_count: int
    ) -> PageRequest | None:
        if record_count == 0:
            return None
        target = find_link(header(headers, "Link"), "next")
        if not target:
            return None
        return PageRequest(urljoin(current.full_url, target))


class JsonNextLinkPaginator:
    """A next URL at a dotted path in the body (Klaviyo's `links.next`), followed as given."""

    def __init__(self, next_path: str) -> None:
        self.next_path = next_path

    def next_request(
        self, current: PageRequest, headers: Mapping[str, str], body: Any, record_count: int
    ) -> PageRequest | None:
        if record_count == 0:
            return None
        target = lookup_optional(body, self.next_path)
        if not target or not isinstance(target, str):
            return None
        return PageRequest(urljoin(current.full_url, target))


class CursorPaginator:
    """An opaque token at a dotted path, sent back as `cursor_param` with the first params."""

    def __init__(self, next_path: str, cursor_param: str) -> None:
        self.next_path = next_path
        self.cursor_param = cursor_param

    def next_request(
        self, current: PageRequest, headers: Mapping[str, str], body: Any, record_count: int
    ) -> PageRequest | None:
        if record_count == 0:
            return None
        token = lookup_optional(body, self.next_path)
        if token is None or token == "" or isinstance(token, (dict, list, bool)):
            return None
        return current.with_param(self.cursor_param, str(token))


class OffsetPaginator:
    """`offset_param` advanced by the records actually received.

    Advancing by the count received rather than the page size asked for stays correct when a
    vendor silently caps the page size below ours.
    """

    def __init__(self, offset_param: str) -> None:
        self.offset_param = offset_param

    def next_request(
        self, current: PageRequest, headers: Mapping[str, str], body: Any, record_count: int
    ) -> PageRequest | None:
        if record_count == 0:
            return None
        offset = int(current.param(self.offset_param) or 0)
        return current.with_param(self.offset_param, str(offset + record_count))


class PageNumberPaginator:
    """`page_param` counting up from 1 (the first request omits it, meaning page 1)."""

    def __init__(self, page_param: str) -> None:
        self.page_param = page_param

    def next_request(
        self, current: PageRequest, headers: Mapping[str, str], body: Any, record_count: int
    ) -> PageRequest | None:
        if record_count == 0:
            return None
        page = int(current.param(self.page_param) or 1)
        return current.with_param(self.page_param, str(page + 1))


class GraphQLCursorPaginator:
    """A Relay connection: `pageInfo {hasNextPage endCursor}` beside the records' `nodes`,
    the cursor sent back as the variable `cursor_param` with every other variable kept."""

    def __init__(self, records_path: str, page_info_field: str, cursor_param: str) -> None:
        parent, _, _ = records_path.rpartition(".")
        self.page_info_path = f"{parent}.{page_info_field}" if parent else page_info_field
        self.cursor_param = cursor_param

    def next_request(
        self, current: PageRequest, headers: Mapping[str, str], body: Any, record_count: int
    ) -> PageRequest | None:
        if record_count == 0:
            return None
        page_info = lookup_optional(body, self.page_info_path)
        if not isinstance(page_info, dict) or page_info.get("hasNextPage") is not True:
            return None
        cursor = page_info.get("endCursor")
        if not isinstance(cursor, str) or not cursor:
            return None
        return current.with_variable(self.cursor_param, cursor)


def resume_request(spec: PaginatorSpec, stored: str) -> PageRequest:
    """The request a stored next request stands for, so a walk can go on from it.

    A vendor's next link is followed exactly as given. The other GET kinds keep their
    parameters in `PageRequest.params` (the paginators read and replace the token, offset or
    page there), so the query is split back into them. A POST was stored whole (see
    `PageRequest.stored`). Raises ValueError when the stored text is not a request.
    """
    if stored.startswith(STORED_POST_PREFIX):
        return PageRequest.from_stored(stored)
    if spec.kind in ("link_header", "json_next_link"):
        return PageRequest(stored)
    parts = urlsplit(stored)
    base = urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))
    return PageRequest(base, tuple(parse_qsl(parts.query, keep_blank_values=True)))


def paginator_for(spec: PaginatorSpec, records_path: str = "") -> Paginator:
    """The paginator implementing `spec.kind` (the spec validated that its fields are set);
    `records_path` locates a GraphQL connection's page info beside its records."""
    if spec.kind == "link_header":
        return LinkHeaderPaginator()
    if spec.kind == "json_next_link":
        assert spec.next_path is not None
        return JsonNextLinkPaginator(spec.next_path)
    if spec.kind == "cursor":
        assert spec.next_path is not None and spec.cursor_param is not None
        return CursorPaginator(spec.next_path, spec.cursor_param)
    if spec.kind == "graphql_cursor":
        assert spec.cursor_param is not None
        return GraphQLCursorPaginator(records_path, spec.page_info_field, spec.cursor_param)
    if spec.kind == "offset":
        assert spec.offset_param is not None
        return OffsetPaginator(spec.offset_param)
    assert spec.page_param is not None
    return PageNumberPaginator(spec.page_param)
