"""How the bench reads the spread of wrk's connections over a server's processes, and when."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

from bench.connections import connections_per_process, describe_split
from bench.load import RESULT_MARKER, Load, Wrk

# The first line of /proc/net/tcp names the columns (shortened here).
TCP_HEADER = "  sl  local_address rem_address   st tx_queue rx_queue ... uid  timeout inode\n"
# A server that accepts three connections on a loopback port and holds them.
HOLDER = """
import socket, sys, time
listener = socket.create_server(("127.0.0.1", 0))
print(listener.getsockname()[1], flush=True)
held = [listener.accept()[0] for _ in range(3)]
time.sleep(30)
"""


def _tcp_row(local_port: int, state: str, inode: int) -> str:
    return (
        f"   0: 0100007F:{local_port:04X} 0100007F:D431 {state} 00000000:00000000 00:00000000"
        f" 00000000     0        0 {inode} 1 0000000000000000 20 4 30 10 -1\n"
    )


def _process(proc: Path, pid: int, parent: int, sockets: list[int]) -> None:
    (proc / str(pid) / "fd").mkdir(parents=True)
    fields = f"S {parent} " + "0 " * 19 + "5 "
    (proc / str(pid) / "stat").write_text(f"{pid} (python3) {fields}\n")
    for number, inode in enumerate(sockets, start=3):
        (proc / str(pid) / "fd" / str(number)).symlink_to(f"socket:[{inode}]")


def test_each_process_of_the_tree_counts_the_established_connections_on_the_port(
    tmp_path: Path,
):
    (tmp_path / "net").mkdir()
    (tmp_path / "net" / "tcp").write_text(
        TCP_HEADER
        + _tcp_row(8080, "0A", 100)  # the listening socket
        + "".join(_tcp_row(8080, "01", inode) for inode in (111, 112, 113))
        + _tcp_row(54321, "01", 200)  # a client's end: its local port is not the server's
    )
    (tmp_path / "net" / "tcp6").write_text(TCP_HEADER + _tcp_row(8080, "01", 114))
    _process(tmp_path, 10, 1, [100])
    _process(tmp_path, 11, 10, [111, 112, 114])
    _process(tmp_path, 12, 10, [113])
    _process(tmp_path, 20, 1, [200])

    assert connections_per_process(10, 8080, tmp_path) == (3, 1)


def test_a_real_servers_connections_are_read_from_proc():
    holder = subprocess.Popen([sys.executable, "-c", HOLDER], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        port = int(holder.stdout.readline())
        clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
        time.sleep(0.2)  # the holder accepts them
        split = connections_per_process(holder.pid, port)
    finally:
        holder.kill()
        holder.wait()
    for client in clients:
        client.close()

    assert describe_split(split) == "3"


def test_the_halfway_reading_is_taken_while_wrk_still_runs(tmp_path: Path):
    fake_wrk = tmp_path / "wrk"
    fake_wrk.write_text(f"#!/bin/sh\nsleep 2\necho '{RESULT_MARKER} 100 2000000 500 900 0 0'\n")
    fake_wrk.chmod(0o755)
    wrk = Wrk(str(fake_wrk), tmp_path / "post.lua", tmp_path / "body.json", Load())
    started = time.monotonic()
    read_at: list[float] = []

    result = wrk.run("http://127.0.0.1:1/", 2, halfway=lambda: read_at.append(time.monotonic()))

    assert result.requests == 100
    assert len(read_at) == 1
    assert 0.9 < read_at[0] - started < 1.9
