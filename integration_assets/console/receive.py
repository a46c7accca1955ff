"""`POST /webhooks/{vendor}/{connection}`: verify, store, and only then say 200.

The order of the checks is the point:

1. unknown connection, or one without a webhook secret, or another vendor's: 404 before a
   byte of the body is read (the same answer for each, so the console does not tell which
   connection names exist);
2. the body, read up to the size limit: 413 as soon as it is known to be larger;
3. the signature over the raw bytes: 401; then the timestamp: 401 when stale;
4. the events, stored in one transaction: 200 once committed (a delivery seen before is
   stored once and answered 200, so the vendor stops retrying); 503 when the warehouse
   cannot store it, so the vendor retries later.

Refused requests are stored nowhere. Answers are a short JSON reason, never a secret.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse

from integration_assets.console.batcher import InboxBatcher
from integration_assets.console.body import BadContentLength, BodyTooLarge, read_limited
from integration_assets.console.events import events_from_delivery
from integration_assets.console.secrets import WebhookReceiver
from integration_assets.console.settings import ConsoleSettings
from integration_assets.console.verify import Refused, check_timestamp, verify_signature

logger = logging.getLogger(__name__)


def _answer(status: int, reason: str) -> JSONResponse:
    return JSONResponse(
        {"status": "refused" if status < 500 else "retry", "reason": reason}, status
    )


class WebhookEndpoint:
    """The request handler of one vendor's path; `receivers` hold the connections of every
    vendor, so a connection posted to another vendor's path is found and refused (404)."""

    def __init__(
        self,
        vendor: str,
        receivers: Mapping[str, WebhookReceiver],
        writer: InboxBatcher,
        settings: ConsoleSettings,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.vendor = vendor
        self.receivers = receivers
        self.writer = writer
        self.settings = settings
        self.clock = clock

    async def handle(self, request: Request) -> JSONResponse:
        """Check, store, answer: in the order of the module docstring."""
        name = request.path_params["connection"]
        receiver = self.receivers.get(name)
        if receiver is None or receiver.vendor != self.vendor:
            return _answer(404, "no webhook endpoint here")
        try:
            body = await read_limited(request, self.settings.max_body_bytes)
        except BodyTooLarge:
            logger.warning(
                "webhook for %s refused: body over %d bytes", name, self.settings.max_body_bytes
            )
            return _answer(413, f"body larger than {self.settings.max_body_bytes} bytes")
        except BadContentLength:
            return _answer(400, "invalid Content-Length")
        try:
            verify_signature(receiver.spec, request.headers, body, receiver.secret)
            when = check_timestamp(
                receiver.spec,
                request.headers,
                self.clock(),
                self.settings.timestamp_tolerance_seconds,
            )
            events = events_from_delivery(receiver, request.headers, body, when)
        except Refused as refused:
            logger.warning("webhook for %s refused (%d): %s", name, refused.status, refused.reason)
            return _answer(refused.status, refused.reason)
        try:
            stored = await self.writer.store(events)
        except SQLAlchemyError as exc:
            logger.error("webhook for %s not stored, asking to retry: %s", name, type(exc).__name__)
            return _answer(503, "the inbox cannot store deliveries now; retry later")
        return JSONResponse({"status": "stored", "events": len(events), "new": stored})
