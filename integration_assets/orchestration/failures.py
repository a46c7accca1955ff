"""Failures as a user should meet them: ours, not Dagster's wrappers, and not retried in vain.

A wrong token, a missing environment variable or a broken mapping file fails the same way on
every attempt; retrying it only delays the message by minutes. Such errors become a
`dagster.Failure` that forbids retries, while transient ones (5xx after the client's own
retries, a dropped database connection) are left to the op's `RetryPolicy`.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from dagster import ExecuteInProcessResult, Failure
from sqlalchemy.exc import DataError, IntegrityError

from integration_assets.connectors.connections import ConnectionsFileError, MissingSecretError
from integration_assets.extract import AuthenticationError
from integration_assets.extract.export_operation import ExportDeadlineError, ExportRefusedError
from integration_assets.load.pg_session import WarehouseTimeoutConfigError
from integration_assets.load.tables import SchemaDriftError, TableSchemaError
from integration_assets.load.warehouse import WarehouseConfigError
from integration_assets.mapping.errors import MappingBugError, MappingError
from integration_assets.sync.reconcile import ReconcileError, ReconcileRefused

PERMANENT_ERRORS: tuple[type[Exception], ...] = (
    AuthenticationError,
    MissingSecretError,
    ConnectionsFileError,
    MappingError,
    MappingBugError,
    TableSchemaError,
    SchemaDriftError,
    IntegrityError,  # a row the warehouse refuses (constraint) is refused again on retry
    DataError,  # ... and so is a value its column type cannot hold
    WarehouseConfigError,
    WarehouseTimeoutConfigError,
    ReconcileError,
    # A listing that looks like an outage or a mass deletion waits for a person to look;
    # retrying would walk every id again to be refused again.
    ReconcileRefused,
    # An export the vendor refuses (bad query, missing scope) is refused again; one that
    # outlived its deadline would wait as long again (it was canceled, a retry starts anew).
    ExportRefusedError,
    ExportDeadlineError,
)
_WRAPPERS = ("RetryRequestedFromPolicy", "Failure")


@contextmanager
def fail_fast_on_permanent_errors() -> Iterator[None]:
    """Turn errors that no retry can fix into a non-retryable `Failure` naming the cause."""
    try:
        yield
    except PERMANENT_ERRORS as exc:
        raise Failure(description=f"{type(exc).__name__}: {exc}", allow_retries=False) from exc


def run_failure_message(result: ExecuteInProcessResult) -> str:
    """`ErrorClass: message` of the first failed step's own exception."""
    for event in result.all_events:
        if not (
            event.is_step_failure and event.step_failure_data and event.step_failure_data.error
        ):
            continue
        error: Any = event.step_failure_data.error
        while error.cause is not None and (
            error.cls_name.startswith("Dagster") or error.cls_name in _WRAPPERS
        ):
            error = error.cause
        message = error.message.strip()
        qualified, separator, text = message.partition(": ")
        if separator and qualified.endswith(error.cls_name):
            message = text  # Dagster prefixes the module path of the exception class
        return f"{error.cls_name}: {message}"
    return "the run failed (see the Dagster UI for its logs)"
