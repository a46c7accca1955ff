"""A loopback HTTP server standing in for Slack's incoming-webhook endpoint.

It answers as Slack documents: `200 ok` for a JSON message with `text` or `blocks`, `400
invalid_payload` for a body that is not JSON, `400 no_text` for a message without either;
`refuse_with` makes it answer every post with a chosen status and reason (e.g. `404
channel_not_found`). Every post is recorded, so tests see exactly what was sent.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

WEBHOOK_PATH = "/services/T0TEST000/B0TEST000/not-a-real-webhook-secret"


@dataclass
class SlackEndpoint:
    url: str
    posts: list[dict[str, Any]] = field(default_factory=list)
    refuse_with: tuple[int, str] | None = None

    @property
    def texts(self) -> list[str]:
        return [post["text"] for post in self.posts]


def _handler(endpoint: SlackEndpoint) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if self.path != WEBHOOK_PATH:
                return self._answer(404, "no_service")
            if endpoint.refuse_with is not None:
                return self._answer(*endpoint.refuse_with)
            try:
                message = json.loads(body)
            except ValueError:
                return self._answer(400, "invalid_payload")
            if not isinstance(message, dict) or not (message.get("text") or message.get("blocks")):
                return self._answer(400, "no_text")
            endpoint.posts.append(
                {**message, "_content_type": self.headers.get("Content-Type", "")}
            )
            self._answer(200, "ok")

        def _answer(self, status: int, text: str) -> None:
            payload = text.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *_args: Any) -> None:
            pass

    return Handler


@contextmanager
def slack_endpoint() -> Iterator[SlackEndpoint]:
    endpoint = SlackEndpoint(url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(endpoint))
    endpoint.url = f"http://127.0.0.1:{server.server_port}{WEBHOOK_PATH}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield endpoint
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
