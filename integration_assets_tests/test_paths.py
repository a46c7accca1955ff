"""The one dotted-path resolver: what a path means for mapping, cursor, redaction and extract."""

from __future__ import annotations

import pytest

from integration_assets.connectors.spec import IncrementalSpec
from integration_assets.paths import (
    PathError,
    PathNotFound,
    build_getter,
    lookup,
    lookup_optional,
    parse_path,
)
from integration_assets.sync.cursor import CursorTracker

RECORD = {"a": {"b": None, "list": [{"c": 1}], "n": 5}, "top": "x"}


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("top", "x"),
        ("a.list.0.c", 1),
        ("a.list.1.c", None),  # index past the end
        ("a.b.c", None),  # null on the way
        ("a.missing.c", None),  # missing key on the way
        ("nothing", None),
    ],
)
def test_the_getter_reads_absent_as_none(path: str, value: object) -> None:
    assert build_getter(parse_path(path))(RECORD) == value


@pytest.mark.parametrize("path", ["a.n.c", "a.list.c", "top.x.y"])
def test_the_getter_refuses_a_scalar_or_list_where_an_object_should_be(path: str) -> None:
    with pytest.raises(PathError):
        build_getter(parse_path(path))(RECORD)


@pytest.mark.parametrize("path", ["", "a..b", "a.*", " a"])
def test_bad_paths_are_refused_when_parsed(path: str) -> None:
    with pytest.raises(ValueError):
        parse_path(path)


def test_lookup_tells_not_found_from_null() -> None:
    assert lookup(RECORD, "a.b") is None
    assert lookup(RECORD, "a.list.0.c") == 1
    with pytest.raises(PathNotFound, match=r"path 'a\.zz' not found \(no 'zz'\)"):
        lookup(RECORD, "a.zz")
    assert lookup_optional(RECORD, "a.n.c") is None


def test_the_cursor_tracker_resolves_its_field_like_the_mapping() -> None:
    tracker = CursorTracker(IncrementalSpec(cursor_field="meta.times.0", params={}), None)
    tracker.observe(
        [
            {"meta": {"times": ["2024-01-02T00:00:00Z"]}},
            {"meta": "not an object"},  # another shape: no cursor value, not a crash
            {"meta": None},
        ]
    )
    assert tracker.cursor == "2024-01-02T00:00:00+00:00"
