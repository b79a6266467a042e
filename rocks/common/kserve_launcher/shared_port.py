"""Serve HTTP on the socket the launcher's first process bound (workers that load their own model).

When each worker loads its own model, every worker is a whole single-process
kserve server (``--workers=1``): its uvicorn would bind the HTTP port itself,
and the second worker could not. The first process binds the port once,
without listening (a connection is refused until a worker serves, as with a
single kserve server, whose port opens once its model is loaded), and each
worker's uvicorn serves on that socket: the kernel hands each connection to
whichever worker accepts it first, as it does for kserve's own workers.
kserve's gRPC server needs nothing: gRPC sets SO_REUSEPORT on its port, so
every worker binds it and the kernel spreads connections across them.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from typing import Any

from kserve_launcher.protocol import HTTP_FD_ENV


def claim_http_socket() -> socket.socket | None:
    """The bound HTTP socket from the first process, if this worker was given one."""
    descriptor = os.environ.pop(HTTP_FD_ENV, None)
    if descriptor is None or not descriptor.isdigit():
        return None
    return socket.socket(fileno=int(descriptor))


def serve_on(http_socket: socket.socket, serving: Callable[[], None]) -> None:
    """Make uvicorn serve the HTTP port on `http_socket`; call `serving` when it starts to."""
    import uvicorn

    port = http_socket.getsockname()[1]
    upstream_serve = uvicorn.Server.serve

    async def serve(self: Any, sockets: list[socket.socket] | None = None) -> None:
        if sockets is None and self.config.port == port:
            sockets = [http_socket]
            serving()
        await upstream_serve(self, sockets=sockets)

    uvicorn.Server.serve = serve  # type: ignore[method-assign]
