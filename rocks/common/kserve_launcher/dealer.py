"""The HTTP port of workers that load their own model: accepted once, dealt out in turn.

Standard library only: this runs in the launcher's first process.

When each worker loads its own model, every worker is a whole single-process
kserve server. The first process binds the HTTP port and, once a worker
serves, listens on it (a connection is refused until then, as with one kserve
server, whose port opens once its model is loaded). It accepts each
connection and hands it, over a Unix socket of its own (SCM_RIGHTS), to the
next serving worker in turn, which serves it as if it had accepted it
(``kserve_launcher.shared_port``).

Why not let the kernel spread them: a client opens its keep-alive connections
at once (wrk's 16, a proxy's pool) and keeps them, so their first placement
decides how the load is shared for as long as they live. On one shared
listening socket, a worker that wakes accepts every connection waiting; on a
SO_REUSEPORT socket per worker, the kernel places each by a hash of its
addresses, and 16 connections split 8/8 over two workers only one time in
five. The worker holding more answers each of its connections later. Dealt in
turn, 16 connections are 8/8, every time.

Accepting costs the first process one accept and one sendmsg per connection,
not per request.
"""

from __future__ import annotations

import selectors
import socket

# Connections the kernel keeps waiting while no worker serves yet.
BACKLOG = 2048
# Connections accepted per wake-up before the first process looks at its other work.
ACCEPTS_PER_WAKE = 64
# What goes with each descriptor (SCM_RIGHTS needs at least one byte).
CONNECTION_MESSAGE = b"c"


class ConnectionDealer:
    """Accepts the HTTP port's connections and deals them in turn to the serving workers."""

    def __init__(self, listener: socket.socket, selector: selectors.BaseSelector) -> None:
        self.listener = listener
        self.selector = selector
        self.channels: dict[int, socket.socket] = {}
        self.serving: list[int] = []
        self.turn = 0
        self.listening = False

    @property
    def port(self) -> int:
        """The HTTP port."""
        return self.listener.getsockname()[1]

    def open_channel(self, worker: int) -> socket.socket:
        """A new channel to `worker` (started again: its old one is closed); its end to pass on."""
        self.close_channel(worker)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        ours.setblocking(False)
        self.channels[worker] = ours
        theirs.set_inheritable(True)
        return theirs

    def close_channel(self, worker: int) -> None:
        """`worker` ended: it gets no more connections; while none serves, none is accepted."""
        if worker in self.serving:
            self.serving.remove(worker)
        channel = self.channels.pop(worker, None)
        if channel is not None:
            channel.close()
        if not self.serving:
            self._stop_watching()

    def worker_serves(self, worker: int) -> None:
        """`worker` serves: deal connections to it too (and listen, if it is the first)."""
        if worker not in self.channels or worker in self.serving or self.listener.fileno() < 0:
            return
        self.serving.append(worker)
        if not self.listening:
            self.listener.listen(BACKLOG)
            self.listener.setblocking(False)
            self.selector.register(self.listener, selectors.EVENT_READ, self)
            self.listening = True

    def stop(self) -> None:
        """The server is stopping: refuse new connections (the workers finish theirs)."""
        self._stop_watching()
        self.serving.clear()
        self.listener.close()

    def _stop_watching(self) -> None:
        """Accept nothing more for now (connections wait in the backlog while it listens)."""
        if self.listening:
            self.selector.unregister(self.listener)
            self.listening = False

    def deal(self) -> None:
        """Accept the connections waiting (up to ACCEPTS_PER_WAKE) and hand each to a worker."""
        for _ in range(ACCEPTS_PER_WAKE):
            try:
                connection, _ = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return  # out of descriptors, or the client gave up: the next wake-up tries again
            # Answers go out at once (asyncio sets it only on sockets it accepts itself).
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._hand_over(connection)
            connection.close()  # the worker holds its own copy now (or nobody does)

    def _hand_over(self, connection: socket.socket) -> None:
        """Give `connection` to the next serving worker whose channel takes it."""
        for _ in range(len(self.serving)):
            worker = self.serving[self.turn % len(self.serving)]
            self.turn += 1
            try:
                socket.send_fds(self.channels[worker], [CONNECTION_MESSAGE], [connection.fileno()])
            except OSError:
                continue  # its channel is full or it is ending: the next worker
            return
