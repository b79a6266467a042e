"""The unit status: what the operator reads in `juju status`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ops import pebble, testing

from model_server_charm import rolling
from model_server_charm.families.kserve_python import family as kserve_python
from tests.charms import ThinCharm
from tests.unit.conftest import MODEL_URI, container, running_container
from tests.unit.fake_server import FakeModelServer


@pytest.mark.parametrize("leader", [True, False])
def test_active_says_what_is_served(
    ctx: testing.Context[Any], charm: ThinCharm, fake: FakeModelServer, leader: bool
):
    state = testing.State(
        leader=leader,
        config={"model-uri": MODEL_URI, "model-name": "sklearn-iris", "http-port": fake.port},
        containers={running_container(charm, fake.port, model_name="sklearn-iris")},
    )
    out = ctx.run(ctx.on.update_status(), state)
    protocols = ", ".join(charm.charm_type.runtime.protocols)
    assert out.unit_status == testing.ActiveStatus(
        f"sklearn-iris ready on :{fake.port} ({protocols})"
    )


def test_autoscaling_target_is_named_inactive_in_sidecar_mode(
    ctx: testing.Context[Any], charm: ThinCharm, fake: FakeModelServer
):
    state = testing.State(
        config={"model-uri": MODEL_URI, "http-port": fake.port, "autoscaling-target": 10},
        containers={running_container(charm, fake.port)},
    )
    out = ctx.run(ctx.on.update_status(), state)
    assert out.unit_status.name == "active"
    assert out.unit_status.message.endswith("; autoscaling-target inactive in sidecar mode")


NO_MODEL_FILE = (
    "{uri} holds no model file the server loads ({formats}): it runs without model model;"
    " check model-uri and the files there"
)


@pytest.mark.parametrize(
    ("has_model", "live", "blocked"),
    [
        (True, True, False),  # loading: the model is not ready yet
        (False, True, True),  # upstream's empty repository: alive, the model unknown (404)
        (False, False, False),  # 404 alone is not enough: the server must be alive
    ],
)
def test_a_server_without_the_model_is_told_apart_from_one_loading_it(
    ctx: testing.Context[Any],
    charm: ThinCharm,
    fake: FakeModelServer,
    has_model: bool,
    live: bool,
    blocked: bool,
):
    fake.ready, fake.has_model, fake.live = False, has_model, live
    state = testing.State(
        config={"model-uri": MODEL_URI, "http-port": fake.port},
        containers={running_container(charm, fake.port)},
    )
    out = ctx.run(ctx.on.update_status(), state)
    formats = ", ".join(charm.charm_type.runtime.model_formats)
    assert out.unit_status == (
        testing.BlockedStatus(NO_MODEL_FILE.format(uri=MODEL_URI, formats=formats))
        if blocked
        else testing.WaitingStatus(
            f"loading model model from {MODEL_URI}; {rolling.SINGLE_UNIT_NOTE}"
        )
    )


REASON = "RuntimeError: More than one model file is detected"


@pytest.mark.parametrize(
    ("recorded", "shown"),
    [
        (REASON + "\n", REASON),
        # A status line, not a traceback: long reasons are cut.
        ("x" * 1000, "x" * 199 + "…"),
    ],
)
def test_failed_load_is_waiting_with_the_reason(
    ctx: testing.Context[Any],
    charm: ThinCharm,
    fake: FakeModelServer,
    tmp_mount: testing.Mount,
    tmp_path: Path,
    recorded: str,
    shown: str,
):
    fake.ready = False
    (tmp_path / Path(kserve_python.SERVER_ERROR_FILE).name).write_text(recorded)
    state = testing.State(
        config={"model-uri": MODEL_URI, "http-port": fake.port},
        containers={running_container(charm, fake.port, mount=tmp_mount)},
    )
    out = ctx.run(ctx.on.update_status(), state)
    assert out.unit_status == testing.WaitingStatus(
        f"model failed to load (Pebble retries): {shown}"
    )


def test_stopped_server_without_reason_points_at_the_log(
    ctx: testing.Context[Any], charm: ThinCharm, fake: FakeModelServer
):
    fake.ready = False
    service = charm.charm_type.runtime.service_name
    running = running_container(charm, fake.port)
    stopped = container(
        layers=dict(running.layers), service=pebble.ServiceStatus.ERROR, service_name=service
    )
    # `start` does not reconcile (which would restart the service): the status alone.
    out = ctx.run(
        ctx.on.start(),
        testing.State(
            config={"model-uri": MODEL_URI, "http-port": fake.port}, containers={stopped}
        ),
    )
    assert out.unit_status == testing.WaitingStatus("server is error; see juju debug-log")


def test_no_plan_yet_is_waiting(ctx: testing.Context[Any], charm: ThinCharm):
    state = testing.State(config={"model-uri": MODEL_URI}, containers={container()})
    out = ctx.run(ctx.on.start(), state)
    assert out.unit_status == testing.WaitingStatus("waiting for the server to be configured")
