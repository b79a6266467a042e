"""Run a KServe Python model server so that /metrics covers every worker and failures are named.

Usage, as the rocks' services and the charms run it::

    python3 -m kserve_launcher <server-module> [server arguments...]

for example ``python3 -m kserve_launcher sklearnserver --model_dir=/mnt/models --workers=2``.
The server module runs as ``__main__`` (as ``python -m <server-module>`` would
run it) in a server process the launcher starts, with ``sys.argv`` set to
``[<server-module>, *arguments]`` before anything imports kserve; upstream's
code is not changed. The launcher's own first process (``supervisor``) only
starts, watches and ends the server processes. What the launcher adds:

* **/metrics that cover all workers.** With ``--workers`` > 1 kserve serves
  HTTP from worker processes it starts with multiprocessing's "spawn", and each
  worker's ``/metrics`` reports only its own requests (kserve issue 2979). The
  launcher turns on prometheus_client's multiprocess mode:
  ``PROMETHEUS_MULTIPROC_DIR`` (``/tmp/kserve-metrics`` when unset) is where
  every process keeps its metric values; the first process creates it and
  deletes the ``*.db`` files a previous run left there, so counters start from
  zero with the server. kserve's ``/metrics`` handler encodes the module-global
  ``REGISTRY`` of ``kserve.protocol.rest.server``; every server process and
  worker replaces that global with a registry whose ``MultiProcessCollector``
  sums all processes' files (``kserve_launcher.metrics``). Values of workers
  that died are kept: counters do not go backwards when a worker is replaced.
  The ``process_*`` metrics are the whole server's: the first process and all
  its descendants (``metrics.ProcessTreeCollector``).
* **Workers that start slowly are not killed** (``kserve_launcher.worker_start``):
  a start-up grace before kserve's 5-second liveness ping applies.
* **Workers that load their own model** (``KSERVE_LAUNCHER_WORKERS_LOAD_MODEL=true``):
  the launcher starts ``--workers`` whole single-process servers
  (``--workers=1`` each), each loading the model itself from ``--model_dir``
  (nothing pickled). The charm asks for it where kserve cannot hand the model
  to a spawned worker (lgbserver forces one worker, pmmlserver refuses more
  than one, Paddle's predictor cannot be pickled), and where it serves better
  than kserve's own workers (sklearn, xgboost, predictive, autogluon: N copies
  of the model instead of N+1, gRPC on every worker). The first process holds the
  HTTP port and deals its connections to the serving workers in turn
  (``kserve_launcher.dealer``, ``kserve_launcher.shared_port``); gRPC is on
  one SO_REUSEPORT port. A remote model is downloaded once, before the
  workers start, and a copy a killed launcher left is removed at the next
  start (``kserve_launcher.model_download``). With one worker, one
  server process runs as without this mode.
* **No per-request timing that no one hears** (``kserve_launcher.request_timing``):
  kserve's timing middleware only writes lines to the ``kserve.trace`` logger;
  where that logger drops them (the quiet log configuration), the middleware is
  left out of the application (4-16 % more requests per second on a small model).
* **A model's own joblib threads run in the calling thread**
  (``kserve_launcher.joblib_threads``): one worker is one thread of prediction,
  and joblib polls its thread pool every 10 ms while kserve's event loop waits.
* **Why the server failed.** When it fails, the launcher writes why, on one
  line, to the file named by ``KSERVE_LAUNCHER_ERROR_FILE`` if that is set,
  so the charm can show it in its status: the server's own exception
  (``<module> failed: <Type>: <message>``) or, when it exits with a status,
  that status and the last error line it wrote (``<module> exited with status
  1: RuntimeError: ...``, ``kserve_launcher.last_error``). The launcher never
  removes the file: when Pebble restarts a failing server the reason stays true
  until the next failure overwrites it, and the charm removes it when it plans
  a new command.
* **No process outlives the server** (``kserve_launcher.supervisor``): the
  first process is the child subreaper of the whole tree and ends what is left
  of it, such as pmmlserver's Java gateway, which Py4J starts with
  ``die_on_exit=False``.

How the launcher reaches kserve's spawned workers: a spawned child first
re-imports its parent's ``__main__`` module as ``__mp_main__``, except when that
module is a package's ``__main__.py`` (multiprocessing leaves those alone, as
"main only" code). So while the server runs, ``sys.modules["__main__"]`` is this
package: each worker then runs ``kserve_launcher/__main__.py`` as
``__mp_main__``, which installs the same registry before the worker serves a
request. The server module itself must not define, in its own ``__main__``,
anything the workers unpickle; upstream's servers do not (their workers would
not find it either).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple, NoReturn

from kserve_launcher import model_download
from kserve_launcher.protocol import ROOT_PID_ENV
from kserve_launcher.supervisor import Supervisor

METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
DEFAULT_METRICS_DIR = "/tmp/kserve-metrics"
ERROR_FILE_ENV = "KSERVE_LAUNCHER_ERROR_FILE"
WORKERS_LOAD_MODEL_ENV = "KSERVE_LAUNCHER_WORKERS_LOAD_MODEL"
SERVER_ENTRY = "kserve_launcher.server"
# Where a remote model is downloaded once for every worker that loads its own (in TMPDIR).
DOWNLOAD_PREFIX = "kserve-model-"
# kserve's own: HTTP on every address, no flag changes it.
HTTP_HOST = "0.0.0.0"

USAGE = "usage: python3 -m kserve_launcher <server-module> [server arguments...]"


def launch(argv: list[str]) -> None:
    """Run the server `argv` names until it ends; exit as it did."""
    if not argv or argv[0].startswith("-"):
        sys.exit(USAGE)
    module, *arguments = argv
    metrics_dir = Path(os.environ.setdefault(METRICS_DIR_ENV, DEFAULT_METRICS_DIR))
    metrics_dir.mkdir(parents=True, exist_ok=True)
    for stale in metrics_dir.glob("*.db"):
        stale.unlink()
    _remove_abandoned_copies()
    os.environ[ROOT_PID_ENV] = str(os.getpid())
    server = [sys.executable, "-m", SERVER_ENTRY, module, *arguments]
    workers_load_model = os.environ.get(WORKERS_LOAD_MODEL_ENV, "").lower() == "true"
    flags = worker_flags(arguments) if workers_load_model else None
    if flags is None or flags.workers == 1:
        # One server process loads the model (and hands it to kserve's workers, if any).
        _supervise(Supervisor(module, [server]))
    try:
        http_socket = bound_http_socket(flags.http_port)
    except OSError as error:
        _fail(f"{module}: cannot bind the HTTP port {flags.http_port}: {error}")
    # The last --workers (and --model_dir) wins: each server process runs one worker.
    one_worker = [*server, "--workers=1"]
    if not model_download.is_remote(flags.model_dir):
        _supervise(Supervisor(module, [one_worker] * flags.workers, http_socket))
    download_dir = tempfile.mkdtemp(prefix=DOWNLOAD_PREFIX)
    try:
        out_dir = Path(download_dir, model_download.MODEL_SUBDIRECTORY)
        try:
            model_download.hold(download_dir)  # until this process ends, however it ends
            out_dir.mkdir()
        except OSError as error:
            _fail(f"{module}: cannot prepare the model's copy in {download_dir}: {error}")
        model_dir = _download_once(module, flags.model_dir, str(out_dir), flags.workers)
        local = [*one_worker, f"--model_dir={model_dir}"]
        _supervise(Supervisor(module, [local] * flags.workers, http_socket))
    finally:
        shutil.rmtree(download_dir, ignore_errors=True)


class WorkerFlags(NamedTuple):
    """The flags of kserve's parser that the launcher reads when each worker loads its model."""

    workers: int
    http_port: int
    model_dir: str


def worker_flags(arguments: list[str]) -> WorkerFlags | None:
    """`--workers`, `--http_port` and `--model_dir` as kserve's parser reads them.

    None: kserve's parser would refuse them, and says why when one server process runs.
    """
    parser = argparse.ArgumentParser(add_help=False, exit_on_error=False)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--http_port", type=int, default=8080)
    parser.add_argument("--model_dir", default="")
    try:
        flags, _ = parser.parse_known_args(arguments)
    except argparse.ArgumentError:
        return None
    return WorkerFlags(max(flags.workers, 1), flags.http_port, flags.model_dir)


def _remove_abandoned_copies() -> None:
    """Remove the model copies that killed launchers left in TMPDIR (`model_download`)."""
    parent = Path(tempfile.gettempdir())
    try:
        removed = model_download.remove_abandoned(parent, DOWNLOAD_PREFIX)
    except OSError as error:
        print(
            f"kserve_launcher: cannot look for old model copies in {parent}: {error}",
            file=sys.stderr,
        )
        return
    if removed:
        names = ", ".join(directory.name for directory in removed)
        print(
            f"kserve_launcher: removed the model copies killed launchers left in {parent}:"
            f" {names}",
            file=sys.stderr,
            flush=True,
        )


def _download_once(module: str, uri: str, directory: str, workers: int) -> str:
    """Download the model at `uri` into `directory` for every worker: where it is now."""
    started = time.monotonic()
    download = Supervisor("the model download", [model_download.download_argv(uri, directory)])
    status = download.run()
    if download.stopping:
        sys.exit(status)
    if download.failure:
        _fail(f"{module}: {download.failure}", status)
    model_dir = model_download.decode_model_dir(download.servers[0].model_dir)
    if status or model_dir is None:
        _fail(f"{module}: the model download ended without a model directory (status {status})")
    print(
        f"kserve_launcher: downloaded the model once for {workers} workers"
        f" in {time.monotonic() - started:.1f} s",
        file=sys.stderr,
        flush=True,
    )
    return model_dir


def _supervise(supervisor: Supervisor) -> NoReturn:
    """Run the server processes to their end; exit as they did."""
    status = supervisor.run()
    if supervisor.failure:
        _fail(supervisor.failure, status)
    sys.exit(status)


def bound_http_socket(port: int) -> socket.socket:
    """The HTTP port, held by the first process: bound, listening once a worker serves (`dealer`).

    Its protocol is named: TCP_NODELAY is set on each connection it accepts.
    """
    http_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    http_socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    http_socket.bind((HTTP_HOST, port))
    return http_socket


def _fail(reason: str, status: int = 1) -> NoReturn:
    """Say why the server failed, on standard error and in the error file; exit."""
    print(f"kserve_launcher: {reason}", file=sys.stderr, flush=True)
    error_file = os.environ.get(ERROR_FILE_ENV)
    if error_file:
        try:
            Path(error_file).write_text(" ".join(reason.split()) + "\n")
        except OSError as error:
            print(f"kserve_launcher: cannot write {error_file}: {error}", file=sys.stderr)
    sys.exit(status)
