"""The last error a server wrote on its standard error: what its status should name.

Upstream's servers often log an error and exit with status 1 (or let a
traceback end them): the exit status alone says nothing. Reading the server's
standard error as it passes through, the launcher keeps the last line that
says what went wrong:

* the exception line that ends a Python traceback (``RuntimeError: Failed to
  infer device type``), after any chained tracebacks;
* the message of a log record at ERROR or CRITICAL level, in kserve's and
  uvicorn's formats (``... kserve ERROR [file.py:func():12] message``,
  ``... uvicorn.error ERROR: message``), without the record's prefix;
* an argparse error (``prog: error: the following arguments are required``).

Everything is bounded: a line is looked at up to MAX_LINE_BYTES, and what is
kept is at most MAX_ERROR_CHARACTERS.
"""

from __future__ import annotations

import re

MAX_LINE_BYTES = 64 * 1024
MAX_ERROR_CHARACTERS = 1000
TRACEBACK_START = "Traceback (most recent call last):"
# Lines between two chained tracebacks, not their exception.
CHAIN_LINES = (
    "During handling of the above exception",
    "The above exception was the direct cause",
)
# A log record's level as a word, then the message after an optional "[where]" prefix.
LOG_RECORD = re.compile(r"\b(?:ERROR|CRITICAL|FATAL)\b:?\s+(?:\[[^\]]*\]\s+)?(?P<message>\S.*)")
ARGPARSE_ERROR = re.compile(r"^\S+: error: \S.*")
# Cheap first look at a chunk: none of these, and no traceback open, means no error in it.
MARKERS = (b"Traceback", b"ERROR", b"CRITICAL", b"FATAL", b": error: ")


class LastError:
    """Follows one process's standard error and keeps its last error line."""

    def __init__(self) -> None:
        self.line = ""
        self._in_traceback = False
        self._partial = b""

    def feed(self, chunk: bytes) -> None:
        """Read what the process wrote next (any piece of its output)."""
        data = self._partial + chunk
        lines = data.split(b"\n")
        self._partial = lines.pop()[-MAX_LINE_BYTES:]
        if not self._in_traceback and not any(marker in data for marker in MARKERS):
            return
        for line in lines:
            self._read_line(line[:MAX_LINE_BYTES].decode(errors="replace").rstrip())

    def finish(self) -> None:
        """The output ended: read its last line even without a newline."""
        if self._partial:
            self._read_line(self._partial.decode(errors="replace").rstrip())
            self._partial = b""

    def _read_line(self, line: str) -> None:
        if line.startswith(TRACEBACK_START):
            self._in_traceback = True
            return
        if self._in_traceback:
            if not line or line[0].isspace() or line.startswith(CHAIN_LINES):
                return
            self._in_traceback = False
            self._keep(line)
            return
        if ARGPARSE_ERROR.match(line):
            self._keep(line)
        elif match := LOG_RECORD.search(line):
            self._keep(match["message"])

    def _keep(self, text: str) -> None:
        self.line = " ".join(text.split())[:MAX_ERROR_CHARACTERS]
