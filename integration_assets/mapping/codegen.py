"""Turns the fields of one table into a single specialised Python function that maps a record.

Mapping runs over millions of records, so the per-field work must be what a hand-written
loop would do: fetch the value, convert it, put it in the row. A generic interpreter (loop
over field objects, call a getter, call a converter, store) spends most of its time on the
looping itself. Instead, the compiler emits the straight-line function a person would have
written for this mapping, with one `try` per field, then `exec`s it once.

Safety: nothing from a mapping file is pasted into the code as text except column names,
which are validated identifiers (`^[a-z][a-z0-9_]*$`). Source keys, converters, defaults and
transforms and error builders are passed in as bound names (`_k3`, `_pk1`, `_t3`, `_c3`, `_d3`,
`_f3`). The generated
source is kept on the function (`__source__`) so it can be read when debugging.

Bad data versus bugs: each field's `try` quarantines only `BAD_VALUE_ERRORS`; any other
exception is re-raised as `MappingBugError` naming the table, column and source path.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from integration_assets.mapping import reasons
from integration_assets.mapping.converters import ConversionError, Converter
from integration_assets.mapping.errors import MappingBugError
from integration_assets.mapping.spec import check_identifier
from integration_assets.mapping.transforms import Steps
from integration_assets.paths import Getter, PathError
from integration_assets.schema import PARENT_ROW, ColumnType, Row

# When the raw value already is what the converter would return, skip the call. Each
# condition must accept exactly the values its converter returns unchanged.
_FAST_PATH: dict[ColumnType, str] = {
    ColumnType.STRING: "type(raw) is str",
    ColumnType.BOOLEAN: "type(raw) is bool",
    ColumnType.INTEGER: f"type(raw) is int and {-(2**63)} <= raw <= {2**63 - 1}",
}

BAD_VALUE_ERRORS: tuple[type[Exception], ...] = (ConversionError, PathError)
"""What a converter or getter raises for bad data: the record is quarantined with a reason.
Anything else it raises is a bug in that code, and the run fails with `MappingBugError`
rather than quarantining every record for a reason that is not theirs."""

Failure = Callable[[BaseException, int | None], str]
Missing = Callable[[int | None], str]
RowFunction = Callable[..., Row]


@dataclass(frozen=True)
class FieldPlan:
    """One column of a table, resolved: how to get its raw value and convert it."""

    target: str
    source: str | None  # None: no source in this API's records, the column is always NULL
    segments: tuple[str, ...]
    getter: Getter | None
    transform: Steps | None
    convert: Converter
    column_type: ColumnType
    required: bool
    default: Any
    sensitive: bool


def _failure(table: str, plan: FieldPlan, list_source: str | None) -> Failure:
    def fail(exc: BaseException, index: int | None) -> str:
        where = reasons.location(table, plan.target, plan.source, list_source, index)
        return f"{where}: {reasons.problem(exc, plan.column_type.value, plan.sensitive)}"

    return fail


def _bug(table: str, plan: FieldPlan, list_source: str | None) -> Callable[[Exception], Exception]:
    def bug(exc: Exception) -> Exception:
        source = f"{list_source}[].{plan.source}" if list_source is not None else plan.source
        return MappingBugError(table, plan.target, source, exc)

    return bug


def _missing(table: str, plan: FieldPlan, list_source: str | None) -> Missing:
    def missing(index: int | None) -> str:
        where = reasons.location(table, plan.target, plan.source, list_source, index)
        return f"{where}: {reasons.missing()}"

    return missing


def _fetch_code(number: int, plan: FieldPlan, prefixes: dict[tuple[str, ...], int]) -> str:
    if len(plan.segments) == 1:
        return f"get(_k{number})"
    holder = f"p{prefixes[plan.segments[:-1]]}"
    # Anything but an object on the way (null, list, scalar) takes the full getter, which
    # knows list indexes and reports a payload whose shape changed.
    return f"{holder}.get(_k{number}) if type({holder}) is dict else _g{number}(record)"


def _prefix_code(prefixes: dict[tuple[str, ...], int]) -> list[str]:
    """Fetch each shared object (`default_address`, `attributes.location`) once per record."""
    lines = []
    for prefix, number in prefixes.items():
        if len(prefix) == 1:
            lines.append(f"    p{number} = get(_pk{number})")
        else:
            holder = f"p{prefixes[prefix[:-1]]}"
            lines.append(
                f"    p{number} = {holder}.get(_pk{number}) if type({holder}) is dict else None"
            )
    return lines


def _field_code(number: int, plan: FieldPlan, index: str, fetch: str) -> list[str]:
    value = f"v{number}"
    if plan.source is None:
        return [f"    # {plan.target}: {plan.column_type.value}, no source", f"    {value} = None"]
    if plan.required:
        when_none = [f"{value} = None", f"errors.append(_m{number}({index}))"]
    elif isinstance(plan.default, dict | list):
        # A JSON default must not be one object shared by every row.
        when_none = [f"{value} = _copy(_d{number})"]
    else:
        when_none = [f"{value} = _d{number}"]
    fast_path = _FAST_PATH.get(plan.column_type)
    if fast_path:  # a value that needs no conversion is the common case: test it first
        branches = [
            f"        if {fast_path}:",
            f"            {value} = raw",
            "        elif raw is None:",
        ]
    else:
        branches = ["        if raw is None:"]
    # A transform (and enum map) sees only values: None stays None, then meets the default.
    transform = (
        ["        if raw is not None:", f"            raw = _t{number}(raw)"]
        if plan.transform is not None
        else []
    )
    return [
        f"    # {plan.target}: {plan.column_type.value}",
        "    try:",
        f"        raw = {fetch}",
        *transform,
        *branches,
        *(f"            {line}" for line in when_none),
        "        else:",
        f"            {value} = _c{number}(raw)",
        "    except _BAD_VALUE as exc:",
        f"        {value} = None",
        f"        errors.append(_f{number}(exc, {index}))",
        "    except Exception as exc:",
        f"        raise _b{number}(exc) from exc",
    ]


def _prefixes(fields: Sequence[FieldPlan]) -> dict[tuple[str, ...], int]:
    """Every object path that holds a field, parents before children, numbered."""
    prefixes: dict[tuple[str, ...], int] = {}
    for plan in fields:
        for length in range(1, len(plan.segments)):
            prefixes.setdefault(plan.segments[:length], len(prefixes))
    return prefixes


def build_row_function(
    table: str,
    fields: Sequence[FieldPlan],
    parent_key: Sequence[tuple[str, str]] = (),
    list_source: str | None = None,
    padding: Sequence[str] = (),
) -> RowFunction:
    """Compile `fields` into `f(record, errors) -> row`, or, for a child table (when
    `list_source` is given), `f(item, errors, index, parent_row) -> row` whose row starts with
    the `parent_key` columns (child column, parent column) copied from the parent row.

    The function appends one reason per failing field to `errors` and always returns a row
    (failed fields are None), so the caller sees every problem of a record at once. A child
    row also holds its parent row under `PARENT_ROW`. `padding` are columns of the warehouse
    table that these fields lack (another connection's override has them): they are None in
    every row, written as constants into the row literal, so padding costs nothing per row.
    """
    for name in (
        table,
        *(plan.target for plan in fields),
        *(n for pair in parent_key for n in pair),
        *padding,
    ):
        check_identifier(name)  # they are written into the code; never trust a caller blindly
    is_child = list_source is not None
    namespace: dict[str, Any] = {"_copy": copy.deepcopy, "_BAD_VALUE": BAD_VALUE_ERRORS}
    index = "index" if is_child else "None"
    lines = [
        "def map_row(record, errors, index, parent):"
        if is_child
        else "def map_row(record, errors):",
        "    get = record.get",
    ]
    prefixes = _prefixes(fields)
    for prefix, number in prefixes.items():
        namespace[f"_pk{number}"] = prefix[-1]
    lines.extend(_prefix_code(prefixes))
    for number, plan in enumerate(fields):
        namespace[f"_k{number}"] = plan.segments[-1] if plan.segments else None
        namespace[f"_g{number}"] = plan.getter
        namespace[f"_c{number}"] = plan.convert
        namespace[f"_t{number}"] = plan.transform
        namespace[f"_d{number}"] = plan.default
        namespace[f"_f{number}"] = _failure(table, plan, list_source)
        namespace[f"_m{number}"] = _missing(table, plan, list_source)
        namespace[f"_b{number}"] = _bug(table, plan, list_source)
        fetch = _fetch_code(number, plan, prefixes) if plan.segments else ""
        lines.extend(_field_code(number, plan, index, fetch))
    items = [f"{child!r}: parent[{parent!r}]" for child, parent in parent_key]
    items += [f"{plan.target!r}: v{number}" for number, plan in enumerate(fields)]
    items += [f"{name!r}: None" for name in padding]
    if is_child:
        items.append(f"{PARENT_ROW!r}: parent")
    lines.append("    return {" + ", ".join(items) + "}")
    source = "\n".join(lines) + "\n"
    exec(compile(source, f"<mapping {table}>", "exec"), namespace)
    function: RowFunction = namespace["map_row"]
    function.__source__ = source  # type: ignore[attr-defined]
    return function
