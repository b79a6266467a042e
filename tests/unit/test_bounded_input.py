"""JSON from outside, parsed within bounds: operators' payloads, servers' answers, relation data.

Each hostile case here crashes a plain `json.loads` (a 5,000-digit integer is a
ValueError, 100,000 nested lists a RecursionError): actions fail with a clear
message instead, and relation data is ignored with a log line.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from ops import testing

from tests.charms import REPRESENTATIVE, ThinCharm
from tests.unit.conftest import MODEL_URI, container, running_container
from tests.unit.fake_server import FakeModelServer


@pytest.fixture
def charm() -> ThinCharm:
    """Bounded parsing is the shared implementation's: one charm shows it."""
    return REPRESENTATIVE


# The predict payload limit (README: "≤ 1 MiB"), written out as operators read it.
MIB = 1048576


def _payload(size: int, key: str = "instances") -> str:
    """A valid v1 document of exactly `size` bytes (padded with JSON whitespace)."""
    head = f'{{"{key}": [[6.8, 2.8, 4.8, 1.4]]'
    return head + " " * (size - len(head) - 1) + "}"


def _answer(size: int) -> bytes:
    """A well-formed v1 answer of exactly `size` bytes."""
    return _payload(size, "predictions").encode()


def _nested(levels: int, key: str = "instances") -> str:
    """An object holding `levels - 1` nested lists: `levels` deep in all."""
    return f'{{"{key}": ' + "[" * (levels - 1) + "]" * (levels - 1) + "}"


def _integer(digits: int, key: str = "instances", sign: str = "") -> str:
    return f'{{"{key}": [' + sign + "9" * digits + "]}"


ANSWER = {"predictions": [1]}
# (action, its parameters, what the fake server answers, requests it receives,
#  how the action ends: "passed" or the start of its failure message)
CASES = [
    pytest.param("predict", {"payload": _payload(MIB)}, ANSWER, 1, "passed", id="payload-1MiB"),
    pytest.param(
        "predict",
        {"payload": _payload(MIB + 1)},
        ANSWER,
        0,
        "payload is 1048577 bytes, over the 1048576-byte limit",
        id="payload-1MiB-plus-1",
    ),
    pytest.param("predict", {"payload": _nested(64)}, ANSWER, 1, "passed", id="payload-64-deep"),
    pytest.param(
        "predict",
        {"payload": _nested(65)},
        ANSWER,
        0,
        "payload nests deeper than 64 levels",
        id="payload-65-deep",
    ),
    pytest.param(
        "predict",
        {"payload": _nested(100_000)},
        ANSWER,
        0,
        "payload nests deeper than 64 levels",
        id="payload-100000-nested-lists",
    ),
    pytest.param(
        "predict",
        {"payload": '{"instances": ["' + "[{" * 100_000 + '"]}'},
        ANSWER,
        1,
        "passed",
        id="payload-brackets-inside-a-string",
    ),
    pytest.param(
        "predict",
        {"payload": '{"instances": ["' + 'a\\"[' * 250_000},
        ANSWER,
        0,
        "payload is not valid JSON: Unterminated string",
        id="payload-unterminated-string-of-escaped-quotes",
    ),
    pytest.param(
        "predict", {"payload": _integer(64)}, ANSWER, 1, "passed", id="payload-64-digit-integer"
    ),
    # The sign is no digit: -9…9 of 64 digits is 65 characters, within the limit.
    pytest.param(
        "predict",
        {"payload": _integer(64, sign="-")},
        ANSWER,
        1,
        "passed",
        id="payload-minus-64-digit-integer",
    ),
    pytest.param(
        "predict",
        {"payload": _integer(65, sign="-")},
        ANSWER,
        0,
        "payload has an integer of 65 digits, over the 64-digit limit",
        id="payload-minus-65-digit-integer",
    ),
    pytest.param(
        "predict",
        {"payload": _integer(5000)},
        ANSWER,
        0,
        "payload has an integer of 5000 digits, over the 64-digit limit",
        id="payload-5000-digit-integer",
    ),
    pytest.param("smoke-test", {}, _answer(MIB), 1, "passed", id="answer-1MiB"),
    pytest.param(
        "smoke-test",
        {},
        _answer(MIB + 1),
        1,
        "smoke test failed: the answer is 1048577 bytes, over the 1048576-byte limit",
        id="answer-1MiB-plus-1",
    ),
    pytest.param(
        "smoke-test",
        {},
        _nested(100_000, "predictions").encode(),
        1,
        "smoke test failed: the answer nests deeper than 64 levels",
        id="answer-100000-nested-lists",
    ),
    pytest.param(
        "smoke-test",
        {},
        _integer(5000, "predictions").encode(),
        1,
        "smoke test failed: the answer has an integer of 5000 digits, over the 64-digit limit",
        id="answer-5000-digit-integer",
    ),
    pytest.param(
        "smoke-test",
        {},
        b"\xff\xfe not json",
        1,
        "smoke test failed: the answer is not valid JSON",
        id="answer-not-json",
    ),
]


def _outcome(
    ctx: testing.Context[Any], charm: ThinCharm, action: str, params: dict[str, str], port: int
) -> str:
    """How the action ends: "passed", or its failure message."""
    state = testing.State(
        config={"model-uri": MODEL_URI, "http-port": port},
        containers={running_container(charm, port)},
    )
    try:
        ctx.run(ctx.on.action(action, params=params), state)
    except testing.ActionFailed as failed:
        return failed.message
    return "passed"


@pytest.mark.parametrize(("action", "params", "answer", "requests", "outcome"), CASES)
def test_actions_parse_json_within_bounds(
    ctx: testing.Context[Any],
    charm: ThinCharm,
    fake: FakeModelServer,
    action: str,
    params: dict[str, str],
    answer: Any,
    requests: int,
    outcome: str,
):
    if action == "smoke-test" and not charm.charm_type.runtime.examples:
        pytest.skip(f"{charm.name} has no example: its smoke test parses no answer")
    fake.answer = answer
    assert _outcome(ctx, charm, action, params, fake.port).startswith(outcome)
    assert len(fake.requests) == requests


PUSH = "http://loki-0.loki-endpoints.cos.svc.cluster.local:3100/loki/api/v1/push"
# (a Loki unit's `endpoint`, whether it becomes a log target)
ENDPOINTS = [
    pytest.param(json.dumps({"url": PUSH}), True, id="http"),
    pytest.param(json.dumps({"url": "https://10.1.2.3:3100/loki/api/v1/push"}), True, id="https"),
    pytest.param(json.dumps({"url": "http://[fd00::1]:3100/push"}), True, id="ipv6"),
    pytest.param(json.dumps({"url": PUSH + "x" * 4096}), False, id="over-4KiB"),
    pytest.param('{"url": ' + "9" * 5000 + "}", False, id="5000-digit-integer"),
    pytest.param("[" * 100_000 + "]" * 100_000, False, id="100000-nested-lists"),
    pytest.param("not json", False, id="not-json"),
    pytest.param(json.dumps(["url", PUSH]), False, id="not-an-object"),
    pytest.param(json.dumps({"url": [PUSH]}), False, id="url-not-a-string"),
    pytest.param(json.dumps({"url": "ftp://loki/push"}), False, id="ftp"),
    pytest.param(json.dumps({"url": "loki:3100/push"}), False, id="no-scheme"),
    pytest.param(json.dumps({"url": "http:///push"}), False, id="no-host"),
    pytest.param(json.dumps({"url": "http://loki:99999/push"}), False, id="port-over-65535"),
    pytest.param(json.dumps({"url": "http://loki:0/push"}), False, id="port-0"),
    pytest.param(json.dumps({"url": "http://[fd00::1/push"}), False, id="broken-ipv6"),
    pytest.param(json.dumps({"url": PUSH + "\n"}), False, id="trailing-newline"),
    pytest.param(json.dumps({"url": "http://lo ki/push"}), False, id="space"),
]


@pytest.mark.parametrize(("endpoint", "forwarded"), ENDPOINTS)
def test_loki_endpoints_are_untrusted(
    ctx: testing.Context[Any],
    charm: ThinCharm,
    caplog: pytest.LogCaptureFixture,
    endpoint: str,
    forwarded: bool,
):
    relation = testing.Relation(
        "logging", remote_app_name="loki", remote_units_data={0: {"endpoint": endpoint}}
    )
    state = testing.State(
        config={"model-uri": MODEL_URI}, relations={relation}, containers={container()}
    )
    with caplog.at_level(logging.WARNING):
        out = ctx.run(ctx.on.relation_changed(relation, remote_unit=0), state)
    targets = out.get_container("server").plan.log_targets
    assert ("juju-logging-loki-0" in targets) == forwarded
    ignored = [r.getMessage() for r in caplog.records if "Loki endpoint" in r.getMessage()]
    assert len(ignored) == (0 if forwarded else 1)
    assert all(len(line) < 1024 for line in ignored)  # the data is quoted, not dumped
