"""A model's own joblib thread pool, left out of every server process the launcher starts.

scikit-learn's ensembles predict through joblib with the ``n_jobs`` they were
fitted with, and AutoGluon fits its random forest with the fitting machine's
CPU count. Each such predict starts a thread pool and joblib waits for the
results by polling every 10 ms (``Parallel._retrieve``), while kserve calls a
model's synchronous ``predict`` on its event loop: a server process answers one
request at a time, and each waits for that poll. Measured on this project's
AutoGluon iris model (a 20-tree random forest, ``n_jobs`` 2, two rows): 14.2 ms
wall and 6.0 ms CPU per predict with the pool, 1.3 ms and 1.3 ms without it,
the same answer; upstream's autogluonserver v0.20.0 served 60 requests/s per
process, its in-process predict rate.

The charm runs one server process per CPU (``workers``), so a model's threads
would only compete with the other workers. The launcher makes joblib's default
backend the sequential one (``joblib.register_parallel_backend(...,
make_default=True)``: every thread of the process). Code that names a backend
(``Parallel(backend=...)``, ``joblib.parallel_config``) keeps it.
``KSERVE_LAUNCHER_JOBLIB_SEQUENTIAL=false`` leaves joblib as it is; where joblib
is not installed there is nothing to do.
"""

from __future__ import annotations

import importlib.util
import os

JOBLIB_SEQUENTIAL_ENV = "KSERVE_LAUNCHER_JOBLIB_SEQUENTIAL"


def run_joblib_sequentially() -> bool:
    """Make joblib's default backend sequential in this process; whether it was done."""
    turned_off = os.environ.get(JOBLIB_SEQUENTIAL_ENV, "").lower() == "false"
    if turned_off or importlib.util.find_spec("joblib") is None:
        return False
    import joblib
    import joblib.parallel

    joblib.register_parallel_backend(
        "sequential", joblib.parallel.SequentialBackend, make_default=True
    )
    return True
