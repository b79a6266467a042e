"""One download of a remote model for all the workers that load their own model.

A KServe server downloads its ``--model_dir`` itself when it is a URI
(gs://, s3://, https://, hf://…: kserve-storage, into a new temporary
directory). One server process does it once, whatever kserve's own workers.
When each worker is a whole server of its own (``KSERVE_LAUNCHER_WORKERS_LOAD_MODEL``),
each would download it again: N downloads, N copies on disk. So the launcher
downloads it once first, with kserve-storage's own ``Storage.download`` in a
process of its own (``python3 -m kserve_launcher.model_download <uri> <directory>``,
run by the first process's ``Supervisor``, which passes its output on and
names why it failed), and starts the workers with the local copy as their
``--model_dir``. The download process reports the directory kserve-storage
gives back on its status pipe (``model-dir <JSON string>``). The first process
removes the copy when the server ends.

A first process that is killed (SIGKILL: Pebble's, once its kill-delay has
passed) cannot remove its copy, and every restart would leave one more in
``TMPDIR``. So each copy's directory holds a lock file that its first process
keeps locked (``flock``) while it runs, and the kernel unlocks whenever that
process ends; at its start, the launcher removes every copy whose lock is free.

A local path (and ``file://``) is left as it is: kserve-storage reads it in
place. The first process only looks at the URI's scheme (standard library
only); the download process imports kserve-storage.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import sys
from pathlib import Path

from kserve_launcher.protocol import MODEL_DIR, StatusPipe

DOWNLOAD_ENTRY = "kserve_launcher.model_download"
# A URI's scheme (RFC 3986); `file://` is a local path to kserve-storage.
SCHEME = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://")
LOCAL_SCHEMES = frozenset({"file"})
# In each copy's directory: the model (kserve-storage's out_dir) and its first process's lock.
MODEL_SUBDIRECTORY = "model"
LOCK_FILE = "launcher.lock"


def is_remote(model_dir: str) -> bool:
    """Whether kserve-storage would download `model_dir` (a URI) rather than read it in place."""
    match = SCHEME.match(model_dir)
    return match is not None and match["scheme"].lower() not in LOCAL_SCHEMES


def hold(directory: str) -> None:
    """Lock `directory` as this process's copy for as long as it runs.

    The descriptor stays open (not inherited by the server processes) until
    this process ends. The lock file is locked before it appears under its
    name, so a lock file found unlocked is one whose process has ended.
    """
    lock_path = os.path.join(directory, LOCK_FILE)
    descriptor = os.open(f"{lock_path}.new", os.O_CREAT | os.O_WRONLY, 0o600)
    fcntl.flock(descriptor, fcntl.LOCK_EX)
    os.rename(f"{lock_path}.new", lock_path)


def remove_abandoned(parent: Path, prefix: str) -> list[Path]:
    """Remove the copies under `parent` whose first process has ended; those removed."""
    removed = []
    for directory in sorted(parent.glob(f"{prefix}*")):
        if _abandoned(directory / LOCK_FILE):
            shutil.rmtree(directory, ignore_errors=True)
            removed.append(directory)
    return removed


def _abandoned(lock_path: Path) -> bool:
    """Whether `lock_path` is a lock file nobody holds (no such file: not a copy, or not yet)."""
    try:
        descriptor = os.open(lock_path, os.O_WRONLY)
    except OSError:
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:  # held: its process runs
        return False
    finally:
        os.close(descriptor)
    return True


def download_argv(uri: str, directory: str) -> list[str]:
    """The download process's command line: `uri` into `directory`."""
    return [sys.executable, "-m", DOWNLOAD_ENTRY, uri, directory]


def encode_model_dir(path: str) -> str:
    """`path` as one word of a status line (JSON, its spaces escaped too)."""
    return json.dumps(path).replace(" ", "\\u0020")


def decode_model_dir(word: str) -> str | None:
    """The path `encode_model_dir` gave (None: not one)."""
    try:
        path = json.loads(word)
    except ValueError:
        return None
    return path if isinstance(path, str) and path else None


def download(argv: list[str]) -> int:
    """In the download process: fetch `argv[0]` into `argv[1]`; report where it is, or why not."""
    status = StatusPipe.claim()
    if len(argv) != 2:
        status.report_failure(f"usage: python3 -m {DOWNLOAD_ENTRY} <uri> <directory>")
        return 2
    uri, directory = argv
    try:
        from kserve_storage import Storage

        model_dir = Storage.download(uri, out_dir=directory)
    except Exception as error:  # whatever kserve-storage raises is the reason to show
        status.report_failure(f"the model download failed: {type(error).__name__}: {error}")
        return 1
    status.report(f"{MODEL_DIR} {encode_model_dir(str(model_dir))}")
    return 0


if __name__ == "__main__":
    sys.exit(download(sys.argv[1:]))
