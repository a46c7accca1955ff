"""The API version health of each connection: what `integration-assets doctor` reports.

A vendor retiring a version does not break a sync on that day: Shopify quietly serves its
oldest supported version instead, and the records change shape under an unchanged mapping.
So the check runs without calling anyone, from the vendor's published schedule, and early:
a version within `near_days` of its end of support is worth a warning months before.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from integration_assets.connectors import get_connector
from integration_assets.connectors.connections import Connection
from integration_assets.connectors.versions import (
    NEAR_END_DAYS,
    VersionCheck,
    lifecycle_warning,
    version_status,
)


@dataclass(frozen=True)
class ConnectionHealth:
    """One connection's API version: its status on the day asked and what to do about it."""

    connection: str
    vendor: str
    api: str
    version: str | None
    check: VersionCheck | None
    warning: str | None

    @property
    def is_error(self) -> bool:
        """Retired or unknown: the vendor does not serve what the connection asks for."""
        return self.check is not None and self.check.is_error

    def line(self) -> str:
        """One line: connection, vendor and API, version, status and its support window."""
        api = f"{self.vendor} {self.api}".strip()
        if self.check is None:
            return f"{self.connection}: {api}, unversioned"
        window = self.check.window
        if window is None or self.check.status == "unknown":
            dates = self.check.reason
        elif window.supported_until != window.retired_after:
            dates = (
                f"released {window.released}, deprecated from {window.supported_until}, "
                f"retired from {window.retired_after}"
            )
        else:
            dates = f"released {window.released}, supported until {window.retired_after}"
        return f"{self.connection}: {api} {self.version}: {self.check.status} ({dates})"


def connection_health(
    connection: Connection, today: date, near_days: int = NEAR_END_DAYS
) -> ConnectionHealth:
    """The health of `connection`'s effective API version on `today`."""
    spec = get_connector(connection.vendor)
    version = connection.effective_api_version
    api = spec.api or spec.title
    if spec.version_policy is None or version is None:
        return ConnectionHealth(connection.name, spec.vendor, api, version, None, None)
    check = version_status(spec, version, today)
    warning = lifecycle_warning(spec, version, today, near_days)
    return ConnectionHealth(connection.name, spec.vendor, api, version, check, warning)


def health_report(
    connections: Iterable[Connection], today: date, near_days: int = NEAR_END_DAYS
) -> list[ConnectionHealth]:
    """`connection_health` of every connection, in file order."""
    return [connection_health(connection, today, near_days) for connection in connections]
