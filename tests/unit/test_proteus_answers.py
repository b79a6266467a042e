"""Proteus against the server's refusals: every non-2xx answer fails, none passes for success.

Each action of the family fails on any answer outside 2xx, with the server's
words, and a model that does not load blocks the unit naming it. The real
server answers a failed worker load (xmodel without an FPGA) with a 500 and
an EMPTY body: the message then says where the reason is, the server's log.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from ops import testing

from tests.charms import PROTEUS, ThinCharm
from tests.unit.fake_amdinfer import FakeAmdinfer, Reply
from tests.unit.proteus_states import ECHO_PAYLOAD, repository_model, state


@pytest.fixture
def charm() -> ThinCharm:
    return PROTEUS


SERVER_LOG = (
    "the reason is in the server's log (juju ssh --container server <unit> /charm/bin/pebble logs)"
)
EMPTY = "an empty body (the reason, if any, is in the server's log)"
LOAD = "/v2/repository/models/resnet50/load"
WORKER = "/v2/workers/cplusplus/load"
RESNET = {"name": "resnet50"}
PREDICT = {"payload": json.dumps(ECHO_PAYLOAD), "model": "echo"}


def _empty(what: str, status: int) -> str:
    return f"{what} answered {status} with an empty body: {SERVER_LOG}"


# (action, its parameters, the path that refuses, the refusal, the action's failure message)
ACTION_REFUSALS = [
    ("list-models", {}, "/v2/models", (500, b""), _empty("listing models", 500)),
    ("list-models", {}, "/v2/models", (503, b" \n"), _empty("listing models", 503)),
    (
        "list-models",
        {},
        "/v2/models",
        (500, {"error": "x"}),
        'listing models answered 500: {"error": "x"}',
    ),
    ("list-models", {}, "/v2/models", (404, b"not here"), "listing models answered 404: not here"),
    (
        "load-model",
        RESNET,
        LOAD,
        (400, {"error": "no"}),
        'load resnet50 answered 400: {"error": "no"}',
    ),
    ("load-model", RESNET, LOAD, (500, b""), _empty("load resnet50", 500)),
    (
        "unload-model",
        RESNET,
        LOAD.replace("load", "unload"),
        (500, b""),
        _empty("unload resnet50", 500),
    ),
    (
        "smoke-test",
        {},
        WORKER,
        (500, b""),
        "smoke test failed: " + _empty("loading worker cplusplus", 500),
    ),
    (
        "smoke-test",
        {},
        WORKER,
        (200, b"Bad!"),
        "smoke test failed: loading worker cplusplus answered no endpoint name: 'Bad!'",
    ),
    (
        "predict",
        PREDICT,
        "/v2/models/echo/infer",
        (500, b""),
        f"the model server answered 500: {EMPTY}",
    ),
]


@pytest.mark.parametrize(("action", "params", "path", "refusal", "message"), ACTION_REFUSALS)
def test_every_action_fails_on_an_answer_outside_2xx(
    ctx: testing.Context[Any],
    amdinfer: FakeAmdinfer,
    action: str,
    params: dict[str, str],
    path: str,
    refusal: Reply,
    message: str,
):
    amdinfer.loaded.add("echo")
    amdinfer.overrides[path] = refusal
    with pytest.raises(testing.ActionFailed) as failure:
        ctx.run(ctx.on.action(action, params=params), state(amdinfer.port))
    assert failure.value.message == message
    assert amdinfer.crashes == []


XMODEL = {"name": "resnet", "worker": "xmodel", "parameters": {"model": "/opt/resnet.xmodel"}}
# (the worker's answer to its load, the status's reason)
WORKER_REFUSALS = [
    ((500, b""), f"loading worker xmodel answered 500 with an empty body: {SERVER_LOG}"),
    ((500, b"\r\n"), f"loading worker xmodel answered 500 with an empty body: {SERVER_LOG}"),
    ((400, {"error": "no FPGA"}), 'loading worker xmodel answered 400: {"error": "no FPGA"}'),
    ((200, b""), "loading worker xmodel answered no endpoint name: ''"),
    ((200, b"../etc"), "loading worker xmodel answered no endpoint name: '../etc'"),
]


@pytest.mark.parametrize(("refusal", "reason"), WORKER_REFUSALS)
def test_a_worker_that_does_not_load_blocks_naming_the_model(
    ctx: testing.Context[Any],
    amdinfer: FakeAmdinfer,
    repository: testing.Mount,
    refusal: Reply,
    reason: str,
):
    amdinfer.failing_workers["xmodel"] = refusal
    models = json.dumps([XMODEL])
    out = ctx.run(ctx.on.config_changed(), state(amdinfer.port, repository, models=models))
    assert out.unit_status == testing.BlockedStatus(
        f"model resnet: {reason}; fix the models option"
    )
    assert amdinfer.loaded == set()
    assert amdinfer.crashes == []


@pytest.mark.parametrize(
    ("refusal", "reason"),
    [
        ((500, b""), f"the server answered 500 with an empty body: {SERVER_LOG}"),
        ((400, {"error": "bad ELF"}), 'the server answered 400: {"error": "bad ELF"}'),
    ],
)
def test_a_repository_model_that_does_not_load_blocks_naming_it(
    ctx: testing.Context[Any],
    amdinfer: FakeAmdinfer,
    repository: testing.Mount,
    refusal: Reply,
    reason: str,
):
    amdinfer.files["m.so"] = b"\x7fELF"
    amdinfer.overrides["/v2/repository/models/adder/load"] = refusal
    models = json.dumps([repository_model(f"{amdinfer.base_url}/files/m.so")])
    out = ctx.run(ctx.on.config_changed(), state(amdinfer.port, repository, models=models))
    assert out.unit_status == testing.BlockedStatus(
        f"model adder did not load: {reason}; fix the models option"
    )
    assert amdinfer.crashes == []
