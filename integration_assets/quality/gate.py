"""The quality gate of a sync: a Pandera schema per table, built from the entity's rules.

`Gate(rules)` builds, once per run, a `pandera.pandas.DataFrameSchema` for the entity's own
table and each child table it has rules for:

- `required` (and key columns) → non-nullable columns: **completeness**;
- `format`, `pattern`, `unique` → column checks: **validity** (types were already settled
  by the mapping, whose rejects count as validity or completeness failures);
- `min`/`max` and checksum field checks (`gtin_checksum`) → **accuracy**;
- registered entity checks (`updated_after_created`, `order_total_balances`) →
  dataframe-wide checks of the own table: **consistency**.

`Gate.validate(batch)` validates a mapped batch lazily (every failure of every row, one
Pandera call per table) and turns the failure cases into per-record reasons: each names the
table, column, check and dimension, and shows the value only when it is not personal data
(`mapping/masking.py`). A child row's failure fails its parent record: a record is loaded
whole or not at all, as in the mapping. `ReportBuilder` sums the verdicts of a sync's
batches into a `ValidationReport`.

**Backend: pandas, by measurement.** `python -m bench.validation_backends 100000 3`
validates 100,000 mapped Shopify orders (~250,000 line items, batches of 10,000, the shipped
rules) per backend, in turns, each in its own process, on this shared 2-core machine (load
average 5-8, so wall times swing by 2x; CPU seconds are steadier). Frames are built the same
way for both (decimals as float64, instants as epoch seconds), and the polars side is a
leaner schema (no reasons, plain `is_unique`), so it is favoured:

- pandas: wall 1.47-3.50 s over 12 runs (median 2.3 s), CPU 1.28-1.43 s (3 runs); peak
  RSS +2 MB;
- polars 2.1 + pandera[polars]: wall 1.20-3.23 s over 12 runs (median 2.1 s), CPU
  1.13-1.28 s (3 runs); peak RSS +64 MB (the polars runtime itself).

Polars saves about a tenth of the CPU of this step, and costs 64 MB plus a dependency:
pandas stays (it is a dependency of pandera[pandas] already). This step is not where a
long sync's quality cost lies: `bench/validation_throughput.py` (1,000,000 orders) puts
the whole gate at about 31% of the sync, most of it the validation pre-pass mapping every
page a second time, then building these frames row by row (about 6 of the gate's 10.5 s
per 100,000 orders) and profiling; Pandera's own checks are about 3 s of it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from integration_assets.mapping.masking import describe_value
from integration_assets.quality.checks import (
    ENTITY_CHECKS,
    FIELD_CHECKS,
    PARENT_POSITION,
    BatchFrames,
)
from integration_assets.quality.formats import FORMATS
from integration_assets.quality.model import Assessment, Dimension, FailureCount, ValidationReport
from integration_assets.quality.rules import FieldRule, QualityRules
from integration_assets.schema import (
    PARENT_ROW,
    ColumnType,
    MappedBatch,
    RejectedRecord,
    Row,
    join_key,
)

KEY = "__key"
"""Frame column holding the row's primary key as text (for `unique` and examples)."""
MAX_EXAMPLES = 5
MAX_FAILURE_KINDS = 20
_NULLABLE_CHECK = "not_nullable"
_NUMERIC_TYPES = frozenset({"integer", "float", "decimal"})


@dataclass(frozen=True)
class _CheckMeta:
    """What one Pandera check stands for, to turn its failure cases into reasons."""

    check: str
    dimension: Dimension
    table: str
    column: str | None
    detail: str
    show_value: bool


@dataclass
class BatchVerdict:
    """What the gate decided about one mapped batch's own records."""

    records: int
    """Parent rows validated (mapping rejects are not in here)."""
    reasons: dict[int, list[str]] = field(default_factory=dict)
    """Position of each failing parent row → every reason it failed."""
    failed_checks: dict[int, list[tuple[str, Dimension, str | None]]] = field(default_factory=dict)
    evaluated: Counter[Dimension] = field(default_factory=Counter)
    failed: Counter[Dimension] = field(default_factory=Counter)

    @property
    def passed(self) -> int:
        return self.records - len(self.reasons)


_NAN = float("nan")


def _column_values(rows: Sequence[Row], column: str, kind: ColumnType | None) -> Any:
    """A frame column of `rows`: decimals as float64 (a cent survives the conversion; ranges
    and balances are compared within a cent) and datetimes as epoch seconds, because pandas
    handles neither `Decimal` nor aware `datetime` objects at C speed."""
    if kind is ColumnType.DECIMAL or kind is ColumnType.FLOAT:
        values = [row[column] for row in rows]
        return np.array([_NAN if v is None else float(v) for v in values], dtype=np.float64)
    if kind is ColumnType.DATETIME:
        values = [row[column] for row in rows]
        return np.array([_NAN if v is None else v.timestamp() for v in values], dtype=np.float64)
    return [row[column] for row in rows]


def _as_float(values: pd.Series) -> pd.Series:
    if values.dtype.kind == "f":
        return values
    return pd.to_numeric(values, errors="coerce")


def _between(low: float | None, high: float | None) -> Callable[[pd.Series], pd.Series]:
    def test(values: pd.Series) -> pd.Series:
        numbers = _as_float(values)
        passes = pd.Series(True, index=values.index)
        if low is not None:
            passes &= numbers >= low
        if high is not None:
            passes &= numbers <= high
        return passes

    return test


def _pattern(regex: str) -> Callable[[pd.Series], pd.Series]:
    compiled = re.compile(regex)

    def test(values: pd.Series) -> pd.Series:
        return values.astype(str).str.fullmatch(compiled).fillna(False).astype(bool)

    return test


def _unique(column: str) -> Callable[[pd.DataFrame], pd.Series]:
    """No two different records share a value; versions of one record (same key) may.
    Blank text is no value (see `quality.formats`): two customers without an e-mail share
    nothing."""

    def test(frame: pd.DataFrame) -> pd.Series:
        values = frame[column]
        present = values.notna()
        if values.dtype.kind not in "biuf":
            present &= values.astype(str).str.strip().str.len() > 0
        keys = frame.loc[present, KEY].groupby(frame.loc[present, column]).transform("nunique")
        passes = pd.Series(True, index=frame.index)
        passes[present] = keys <= 1
        return passes

    return test


def _range_text(rule: FieldRule) -> str:
    low = "-inf" if rule.min is None else f"{rule.min:g}"
    high = "inf" if rule.max is None else f"{rule.max:g}"
    return f"outside [{low}, {high}]"


class _TablePlan:
    """The Pandera schema of one table and the columns its frame needs."""

    def __init__(self, gate: Gate, table: str, rules: Sequence[FieldRule], own: bool) -> None:
        self.table = table
        self.meta: dict[str, _CheckMeta] = {}
        self.nullable_meta: dict[str, _CheckMeta] = {}
        self.evaluations: Counter[Dimension] = Counter()
        columns: dict[str, pa.Column] = {}
        frame_checks: list[pa.Check] = []
        self.key_columns = gate.rules.primary_keys[table]
        self.needs_key = False
        """Whether the frame carries `KEY` (for `unique`)."""
        needed = set()
        for rule in rules:
            before = len(frame_checks)
            checks = self._field_checks(rule, frame_checks)
            if not checks and not rule.required and len(frame_checks) == before:
                continue
            needed.add(rule.column)
            columns[rule.column] = pa.Column(nullable=not rule.required, checks=checks)
            if rule.required:
                self.nullable_meta[rule.column] = _CheckMeta(
                    "required", Dimension.COMPLETENESS, table, rule.column, "missing", False
                )
                self.evaluations[Dimension.COMPLETENESS] += 1
        if own:
            for name in gate.rules.entity_checks:
                check = ENTITY_CHECKS[name]
                tables = gate.rules.tables
                needed.update(check.columns(tables).get(table, ()))
                frame_checks.append(
                    pa.Check(
                        gate.entity_test(name),
                        name=self._name(name, check.dimension, None, check.description, False),
                    )
                )
                self.evaluations[check.dimension] += 1
        self.columns = tuple(sorted(needed))
        schema = gate.rules.tables.table
        if schema.name != table:
            schema = gate.rules.tables.child(table) or schema
        self.types = {column.name: column.type for column in schema.columns}
        self.schema = pa.DataFrameSchema(columns, checks=frame_checks, strict=False)
        self.active = bool(columns or frame_checks)

    def _name(
        self, check: str, dimension: Dimension, column: str | None, detail: str, show: bool
    ) -> str:
        name = f"q{len(self.meta)}"
        self.meta[name] = _CheckMeta(check, dimension, self.table, column, detail, show)
        return name

    def _field_checks(self, rule: FieldRule, frame_checks: list[pa.Check]) -> list[pa.Check]:
        """The column checks of `rule`; dataframe-wide ones (`unique`) go to `frame_checks`."""
        show = not rule.sensitive
        checks: list[pa.Check] = []

        def add(check: str, dimension: Dimension, test: Any, detail: str) -> None:
            name = self._name(check, dimension, rule.column, detail, show)
            checks.append(pa.Check(test, name=name))
            self.evaluations[dimension] += 1

        if rule.format is not None:
            fmt = FORMATS[rule.format]
            add(rule.format, Dimension.VALIDITY, fmt.test, f"not {fmt.description}")
        if rule.pattern is not None:
            add("pattern", Dimension.VALIDITY, _pattern(rule.pattern), "does not match pattern")
        if rule.min is not None or rule.max is not None:
            add("range", Dimension.ACCURACY, _between(rule.min, rule.max), _range_text(rule))
        for check_name in rule.checks:
            check = FIELD_CHECKS[check_name]
            add(check_name, check.dimension, check.test, f"not {check.description}")
        if rule.unique:
            name = self._name(
                "unique", Dimension.VALIDITY, rule.column, "shared by another record", show
            )
            frame_checks.append(pa.Check(_unique(rule.column), name=name))
            self.evaluations[Dimension.VALIDITY] += 1
            self.needs_key = True
        return checks

    def frame(self, rows: Sequence[Row], parents: dict[int, int] | None) -> pd.DataFrame:
        data: dict[str, Any] = {
            column: _column_values(rows, column, self.types.get(column)) for column in self.columns
        }
        if self.needs_key:
            keys = self.key_columns
            data[KEY] = [join_key([row[column] for column in keys]) for row in rows]
        if parents is not None:
            data[PARENT_POSITION] = [parents[id(row[PARENT_ROW])] for row in rows]
        return pd.DataFrame(data, index=pd.RangeIndex(len(rows)))


class Gate:
    """The compiled quality rules of one entity; validates its mapped batches."""

    def __init__(self, rules: QualityRules) -> None:
        self.rules = rules
        self._frames: BatchFrames | None = None
        own = rules.table
        self._plans = {
            table: _TablePlan(self, table, table_rules, own=table == own)
            for table, table_rules in rules.fields.items()
        }
        self._child_columns = self._entity_child_columns()

    @property
    def threshold(self) -> float:
        return self.rules.settings.threshold

    def _entity_child_columns(self) -> dict[str, tuple[str, ...]]:
        wanted: dict[str, set[str]] = {}
        for name in self.rules.entity_checks:
            for table, columns in ENTITY_CHECKS[name].columns(self.rules.tables).items():
                if table != self.rules.table:
                    wanted.setdefault(table, set()).update(columns)
        return {table: tuple(sorted(columns)) for table, columns in wanted.items()}

    def entity_test(self, name: str) -> Callable[[pd.DataFrame], pd.Series]:
        check = ENTITY_CHECKS[name]

        def test(frame: pd.DataFrame) -> pd.Series:
            children = self._frames.children if self._frames is not None else {}
            return check.test(BatchFrames(frame, children), self.rules.tables)

        return test

    def validate(self, batch: MappedBatch) -> BatchVerdict:
        """Every failure of every own record of `batch` (see the module docstring)."""
        own = self.rules.table
        parent_rows = batch.rows.get(own, [])
        verdict = BatchVerdict(records=len(parent_rows))
        if not parent_rows:
            return verdict
        positions = {id(row): position for position, row in enumerate(parent_rows)}
        children: dict[str, pd.DataFrame] = {}
        for table, columns in self._child_columns.items():
            rows = batch.rows.get(table, [])
            child = self.rules.tables.child(table)
            types = {column.name: column.type for column in child.columns} if child else {}
            data: dict[str, Any] = {c: _column_values(rows, c, types.get(c)) for c in columns}
            data[PARENT_POSITION] = [positions[id(row[PARENT_ROW])] for row in rows]
            children[table] = pd.DataFrame(data, index=pd.RangeIndex(len(rows)))
        self._frames = BatchFrames(pd.DataFrame(), children)
        try:
            for table, plan in self._plans.items():
                if not plan.active:
                    continue
                rows = batch.rows.get(table, [])
                if not rows:
                    continue
                is_own = table == own
                frame = plan.frame(rows, None if is_own else positions)
                for dimension, count in plan.evaluations.items():
                    verdict.evaluated[dimension] += count * len(rows)
                self._collect(plan, frame, rows, is_own, verdict)
        finally:
            self._frames = None
        return verdict

    def _collect(
        self,
        plan: _TablePlan,
        frame: pd.DataFrame,
        rows: Sequence[Row],
        is_own: bool,
        verdict: BatchVerdict,
    ) -> None:
        try:
            plan.schema.validate(frame, lazy=True)
            return
        except SchemaErrors as errors:
            cases = errors.failure_cases
        seen: set[tuple[str, int]] = set()
        for check_name, column, index, case in zip(
            cases["check"], cases["column"], cases["index"], cases["failure_case"], strict=True
        ):
            if check_name == _NULLABLE_CHECK:
                meta = plan.nullable_meta.get(column)
            else:
                meta = plan.meta.get(str(check_name))
            if meta is None:
                continue
            if index is None or pd.isna(index):
                # Not a failing row but a check that raised: a bug, never bad data.
                raise RuntimeError(
                    f"quality check {meta.check!r} of {plan.table} could not run: {case}"
                )
            row_index = int(index)
            if (str(check_name), row_index) in seen:
                continue
            seen.add((str(check_name), row_index))
            verdict.failed[meta.dimension] += 1
            parent = row_index if is_own else int(frame.at[row_index, PARENT_POSITION])
            verdict.reasons.setdefault(parent, []).append(
                _reason(meta, rows[row_index], row_index, is_own)
            )
            verdict.failed_checks.setdefault(parent, []).append(
                (meta.check, meta.dimension, meta.column)
            )


def _reason(meta: _CheckMeta, row: Row, position: int, is_own: bool) -> str:
    where = f"{meta.table}.{meta.column}" if meta.column else meta.table
    if not is_own:
        where += " (a child row)"
    text = f"{where}: {meta.check} ({meta.dimension.value}) failed: {meta.detail}"
    if meta.column is not None and meta.check != "required":
        value = row.get(meta.column)
        shown = describe_value(value, sensitive=not meta.show_value)
        text += f", got {shown}"
    return text


_MAPPING_COLUMN = re.compile(r"^([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_]*)")


def classify_mapping_reason(reason: str) -> tuple[str, Dimension, str | None]:
    """A mapping reject's reason as (check, dimension, column): a missing required value is
    completeness, anything else (a value of the wrong type, an unknown enum) validity."""
    match = _MAPPING_COLUMN.match(reason)
    column = match.group(2) if match else None
    if "required field missing" in reason:
        return "required", Dimension.COMPLETENESS, column
    return "type", Dimension.VALIDITY, column


@dataclass
class _Kind:
    count: int = 0
    examples: list[str] = field(default_factory=list)


class ReportBuilder:
    """Sums a sync's batch verdicts and mapping rejects into one `ValidationReport`."""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold
        self.records = 0
        self.passed = 0
        self.mapping_rejected = 0
        self.evaluated: Counter[Dimension] = Counter()
        self.failed: Counter[Dimension] = Counter()
        self._kinds: dict[tuple[str, Dimension, str | None], _Kind] = {}

    def _count(self, kind: tuple[str, Dimension, str | None], key: str | None) -> None:
        entry = self._kinds.setdefault(kind, _Kind())
        entry.count += 1
        if key is not None and len(entry.examples) < MAX_EXAMPLES and key not in entry.examples:
            entry.examples.append(key)

    def add_rejected(self, rejected: Sequence[RejectedRecord]) -> None:
        """Records the mapping could not turn into rows: counted, and failed."""
        for record in rejected:
            self.records += 1
            self.mapping_rejected += 1
            for reason in record.reasons:
                kind = classify_mapping_reason(reason)
                self.evaluated[kind[1]] += 1
                self.failed[kind[1]] += 1
                self._count(kind, record.record_key)

    def add(self, verdict: BatchVerdict, keys: Callable[[int], str | None]) -> None:
        """One batch's verdict; `keys(position)` gives a failing record's key."""
        self.records += verdict.records
        self.passed += verdict.passed
        # The mapping's conversion of a record to typed rows is one validity evaluation; it
        # passed for these (the rejected ones count in `add_rejected`).
        self.evaluated[Dimension.VALIDITY] += verdict.records
        self.evaluated.update(verdict.evaluated)
        self.failed.update(verdict.failed)
        for position, kinds in verdict.failed_checks.items():
            key = keys(position)
            for kind in dict.fromkeys(kinds):
                self._count(kind, key)

    def report(self) -> ValidationReport:
        kinds = sorted(self._kinds.items(), key=lambda item: (-item[1].count, str(item[0])))
        return ValidationReport(
            records=self.records,
            passed=self.passed,
            threshold=self.threshold,
            evaluated=dict(self.evaluated),
            failed=dict(self.failed),
            failures=tuple(
                FailureCount(
                    check=check,
                    dimension=dimension,
                    count=entry.count,
                    column=column,
                    example_ids=tuple(entry.examples),
                )
                for (check, dimension, column), entry in kinds[:MAX_FAILURE_KINDS]
            ),
            mapping_rejected=self.mapping_rejected,
        )


class QualityGateError(RuntimeError):
    """A sync whose pass rate fell under its entity's threshold: it published no row.

    The message gives the pass rate, the threshold and the most common failures (check,
    column, count, example keys: vendor ids, never personal data)."""

    def __init__(self, connection: str, entity: str, report: ValidationReport) -> None:
        self.connection = connection
        self.entity = entity
        self.report = report
        self.assessment: Assessment | None = None
        """Set by `sync.assess.load_and_assess`: the stopped sync's stored assessment."""
        top = "; ".join(
            f"{failure.check} on {failure.column or entity} ({failure.dimension.value}) "
            f"x{failure.count}"
            + (f" e.g. {', '.join(failure.example_ids)}" if failure.example_ids else "")
            for failure in report.failures[:5]
        )
        super().__init__(
            f"quality gate of {connection}/{entity} failed: pass rate {report.pass_rate:.2%} "
            f"({report.passed} of {report.records} records) is under the threshold "
            f"{report.threshold:.2%}; nothing was published, the cursor did not move, and the "
            f"{report.records - report.passed} failing records are in the quarantine. "
            f"Top failures: {top or 'none'}"
        )


def split_batch(
    batch: MappedBatch, table: str, failing: Mapping[int, Any]
) -> tuple[MappedBatch, list[Row]]:
    """`batch` without the own rows at `failing` positions and their child rows, and the
    removed own rows (in position order)."""
    if not failing:
        return batch, []
    own = batch.rows.get(table, [])
    dropped_ids = {id(own[position]) for position in failing}
    kept = MappedBatch(rows={}, rejected=list(batch.rejected))
    for name, rows in batch.rows.items():
        if name == table:
            kept.rows[name] = [row for row in rows if id(row) not in dropped_ids]
        else:
            kept.rows[name] = [row for row in rows if id(row[PARENT_ROW]) not in dropped_ids]
    return kept, [own[position] for position in sorted(failing)]
