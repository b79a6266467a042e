"""amdinfer-server's REST API (KServe v2 plus its own repository, worker and hardware routes).

Statuses, bodies, content types, which requests the metrics count and the
log lines each request writes follow src/amdinfer/servers/http_server.cpp
(v0.4.0) and what the real server (a Release build, as the rock's) was measured
to do; the request bodies that crash it crash this server too: the process
kills itself with the signal the real one dies of. An exception no handler
catches is a 500 with an empty body and an ERROR line in drogon's log.
"""

from __future__ import annotations

import json
import re
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from amdinfer import echo
from amdinfer.endpoints import Endpoints
from amdinfer.errors import EscapedError, FatalInputError, RequestError, die
from amdinfer.logs import ServerLogs
from amdinfer.metrics import Metrics, exposition
from amdinfer.repository import Repository

SERVER_NAME, SERVER_VERSION = "amdinfer", "0.4.0"
JSON_TYPE = "application/json; charset=utf-8"
HTML_TYPE = "text/html; charset=utf-8"  # drogon's default for a plain response
TEXT_TYPE = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class State:
    """What every request handler reaches."""

    endpoints: Endpoints
    repository: Repository
    metrics: Metrics
    logs: ServerLogs


@dataclass(frozen=True)
class Response:
    """An answer: status, body and its content type."""

    status: int
    body: bytes = b""
    content_type: str = HTML_TYPE


def _json(value: Any, status: int = 200) -> Response:
    body = json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
    return Response(status, body, JSON_TYPE)


def _error(message: str) -> Response:
    return _json({"error": message}, 400)


class Request:
    """One request as the route functions see it."""

    def __init__(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        media_type = handler.headers.get("Content-Type", "").split(";", 1)[0]
        self.is_json_type = media_type.strip().lower() == "application/json"
        self.body = body

    def parse_body(self) -> Any:
        """The body as JSON; ValueError when it is not JSON."""
        return json.loads(self.body, parse_constant=_reject_constant)

    def json_object(self) -> Any | None:
        """The parsed body for a JSON content type, else None (drogon's getJsonObject())."""
        if not self.is_json_type:
            return None
        try:
            return self.parse_body()
        except ValueError:
            return None


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parameters(request: Request) -> dict[str, Any]:
    """A load request's parameters: a flat JSON object (mapJsonToParameters)."""
    body = request.json_object()
    if body is None:
        return {}
    if not isinstance(body, dict) or not all(
        isinstance(value, bool | int | float | str) for value in body.values()
    ):
        raise EscapedError("parameters must be a flat object of scalars")
    return body


class Api:
    """The routes, bound to the server's state."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.routes: list[tuple[str, re.Pattern[str], Callable[..., Response]]] = [
            ("GET", re.compile(r"/v2/health/live"), self.live),
            ("GET", re.compile(r"/v2/health/ready"), self.ready),
            ("GET", re.compile(r"/v2"), self.server_metadata),
            ("GET", re.compile(r"/v2/models"), self.model_list),
            ("GET", re.compile(r"/v2/models/([^/]+)"), self.model_metadata),
            ("GET", re.compile(r"/v2/models/([^/]+)/ready"), self.model_ready),
            ("GET", re.compile(r"/metrics"), self.metrics),
            ("POST", re.compile(r"/v2/models/([^/]+)/infer"), self.infer),
            ("POST", re.compile(r"/v2/repository/models/([^/]+)/(load|unload)"), self.model),
            (
                "POST",
                re.compile(r"/v2/repository/models/([^/]+)/versions/([^/]+)/(load|unload)"),
                self.model_version,
            ),
            ("POST", re.compile(r"/v2/workers/([^/]+)/(load|unload)"), self.worker),
            ("POST", re.compile(r"/v2/hardware"), self.hardware),
        ]

    def handle(self, method: str, path: str, request: Request) -> Response:
        """Route one request; FatalInputError propagates to the caller, who dies of it."""
        allowed = False
        for route_method, pattern, route in self.routes:
            match = pattern.fullmatch(path)
            if match is None:
                continue
            allowed = True
            if route_method == method:
                try:
                    return route(request, *(unquote(group) for group in match.groups()))
                except RequestError as error:
                    return _error(str(error))
                except EscapedError as error:
                    self.state.logs.drogon(
                        "ERROR",
                        f"Unhandled exception in {path}, what(): {error}",
                        "HttpAppFrameworkImpl.cc:133",
                    )
                    return Response(500)
        return Response(405 if allowed else 404)

    def _counted(self, method: str, source: str, message: str) -> None:
        self.state.metrics.count_request(method)
        self.state.logs.info(source, message)

    def live(self, request: Request) -> Response:
        self._counted("GET", "http_server.cpp:186", "Received getServerLive request")
        return Response(200)

    def ready(self, request: Request) -> Response:
        """200 whether or not a model is loaded: ask a model's own readiness instead."""
        self._counted("GET", "http_server.cpp:208", "Received getServerReady request")
        return Response(200)

    def server_metadata(self, request: Request) -> Response:
        self._counted("GET", "http_server.cpp:254", "Received getServerMetadata request")
        return _json({"name": SERVER_NAME, "version": SERVER_VERSION, "extensions": []})

    def model_list(self, request: Request) -> Response:
        self.state.logs.info("http_server.cpp:312", "Received modelList request")
        return _json({"models": self.state.endpoints.names()})

    def model_metadata(self, request: Request, model: str) -> Response:
        self._counted("GET", "http_server.cpp:276", "Received getModelMetadata request")
        if not self.state.endpoints.exists(model):
            return _error(f"Worker {model} not found")
        return _json(echo.metadata())

    def model_ready(self, request: Request, model: str) -> Response:
        self._counted("GET", "http_server.cpp:224", "Received getModelReady request")
        if not self.state.endpoints.exists(model):
            return Response(400, f"Worker {model} not found".encode())
        return Response(200)

    def metrics(self, request: Request) -> Response:
        started = time.monotonic()
        self.state.logs.info("http_server.cpp:716", "Received metrics request")
        text = exposition(self.state.metrics.snapshot()).encode()
        self.state.metrics.observe_scrape(len(text), (time.monotonic() - started) * 1e6)
        return Response(200, text, TEXT_TYPE)

    def infer(self, request: Request, model: str) -> Response:
        started = time.monotonic()
        self._counted("POST", "http_server.cpp:497", f"Received modelInfer request for {model}")
        if not request.is_json_type:
            raise FatalInputError(signal.SIGSEGV, "infer without a JSON content type")
        try:
            body = request.parse_body()
        except ValueError:
            raise FatalInputError(signal.SIGSEGV, "infer with a body that is not JSON") from None
        if not self.state.endpoints.exists(model):
            self.state.logs.info("http_server.cpp:522", f"Worker {model} not found")
            raise EscapedError("bad_function_call")
        metrics = self.state.metrics
        metrics.enter("batcher")
        try:
            answer = echo.infer(body)
        finally:
            metrics.leave("batcher")
        # The echo chain: the model's worker, then the responder that answers.
        # Each counts the request in; only the responder counts it out.
        for worker in echo.CHAIN:
            self.state.logs.info("worker.hpp:204", f"Got request in {worker}")
            metrics.enter("worker")
        metrics.leave("worker")
        metrics.observe_latency((time.monotonic() - started) * 1e6)
        return _json(answer)

    def model(self, request: Request, model: str, action: str) -> Response:
        return self.model_version(request, model, "", action)

    def model_version(self, request: Request, model: str, version: str, action: str) -> Response:
        model = model.lower()
        repository = self.state.repository
        if action == "unload":
            self.state.logs.info("http_server.cpp:604", "Received modelUnload request")
            repository.unload(model, version)
            return Response(200)
        self.state.logs.info("http_server.cpp:557", f"Received modelLoad request for {model}")
        try:
            repository.load(model, version, _parameters(request))
        except RequestError as error:
            self.state.logs.error("http_server.cpp:571", str(error))
            # The handler answers the error, then answers 200 too, which drogon drops.
            self.state.logs.drogon(
                "ERROR",
                "Sending more than 1 response for request. Ignoring later response",
                "HttpServer.cc:355",
            )
            raise
        return Response(200)

    def worker(self, request: Request, worker: str, action: str) -> Response:
        worker = worker.lower()
        logs = self.state.logs
        if action == "unload":
            logs.info("http_server.cpp:694", f"Received unload request is for {worker}")
            self.state.endpoints.unload(worker)
            return Response(200)
        logs.info("http_server.cpp:643", "Received load request")
        parameters = {**_parameters(request), "worker": worker}
        logs.info("http_server.cpp:661", f"Received load request is for {worker}")
        try:
            endpoint = self.state.endpoints.load(worker, parameters)
        except RequestError as error:
            logs.error("http_server.cpp:672", str(error))
            raise
        return Response(200, endpoint.encode())

    def hardware(self, request: Request) -> Response:
        self._counted("GET", "http_server.cpp:328", "Received hasHardware request")
        if request.json_object() is None:
            return _error("No JSON body in hasHardware request")
        return Response(404)  # no FPGA in a CPU-only server


def make_server(host: str, port: int, state: State) -> ThreadingHTTPServer:
    """An HTTP/1.1 server for the API on host:port (OSError when the port is taken)."""
    api = Api(state)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "drogon/1.8.4"
        sys_version = ""

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request = Request(self, self.rfile.read(length) if length > 0 else b"")
            try:
                answer = api.handle(method, urlsplit(self.path).path, request)
            except FatalInputError as fault:
                die(fault)
                return
            self.send_response(answer.status)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            self.send_header("Access-Control-Allow-Origin", "*")
            self.end_headers()
            self.wfile.write(answer.body)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def log_message(self, format: str, *args: Any) -> None:
            """Requests are logged to server.log, not to stderr."""

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 128

    return Server((host, port), Handler)
