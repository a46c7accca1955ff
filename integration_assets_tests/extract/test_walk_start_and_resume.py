"""What a stream tells a sync beyond its pages: when the walk began, and where it goes on."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import islice

import httpx
import orjson

from integration_assets.connectors import get_connector
from integration_assets.connectors.connections import Connection
from integration_assets.connectors.spec import PaginatorSpec
from integration_assets.extract import PageRequest, PageStream, paginator_for
from integration_assets.extract.paginators import resume_request
from integration_assets.extract.rate_limit import UnlimitedLimiter
from integration_assets.timestamps import parse_http_date

SHOPIFY = get_connector("shopify", "rest")
BASE = "https://shop.example"
PREFIX = "/admin/api/2024-10/customers.json"


def _connection() -> Connection:
    return Connection(
        name="demo-shop",
        vendor="shopify",
        base_url=BASE,
        secrets={"access_token": "DEMO_SHOP_TOKEN"},
        entities={"customers": "hourly"},
    )


def _stream(
    handler: httpx.MockTransport, resume_from: PageRequest | None = None, first_page: int = 1
) -> PageStream:
    return PageStream(
        SHOPIFY,
        "customers",
        _connection(),
        secrets={"access_token": "shpat_x"},
        limiter=UnlimitedLimiter(),
        client=httpx.Client(transport=handler),
        resume_from=resume_from,
        first_page=first_page,
    )


def _answer(page: int, next_query: str | None, date: str | None = None) -> httpx.Response:
    headers = {}
    if next_query:
        headers["Link"] = f'<{BASE}{PREFIX}?{next_query}>; rel="next"'
    if date:
        headers["Date"] = date
    body = orjson.dumps({"customers": [{"id": page}]})
    return httpx.Response(200, stream=httpx.ByteStream(body), headers=headers)


def test_the_walk_start_is_the_first_answers_date_and_falls_back_to_our_clock() -> None:
    answers = iter(
        [
            _answer(1, "limit=250&page_info=p2", "Tue, 01 Oct 2024 12:00:00 GMT"),
            _answer(2, None, "Tue, 01 Oct 2024 13:00:00 GMT"),
        ]
    )
    stream = _stream(httpx.MockTransport(lambda request: next(answers)))
    list(stream)
    assert stream.walk_started_at == datetime(2024, 10, 1, 12, tzinfo=UTC)

    before = datetime.now(UTC)
    undated = _stream(httpx.MockTransport(lambda request: _answer(1, None)))
    list(undated)
    assert undated.walk_started_at is not None
    assert before <= undated.walk_started_at <= datetime.now(UTC)
    assert parse_http_date("not a date") is None and parse_http_date(None) is None


def test_pages_say_where_the_walk_goes_on_and_a_stream_resumes_there() -> None:
    answers = iter([_answer(1, "limit=250&page_info=p2"), _answer(2, "limit=250&api_key=s3")])
    with _stream(httpx.MockTransport(lambda request: next(answers))) as stream:
        pages = list(islice(stream, 2))
    assert pages[0].next_url == f"{BASE}{PREFIX}?limit=250&page_info=p2"
    assert not pages[0].last
    # A next URL with a credential-looking parameter is never handed out for storing.
    assert pages[1].next_url is None and not pages[1].last

    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return _answer(7, None)

    resumed = _stream(
        httpx.MockTransport(handler),
        resume_from=resume_request(SHOPIFY.paginator, pages[0].next_url or ""),
        first_page=7,
    )
    (page,) = list(resumed)
    assert seen == [f"{BASE}{PREFIX}?limit=250&page_info=p2"]  # exactly as stored
    assert page.number == 7 and page.last and page.next_url is None


def test_numbered_paging_resumes_with_its_parameters_split_back_out() -> None:
    spec = PaginatorSpec(
        kind="offset", page_size_param="limit", page_size=2, max_page_size=2, offset_param="skip"
    )
    resumed = resume_request(spec, "https://api.example/items?limit=2&since=x&skip=4")
    assert resumed.url == "https://api.example/items"
    assert resumed.param("skip") == "4"
    following = paginator_for(spec).next_request(resumed, {}, {}, 2)
    assert following is not None
    assert following.full_url == "https://api.example/items?limit=2&since=x&skip=6"
    assert spec.resumable
