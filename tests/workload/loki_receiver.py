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

import threading
from collections.abc import Generator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from tests.workload.post_receiver import receiving_posts

PUSH_PATH = "/loki/api/v1/push"


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

    def __init__(self) -> None:
        self.url = ""  # set once the server listens
        self._pushes: list[Push] = []
        self._lock = threading.Lock()

    def receive(self, headers: Any, body: Any) -> None:
        """Keep one push."""
        push = Push(
            content_type=headers.get("Content-Type", ""),
            user_agent=headers.get("User-Agent", ""),
            streams=body["streams"],
        )
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


@contextmanager
def loki_receiver() -> Generator[LokiReceiver]:
    """Listen on a free loopback port until the block ends; answer 204, as Loki does."""
    receiver = LokiReceiver()
    with receiving_posts(PUSH_PATH, receiver.receive, 204) as port:
        receiver.url = f"http://127.0.0.1:{port}{PUSH_PATH}"
        yield receiver
