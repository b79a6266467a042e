"""A loopback HTTP server taking JSON POSTs at one path: what the log receivers share.

The Loki push and OTLP/HTTP receivers differ in the body they read and the
answer they send; the size bound and the handling of a bad request are the
same, and the socket and thread are the unit tests' fake server's (`serving`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Generator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.unit.fake_server import serving

MAX_BODY_BYTES = 16 * 1024 * 1024

# (the request's headers, its JSON body) -> None
Record = Callable[[Any, Any], None]


@contextmanager
def receiving_posts(path: str, record: Record, status: int, answer: bytes = b"") -> Generator[int]:
    """Serve POSTs of JSON at `path` on a free loopback port (yielded) until the block ends.

    Each body goes to `record`; the answer is `status`, with `answer` as a JSON body.
    """

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            if self.path != path or not 0 < length <= MAX_BODY_BYTES:
                self.send_error(404 if self.path != path else 400)
                return
            try:
                body = json.loads(self.rfile.read(length))
            except json.JSONDecodeError as error:
                self.send_error(400, str(error))
                return
            record(self.headers, body)
            self.send_response(status)
            if answer:
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the test reads what was received, not an access log."""

    with serving(Handler) as port:
        yield port
