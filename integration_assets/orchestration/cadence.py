"""Cadences: which (connection, entity) is due at a tick, and how late is late.

`connections.yaml` gives each entity of a connection a cadence. One clock drives them all: a
tick every 15 minutes (UTC), at which

- `15m` is due at every tick (:00, :15, :30, :45);
- `hourly` is due at :00;
- `daily` is due once a day, at `DAILY_AT` (03:00 UTC, a quiet hour for most shops);
- `realtime` is fed by webhooks, with a safety-net poll at :00 (hourly), which catches what
  a lost or late webhook missed;
- `manual` is never due: it syncs only when someone materializes it.

One clock rather than one per cadence, because entities of one connection that are due at
the same tick must share a run: that is where Dagster orders them by their dependencies
(orders after customers and products). Separate hourly and 15-minute schedules would each
launch a run at :00, in no particular order.

Lateness: a (connection, entity) is late when its last successful sync is older than its
cadence's *allowance*: one interval plus one interval of grace (at most an hour of it), so a
single run that waits in the queue or runs long is not reported, and a missed tick is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from integration_assets.connectors.connections import Cadence, Connection

TICK_CRON = "*/15 * * * *"
"""The schedules' cron: every 15 minutes, evaluated in `TIMEZONE`."""
TIMEZONE = "UTC"
DAILY_AT = time(3, 0)
RECONCILE_CRON = "0 4 * * *"
"""Reconciliation walks every id of an entity: once a day, an hour after the daily syncs."""
SAFETY_NET: Cadence = "hourly"
"""How often a `realtime` entity is polled beside its webhooks."""

INTERVALS: dict[Cadence, timedelta] = {
    "15m": timedelta(minutes=15),
    "hourly": timedelta(hours=1),
    "daily": timedelta(days=1),
}


def effective_cadence(cadence: Cadence) -> Cadence:
    """The polling cadence: a realtime entity is polled at its safety-net cadence."""
    return SAFETY_NET if cadence == "realtime" else cadence


def is_due(cadence: Cadence, tick: datetime) -> bool:
    """Whether an entity of `cadence` syncs at `tick` (a UTC time on the 15-minute clock)."""
    polled = effective_cadence(cadence)
    if polled == "15m":
        return True
    if polled == "hourly":
        return tick.minute == 0
    if polled == "daily":
        return (tick.hour, tick.minute) == (DAILY_AT.hour, DAILY_AT.minute)
    return False  # manual


def due_entities(connection: Connection, tick: datetime) -> list[str]:
    """The connection's entities that sync at `tick`, in the order the file lists them."""
    return [entity for entity, cadence in connection.entities.items() if is_due(cadence, tick)]


def allowance(cadence: Cadence) -> timedelta | None:
    """How old the last successful sync may be before the entity is late; None: never late."""
    interval = INTERVALS.get(effective_cadence(cadence))
    if interval is None:
        return None
    return interval + min(interval, timedelta(hours=1))


@dataclass(frozen=True)
class Timeliness:
    """One (connection, entity) measured against its cadence at `now`."""

    connection: str
    entity: str
    cadence: Cadence
    last_success: datetime | None
    now: datetime

    @property
    def allowance(self) -> timedelta | None:
        return allowance(self.cadence)

    @property
    def age(self) -> timedelta | None:
        return None if self.last_success is None else self.now - self.last_success

    @property
    def late(self) -> bool:
        """Older than the allowance, or never synced at all (manual entities are never late)."""
        if self.allowance is None:
            return False
        return self.age is None or self.age > self.allowance

    def describe(self) -> str:
        if self.allowance is None:
            return f"{self.connection}: {self.cadence}, not scheduled"
        allowed = _minutes(self.allowance)
        if self.age is None:
            return f"{self.connection}: never synced ({self.cadence}, allowed {allowed} min)"
        return (
            f"{self.connection}: last synced {_minutes(self.age)} min ago "
            f"({self.cadence}, allowed {allowed} min)"
        )


def _minutes(delta: timedelta) -> int:
    return int(delta.total_seconds() // 60)
