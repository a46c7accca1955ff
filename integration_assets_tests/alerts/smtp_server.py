"""A real SMTP server on the loopback (aiosmtpd) standing in for the company's relay.

It speaks ESMTP with AUTH (PLAIN and LOGIN) and, given a certificate, STARTTLS; every
message it accepts is kept parsed, with whether its session was encrypted, and every login
attempt with its outcome, so tests see exactly what the sink sent.
"""

from __future__ import annotations

import asyncio
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

USERNAME = "alerts@example.test"
PASSWORD = "smtp-test-password-not-real-9f3a"


@dataclass
class Received:
    message: EmailMessage
    raw: bytes
    sender: str
    recipients: list[str]
    encrypted: bool


@dataclass
class SmtpServer:
    port: int = 0
    received: list[Received] = field(default_factory=list)
    logins: list[tuple[str, bool]] = field(default_factory=list)
    transcript: list[bytes] = field(default_factory=list)


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_DATA(self, smtp: SMTP, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        message = message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.server.received.append(
            Received(
                message=message,
                raw=raw,
                sender=envelope.mail_from,
                recipients=list(envelope.rcpt_tos),
                encrypted=session.ssl is not None,
            )
        )
        return "250 OK"


def _authenticator(server: SmtpServer):
    def authenticate(smtp: SMTP, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login, password = data.login.decode(), data.password.decode()
        ok = (login, password) == (USERNAME, PASSWORD)
        server.logins.append((login, ok))
        return AuthResult(success=ok, handled=False)  # the server answers 235 or 535

    return authenticate


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (and its key), made with the openssl CLI."""
    cert, key = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-nodes", "-days", "1",
            "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-keyout", str(key), "-out", str(cert),
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@contextmanager
def smtp_server(tls: tuple[Path, Path] | None = None) -> Iterator[SmtpServer]:
    """Serve on 127.0.0.1, on a port the OS picks, in a thread of its own."""
    server = SmtpServer()
    context = None
    if tls is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(tls[0]), str(tls[1]))
    loop = asyncio.new_event_loop()

    def factory() -> SMTP:
        return SMTP(
            _Handler(server),
            hostname="relay.example.test",
            tls_context=context,
            authenticator=_authenticator(server),
            auth_require_tls=context is not None,
        )

    listening = loop.run_until_complete(loop.create_server(factory, "127.0.0.1", 0))
    server.port = listening.sockets[0].getsockname()[1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        listening.close()
        loop.run_until_complete(listening.wait_closed())
        loop.close()
