"""Run a KServe Python model server so that /metrics covers every worker process.

Usage, as the rocks' services and the charms run it::

    python3 -m kserve_launcher <server-module> [server arguments...]

for example ``python3 -m kserve_launcher sklearnserver --model_dir=/mnt/models --workers=2``.
The server module runs as ``__main__``, as ``python -m <server-module>`` would
run it, with ``sys.argv`` set to ``[<server-module>, *arguments]`` before
anything imports kserve (``kserve.model_server`` parses ``sys.argv`` when it is
imported, in the first process and again in each worker, which inherits the
rewritten ``sys.argv``). The launcher adds two things: metrics that cover all
workers, and a file saying why the server failed.

Why: with ``--workers`` > 1 kserve serves HTTP from worker processes it starts
with multiprocessing's "spawn" method, and each worker's ``/metrics`` reports
only its own requests (kserve issue 2979), so every scrape sees one worker at
random. The launcher turns on prometheus_client's multiprocess mode instead:

* ``PROMETHEUS_MULTIPROC_DIR`` (``/tmp/kserve-metrics`` when unset) is where
  every process keeps its metric values; the launcher creates it and, in the
  server's first process only, deletes the ``*.db`` files a previous run left
  there, so counters start from zero with the server.
* kserve's ``/metrics`` handler encodes the module-global ``REGISTRY`` of
  ``kserve.protocol.rest.server``; the launcher replaces that global, in the
  first process and in every worker, with a registry whose
  ``MultiProcessCollector`` sums all processes' files. Whichever worker answers
  a scrape, ``request_*_seconds`` histograms count every request. Values of
  workers that died are kept: counters do not go backwards when kserve
  replaces a worker.

How the launcher reaches the workers: a spawned child first re-imports its
parent's ``__main__`` module as ``__mp_main__``, except when that module is a
package's ``__main__.py`` (multiprocessing leaves those alone, as "main only"
code). So while the server runs, ``sys.modules["__main__"]`` is this package:
each worker then runs ``kserve_launcher/__main__.py`` as ``__mp_main__``, which
installs the same registry (``kserve_launcher.metrics``) before the worker
serves a request. The server module itself must not define, in its own
``__main__``, anything the workers unpickle; upstream's servers do not (their
workers would not find it either).

Process metrics: a multiprocess registry cannot use prometheus_client's
default ``process_*`` collector, which would describe whichever single process
answered the scrape. The launcher exports the same names and types, with no
extra labels, summed over the whole server: the first process and all its
descendants (workers, multiprocessing's resource tracker). So
``process_cpu_seconds_total``, ``process_resident_memory_bytes``,
``process_virtual_memory_bytes`` and ``process_open_fds`` are the server's
totals, as a dashboard of the server wants them (pages the processes share are
counted in each, as in any per-process sum); ``process_start_time_seconds``
and ``process_max_fds`` are the first process's. When kserve replaces a dead
worker the CPU total drops by that worker's CPU time, which Prometheus' rate()
treats as a counter reset. ``python_info`` is kept; the per-process
``python_gc_*`` metrics are dropped, as they cannot be summed meaningfully.

When the server fails (an exception or a non-zero exit), the launcher writes
why, on one line, to the file named by ``KSERVE_LAUNCHER_ERROR_FILE`` if that
is set, so the charm can show it in its status. The launcher never removes it:
when Pebble restarts a failing server the reason stays true until the next
failure overwrites it, and the charm removes it when it plans a new command.
"""

from __future__ import annotations

import os
import runpy
import sys
from pathlib import Path

METRICS_DIR_ENV = "PROMETHEUS_MULTIPROC_DIR"
DEFAULT_METRICS_DIR = "/tmp/kserve-metrics"
ERROR_FILE_ENV = "KSERVE_LAUNCHER_ERROR_FILE"

USAGE = "usage: python3 -m kserve_launcher <server-module> [server arguments...]"


def launch(argv: list[str]) -> None:
    """Run `argv[0]` as `__main__` with `argv[1:]` as its arguments, in the first process."""
    if not argv or argv[0].startswith("-"):
        sys.exit(USAGE)
    module, *arguments = argv
    # Before anything imports kserve: kserve.model_server parses sys.argv at import.
    sys.argv = [module, *arguments]
    metrics_dir = Path(os.environ.setdefault(METRICS_DIR_ENV, DEFAULT_METRICS_DIR))
    metrics_dir.mkdir(parents=True, exist_ok=True)
    for stale in metrics_dir.glob("*.db"):
        stale.unlink()
    error_file = os.environ.get(ERROR_FILE_ENV)
    # Only now that the directory is in the environment may prometheus_client be imported.
    from kserve_launcher import metrics

    metrics.mark_server_root()
    metrics.serve_all_workers_metrics()
    # Spawned workers re-import the main module: make it this package (see the docstring).
    sys.modules["__main__"] = sys.modules[__name__]
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=False)
    except SystemExit as exit_:
        if exit_.code not in (None, 0) and error_file:
            reason = exit_.code if isinstance(exit_.code, str) else f"exit status {exit_.code}"
            _write_error(error_file, f"{module} exited: {reason}")
        raise
    except Exception as error:
        if error_file:
            _write_error(error_file, f"{module} failed: {type(error).__name__}: {error}")
        raise


def _write_error(path: str, message: str) -> None:
    """Leave the reason for the charm; a failure to write it must not hide the real error."""
    try:
        Path(path).write_text(" ".join(message.split()) + "\n")
    except OSError as error:
        print(f"kserve_launcher: cannot write {path}: {error}", file=sys.stderr)
