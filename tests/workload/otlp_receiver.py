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

import threading
from collections.abc import Generator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tests.workload.post_receiver import receiving_posts

LOGS_PATH = "/v1/logs"


@dataclass(frozen=True)
class OtlpRecord:
    """One log record, with the attributes of its resource."""

    resource: dict[str, str]
    line: str


class OtlpReceiver:
    """The records received so far; thread-safe. `url` is what a target's location is."""

    def __init__(self) -> None:
        self.url = ""  # set once the server listens
        self._records: list[OtlpRecord] = []
        self._lock = threading.Lock()

    def receive(self, _: Any, body: Any) -> None:
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


@contextmanager
def otlp_receiver() -> Generator[OtlpReceiver]:
    """Listen on a free loopback port until the block ends; answer 200 with an empty response."""
    receiver = OtlpReceiver()
    with receiving_posts(LOGS_PATH, receiver.receive, 200, b"{}") as port:
        receiver.url = f"http://127.0.0.1:{port}"
        yield receiver
