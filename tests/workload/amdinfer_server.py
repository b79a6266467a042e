"""Which amdinfer-server the workload tests run: the stand-in, or a real build.

By default `amdinfer-server` is the stand-in of tests/workload/standins/amdinfer.
With AMDINFER_PREFIX set to a real build's install prefix (`bin/amdinfer-server`,
`lib/` with its libraries, workers and `libecho.so`; rocks/proteus-server/README.md
says how to build one), every proteus workload test runs that binary instead,
as KSERVE_PYTHON_DIR makes the KServe tests run upstream's servers. Every
proteus test holds on both (none is about the stand-in alone).

Both servers listen on the wildcard addresses, as amdinfer v0.4.0 does; the
tests confine them to loopback: the stand-in through AMDINFER_STANDIN_LOOPBACK,
the real server through a preloaded bind() (tests/workload/loopback_bind.c,
compiled here with the system's C compiler).
"""

from __future__ import annotations

import functools
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.servers import REPO_ROOT, STANDINS
from tests.workload.standins.amdinfer.network import LOOPBACK_ENV

AMDINFER_PREFIX_ENV = "AMDINFER_PREFIX"
LOOPBACK_SOURCE = Path(__file__).with_name("loopback_bind.c")
LOOPBACK_LIBRARY = REPO_ROOT / "build" / "amdinfer-loopback" / "loopback_bind.so"
COMPILE_TIMEOUT_S = 120
# What the stand-in serves as the echo model's file (it runs any file of that name).
PLACEHOLDER_LIBRARY = b"placeholder for the library the rock builds"
TCP_LISTEN = "0A"  # the state column of /proc/net/tcp*
FAMILY_NAMES = {socket.AF_INET: "IPv4", socket.AF_INET6: "IPv6"}


class AmdinferPrefixError(RuntimeError):
    """AMDINFER_PREFIX names no usable amdinfer-server build."""


@dataclass(frozen=True)
class AmdinferServer:
    """The amdinfer-server under test: the stand-in (prefix None) or a build's prefix."""

    prefix: Path | None

    @property
    def is_real(self) -> bool:
        return self.prefix is not None

    @property
    def name(self) -> str:
        """What the tests' messages call it."""
        return f"amdinfer-server of {self.prefix}" if self.prefix else "the amdinfer stand-in"

    @property
    def command_line_mark(self) -> str:
        """What the server's process has in its command line (and the wrapper does not)."""
        return " ".join(self.command([])[1:]) or self.command([])[0]

    def command(self, arguments: Sequence[str]) -> list[str]:
        """`amdinfer-server <arguments>`."""
        if self.prefix is None:
            return [sys.executable, "-m", "amdinfer", *arguments]
        return [str(self.prefix / "bin" / "amdinfer-server"), *arguments]

    def environment(self, base: Mapping[str, str], *, confined: bool = True) -> dict[str, str]:
        """`base` with what the server needs to run, confined to loopback unless told not."""
        environment = dict(base)
        if self.prefix is None:
            paths = [str(STANDINS), environment.get("PYTHONPATH", "")]
            environment["PYTHONPATH"] = os.pathsep.join(filter(None, paths))
            if confined:
                environment[LOOPBACK_ENV] = "1"
            return environment
        paths = [str(self.prefix / "lib"), environment.get("LD_LIBRARY_PATH", "")]
        environment["LD_LIBRARY_PATH"] = os.pathsep.join(filter(None, paths))
        if confined:
            environment["LD_PRELOAD"] = str(loopback_library())
        return environment

    def launcher(self, python: str = "python3") -> str:
        """`amdinfer-server` as a `#!/bin/sh` script to put on PATH (the stand-in on `python`)."""
        exports = "".join(
            f'export {name}="{value}"\n' for name, value in sorted(self.environment({}).items())
        )
        program = f'"{python}" -m amdinfer' if self.prefix is None else f'"{self.command([])[0]}"'
        return f'#!/bin/sh\n{exports}exec {program} "$@"\n'

    def echo_library(self) -> bytes:
        """The echo model's file: the build's libecho.so, or the stand-in's placeholder."""
        if self.prefix is None:
            return PLACEHOLDER_LIBRARY
        return (self.prefix / "lib" / "libecho.so").read_bytes()


@functools.cache
def amdinfer_server() -> AmdinferServer:
    """The server the tests run, from AMDINFER_PREFIX (checked once per session)."""
    prefix = os.environ.get(AMDINFER_PREFIX_ENV)
    if not prefix:
        return AmdinferServer(None)
    root = Path(prefix).resolve()
    missing = [
        str(root / path)
        for path in ("bin/amdinfer-server", "lib/libecho.so")
        if not (root / path).is_file()
    ]
    if missing:
        raise AmdinferPrefixError(
            f"{AMDINFER_PREFIX_ENV}={prefix} is not an amdinfer-server install prefix:"
            f" no {', '.join(missing)}"
        )
    return AmdinferServer(root)


@functools.cache
def loopback_library() -> Path:
    """tests/workload/loopback_bind.c compiled into build/ (again when the source changed)."""
    source_time = LOOPBACK_SOURCE.stat().st_mtime
    if LOOPBACK_LIBRARY.exists() and LOOPBACK_LIBRARY.stat().st_mtime >= source_time:
        return LOOPBACK_LIBRARY
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise AmdinferPrefixError(
            "no C compiler (cc) to build tests/workload/loopback_bind.c, which keeps the"
            f" real server of {AMDINFER_PREFIX_ENV} on loopback"
        )
    LOOPBACK_LIBRARY.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [compiler, "-shared", "-fPIC", "-O2", "-Wall", "-Werror", "-o", str(LOOPBACK_LIBRARY),
         str(LOOPBACK_SOURCE), "-ldl"],
        check=True, capture_output=True, timeout=COMPILE_TIMEOUT_S,
    )  # fmt: skip
    LOOPBACK_LIBRARY.chmod(0o755)
    return LOOPBACK_LIBRARY


@dataclass(frozen=True)
class Listener:
    """A listening TCP socket of a process: its address family, address and port."""

    family: str  # "IPv4" or "IPv6"
    address: str  # as inet_ntop writes it: 0.0.0.0, 127.0.0.1, ::, ::1, …
    port: int

    @property
    def is_loopback(self) -> bool:
        return self.address in ("127.0.0.1", "::1")


def listeners(pid: int) -> list[Listener]:
    """The listening TCP sockets process `pid` holds, in its own network namespace.

    /proc/<pid>/net/tcp{,6} list the sockets of the process's namespace; those
    whose inode is one of the process's descriptors are its own (one entry each:
    a server with SO_REUSEPORT sockets appears as many times as it has them).
    """
    inodes = set()
    for descriptor in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(descriptor)
        except FileNotFoundError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(target.removeprefix("socket:[").removesuffix("]"))
    found = []
    for table, family in (("tcp", socket.AF_INET), ("tcp6", socket.AF_INET6)):
        lines = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        for fields in (line.split() for line in lines):
            local, state, inode = fields[1], fields[3], fields[9]
            if state == TCP_LISTEN and inode in inodes:
                address, port = local.split(":")
                found.append(
                    Listener(FAMILY_NAMES[family], _address(family, address), int(port, 16))
                )
    return found


def _address(family: int, hexadecimal: str) -> str:
    """An address of /proc/net/tcp*: 32-bit words in host byte order (little-endian here)."""
    raw = bytes.fromhex(hexadecimal)
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return socket.inet_ntop(family, words)
