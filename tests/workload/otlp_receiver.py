"""A loopback receiver of OTLP/HTTP logs, as Pebble's `opentelemetry` log targets send them.

Pebble v1.24+ (internals/overlord/logstate/opentelemetry) POSTs to
`<target location>/v1/logs` an OTLP/HTTP JSON body, `Content-Type:
application/json`:

    {"resourceLogs": [{"resource": {"attributes": [{"key": "service.name",
         "value": {"stringValue": "<service>"}}, <target labels>...]},
       "scopeLogs": [{"scope": {...}, "logRecords": [{"timeUnixNano": "…",
         "body": {"stringValue": "<log line>"}}, ...]}]}]}

one resource per service. An OTLP collector answers 200 with an (empty)
export response; so does this receiver, which keeps every record.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Generator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

LOGS_PATH = "/v1/logs"
MAX_BODY_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class OtlpRecord:
    """One log record, with the attributes of its resource."""

    resource: dict[str, str]
    line: str


class OtlpReceiver:
    """The records received so far; thread-safe. `url` is what a target's location is."""

    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self._records: list[OtlpRecord] = []
        self._lock = threading.Lock()

    def record(self, body: dict[str, Any]) -> None:
        """Keep every record of one export request."""
        found = [
            OtlpRecord(
                resource={
                    attribute["key"]: attribute["value"].get("stringValue", "")
                    for attribute in resource_logs["resource"]["attributes"]
                },
                line=record["body"].get("stringValue", ""),
            )
            for resource_logs in body["resourceLogs"]
            for scope_logs in resource_logs["scopeLogs"]
            for record in scope_logs["logRecords"]
        ]
        with self._lock:
            self._records.extend(found)

    def records(self) -> list[OtlpRecord]:
        """Every record so far."""
        with self._lock:
            return list(self._records)


class _Server(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.receiver = OtlpReceiver(self.server_address[1])


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        if self.path != LOGS_PATH or not 0 < length <= MAX_BODY_BYTES:
            self.send_error(404 if self.path != LOGS_PATH else 400)
            return
        try:
            body = json.loads(self.rfile.read(length))
        except json.JSONDecodeError as error:
            self.send_error(400, str(error))
            return
        cast(_Server, self.server).receiver.record(body)
        answer = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test reads what was exported, not an access log."""


@contextmanager
def otlp_receiver() -> Generator[OtlpReceiver]:
    """Listen on a free loopback port until the block ends."""
    server = _Server()
    thread = threading.Thread(target=server.serve_forever, name="otlp-receiver", daemon=True)
    thread.start()
    try:
        yield server.receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
