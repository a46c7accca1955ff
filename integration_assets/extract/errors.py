"""Errors the extract stage raises, written for the person who has to fix the sync.

Every error names the vendor, entity and connection, the request (method and a redacted URL),
the last HTTP status seen and how many attempts were made, so a failed Dagster run says what to
do without anyone opening the logs. Secrets never appear: URLs go through `redact_url`, header
values are never included, and any free text taken from a vendor answer is passed through
`scrub` with the secret values of the connection.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

REDACTED = "***"

# Query parameter names containing any of these fragments are treated as secrets ...
_SECRET_NAME_FRAGMENTS: tuple[str, ...] = (
    "token",
    "key",
    "secret",
    "password",
    "passwd",
    "signature",
    "credential",
)
# ... and so are these short names, matched whole (as fragments they would hit "author").
_SECRET_NAMES: frozenset[str] = frozenset({"sig", "auth", "hmac", "code"})


def looks_secret(name: str) -> bool:
    """Whether a query parameter name looks like it carries a credential."""
    lowered = name.lower().replace("-", "_")
    return lowered in _SECRET_NAMES or any(f in lowered for f in _SECRET_NAME_FRAGMENTS)


def redact_url(url: str) -> str:
    """`url` with credential-looking query values and any user:password replaced by `***`.

    Why not drop the parameters: seeing that `api_key=***` was sent is useful when debugging,
    the value is what must not leak. Non-secret parameters are kept verbatim (re-encoded only
    when one had to be redacted), so the URL in an error is the one that was requested.
    """
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = REDACTED + "@" + netloc.rpartition("@")[2]
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(looks_secret(name) for name, _ in pairs):
            query = "&".join(
                f"{quote(name, safe='[]')}={REDACTED if looks_secret(name) else quote(value, safe='(),:[]')}"
                for name, value in pairs
            )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def scrub(text: str, secret_values: Iterable[str]) -> str:
    """`text` with every occurrence of a secret value replaced by `***`.

    Vendor error bodies are quoted in errors because they often say exactly what is wrong;
    scrubbing guards against a vendor echoing the credential back.
    """
    for value in secret_values:
        if value:
            text = text.replace(value, REDACTED)
    return text


class ExtractError(RuntimeError):
    """A request to the vendor failed in a way the extract stage will not retry further.

    The message is one sentence: `<vendor>/<entity> (connection '<name>'): <summary> on
    <METHOD> <redacted url> — <reason>[; <hint>]`.
    """

    def __init__(
        self,
        *,
        vendor: str,
        connection: str,
        entity: str,
        method: str,
        url: str,
        summary: str,
        reason: str,
        status: int | None = None,
        attempts: int = 1,
        hint: str | None = None,
    ) -> None:
        self.vendor = vendor
        self.connection = connection
        self.entity = entity
        self.method = method
        self.url = redact_url(url)
        self.summary = summary
        self.reason = reason
        self.status = status
        self.attempts = attempts
        self.hint = hint
        message = (
            f"{vendor}/{entity} (connection '{connection}'): {summary} on {method} "
            f"{self.url} — {reason}"
        )
        if hint:
            message += f"; {hint}"
        super().__init__(message)


class AuthenticationError(ExtractError):
    """The vendor refused the credentials (401) or their permissions (403); never retried."""


class MalformedPageError(ExtractError):
    """A successful answer whose body is not JSON or lacks the records path.

    `page` is the 1-based page number; `position` (character offset), `line` and `column` say
    where JSON parsing stopped, when the body was not valid JSON.
    """

    def __init__(
        self,
        *,
        page: int,
        position: int | None = None,
        line: int | None = None,
        column: int | None = None,
        **details: Any,
    ) -> None:
        self.page = page
        self.position = position
        self.line = line
        self.column = column
        super().__init__(**details)


class GraphQLQueryError(ExtractError):
    """The vendor refused a GraphQL document (syntax, validation, too costly); never retried:
    the same document would be refused the same way. The message quotes the vendor's."""
