"""A server process the launcher starts: ``python3 -m kserve_launcher.server <module> [args...]``.

It runs the server module as ``__main__``, as ``python -m <module>`` would,
with ``sys.argv`` set to ``[<module>, *arguments]`` before anything imports
kserve (``kserve.model_server`` parses ``sys.argv`` at import), after:

* installing the all-workers /metrics registry (``kserve_launcher.metrics``);
* leaving kserve's per-request timing out when its log lines would be dropped
  (``kserve_launcher.request_timing``);
* running a model's joblib work in the calling thread
  (``kserve_launcher.joblib_threads``);
* when kserve runs its own workers: the start-up grace of their liveness
  ping (``kserve_launcher.worker_start``);
* when it was given a channel for the HTTP port (each worker loads its own
  model): serving the connections the first process deals to it
  (``kserve_launcher.shared_port``);
* making ``kserve_launcher`` the main module that kserve's spawned workers
  re-import (see the package docstring).

It tells the launcher's first process when it serves and, when it fails, why
(``kserve_launcher.protocol``).
"""

from __future__ import annotations

import runpy
import sys

from kserve_launcher.protocol import SERVING, StatusPipe


def run_server(argv: list[str]) -> None:
    """Run `argv[0]` as `__main__` with `argv[1:]` as its arguments."""
    module, *arguments = argv
    # Before anything imports kserve: kserve.model_server parses sys.argv at import.
    sys.argv = [module, *arguments]
    status = StatusPipe.claim()
    # Only now may prometheus_client be imported (PROMETHEUS_MULTIPROC_DIR is set).
    from kserve_launcher import joblib_threads, metrics, request_timing, shared_port, worker_start

    metrics.serve_all_workers_metrics()
    request_timing.time_requests_only_when_heard()
    joblib_threads.run_joblib_sequentially()
    http = shared_port.claim_channel()
    if http is None:
        worker_start.watch_worker_starts(worker_start.start_grace())
    else:
        channel, port = http
        shared_port.serve_from(channel, port, lambda: status.report(SERVING))
    # Spawned workers re-import the main module: make it the launcher package.
    sys.modules["__main__"] = sys.modules["kserve_launcher"]
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=False)
    except SystemExit as exit_:
        if isinstance(exit_.code, str):
            status.report_failure(f"{module} exited: {exit_.code}")
        raise
    except Exception as error:
        status.report_failure(f"{module} failed: {type(error).__name__}: {error}")
        raise


if __name__ == "__main__":
    run_server(sys.argv[1:])
