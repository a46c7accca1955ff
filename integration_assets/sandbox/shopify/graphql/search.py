"""Shopify's search syntax for a connection's `query:` argument, turned into a store selection.

Grammar (shopify.dev "Shopify API search syntax"): terms separated by whitespace, `AND`
implied between them; a term is `field:value` with an optional comparator after the colon
(`:<`, `:<=`, `:>`, `:>=`); values may be quoted with single or double quotes, and dates
must be. What the simulator filters on, per connection:

* every connection: `created_at`, `updated_at`, `id` (a numeric id, not a gid);
* orders: also `processed_at` (the creation time here) and `status` (open, closed, cancelled,
  not_closed).

Shopify ignores a term whose field the connection does not support and returns all results
for it, reporting the term in `extensions.search[].warnings` ("Invalid search field for this
query."); the simulator does the same for unknown fields, free-text terms and values it
cannot read. Fields Shopify documents for the connection but the simulator does not filter on
(`tag`, `email`, `financial_status` …), `OR` and negation (`-field:…`, `NOT`) are refused
with an error: silently answering something else would be worse.

A time without an offset is read in the shop's time zone, as the REST filters are.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from graphql import GraphQLError

from integration_assets.sandbox.shopify.orders import OrderState
from integration_assets.sandbox.store import Predicate, Selection, Window

if TYPE_CHECKING:
    from integration_assets.sandbox.shopify.simulator import ShopifySimulator

_TOKEN = re.compile(r"""\s*(?P<term>(?:[^\s'"]+|'[^']*'|"[^"]*")+)""")
_TERM = re.compile(r"^(?P<field>[A-Za-z_][\w.]*):(?P<op><=|>=|<|>)?(?P<value>.*)$", re.S)
_RANGE = {"<": "range_lt", "<=": "range_lte", ">": "range_gt", ">=": "range_gte", None: "match_all"}
TIME_FIELDS = {"created_at": "created", "updated_at": "updated"}
INVALID_FIELD = "Invalid search field for this query."
UNSIMULATED = {
    "customers": frozenset(
        [
            "accepts_marketing",
            "city",
            "company",
            "country",
            "customer_date",
            "email",
            "email_marketing_state",
            "last_abandoned_order_date",
            "order_date",
            "orders_count",
            "phone",
            "province",
            "sms_marketing_state",
            "state",
            "tag",
            "tag_not",
            "territory_code",
            "total_spent",
        ]
    ),
    "orders": frozenset(
        [
            "cart_token",
            "channel_id",
            "chargeback_status",
            "checkout_token",
            "credit_card_last4",
            "customer_id",
            "delivery_method",
            "discount_code",
            "email",
            "financial_status",
            "fraud_protection_level",
            "fulfillment_status",
            "gateway",
            "location_id",
            "name",
            "po_number",
            "reference_location_id",
            "return_status",
            "risk_level",
            "sales_channel",
            "sku",
            "source_name",
            "tag",
            "tag_not",
            "test",
        ]
    ),
    "products": frozenset(
        [
            "barcode",
            "collection_id",
            "gift_card",
            "handle",
            "inventory_total",
            "is_price_reduced",
            "product_type",
            "published_status",
            "sku",
            "status",
            "tag",
            "tag_not",
            "title",
            "variant_id",
            "vendor",
        ]
    ),
}
"""Fields the `query:` argument documents per connection that the simulator cannot filter on."""


@dataclass
class Search:
    """A parsed `query:`: the selection, Shopify's `parsed` echo, and the ignored terms."""

    selection: Selection
    parsed: dict[str, Any] | None = None
    warnings: list[dict[str, str]] = field(default_factory=list)


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _tokens(query: str) -> list[str]:
    return [match["term"] for match in _TOKEN.finditer(query)]


def parse_search(simulator: ShopifySimulator, entity: str, query: str | None) -> Search:
    """The selection a `query:` string asks for, with Shopify's warnings for ignored terms."""
    readable = simulator.orders_window() if entity == "orders" else Window()
    if query is None or not query.strip():
        return Search(Selection(created=readable))
    fields = {"created_at", "updated_at", "id"}
    if entity == "orders":
        fields |= {"processed_at", "status"}
    clock = simulator.catalog.clock
    ids = simulator.catalog.id_spaces[entity]
    tokens = _tokens(query)
    if "OR" in tokens:
        return _ids_search(simulator, entity, tokens, readable)
    windows = {"created": readable, "updated": Window()}
    index_low, index_high = 0, None
    indices: tuple[int, ...] | None = None
    predicates: list[Predicate] = []
    parsed: list[dict[str, Any]] = []
    warnings: list[dict[str, str]] = []
    for token in tokens:
        if token == "AND":
            continue
        if token in ("OR", "NOT") or token.startswith("-"):
            raise GraphQLError(
                f"The sandbox does not simulate `{token}` in search queries; "
                "use terms joined by AND."
            )
        match = _TERM.match(token)
        if match is None:
            parsed.append({"field": "default", "match_all": _unquote(token)})
            warnings.append({"field": "default", "message": INVALID_FIELD})
            continue
        name, op, value = match["field"], match["op"], _unquote(match["value"])
        parsed.append({"field": name, _RANGE[op]: value})
        if name in UNSIMULATED.get(entity, ()):
            raise GraphQLError(f"The sandbox does not simulate the search field `{name}`.")
        if name not in fields:
            warnings.append({"field": name, "message": INVALID_FIELD})
            continue
        if name == "status":
            status = value.lower()
            accepted = {"open": "open", "closed": "closed", "cancelled": "cancelled"}
            if status == "any":
                continue
            if status == "not_closed":
                status = "open"
            if status not in accepted or op is not None:
                warnings.append({"field": name, "message": f"Invalid value for status: {value}"})
                continue
            predicates.append(OrderState(simulator.catalog.orders, accepted[status]))
            continue
        if name == "id":
            try:
                number = int(value)
            except ValueError:
                warnings.append({"field": name, "message": f"Invalid value for id: {value}"})
                continue
            if op is None:
                found = ids.index_of(number)
                indices = (found,) if found is not None else ()
            elif op in (">", ">="):
                index_low = max(
                    index_low, ids.first_index_above(number if op == ">" else number - 1)
                )
            else:
                bound = ids.first_index_above(number - 1 if op == "<" else number)
                index_high = bound if index_high is None else min(index_high, bound)
            continue
        moment = clock.parse(value)
        if moment is None:
            warnings.append({"field": name, "message": f"Invalid date value: {value}"})
            continue
        key = TIME_FIELDS.get(name, "created")
        windows[key] = windows[key].narrowed(_window(op, moment))
    echo: dict[str, Any] | None
    echo = parsed[0] if len(parsed) == 1 else {"and": parsed} if parsed else None
    selection = Selection(
        index_low=index_low,
        index_high=index_high,
        created=windows["created"],
        updated=windows["updated"],
        indices=indices,
        predicates=tuple(predicates),
    )
    return Search(selection, echo, warnings)


def _ids_search(
    simulator: ShopifySimulator, entity: str, tokens: list[str], readable: Window
) -> Search:
    """`id:1 OR id:2 …`, how a client reads named records in one query (Shopify's search
    syntax ORs terms); `OR` with any other term is not simulated."""
    ids = simulator.catalog.id_spaces[entity]
    terms = [token for token in tokens if token != "OR"]
    matches = [_TERM.match(term) for term in terms]
    if not all(m and m["field"] == "id" and m["op"] is None for m in matches):
        # Only `id:` terms are simulated with OR (reading named records).
        raise GraphQLError(
            "The sandbox does not simulate `OR` in search queries; use terms joined by AND."
        )
    indices = []
    for match in matches:
        assert match is not None
        value = _unquote(match["value"])
        found = ids.index_of(int(value)) if value.isdigit() else None
        if found is not None:
            indices.append(found)
    echo = {"or": [{"field": "id", "match_all": _unquote(m["value"])} for m in matches if m]}
    return Search(Selection(created=readable, indices=tuple(sorted(set(indices)))), echo)


def _window(op: str | None, moment: float) -> Window:
    if op == ">":
        return Window(low=moment, low_strict=True)
    if op == ">=":
        return Window(low=moment)
    if op == "<":
        return Window(high=moment, high_strict=True)
    if op == "<=":
        return Window(high=moment)
    return Window(low=moment, high=moment)
