"""What a server says about itself on /metrics: requests it counted, memory it holds."""

from __future__ import annotations

import urllib.request
from collections.abc import Callable, Sequence

from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

# prometheus_client's process metric; the launcher sums it over the server's process tree.
RESIDENT_MEMORY = "process_resident_memory_bytes"
METRICS_TIMEOUT_S = 10


def scrape(base_url: str) -> list[Sample]:
    """Every sample of the server's /metrics."""
    with urllib.request.urlopen(f"{base_url}/metrics", timeout=METRICS_TIMEOUT_S) as response:
        text = response.read().decode()
    return [sample for family in text_string_to_metric_families(text) for sample in family.samples]


def sample_sum(samples: Sequence[Sample], wanted: Callable[[Sample], bool]) -> float:
    """The sum of the samples `wanted` picks."""
    return sum(sample.value for sample in samples if wanted(sample))


def resident_memory(samples: list[Sample]) -> int | None:
    """process_resident_memory_bytes, when the server exports it."""
    found = [sample.value for sample in samples if sample.name == RESIDENT_MEMORY]
    return round(found[0]) if found else None
