"""How the load's connections are spread over a server's processes, read from /proc.

wrk opens its connections at once and keeps them for the whole measurement,
so which worker process accepted each one decides how the load is shared: a
worker holding 10 of 16 answers each of them later than one holding 6, and the
round's p50 and p99 show it. The bench reads the spread once, halfway through
a measurement: /proc/net/tcp and tcp6 list the established sockets whose local
port is the server's HTTP port (wrk's own ends have an ephemeral local port),
and each process's /proc/<pid>/fd links name the sockets it holds.
"""

from __future__ import annotations

import os
from pathlib import Path

from bench.processes import PROC, process_tree, read_processes

# /proc/net/tcp's state column: an established connection, a listening socket.
ESTABLISHED = "01"
LISTEN = "0A"
SOCKET_LINK_PREFIX = "socket:["


def tcp_sockets(port: int, state: str = ESTABLISHED, proc: Path = PROC) -> set[str]:
    """The inodes of the TCP sockets (IPv4 and IPv6) in `state` whose local port is `port`."""
    inodes: set[str] = set()
    for table in ("tcp", "tcp6"):
        try:
            rows = (proc / "net" / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            # sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
            fields = row.split()
            if len(fields) < 10 or fields[3] != state:
                continue
            local_port = fields[1].rpartition(":")[2]
            if int(local_port, 16) == port:
                inodes.add(fields[9])
    return inodes


def sockets_held(pid: int, proc: Path = PROC) -> set[str]:
    """The inodes of the sockets the process holds open (none when it ended or is not ours)."""
    held: set[str] = set()
    try:
        descriptors = list((proc / str(pid) / "fd").iterdir())
    except OSError:
        return held
    for descriptor in descriptors:
        try:
            target = os.readlink(descriptor)
        except OSError:
            continue  # closed while we looked
        if target.startswith(SOCKET_LINK_PREFIX):
            held.add(target[len(SOCKET_LINK_PREFIX) : -1])
    return held


def connections_per_process(root: int, port: int, proc: Path = PROC) -> tuple[int, ...]:
    """How many connections on `port` each process of `root`'s tree holds, most first."""
    connections = tcp_sockets(port, ESTABLISHED, proc)
    counts = (
        len(sockets_held(pid, proc) & connections)
        for pid in process_tree(root, read_processes(proc))
    )
    return tuple(sorted((count for count in counts if count), reverse=True))


def describe_split(counts: tuple[int, ...]) -> str:
    """`9/7`: the connections each process held, most first; `-` when none was read."""
    return "/".join(str(count) for count in counts) if counts else "-"
