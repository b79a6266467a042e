"""`python -m amdinfer [amdinfer-server flags]`: run the stand-in until SIGTERM or SIGINT."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from amdinfer import cli, network
from amdinfer.endpoints import Endpoints
from amdinfer.http_api import State, make_server
from amdinfer.logs import ServerLogs, log_directory
from amdinfer.metrics import Metrics
from amdinfer.repository import Repository

STOP_POLL_S = 0.1


def main(argv: Sequence[str]) -> int:
    """Serve until told to stop; the exit status is the real server's for the same case."""
    try:
        options = cli.parse(argv)
    except cli.OptionError as error:
        print(f"Error parsing options: {error}", flush=True)
        return 1
    if options.help:
        print(cli.HELP, flush=True)
        return 0
    # The real server blocks SIGTERM and SIGINT while it starts, and ends on them.
    stop = threading.Event()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signal_number, lambda number, _frame: _interrupted(number, stop))
    logs = ServerLogs(log_directory())
    endpoints = Endpoints()
    repository = Repository(Path(options.model_repository), endpoints, logs.info)
    if options.load_existing:
        repository.load_existing()
    logs.info("main.cpp:121", f"Using model repository: {options.model_repository}")
    if options.repository_monitoring:
        repository.start_monitoring()
    print(f"gRPC server starting at port {options.grpc_port}", flush=True)
    grpc_port = network.hold_grpc_port(options.grpc_port)
    print(f"HTTP server starting at port {options.http_port}", flush=True)
    logs.info("websocket_server.cpp:59", "Constructed WebsocketServer")
    state = State(endpoints, repository, Metrics(), logs)
    try:
        server = make_server(network.http_host(), options.http_port, state)
    except OSError as error:
        reason = f"{os.strerror(error.errno or 0)} (errno={error.errno}) "
        where = f"{network.HTTP_WILDCARD}:{options.http_port}"
        logs.drogon("FATAL", f"{reason}, Bind address failed at {where}", "Socket.cc:67")
        logs.close()
        return 1
    serving = threading.Thread(
        target=server.serve_forever, args=(STOP_POLL_S,), name="http", daemon=True
    )
    serving.start()
    while not stop.wait(STOP_POLL_S):
        pass
    server.shutdown()
    server.server_close()
    if grpc_port is not None:
        grpc_port.close()
    repository.stop_monitoring()
    logs.close()
    return 0


def _interrupted(signal_number: int, stop: threading.Event) -> None:
    print(f"Caught interrupt {signal_number}. amdinfer-server is ending...", flush=True)
    stop.set()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
