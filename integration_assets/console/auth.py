"""Who may see the console's pages: one shared token, checked in constant time.

The token comes from `INTEGRATION_CONSOLE_TOKEN` (at least 16 characters). A person types it
once on `/login` and gets a session cookie (signed with `INTEGRATION_CONSOLE_SESSION_SECRET`,
or a random secret per process when unset, which logs everyone out at a restart), HttpOnly,
SameSite=Strict, Secure when served over https, valid for `SESSION_HOURS`. Scripts may
instead send the token with each GET (`Authorization: Bearer <token>`, or basic auth with
the token as password); state-changing requests (POST) need the session and its CSRF token,
because a browser would replay basic credentials on a forged form.

Without a token configured the pages are off (503 saying how to turn them on); the webhook
endpoints never use any of this: a delivery is authenticated by its signature alone.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

from starlette.requests import Request

from integration_assets.console.session import Signer
from integration_assets.console.settings import ConsoleConfigError

TOKEN_ENV = "INTEGRATION_CONSOLE_TOKEN"
SECRET_ENV = "INTEGRATION_CONSOLE_SESSION_SECRET"
MIN_TOKEN_LENGTH = 16
SESSION_COOKIE = "ia_console_session"
SESSION_HOURS = 12


@dataclass(frozen=True)
class ConsoleAuth:
    """The configured token and the signers of the console's cookies."""

    token: bytes = field(repr=False)
    session: Signer = field(repr=False)
    flash: Signer = field(repr=False)
    login_form: Signer = field(repr=False)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> ConsoleAuth | None:
        """The auth of `environ` (default: the process's); None when no token is set."""
        env = os.environ if environ is None else environ
        token = env.get(TOKEN_ENV, "")
        if not token:
            return None
        if len(token) < MIN_TOKEN_LENGTH:
            raise ConsoleConfigError(
                f"{TOKEN_ENV} must be at least {MIN_TOKEN_LENGTH} characters "
                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(24))'`)"
            )
        secret = env.get(SECRET_ENV, "").encode() or secrets.token_bytes(32)
        return cls(
            token.encode(),
            Signer(secret, "session"),
            Signer(secret, "flash"),
            Signer(secret, "login-form"),
        )

    def token_matches(self, candidate: str) -> bool:
        return hmac.compare_digest(candidate.encode(), self.token)

    def new_session(self) -> tuple[str, str]:
        """(cookie value, its CSRF token) of a fresh login."""
        csrf = secrets.token_urlsafe(24)
        return self.session.sign({"csrf": csrf}, SESSION_HOURS * 3600), csrf

    def session_csrf(self, request: Request) -> str | None:
        """The CSRF token of the request's valid session; None when not logged in."""
        payload = self.session.load(request.cookies.get(SESSION_COOKIE))
        return payload.get("csrf") if payload else None

    def header_token_ok(self, request: Request) -> bool:
        """A GET carrying the token itself (bearer, or basic auth's password)."""
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer":
            return self.token_matches(value.strip())
        if scheme.lower() == "basic":
            try:
                decoded = base64.b64decode(value.strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                return False
            return self.token_matches(decoded.partition(":")[2])
        return False

    def csrf_ok(self, request: Request, submitted: str | None) -> bool:
        """The form's token equals the session's (constant time)."""
        expected = self.session_csrf(request)
        return bool(expected and submitted) and hmac.compare_digest(
            expected.encode(),
            (submitted or "").encode(),  # type: ignore[union-attr]
        )
