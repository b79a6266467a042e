"""Rolling restarts: the `restart` peer relation's data through a roll-out of three units.

The units run under Scenario and share their peer relation as Juju does
(`tests.peer_units`); every unit's model answers the fake server, whose
`ready` the tests switch. The charm's waits are made instant.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from ops import testing

from model_server_charm import rolling
from model_server_charm.families.kserve_python import family as kserve_python
from tests.charms import REPRESENTATIVE
from tests.peer_units import Application, peer_relation, unit_name
from tests.unit.conftest import MODEL_URI, running_container
from tests.unit.fake_server import FakeModelServer

pytestmark = pytest.mark.usefixtures("instant_waits")

NEW_URI = "gs://bucket/models/iris/v2"
SERVICE = REPRESENTATIVE.charm_type.runtime.service_name


def _app(fake: FakeModelServer, tmp_path: Path, units: int = 3) -> Application:
    def state(unit: int) -> testing.State:
        mount = testing.Mount(location="/tmp", source=tmp_path / str(unit))
        mount.source.mkdir(parents=True, exist_ok=True)  # type: ignore[union-attr]
        return testing.State(
            config={"model-uri": MODEL_URI, "http-port": fake.port},
            containers={running_container(REPRESENTATIVE, fake.port, mount=mount)},
        )

    return Application.of(REPRESENTATIVE.charm_type, state, units)


def _model_dir(app: Application, unit: int) -> str:
    service = app.states[unit].get_container("server").plan.services[SERVICE]
    return next(word for word in service.command.split() if word.startswith("--model_dir="))


def _change_everywhere(app: Application, **options: Any) -> None:
    for unit in list(app.states):
        config = {**app.states[unit].config, **options}
        app.states[unit] = dataclasses.replace(app.states[unit], config=config)
        app.run(unit, lambda ctx: ctx.on.config_changed())


def test_a_change_queues_every_serving_unit_and_restarts_none_at_once(
    fake: FakeModelServer, tmp_path: Path
):
    app = _app(fake, tmp_path)

    _change_everywhere(app, **{"model-uri": NEW_URI})

    assert {_model_dir(app, unit) for unit in app.states} == {f"--model_dir={MODEL_URI}"}
    assert app.granted() == unit_name(0)
    assert [app.unit_data(unit)["state"] for unit in app.states] == ["request"] * 3
    assert app.states[2].unit_status == testing.WaitingStatus(
        "waiting to restart: app/0 restarting, 3 of 3 units still to restart;"
        " serving the previous configuration meanwhile"
    )


def test_the_units_restart_one_at_a_time_each_holding_the_lock(
    fake: FakeModelServer, tmp_path: Path
):
    app = _app(fake, tmp_path)
    _change_everywhere(app, **{"model-uri": NEW_URI})
    restarted: list[tuple[int, str]] = []  # (unit, who held the lock meanwhile)

    while app.pending:
        unit, holder = app.pending[0][0], app.granted()
        before = _model_dir(app, unit)
        app.settle(max_hooks=1)
        if unit in app.states and _model_dir(app, unit) != before:
            restarted.append((unit, holder))

    assert restarted == [(0, "app/0"), (1, "app/1"), (2, "app/2")]
    assert app.granted() == ""
    assert [app.unit_data(unit)["state"] for unit in app.states] == ["idle"] * 3
    assert {app.states[unit].unit_status.name for unit in app.states} == {"active"}


def test_the_next_unit_waits_until_the_restarted_model_answers(
    fake: FakeModelServer, tmp_path: Path
):
    app = _app(fake, tmp_path)
    _change_everywhere(app, **{"model-uri": NEW_URI})
    fake.ready = False

    app.settle(max_hooks=12)

    assert app.granted() == unit_name(0)
    assert [_model_dir(app, unit) for unit in (1, 2)] == [f"--model_dir={MODEL_URI}"] * 2
    ready_check = app.states[0].get_container("server").plan.checks["ready"]
    assert ready_check.http == {"url": "http://localhost:0/draining"}  # out of rotation
    fake.ready = True
    app.settle()
    assert app.granted() == ""
    assert {_model_dir(app, unit) for unit in app.states} == {f"--model_dir={NEW_URI}"}


def test_a_unit_that_does_not_come_back_stops_the_roll_out_naming_it(
    fake: FakeModelServer, tmp_path: Path
):
    app = _app(fake, tmp_path)
    _change_everywhere(app, **{"model-uri": NEW_URI})
    fake.ready = False
    # app/0 restarts; its model does not answer yet
    app.settle(until=lambda: _model_dir(app, 0) == f"--model_dir={NEW_URI}")
    reason = "sklearnserver failed: RuntimeError: More than one model file is detected"
    (tmp_path / "0" / Path(kserve_python.SERVER_ERROR_FILE).name).write_text(reason)

    app.settle(max_hooks=12)

    assert app.granted() == unit_name(0)
    assert app.unit_data(0)[rolling.FAILURE_KEY] == reason
    assert app.states[0].unit_status == testing.BlockedStatus(
        f"app/0 did not come back after its restart ({reason}): roll-out stopped,"
        " the other units keep serving the previous configuration"
    )
    for unit in (1, 2):
        assert _model_dir(app, unit) == f"--model_dir={MODEL_URI}"
        assert app.states[unit].unit_status == testing.BlockedStatus(
            f"roll-out stopped: app/0 did not come back after its restart ({reason});"
            " this unit keeps serving the previous configuration"
        )


def test_a_unit_leaving_mid_roll_hands_the_lock_to_the_next(fake: FakeModelServer, tmp_path: Path):
    app = _app(fake, tmp_path)
    _change_everywhere(app, **{"model-uri": NEW_URI})
    app.settle(until=lambda: app.granted() == unit_name(1))
    fake.ready = False  # app/1 restarts and does not answer yet
    app.settle(max_hooks=4)

    app.remove(1)
    app.settle(until=lambda: app.granted() == unit_name(2), max_hooks=6)

    assert app.granted() == unit_name(2)
    fake.ready = True
    app.settle()
    assert {_model_dir(app, unit) for unit in app.states} == {f"--model_dir={NEW_URI}"}


@pytest.mark.parametrize(
    ("options", "queued"),
    [
        ({"model-uri": NEW_URI}, True),
        ({"workers": 1, "log-requests": True}, True),
        ({"latency-alert-threshold": 2.5}, False),  # an alert rule: nothing restarts
        ({}, False),
    ],
)
def test_only_changes_that_restart_the_server_queue(
    fake: FakeModelServer, tmp_path: Path, options: dict[str, Any], queued: bool
):
    app = _app(fake, tmp_path)

    _change_everywhere(app, **options)

    assert all(("operations" in app.unit_data(unit)) is queued for unit in app.states)


@pytest.mark.parametrize("peers", [[0], []], ids=["no other unit", "no peer relation yet"])
def test_a_single_unit_restarts_at_once_and_says_a_second_removes_the_gap(
    fake: FakeModelServer, peers: list[int]
):
    relations = {peer_relation(0, peers)} if peers else set()
    state = testing.State(
        config={"model-uri": NEW_URI, "http-port": fake.port},
        containers={running_container(REPRESENTATIVE, fake.port)},
        relations=relations,
        leader=True,
    )
    fake.ready = False  # the restarted server loads its model
    ctx = testing.Context(REPRESENTATIVE.charm_type)

    out = ctx.run(ctx.on.config_changed(), state)

    plan = out.get_container("server").plan
    assert f"--model_dir={NEW_URI}" in plan.services[SERVICE].command
    assert (plan.checks["ready"].period, plan.checks["ready"].threshold) == ("1s", 1)
    assert out.unit_status == testing.WaitingStatus(
        f"loading model model from {NEW_URI}; {rolling.SINGLE_UNIT_NOTE}"
    )


def test_a_unit_whose_model_does_not_answer_restarts_at_once(
    fake: FakeModelServer, tmp_path: Path
):
    app = _app(fake, tmp_path)
    fake.ready = False  # nothing served here to keep serving

    app.run(1, lambda ctx: ctx.on.config_changed())
    _change_everywhere(app, **{"model-uri": NEW_URI})

    assert {_model_dir(app, unit) for unit in app.states} == {f"--model_dir={NEW_URI}"}
    assert all("operations" not in app.unit_data(unit) for unit in app.states)
