"""The launcher leaves kserve's timing middleware out only where its lines would be dropped.

Upstream's own `RESTServer._add_middlewares` (kserve v0.20.0 from PyPI) adds its
middleware to a real FastAPI application; the launcher's wrapper then decides
by the `kserve.trace` logger's level, as kserve configured it.
"""

from __future__ import annotations

import logging
from collections.abc import Generator

import fastapi
import pytest
from kserve.protocol.rest.server import RESTServer, trace_logger
from timing_asgi import TimingMiddleware

from kserve_launcher.request_timing import time_requests_only_when_heard


@pytest.fixture
def restore_trace_level() -> Generator[None]:
    """Restore the `kserve.trace` logger's level (setLevel also clears its cached answers)."""
    level = trace_logger.level
    yield
    trace_logger.setLevel(level)


def _middleware_classes(trace_level: int, monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The application's middleware classes once kserve has added its own at `trace_level`."""
    monkeypatch.setattr(RESTServer, "_add_middlewares", RESTServer._add_middlewares)
    trace_logger.setLevel(trace_level)
    time_requests_only_when_heard()
    server = RESTServer.__new__(RESTServer)  # only its access_log_format is read
    server.access_log_format = None
    app = fastapi.FastAPI()

    RESTServer._add_middlewares(server, app)

    return [middleware.cls for middleware in app.user_middleware]


def test_the_timing_middleware_is_left_out_when_kserve_trace_drops_info(
    monkeypatch: pytest.MonkeyPatch, restore_trace_level: None
):
    classes = _middleware_classes(logging.WARNING, monkeypatch)

    assert TimingMiddleware not in classes


def test_the_timing_middleware_stays_when_kserve_trace_logs_info(
    monkeypatch: pytest.MonkeyPatch, restore_trace_level: None
):
    classes = _middleware_classes(logging.INFO, monkeypatch)

    assert classes == [TimingMiddleware]
