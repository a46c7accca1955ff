"""Walks of the Shopify GraphQL Admin API (the default API) against the simulator over real HTTP.

One sandbox serves the module; each test resets it and uses a connection name (so a rate
bucket) of its own. The vendor's cost bucket is off unless a test turns it on
(`rate_limits=True`); our own limiter is the real one, with a budget large enough that it never
waits unless a test is about the budget. Retry sleeps go to a recorder that does not wait
unless the vendor's bucket must really restore.
"""

from __future__ import annotations

import random
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson
import pytest

from integration_assets.connectors import get_connector
from integration_assets.connectors.connections import Connection, RateLimitOverride
from integration_assets.connectors.spec import ConnectorSpec, EntitySpec
from integration_assets.extract import (
    AuthenticationError,
    ExtractError,
    ExtractSettings,
    PageStream,
    RateLimiter,
    UnlimitedLimiter,
)
from integration_assets.extract.errors import GraphQLQueryError
from integration_assets.extract.graphql import GraphQLClient
from integration_assets.extract.records import records_from_body
from integration_assets.sandbox import Sandbox, run_sandbox

SIZES = {"customers": 300, "orders": 40, "products": 30}
GRAPHQL = get_connector("shopify")
ROOMY = RateLimitOverride(capacity=1_000_000, refill_per_second=1_000_000.0)
"""Our limiter's budget where a test is not about the budget (the vendor's bucket is off)."""


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with run_sandbox(seed=17, sizes=SIZES, rate_limits=False) as running:
        yield running


@pytest.fixture
def sb(sandbox: Sandbox) -> Sandbox:
    sandbox.shopify.reset()
    return sandbox


class Sleeps:
    """Records the sleeps asked for; really sleeps only when `real` (the vendor's clock runs)."""

    def __init__(self, real: bool = False) -> None:
        self.real = real
        self.calls: list[float] = []
        self._lock = threading.Lock()

    def __call__(self, seconds: float) -> None:
        with self._lock:
            self.calls.append(seconds)
        if self.real:
            time.sleep(seconds)


def connection(sb: Sandbox, budget: RateLimitOverride | None = ROOMY) -> Connection:
    return Connection(
        name=f"gql-{uuid.uuid4().hex[:10]}",
        vendor="shopify",
        base_url=sb.shopify_url,
        secrets={"access_token": "SANDBOX_SHOP_TOKEN"},
        entities={"customers": "hourly", "orders": "hourly", "products": "hourly"},
        rate_limit=budget,
    )


def walk(
    sb: Sandbox,
    entity: str,
    *,
    spec: ConnectorSpec = GRAPHQL,
    since: datetime | None = None,
    sleep: Callable[[float], None] | None = None,
    limiter: RateLimiter | None = None,
    conn: Connection | None = None,
    ids_only: bool = False,
    **settings: Any,
) -> PageStream:
    return PageStream(
        spec,
        entity,
        conn or connection(sb),
        since=since,
        settings=ExtractSettings(**settings),
        secrets={"access_token": sb.shopify.access_token},
        limiter=limiter,
        sleep=sleep or Sleeps(),
        rng=random.Random(3),
        ids_only=ids_only,
    )


def spend(sb: Sandbox, times: int) -> None:
    """Spend the shop's GraphQL bucket as another client of the same app would: 252 points
    a query, all of them used (250 ids exist)."""
    ids_page = "query { customers(first: 250) { nodes { id } } }"
    with httpx.Client(
        base_url=sb.shopify_url, headers={"X-Shopify-Access-Token": sb.shopify.access_token}
    ) as spender:
        for _ in range(times):
            answer = spender.post("/admin/api/2026-10/graphql.json", json={"query": ids_page})
            assert "errors" not in answer.json()


def numeric(gid: str) -> int:
    """`gid://shopify/Customer/12` → 12 (the truth lists REST ids)."""
    return int(gid.rsplit("/", 1)[1])


def records(stream: PageStream) -> list[dict[str, Any]]:
    return [record for page in stream for record in page.records]


def truth(sb: Sandbox, entity: str) -> dict[int, dict[str, Any]]:
    return {record["id"]: record for record in sb.shopify.records(entity)}


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def with_entity(spec: ConnectorSpec, name: str, **changes: Any) -> ConnectorSpec:
    """`spec` with one entity changed: connectors are data, so a variant is a copy."""
    entities = tuple(
        entity.model_copy(update=changes) if entity.name == name else entity
        for entity in spec.entities
    )
    return spec.model_copy(update={"entities": entities})


def smaller_nested_pages(spec: ConnectorSpec, entity: str, field: str, first: int) -> EntitySpec:
    query = spec.entity(entity).query
    assert query is not None
    return re.sub(rf"{field}\(first: \d+\)", f"{field}(first: {first})", query)  # type: ignore[return-value]


@pytest.mark.parametrize("entity", ["customers", "orders", "products"])
def test_a_walk_yields_every_record_once_with_its_latest_version(sb: Sandbox, entity: str) -> None:
    stream = walk(sb, entity, page_size=7 if entity != "customers" else None)
    got = records(stream)
    expected = truth(sb, entity)

    ids = [numeric(record["id"]) for record in got]
    assert len(ids) == len(set(ids)) == SIZES[entity]
    assert set(ids) == set(expected)
    for record in got:
        assert instant(record["updatedAt"]) == instant(
            expected[numeric(record["id"])]["updated_at"]
        )
    assert stream.stats.requests == stream.stats.pages and stream.stats.retries == 0


def test_nested_connections_arrive_as_whole_plain_lists(sb: Sandbox) -> None:
    """The contract: `lineItems` is the list of line items, every one of them."""
    expected = truth(sb, "orders")
    for order in records(walk(sb, "orders")):
        items = order["lineItems"]
        assert isinstance(items, list)
        want = [item["id"] for item in expected[numeric(order["id"])]["line_items"]]
        assert [numeric(item["id"]) for item in items] == want


def test_a_nested_connection_longer_than_its_page_is_read_to_the_end(sb: Sandbox) -> None:
    """Orders list one line item each here; the rest come through `node(id:)` follow-ups, and
    the landed body holds them too, so a replay from landing gives the same records."""
    query = smaller_nested_pages(GRAPHQL, "orders", "lineItems", 1)
    spec = with_entity(GRAPHQL, "orders", query=query)
    expected = truth(sb, "orders")
    extra = sum(max(0, len(order["line_items"]) - 1) for order in expected.values())
    assert extra > 0

    stream = walk(sb, "orders", spec=spec, page_size=10)
    pages = list(stream)

    got = [record for page in pages for record in page.records]
    assert {numeric(o["id"]): [numeric(i["id"]) for i in o["lineItems"]] for o in got} == {
        order_id: [item["id"] for item in order["line_items"]]
        for order_id, order in expected.items()
    }
    # One follow-up per further line item: the follow-ups ask for as many as fit, and
    # orders here have at most a few.
    assert stream.stats.requests - stream.stats.pages == sum(
        1 for order in expected.values() if len(order["line_items"]) > 1
    )
    for page in pages:
        assert records_from_body(page.body, "data.orders.nodes", connections=True) == page.records


def test_a_nested_connection_left_cut_short_fails_the_page_naming_the_record(
    sb: Sandbox,
) -> None:
    query = smaller_nested_pages(GRAPHQL, "orders", "lineItems", 1)
    spec = with_entity(GRAPHQL, "orders", query=query, nested_connections=())

    with pytest.raises(ExtractError) as error:
        records(walk(sb, "orders", spec=spec, page_size=10))

    message = str(error.value)
    assert "page 1 cannot be landed whole" in message
    assert "gid://shopify/Order/" in message and "'lineItems'" in message
    assert "hasNextPage" in message


def test_an_incremental_walk_asks_by_updated_at_and_gets_exactly_the_changes(
    sb: Sandbox,
) -> None:
    since = instant(sb.shopify.info()["clock"])
    sb.shopify.advance(seconds=3600, updated_fraction=0.05, created=4)

    stream = walk(sb, "customers", since=since)
    got = [numeric(record["id"]) for record in records(stream)]

    changed = [i for i, r in truth(sb, "customers").items() if instant(r["updated_at"]) >= since]
    assert 4 <= len(changed) < SIZES["customers"] // 2
    assert sorted(got) == sorted(changed)
    sent = stream.first_request
    assert sent.variable("query") == f"updated_at:>='{since.strftime('%Y-%m-%dT%H:%M:%SZ')}'"
    assert "sortKey: UPDATED_AT" in (sent.document or "")


def test_the_page_size_is_the_largest_under_the_single_query_cost_limit(sb: Sandbox) -> None:
    """Shopify refuses a query above 1000 points; each page asks for as many as fit."""
    stream = walk(sb, "orders")
    first = stream.first_request
    assert first.cost <= 1000
    bigger = first.with_variable("first", first.variable("first") + 1)
    from integration_assets.extract.graphql_cost import estimate_query_cost

    assert estimate_query_cost(bigger.document or "", dict(bigger.variables)) > 1000
    page = next(iter(stream))
    reported = orjson.loads(page.body)["extensions"]["cost"]["requestedQueryCost"]
    assert reported == first.cost  # our estimate is the vendor's own figure


def test_a_page_size_setting_above_the_cost_limit_is_lowered_to_what_fits(
    sb: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    """`page_size` is one setting for every entity: 250 suits customers, not orders with
    their line items, which get the most that fits and a log line saying so."""
    with caplog.at_level("INFO", logger="integration_assets.extract"):
        orders = walk(sb, "orders", page_size=250)
        customers = walk(sb, "customers", page_size=100)

    assert orders.first_request.variable("first") == 11
    assert customers.first_request.variable("first") == 100
    assert (
        "shopify/orders: page size 250 would cost more than the 1000 points shopify allows in "
        "one query; asking for 11 per page" in caplog.text
    )
    assert len(records(orders)) == SIZES["orders"]


def test_a_query_the_vendor_finds_too_costly_fails_with_its_message(sb: Sandbox) -> None:
    """Without the cost ceiling in the spec the client cannot know; the vendor's
    MAX_COST_EXCEEDED then fails at once, saying what to change."""
    limit = GRAPHQL.rate_limit.model_copy(update={"max_request_cost": None})
    spec = GRAPHQL.model_copy(update={"rate_limit": limit})

    with pytest.raises(GraphQLQueryError) as error:
        records(walk(sb, "orders", spec=spec))

    message = str(error.value)
    assert "query 'Sync' costs more than the vendor allows in one query" in message
    assert "MAX_COST_EXCEEDED" in message and "lower the page size" in message
    assert error.value.attempts == 1 and sb.shopify.stats().total == 1


def test_throttled_answers_are_retried_without_spending_attempts_or_losing_records(
    sb: Sandbox,
) -> None:
    """THROTTLED is not a failure: with one attempt allowed per page, a walk through many
    throttled answers still completes, every record once."""
    sb.shopify.set_faults(rate_limits=True, graphql_throttled_rate=0.4, seed=3)

    stream = walk(sb, "customers", page_size=20, max_attempts=1)
    ids = [numeric(record["id"]) for record in records(stream)]

    assert len(ids) == len(set(ids)) == SIZES["customers"]
    assert set(ids) == set(truth(sb, "customers"))
    stats = stream.stats
    assert stats.throttled >= 3 and stats.pages == 15
    assert stats.requests == stats.pages + stats.throttled == stats.pages + stats.retries


def test_a_vendor_that_never_stops_throttling_is_given_up_on_with_a_clear_error(
    sb: Sandbox,
) -> None:
    sb.shopify.set_faults(rate_limits=True, graphql_throttled_rate=1.0)

    with pytest.raises(ExtractError) as error:
        records(walk(sb, "customers", page_size=20))

    message = str(error.value)
    assert "throttled 101 times on one request" in message
    assert "GraphQL error THROTTLED: Throttled" in message and "run later" in message


def test_a_throttled_page_waits_for_the_points_it_needs(sb: Sandbox) -> None:
    """Another client spent the bucket and our limiter does not know: the vendor throttles,
    and the wait is computed from its answer (requested cost less what is available, at the
    restore rate), after which the page goes through."""
    sb.shopify.set_faults(rate_limits=True)
    spend(sb, times=7)
    sleeps = Sleeps(real=True)

    stream = walk(sb, "customers", page_size=80, sleep=sleeps, limiter=UnlimitedLimiter())
    page = next(iter(stream))

    assert len(page.records) == 80 and stream.stats.throttled >= 1
    requested = stream.first_request.cost  # 482 points, about 250 left after the spending
    assert 0 < sleeps.calls[0] <= requested / 100.0
    assert stream.stats.retry_wait_seconds == pytest.approx(sum(sleeps.calls))


def test_an_error_inside_a_200_is_retried_and_shows_the_vendors_message(sb: Sandbox) -> None:
    sb.shopify.set_faults(graphql_error_rate=0.3, seed=4)
    stream = walk(sb, "customers", page_size=20)
    ids = [numeric(record["id"]) for record in records(stream)]
    assert sorted(ids) == sorted(truth(sb, "customers"))
    assert stream.stats.server_errors > 0
    assert stream.stats.retries == stream.stats.server_errors

    sb.shopify.set_faults(graphql_error_rate=1.0, seed=4)
    with pytest.raises(ExtractError) as error:
        records(walk(sb, "customers", max_attempts=3))
    message = str(error.value)
    assert "gave up after 3 attempts" in message
    assert "INTERNAL_SERVER_ERROR: Internal error. Looks like something went wrong on our end" in (
        message
    )


def test_a_query_the_schema_refuses_fails_at_once_naming_entity_and_query(sb: Sandbox) -> None:
    query = (GRAPHQL.entity("customers").query or "").replace("firstName", "firstNaem")
    spec = with_entity(GRAPHQL, "customers", query=query)

    with pytest.raises(GraphQLQueryError) as error:
        records(walk(sb, "customers", spec=spec))

    message = str(error.value)
    assert message.startswith("shopify/customers (connection 'gql-")
    assert "the vendor refused query 'Sync' on POST" in message
    assert "Field 'firstNaem' doesn't exist on type 'Customer'" in message
    assert "not retried" in message and error.value.attempts == 1
    assert sb.shopify.stats().total == 1


def test_a_wrong_token_is_an_authentication_error_naming_the_variable(sb: Sandbox) -> None:
    stream = PageStream(
        GRAPHQL,
        "customers",
        connection(sb),
        secrets={"access_token": "shpat_wrong"},
        settings=ExtractSettings(),
    )
    with pytest.raises(AuthenticationError) as error:
        records(stream)
    assert "SANDBOX_SHOP_TOKEN" in str(error.value) and "shpat_wrong" not in str(error.value)


def test_an_id_walk_reads_ids_only_and_every_one(sb: Sandbox) -> None:
    stream = walk(sb, "orders", ids_only=True)
    got = records(stream)
    assert {numeric(r["id"]) for r in got} == set(truth(sb, "orders"))
    assert all(set(record) == {"id", "updatedAt"} for record in got)
    assert stream.first_request.variable("first") == 250  # cheap: 252 points a page


def test_the_cost_limiter_resyncs_from_the_vendors_bucket(sb: Sandbox) -> None:
    """Another client of the same app spends most of the shop's bucket; our limiter believes
    its own bucket full until the first answer reports `currentlyAvailable`, then paces the
    next page to what the vendor's bucket will hold instead of being throttled."""
    sb.shopify.set_faults(rate_limits=True)
    spend(sb, times=7)
    sleeps = Sleeps(real=True)

    stream = walk(sb, "customers", page_size=30, sleep=sleeps, conn=connection(sb, None))
    limiter_waits: list[float] = []
    pages = []
    for page in stream:
        pages.append(page)
        limiter_waits.append(stream.stats.rate_limit_wait_seconds)
        if len(pages) == 3:
            break

    first_reported = orjson.loads(pages[0].body)["extensions"]["cost"]["throttleStatus"]
    assert first_reported["currentlyAvailable"] < 400  # the spender's points are gone
    assert limiter_waits[0] == 0  # nothing known before the first answer
    assert limiter_waits[-1] > 0.5  # then paced by the vendor's figures
    assert stream.stats.throttled == 0  # and so never refused
    counts = Counter(numeric(r["id"]) for page in pages for r in page.records)
    assert len(counts) == 90 and set(counts.values()) == {1}


def test_rest_and_graphql_budgets_of_one_shop_are_apart(sb: Sandbox) -> None:
    conn = connection(sb, None)
    rest = walk(sb, "customers", spec=get_connector("shopify", "rest"), conn=conn)
    graphql = walk(sb, "customers", conn=conn)
    assert rest._limiter.store is not graphql._limiter.store  # type: ignore[attr-defined]
    assert graphql._limiter.capacity == 2000 and rest._limiter.capacity == 40  # type: ignore[attr-defined]


def test_the_graphql_call_posts_one_document_with_the_same_care(sb: Sandbox) -> None:
    sb.shopify.set_faults(graphql_error_rate=0.5, seed=8)
    customer_id, customer = next(iter(truth(sb, "customers").items()))
    gid = f"gid://shopify/Customer/{customer_id}"
    with GraphQLClient(
        GRAPHQL,
        connection(sb),
        purpose="lookup",
        secrets={"access_token": sb.shopify.access_token},
        sleep=Sleeps(),
    ) as client:
        for _ in range(6):
            answer = client.execute(
                "query One($id: ID!) { node(id: $id) { id ... on Customer { firstName } } }",
                {"id": gid},
            )
            assert answer["data"]["node"] == {"id": gid, "firstName": customer["first_name"]}
        assert client.stats.server_errors > 0
        assert client.stats.requests == 6 + client.stats.server_errors
        sent = client.stats.requests
        with pytest.raises(ValueError) as error:
            client.execute("query Broken { customers { nodes { id } }")
        with pytest.raises(ValueError) as costly:
            client.execute(
                "{ customers(first: 250) "
                "{ nodes { id defaultAddress { id } lastOrder { customer { id } } } } }"
            )
        assert client.stats.requests == sent  # both refused before sending
    assert "the query was not sent: not a GraphQL document: Syntax Error" in str(error.value)
    assert "cost an estimated 1002 points, above the 1000 the vendor allows" in str(costly.value)
