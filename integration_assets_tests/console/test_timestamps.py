"""Reading the vendors' delivery timestamps in the spellings they send (pure unit stories)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from starlette.datastructures import Headers

from integration_assets.connectors import get_connector
from integration_assets.console.verify import Refused, check_timestamp

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _spec(vendor: str):  # type: ignore[no-untyped-def]
    spec = get_connector(vendor).webhooks
    assert spec is not None
    return spec


def test_shopify_nanosecond_triggered_at_is_read() -> None:
    headers = Headers({"X-Shopify-Triggered-At": "2026-11-30T11:58:27.877041743Z"})

    when = check_timestamp(_spec("shopify"), headers, NOW, 300)

    assert when == datetime(2026, 11, 30, 11, 58, 27, 877041, tzinfo=UTC)


@pytest.mark.parametrize("stamp", ["Mon, 30 Nov 2026 11:59:00 GMT", "2026-11-30T11:59:00+00:00"])
def test_klaviyo_timestamp_is_read_as_an_http_date_or_iso(stamp: str) -> None:
    when = check_timestamp(_spec("klaviyo"), Headers({"Klaviyo-Timestamp": stamp}), NOW, 300)

    assert when == datetime(2026, 11, 30, 11, 59, tzinfo=UTC)


@pytest.mark.parametrize("stamp", ["", "yesterday", "2026-11-30T11:59:00"])
def test_a_missing_or_unreadable_timestamp_is_refused_401(stamp: str) -> None:
    headers = Headers({"Klaviyo-Timestamp": stamp} if stamp else {})

    with pytest.raises(Refused) as refused:
        check_timestamp(_spec("klaviyo"), headers, NOW, 300)

    assert refused.value.status == 401
