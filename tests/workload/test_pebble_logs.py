"""The charm's log targets, run by the real Pebble daemon: the server's lines reach Loki.

Related to a Loki unit (`logging`), the charm adds a `log-targets` layer
(model_server_charm/observability/logs.py). Both of its layers, as Scenario
shows them, go to a real Pebble; a loopback receiver of Loki's push API
stands in for Loki and must get the server's log lines, labelled with the
charm's Juju topology and the service name Pebble adds. Log targets are the
same for every charm: the representative charm (sklearn-server) is tested.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from ops import testing

from bench.models.iris import build_sklearn
from model_server_charm.observability import logs
from tests.charms import REPRESENTATIVE
from tests.workload.harness import charm_on_pebble, charm_options
from tests.workload.loki_receiver import LogLine, LokiReceiver, loki_receiver
from tests.workload.server_runtime import ServerRuntime

pytestmark = pytest.mark.slow

# Pebble pushes about once a second.
PUSH_TIMEOUT_S = 30.0
TOPOLOGY_LABELS = {"juju_model", "juju_model_uuid", "juju_application", "juju_unit", "juju_charm"}


def _logging_relation(loki: LokiReceiver) -> testing.Relation:
    """A Loki unit that has published its push URL, as Loki's charm does."""
    return testing.Relation(
        logs.RELATION_NAME,
        remote_app_name="loki",
        remote_units_data={0: {"endpoint": json.dumps({"url": loki.url})}},
    )


def _predict_lines(loki: LokiReceiver) -> list[LogLine]:
    """The access log lines of v1 predict requests (uvicorn quotes the path's colon)."""
    return [line for line in loki.lines() if '"POST /v1/models/model%3Apredict ' in line.line]


def test_pebble_pushes_the_servers_lines_with_the_charms_labels(
    pebble_bin: Path, server_runtime: ServerRuntime, tmp_path: Path
):
    model_dir = server_runtime.model_directory("model", build_sklearn)
    # log-requests: a line for each request, so there is a line to look for.
    options = {**charm_options(model_dir, workers=1), "log-requests": True}
    started_ns = time.time_ns()
    with loki_receiver() as loki:
        relations = (_logging_relation(loki),)
        pebble_dir = tmp_path / "pebble"
        with charm_on_pebble(
            pebble_bin, server_runtime, REPRESENTATIVE, options, pebble_dir, relations
        ) as served:
            served.wait_ready()
            body = json.dumps({"instances": [[6.8, 2.8, 4.8, 1.4]]}).encode()
            assert served.client.infer("v1", body).ok
            served.daemon.wait_until(
                lambda: bool(_predict_lines(loki)), PUSH_TIMEOUT_S, "the request's line in Loki"
            )

    (target,) = served.plan.layers[logs.LAYER_NAME].log_targets.values()
    assert set(target.labels) >= TOPOLOGY_LABELS
    line = _predict_lines(loki)[0]
    assert line.labels == {**target.labels, "pebble_service": served.service_name}
    assert started_ns < line.time_ns < time.time_ns()
    assert {push.content_type for push in loki.pushes} == {"application/json; charset=utf-8"}
    assert all(push.user_agent.startswith("pebble/") for push in loki.pushes)
