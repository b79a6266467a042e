"""The reconcile path: the Pebble layer, ports, credentials and the events that run it."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any, cast

import pytest
from ops import pebble, testing

from model_server_charm import credentials, layer
from model_server_charm.families.kserve_python import family as kserve_python
from tests.charms import ThinCharm
from tests.rocks.rockcraft_projects import ROCKS, spec_of
from tests.unit.conftest import MODEL_URI, container, running_container
from tests.unit.fake_server import FakeModelServer

# The flags each runtime's own options add with their Juju defaults, by value.
RUNTIME_FLAGS = {
    "xgboost": ["--nthread=1"],
    "lightgbm": ["--nthread=1"],
    "predictive": ["--framework=sklearn", "--nthread=1"],
    "huggingface": ["--backend=huggingface", "--dtype=auto"],
}


def _service(out: testing.State, charm: ThinCharm) -> pebble.Service:
    return out.get_container("server").plan.services[charm.charm_type.runtime.service_name]


@pytest.mark.parametrize("leader", [True, False])
def test_config_changed_plans_the_server(
    ctx: testing.Context[Any], charm: ThinCharm, leader: bool
):
    runtime = charm.charm_type.runtime
    state = testing.State(
        leader=leader,
        config={"model-uri": MODEL_URI, "model-name": "iris", "workers": 1},
        containers={container()},
    )
    out = ctx.run(ctx.on.config_changed(), state)
    service = _service(out, charm)
    assert shlex.split(service.command) == [
        "python3",
        "-m",
        "kserve_launcher",
        runtime.server_module,
        "--model_name=iris",
        f"--model_dir={MODEL_URI}",
        "--http_port=8080",
        "--grpc_port=8081",
        "--workers=1",
        *RUNTIME_FLAGS.get(runtime.name, []),
        "--enable_latency_logging=false",
        f"--log_config_file={kserve_python.QUIET_LOG_CONFIG}",
    ]
    assert service.user == "_daemon_"
    assert service.startup == "enabled"
    assert service.on_check_failure == {"alive": "restart"}
    assert service.environment["PROMETHEUS_MULTIPROC_DIR"] == kserve_python.METRICS_DIR
    assert service.environment["PYTHONWARNINGS"] == kserve_python.FASTAPI_WARNING_FILTER
    plan = out.get_container("server").plan
    assert plan.checks["ready"].http == {"url": "http://localhost:8080/v2/models/iris/ready"}
    assert plan.checks["alive"].http == {"url": "http://localhost:8080/v2/health/live"}
    assert plan.checks["alive"].startup == pebble.CheckStartup.DISABLED
    # Values Juju's probes and the operator's expectations depend on, by value: a server
    # that starts is out of rotation within a second, until its model answers.
    ready, alive = plan.checks["ready"], plan.checks["alive"]
    assert (ready.level, ready.period, ready.threshold) == (pebble.CheckLevel.READY, "1s", 1)
    assert (alive.level, alive.period, alive.threshold) == (pebble.CheckLevel.ALIVE, "10s", 3)
    assert out.get_container("server").service_statuses[runtime.service_name] == (
        pebble.ServiceStatus.ACTIVE
    )
    assert out.opened_ports == {testing.TCPPort(8080), testing.TCPPort(8081)}


def test_log_requests_keeps_the_servers_request_logging(
    ctx: testing.Context[Any], charm: ThinCharm
):
    state = testing.State(
        config={"model-uri": MODEL_URI, "log-requests": True}, containers={container()}
    )
    service = _service(ctx.run(ctx.on.config_changed(), state), charm)
    assert "--enable_latency_logging" not in service.command
    assert shlex.split(service.command)[-1] == (
        f"--log_config_file={kserve_python.REQUESTS_LOG_CONFIG}"
    )
    assert "PYTHONWARNINGS" not in service.environment


def test_port_change_moves_checks_and_opened_ports(ctx: testing.Context[Any], charm: ThinCharm):
    state = testing.State(
        config={"model-uri": MODEL_URI, "http-port": 9000, "grpc-port": 9001},
        containers={running_container(charm, 8080)},
        opened_ports={testing.TCPPort(8080), testing.TCPPort(8081)},
    )
    out = ctx.run(ctx.on.config_changed(), state)
    assert "--http_port=9000" in _service(out, charm).command
    assert out.get_container("server").plan.checks["ready"].http == {
        "url": "http://localhost:9000/v2/models/model/ready"
    }
    assert out.opened_ports == {testing.TCPPort(9000), testing.TCPPort(9001)}


def test_the_charm_replaces_its_rocks_service_and_ready_check(
    ctx: testing.Context[Any], charm: ThinCharm
):
    rock = next(rock for rock in ROCKS if spec_of(rock).charm == charm.name)
    rock_layer = pebble.Layer(
        cast("pebble.LayerDict", {"services": rock.services, "checks": rock.checks})
    )
    state = testing.State(
        config={"model-uri": MODEL_URI}, containers={container(layers={"rock": rock_layer})}
    )

    out = ctx.run(ctx.on.config_changed(), state).get_container("server")

    ready = out.plan.checks[layer.READY_CHECK]
    assert (ready.http, ready.tcp) == (
        {"url": "http://localhost:8080/v2/models/model/ready"},
        None,
    )
    assert out.plan.services[rock.entrypoint_service].user == layer.SERVER_USER


@pytest.mark.parametrize(
    "event",
    ["install", "config_changed", "upgrade_charm", "update_status", "pebble_ready"],
)
def test_every_event_reconciles(ctx: testing.Context[Any], charm: ThinCharm, event: str):
    workload_container = container()
    state = testing.State(config={"model-uri": MODEL_URI}, containers={workload_container})
    trigger = (
        ctx.on.pebble_ready(workload_container)
        if event == "pebble_ready"
        else getattr(ctx.on, event)()
    )
    out = ctx.run(trigger, state)
    assert charm.charm_type.runtime.service_name in out.get_container("server").plan.services


@pytest.mark.parametrize("check_event", ["pebble_check_failed", "pebble_check_recovered"])
def test_check_events_reconcile(ctx: testing.Context[Any], charm: ThinCharm, check_event: str):
    workload_container = running_container(charm, 8080)
    ready = next(c for c in workload_container.check_infos if c.name == layer.READY_CHECK)
    state = testing.State(
        config={"model-uri": "gs://bucket/changed", "http-port": 8080},
        containers={workload_container},
    )
    out = ctx.run(getattr(ctx.on, check_event)(workload_container, ready), state)
    assert "--model_dir=gs://bucket/changed" in _service(out, charm).command


def test_container_not_reachable_plans_nothing(ctx: testing.Context[Any], charm: ThinCharm):
    state = testing.State(
        config={"model-uri": MODEL_URI}, containers={container(can_connect=False)}
    )
    out = ctx.run(ctx.on.config_changed(), state)
    assert out.get_container("server").layers == {}
    assert out.unit_status == testing.WaitingStatus(
        "waiting for the server container (Pebble not ready)"
    )
    assert out.opened_ports == frozenset()


def _serving_on(fake: FakeModelServer, charm: ThinCharm) -> testing.State:
    """A unit whose server runs the charm's plan, on the fake server's port."""
    return testing.State(
        config={"model-uri": MODEL_URI, "http-port": fake.port},
        containers={running_container(charm, fake.port)},
    )


def test_alive_check_is_armed_once_the_model_is_ready(
    ctx: testing.Context[Any], charm: ThinCharm, fake: FakeModelServer
):
    state = _serving_on(fake, charm)
    fake.ready = False
    out = ctx.run(ctx.on.update_status(), state)
    alive = out.get_container("server").get_check_info(layer.ALIVE_CHECK)
    assert alive.status == pebble.CheckStatus.INACTIVE
    fake.ready = True
    out = ctx.run(ctx.on.update_status(), state)
    alive = out.get_container("server").get_check_info(layer.ALIVE_CHECK)
    assert alive.status == pebble.CheckStatus.UP


def test_the_ordinary_ready_check_comes_once_the_model_answers(
    ctx: testing.Context[Any], charm: ThinCharm, fake: FakeModelServer
):
    state = _serving_on(fake, charm)
    fake.ready = False
    started = ctx.run(ctx.on.update_status(), state)
    loading, server = started.get_container("server").plan, started.get_container("server")
    fake.ready = True

    out = ctx.run(ctx.on.pebble_check_recovered(server, server.get_check_info("ready")), started)

    serving = out.get_container("server").plan
    assert (loading.checks["ready"].period, loading.checks["ready"].threshold) == ("1s", 1)
    assert (serving.checks["ready"].period, serving.checks["ready"].threshold) == ("10s", 3)
    assert serving.checks["ready"].http == loading.checks["ready"].http
    assert serving.services == loading.services


def test_plan_change_clears_the_previous_failure_reason(
    ctx: testing.Context[Any], charm: ThinCharm, tmp_mount: testing.Mount, tmp_path: Path
):
    (tmp_path / Path(kserve_python.SERVER_ERROR_FILE).name).write_text("old failure")
    state = testing.State(
        config={"model-uri": "gs://bucket/new", "http-port": 8080},
        containers={running_container(charm, 8080, mount=tmp_mount)},
    )
    ctx.run(ctx.on.config_changed(), state)
    assert not (tmp_path / Path(kserve_python.SERVER_ERROR_FILE).name).exists()


def test_unchanged_plan_keeps_the_failure_reason(
    ctx: testing.Context[Any], charm: ThinCharm, tmp_mount: testing.Mount, tmp_path: Path
):
    error_file = tmp_path / Path(kserve_python.SERVER_ERROR_FILE).name
    error_file.write_text("RuntimeError: no model file")
    state = testing.State(
        config={"model-uri": MODEL_URI, "http-port": 8080},
        containers={running_container(charm, 8080, mount=tmp_mount)},
    )
    ctx.run(ctx.on.update_status(), state)
    assert error_file.read_text() == "RuntimeError: no model file"


def test_storage_credentials_become_server_environment(
    ctx: testing.Context[Any], charm: ThinCharm
):
    secret = testing.Secret(
        {"aws-access-key-id": "AKIA", "aws-secret-access-key": "s3cr3t"}, owner=None
    )
    state = testing.State(
        config={"model-uri": MODEL_URI, "storage-credentials": secret.id},
        secrets={secret},
        containers={container()},
    )
    out = ctx.run(ctx.on.config_changed(), state)
    environment = _service(out, charm).environment
    assert environment["AWS_ACCESS_KEY_ID"] == "AKIA"
    assert environment["AWS_SECRET_ACCESS_KEY"] == "s3cr3t"


def test_secret_changed_updates_the_credentials(ctx: testing.Context[Any], charm: ThinCharm):
    secret = testing.Secret(
        tracked_content={"aws-access-key-id": "old"},
        latest_content={"aws-access-key-id": "new"},
    )
    state = testing.State(
        config={"model-uri": MODEL_URI, "storage-credentials": secret.id},
        secrets={secret},
        containers={container()},
    )
    out = ctx.run(ctx.on.secret_changed(secret), state)
    assert _service(out, charm).environment["AWS_ACCESS_KEY_ID"] == "new"


def test_missing_secret_blocks_and_plans_nothing(ctx: testing.Context[Any], charm: ThinCharm):
    state = testing.State(
        config={"model-uri": MODEL_URI, "storage-credentials": "secret:cvh7kruupa1s46bqvuig"},
        containers={container()},
    )
    out = ctx.run(ctx.on.config_changed(), state)
    assert out.unit_status.name == "blocked"
    assert "storage-credentials secret" in out.unit_status.message
    assert out.get_container("server").layers == {}


def test_gcs_key_becomes_a_file_only_the_server_reads(ctx: testing.Context[Any], charm: ThinCharm):
    key = '{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----"}'
    secret = testing.Secret({credentials.GCS_CREDENTIALS_KEY: key}, owner=None)
    state = testing.State(
        config={"model-uri": "gs://private/model", "storage-credentials": secret.id},
        secrets={secret},
        containers={container()},
    )
    out = ctx.run(ctx.on.config_changed(), state)
    environment = _service(out, charm).environment
    assert environment["GOOGLE_APPLICATION_CREDENTIALS"] == credentials.GCS_CREDENTIALS_FILE
    assert key not in environment.values()
    root = out.get_container("server").get_filesystem(ctx)
    written = root / credentials.GCS_CREDENTIALS_FILE.lstrip("/")
    assert written.read_text() == key

    # The key removed from the secret: the file goes too.
    emptied = testing.Secret(
        tracked_content={credentials.GCS_CREDENTIALS_KEY: key},
        latest_content={"aws-access-key-id": "AKIA"},
        id=secret.id,
    )
    out = ctx.run(
        ctx.on.secret_changed(emptied),
        testing.State(
            config=state.config,
            secrets={emptied},
            containers={out.get_container("server")},
        ),
    )
    assert not (
        out.get_container("server").get_filesystem(ctx) / written.relative_to(root)
    ).exists()
    assert "GOOGLE_APPLICATION_CREDENTIALS" not in _service(out, charm).environment
