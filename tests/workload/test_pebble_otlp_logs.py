"""Logs over OTLP where the unit's Pebble can, on the real Pebble releases Juju 3.6 ships.

The charm runs under Scenario with its container on a real Pebble daemon
(`tests.workload.unit_pebble`), so it asks the real daemon for its version and
plans what that daemon can run. Related to an OTLP receiver (`send-otlp`,
whose loopback stand-in takes OTLP/HTTP JSON as an OpenTelemetry collector
does):

- on Pebble v1.26.0 (Juju 3.6.13+) the charm adds an `opentelemetry` log
  target, and the server's own log lines reach the receiver, labelled with the
  charm's Juju topology and the service's name; the status says so;
- on Pebble v1.19.2 (Juju 3.6.0 to 3.6.12), which has no such target type,
  the charm plans none (Pebble would refuse the layer), nothing reaches the
  receiver, and the status says why the logs are not forwarded.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Generator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from ops import testing

from bench.models.iris import build_sklearn
from bench.servers import ServedModel, free_port
from model_server_charm.layer import WORKLOAD_CONTAINER
from model_server_charm.observability import otlp
from tests.charms import REPRESENTATIVE
from tests.workload.otlp_receiver import OtlpReceiver, otlp_receiver
from tests.workload.pebble_daemon import PebbleDaemon, running_pebble, wait_until
from tests.workload.server_runtime import ServerRuntime
from tests.workload.unit_pebble import MappedPebble, units_on_pebble

pytestmark = pytest.mark.slow

PEBBLE_OTLP_BIN_ENV = "PEBBLE_OTLP_BIN"
EXPORT_TIMEOUT_S = 30.0
READY_TIMEOUT_S = 120.0
# A Pebble without OTLP targets gets as long to (wrongly) send something.
QUIET_S = 5.0
PREDICT = json.dumps({"instances": [[6.8, 2.8, 4.8, 1.4]]}).encode()


@pytest.fixture(scope="module")
def pebble_otlp_bin() -> Path:
    """Pebble v1.26.0; skip, saying how to get it, when it is not installed."""
    binary = Path(os.environ.get(PEBBLE_OTLP_BIN_ENV, "build/bin/pebble-v1.26.0"))
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        pytest.skip(
            f"no Pebble v1.26.0 at {binary} (${PEBBLE_OTLP_BIN_ENV}):"
            " scripts/install_pebble.sh v1.26.0 <path> installs it; tox -e workload runs that"
        )
    return binary


@dataclass(frozen=True)
class Unit:
    """The charm's unit on a real Pebble, its last State, and its served model."""

    daemon: PebbleDaemon
    state: testing.State
    model: ServedModel


def _otlp(receiver: OtlpReceiver) -> testing.Relation:
    endpoint = {"protocol": "http", "endpoint": receiver.url, "telemetries": ["logs"]}
    return testing.Relation(
        otlp.RELATION_NAME,
        remote_app_name="otelcol",
        remote_app_data={"endpoints": json.dumps([endpoint])},
    )


@contextmanager
def _unit_on(
    binary: Path, runtime: ServerRuntime, receiver: OtlpReceiver, tmp_path: Path
) -> Generator[Unit]:
    """config-changed, then update-status, on a unit whose container is the real daemon."""
    model_dir = runtime.model_directory("model", build_sklearn)
    port = free_port()
    config = {
        "model-uri": str(model_dir),
        "http-port": port,
        "grpc-port": free_port(),
        "workers": 1,
        "log-requests": True,
    }
    container = testing.Container(WORKLOAD_CONTAINER, can_connect=True)
    state = testing.State(config=config, containers={container}, relations={_otlp(receiver)})
    ctx = testing.Context(REPRESENTATIVE.charm_type)
    with running_pebble(binary, tmp_path / "pebble", runtime.environment()) as daemon:
        scratch = runtime.directory(f"otlp-{binary.name}")
        client = MappedPebble(daemon.socket_path, scratch, runtime.user is not None)
        model = ServedModel.at(port, "model", timeout=5)
        with units_on_pebble({0: client}):
            state = ctx.run(ctx.on.config_changed(), state)
            wait_until(model.model_ready, READY_TIMEOUT_S, "the model ready")
            state = ctx.run(ctx.on.update_status(), state)
        yield Unit(daemon, state, model)


def test_pebble_1_26_forwards_the_servers_lines_over_otlp(
    pebble_otlp_bin: Path, server_runtime: ServerRuntime, tmp_path: Path
):
    with (
        otlp_receiver() as receiver,
        _unit_on(pebble_otlp_bin, server_runtime, receiver, tmp_path) as unit,
    ):
        assert unit.model.infer("v1", PREDICT).ok
        wait_until(
            lambda: any("predict" in record.line for record in receiver.records()),
            EXPORT_TIMEOUT_S,
            "the request's line at the OTLP receiver",
        )

    assert unit.state.unit_status.message.endswith("; logs over OTLP")
    record = next(record for record in receiver.records() if "predict" in record.line)
    assert record.resource["service.name"] == REPRESENTATIVE.charm_type.runtime.service_name
    assert record.resource["juju_application"] == REPRESENTATIVE.name
    assert record.resource["juju_unit"] == f"{REPRESENTATIVE.name}/0"


def test_pebble_1_19_gets_no_otlp_target_and_the_status_says_why(
    pebble_bin: Path, server_runtime: ServerRuntime, tmp_path: Path
):
    with (
        otlp_receiver() as receiver,
        _unit_on(pebble_bin, server_runtime, receiver, tmp_path) as unit,
    ):
        assert unit.model.infer("v1", PREDICT).ok
        time.sleep(QUIET_S)
        planned = unit.daemon.client.get_plan().log_targets

    assert receiver.records() == []
    assert planned == {}
    assert unit.state.unit_status.message.endswith(
        "; logs not forwarded: this unit's Pebble v1.19.2 has no OTLP log target"
        f" ({otlp.OTLP_PEBBLE}); relate logging (Loki)"
    )
