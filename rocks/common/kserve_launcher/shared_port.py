"""Serve HTTP on the port the launcher's first process holds (workers that load their own model).

When each worker loads its own model, every worker is a whole single-process
kserve server (``--workers=1``): its uvicorn would bind the HTTP port itself,
and the second worker could not. The first process binds the port once, with
SO_REUSEPORT and without listening (a connection is refused until a worker
serves, as with a single kserve server, whose port opens once its model is
loaded), and hands it down. Each worker binds a socket of its own to the same
address, also with SO_REUSEPORT, and its uvicorn listens on that: the kernel
spreads new connections across the workers' sockets by their addresses.

One socket shared by every worker would not spread them: a worker's event loop
accepts every connection waiting when it wakes, so the connections a client
opens at once (wrk's 16, a proxy's pool) can all land in one worker while the
others idle, and keep-alive keeps them there (measured: one of two lgbserver
workers served everything in two of three benchmark rounds).
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
    """Make uvicorn serve `http_socket`'s port on a socket of its own; call `serving` then.

    The worker's socket is bound with SO_REUSEPORT to the address `http_socket` holds.
    """
    import uvicorn

    address = http_socket.getsockname()
    port = address[1]
    upstream_serve = uvicorn.Server.serve

    async def serve(self: Any, sockets: list[socket.socket] | None = None) -> None:
        if sockets is None and self.config.port == port:
            sockets = [own_socket(http_socket.family, address)]
            serving()
        await upstream_serve(self, sockets=sockets)

    uvicorn.Server.serve = serve  # type: ignore[method-assign]


def own_socket(family: int, address: Any) -> socket.socket:
    """A TCP socket bound with SO_REUSEPORT to `address`, not listening yet (uvicorn listens).

    Its protocol is named: asyncio sets TCP_NODELAY only on connections whose socket says
    IPPROTO_TCP, and without it every keep-alive answer waits ~40 ms for a delayed ACK.
    """
    own = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    own.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    own.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    own.bind(address)
    return own
