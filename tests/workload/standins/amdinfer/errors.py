"""How a request can go wrong in amdinfer-server, by what the client then sees."""

from __future__ import annotations

import os
import resource
import signal
import time


class RequestError(Exception):
    """An amdinfer exception its handler catches: 400 with `{"error": message}`."""


class EscapedError(Exception):
    """An exception no amdinfer handler catches: drogon answers 500 with an empty body."""


class ConfigParseError(EscapedError):
    """toml++'s parse error: no amdinfer exception, and fatal outside a request handler."""


class FatalInputError(Exception):
    """Input that kills the server: it dies of `signal` and answers nothing."""

    def __init__(self, signal_number: signal.Signals, reason: str) -> None:
        super().__init__(reason)
        self.signal_number = signal_number


def die(fault: FatalInputError) -> None:
    """End the process as the real server ends: killed by the signal, no core file."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # Python leaves SIGSEGV and SIGABRT at their default action: terminate the process.
    os.kill(os.getpid(), fault.signal_number)
    time.sleep(5)
    os._exit(128 + fault.signal_number)
