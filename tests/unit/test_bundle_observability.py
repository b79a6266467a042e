"""bundle.yaml wires every model server to Prometheus and Grafana, on endpoints that exist."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from model_server_charm.runtimes import RUNTIMES

ROOT = Path(__file__).resolve().parents[2]
BUNDLE: dict[str, Any] = yaml.safe_load((ROOT / "bundle.yaml").read_text())
OUR_CHARMS = {f"{runtime.name}-server" for runtime in RUNTIMES.values()}
APPLICATIONS: dict[str, dict[str, Any]] = BUNDLE["applications"]
SERVERS = sorted(name for name, spec in APPLICATIONS.items() if spec["charm"] in OUR_CHARMS)
RELATIONS = {frozenset(pair) for pair in BUNDLE.get("relations", [])}


def _application_of_charm(charm: str) -> str:
    (name,) = [name for name, spec in APPLICATIONS.items() if spec["charm"] == charm]
    return name


def _endpoints(charm: str) -> dict[str, Any]:
    document = yaml.safe_load((ROOT / "charms" / charm / "charmcraft.yaml").read_text())
    return {**document.get("provides", {}), **document.get("requires", {})}


def test_observability_stack_is_deployed_from_charmhub():
    for charm in ("prometheus-k8s", "grafana-k8s"):
        spec = APPLICATIONS[_application_of_charm(charm)]
        assert spec["channel"].endswith("/stable")
        assert spec["trust"] is True


def test_grafana_reads_from_prometheus():
    grafana, prometheus = (
        _application_of_charm("grafana-k8s"),
        _application_of_charm("prometheus-k8s"),
    )
    assert frozenset({f"{grafana}:grafana-source", f"{prometheus}:grafana-source"}) in RELATIONS


@pytest.mark.parametrize("server", SERVERS)
def test_every_model_server_is_scraped_and_graphed(server: str):
    prometheus = _application_of_charm("prometheus-k8s")
    grafana = _application_of_charm("grafana-k8s")
    assert frozenset({f"{server}:metrics-endpoint", f"{prometheus}:metrics-endpoint"}) in RELATIONS
    assert frozenset({f"{server}:grafana-dashboard", f"{grafana}:grafana-dashboard"}) in RELATIONS


def test_relations_name_declared_endpoints_of_our_charms():
    for pair in RELATIONS:
        for endpoint in pair:
            application, _, name = endpoint.partition(":")
            charm = APPLICATIONS[application]["charm"]
            if charm in OUR_CHARMS:
                assert name in _endpoints(charm), endpoint
