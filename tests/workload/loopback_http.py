"""A small HTTP server on loopback for the workload tests, in a thread of this process.

The tests give it a request handler (a subclass of `AnswerHandler` with its own
`get`) and get the running server; it is stopped and closed after the block.
"""

from __future__ import annotations

import threading
from collections.abc import Generator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class AnswerHandler(BaseHTTPRequestHandler):
    """A request handler that answers GET with `get` and logs nothing (a line per request)."""

    def do_GET(self) -> None:
        self.get()

    def get(self) -> None:
        """Answer a GET of `self.path` (subclasses say how): 404 here."""
        self.send_error(404)

    def answer(self, body: bytes, content_type: str) -> None:
        """200 with `body`."""
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: one line per request would drown the test output."""


@contextmanager
def loopback_server(
    handler: type[AnswerHandler], host: str = "127.0.0.1", port: int = 0
) -> Generator[ThreadingHTTPServer]:
    """`handler`'s server on host:port (0: a free port), until the block ends."""
    server = ThreadingHTTPServer((host, port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
