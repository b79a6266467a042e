"""A loopback HTTP server that answers like a KServe model server, for unit tests.

The charm's status and actions talk HTTP to the server; answering them from a
real socket exercises the charm's real client instead of a patched one.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Generator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class FakeModelServer:
    """What the fake answers; tests change these fields between runs.

    `answer` is sent as JSON, or as it is when it is `bytes` (a body no real
    server should send: oversized, too deeply nested, a 5,000-digit number).
    """

    port: int = 0
    ready: bool = True
    # False: the server runs with an empty model repository (its model directory held no
    # model file): alive, and the model's readiness and metadata answer 404, as upstream's.
    has_model: bool = True
    # What /v2/health/live answers: 200, or 503 for a server that is not alive.
    live: bool = True
    status: int = 200
    answer: Any = field(default_factory=lambda: {"predictions": [1, 1]})
    # What GET /v2/models/<name> (model metadata) answers.
    metadata: Any = field(default_factory=lambda: {"name": "model"})
    requests: list[tuple[str, Any]] = field(default_factory=list[tuple[str, Any]])


def _get_answer(fake: FakeModelServer, path: str) -> tuple[int, Any]:
    """What the fake answers to GET `path`: status and body."""
    if path == "/v2/health/live":
        return (200 if fake.live else 503), {"live": fake.live}
    if not fake.has_model and path.startswith("/v2/models/"):
        return 404, {"error": f"Model with name {path.split('/')[3]} does not exist."}
    if path.endswith("/ready"):
        return (200 if fake.ready else 503), {"ready": fake.ready}
    if path.startswith("/v2/models/") and path.count("/") == 3:
        return (200 if fake.ready else 503), fake.metadata
    return 404, {"error": "not found"}


def _handler(fake: FakeModelServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            """Keep test output clean."""

        def _reply(self, status: int, body: Any) -> None:
            if isinstance(body, bytes):
                data = body
            elif isinstance(body, str):
                data = body.encode()
            else:
                data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._reply(*_get_answer(fake, self.path))

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            fake.requests.append((self.path, json.loads(self.rfile.read(length))))
            self._reply(fake.status, fake.answer)

    return Handler


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Generator[int]:
    """Serve `handler` on a free loopback port (yielded) for the duration of a test."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    # A short poll interval keeps shutdown (once per test) fast.
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def serve_fake() -> Generator[FakeModelServer]:
    """Run a fake model server on a free loopback port for the duration of a test."""
    fake = FakeModelServer()
    with serving(_handler(fake)) as fake.port:
        yield fake
