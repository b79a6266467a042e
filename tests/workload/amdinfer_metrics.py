"""Stand-in for amdinfer-server's /metrics (AMD Inference Server v0.4.0, "Proteus").

amdinfer-server is a C++ server with no package on PyPI or Debian, so the
observability tests serve what its Metrics class (src/amdinfer/observation/
metrics.cpp) exports instead: the same metric names, types and labels
(counters amdinfer_requests_ingress_total{api,method},
amdinfer_pipeline_{ingress,egress}_total{stage}, gauge
amdinfer_queue_sizes_total{direction,stage}, summary amdinfer_request_latency
in microseconds with quantiles 0.5/0.9/0.99, and the exposer_* metrics), with
values that grow with time as under steady traffic. A "stalled" exporter's
workers take requests in and return none, as a hung FPGA worker would.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Generator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REQUESTS_PER_SECOND = 50.0


@dataclass(frozen=True)
class Behaviour:
    """How the pretend server performs: request latency quantiles and whether it stalls."""

    p50_us: float = 1200.0
    p90_us: float = 2500.0
    p99_us: float = 4000.0
    stalled: bool = False


def exposition(behaviour: Behaviour, seconds: float) -> str:
    """The /metrics text after `seconds` of steady traffic."""
    requests = int(REQUESTS_PER_SECOND * seconds)
    answered = 0 if behaviour.stalled else requests
    lines = [
        "# HELP amdinfer_requests_ingress_total Number of incoming requests to amdinfer-server",
        "# TYPE amdinfer_requests_ingress_total counter",
        'amdinfer_requests_ingress_total{api="cpp",method="native"} 0',
        'amdinfer_requests_ingress_total{api="rest",method="GET"} 3',
        f'amdinfer_requests_ingress_total{{api="rest",method="POST"}} {requests}',
        "# HELP amdinfer_pipeline_ingress_total Number of incoming requests at different"
        " pipeline stages",
        "# TYPE amdinfer_pipeline_ingress_total counter",
        f'amdinfer_pipeline_ingress_total{{stage="batcher"}} {requests}',
        f'amdinfer_pipeline_ingress_total{{stage="worker"}} {requests}',
        "# HELP amdinfer_pipeline_egress_total Number of outgoing requests at different"
        " pipeline stages",
        "# TYPE amdinfer_pipeline_egress_total counter",
        f'amdinfer_pipeline_egress_total{{stage="batcher"}} {requests}',
        f'amdinfer_pipeline_egress_total{{stage="worker"}} {answered}',
        "# HELP amdinfer_queue_sizes_total Number of elements in the queues in amdinfer-server",
        "# TYPE amdinfer_queue_sizes_total gauge",
        f'amdinfer_queue_sizes_total{{direction="input",stage="batcher"}} {requests - answered}',
        'amdinfer_queue_sizes_total{direction="output",stage="batcher"} 0',
        'amdinfer_queue_sizes_total{direction="input",stage="buffer"} 1',
        'amdinfer_queue_sizes_total{direction="output",stage="buffer"} 0',
        "# HELP amdinfer_request_latency Latencies of serving requests, in microseconds",
        "# TYPE amdinfer_request_latency summary",
        f'amdinfer_request_latency{{quantile="0.5"}} {behaviour.p50_us}',
        f'amdinfer_request_latency{{quantile="0.9"}} {behaviour.p90_us}',
        f'amdinfer_request_latency{{quantile="0.99"}} {behaviour.p99_us}',
        f"amdinfer_request_latency_sum {answered * behaviour.p50_us}",
        f"amdinfer_request_latency_count {answered}",
        "# HELP exposer_scrapes_total Number of times metrics were scraped",
        "# TYPE exposer_scrapes_total counter",
        f"exposer_scrapes_total {int(seconds)}",
    ]
    return "\n".join(lines) + "\n"


@contextmanager
def serving(host: str, port: int, behaviour: Behaviour) -> Generator[str]:
    """Serve the stand-in /metrics on host:port; yields its URL."""
    started = time.monotonic()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/metrics":
                self.send_error(404)
                return
            body = exposition(behaviour, time.monotonic() - started).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: one line per scrape would drown the test output."""

    server = ThreadingHTTPServer((host, port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{port}/metrics"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
