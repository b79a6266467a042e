"""A synthetic amdinfer-server /metrics exporter, for the Prometheus tests.

It serves amdinfer v0.4.0's metric families exactly as the stand-in server
renders them (tests/workload/standins/amdinfer/metrics.py, the one description
of names, types, help texts and labels, checked against a real build), with
values that grow with time as under steady traffic, and latency quantiles
chosen by the test. A "stalled" exporter's workers take requests in and return
none, as a hung FPGA worker would: something neither the stand-in nor a real
CPU-only server can be made to do.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from contextlib import contextmanager
from dataclasses import dataclass

from tests.workload.loopback_http import AnswerHandler, loopback_server
from tests.workload.standins.amdinfer.metrics import Snapshot, exposition

REQUESTS_PER_SECOND = 50.0


@dataclass(frozen=True)
class Behaviour:
    """How the pretend server performs: request latency quantiles and whether it stalls."""

    p50_us: float = 1200.0
    p90_us: float = 2500.0
    p99_us: float = 4000.0
    stalled: bool = False


def snapshot(behaviour: Behaviour, seconds: float) -> Snapshot:
    """The metric values after `seconds` of steady traffic."""
    requests = int(REQUESTS_PER_SECOND * seconds)
    answered = 0 if behaviour.stalled else requests
    return Snapshot(
        requests={("rest", "GET"): 3, ("rest", "POST"): requests},
        # Each request counted in at both workers of echo's chain, out at the last.
        pipeline_ingress={"batcher": requests, "worker": 2 * requests},
        pipeline_egress={"batcher": requests, "worker": answered},
        queue_sizes={("input", "batcher"): requests - answered, ("input", "buffer"): 1},
        latency_quantiles={0.5: behaviour.p50_us, 0.9: behaviour.p90_us, 0.99: behaviour.p99_us},
        latency_sum=answered * behaviour.p50_us,
        latency_count=answered,
    )


@contextmanager
def serving(host: str, port: int, behaviour: Behaviour) -> Generator[str]:
    """Serve the stand-in /metrics on host:port; yields its URL."""
    started = time.monotonic()

    class Handler(AnswerHandler):
        def get(self) -> None:
            if self.path != "/metrics":
                self.send_error(404)
                return
            body = exposition(snapshot(behaviour, time.monotonic() - started)).encode()
            self.answer(body, "text/plain; version=0.0.4")

    with loopback_server(Handler, host, port):
        yield f"http://{host}:{port}/metrics"
