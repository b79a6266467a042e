"""The predict and smoke-test actions, against a fake server on a real socket."""

from __future__ import annotations

import json
from typing import Any

import pytest
from ops import testing

from bench.servers import free_port
from model_server_charm.actions import MAX_PAYLOAD_BYTES
from tests.charms import KSERVE_CHARMS, ThinCharm
from tests.unit.conftest import MODEL_URI, running_container
from tests.unit.examples import CharmExample, documented_answer, selecting
from tests.unit.fake_server import FakeModelServer


def _state(charm: ThinCharm, port: int, **config: Any) -> testing.State:
    return testing.State(
        config={"model-uri": MODEL_URI, "http-port": port, **config},
        containers={running_container(charm, port)},
    )


@pytest.mark.parametrize(
    ("protocol", "path"),
    [("v1", "/v1/models/model:predict"), ("v2", "/v2/models/model/infer")],
)
def test_predict_returns_the_server_answer(
    ctx: testing.Context[Any],
    charm: ThinCharm,
    fake: FakeModelServer,
    protocol: str,
    path: str,
):
    if protocol not in charm.charm_type.runtime.protocols:
        pytest.skip(f"{charm.name} does not serve {protocol}")
    payload = {"instances": [[1, 2]]} if protocol == "v1" else {"inputs": [{"name": "x"}]}
    fake.answer = {"predictions": [7]}
    ctx.run(
        ctx.on.action("predict", params={"payload": json.dumps(payload), "protocol": protocol}),
        _state(charm, fake.port),
    )
    assert fake.requests == [(path, payload)]
    assert ctx.action_results is not None
    assert json.loads(ctx.action_results["response"]) == {"predictions": [7]}
    assert ctx.action_results["status-code"] == 200
    assert ctx.action_results["latency-ms"] >= 0


def test_predict_fails_with_the_servers_error(
    ctx: testing.Context[Any], charm: ThinCharm, fake: FakeModelServer
):
    fake.status, fake.answer = 400, {"error": "Expected 4 features, got 2"}
    with pytest.raises(testing.ActionFailed) as failed:
        ctx.run(
            ctx.on.action("predict", params={"payload": '{"instances": [[1, 2]]}'}),
            _state(charm, fake.port),
        )
    assert failed.value.message == (
        'the model server answered 400: {"error": "Expected 4 features, got 2"}'
    )


@pytest.mark.parametrize(
    ("payload", "protocol", "reason"),
    [
        ("{not json", "v1", "payload is not valid JSON"),
        ("[1, 2]", "v1", "payload must be a JSON object"),
        ('{"data": 1}', "v1", 'a v1 payload needs "instances"'),
        ('{"instances": []}', "v2", 'a v2 payload needs an "inputs" list'),
        ('{"inputs": {"name": "x"}}', "v2", 'a v2 payload needs an "inputs" list'),
        ('{"inputs": "x"}', "v2", 'a v2 payload needs an "inputs" list'),
        ('{"instances": [' + "1," * MAX_PAYLOAD_BYTES + "1]}", "v1", "over the 1048576-byte"),
    ],
)
def test_predict_rejects_bad_payloads_before_sending(
    ctx: testing.Context[Any],
    charm: ThinCharm,
    fake: FakeModelServer,
    payload: str,
    protocol: str,
    reason: str,
):
    with pytest.raises(testing.ActionFailed) as failed:
        ctx.run(
            ctx.on.action("predict", params={"payload": payload, "protocol": protocol}),
            _state(charm, fake.port),
        )
    assert reason in failed.value.message
    assert fake.requests == []


def test_predict_fails_when_the_server_is_down(ctx: testing.Context[Any], charm: ThinCharm):
    closed_port = free_port()
    with pytest.raises(testing.ActionFailed, match="the model server did not answer"):
        ctx.run(
            ctx.on.action("predict", params={"payload": '{"instances": [[1]]}'}),
            _state(charm, closed_port),
        )


def test_predict_fails_on_invalid_config(ctx: testing.Context[Any], charm: ThinCharm):
    with pytest.raises(testing.ActionFailed, match="the configuration is invalid: workers=-1"):
        ctx.run(
            ctx.on.action("predict", params={"payload": '{"instances": [[1]]}'}),
            _state(charm, 8080, workers=-1),
        )


def test_smoke_test_checks_the_documented_answer_for_the_example_model(
    charm_example: CharmExample, fake: FakeModelServer
):
    charm, example = charm_example
    fake.answer = documented_answer(example)
    ctx = testing.Context(charm.charm_type)
    ctx.run(ctx.on.action("smoke-test"), _state(charm, fake.port, **selecting(example)))
    assert ctx.action_results is not None
    expected = "passed: the example model" if example.expected else "passed: well-formed"
    assert ctx.action_results["result"].startswith(expected)
    path, body = fake.requests[0]
    # The example as documented (an OpenAI request also names the served model).
    assert {key: body[key] for key in example.request} == example.request
    assert path.startswith(("/v1/", "/v2/", "/openai/"))


def test_smoke_test_fails_on_a_wrong_answer_from_the_example_model(
    charm_example: CharmExample, fake: FakeModelServer
):
    charm, example = charm_example
    if example.expected is None:
        pytest.skip(f"{charm.name}'s example has no documented answer to compare")
    fake.answer = {"predictions": ["something else"], "outputs": [], "choices": []}
    ctx = testing.Context(charm.charm_type)
    with pytest.raises(testing.ActionFailed, match="smoke test failed: expected"):
        ctx.run(ctx.on.action("smoke-test"), _state(charm, fake.port, **selecting(example)))


def test_smoke_test_checks_shape_for_another_model(
    charm_example: CharmExample, fake: FakeModelServer
):
    charm, example = charm_example
    fake.answer = {"predictions": [0], "outputs": [], "choices": []}
    ctx = testing.Context(charm.charm_type)
    options = {**example.when, "model-uri": "s3://models/another"}
    ctx.run(ctx.on.action("smoke-test"), _state(charm, fake.port, **options))
    assert ctx.action_results is not None
    assert ctx.action_results["result"].startswith("passed: well-formed answer")


@pytest.mark.parametrize(
    ("status", "answer", "reason"),
    [
        (500, {"error": "boom"}, "the model server answered 500"),
        (200, "not json", "the answer is not valid JSON"),
        (200, {"unexpected": 1}, "answer needs"),
    ],
)
def test_smoke_test_failures(
    charm_example: CharmExample, fake: FakeModelServer, status: int, answer: Any, reason: str
):
    charm, example = charm_example
    fake.status, fake.answer = status, answer
    ctx = testing.Context(charm.charm_type)
    with pytest.raises(testing.ActionFailed) as failed:
        ctx.run(ctx.on.action("smoke-test"), _state(charm, fake.port, **example.when))
    assert reason in failed.value.message


def test_without_an_example_the_smoke_test_checks_readiness_and_metadata(
    fake: FakeModelServer,
):
    fake.metadata = {"name": "model", "platform": "autogluon"}
    charm = next(c for c in KSERVE_CHARMS if not c.charm_type.runtime.examples)
    ctx = testing.Context(charm.charm_type)
    ctx.run(ctx.on.action("smoke-test"), _state(charm, fake.port))
    assert ctx.action_results is not None
    assert ctx.action_results["result"].startswith("passed: the model is ready")
    assert json.loads(ctx.action_results["response"]) == fake.metadata
    fake.ready = False
    with pytest.raises(testing.ActionFailed, match="smoke test failed: the model is not ready"):
        ctx.run(ctx.on.action("smoke-test"), _state(charm, fake.port))


def _shifted(document: Any, delta: float) -> Any:
    """The document with `delta` added to every number in it."""
    if isinstance(document, dict):
        return {key: _shifted(value, delta) for key, value in document.items()}
    if isinstance(document, list):
        return [_shifted(value, delta) for value in document]
    if isinstance(document, (int, float)) and not isinstance(document, bool):
        return document + delta
    return document


@pytest.mark.parametrize(
    ("delta", "passes"),
    [(0.0499, True), (-0.0499, True), (0.0501, False), (-0.0501, False)],
    ids=["just-inside-0.05", "just-inside-minus-0.05", "just-over-0.05", "just-under-minus-0.05"],
)
def test_smoke_test_tolerates_0_05_around_the_documented_numbers(
    charm_example: CharmExample, fake: FakeModelServer, delta: float, passes: bool
):
    charm, example = charm_example
    if example.judge != "exact" or _shifted(example.expected, delta) == example.expected:
        pytest.skip(f"{charm.name}'s documented answer holds no numbers compared as they are")
    fake.answer = _shifted(example.expected, delta)
    ctx = testing.Context(charm.charm_type)
    try:
        ctx.run(ctx.on.action("smoke-test"), _state(charm, fake.port, **selecting(example)))
        outcome = "passed"
    except testing.ActionFailed as failed:
        outcome = failed.message
    assert (outcome == "passed") == passes, outcome
