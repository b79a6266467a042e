"""A loopback HTTP server answering like amdinfer-server's REST API, for the proteus unit tests.

Only what the charm calls, with the server's rules that matter to it: loads of
repository entries and workers (a worker's endpoint is its lower-cased name),
readiness of loaded models only, infer answering echo's rule (data + 1). What
crashes the real server (DESIGN.md §4: an infer request without a JSON
content type, with an empty body or invalid JSON, NaN included) is recorded in
`crashes` and answered by closing the connection, as a segfault would. It
also serves files (/files/<name>) for the charm to download models from.
The workload tests run the full stand-in (tests/workload/standins/amdinfer).
"""

from __future__ import annotations

import json
from collections.abc import Generator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

from tests.unit.fake_server import serving

Reply = tuple[int, Any]
# As amdinfer-server v0.4.0 answers it: the worker's name and platform, echo's output
# tensor listed among the inputs (a bug of its serialisation), no outputs.
ECHO_METADATA = {
    "name": "CPlusPlus",
    "versions": [],
    "platform": "CPU",
    "inputs": [{"name": "", "datatype": "UINT32", "shape": [1]}] * 2,
    "outputs": [],
}


@dataclass
class FakeAmdinfer:
    """What the fake serves; tests read `requests` and change the rest."""

    port: int = 0
    loaded: set[str] = field(default_factory=set[str])
    # Repository entries that refuse to load, with the server's reason.
    broken: dict[str, str] = field(default_factory=dict[str, str])
    files: dict[str, bytes] = field(default_factory=dict[str, bytes])
    # Workers whose load fails, with the server's answer (xmodel without an FPGA: 500, b"").
    failing_workers: dict[str, Reply] = field(default_factory=dict[str, Reply])
    # Answers given instead of the usual one, by path (e.g. GET /v2/models -> 500).
    overrides: dict[str, Reply] = field(default_factory=dict[str, Reply])
    requests: list[tuple[str, str, Any]] = field(default_factory=list[tuple[str, str, Any]])
    # Requests that crash the real server: (path, why).
    crashes: list[tuple[str, str]] = field(default_factory=list[tuple[str, str]])

    @property
    def base_url(self) -> str:
        """Where it listens (loopback)."""
        return f"http://127.0.0.1:{self.port}"

    def posts(self, prefix: str = "") -> list[str]:
        """The paths POSTed to, starting with `prefix`."""
        return [
            path
            for method, path, _ in self.requests
            if method == "POST" and path.startswith(prefix)
        ]


def _get(fake: FakeAmdinfer, path: str) -> Reply:
    parts = path.strip("/").split("/")
    if path.startswith("/files/"):
        return (200, fake.files[parts[-1]]) if parts[-1] in fake.files else (404, b"")
    if path in ("/v2/health/ready", "/v2/health/live"):
        return 200, b""
    if path == "/v2/models":
        return 200, {"models": sorted(fake.loaded)}
    if parts[:2] != ["v2", "models"] or len(parts) not in (3, 4):
        return 404, b""
    if parts[2] not in fake.loaded:
        return 400, {"error": f"Worker {parts[2]} not found"}
    return 200, ECHO_METADATA if len(parts) == 3 else b""


def _post(fake: FakeAmdinfer, path: str, body: Any) -> Reply:
    parts = path.strip("/").split("/")
    if parts[:3] == ["v2", "repository", "models"]:
        return _repository(fake, parts[3], parts[-1])
    if parts[:2] == ["v2", "workers"]:
        endpoint = parts[2].lower()
        if parts[-1] == "load" and parts[2] in fake.failing_workers:
            return fake.failing_workers[parts[2]]
        if parts[-1] == "load":
            fake.loaded.add(endpoint)
            return 200, endpoint
        fake.loaded.discard(endpoint)
        return 200, b""
    if parts[:2] == ["v2", "models"] and parts[-1] == "infer":
        data = body["inputs"][0]["data"]
        return 200, {"outputs": [{"name": "echo", "data": [_plus_one(value) for value in data]}]}
    return 404, b""


def _plus_one(value: Any) -> Any:
    """Echo's rule on numbers; other data comes back as it went."""
    is_number = isinstance(value, (int, float)) and not isinstance(value, bool)
    return value + 1 if is_number else value


def _repository(fake: FakeAmdinfer, name: str, action: str) -> Reply:
    if action == "unload":
        fake.loaded.discard(name)
        return 200, b""
    if name in fake.broken:
        return 400, {"error": fake.broken[name]}
    fake.loaded.add(name)
    return 200, b""


def _strict_json(raw: bytes, content_type: str) -> tuple[Any, str | None]:
    """The body and None, or None and why the real server would crash on it."""
    if content_type.split(";")[0].strip() != "application/json":
        return None, f"Content-Type {content_type!r}"
    if not raw.strip():
        return None, "empty body"

    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not JSON")

    try:
        return json.loads(raw, parse_constant=refuse), None
    except ValueError as error:
        return None, f"invalid JSON: {error}"


def _encoded(body: Any) -> bytes:
    if isinstance(body, bytes):
        return body
    return body.encode() if isinstance(body, str) else json.dumps(body).encode()


def _handler(fake: FakeAmdinfer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            """Keep test output clean."""

        def _reply(self, reply: Reply) -> None:
            status, body = reply
            data = _encoded(body)
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            fake.requests.append(("GET", self.path, None))
            self._reply(fake.overrides.get(self.path) or _get(fake, self.path))

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            raw = self.rfile.read(length)
            body, crash = _strict_json(raw, self.headers.get("Content-Type", ""))
            fake.requests.append(("POST", self.path, body if crash is None else raw))
            if crash is not None and self.path.endswith("/infer"):
                fake.crashes.append((self.path, crash))
                self.close_connection = True  # the process is gone: no answer
                return
            if crash is not None:
                self._reply((400, {"error": crash}))
                return
            self._reply(fake.overrides.get(self.path) or _post(fake, self.path, body))

    return Handler


@contextmanager
def serve_amdinfer() -> Generator[FakeAmdinfer]:
    """Run the fake on a free loopback port for the duration of a test."""
    fake = FakeAmdinfer()
    with serving(_handler(fake)) as fake.port:
        yield fake
