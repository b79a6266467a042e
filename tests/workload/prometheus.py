"""A real Prometheus (Debian's `prometheus` package) fed with what the charm publishes.

`scrape_configs` turns a `metrics-endpoint` databag into Prometheus scrape
configuration the way prometheus-k8s does: every `"*:<port>"` target becomes
one target per unit (the unit's published address), and each unit's targets
get the Juju topology labels (`juju_model`, `juju_model_uuid`,
`juju_application`, `juju_charm`, `juju_unit`). `PrometheusServer` runs the
binary on loopback with its own config, rule files and TSDB in a temporary
directory; `promtool` checks and unit-tests rule files.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Generator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from bench.servers import free_port

INSTALL_HINT = "apt-get install prometheus (Debian/Ubuntu: it ships prometheus and promtool)"
STARTUP_TIMEOUT = 30.0


def binaries() -> tuple[str, str]:
    """The prometheus and promtool executables, or skip the test saying how to get them."""
    prometheus, promtool = shutil.which("prometheus"), shutil.which("promtool")
    if prometheus is None or promtool is None:
        pytest.skip(f"prometheus/promtool not found on PATH: {INSTALL_HINT}")
    return prometheus, promtool


def topology_labels(scrape_metadata: Mapping[str, str]) -> dict[str, str]:
    """The labels prometheus-k8s puts on every target of an application."""
    return {
        "juju_model": scrape_metadata["model"],
        "juju_model_uuid": scrape_metadata["model_uuid"],
        "juju_application": scrape_metadata["application"],
        "juju_charm": scrape_metadata["charm_name"],
    }


def scrape_configs(
    app_data: Mapping[str, str],
    units_data: Mapping[str, Mapping[str, str]],
    reachable: Callable[[str], str] = lambda address: address,
) -> list[dict[str, Any]]:
    """Prometheus `scrape_configs` from one metrics-endpoint relation's databags.

    `units_data` maps unit names to their databags; `reachable` maps a published
    address to one this machine can reach (the units' pod FQDNs do not exist
    here, their servers listen on loopback).
    """
    metadata = json.loads(app_data["scrape_metadata"])
    labels = topology_labels(metadata)
    prefix = f"juju_{metadata['model']}_{metadata['model_uuid'][:8]}_{metadata['application']}"
    configs: list[dict[str, Any]] = []
    for job in json.loads(app_data["scrape_jobs"]):
        static_configs: list[dict[str, Any]] = []
        for static in job["static_configs"]:
            job_labels = {**static.get("labels", {}), **labels}
            ports = [target[2:] for target in static["targets"] if target.startswith("*:")]
            hosts = [target for target in static["targets"] if not target.startswith("*")]
            if hosts:
                static_configs.append({"targets": hosts, "labels": job_labels})
            for unit_name, unit_data in sorted(units_data.items()):
                assert unit_data["prometheus_scrape_unit_name"] == unit_name
                # A unit path (an ingress prefix) would go in front of metrics_path.
                assert not unit_data.get("prometheus_scrape_unit_path")
                address = reachable(unit_data["prometheus_scrape_unit_address"])
                static_configs.append(
                    {
                        "targets": [f"{address}:{port}" for port in ports],
                        "labels": {**job_labels, "juju_unit": unit_name},
                    }
                )
        configs.append(
            {
                "job_name": f"{prefix}_{job.get('job_name', 'default')}",
                "metrics_path": job.get("metrics_path", "/metrics"),
                "static_configs": static_configs,
            }
        )
    return configs


def alert_rules_file(app_data: Mapping[str, str], path: Path) -> Path:
    """Write the relation's `alert_rules` as the rule file Prometheus loads."""
    path.write_text(yaml.safe_dump(json.loads(app_data["alert_rules"]), sort_keys=False))
    return path


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    """Run promtool; the caller asserts on the exit code and output."""
    _, tool = binaries()
    return subprocess.run([tool, *args], capture_output=True, text=True, timeout=60, check=False)


@dataclass
class PrometheusServer:
    """One Prometheus process on loopback, with its config and TSDB under `directory`."""

    directory: Path
    port: int = field(default_factory=free_port)
    scrape_interval: str = "1s"

    @property
    def url(self) -> str:
        """The base URL of the HTTP API."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def config_file(self) -> Path:
        """The configuration Prometheus reads (and re-reads on `reload`)."""
        return self.directory / "prometheus.yml"

    def write_config(self, scrape: list[dict[str, Any]], rule_files: list[Path]) -> None:
        """(Re)write the configuration: scrape jobs and rule files, with short intervals.

        Prometheus scrapes itself too, as prometheus-k8s does.
        """
        itself = {"job_name": "prometheus", "static_configs": [{"targets": [self.url[7:]]}]}
        config = {
            "global": {
                "scrape_interval": self.scrape_interval,
                "scrape_timeout": self.scrape_interval,
                "evaluation_interval": self.scrape_interval,
            },
            "rule_files": [str(path) for path in rule_files],
            "scrape_configs": [itself, *scrape],
        }
        self.config_file.write_text(yaml.safe_dump(config, sort_keys=False))

    @contextmanager
    def running(self) -> Generator[PrometheusServer]:
        """Start Prometheus, wait until it is ready, and stop it afterwards."""
        prometheus, _ = binaries()
        log = (self.directory / "prometheus.log").open("w")
        process = subprocess.Popen(
            [
                prometheus,
                f"--config.file={self.config_file}",
                f"--storage.tsdb.path={self.directory / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--web.enable-lifecycle",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            self._wait_ready(process)
            yield self
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()

    def _wait_ready(self, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"prometheus exited: {self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise TimeoutError(f"prometheus not ready after {STARTUP_TIMEOUT}s: {self.log_tail()}")

    def log_tail(self, lines: int = 20) -> str:
        """The end of Prometheus' own log, for failure messages."""
        path = self.directory / "prometheus.log"
        return "\n".join(path.read_text().splitlines()[-lines:]) if path.exists() else ""

    def reload(self) -> None:
        """Make Prometheus re-read its configuration (and rule files)."""
        request = urllib.request.Request(f"{self.url}/-/reload", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200

    def api(self, path: str, **params: str) -> Any:
        """GET an /api/v1 endpoint and return its `data`, failing on an API error."""
        query = urllib.parse.urlencode(params)
        with urllib.request.urlopen(f"{self.url}/api/v1/{path}?{query}", timeout=10) as response:
            document = json.load(response)
        assert document["status"] == "success", document
        return document["data"]

    def query(self, expression: str) -> list[dict[str, Any]]:
        """Evaluate a PromQL expression now; the instant vector (or [] for none)."""
        data = self.api("query", query=expression)
        if data["resultType"] == "scalar":
            return [{"metric": {}, "value": data["result"]}]
        return data["result"]

    def wait_for(
        self, expression: str, predicate: Callable[[list[dict[str, Any]]], bool], timeout: float
    ) -> list[dict[str, Any]]:
        """Query until `predicate` holds for the result, or fail with the last result."""
        deadline = time.monotonic() + timeout
        result = self.query(expression)
        while not predicate(result):
            if time.monotonic() > deadline:
                raise AssertionError(f"after {timeout}s, {expression} gave {result}")
            time.sleep(0.5)
            result = self.query(expression)
        return result
