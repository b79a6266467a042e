"""What the charm hands to Juju stays under its per-argument limit, and says when it is cut.

Juju passes a status message, an action result or a failure message to its
hook tools as one process argument, and Linux refuses arguments over 128 KiB:
an unbounded 400 KB answer or option value would make the hook tool fail.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from ops import testing

from model_server_charm import bounded, rolling
from model_server_charm.families.amdinfer.models import MODEL_NAME_RULE
from tests.charms import PROTEUS, REPRESENTATIVE, ThinCharm
from tests.unit.conftest import MODEL_URI, running_container
from tests.unit.fake_server import FakeModelServer


@pytest.fixture
def charm() -> ThinCharm:
    """Bounding what goes to Juju is the shared implementation's: one charm shows it."""
    return REPRESENTATIVE


BIG = 400_000  # bytes of a server answer no action result can carry whole
LONG = 200_000  # characters of an option value no status can carry whole
PAYLOAD = '{"instances": [[6.8, 2.8, 4.8, 1.4]]}'


def _state(charm: ThinCharm, port: int, **config: Any) -> testing.State:
    return testing.State(
        config={"model-uri": MODEL_URI, "http-port": port, **config},
        containers={running_container(charm, port)},
    )


def _failure(
    ctx: testing.Context[Any], action: str, params: dict[str, str], state: testing.State
) -> str:
    with pytest.raises(testing.ActionFailed) as failed:
        ctx.run(ctx.on.action(action, params=params), state)
    return failed.value.message


HandedToJuju = Callable[[testing.Context[Any], ThinCharm, FakeModelServer], str]


def predict_response(ctx: testing.Context[Any], charm: ThinCharm, fake: FakeModelServer) -> str:
    fake.answer = b'{"predictions": "' + b"x" * (BIG - 19) + b'"}'
    ctx.run(ctx.on.action("predict", params={"payload": PAYLOAD}), _state(charm, fake.port))
    assert ctx.action_results is not None
    return ctx.action_results["response"]


def predict_failure(ctx: testing.Context[Any], charm: ThinCharm, fake: FakeModelServer) -> str:
    fake.status, fake.answer = 400, b"e" * BIG
    return _failure(ctx, "predict", {"payload": PAYLOAD}, _state(charm, fake.port))


def smoke_test_failure(ctx: testing.Context[Any], charm: ThinCharm, fake: FakeModelServer) -> str:
    if not charm.charm_type.runtime.examples:
        pytest.skip(f"{charm.name} has no example: its smoke test sends no request")
    fake.status, fake.answer = 500, b"e" * BIG
    return _failure(ctx, "smoke-test", {}, _state(charm, fake.port))


def blocked_status(ctx: testing.Context[Any], charm: ThinCharm, fake: FakeModelServer) -> str:
    state = _state(charm, fake.port, **{"model-name": "m" * LONG})
    out = ctx.run(ctx.on.config_changed(), state)
    assert out.unit_status.name == "blocked"
    return out.unit_status.message


def waiting_status(ctx: testing.Context[Any], charm: ThinCharm, fake: FakeModelServer) -> str:
    fake.ready = False
    uri = "s3://bucket/" + "m" * (LONG - len("s3://bucket/"))
    out = ctx.run(ctx.on.update_status(), _state(charm, fake.port, **{"model-uri": uri}))
    assert out.unit_status.name == "waiting"
    return out.unit_status.message


# (what the charm hands to Juju, its limit in bytes, its start, the full size it must state)
CASES = [
    pytest.param(predict_response, 65536, '{"predictions": "xxx', BIG, id="predict-response"),
    pytest.param(
        predict_failure, 8192, "the model server answered 400: eee", BIG, id="predict-failure"
    ),
    pytest.param(
        smoke_test_failure,
        8192,
        "smoke test failed: the model server answered 500: eee",
        BIG,
        id="smoke-test-failure",
    ),
    pytest.param(blocked_status, 8192, "invalid config: model-name='mmm", LONG, id="blocked"),
    # The status names the whole model-uri: 25 bytes of text before it, then a
    # single unit's note.
    pytest.param(
        waiting_status,
        8192,
        "loading model model from s3://bucket/mmm",
        200_025 + len(f"; {rolling.SINGLE_UNIT_NOTE}".encode()),
        id="waiting",
    ),
]


@pytest.mark.parametrize(("handed_to_juju", "limit", "start", "size"), CASES)
def test_text_handed_to_juju_is_bounded(
    ctx: testing.Context[Any],
    charm: ThinCharm,
    fake: FakeModelServer,
    handed_to_juju: HandedToJuju,
    limit: int,
    start: str,
    size: int,
):
    text = handed_to_juju(ctx, charm, fake)
    assert len(text.encode()) <= limit
    assert text.startswith(start)
    assert f"… [truncated: {size} bytes in all]" in text


def test_every_problem_is_still_listed_when_values_are_long(
    ctx: testing.Context[Any], charm: ThinCharm
):
    long_values = {
        "model-name": "N" * LONG,
        "model-uri": "ftp://" + "u" * LONG,
        "cpu": "1" * LONG + "x",
        "memory": "2" * LONG + "y",
        "deployment-mode": "d" * LONG,
        "image": "I" * LONG,
        "autoscaling-metric": "a" * LONG,
    }
    out = ctx.run(ctx.on.config_changed(), testing.State(config=long_values))
    message = out.unit_status.message
    assert out.unit_status.name == "blocked"
    assert len(message.encode()) <= 8192
    for option in long_values:
        assert f"{option}='" in message


@pytest.mark.parametrize(
    ("text", "limit", "shortened"),
    [
        ("x" * 40, 40, "x" * 40),
        ("x" * 41, 40, "xxxxxxxx… [truncated: 41 bytes in all]"),
        ("é" * 20, 40, "é" * 20),
        ("é" * 21, 40, "éééé… [truncated: 42 bytes in all]"),
        # Never half a character: 9 bytes of room hold 4 of them.
        ("é" * 21, 41, "éééé… [truncated: 42 bytes in all]"),
    ],
    ids=["limit", "limit+1", "utf8-limit", "utf8-limit+1", "utf8-odd-room"],
)
def test_shorten_keeps_a_text_of_the_limit_and_cuts_one_byte_more(
    text: str, limit: int, shortened: str
):
    assert bounded.shorten(text, limit) == shortened
    assert len(shortened.encode()) <= limit


@pytest.mark.parametrize(
    ("value", "quoted"),
    [
        ("a" * 100, "'" + "a" * 100 + "'"),
        ("a" * 101, f"{'a' * 100!r}… [truncated: 101 bytes in all]"),
    ],
    ids=["100-bytes", "101-bytes"],
)
def test_quote_keeps_100_bytes_of_a_value(value: str, quoted: str):
    assert bounded.quote(value) == quoted


def test_an_action_failure_over_8_kib_is_cut_to_8_kib():
    """64 invalid model names: a 17 KB configuration problem, cut where Juju can carry it."""
    name = "X" * 100
    models = [{"name": name, "worker": "cplusplus"} for _ in range(64)]
    ctx = testing.Context(PROTEUS.charm_type)
    state = testing.State(config={"models": json.dumps(models)})
    failure = _failure(ctx, "list-models", {}, state)
    problems = [f"models[{i}]: name={name!r}: {MODEL_NAME_RULE}" for i in range(64)]
    whole = "the configuration is invalid: " + "; ".join(problems)
    marker = f"… [truncated: {len(whole.encode())} bytes in all]"
    assert len(whole.encode()) > 16 * 1024
    assert failure == whole[: 8192 - len(marker.encode())] + marker
    assert len(failure.encode()) == 8192
