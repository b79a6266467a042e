"""`python -m amdinfer [amdinfer-server flags]`: run the stand-in until SIGTERM or SIGINT."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from amdinfer import cli
from amdinfer.endpoints import Endpoints
from amdinfer.http_api import HOST, State, make_server
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
    logs = ServerLogs(log_directory())
    endpoints = Endpoints()
    repository = Repository(Path(options.model_repository), endpoints, logs.info)
    if options.load_existing:
        repository.load_existing()
    if options.repository_monitoring:
        repository.start_monitoring()
    try:
        server = make_server(options.http_port, State(endpoints, repository, Metrics(), logs))
    except OSError as error:
        print(f"Bind address failed at {HOST}:{options.http_port}: {error}", file=sys.stderr)
        return 1
    stop = threading.Event()
    for signal_number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signal_number, lambda _number, _frame: stop.set())
    serving = threading.Thread(
        target=server.serve_forever, args=(STOP_POLL_S,), name="http", daemon=True
    )
    serving.start()
    while not stop.wait(STOP_POLL_S):
        pass
    server.shutdown()
    server.server_close()
    repository.stop_monitoring()
    logs.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
