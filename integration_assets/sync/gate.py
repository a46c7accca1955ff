"""The quality gate applied to the batches of a load (poll, webhook, quarantine replay).

`LoadGate.check(batch, origins)` validates one mapped batch with the entity's rules
(`quality.gate.Gate`), adds it to the sync's running report, and splits it: the rows that
passed every rule, and a `RejectedRecord` per failing record holding its raw record (re-read
from its landed page by position, so a batch keeps no raw records in memory) and every
reason. The caller decides what to write; see `sync/steps.py` for the threshold.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from integration_assets.extract import records_from_body
from integration_assets.load.landing import LandingStore
from integration_assets.quality.gate import Gate, ReportBuilder, split_batch
from integration_assets.quality.model import ValidationReport
from integration_assets.schema import MappedBatch, RejectedRecord, Row, join_key
from integration_assets.sync.target import SyncTarget

Origin = tuple[int, int]
"""(landed page number, index of the record in the page)."""
ValidRowsHook = Callable[[Sequence[Row]], None]


@dataclass(frozen=True)
class CheckedBatch:
    """A batch after the gate: what may load, what goes to the quarantine."""

    kept: MappedBatch
    """The rows of the records that passed (mapping rejects left in `kept.rejected`)."""
    failed: list[RejectedRecord]
    """Records that mapped but failed a quality rule, raw, with every reason."""
    failed_origins: list[Origin]


class LoadGate:
    """The gate of one load: its rules, its running report, where raw records are."""

    def __init__(
        self,
        target: SyncTarget,
        landing: LandingStore,
        run_id: str,
        connection: str,
        entity: str,
        on_valid_rows: ValidRowsHook | None = None,
    ) -> None:
        self.target = target
        self.gate = Gate(target.mapping.quality_rules)
        self.builder = ReportBuilder(self.gate.threshold)
        self._landing = landing
        self._where = (run_id, connection, entity)
        self._on_valid_rows = on_valid_rows
        self.quarantined = 0
        """Records the pre-pass of a multi-batch load quarantined."""
        self.affordable_failures = 0
        """How many failing positions a multi-batch load remembers (see `sync.steps`)."""
        self.overflowed = False

    @property
    def threshold(self) -> float:
        return self.gate.threshold

    def report(self) -> ValidationReport:
        return self.builder.report()

    def check(self, mapped: MappedBatch, origins: Sequence[Origin]) -> CheckedBatch:
        """Validate `mapped` (its own rows came from `origins`), count it, split it."""
        table = self.target.mapping.table.name
        rows = mapped.rows.get(table, [])
        verdict = self.gate.validate(mapped)
        keys = self.target.mapping.quality_rules.primary_keys[table]

        def key_of(position: int) -> str | None:
            values = [rows[position][column] for column in keys]
            return None if any(value is None for value in values) else join_key(values)

        self.builder.add_rejected(mapped.rejected)
        self.builder.add(verdict, key_of)
        held = _older_versions(len(rows), verdict.reasons, key_of)
        kept, _ = split_batch(mapped, table, {**verdict.reasons, **held})
        if self._on_valid_rows is not None:
            self._on_valid_rows(kept.rows.get(table, []))
        if not verdict.reasons:
            return CheckedBatch(kept, [], [])
        positions = sorted(verdict.reasons)
        failed_origins = [origins[position] for position in positions]
        raw = self._raw_records(failed_origins)
        failed = [
            RejectedRecord(raw[origin], tuple(verdict.reasons[position]), key_of(position))
            for position, origin in zip(positions, failed_origins, strict=True)
        ]
        return CheckedBatch(kept, failed, failed_origins)

    def newest_failures(self, checked: CheckedBatch) -> dict[str, Origin]:
        """Each failing record's key → the origin of its last failing version in `checked`."""
        newest: dict[str, Origin] = {}
        for record, origin in zip(checked.failed, checked.failed_origins, strict=True):
            key = record.record_key
            if key is not None and (key not in newest or origin > newest[key]):
                newest[key] = origin
        return newest

    def _raw_records(self, origins: Sequence[Origin]) -> dict[Origin, dict]:
        """The raw records at `origins`, each landed page read once."""
        by_page: dict[int, list[int]] = defaultdict(list)
        for page, index in origins:
            by_page[page].append(index)
        records_path = self.target.entity.records_path
        connections = self.target.connector.request == "graphql"
        found: dict[Origin, dict] = {}
        for number, indexes in by_page.items():
            page = self._landing.page(*self._where, number)
            if page is None:
                raise RuntimeError(f"landed page {number} of {self._where} vanished mid-load")
            records = records_from_body(page.body, records_path, connections=connections)
            for index in indexes:
                found[(number, index)] = records[index]
        return found


def _older_versions(
    count: int, reasons: Mapping[int, object], key_of: Callable[[int], str | None]
) -> dict[int, tuple[()]]:
    """Positions of passing versions read before a failing version of the same record.

    Such a version must not load: loading a record resolves its open quarantine row as
    superseded (`load.quarantine.resolve_superseded`), and that row holds the newer, failing
    version, which would then be neither loaded nor open. Only batches with failures pay for
    the keys."""
    if not reasons:
        return {}
    last_failure: dict[str, int] = {}
    for position in reasons:
        key = key_of(position)
        if key is not None:
            last_failure[key] = max(position, last_failure.get(key, position))
    if not last_failure:
        return {}
    held: dict[int, tuple[()]] = {}
    for position in range(count):
        if position in reasons:
            continue
        key = key_of(position)
        if key is not None and position < last_failure.get(key, -1):
            held[position] = ()
    return held
