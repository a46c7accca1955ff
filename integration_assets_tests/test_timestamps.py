"""The one timestamp rule, as every reader of an instant applies it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from integration_assets.connectors.spec import IncrementalSpec
from integration_assets.load.state import parse_cursor
from integration_assets.load.types import parse_utc_iso
from integration_assets.mapping.converters import ConversionError, to_datetime
from integration_assets.sync.cursor import CursorTracker
from integration_assets.timestamps import (
    NO_OFFSET,
    TimestampError,
    instant_from_iso,
    parse_http_date,
    parse_instant,
)

NOON = datetime(2024, 5, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-05-01T12:00:00Z", NOON),
        ("2024-05-01T14:00:00+02:00", NOON),
        ("2024-05-01T07:00:00-05:00", NOON),
        (int(NOON.timestamp()), NOON),
        (NOON.timestamp(), NOON),
        ("2024-05-01T12:00:00", None),  # no offset: unknown instant
        ("2024-05-01", None),
        ("yesterday", None),
        ("", None),
        (True, None),
        (None, None),
        (10**20, None),  # epoch out of range
        ({"at": 1}, None),
    ],
)
def test_the_lenient_reader(value: object, expected: datetime | None) -> None:
    assert parse_instant(value) == expected


def test_every_reader_agrees_on_a_timestamp_without_an_offset() -> None:
    naive = "2024-05-01T12:00:00"
    with pytest.raises(TimestampError, match="no UTC offset"):
        instant_from_iso(naive)
    assert parse_cursor(naive) is None
    with pytest.raises(ConversionError) as refused:
        to_datetime(naive)
    assert refused.value.detail == NO_OFFSET
    with pytest.raises(ValueError, match="always stores an offset"):
        parse_utc_iso(naive)
    tracker = CursorTracker(IncrementalSpec(cursor_field="at", params={}), naive)
    tracker.observe([{"at": naive}])
    assert tracker.cursor is None


def test_every_reader_agrees_on_an_offset_and_z() -> None:
    for text in ("2024-05-01T12:00:00Z", "2024-05-01T12:00:00+00:00"):
        assert parse_cursor(text) == to_datetime(text) == parse_utc_iso(text) == NOON
    assert NO_OFFSET in str(TimestampError(NO_OFFSET))


@pytest.mark.parametrize(
    ("value", "detail"),
    [
        ("yesterday", "not an ISO 8601 timestamp"),
        ("0001-01-01T00:00:00+01:00", "outside the representable years"),
        (10**20, "epoch seconds out of range"),
        (datetime(2024, 5, 1, 12), NO_OFFSET),
    ],
)
def test_the_converter_keeps_its_reasons(value: object, detail: str) -> None:
    with pytest.raises(ConversionError) as refused:
        to_datetime(value)
    assert refused.value.detail == detail


def test_http_dates() -> None:
    assert parse_http_date("Wed, 01 May 2024 12:00:00 GMT") == NOON
    assert parse_http_date("garbage") is None
