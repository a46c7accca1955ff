"""Klaviyo's JSON:API filter syntax: `filter=greater-than(updated,2024-01-01T00:00:00Z)`.

Conditions are `operator(field,value)` or `has(relationship)`; several separated by commas, or
wrapped in `and(…)`, must all hold. Values are quoted strings (double or single quotes), lists
`["a","b"]`, bare ISO 8601 datetimes, numbers, `true`/`false`/`null`. Which operators each
field accepts is specific to the endpoint (`FieldRules`), and anything else is a 400 `invalid`
error whose message says why, as Klaviyo does.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from integration_assets.sandbox.timefmt import parse_utc


class FilterError(ValueError):
    """The filter is malformed or uses a field/operator the endpoint does not allow."""


@dataclass(frozen=True)
class Condition:
    """One `operator(field, value)` term."""

    operator: str
    field: str
    value: Any


FieldRules = dict[str, tuple[str, frozenset[str]]]
"""field -> (value kind: 'string' | 'datetime' | 'integer', allowed operators)."""

PROFILE_RULES: FieldRules = {
    "id": ("string", frozenset({"any", "equals"})),
    "email": ("string", frozenset({"any", "equals"})),
    "phone_number": ("string", frozenset({"any", "equals"})),
    "external_id": ("string", frozenset({"any", "equals"})),
    "created": ("datetime", frozenset({"greater-than", "less-than"})),
    "updated": ("datetime", frozenset({"greater-than", "less-than"})),
}

_COMPARISONS = frozenset({"greater-than", "greater-or-equal", "less-than", "less-or-equal"})
EVENT_RULES: FieldRules = {
    "datetime": ("datetime", _COMPARISONS),
    "timestamp": ("integer", _COMPARISONS),
    "metric_id": ("string", frozenset({"equals"})),
    "profile_id": ("string", frozenset({"equals"})),
    # `has(profile)`, `has(metric)`: the event has a related profile / a resolvable metric.
    "profile": ("relationship", frozenset({"has"})),
    "metric": ("relationship", frozenset({"has"})),
}

_PARENTHESES = "Invalid filter provided. Verify your parentheses match."


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.position = 0

    def parse(self) -> list[tuple[str, list[Any]]]:
        calls = [self._call()]
        while self._peek() == ",":
            self.position += 1
            calls.append(self._call())
        if self._peek() is not None:
            raise FilterError(_PARENTHESES)
        return calls

    def _peek(self) -> str | None:
        while self.position < len(self.text) and self.text[self.position] == " ":
            self.position += 1
        return self.text[self.position] if self.position < len(self.text) else None

    def _call(self) -> tuple[str, list[Any]]:
        name = self._bare()
        if self._peek() != "(" or not name:
            raise FilterError(_PARENTHESES)
        self.position += 1
        arguments = [self._argument()]
        while self._peek() == ",":
            self.position += 1
            arguments.append(self._argument())
        if self._peek() != ")":
            raise FilterError(_PARENTHESES)
        self.position += 1
        return name, arguments

    def _argument(self) -> Any:
        char = self._peek()
        if char in ('"', "'"):
            return _Quoted(self._string())
        if char == "[":
            self.position += 1
            items: list[Any] = []
            if self._peek() != "]":
                items.append(self._argument())
                while self._peek() == ",":
                    self.position += 1
                    items.append(self._argument())
            if self._peek() != "]":
                raise FilterError(_PARENTHESES)
            self.position += 1
            return items
        start = self.position
        token = self._bare()
        if self._peek() == "(":
            self.position = start
            return self._call()
        return token

    def _string(self) -> str:
        quote = self.text[self.position]
        end = self.text.find(quote, self.position + 1)
        if end < 0:
            raise FilterError(_PARENTHESES)
        value = self.text[self.position + 1 : end]
        self.position = end + 1
        return value

    def _bare(self) -> str:
        self._peek()
        start = self.position
        while self.position < len(self.text) and self.text[self.position] not in ",()[]\"'":
            self.position += 1
        return self.text[start : self.position].strip()


class _Quoted(str):
    """A value that was quoted in the filter (so never a datetime or number)."""


def parse_filter(text: str, rules: FieldRules, resource: str) -> list[Condition]:
    """Parse and validate a filter against an endpoint's field rules."""
    conditions: list[Condition] = []
    for name, arguments in _Parser(text).parse():
        conditions.extend(_conditions(name, arguments, rules, resource))
    return conditions


def _conditions(
    name: str, arguments: list[Any], rules: FieldRules, resource: str
) -> list[Condition]:
    if name == "and":
        found = []
        for argument in arguments:
            if not isinstance(argument, tuple):
                raise FilterError(_PARENTHESES)
            found.extend(_conditions(argument[0], argument[1], rules, resource))
        return found
    if name in ("or", "not"):
        raise FilterError(
            f"'{name}' is not a supported filter operation for the resource '{resource}'."
        )
    if name == "has":
        return [_presence(arguments, rules, resource)]
    if (
        len(arguments) != 2
        or not isinstance(arguments[0], str)
        or isinstance(arguments[0], _Quoted)
    ):
        raise FilterError(f"Invalid filter operation '{name}': expected a field and a value.")
    field, raw = arguments
    if field not in rules:
        raise FilterError(f"'{field}' is not a valid field for the resource '{resource}'.")
    kind, operators = rules[field]
    if name not in operators:
        allowed = ", ".join(sorted(operators))
        raise FilterError(
            f"Filter operation '{name}' is not allowed for field '{field}' of the resource "
            f"'{resource}'. Allowed operations: {allowed}."
        )
    if name == "any":
        if not isinstance(raw, list):
            raise FilterError(f"Filter operation 'any' expects a list for field '{field}'.")
        return [Condition(name, field, [_value(item, kind, field) for item in raw])]
    return [Condition(name, field, _value(raw, kind, field))]


def _presence(arguments: list[Any], rules: FieldRules, resource: str) -> Condition:
    """`has(relationship)`: one bare relationship name, no value."""
    if (
        len(arguments) != 1
        or not isinstance(arguments[0], str)
        or isinstance(arguments[0], _Quoted)
    ):
        raise FilterError("Invalid filter operation 'has': expected a relationship.")
    field = arguments[0]
    if "has" not in rules.get(field, ("", frozenset()))[1]:
        raise FilterError(
            f"Filter operation 'has' is not allowed for field '{field}' of the resource "
            f"'{resource}'."
        )
    return Condition("has", field, None)


def _value(raw: Any, kind: str, field: str) -> Any:
    if isinstance(raw, list | tuple):
        raise FilterError(f"Invalid value for field '{field}'.")
    if kind == "datetime":
        moment = None if isinstance(raw, _Quoted) else parse_utc(raw)
        if moment is None:
            raise FilterError(f"'{raw}' is not a valid datetime for field '{field}'.")
        return moment
    if kind == "integer":
        try:
            return int(raw)
        except ValueError:
            raise FilterError(f"'{raw}' is not a valid integer for field '{field}'.") from None
    if not isinstance(raw, _Quoted):
        raise FilterError(f"Invalid value for field '{field}': strings must be quoted.")
    return str(raw)
