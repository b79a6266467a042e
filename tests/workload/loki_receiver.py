"""A loopback receiver of Loki's push API, as Pebble's `loki` log targets send to it.

Pebble (internals/overlord/logstate/loki) POSTs to the target's location an
uncompressed JSON body, `Content-Type: application/json; charset=utf-8`,
`User-Agent: pebble/<version>`:

    {"streams": [{"stream": {<target labels>, "pebble_service": "<service>"},
                  "values": [["<unix time in ns>", "<log line>"], ...]}, ...]}

one stream per service, at most about once a second. Loki answers 204; so
does this receiver, which keeps every push for the test to read.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Generator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

PUSH_PATH = "/loki/api/v1/push"
MAX_BODY_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class Push:
    """One push request: its headers and its streams."""

    content_type: str
    user_agent: str
    streams: list[dict[str, Any]]


@dataclass(frozen=True)
class LogLine:
    """One pushed entry, with the labels of its stream."""

    labels: dict[str, str]
    time_ns: int
    line: str


class LokiReceiver:
    """The pushes received so far; thread-safe."""

    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}{PUSH_PATH}"
        self._pushes: list[Push] = []
        self._lock = threading.Lock()

    def record(self, push: Push) -> None:
        """Keep one push."""
        with self._lock:
            self._pushes.append(push)

    @property
    def pushes(self) -> list[Push]:
        """Every push so far."""
        with self._lock:
            return list(self._pushes)

    def lines(self) -> list[LogLine]:
        """Every entry of every stream pushed so far."""
        return [
            LogLine(labels=stream["stream"], time_ns=int(time_ns), line=line)
            for push in self.pushes
            for stream in push.streams
            for time_ns, line in stream["values"]
        ]


class _PushServer(ThreadingHTTPServer):
    """The HTTP server, holding the receiver its handlers record into."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _PushHandler)
        self.receiver = LokiReceiver(self.server_address[1])


class _PushHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        if self.path != PUSH_PATH or not 0 < length <= MAX_BODY_BYTES:
            self.send_error(404 if self.path != PUSH_PATH else 400)
            return
        try:
            body = json.loads(self.rfile.read(length))
        except json.JSONDecodeError as error:
            self.send_error(400, str(error))
            return
        cast(_PushServer, self.server).receiver.record(
            Push(
                content_type=self.headers.get("Content-Type", ""),
                user_agent=self.headers.get("User-Agent", ""),
                streams=body["streams"],
            )
        )
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test reads what was pushed, not an access log."""


@contextmanager
def loki_receiver() -> Generator[LokiReceiver]:
    """Listen on a free loopback port until the block ends."""
    server = _PushServer()
    thread = threading.Thread(target=server.serve_forever, name="loki-receiver", daemon=True)
    thread.start()
    try:
        yield server.receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
