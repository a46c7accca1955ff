"""GraphQL errors in the shape Shopify's answers give them.

Each error is `{message, locations, path, extensions}` (the GraphQL spec's shape). Shopify's
server reports an unknown field as "Field 'x' doesn't exist on type 'Customer'" with
`extensions: {code: "undefinedField", typeName, fieldName}`; that most common validation
failure is translated to Shopify's words, the rest keep graphql-core's message.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from graphql import GraphQLError

_UNDEFINED_FIELD = re.compile(r"^Cannot query field '(?P<field>\w+)' on type '(?P<type>\w+)'\.")


def format_error(error: GraphQLError) -> dict[str, Any]:
    """One error as a JSON-ready dict."""
    formatted: dict[str, Any] = dict(error.formatted)
    match = _UNDEFINED_FIELD.match(error.message)
    if match is not None:
        formatted["message"] = f"Field '{match['field']}' doesn't exist on type '{match['type']}'"
        formatted["extensions"] = {
            "code": "undefinedField",
            "typeName": match["type"],
            "fieldName": match["field"],
        }
    if formatted.get("locations") is None:
        formatted.pop("locations", None)
    if formatted.get("path") is None:
        formatted.pop("path", None)
    return formatted


def format_errors(errors: Iterable[GraphQLError]) -> list[dict[str, Any]]:
    """Every error, formatted."""
    return [format_error(error) for error in errors]
