"""The server's own count of the predictions it made, from its /metrics."""

from __future__ import annotations

import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def predict_count(base_url: str, model_name: str) -> int:
    """Read how many predictions the server says it made, from its /metrics."""
    with urllib.request.urlopen(f"{base_url}/metrics", timeout=10) as response:
        text = response.read().decode()
    return round(
        sum(
            sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
            if sample.name == "request_predict_seconds_count"
            and sample.labels.get("model_name") == model_name
        )
    )
