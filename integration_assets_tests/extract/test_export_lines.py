"""Reassembling an export file: each record gets its children back, one family in memory."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest

from integration_assets.extract.export_lines import (
    ExportFormatError,
    FamilyAssembler,
    reassemble,
)
from integration_assets.extract.records import frame_records, records_from_body

GID = r"^gid://[^/]+/([^/]+)/"


def _assembler(children: dict[str, str]) -> FamilyAssembler:
    return FamilyAssembler(
        children, parent_field="__parentId", type_field="__typename", id_type_pattern=GID
    )


def _lines(*objects: dict) -> Iterator[tuple[bytes, int]]:
    offset = 0
    for item in objects:
        line = orjson.dumps(item) + b"\n"
        offset += len(line)
        yield line, offset


def test_children_go_back_into_their_parents_list_in_file_order() -> None:
    lines = _lines(
        {"id": "gid://shopify/Order/1", "name": "#1"},
        {"id": "gid://shopify/LineItem/11", "sku": "a", "__parentId": "gid://shopify/Order/1"},
        {"id": "gid://shopify/LineItem/12", "sku": "b", "__parentId": "gid://shopify/Order/1"},
        {"id": "gid://shopify/Order/2", "name": "#2"},
        {"id": "gid://shopify/Order/3", "name": "#3"},
        {"id": "gid://shopify/LineItem/31", "sku": "c", "__parentId": "gid://shopify/Order/3"},
    )
    records = [f.record for f in reassemble(lines, _assembler({"LineItem": "lineItems"}))]
    assert records == [
        {
            "id": "gid://shopify/Order/1",
            "name": "#1",
            "lineItems": [
                {"id": "gid://shopify/LineItem/11", "sku": "a"},
                {"id": "gid://shopify/LineItem/12", "sku": "b"},
            ],
        },
        # A record without children has an empty list, as a paginated record does.
        {"id": "gid://shopify/Order/2", "name": "#2", "lineItems": []},
        {
            "id": "gid://shopify/Order/3",
            "name": "#3",
            "lineItems": [{"id": "gid://shopify/LineItem/31", "sku": "c"}],
        },
    ]


def test_each_record_ends_at_the_byte_after_its_last_line() -> None:
    objects = [
        {"id": "gid://shopify/Product/1"},
        {"id": "gid://shopify/ProductVariant/5", "__parentId": "gid://shopify/Product/1"},
        {"id": "gid://shopify/Product/2"},
    ]
    ends = [end for _, end in _lines(*objects)]
    families = list(reassemble(_lines(*objects), _assembler({"ProductVariant": "variants"})))
    assert [f.end for f in families] == [ends[1], ends[2]]
    assert [f.objects for f in families] == [2, 3]  # objects of the file through each end


def test_a_child_is_recognised_by_its_typename_when_its_id_says_nothing() -> None:
    lines = _lines(
        {"id": "p-1"},
        {"id": "v-9", "__typename": "ProductVariant", "__parentId": "p-1"},
    )
    [family] = reassemble(lines, _assembler({"ProductVariant": "variants"}))
    assert family.record == {
        "id": "p-1",
        "variants": [{"id": "v-9", "__typename": "ProductVariant"}],
    }


def test_a_grandchild_goes_into_its_own_parent() -> None:
    lines = _lines(
        {"id": "gid://shopify/Product/1"},
        {"id": "gid://shopify/ProductVariant/5", "__parentId": "gid://shopify/Product/1"},
        {"id": "gid://shopify/Metafield/7", "__parentId": "gid://shopify/ProductVariant/5"},
    )
    children = {"ProductVariant": "variants", "Metafield": "metafields"}
    [family] = reassemble(lines, _assembler(children))
    variant = family.record["variants"][0]
    assert variant["metafields"] == [{"id": "gid://shopify/Metafield/7"}]


def test_a_child_after_another_parent_is_an_error_naming_the_line() -> None:
    lines = _lines(
        {"id": "gid://shopify/Order/1"},
        {"id": "gid://shopify/Order/2"},
        {"id": "gid://shopify/LineItem/11", "__parentId": "gid://shopify/Order/1"},
    )
    with pytest.raises(ExportFormatError) as raised:
        list(reassemble(lines, _assembler({"LineItem": "lineItems"})))
    assert raised.value.line == 3
    assert "does not keep children right after their parent" in str(raised.value)


def test_a_child_of_an_undeclared_type_is_an_error_not_a_dropped_record() -> None:
    lines = _lines(
        {"id": "gid://shopify/Order/1"},
        {"id": "gid://shopify/Refund/4", "__parentId": "gid://shopify/Order/1"},
    )
    with pytest.raises(ExportFormatError, match="type 'Refund' that the entity does not declare"):
        list(reassemble(lines, _assembler({"LineItem": "lineItems"})))


def test_a_line_that_is_not_a_json_object_is_an_error() -> None:
    lines = iter([(b'{"id": "a"}\n', 12), (b"[1, 2]\n", 19)])
    with pytest.raises(ExportFormatError, match="line 2 of the export file: a list"):
        list(reassemble(lines, _assembler({})))


def test_blank_lines_are_not_objects() -> None:
    lines = iter([(b'{"id": "a"}\n', 12), (b"\n", 13), (b'{"id": "b"}', 24)])
    assembler = _assembler({})
    families = list(reassemble(lines, assembler))
    assert [f.record["id"] for f in families] == ["a", "b"]
    assert assembler.lines == 2


def test_a_framed_page_parses_back_to_the_same_records() -> None:
    records = [{"id": "gid://shopify/Order/1", "lineItems": [{"id": "x"}]}]
    body = frame_records("data.orders.nodes", records)
    assert orjson.loads(body) == {"data": {"orders": {"nodes": records}}}
    assert records_from_body(body, "data.orders.nodes") == records
    assert records_from_body(frame_records("data.orders.nodes", []), "data.orders.nodes") == []
