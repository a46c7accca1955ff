"""An independent oracle: what the warehouse should hold for the sandbox's current data.

It reads the same mapping files as the product, but converts values with the plainest
possible code (no compiled getters, no shared converters), so a bug in the product's mapping
or load cannot hide by being repeated here. Comparisons are record by record: ids, every
mapped value, child rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from integration_assets.mapping.spec import FieldMapping, MappingSpec, NestedMapping


def dig(record: Any, path: str) -> Any:
    value = record
    for part in path.split("."):
        if isinstance(value, list) and part.isdigit():
            value = value[int(part)] if int(part) < len(value) else None
        elif isinstance(value, dict):
            value = value.get(part)
        else:
            return None
    return value


def convert(value: Any, type_: str) -> Any:
    if value is None:
        return None
    if type_ == "integer":
        return int(value)
    if type_ == "float":
        return float(value)
    if type_ == "decimal":
        return Decimal(str(value))
    if type_ == "date":
        return value if isinstance(value, date) else date.fromisoformat(value[:10])
    if type_ == "datetime":
        if isinstance(value, int | float):
            return datetime.fromtimestamp(value, UTC)
        return datetime.fromisoformat(value).astimezone(UTC)
    return value


def transform(value: Any, name: str) -> Any:
    """The named transforms, written out plainly (GraphQL ids, enums, tag lists)."""
    if name == "gid_numeric_id":
        return int(value.split("?")[0].rsplit("/", 1)[1])
    if name == "lowercase":
        return value.lower()
    if name == "join":
        return ", ".join(value)
    raise ValueError(f"the oracle does not know transform {name!r}")


def _value(record: dict, field: FieldMapping) -> Any:
    if field.source is None:  # no source in this API: always NULL
        return None
    value = dig(record, field.source)
    for name in field.transforms:
        value = None if value is None else transform(value, name)
    if field.enum is not None and value is not None:
        if value in field.enum.values:
            value = field.enum.values[value]
        elif field.enum.unknown == "null":
            value = None
        elif field.enum.unknown == "error":
            raise ValueError(f"{field.target}: unknown enum value {value!r}")
    return value


def _row(record: dict, fields: Iterable[FieldMapping]) -> dict[str, Any]:
    row = {}
    for field in fields:
        value = _value(record, field)
        if value is None and field.default is not None:
            value = field.default
        row[field.target] = convert(value, field.type.value)
    return row


def expected_tables(spec: MappingSpec, records: Iterable[dict]) -> dict[str, dict[tuple, dict]]:
    """{table: {primary key tuple: row}} for the given raw records."""
    fields = [m for m in spec.mappings if isinstance(m, FieldMapping)]
    children = [m for m in spec.mappings if isinstance(m, NestedMapping)]
    tables: dict[str, dict[tuple, dict]] = {spec.table: {}}
    for child in children:
        tables[child.nested.table] = {}
    for record in records:
        parent = _row(record, fields)
        tables[spec.table][tuple(parent[k] for k in spec.primary_key)] = parent
        for child in children:
            child_fields = child.nested.mappings
            for item in dig(record, child.source) or []:
                row = {
                    col: parent[parent_col] for col, parent_col in child.nested.parent_key.items()
                }
                row.update(_row(item, child_fields))
                tables[child.nested.table][tuple(row[k] for k in child.nested.primary_key)] = row
    return tables
