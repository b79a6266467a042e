"""How a request can go wrong in amdinfer-server, by what the client then sees."""

from __future__ import annotations

import signal


class RequestError(Exception):
    """An amdinfer exception its handler catches: 400 with `{"error": message}`."""


class EscapedError(Exception):
    """An exception no amdinfer handler catches: drogon answers 500 with an empty body."""


class FatalInputError(Exception):
    """Input that kills the server: it dies of `signal` and answers nothing."""

    def __init__(self, signal_number: signal.Signals, reason: str) -> None:
        super().__init__(reason)
        self.signal_number = signal_number
