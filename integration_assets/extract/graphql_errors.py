"""What the errors inside a GraphQL answer mean for the request that got them.

A GraphQL API answers 200 even when it ran nothing: the `errors` array says why. The
connector's `GraphQLErrorSpec` sorts the codes into what the fetcher does next (wait for the
budget, retry, fail naming the scope, fail naming the query); this module only classifies,
so the rule is one small pure function.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from integration_assets.connectors.spec import GraphQLErrorSpec
from integration_assets.paths import lookup_optional

VerdictKind = Literal["throttled", "retryable", "access_denied", "max_cost", "refused"]

_MESSAGE_CHARS = 300
_OPERATION = re.compile(r"^\s*(?:query|mutation)\s+([_A-Za-z][_0-9A-Za-z]*)")


@dataclass(frozen=True)
class GraphQLVerdict:
    """The errors of one answer: their codes and messages, and what they mean."""

    kind: VerdictKind
    codes: tuple[str, ...]
    messages: tuple[str, ...]

    def describe(self) -> str:
        """The vendor's own words, with their codes: `GraphQL error(s) CODE: message; …`."""
        parts = []
        for code, message in zip(self.codes, self.messages, strict=True):
            parts.append(f"{code}: {message}" if code else message)
        text = "; ".join(parts)
        if len(text) > _MESSAGE_CHARS:
            text = text[:_MESSAGE_CHARS] + "…"
        return f"GraphQL error{'s' if len(parts) > 1 else ''} {text}"

    @staticmethod
    def operation_of(document: str | None) -> str:
        """The operation's name (`Sync`), or `(anonymous)`, to say which query failed."""
        match = _OPERATION.match(document or "")
        return repr(match.group(1)) if match else "(anonymous)"


def graphql_verdict(spec: GraphQLErrorSpec | None, document: Any) -> GraphQLVerdict | None:
    """None when the answer carries no errors (or the connector is not GraphQL)."""
    if spec is None or not isinstance(document, dict):
        return None
    errors = lookup_optional(document, spec.path)
    if not isinstance(errors, list) or not errors:
        return None
    codes: list[str] = []
    messages: list[str] = []
    for error in errors:
        code = lookup_optional(error, spec.code_path) if isinstance(error, dict) else None
        message = error.get("message") if isinstance(error, dict) else None
        codes.append(code if isinstance(code, str) else "")
        messages.append(" ".join(str(message).split()) if message is not None else "(no message)")
    found = set(codes)
    kind: VerdictKind
    if found & set(spec.throttled_codes):
        kind = "throttled"
    elif found & set(spec.max_cost_codes):
        kind = "max_cost"
    elif found & set(spec.access_denied_codes):
        kind = "access_denied"
    elif found <= set(spec.retryable_codes):
        kind = "retryable"
    else:
        kind = "refused"
    return GraphQLVerdict(kind, tuple(codes), tuple(messages))
