"""Identifier checks for names that reach SQL from mapping files and configuration.

Table, column and schema names come from JSON files a user can edit, so they are validated
against one strict pattern before any DDL or DML is built from them. SQLAlchemy still quotes
them; the pattern keeps them portable between Postgres and SQLite (lower case, at most 63
characters, Postgres' limit) and rules out anything that quoting alone would let through. The rule itself (`is_identifier`)
lives in `integration_assets/schema.py`, where the mapping stage checks its names with it too.
"""

from __future__ import annotations

import hashlib

from integration_assets.schema import MAX_IDENTIFIER_LENGTH, is_identifier


class InvalidIdentifierError(ValueError):
    """A table, column or schema name is not a safe lower-case SQL identifier."""


def validate_identifier(name: str, what: str = "identifier") -> str:
    """Return `name` unchanged when it is an identifier (`is_identifier`), else raise."""
    if not is_identifier(name):
        raise InvalidIdentifierError(
            f"invalid {what} {name!r}: use lower-case letters, digits and underscores, "
            f"starting with a letter or underscore, at most {MAX_IDENTIFIER_LENGTH} characters"
        )
    return name


def derived_identifier(*parts: str) -> str:
    """Join parts into one identifier that fits 63 characters.

    Used for names the load stage makes up (indexes, staging tables). A name that would be
    too long is cut and suffixed with a short hash of the full name, so two long table names
    sharing a prefix still get different derived names.
    """
    name = "_".join(parts)
    if len(name) > MAX_IDENTIFIER_LENGTH:
        digest = hashlib.blake2b(name.encode(), digest_size=4).hexdigest()
        name = f"{name[: MAX_IDENTIFIER_LENGTH - len(digest) - 1]}_{digest}"
    return validate_identifier(name, "derived identifier")
