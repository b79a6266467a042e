"""Entry point of `python3 -m kserve_launcher`, and the start-up hook of every kserve worker.

Workers import this file as `__mp_main__` (see the package docstring): they
only install the all-workers /metrics registry, the request timing rule
(`kserve_launcher.request_timing`) and the joblib rule
(`kserve_launcher.joblib_threads`), then kserve's spawn machinery runs the
worker itself.
"""

import sys

from kserve_launcher import launch

if __name__ == "__main__":
    launch(sys.argv[1:])
elif __name__ == "__mp_main__":
    from kserve_launcher import joblib_threads, metrics, request_timing

    metrics.serve_all_workers_metrics()
    request_timing.time_requests_only_when_heard()
    joblib_threads.run_joblib_sequentially()
