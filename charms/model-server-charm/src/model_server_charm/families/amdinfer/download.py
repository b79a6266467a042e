"""Model files fetched for the repository, bounded in size and time, every fault a reason.

The charm fetches a repository model's file itself (sidecar mode) into a
spool file in its own container, and the repository pushes it to the
server's container only once it is whole: a fault half-way never leaves half
a model in the repository. Every fault of a fetch becomes a `DownloadError`
with its reason: an address http.client refuses (InvalidURL, a port out of
range), an answer it cannot read (BadStatusLine, LineTooLong,
IncompleteRead), a reset, a read that waits over READ_TIMEOUT_S, a download
that takes over DEADLINE_S, an HTTP error, a file over the size limit, a full
disk. Only http(s) is spoken, redirects included (urllib's default opener
also follows them to ftp:// and opens file://).
"""

from __future__ import annotations

import http.client
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import BinaryIO

from model_server_charm import bounded

# Each read from the network, and the whole download.
READ_TIMEOUT_S = 60.0
DEADLINE_S = 30 * 60.0
CHUNK_BYTES = 1024 * 1024
MIB = 1024 * 1024
# What urllib and http.client raise on an address, a connection or an answer they refuse.
FAULTS = (
    urllib.error.URLError,  # HTTPError included
    http.client.HTTPException,  # InvalidURL, BadStatusLine, LineTooLong, IncompleteRead
    OSError,  # resets, timeouts, a full disk
    ValueError,  # an address urllib cannot split, a host name IDNA refuses
    OverflowError,  # a port over 65535
)
# The reason quoted in a status: a bad status line or header can be 64 KiB.
MAX_REASON_BYTES = 300

_OPENER = urllib.request.OpenerDirector()
for _handler in (
    urllib.request.UnknownHandler,  # refuses every other scheme
    urllib.request.HTTPHandler,
    urllib.request.HTTPSHandler,
    urllib.request.HTTPRedirectHandler,
    urllib.request.HTTPDefaultErrorHandler,
    urllib.request.HTTPErrorProcessor,
):
    _OPENER.add_handler(_handler())


class DownloadError(Exception):
    """The model file could not be fetched; the message says why."""


def download_url(uri: str) -> str:
    """The public HTTPS address of a gs:// or s3:// object (http(s) as it is)."""
    scheme, _, rest = uri.partition("://")
    bucket, _, path = rest.partition("/")
    if scheme == "gs":
        return f"https://storage.googleapis.com/{bucket}/{path}"
    if scheme == "s3":
        return f"https://{bucket}.s3.amazonaws.com/{path}"
    return uri


def fetch(uri: str, spool: BinaryIO, limit: int, local: BinaryIO | None = None) -> None:
    """Write the file at `uri`, or `local` (a file of the server's container), into `spool`.

    At most `limit` bytes; `spool` is rewound to its start. Raises DownloadError.
    """
    try:
        if local is not None:
            with local:
                _copy(local.read, spool, limit)
        else:
            _fetch(uri, spool, limit)
    except FAULTS as error:
        raise DownloadError(_reason(error)) from error
    spool.seek(0)


def _fetch(uri: str, spool: BinaryIO, limit: int) -> None:
    with _OPENER.open(download_url(uri), timeout=READ_TIMEOUT_S) as response:
        length = getattr(response, "length", None)
        if isinstance(length, int) and length > limit:
            raise DownloadError(_too_large(limit, length))
        # read1: one read from the socket at a time, so a trickle meets the deadline.
        size = _copy(response.read1, spool, limit)
    # read1, unlike read, takes a connection closed early for the end of the file.
    if isinstance(length, int) and size != length:
        raise DownloadError(f"the connection closed after {size} of its {length} bytes")


def _copy(read: Callable[[int], bytes], spool: BinaryIO, limit: int) -> int:
    deadline = time.monotonic() + DEADLINE_S
    size = 0
    while chunk := read(CHUNK_BYTES):
        size += len(chunk)
        if size > limit:
            raise DownloadError(_too_large(limit, None))
        if time.monotonic() > deadline:
            raise DownloadError(f"not done after {DEADLINE_S:g} s ({size} bytes read)")
        spool.write(chunk)
    return size


def _too_large(limit: int, size: int | None) -> str:
    said = f" ({size} bytes)" if size is not None else ""
    return f"the file is over the {limit // MIB} MiB limit{said}: raise download-limit-mib"


def _reason(error: Exception) -> str:
    if isinstance(error, urllib.error.HTTPError):
        error.close()
        reason = f"HTTP {error.code} {error.reason}"
    elif isinstance(error, urllib.error.URLError):
        reason = str(error.reason)
    else:
        reason = f"{type(error).__name__}: {error}"
    # One line: a bad status line ends in CR LF.
    return bounded.shorten(" ".join(reason.split()), MAX_REASON_BYTES)
