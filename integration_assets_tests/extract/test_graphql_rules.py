"""The GraphQL rules as pure functions: Shopify's cost arithmetic, the cost-aware bucket
(acquire points, refund the unused part, resync from the body, in process and in Redis),
Relay connections flattened, and what each error code inside a 200 means.

Time is a `FakeTime`: sleeps are recorded and advance the clock, so the tests see exactly
which waits the limiter asks for without waiting.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import redis

from integration_assets.connectors import get_connector
from integration_assets.connectors.spec import GraphQLErrorSpec
from integration_assets.extract.graphql_cost import (
    QueryCostError,
    estimate_query_cost,
    largest_page_size,
)
from integration_assets.extract.graphql_errors import graphql_verdict
from integration_assets.extract.rate_limit import (
    CostReport,
    LeakyBucketLimiter,
    LocalBucketStore,
    RateLimitKey,
    RedisBucketStore,
    limiter_for,
)
from integration_assets.extract.records import (
    TruncatedConnection,
    flatten_connections,
    records_from_body,
)
from integration_assets_tests.extract.loopback import FakeTime
from integration_assets_tests.services import service_unavailable

GRAPHQL = get_connector("shopify")
COST = GRAPHQL.rate_limit  # 2000 points restoring 100/s, 1000 per query at most
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def test_costs_follow_shopifys_published_rules() -> None:
    """Scalars 0, objects 1, a connection 2 + first x (one node), nesting multiplies; the
    docs' own example: `productVariants(first: 250) { nodes { id } }` is 252."""
    assert estimate_query_cost("{ productVariants(first: 250) { nodes { id } } }") == 252
    assert (
        estimate_query_cost("query($n: Int!) { orders(first: $n) { nodes { id } } }", {"n": 10})
        == 12
    )
    nested = (
        "{ orders(first: 10) { nodes { customer { id } lineItems(first: 5) { nodes { id } } } } }"
    )
    assert estimate_query_cost(nested) == 2 + 10 * (1 + 1 + (2 + 5 * 1))
    assert estimate_query_cost("mutation { tagsAdd(id: 1, tags: []) { node { id } } }") == 10


def test_the_page_size_is_the_largest_that_fits_and_a_hopeless_query_says_so() -> None:
    orders = GRAPHQL.entity("orders").query or ""
    fits = largest_page_size(orders, {}, "first", ceiling=250, max_cost=1000)
    assert estimate_query_cost(orders, {"first": fits}) <= 1000
    assert estimate_query_cost(orders, {"first": fits + 1}) > 1000
    with pytest.raises(QueryCostError, match="even one record per page costs"):
        largest_page_size(orders, {}, "first", ceiling=250, max_cost=50)
    with pytest.raises(QueryCostError, match=r"takes its page size from \$first"):
        estimate_query_cost(orders)


def _cost_limiter(time: FakeTime, store: object | None = None) -> LeakyBucketLimiter:
    return LeakyBucketLimiter(
        COST,
        store or LocalBucketStore(),  # type: ignore[arg-type]
        clock=time.clock,
        sleep=time.sleep,
    )


def test_a_cost_bucket_acquires_points_and_waits_for_the_restore() -> None:
    time = FakeTime()
    limiter = _cost_limiter(time)
    assert [limiter.acquire(990.0) for _ in range(2)] == [0.0, 0.0]  # 1980 of 1990 usable
    assert limiter.acquire(990.0) == pytest.approx(9.8)  # 980 points more, at 100/s


def test_the_unused_cost_goes_back_into_the_bucket() -> None:
    """Shopify charges the requested cost, then refunds requested - actual."""
    time = FakeTime()
    limiter = _cost_limiter(time)
    for _ in range(2):
        limiter.acquire(990.0)
        limiter.observe_cost(CostReport(990.0, 90.0, None, None, None), charged=990.0)
    assert limiter.acquire(990.0) == 0.0  # only 180 points were really spent


def test_a_throttled_answer_is_all_refunded_and_its_figures_say_the_wait() -> None:
    time = FakeTime()
    limiter = _cost_limiter(time)
    limiter.acquire(500.0)
    report = CostReport(500.0, None, 120.0, 2000.0, 100.0)  # not run: actual is null
    limiter.observe_cost(report, charged=500.0)
    assert report.wait_for(500.0) == pytest.approx(3.8)
    # The vendor's level (1880 used) replaced ours; the next 500 points wait the same 3.8 s
    # plus the tenth of a second of headroom the limiter keeps.
    assert limiter.acquire(500.0) == pytest.approx(3.9)


def test_a_bigger_plans_report_maps_onto_our_bucket_and_only_ever_raises() -> None:
    """A Plus shop reports 20000 points (restoring 1000/s): its level is scaled to the bucket
    we model, so every limiter sharing the store reads it on one scale; a report below our
    own level is stale (requests of other streams are in flight) and changes nothing."""
    time = FakeTime()
    limiter = _cost_limiter(time)
    limiter.observe_cost(CostReport(10.0, 10.0, 10000.0, 20000.0, 1000.0), charged=10.0)
    assert limiter.acquire(990.0) == pytest.approx(0.0 + (1000 + 990 - 1990) / 100)
    limiter.observe_cost(CostReport(10.0, 10.0, 20000.0, 20000.0, 1000.0), charged=0.0)
    assert limiter.acquire(10.0) == pytest.approx(0.1)


def test_rest_and_graphql_budgets_have_keys_of_their_own() -> None:
    rest = limiter_for(get_connector("shopify", "rest"), "customers", "shop", redis_url="")
    graphql = limiter_for(GRAPHQL, "customers", "shop", redis_url="")
    assert rest.store is not graphql.store
    assert RateLimitKey("shopify", "shop", api="graphql").as_string() == "shopify.graphql:shop"
    assert RateLimitKey("shopify", "shop").as_string() == "shopify:shop"


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        service_unavailable(f"Redis at {REDIS_URL} is unreachable: {exc}")
    prefix = f"test-ia-{uuid.uuid4().hex}"
    yield prefix
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


def test_a_cost_bucket_in_redis_is_shared_and_refunds_atomically(redis_prefix: str) -> None:
    time = FakeTime()
    key = f"{redis_prefix}:shopify.graphql:shop"
    one = _cost_limiter(time, RedisBucketStore(redis.Redis.from_url(REDIS_URL), key))
    two = _cost_limiter(time, RedisBucketStore(redis.Redis.from_url(REDIS_URL), key))
    assert one.acquire(990.0) == 0.0 and two.acquire(990.0) == 0.0
    one.observe_cost(CostReport(990.0, 10.0, None, None, None), charged=990.0)
    assert two.acquire(980.0) == 0.0  # the refund reached the other instance
    assert one.acquire(990.0) == pytest.approx(9.8)


def test_nested_connections_become_plain_lists_at_any_depth() -> None:
    order = {
        "id": "gid://shopify/Order/1",
        "customer": {"id": "gid://shopify/Customer/2"},
        "lineItems": {
            "nodes": [
                {"id": "l1", "discounts": {"edges": [{"node": {"code": "A"}}]}},
                {"id": "l2", "discounts": {"edges": []}},
            ],
            "pageInfo": {"hasNextPage": False, "endCursor": "c"},
        },
        "tags": ["x"],
    }
    flat = flatten_connections(order)
    assert flat["lineItems"] == [
        {"id": "l1", "discounts": [{"code": "A"}]},
        {"id": "l2", "discounts": []},
    ]
    assert flat["customer"] == {"id": "gid://shopify/Customer/2"} and flat["tags"] == ["x"]
    assert flatten_connections(dict(flat)) == flat  # idempotent


def test_a_connection_cut_short_is_refused_naming_record_and_field() -> None:
    body = (
        b'{"data": {"orders": {"nodes": [{"id": "gid://shopify/Order/7", "lineItems": '
        b'{"nodes": [{"id": "l1"}], "pageInfo": {"hasNextPage": true, "endCursor": "c"}}}]}}}'
    )
    with pytest.raises(TruncatedConnection) as error:
        records_from_body(body, "data.orders.nodes", connections=True)
    assert "'gid://shopify/Order/7'" in error.value.reason and "'lineItems'" in error.value.reason
    # Other vendors' records are not walked at all.
    assert records_from_body(body, "data.orders.nodes")[0]["lineItems"]["nodes"] == [{"id": "l1"}]


@pytest.mark.parametrize(
    ("codes", "kind"),
    [
        (["THROTTLED"], "throttled"),
        (["INTERNAL_SERVER_ERROR"], "retryable"),
        (["INTERNAL_SERVER_ERROR", "undefinedField"], "refused"),
        (["ACCESS_DENIED"], "access_denied"),
        (["MAX_COST_EXCEEDED"], "max_cost"),
        ([None], "refused"),
    ],
)
def test_each_error_code_inside_a_200_has_its_meaning(codes: list[str | None], kind: str) -> None:
    spec = GRAPHQL.graphql.errors if GRAPHQL.graphql else GraphQLErrorSpec()
    errors = [
        {"message": f"m{i}", **({"extensions": {"code": code}} if code else {})}
        for i, code in enumerate(codes)
    ]
    verdict = graphql_verdict(spec, {"data": None, "errors": errors})
    assert verdict is not None and verdict.kind == kind
    assert graphql_verdict(spec, {"data": {}, "errors": []}) is None
