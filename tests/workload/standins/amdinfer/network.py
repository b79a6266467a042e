"""Where amdinfer-server v0.4.0 listens, as measured on the real server.

- HTTP: drogon's 16 SO_REUSEPORT listeners on the IPv4 wildcard 0.0.0.0 only
  (`addListener("0.0.0.0", port)`); the stand-in opens one. A port already in
  use ends the server (exit status 1) with a FATAL line in drogon's log.
- gRPC: one socket on the IPv6 wildcard `[::]` (dual stack), or 0.0.0.0 where
  IPv6 loopback is unavailable; gRPC sets SO_REUSEPORT, and a port it cannot
  bind is silently left alone. The stand-in holds the port the same way and
  speaks no gRPC on it.

With AMDINFER_STANDIN_LOOPBACK set (the workload tests set it; the real server
gets a preloaded bind() instead) both listen on loopback only: 127.0.0.1 and [::1].
"""

from __future__ import annotations

import os
import socket

LOOPBACK_ENV = "AMDINFER_STANDIN_LOOPBACK"
HTTP_WILDCARD = "0.0.0.0"  # what drogon binds, and names in its bind failure
GRPC_BACKLOG = 16


def confined() -> bool:
    """Whether to listen on loopback only."""
    return bool(os.environ.get(LOOPBACK_ENV))


def http_host() -> str:
    """The address the HTTP server binds."""
    return "127.0.0.1" if confined() else HTTP_WILDCARD


def hold_grpc_port(port: int) -> socket.socket | None:
    """Bind and listen on the gRPC port as gRPC does; None when it cannot."""
    ipv6, ipv4 = ("::1", "127.0.0.1") if confined() else ("::", "0.0.0.0")
    candidates = [(socket.AF_INET6, ipv6)] if _ipv6_loopback_available() else []
    for family, address in [*candidates, (socket.AF_INET, ipv4)]:
        try:
            held = socket.socket(family, socket.SOCK_STREAM)
        except OSError:  # no such address family here
            continue
        try:
            held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            if family == socket.AF_INET6:
                held.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            held.bind((address, port))
            held.listen(GRPC_BACKLOG)
        except OSError:
            held.close()
            continue
        return held
    return None


def _ipv6_loopback_available() -> bool:
    """Whether a socket can bind [::1] (gRPC tests it before it binds the IPv6 wildcard)."""
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True
