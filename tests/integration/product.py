"""What bundle.yaml deploys, as the integration tests expect to find it deployed.

Read from bundle.yaml and the charms' runtimes.yaml, so a new model server in
the bundle is tested without editing the tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from model_server_charm.runtimes import RUNTIMES, Runtime
from model_server_charm.serverless import KSERVE_HTTP_PORT
from scripts.render_charms import charm_name

ROOT = Path(__file__).resolve().parents[2]
APPLICATIONS: dict[str, dict[str, Any]] = yaml.safe_load((ROOT / "bundle.yaml").read_text())[
    "applications"
]
_RUNTIME_OF_CHARM = {charm_name(runtime): runtime for runtime in RUNTIMES.values()}
# Every model-server application of the bundle, with the runtime its charm serves.
MODEL_SERVERS: dict[str, Runtime] = {
    app: _RUNTIME_OF_CHARM[spec["charm"]]
    for app, spec in APPLICATIONS.items()
    if spec["charm"] in _RUNTIME_OF_CHARM
}
# bundle.yaml gives autogluon no model (KServe publishes no AutoGluon example):
# it stays Blocked, saying so, until an operator sets one.
BLOCKED_BY_DESIGN = {"autogluon": "model-uri is not set"}
# The model servers that serve as deployed, and so are scraped and graphed.
SERVING = sorted(app for app in MODEL_SERVERS if app not in BLOCKED_BY_DESIGN)


def _application_of(charm: str) -> str:
    return next(app for app, spec in APPLICATIONS.items() if spec["charm"] == charm)


PROMETHEUS = _application_of("prometheus-k8s")
GRAFANA = _application_of("grafana-k8s")


def bundle_option(app: str, option: str) -> Any:
    """An option as bundle.yaml sets it (None where it leaves the charm's default)."""
    return (APPLICATIONS[app].get("options") or {}).get(option)


def http_port(app: str) -> int:
    """The HTTP port the application's server listens on with the charm's default."""
    return int(MODEL_SERVERS[app].option_defaults.get("http-port", KSERVE_HTTP_PORT))
