"""Where amdinfer-server listens: HTTP on the IPv4 wildcard only, gRPC on the IPv6 one.

Measured on the real v0.4.0 server: HTTP on 0.0.0.0 (drogon's 16 SO_REUSEPORT
sockets; the stand-in opens one), nothing on IPv6; gRPC on `[::]`, dual stack.
The server runs unconfined here, in a network namespace of its own (`unshare
--net`, its loopback brought up), so that binding the wildcards exposes
nothing: this needs root, `unshare` and `ip`, and skips saying which is missing.
Everywhere else the tests keep both servers on loopback, which
`running_amdinfer` checks each time.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.workload.amdinfer_run import make_repository, server_environment, wait_until
from tests.workload.amdinfer_server import Listener, amdinfer_server, listeners

# The server's default ports: nothing else listens in a namespace of its own.
HTTP_PORT, GRPC_PORT = 8998, 50051
LISTEN_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0


def own_namespace_command(argv: list[str]) -> list[str]:
    """`argv` in a new network namespace whose loopback is up (same process: no fork)."""
    missing = [tool for tool in ("unshare", "ip") if shutil.which(tool) is None]
    if os.geteuid() != 0 or missing:
        why = "the tests do not run as root" if os.geteuid() != 0 else f"no {', '.join(missing)}"
        pytest.skip(f"a network namespace of its own is needed to bind the wildcards: {why}")
    return ["unshare", "--net", "sh", "-c", 'ip link set lo up && exec "$0" "$@"', *argv]


def test_http_binds_the_ipv4_wildcard_only_and_grpc_the_ipv6_one(tmp_path: Path):
    repository = make_repository(tmp_path / "models", [])
    home = tmp_path / "home"
    home.mkdir()
    argv = amdinfer_server().command([f"--model-repository={repository}"])
    process = subprocess.Popen(
        own_namespace_command(argv), cwd=tmp_path, env=server_environment(home, confined=False)
    )
    try:
        wait_until(
            lambda: (
                process.poll() is not None
                or {HTTP_PORT, GRPC_PORT} <= {found.port for found in listeners(process.pid)}
            ),
            LISTEN_TIMEOUT_S,
            "both ports listened on",
        )
        found = set(listeners(process.pid))
    finally:
        process.terminate()
        process.wait(timeout=STOP_TIMEOUT_S)

    assert {entry for entry in found if entry.port == HTTP_PORT} == {
        Listener("IPv4", "0.0.0.0", HTTP_PORT)
    }
    assert {entry for entry in found if entry.port == GRPC_PORT} == {
        Listener("IPv6", "::", GRPC_PORT)
    }
