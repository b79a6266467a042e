"""kserve's per-request timing middleware, left out where every line it writes would be dropped.

kserve's REST server (``RESTServer._add_middlewares``) wraps every request in
timing_asgi's ``TimingMiddleware``. Its one client, kserve's ``PrintTimings``,
writes each request's wall and CPU time to the ``kserve.trace`` logger at INFO;
that is all it does. Per request it still matches the route a second time for
the metric's name, reads the process's CPU time twice (``getrusage``) and
builds two lines' tags, whether the logger keeps the lines or not. With the
quiet log configuration (the charm's ``log-requests=false``) ``kserve.trace``
is at WARNING and drops them: without the middleware, one process of
upstream's sklearnserver v0.20.0 served 4-16 % more requests per second (the
README's Benchmark).

So in every server process and kserve worker the launcher wraps
``_add_middlewares``: upstream's method adds its middleware, then
``TimingMiddleware`` is taken out of the application (before Starlette builds
its middleware stack, on the first request) when ``kserve.trace`` would drop
INFO lines. kserve configures logging before it builds the application, in
its first process and in each worker, so the level seen is the configured one.
Where the lines are kept (``log-requests=true``, kserve's default logging) the
application is exactly upstream's.
"""

from __future__ import annotations

import logging
from typing import Any


def time_requests_only_when_heard() -> None:
    """Wrap kserve's `RESTServer._add_middlewares` as the module docstring says (this process)."""
    from kserve.protocol.rest import server as rest_server
    from timing_asgi import TimingMiddleware

    upstream_add_middlewares = rest_server.RESTServer._add_middlewares

    def add_middlewares(self: Any, app: Any) -> None:
        upstream_add_middlewares(self, app)
        if not rest_server.trace_logger.isEnabledFor(logging.INFO):
            app.user_middleware[:] = [
                middleware
                for middleware in app.user_middleware
                if middleware.cls is not TimingMiddleware
            ]

    rest_server.RESTServer._add_middlewares = add_middlewares
