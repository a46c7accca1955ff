"""Adding the columns a newer version defined to a bookkeeping table an older one created.

`create_all(checkfirst=True)` creates missing tables but never touches an existing one, so a
database made by an earlier version would lack a column added since and every statement
naming it would fail. Only nullable columns (or ones with a server default) are ever added
this way: existing rows then hold NULL, which the code that added the column must read as
"not known" (e.g. a landed page without a resume point is simply not resumed).
"""

from __future__ import annotations

from sqlalchemy import Connection, Table, text


def add_missing_columns(connection: Connection, table: Table) -> list[str]:
    """`ALTER TABLE … ADD COLUMN` each column of `table` the database lacks; idempotent.

    Returns the names added. Runs inside the caller's DDL transaction (see `ddl.py`), so two
    processes never add the same column twice.
    """
    existing = existing_columns(connection, table)
    preparer = connection.dialect.identifier_preparer
    added: list[str] = []
    for column in table.columns:
        if column.name in existing:
            continue
        if not column.nullable and column.server_default is None:
            raise RuntimeError(
                f"{table.fullname}: column {column.name!r} is missing and cannot be added to "
                "existing rows (it is NOT NULL without a default); migrate the table by hand"
            )
        ddl = (
            f"ALTER TABLE {preparer.format_table(table)} "
            f"ADD COLUMN {preparer.format_column(column)} "
            f"{column.type.compile(dialect=connection.dialect)}"
        )
        if column.server_default is not None:
            ddl += f" DEFAULT {column.server_default.arg.text}"  # type: ignore[attr-defined]
        connection.execute(text(ddl))
        added.append(column.name)
    return added


def existing_columns(connection: Connection, table: Table) -> dict[str, str]:
    """Column name -> declared type (upper case) of an existing table, from the catalog.

    One cheap query (SQLAlchemy's reflection also resolves every type, which costs tens of
    milliseconds per table on every run of a new process).
    """
    if connection.dialect.name == "sqlite":
        preparer = connection.dialect.identifier_preparer
        rows = connection.exec_driver_sql(
            f"PRAGMA table_info({preparer.quote_identifier(table.name)})"
        ).all()
        return {row[1]: str(row[2]).upper() for row in rows}
    qualified = connection.dialect.identifier_preparer.format_table(table)
    rows = connection.execute(
        text(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a "
            "WHERE a.attrelid = to_regclass(:table) AND a.attnum > 0 AND NOT a.attisdropped "
            "ORDER BY a.attnum"
        ),
        {"table": qualified},
    ).all()
    return {row[0]: str(row[1]).upper() for row in rows}
