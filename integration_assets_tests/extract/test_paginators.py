"""Each paginator kind decides the next request from the last answer alone."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from integration_assets.connectors.spec import PaginatorSpec
from integration_assets.extract.paginators import (
    PageRequest,
    find_link,
    paginator_for,
    parse_link_header,
)

SHOPIFY_LINK = (
    '<https://shop.example/admin/api/2024-10/customers.json?limit=250&page_info=prev123>; rel="previous", '
    '<https://shop.example/admin/api/2024-10/customers.json?limit=250&page_info=next,456>; rel="next"'
)


def _spec(kind: str, **fields: str) -> PaginatorSpec:
    return PaginatorSpec(
        kind=kind, page_size_param="limit", page_size=10, max_page_size=10, **fields
    )  # type: ignore[arg-type]


def test_link_header_with_several_links_and_a_comma_in_a_url() -> None:
    links = parse_link_header(SHOPIFY_LINK)
    assert [sorted(link.rels) for link in links] == [["previous"], ["next"]]
    assert links[1].url.endswith("page_info=next,456")
    assert find_link(SHOPIFY_LINK, "next") == links[1].url
    assert find_link(SHOPIFY_LINK, "NEXT") == links[1].url


def test_link_header_quoted_params_multiple_rels_and_unquoted_rel() -> None:
    value = '<https://a/x?p=1>; title="a, b; c"; rel="last next", <https://a/y>;rel=prev'
    links = parse_link_header(value)
    assert links[0].params["title"] == "a, b; c"
    assert links[0].rels == {"last", "next"}
    assert links[1].rels == {"prev"}
    assert find_link("", "next") is None
    assert find_link(None, "next") is None
    assert find_link('<https://a/x>; rel="previous"', "next") is None


def test_link_header_next_url_is_followed_exactly_as_given() -> None:
    paginator = paginator_for(_spec("link_header"))
    first = PageRequest(
        "https://shop.example/admin/api/2024-10/customers.json",
        (("limit", "250"), ("updated_at_min", "2024-01-01T00:00:00+00:00")),
    )
    following = paginator.next_request(first, {"link": SHOPIFY_LINK}, {}, 250)
    assert following is not None
    assert following.params == ()  # none of our filters re-added beside page_info
    assert following.full_url == (
        "https://shop.example/admin/api/2024-10/customers.json?limit=250&page_info=next,456"
    )
    assert paginator.next_request(first, {}, {}, 250) is None
    assert paginator.next_request(first, {"Link": SHOPIFY_LINK}, {}, 0) is None


def test_link_header_relative_target_resolves_against_the_request() -> None:
    paginator = paginator_for(_spec("link_header"))
    current = PageRequest("https://h/api/items", (("limit", "5"),))
    following = paginator.next_request(
        current, {"Link": '</api/items?cursor=b>; rel="next"'}, {}, 5
    )
    assert following is not None and following.full_url == "https://h/api/items?cursor=b"


def test_json_next_link_at_a_dotted_path() -> None:
    paginator = paginator_for(_spec("json_next_link", next_path="links.next"))
    current = PageRequest("https://a.klaviyo.com/api/profiles/", (("page[size]", "100"),))
    nxt = "https://a.klaviyo.com/api/profiles/?page%5Bcursor%5D=abc&page%5Bsize%5D=100"
    following = paginator.next_request(current, {}, {"links": {"next": nxt}, "data": []}, 3)
    assert following is not None and following.full_url == nxt
    assert paginator.next_request(current, {}, {"links": {"next": None}}, 3) is None
    assert paginator.next_request(current, {}, {"links": {}}, 3) is None
    assert paginator.next_request(current, {}, {"data": []}, 3) is None


def test_cursor_token_is_sent_back_keeping_the_first_params() -> None:
    paginator = paginator_for(_spec("cursor", next_path="meta.next_cursor", cursor_param="cursor"))
    current = PageRequest("https://h/items", (("limit", "10"), ("since", "x")))
    second = paginator.next_request(current, {}, {"meta": {"next_cursor": "c1"}}, 10)
    assert second is not None
    assert dict(second.params) == {"limit": "10", "since": "x", "cursor": "c1"}
    third = paginator.next_request(second, {}, {"meta": {"next_cursor": "c2"}}, 10)
    assert third is not None and third.param("cursor") == "c2"
    assert [k for k, _ in third.params].count("cursor") == 1
    assert paginator.next_request(third, {}, {"meta": {"next_cursor": ""}}, 10) is None
    assert paginator.next_request(third, {}, {"meta": {}}, 10) is None


def test_offset_advances_by_records_received() -> None:
    paginator = paginator_for(_spec("offset", offset_param="offset"))
    current = PageRequest("https://h/items", (("limit", "10"),))
    second = paginator.next_request(current, {}, {}, 7)  # vendor capped the page at 7
    assert second is not None and second.param("offset") == "7"
    third = paginator.next_request(second, {}, {}, 7)
    assert third is not None and third.param("offset") == "14"
    assert paginator.next_request(third, {}, {}, 0) is None


def test_page_number_counts_from_one() -> None:
    paginator = paginator_for(_spec("page_number", page_param="page"))
    current = PageRequest("https://h/items", (("limit", "10"),))
    second = paginator.next_request(current, {}, {}, 10)
    assert second is not None and second.param("page") == "2"
    third = paginator.next_request(second, {}, {}, 10)
    assert third is not None
    assert dict(parse_qsl(urlsplit(third.full_url).query)) == {"limit": "10", "page": "3"}
    assert paginator.next_request(third, {}, {}, 0) is None
