"""A loopback HTTP server that answers downloads the ways servers and networks fail.

Written on raw sockets, so that it can send what no HTTP library sends: a
status line that is not HTTP, a header line over http.client's 64 KiB, a body
shorter than its Content-Length, a reset half-way, silence, a trickle. The
first segment of the path names the behaviour: `http://127.0.0.1:<port>/<behaviour>/m.so`.
"""

from __future__ import annotations

import socket
import socketserver
import struct
import threading
import time
from collections.abc import Callable, Generator
from contextlib import contextmanager

MIB = 1024 * 1024
# How long `stall` keeps silent and `trickle` keeps dripping: longer than the test's timeouts.
SILENCE_S = 3.0


def _head(status: str = "200 OK", *headers: str) -> bytes:
    return "\r\n".join([f"HTTP/1.1 {status}", *headers, "", ""]).encode()


def _bad_status(conn: socket.socket) -> None:
    conn.sendall(b"HELLO THERE\r\n\r\n")


def _long_header(conn: socket.socket) -> None:
    conn.sendall(_head("200 OK", "X-Long: " + "a" * 70_000))


def _incomplete(conn: socket.socket) -> None:
    conn.sendall(_head("200 OK", "Content-Length: 100") + b"x" * 10)


def _chunk_cut(conn: socket.socket) -> None:
    conn.sendall(_head("200 OK", "Transfer-Encoding: chunked") + b"64\r\n" + b"x" * 10)


def _reset(conn: socket.socket) -> None:
    conn.sendall(_head("200 OK", "Content-Length: 1000") + b"x" * 10)
    time.sleep(0.1)
    # Linger 0: close sends RST instead of FIN.
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def _stall(conn: socket.socket) -> None:
    conn.sendall(_head("200 OK", "Content-Length: 1000") + b"x" * 10)
    time.sleep(SILENCE_S)


def _trickle(conn: socket.socket) -> None:
    conn.sendall(_head("200 OK", "Content-Length: 1000"))
    until = time.monotonic() + SILENCE_S
    while time.monotonic() < until:
        conn.sendall(b"x")
        time.sleep(0.02)


def _declared_too_large(conn: socket.socket) -> None:
    conn.sendall(_head("200 OK", f"Content-Length: {2 * MIB}"))


def _streamed_too_large(conn: socket.socket) -> None:
    conn.sendall(_head("200 OK", "Connection: close") + b"x" * (MIB + 1))


def _not_found(conn: socket.socket) -> None:
    conn.sendall(_head("404 Not Found", "Content-Length: 0"))


def _redirect(location: str) -> Callable[[socket.socket], None]:
    def send(conn: socket.socket) -> None:
        conn.sendall(_head("302 Found", f"Location: {location}", "Content-Length: 0"))

    return send


BEHAVIOURS: dict[str, Callable[[socket.socket], None]] = {
    "bad-status": _bad_status,
    "long-header": _long_header,
    "incomplete": _incomplete,
    "chunk-cut": _chunk_cut,
    "reset": _reset,
    "stall": _stall,
    "trickle": _trickle,
    "declared-too-large": _declared_too_large,
    "streamed-too-large": _streamed_too_large,
    "not-found": _not_found,
    "redirect-ftp": _redirect("ftp://127.0.0.1/m.so"),
    "redirect-file": _redirect("file:///etc/passwd"),
}


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        conn: socket.socket = self.request
        request = b""
        while b"\r\n\r\n" not in request and len(request) < 65536:
            chunk = conn.recv(4096)
            if not chunk:
                return
            request += chunk
        path = request.split(b" ", 2)[1].decode()
        try:
            BEHAVIOURS[path.strip("/").split("/")[0]](conn)
        except OSError:
            return  # the client gave up first, as it should


@contextmanager
def serve_hostile() -> Generator[str]:
    """Serve the behaviours on a free loopback port; yields the base URL."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    server.block_on_close = False
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
