"""amdinfer-server's /metrics: its metric families, and live values for the stand-in.

This is the one description of what amdinfer v0.4.0 exports (its Metrics class,
src/amdinfer/observation/metrics.cpp, serialised by prometheus-cpp's text
serializer): family names, help texts, types and label sets, in prometheus-cpp's
order (counters, then gauges, then summaries). The stand-in server fills it with
what it counts; the Prometheus tests fill it with synthetic values.

Measured on the real server: the `exposer_*` families count the scrapes of
/metrics before the current one (how many, the bytes sent, how long rendering
took); a summary lists its count and sum before its quantiles.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

# (api, method) of amdinfer_requests_ingress_total.
REQUEST_APIS = (("cpp", "native"), ("rest", "GET"), ("rest", "POST"))
# stage of amdinfer_pipeline_{ingress,egress}_total.
PIPELINE_STAGES = ("batcher", "worker")
# (direction, stage) of amdinfer_queue_sizes_total.
QUEUES = (("input", "batcher"), ("output", "batcher"), ("input", "buffer"), ("output", "buffer"))
# The quantiles of both summaries (prometheus-cpp CKMS targets 0.5/0.9/0.99).
QUANTILES = (0.5, 0.9, 0.99)
# prometheus-cpp summaries report quantiles over a sliding window of this many seconds.
SUMMARY_WINDOW_S = 60.0
# The stand-in keeps at most this many latencies in the window (bounded memory).
MAX_WINDOW_OBSERVATIONS = 100_000


@dataclass(frozen=True)
class Snapshot:
    """The values of every family at one scrape (latencies in microseconds)."""

    requests: Mapping[tuple[str, str], float] = field(default_factory=dict[tuple[str, str], float])
    pipeline_ingress: Mapping[str, float] = field(default_factory=dict[str, float])
    pipeline_egress: Mapping[str, float] = field(default_factory=dict[str, float])
    queue_sizes: Mapping[tuple[str, str], float] = field(
        default_factory=dict[tuple[str, str], float]
    )
    latency_quantiles: Mapping[float, float] = field(default_factory=dict[float, float])
    latency_sum: float = 0.0
    latency_count: int = 0
    scrapes: int = 0
    scraped_bytes: int = 0
    scrape_quantiles: Mapping[float, float] = field(default_factory=dict[float, float])
    scrape_latency_sum: float = 0.0


def format_value(value: float) -> str:
    """A sample value as prometheus-cpp writes it (NaN is `Nan`, integers without a point)."""
    if math.isnan(value):
        return "Nan"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 2**53:
        return str(int(value))
    return f"{value:.16g}"


def _family(name: str, help_text: str, kind: str, samples: list[tuple[str, float]]) -> list[str]:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    lines += [f"{name}{labels} {format_value(value)}" for labels, value in samples]
    return lines


def _summary(
    name: str, help_text: str, quantiles: Mapping[float, float], total: float, count: int
) -> list[str]:
    totals = [("_count", float(count)), ("_sum", total)]
    samples = [(f'{{quantile="{q}"}}', quantiles.get(q, math.nan)) for q in QUANTILES]
    lines = _family(name, help_text, "summary", samples)
    return [*lines[:2], *(f"{name}{suffix} {format_value(v)}" for suffix, v in totals), *lines[2:]]


def _labelled(
    label_names: tuple[str, ...],
    keys: Sequence[tuple[str, ...]],
    values: Mapping[tuple[str, ...], float],
) -> list[tuple[str, float]]:
    """One sample per key: its labels as prometheus-cpp writes them, its value (0 if none)."""
    samples: list[tuple[str, float]] = []
    for key in keys:
        pairs = zip(label_names, key, strict=True)
        labels = ",".join(f'{name}="{value}"' for name, value in pairs)
        samples.append((f"{{{labels}}}", values.get(key, 0)))
    return samples


def _by_stage(values: Mapping[str, float]) -> list[tuple[str, float]]:
    """One sample per pipeline stage, labelled `stage`."""
    stages = [(stage,) for stage in PIPELINE_STAGES]
    return _labelled(("stage",), stages, {(stage,): value for stage, value in values.items()})


def exposition(snapshot: Snapshot) -> str:
    """The /metrics text for these values."""
    lines = [
        *_family(
            "amdinfer_requests_ingress_total",
            "Number of incoming requests to amdinfer-server",
            "counter",
            _labelled(("api", "method"), REQUEST_APIS, snapshot.requests),
        ),
        *_family(
            "amdinfer_pipeline_ingress_total",
            "Number of incoming requests at different pipeline stages",
            "counter",
            _by_stage(snapshot.pipeline_ingress),
        ),
        *_family(
            "amdinfer_pipeline_egress_total",
            "Number of outgoing requests at different pipeline stages",
            "counter",
            _by_stage(snapshot.pipeline_egress),
        ),
        *_family(
            "exposer_transferred_bytes_total",
            "Transferred bytes to metrics services",
            "counter",
            [("", snapshot.scraped_bytes)],
        ),
        *_family(
            "exposer_scrapes_total",
            "Number of times metrics were scraped",
            "counter",
            [("", snapshot.scrapes)],
        ),
        *_family(
            "amdinfer_queue_sizes_total",
            "Number of elements in the queues in amdinfer-server",
            "gauge",
            _labelled(("direction", "stage"), QUEUES, snapshot.queue_sizes),
        ),
        *_summary(
            "exposer_request_latencies",
            "Latencies of serving scrape requests, in microseconds",
            snapshot.scrape_quantiles,
            snapshot.scrape_latency_sum,
            snapshot.scrapes,
        ),
        *_summary(
            "amdinfer_request_latency",
            "Latencies of serving requests, in microseconds",
            snapshot.latency_quantiles,
            snapshot.latency_sum,
            snapshot.latency_count,
        ),
    ]
    return "\n".join(lines) + "\n"


def quantile(values: list[float], q: float) -> float:
    """The q-quantile of values (the smallest value with at least q of them at or below it)."""
    ordered = sorted(values)
    rank = max(math.ceil(q * len(ordered)) - 1, 0)
    return ordered[rank]


class _WindowedSummary:
    """A prometheus-cpp summary: count and sum, quantiles over a sliding time window."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._window: deque[tuple[float, float]] = deque(maxlen=MAX_WINDOW_OBSERVATIONS)
        self.total = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self._window.append((self._clock(), value))
        self.total += value
        self.count += 1

    def quantiles(self) -> dict[float, float]:
        """Over the last SUMMARY_WINDOW_S seconds (none when nothing was observed there)."""
        horizon = self._clock() - SUMMARY_WINDOW_S
        while self._window and self._window[0][0] < horizon:
            self._window.popleft()
        recent = [value for _, value in self._window]
        return {q: quantile(recent, q) for q in QUANTILES} if recent else {}


class Metrics:
    """What the stand-in counts, safe to update from every request thread."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, str], float] = {}
        self._ingress: dict[str, float] = {}
        self._egress: dict[str, float] = {}
        self._queued = 0
        self._latency = _WindowedSummary(clock)
        self._scrape_latency = _WindowedSummary(clock)
        self._scraped_bytes = 0

    def count_request(self, method: str) -> None:
        """One REST request of this HTTP method reached a handler that counts it."""
        with self._lock:
            key = ("rest", method)
            self._requests[key] = self._requests.get(key, 0) + 1

    def enter(self, stage: str) -> None:
        """A request entered a pipeline stage (the batcher's input queue grows)."""
        with self._lock:
            self._ingress[stage] = self._ingress.get(stage, 0) + 1
            if stage == "batcher":
                self._queued += 1

    def leave(self, stage: str) -> None:
        """A request left a pipeline stage."""
        with self._lock:
            self._egress[stage] = self._egress.get(stage, 0) + 1
            if stage == "batcher":
                self._queued -= 1

    def observe_latency(self, microseconds: float) -> None:
        """A request was answered this long after it arrived."""
        with self._lock:
            self._latency.observe(microseconds)

    def observe_scrape(self, size: int, microseconds: float) -> None:
        """/metrics was served: `size` bytes, rendered in this long."""
        with self._lock:
            self._scrape_latency.observe(microseconds)
            self._scraped_bytes += size

    def snapshot(self) -> Snapshot:
        """The current values, quantiles over the last SUMMARY_WINDOW_S seconds."""
        with self._lock:
            return Snapshot(
                requests=dict(self._requests),
                pipeline_ingress=dict(self._ingress),
                pipeline_egress=dict(self._egress),
                queue_sizes={("input", "batcher"): self._queued},
                latency_quantiles=self._latency.quantiles(),
                latency_sum=self._latency.total,
                latency_count=self._latency.count,
                scrapes=self._scrape_latency.count,
                scraped_bytes=self._scraped_bytes,
                scrape_quantiles=self._scrape_latency.quantiles(),
                scrape_latency_sum=self._scrape_latency.total,
            )
