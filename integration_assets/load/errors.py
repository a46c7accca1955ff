"""Database errors without the customer data some of them quote.

Postgres puts row values into its error messages: a CHECK or NOT NULL violation adds
`DETAIL: Failing row contains (42, ada@example.com, ...)`, a unique violation `Key
(email)=(ada@example.com) already exists.`, a bad value `invalid input syntax for type
integer: "..."` and a COPY `CONTEXT` the line it was reading. SQLAlchemy adds the statement's
parameters unless `hide_parameters` is set. All of that would travel into Dagster's event log
(which stores the message *and* every chained cause), the CLI's output and alerting.

`redact_database_error` rebuilds a `DBAPIError` of the same class (`IntegrityError`,
`DataError`, `OperationalError` ... so handlers and retry decisions keep working) whose
message keeps what tells a user what broke, and nothing a row contained: the SQLSTATE, the
primary message with any quoted value cut off, and the schema, table, column and constraint
names. The original exception is not chained to it: raise the result outside the `except`
block, or `from None` (as `database_errors_redacted` does), so that no `__cause__` and no
displayed `__context__` carries the values along (Dagster, like `traceback`, leaves out a
suppressed context).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.exc import DBAPIError

# `...: "<value>"` at the end of a primary message is the offending value; names of tables,
# columns and constraints are quoted after a noun (`relation "x"`), never after a colon.
_QUOTED_VALUE = re.compile(r':\s*".*$', re.DOTALL)
_STATEMENT_TARGET = re.compile(
    r"^\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+([\w.\"]+)", re.IGNORECASE
)
_NAMES = (
    ("schema_name", "schema"),
    ("table_name", "table"),
    ("column_name", "column"),
    ("constraint_name", "constraint"),
    ("datatype_name", "type"),
)


class RedactedDatabaseError(Exception):
    """The driver's error reduced to names and codes; stands in as `DBAPIError.orig`.

    `sqlstate` is the Postgres SQLSTATE (None on SQLite); `names` holds the schema, table,
    column, constraint and type the server named, where it named them.
    """

    def __init__(self, message: str, sqlstate: str | None, names: dict[str, str]) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate
        self.names = names


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def _describe(orig: BaseException, statement: str | None) -> RedactedDatabaseError:
    diag = getattr(orig, "diag", None)
    sqlstate = getattr(orig, "sqlstate", None) or getattr(diag, "sqlstate", None)
    if diag is not None:
        primary = diag.message_primary or _first_line(str(orig))
        names = {label: str(getattr(diag, attr)) for attr, label in _NAMES if getattr(diag, attr)}
    else:
        # SQLite names constraints and columns (`NOT NULL constraint failed: t.email`) and
        # never quotes values; its first line is all there is.
        primary = _first_line(str(orig))
        names = {}
    primary = _QUOTED_VALUE.sub(": (value not shown)", primary)
    if "table" not in names and statement:
        target = _STATEMENT_TARGET.match(statement)
        if target:
            names["table"] = target.group(1).replace('"', "")
    facts = ([f"SQLSTATE {sqlstate}"] if sqlstate else []) + [
        f"{label} {value}" for label, value in names.items()
    ]
    message = primary + (f" [{'; '.join(facts)}]" if facts else "")
    message += " (row values are left out of this message; the batch was rolled back)"
    return RedactedDatabaseError(message, sqlstate, names)


def redact_database_error(exc: DBAPIError, context: str | None = None) -> DBAPIError:
    """An exception of `exc`'s class whose message and `orig` hold no row values.

    `context` (e.g. "upsert into table 'customers'") leads the message. Already redacted
    errors are returned as they are.
    """
    if isinstance(exc.orig, RedactedDatabaseError):
        return exc
    orig = exc.orig if exc.orig is not None else exc
    redacted = _describe(orig, exc.statement)
    if context:
        redacted = RedactedDatabaseError(
            f"{context}: {redacted}", redacted.sqlstate, redacted.names
        )
    error: Any = type(exc)(
        None,
        None,
        redacted,
        hide_parameters=True,
        connection_invalidated=exc.connection_invalidated,
        code=exc.__dict__.get("code"),
    )
    return error


@contextmanager
def database_errors_redacted(context: str | None = None) -> Iterator[None]:
    """Re-raise any `DBAPIError` of the block as `redact_database_error` makes it."""
    try:
        yield
    except DBAPIError as exc:
        raise redact_database_error(exc, context) from None
