"""Fault suite, Pebble: every Pebble call the charm makes, failing the ways Pebble fails.

The faults are raised by Scenario's own Pebble client (the boundary every unit
test already replaces): a socket that is gone, an API error, a refused push, a
service that exits as soon as it starts. No hook raises; the status names what
failed; the next hook tries again.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest
from ops import pebble, testing
from scenario import mocking

from model_server_charm import credentials
from model_server_charm.families.kserve_python import family as kserve_python
from tests.charms import REPRESENTATIVE, ThinCharm
from tests.unit.conftest import MODEL_URI, container, running_container
from tests.unit.fake_server import FakeModelServer
from tests.unit.k8s_helpers import image_resource, require_kserve_crds


@pytest.fixture
def charm() -> ThinCharm:
    """Pebble faults are handled by the shared implementation: one charm shows it."""
    return REPRESENTATIVE


GONE = pebble.ConnectionError("cannot connect to /charm/containers/server/pebble.socket")
REFUSED = pebble.APIError({}, 500, "Internal Server Error", "cannot acquire state lock")
DENIED = pebble.PathError("permission-denied", "open /etc/kserve/credentials: permission denied")


NO_LAUNCHER = ["2026-12-01T12:00:00Z ERROR /usr/bin/python3: No module named kserve_launcher"]


def exited_at_once(log: list[str] = NO_LAUNCHER) -> pebble.ChangeError:
    """What replan raises when the service exits at once (e.g. the wrong rock attached)."""
    when = datetime.datetime(2026, 12, 1, 12, tzinfo=datetime.timezone.utc)
    task = pebble.Task(
        id=pebble.TaskID("7"),
        kind="start",
        summary='Start service "x"',
        status="Error",
        log=log,
        progress=pebble.TaskProgress(label="", done=1, total=1),
        spawn_time=when,
        ready_time=when,
    )
    err = (
        "cannot perform the following tasks:\n"
        '- Start service "x" (cannot start service: exited quickly with code 1)'
    )
    change = pebble.Change(
        id=pebble.ChangeID("3"),
        kind="replan",
        summary="Replan service x",
        status="Error",
        tasks=[task],
        ready=True,
        err=err,
        spawn_time=when,
        ready_time=when,
    )
    return pebble.ChangeError(err, change)


# (Pebble client method, fault, whether the model answers, status name, what it says)
CASES = [
    ("replan_services", exited_at_once(), False, "blocked", "exits as soon as it starts"),
    ("add_layer", GONE, False, "waiting", "cannot start the server: Pebble: cannot connect"),
    ("get_plan", GONE, False, "waiting", "Pebble: cannot connect"),
    ("push", DENIED, False, "waiting", "cannot start the server: Pebble: permission-denied"),
    ("remove_path", REFUSED, False, "waiting", "cannot acquire state lock"),
    ("start_checks", REFUSED, True, "waiting", "cannot start the alive check"),
    ("get_services", GONE, False, "waiting", "cannot read the server's state: Pebble: cannot"),
    ("pull", REFUSED, False, "waiting", "cannot read why the server stopped"),
]


@pytest.mark.parametrize(
    ("method", "fault", "ready", "status", "says"), CASES, ids=[case[0] for case in CASES]
)
def test_pebble_fault_is_a_status_not_an_error(
    ctx: testing.Context[Any],
    charm: ThinCharm,
    monkeypatch: pytest.MonkeyPatch,
    tmp_mount: testing.Mount,
    tmp_path: Path,
    fake: FakeModelServer,
    method: str,
    fault: Exception,
    ready: bool,
    status: str,
    says: str,
):
    def failing(*_: Any, **__: Any) -> Any:
        raise fault

    monkeypatch.setattr(mocking._MockPebbleClient, method, failing)
    fake.ready = ready
    (tmp_path / Path(kserve_python.SERVER_ERROR_FILE).name).write_text("an earlier failure")
    secret = testing.Secret({credentials.GCS_CREDENTIALS_KEY: "{}"}, owner=None)
    state = testing.State(
        # A new model: the plan changes, the credential file is written, the old reason goes.
        config={
            "model-uri": "gs://bucket/new",
            "storage-credentials": secret.id,
            "http-port": fake.port,
        },
        secrets={secret},
        containers={running_container(charm, fake.port, mount=tmp_mount)},
    )
    out = ctx.run(ctx.on.config_changed(), state)
    assert out.unit_status.name == status
    assert says in out.unit_status.message


def test_a_service_that_exits_at_once_names_the_rock_to_check(
    ctx: testing.Context[Any], charm: ThinCharm, monkeypatch: pytest.MonkeyPatch
):
    def exits(*_: Any, **__: Any) -> Any:
        raise exited_at_once()

    monkeypatch.setattr(mocking._MockPebbleClient, "replan_services", exits)
    state = testing.State(config={"model-uri": MODEL_URI}, containers={container()})
    out = ctx.run(ctx.on.config_changed(), state)
    module = charm.charm_type.runtime.server_module
    assert out.unit_status == testing.BlockedStatus(
        "the server exits as soon as it starts (cannot start service: exited quickly with code"
        " 1: 2026-12-01T12:00:00Z ERROR"
        f" /usr/bin/python3: No module named kserve_launcher): is the server-image resource"
        f" the {module} rock?"
    )


@pytest.mark.parametrize(
    ("lines", "quoted"),
    [(3, "line 1 | line 2 | line 3"), (5, "line 3 | line 4 | line 5")],
    ids=["3-lines", "5-lines"],
)
def test_a_failed_start_quotes_the_last_3_log_lines(
    ctx: testing.Context[Any],
    charm: ThinCharm,
    monkeypatch: pytest.MonkeyPatch,
    lines: int,
    quoted: str,
):
    def exits(*_: Any, **__: Any) -> Any:
        raise exited_at_once([f"line {n} " for n in range(1, lines + 1)])

    monkeypatch.setattr(mocking._MockPebbleClient, "replan_services", exits)
    state = testing.State(config={"model-uri": MODEL_URI}, containers={container()})
    out = ctx.run(ctx.on.config_changed(), state)
    assert out.unit_status == testing.BlockedStatus(
        "the server exits as soon as it starts (cannot start service: exited quickly with code"
        f" 1: {quoted}): is the server-image resource the sklearnserver rock?"
    )


@pytest.mark.parametrize("method", ["stop_services", "stop_checks", "get_checks"])
def test_stopping_for_serverless_mode_survives_pebble_faults(
    ctx: testing.Context[Any],
    charm: ThinCharm,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    method: str,
):
    require_kserve_crds()

    def failing(*_: Any, **__: Any) -> Any:
        raise REFUSED

    monkeypatch.setattr(mocking._MockPebbleClient, method, failing)
    state = testing.State(
        config={"model-uri": MODEL_URI, "deployment-mode": "serverless"},
        leader=True,
        resources={image_resource(tmp_path)},
        containers={running_container(charm, 8080)},
    )
    out = ctx.run(ctx.on.config_changed(), state)
    assert out.unit_status == testing.WaitingStatus(
        f"cannot stop the server: Pebble: {REFUSED}; retrying on the next hook"
    )
