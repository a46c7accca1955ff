"""One protocol behaviour per test, against purpose-built loopback apps over real HTTP.

The sandbox covers whole syncs; these stage the exact situations it can't promise (a 429 with a
given Retry-After, a body cut short, a 401) and check what the stream asked for, how often it
retried and which sleeps it requested (a `FakeTime`, so nothing actually waits except where a
real timeout is the point).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qsl

import orjson
import pytest
from starlette.types import Receive, Scope, Send

from integration_assets.connectors import get_connector
from integration_assets.connectors.connections import Connection
from integration_assets.extract import (
    AuthenticationError,
    ExtractError,
    ExtractSettings,
    MalformedPageError,
    PageStream,
)
from integration_assets.extract.rate_limit import LeakyBucketLimiter, LocalBucketStore
from integration_assets_tests.extract.loopback import FakeTime, Scripted, ScriptedApp, serve

SHOPIFY = get_connector("shopify", "rest")
KLAVIYO = get_connector("klaviyo")
TOKEN = "shpat_TOPSECRET_0123456789"
PREFIX = "/admin/api/2024-10"


def customers(*ids: int, key: str = "customers") -> bytes:
    return orjson.dumps({key: [{"id": i, "email": f"c{i}@example.com"} for i in ids]})


def shop(base_url: str) -> Connection:
    return Connection(
        name="demo-shop",
        vendor="shopify",
        base_url=base_url,
        secrets={"access_token": "DEMO_SHOP_TOKEN"},
        entities={"customers": "hourly", "orders": "hourly"},
    )


def stream(
    base_url: str,
    time: FakeTime,
    *,
    entity: str = "customers",
    since: datetime | None = None,
    **settings: object,
) -> PageStream:
    """A Shopify stream whose sleeps (backoff and limiter) all go to `time`."""
    limiter = LeakyBucketLimiter(
        SHOPIFY.rate_limit, LocalBucketStore(), clock=time.clock, sleep=time.sleep
    )
    return PageStream(
        SHOPIFY,
        entity,
        shop(base_url),
        since=since,
        settings=ExtractSettings(**settings),  # type: ignore[arg-type]
        secrets={"access_token": TOKEN},
        limiter=limiter,
        sleep=time.sleep,
        clock=time.clock,
        rng=random.Random(42),
    )


@pytest.fixture
def time() -> FakeTime:
    return FakeTime()


def link(base_url: str, page_info: str) -> dict[str, str]:
    url = f"{base_url}{PREFIX}/customers.json?limit=250&page_info={page_info}"
    return {"Link": f'<{url}>; rel="next"'}


def test_link_header_paging_sends_filters_once_then_follows_next_links_verbatim(
    time: FakeTime,
) -> None:
    app = ScriptedApp([])
    with serve(app) as base:
        app.script = [
            Scripted(body=customers(1, 2, key="orders"), headers=link(base, "p2")),
            Scripted(body=customers(3, key="orders"), headers=link(base, "p3")),
            Scripted(body=customers(4, key="orders")),
        ]
        since = datetime(2024, 5, 1, 14, 30, tzinfo=timezone(timedelta(hours=2)))
        pages = stream(base, time, entity="orders", since=since)
        got = [(page.number, [r["id"] for r in page.records]) for page in pages]
    assert got == [(1, [1, 2]), (2, [3]), (3, [4])]
    first, second, third = app.seen
    assert first.path == f"{PREFIX}/orders.json"
    assert parse_qsl(first.query) == [
        ("status", "any"),
        ("limit", "250"),
        ("updated_at_min", "2024-05-01T12:30:00+00:00"),  # in UTC, Shopify's format
    ]
    assert second.query == "limit=250&page_info=p2"  # no filters beside page_info
    assert third.query == "limit=250&page_info=p3"
    assert first.headers["x-shopify-access-token"] == TOKEN
    assert first.headers["accept"] == "application/json"
    assert first.headers["user-agent"].startswith("integration-assets/")
    assert pages.stats.pages == 3 and pages.stats.records == 4 and pages.stats.requests == 3
    assert pages.stats.retries == 0 and pages.stats.bytes > 0


def test_pages_are_yielded_lazily_with_the_raw_body(time: FakeTime) -> None:
    app = ScriptedApp([])
    with serve(app) as base:
        body = customers(1, 2)
        app.script = [Scripted(body=body, headers=link(base, "p2")), Scripted(body=customers())]
        iterator = iter(stream(base, time))
        page = next(iterator)
        assert len(app.seen) == 1  # page 2 not requested before page 1 is consumed
        assert page.body == body and page.status == 200 and page.number == 1
        assert page.url == f"{base}{PREFIX}/customers.json?limit=250"
        assert page.fetched_at.tzinfo is not None
        rest = list(iterator)
    assert [p.records for p in rest] == [[]]


def test_klaviyo_json_next_link_with_revision_header_and_filter(time: FakeTime) -> None:
    app = ScriptedApp([])
    with serve(app) as base:
        nxt = f"{base}/api/profiles/?page%5Bcursor%5D=bmV4dA&page%5Bsize%5D=100"
        app.script = [
            Scripted(body=orjson.dumps({"data": [{"id": "a"}], "links": {"next": nxt}})),
            Scripted(body=orjson.dumps({"data": [{"id": "b"}], "links": {"next": None}})),
        ]
        connection = Connection(
            name="demo-klaviyo",
            vendor="klaviyo",
            base_url=base,
            secrets={"api_key": "KLAVIYO_KEY"},
            entities={"profiles": "hourly"},
        )
        pages = PageStream(
            KLAVIYO,
            "profiles",
            connection,
            since=datetime(2024, 1, 2, 3, 4, 5),  # naive: taken as UTC
            secrets={"api_key": "pk_live_secret"},
            sleep=time.sleep,
            clock=time.clock,
        )
        ids = [r["id"] for page in pages for r in page.records]
    assert ids == ["a", "b"]
    first, second = app.seen
    assert first.path == "/api/profiles/"
    assert parse_qsl(first.query) == [
        ("page[size]", "100"),
        ("filter", "greater-than(updated,2024-01-02T03:04:05Z)"),
    ]
    assert second.query == "page%5Bcursor%5D=bmV4dA&page%5Bsize%5D=100"
    assert first.headers["revision"] == "2024-10-15"
    assert first.headers["authorization"] == "Klaviyo-API-Key pk_live_secret"


def test_429_retry_after_is_waited_and_shared_with_the_limiter(time: FakeTime) -> None:
    app = ScriptedApp(
        [
            Scripted(status=429, headers={"Retry-After": "3.0"}, body=b'{"errors":"Throttled"}'),
            Scripted(body=customers(1)),
        ]
    )
    with serve(app) as base:
        pages = stream(base, time)
        ids = [r["id"] for page in pages for r in page.records]
    assert ids == [1]
    assert pages.stats.throttled == 1 and pages.stats.retries == 1 and pages.stats.requests == 2
    assert time.sleeps == [3.0]  # Retry-After honoured exactly, once (the limiter adds none)


def test_the_wait_is_read_from_the_header_the_rate_limit_spec_names(time: FakeTime) -> None:
    rate_limit = SHOPIFY.rate_limit.model_copy(update={"retry_after_header": "X-Retry-In"})
    spec = SHOPIFY.model_copy(update={"rate_limit": rate_limit})
    app = ScriptedApp(
        [
            Scripted(status=429, headers={"X-Retry-In": "4", "Retry-After": "9"}),
            Scripted(body=customers(1)),
        ]
    )
    with serve(app) as base:
        pages = PageStream(
            spec,
            "customers",
            shop(base),
            since=None,
            secrets={"access_token": TOKEN},
            limiter=LeakyBucketLimiter(
                rate_limit, LocalBucketStore(), clock=time.clock, sleep=time.sleep
            ),
            sleep=time.sleep,
            clock=time.clock,
            rng=random.Random(42),
        )
        assert [r["id"] for page in pages for r in page.records] == [1]
    assert time.sleeps == [4.0]


def test_429_without_retry_after_backs_off_and_still_penalises(time: FakeTime) -> None:
    app = ScriptedApp([Scripted(status=429), Scripted(status=429), Scripted(body=customers(1))])
    with serve(app) as base:
        pages = stream(base, time)
        assert sum(len(page.records) for page in pages) == 1
    assert pages.stats.throttled == 2 and pages.stats.retries == 2
    assert len(time.sleeps) >= 2 and all(s >= 0 for s in time.sleeps)


def test_503_with_an_http_date_retry_after(time: FakeTime) -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    app = ScriptedApp(
        [Scripted(status=503, headers={"Retry-After": when}), Scripted(body=customers(1))]
    )
    with serve(app) as base:
        pages = stream(base, time)
        assert sum(len(page.records) for page in pages) == 1
    assert pages.stats.server_errors == 1
    assert len(time.sleeps) == 1 and 115 <= time.sleeps[0] <= 120


def test_retry_after_beyond_the_accepted_maximum_fails_clearly(time: FakeTime) -> None:
    app = ScriptedApp([Scripted(status=429, headers={"Retry-After": "7200"})])
    with serve(app) as base, pytest.raises(ExtractError, match="asked us to wait 7200 s"):
        list(stream(base, time))


def test_5xx_then_success_backs_off_with_jitter_within_the_ceiling(time: FakeTime) -> None:
    app = ScriptedApp([Scripted(status=500), Scripted(status=502), Scripted(body=customers(1))])
    with serve(app) as base:
        pages = stream(base, time, backoff_base=0.5, backoff_cap=30.0)
        assert sum(len(p.records) for p in pages) == 1
    assert pages.stats.server_errors == 2 and pages.stats.retries == 2
    assert len(time.sleeps) == 2
    assert 0 <= time.sleeps[0] <= 0.5 and 0 <= time.sleeps[1] <= 1.0


def test_exhausting_attempts_reports_the_last_answer(time: FakeTime) -> None:
    app = ScriptedApp([Scripted(status=503, body=b"upstream down")])
    with serve(app) as base, pytest.raises(ExtractError) as caught:
        list(stream(base, time))
    message = str(caught.value)
    assert message == (
        f"shopify/customers (connection 'demo-shop'): gave up after 6 attempts on GET "
        f"{base}{PREFIX}/customers.json?limit=250 — last answer HTTP 503"
    )
    assert caught.value.status == 503 and caught.value.attempts == 6
    assert len(app.seen) == 6 and len(time.sleeps) == 5
    ceilings = [0.5, 1.0, 2.0, 4.0, 8.0]
    assert all(0 <= s <= c for s, c in zip(time.sleeps, ceilings, strict=True))


def test_a_timeout_is_retried(time: FakeTime) -> None:
    app = ScriptedApp([Scripted(delay=0.6, body=customers(1)), Scripted(body=customers(1))])
    with serve(app) as base:
        pages = stream(base, time, timeout_seconds=0.15)
        assert [r["id"] for p in pages for r in p.records] == [1]
    assert pages.stats.timeouts == 1 and pages.stats.retries == 1


def test_timeouts_on_every_attempt_give_up_naming_the_timeout(time: FakeTime) -> None:
    app = ScriptedApp([Scripted(delay=0.4)])
    with (
        serve(app) as base,
        pytest.raises(ExtractError, match=r"gave up after 2 attempts .* timed out after 0.1 s"),
    ):
        list(stream(base, time, timeout_seconds=0.1, max_attempts=2))


class TruncatingApp:
    """Promises a Content-Length, sends half of it, then hangs up (a connection cut mid-body)."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls += 1
        body = customers(1, 2, 3)
        if self.calls == 1:
            headers = [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body[: len(body) // 2]})
            raise RuntimeError("connection cut")  # uvicorn closes the socket mid-body
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})


def test_a_body_cut_short_on_the_wire_is_retried(time: FakeTime) -> None:
    app = TruncatingApp()
    with serve(app) as base:
        pages = stream(base, time)
        assert [r["id"] for p in pages for r in p.records] == [1, 2, 3]
    assert pages.stats.connection_errors == 1 and pages.stats.retries == 1


def test_a_malformed_page_is_retried_a_couple_of_times_then_succeeds(time: FakeTime) -> None:
    app = ScriptedApp([Scripted(body=customers(1)[:9]), Scripted(body=customers(1))])
    with serve(app) as base:
        pages = stream(base, time)
        assert [r["id"] for p in pages for r in p.records] == [1]
    assert pages.stats.malformed == 1 and pages.stats.retries == 1


def test_a_persistently_malformed_page_names_the_page_url_and_position(time: FakeTime) -> None:
    app = ScriptedApp([])
    with serve(app) as base:
        app.script = [
            Scripted(body=customers(1), headers=link(base, "p2")),
            Scripted(body=b'{"customers": [{"id": 2}, {"id": 3'),
        ]
        pages = stream(base, time)
        with pytest.raises(MalformedPageError) as caught:
            for _ in pages:
                pass
    error = caught.value
    assert error.page == 2 and error.attempts == 3  # first try + 2 malformed retries
    assert error.position == 34 and error.line == 1
    assert error.url == f"{base}{PREFIX}/customers.json?limit=250&page_info=p2"
    assert str(error).startswith(
        f"shopify/customers (connection 'demo-shop'): page 2 was malformed after 3 attempts "
        f"on GET {base}{PREFIX}/customers.json?limit=250&page_info=p2 — HTTP 200, body is not "
        f"valid JSON (unexpected end of data at line 1 column 35, char 34"
    )
    assert pages.stats.malformed == 3


def test_a_page_without_the_records_path_is_malformed(time: FakeTime) -> None:
    app = ScriptedApp([Scripted(body=b'{"orders": []}')])
    with serve(app) as base, pytest.raises(MalformedPageError, match="no records at 'customers'"):
        list(stream(base, time))


def test_401_is_not_retried_and_names_the_env_var_not_the_token(time: FakeTime) -> None:
    app = ScriptedApp(
        [
            Scripted(
                status=401,
                body=b'{"errors":"[API] Invalid API key or access token ('
                + TOKEN.encode()
                + b')"}',
            )
        ]
    )
    with serve(app) as base, pytest.raises(AuthenticationError) as caught:
        list(stream(base, time))
    message = str(caught.value)
    assert len(app.seen) == 1
    assert message.startswith(
        "shopify/customers (connection 'demo-shop'): authentication failed on GET "
    )
    assert "HTTP 401" in message
    assert "check the environment variable DEMO_SHOP_TOKEN (the shopify access_token)" in message
    for text in (message, repr(caught.value), repr(caught.value.args), caught.value.reason):
        assert TOKEN not in text


def test_404_is_refused_without_retry(time: FakeTime) -> None:
    app = ScriptedApp([Scripted(status=404, body=b'{"errors":"Not Found"}')])
    with serve(app) as base, pytest.raises(ExtractError, match=r"request refused .* HTTP 404"):
        list(stream(base, time))
    assert len(app.seen) == 1 and time.sleeps == []


def test_a_vendor_pointing_back_to_a_read_page_is_a_loop_error(time: FakeTime) -> None:
    app = ScriptedApp([])
    with serve(app) as base:
        app.script = [
            Scripted(body=customers(1), headers=link(base, "p2")),
            Scripted(body=customers(2), headers=link(base, "p2")),
        ]
        with pytest.raises(ExtractError, match="pagination loop after page 2"):
            list(stream(base, time))


def test_a_next_link_to_another_port_is_refused_and_nothing_is_sent_there(
    time: FakeTime,
) -> None:
    app, elsewhere = ScriptedApp([]), ScriptedApp([Scripted(body=customers(2))])
    with serve(app) as base, serve(elsewhere) as other:
        app.script = [Scripted(body=customers(1), headers=link(other, "p2"))]
        with pytest.raises(ExtractError) as caught:
            list(stream(base, time))
    message = str(caught.value)
    assert "leaves the connection's origin" in message
    assert f"points to {other}, not {base}" in message
    assert "page_info" not in message and TOKEN not in message
    assert len(app.seen) == 1 and elsewhere.seen == []


@pytest.mark.parametrize(
    "swap",
    [
        lambda base: base.replace("127.0.0.1", "localhost"),  # another host, same server
        lambda base: base.replace("http://", "https://"),  # another scheme
        lambda base: base + "@evil.example",  # the base as userinfo: the host is evil.example
    ],
)
def test_a_next_link_to_another_host_or_scheme_is_refused(time: FakeTime, swap: Any) -> None:
    app = ScriptedApp([])
    with serve(app) as base:
        app.script = [Scripted(body=customers(1), headers=link(swap(base), "p2"))]
        with pytest.raises(ExtractError, match="leaves the connection's origin") as caught:
            list(stream(base, time))
    assert len(app.seen) == 1
    assert f"{base}@" not in str(caught.value)  # never the userinfo part


def test_a_next_link_on_the_same_origin_written_differently_is_followed(time: FakeTime) -> None:
    app = ScriptedApp([])
    with serve(app) as base:
        upper = base.replace("http://", "HTTP://")
        app.script = [
            Scripted(body=customers(1), headers=link(upper, "p2")),
            Scripted(body=customers()),
        ]
        assert [p.number for p in stream(base, time)] == [1, 2]
    assert len(app.seen) == 2


def test_connection_refused_is_retried_then_reported(time: FakeTime) -> None:
    app = ScriptedApp([Scripted()])
    with serve(app) as base:
        pass  # the port is closed again: nobody listens
    with pytest.raises(
        ExtractError, match=r"gave up after 3 attempts .* last attempt failed: ConnectError"
    ):
        list(stream(base, time, max_attempts=3))


def test_breaking_early_closes_the_client(time: FakeTime) -> None:
    app = ScriptedApp([])
    with serve(app) as base:
        app.script = [Scripted(body=customers(1), headers=link(base, "p2"))]
        pages = stream(base, time)
        iterator: Iterator = iter(pages)
        next(iterator)
        pages.close()
        assert pages._client is None
        with pytest.raises(RuntimeError, match="only once"):
            iter(pages)


def test_a_page_gives_up_at_its_deadline_not_after_every_retry_after(time: FakeTime) -> None:
    app = ScriptedApp([Scripted(status=429, headers={"Retry-After": "250"})])
    started = time.now
    with serve(app) as base, pytest.raises(ExtractError) as caught:
        list(stream(base, time, page_deadline_seconds=600.0))
    # 0 s, 250 s, 500 s: a fourth try would start at 750 s, past the 600 s deadline.
    assert time.sleeps == [250.0, 250.0]
    assert len(app.seen) == 3 and caught.value.attempts == 3
    assert time.now - started <= 600.0
    assert "gave up after 3 attempts in 500 s" in str(caught.value)
    assert "past this page's 600 s deadline" in str(caught.value)
