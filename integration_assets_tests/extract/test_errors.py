"""Errors read as one actionable sentence and never carry a secret."""

from __future__ import annotations

from integration_assets.extract.errors import ExtractError, redact_url, scrub


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
