"""A small HTTP client for a model server's REST API (KServe v1/v2 and its relatives).

The standard library is enough for the handful of requests the charm makes
(readiness, one inference for an action, a model load), so no HTTP library
goes into every charm. Answers are read up to `bounded.MAX_ANSWER_BYTES`.
"""

from __future__ import annotations

import http.client
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Literal

from model_server_charm.bounded import MAX_ANSWER_BYTES


class RequestRefusedError(Exception):
    """The charm will not send a request: the server would refuse it, or crash on it."""


class ServerUnreachableError(Exception):
    """The server did not answer at all (not listening, or timed out)."""


@dataclass(frozen=True)
class ServerAnswer:
    """One HTTP answer from the model server."""

    status: int
    body: str
    latency_ms: float

    @property
    def ok(self) -> bool:
        """Whether the server accepted the request."""
        return 200 <= self.status < 300


class ModelServerClient:
    """A small client for one model server's REST API, at a base URL."""

    def __init__(self, base_url: str, timeout: float = 30):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    @classmethod
    def on_port(cls, port: int, host: str = "localhost", timeout: float = 30) -> ModelServerClient:
        """A client for a server in this pod (sidecar mode) or on this machine (tests)."""
        return cls(f"http://{host}:{port}", timeout)

    def get(self, path: str) -> ServerAnswer:
        """GET `path`; the server's answer, whatever its status."""
        return self._request("GET", path)

    def post(self, path: str, body: bytes) -> ServerAnswer:
        """POST a JSON body to `path`; the server's answer, whatever its status."""
        return self._request("POST", path, body)

    def answers(self, path: str) -> bool:
        """Whether GET `path` answers 2xx (False when the server does not answer at all)."""
        try:
            return self.get(path).ok
        except ServerUnreachableError:
            return False

    def _request(
        self, method: Literal["GET", "POST"], path: str, body: bytes | None = None
    ) -> ServerAnswer:
        request = urllib.request.Request(
            self.base_url + path,
            data=body,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                status = response.status
                text = response.read(MAX_ANSWER_BYTES).decode(errors="replace")
        except urllib.error.HTTPError as error:
            status, text = error.code, error.read(MAX_ANSWER_BYTES).decode(errors="replace")
        except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
            raise ServerUnreachableError(f"{self.base_url}{path}: {error}") from error
        latency_ms = (time.perf_counter() - started) * 1000
        return ServerAnswer(status=status, body=text, latency_ms=latency_ms)
