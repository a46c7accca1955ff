"""Errors read as one actionable sentence and never carry a secret."""

from __future__ import annotations

from integration_assets.extract.errors import ExtractError, json_api_error_text, redact_url, scrub


def test_redact_url_hides_secret_looking_params_and_userinfo() -> None:
    url = (
        "https://user:hunter2@h.example/api/x?limit=250&api_key=sk_live_1&access_token=t0k"
        "&signature=abc&page_info=xyz&Password=p&sig=s&author=ann"
    )
    redacted = redact_url(url)
    for secret in ("hunter2", "sk_live_1", "t0k", "=abc", "=p&", "sig=s"):
        assert secret not in redacted
    assert redacted.startswith("https://***@h.example/api/x?limit=250&api_key=***")
    assert "page_info=xyz" in redacted
    assert "author=ann" in redacted


def test_redact_url_leaves_innocent_urls_byte_for_byte() -> None:
    url = "http://127.0.0.1:8701/admin/api/2024-10/customers.json?limit=250&page_info=a%2Cb"
    assert redact_url(url) == url


def test_scrub_replaces_secret_values() -> None:
    assert scrub("bad key sk_123 given", ["sk_123", ""]) == "bad key *** given"


def test_message_is_one_sentence_naming_everything() -> None:
    error = ExtractError(
        vendor="shopify",
        connection="demo-shop",
        entity="customers",
        method="GET",
        url="http://127.0.0.1:8701/admin/api/2024-10/customers.json?limit=250&token=abc",
        summary="gave up after 6 attempts",
        reason="last answer HTTP 503",
        status=503,
        attempts=6,
    )
    assert str(error) == (
        "shopify/customers (connection 'demo-shop'): gave up after 6 attempts on GET "
        "http://127.0.0.1:8701/admin/api/2024-10/customers.json?limit=250&token=*** "
        "— last answer HTTP 503"
    )
    assert (error.status, error.attempts, error.vendor) == (503, 6, "shopify")


def test_a_json_api_error_document_is_quoted_by_its_code_and_detail() -> None:
    body = (
        b'{"errors":[{"id":"3dc44d8c-e241-4090-9d85-643184919ba9","status":400,"code":"invalid",'
        b'"title":"Invalid input.","detail":"Invalid filter provided.","source":{"parameter":'
        b'"filter"}},{"code":"invalid","title":"Page size must be between 1 and 100."}]}'
    )

    assert json_api_error_text(body) == (
        "invalid: Invalid filter provided.; invalid: Page size must be between 1 and 100."
    )


def test_other_error_bodies_are_not_json_api_errors() -> None:
    for body in (b'{"errors":"Not Found"}', b"<html>503</html>", b"[]", b'{"errors":[1]}'):
        assert json_api_error_text(body) is None
