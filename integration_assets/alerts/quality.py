"""Quality alerts: from the quality history tables to at most one alert per incident.

Each new `sync` row of `quality_metrics` (one (connection, entity) sync, see
`quality/metrics.py`) is judged on four counts, each its own incident kind, so each opens,
repeats and recovers on its own:

- `quality_gate`: the blocking gate failed (`gate_passed` false): nothing was published.
- `quality_score`: the overall score fell by more than the entity's `score_drop_alert`
  points under the median of its last `SCORE_WINDOW` syncs (judged once at least
  `MIN_SCORE_HISTORY` of them exist, and only for syncs the gate let through: a stopped sync
  is the gate's incident). A drop that lasts becomes the new median after about half the
  window, and the incident then closes.
- `anomaly`: the sync has anomaly findings (volume, null rate, distinct count).
- `drift`: the sync has drift findings.

A sync that shows the problem opens the incident (or counts against the open one: two bad
syncs in a row are one alert); the next sync of that (connection, entity) without it
resolves the incident, with one recovery message if an alert had gone out. Rows are judged
in id order, so replaying history gives the same incidents.

Nothing here knows Dagster; `orchestration/quality_alerts.py` calls `QualityAlerts.process`
from a sensor with the id it stopped at.

**Ids commit out of order.** On Postgres two syncs saving at once take ids n and n + 1, and
n + 1 may be visible before n commits: a cursor that moved to the highest id seen would step
over n forever. So `process` goes through ids one after the other (rows of every scope, since
each takes an id) and stops at a missing one, until the row after the gap was measured
`SETTLE` ago: by then the gap is an assessment whose transaction rolled back, not one still
committing, and judging moves past it.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from integration_assets.alerts.alerter import Alerter
from integration_assets.alerts.message import Alert, run_url
from integration_assets.load.bookkeeping import ensure_bookkeeping
from integration_assets.load.warehouse import Warehouse
from integration_assets.quality.metrics import SCOPE_SYNC, quality_tables
from integration_assets.quality.model import FindingKind
from integration_assets.quality.settings import QualitySettings

GATE, SCORE, ANOMALY, DRIFT = "quality_gate", "quality_score", "anomaly", "drift"
QUALITY_KINDS = (GATE, SCORE, ANOMALY, DRIFT)
SCORE_WINDOW = 10
"""Earlier syncs whose median overall score is the baseline of a score drop."""
MIN_SCORE_HISTORY = 3
"""Earlier syncs needed before a score drop is judged at all."""
BATCH = 500
"""Rows read per call, so one sensor tick stays short after a long pause."""
SETTLE = timedelta(minutes=5)
"""How long a missing id holds judging up (see the module doc): far longer than an
assessment's transaction takes to commit."""
_ANOMALIES = {
    FindingKind.VOLUME_ANOMALY.value,
    FindingKind.NULL_RATE_ANOMALY.value,
    FindingKind.DISTINCT_ANOMALY.value,
}
SettingsLookup = Callable[[str, str], QualitySettings]
"""(connection, entity) → that entity's quality settings (its mapping's, with overrides)."""


def default_settings(_connection: str, _entity: str) -> QualitySettings:
    return QualitySettings()


@dataclass(frozen=True)
class Verdict:
    """One incident kind of one sync: `problem` holds what to say when there is one; None
    clears the kind; `judged` false leaves its incident as it is."""

    kind: str
    problem: str | None
    judged: bool = True


def _pct(value: float) -> str:
    return f"{value * 100:.1f}%"


def _top_failures(details: Any) -> str:
    """The most common failures, if the row's `details` lists them (check, column, count)."""
    failures = details.get("failures") if isinstance(details, Mapping) else None
    named = []
    for failure in failures if isinstance(failures, list) else []:
        if isinstance(failure, Mapping) and "check" in failure and "count" in failure:
            column = f" on {failure['column']}" if failure.get("column") else ""
            named.append(f"{failure['check']}{column}: {failure['count']}")
    return "; ".join(named[:3])


def gate_verdict(row: Mapping[str, Any]) -> Verdict:
    if row["gate_passed"] is not False:
        return Verdict(GATE, None)
    threshold = row["threshold"]
    problem = f"{row['passed']} of {row['records']} records passed ({_pct(row['pass_rate'])})"
    if threshold is not None:
        problem += f", under the threshold of {_pct(threshold)}"
    problem += "; nothing was published"
    top = _top_failures(row["details"])
    return Verdict(GATE, f"{problem}. Most common failures: {top}" if top else problem)


def score_verdict(
    row: Mapping[str, Any], earlier: Sequence[float], settings: QualitySettings
) -> Verdict:
    if row["gate_passed"] is False or len(earlier) < MIN_SCORE_HISTORY:
        return Verdict(SCORE, None, judged=False)
    median = statistics.median(earlier)
    drop = median - row["overall"]
    if drop <= settings.score_drop_alert:
        return Verdict(SCORE, None)
    return Verdict(
        SCORE,
        f"overall score {row['overall']:.1f}, {drop:.1f} points under the median "
        f"{median:.1f} of the last {len(earlier)} syncs (alert above "
        f"{settings.score_drop_alert:g})",
    )


def findings_verdict(kind: str, findings: Sequence[Mapping[str, Any]]) -> Verdict:
    if not findings:
        return Verdict(kind, None)
    return Verdict(kind, "; ".join(f["message"] or f["metric"] for f in findings))


class QualityAlerts:
    """Judges new quality rows and raises or clears their incidents through an `Alerter`."""

    def __init__(
        self,
        warehouse: Warehouse,
        alerter: Alerter,
        settings: SettingsLookup = default_settings,
    ) -> None:
        self.warehouse = warehouse
        self.alerter = alerter
        self.settings = settings
        self.tables = quality_tables(warehouse.dialect)
        ensure_bookkeeping(warehouse, self.tables.metadata)

    def newest_id(self) -> int:
        """The id of the newest metrics row (0 for none): where a new cursor starts."""
        t = self.tables.metrics
        with self.warehouse.read() as conn:
            return conn.execute(select(t.c.id).order_by(t.c.id.desc()).limit(1)).scalar() or 0

    def _rows(self, after: int, limit: int) -> list[Mapping[str, Any]]:
        t = self.tables.metrics
        query = select(t).where(t.c.id > after).order_by(t.c.id).limit(limit)
        with self.warehouse.read() as conn:
            return list(conn.execute(query).mappings())

    def _earlier_scores(self, row: Mapping[str, Any]) -> list[float]:
        t = self.tables.metrics
        query = (
            select(t.c.overall)
            .where(
                t.c.scope == SCOPE_SYNC,
                t.c.connection == row["connection"],
                t.c.entity == row["entity"],
                t.c.id < row["id"],
            )
            .order_by(t.c.id.desc())
            .limit(SCORE_WINDOW)
        )
        with self.warehouse.read() as conn:
            return [float(score) for score in conn.execute(query).scalars()]

    def _findings(self, row: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        t = self.tables.findings
        query = (
            select(t)
            .where(
                t.c.connection == row["connection"],
                t.c.entity == row["entity"],
                t.c.run_id == row["run_id"],
            )
            .order_by(t.c.id)
        )
        with self.warehouse.read() as conn:
            return list(conn.execute(query).mappings())

    def verdicts(self, row: Mapping[str, Any]) -> list[Verdict]:
        """The four verdicts of one sync row."""
        findings = self._findings(row)
        settings = self.settings(row["connection"], row["entity"])
        return [
            gate_verdict(row),
            score_verdict(row, self._earlier_scores(row), settings),
            findings_verdict(ANOMALY, [f for f in findings if f["kind"] in _ANOMALIES]),
            findings_verdict(DRIFT, [f for f in findings if f["kind"] == FindingKind.DRIFT]),
        ]

    def judge(self, row: Mapping[str, Any]) -> list[Alert]:
        """Raise or clear each incident kind of one sync row; the alerts delivered."""
        connection, entity = row["connection"], row["entity"]
        run_id = row["run_id"] or f"quality-{row['id']}"
        url = run_url(self.alerter.base_url, run_id)
        sent = []
        for verdict in self.verdicts(row):
            if not verdict.judged:
                continue
            if verdict.problem is None:
                alert = self.alerter.incident_cleared(
                    connection, entity, verdict.kind, url=url, run_id=run_id
                )
            else:
                alert = self.alerter.incident_seen(
                    connection,
                    entity,
                    verdict.kind,
                    seen_by=run_id,
                    message=verdict.problem,
                    url=url,
                    run_id=run_id,
                )
            if alert is not None:
                sent.append(alert)
        return sent

    def process(
        self, after: int, limit: int = BATCH, now: datetime | None = None
    ) -> tuple[int, list[Alert]]:
        """Judge the sync rows with an id above `after`, oldest first (at most `limit` rows
        read), stopping at a missing id until it settles (see the module doc); return the
        id to continue after and the alerts delivered."""
        settled = (now or datetime.now(UTC)) - SETTLE
        last, sent = after, []
        for row in self._rows(after, limit):
            if row["id"] != last + 1 and row["measured_at"] > settled:
                break  # an earlier id may still be committing
            last = row["id"]
            if row["scope"] == SCOPE_SYNC and row["connection"] is not None:
                sent += self.judge(row)
        return last, sent
