"""Serve the HTTP port's connections that the launcher's first process deals to this worker.

When each worker loads its own model, every worker is a whole single-process
kserve server (``--workers=1``) whose uvicorn would bind the HTTP port itself,
and the second worker could not. Instead the first process holds the port,
accepts its connections and deals them out in turn (``kserve_launcher.dealer``);
each worker gets them on a Unix socket of its own (the channel, SCM_RIGHTS).

Here, in the worker: kserve's uvicorn server for that port starts without a
listening socket of its own (uvicorn's startup with an empty list of sockets
runs the application's start-up and binds nothing), then each connection from
the channel is served as uvicorn serves one it accepted: the same protocol
class, with uvicorn's configuration, server state and application state, so
its shutdown closes them with the others. When the channel ends (the first
process is gone), nothing more comes. kserve's gRPC server needs none of this:
gRPC sets SO_REUSEPORT on its port, so every worker binds it and the kernel
spreads connections across them.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable
from typing import Any

from kserve_launcher.protocol import HTTP_CHANNEL_ENV, HTTP_PORT_ENV


def claim_channel() -> tuple[socket.socket, int] | None:
    """The channel from the first process and the HTTP port, if this worker was given them."""
    descriptor = os.environ.pop(HTTP_CHANNEL_ENV, None)
    port = os.environ.pop(HTTP_PORT_ENV, None)
    if descriptor is None or port is None or not (descriptor.isdigit() and port.isdigit()):
        return None
    return socket.socket(fileno=int(descriptor)), int(port)


def serve_from(channel: socket.socket, port: int, serving: Callable[[], None]) -> None:
    """Make kserve's uvicorn server on `port` serve the connections `channel` brings.

    `serving` is called once that server has started.
    """
    import uvicorn

    upstream_startup = uvicorn.Server.startup
    upstream_shutdown = uvicorn.Server.shutdown

    async def startup(self: Any, sockets: list[socket.socket] | None = None) -> None:
        if sockets is not None or self.config.port != port:
            await upstream_startup(self, sockets=sockets)
            return
        await upstream_startup(self, sockets=[])

        def protocol() -> asyncio.Protocol:
            return self.config.http_protocol_class(
                config=self.config, server_state=self.server_state, app_state=self.lifespan.state
            )

        adopt_connections(asyncio.get_running_loop(), channel, protocol)
        serving()

    async def shutdown(self: Any, sockets: list[socket.socket] | None = None) -> None:
        if self.config.port == port:
            stop_adopting(asyncio.get_running_loop(), channel)
        await upstream_shutdown(self, sockets=sockets)

    uvicorn.Server.startup = startup  # type: ignore[method-assign]
    uvicorn.Server.shutdown = shutdown  # type: ignore[method-assign]


def adopt_connections(
    loop: asyncio.AbstractEventLoop,
    channel: socket.socket,
    protocol: Callable[[], asyncio.Protocol],
) -> None:
    """Serve each connection `channel` brings with a new `protocol` on `loop`."""
    channel.setblocking(False)
    adopting: set[asyncio.Task[Any]] = set()

    def take() -> None:
        while True:
            try:
                _, descriptors, _, _ = socket.recv_fds(channel, 1, 1)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                descriptors = []
            if not descriptors:  # the first process closed the channel, or it broke
                stop_adopting(loop, channel)
                return
            connection = socket.socket(fileno=descriptors[0])
            task = loop.create_task(loop.connect_accepted_socket(protocol, connection))
            adopting.add(task)
            task.add_done_callback(lambda done, c=connection: _adopted(done, c, adopting))

    loop.add_reader(channel.fileno(), take)


def stop_adopting(loop: asyncio.AbstractEventLoop, channel: socket.socket) -> None:
    """Take no more connections from `channel`."""
    if channel.fileno() >= 0:
        loop.remove_reader(channel.fileno())


def _adopted(task: asyncio.Task[Any], connection: socket.socket, adopting: set[Any]) -> None:
    """A connection is served now; or it failed to be (the client left first): close it."""
    adopting.discard(task)
    if task.cancelled() or task.exception() is not None:
        connection.close()
