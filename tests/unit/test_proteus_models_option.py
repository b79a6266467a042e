"""Proteus's `models` option, written by an unkind operator: every hook and action survives.

The option is read in every hook, so each hostile value is tried in every
hook and action: each gives the exact Blocked problem (or action failure),
nothing raises, the plan stays as it was and the server hears nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from ops import pebble, testing

from model_server_charm import validation
from model_server_charm.families.amdinfer.models import MODEL_NAME_RULE
from tests.charms import PROTEUS, ThinCharm
from tests.unit.conftest import container, planned_layer
from tests.unit.fake_amdinfer import FakeAmdinfer
from tests.unit.proteus_states import ECHO, ECHO_PAYLOAD, repository_model


@pytest.fixture
def charm() -> ThinCharm:
    return PROTEUS


def _worker(**parameters: Any) -> str:
    """`models` with one worker model of these parameters, as JSON text."""
    return json.dumps([{**ECHO, "parameters": parameters}])


def _alias_bomb() -> str:
    """Nine levels of nine aliases: 342 bytes that expand to 9**9 strings."""
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [
        f"{x}: &{x} [{','.join(['*' + y] * 9)}]"
        for x, y in zip("bcdefghi", "abcdefgh", strict=True)
    ]
    return "\n".join(lines) + "\n"


NOT_FINITE = "which is not finite: model servers refuse NaN and infinity (JSON has neither)"
# (the option's text, the problem the status gives)
HOSTILE_MODELS = [
    pytest.param("[" * 500 + "]" * 500, "models nests deeper than 8 levels", id="500-deep-flow"),
    pytest.param("- " * 500 + "x", "models nests deeper than 8 levels", id="500-deep-block"),
    pytest.param(
        _worker(n=1).replace("1}", "9" * 5000 + "}"),
        "models has an integer of 5000 digits, over the 20-digit limit",
        id="5000-digit-integer",
    ),
    pytest.param(
        _alias_bomb(),
        "models uses YAML anchors or aliases (& or *): write each value out",
        id="alias-bomb",
    ),
    pytest.param(
        "- &e {name: echo, worker: cplusplus}",
        "models uses YAML anchors or aliases (& or *): write each value out",
        id="anchor",
    ),
    pytest.param(
        "- !!python/object:os.system echo",
        "models uses a YAML tag (!): write plain values",
        id="tag",
    ),
    pytest.param(
        "- {name: echo, worker: cplusplus, parameters: {day: 2026-13-45}}",
        "models has a value YAML cannot read: month must be in 1..12",
        id="impossible-date",
    ),
    pytest.param(
        "#" * 65537, "models is 65537 bytes, over the 65536-byte limit", id="64KiB-plus-1"
    ),
    pytest.param(
        "[{name: echo",
        "models is not YAML or JSON: expected ',' or '}', but got '<stream end>'"
        " (line 1, column 13)",
        id="unterminated",
    ),
    pytest.param(
        "- {name: echo, worker: cplusplus, parameters: {scale: .nan}}",
        f"models has the number '.nan', {NOT_FINITE}",
        id="nan-parameter",
    ),
    pytest.param(
        "- {name: echo, worker: cplusplus, parameters: {scale: -.inf}}",
        f"models has the number '-.inf', {NOT_FINITE}",
        id="infinite-parameter",
    ),
    pytest.param(
        '[{"name": "echo", "worker": "cplusplus", "parameters": {"scale": 1.0e+999}}]',
        f"models has the number '1.0e+999', {NOT_FINITE}",
        id="overflowing-parameter",
    ),
    pytest.param(
        _worker(n=2**64),
        "models[0]: parameters.n: a string (at most 1024), a 64-bit integer, a finite number"
        " or a boolean",
        id="parameter-over-64-bits",
    ),
]


def _running(port: int) -> testing.Container:
    """The server container, running the plan of the default options."""
    service = PROTEUS.charm_type.runtime.service_name
    return container(
        layers={service: planned_layer(PROTEUS, http_port=port)},
        service=pebble.ServiceStatus.ACTIVE,
        service_name=service,
    )


HOOKS: dict[str, Callable[[testing.Context[Any], testing.Container], Any]] = {
    "install": lambda ctx, _: ctx.on.install(),
    "start": lambda ctx, _: ctx.on.start(),
    "config-changed": lambda ctx, _: ctx.on.config_changed(),
    "upgrade-charm": lambda ctx, _: ctx.on.upgrade_charm(),
    "update-status": lambda ctx, _: ctx.on.update_status(),
    "leader-elected": lambda ctx, _: ctx.on.leader_elected(),
    "pebble-ready": lambda ctx, server: ctx.on.pebble_ready(server),
    "stop": lambda ctx, _: ctx.on.stop(),
}


@pytest.mark.parametrize("hook", HOOKS)
@pytest.mark.parametrize(("models", "problem"), HOSTILE_MODELS)
def test_hostile_models_block_every_hook_and_change_nothing(
    ctx: testing.Context[Any], amdinfer: FakeAmdinfer, hook: str, models: str, problem: str
):
    server = _running(amdinfer.port)
    state = testing.State(
        leader=True, config={"http-port": amdinfer.port, "models": models}, containers={server}
    )
    out = ctx.run(HOOKS[hook](ctx, server), state)
    assert out.unit_status == testing.BlockedStatus(f"invalid config: {problem}")
    assert out.get_container("server").layers == server.layers
    assert amdinfer.requests == []


ACTIONS = {
    "predict": {"payload": json.dumps(ECHO_PAYLOAD), "model": "echo"},
    "smoke-test": {},
    "list-models": {},
    "load-model": {"name": "echo"},
    "unload-model": {"name": "echo"},
}


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize(("models", "problem"), HOSTILE_MODELS)
def test_hostile_models_fail_every_action_before_anything_is_sent(
    ctx: testing.Context[Any], amdinfer: FakeAmdinfer, action: str, models: str, problem: str
):
    state = testing.State(
        leader=True,
        config={"http-port": amdinfer.port, "models": models},
        containers={_running(amdinfer.port)},
    )
    with pytest.raises(testing.ActionFailed) as failure:
        ctx.run(ctx.on.action(action, params=ACTIONS[action]), state)
    assert failure.value.message == f"the configuration is invalid: {problem}"
    assert amdinfer.requests == []


def _configured(ctx: testing.Context[Any], **options: Any) -> testing.State:
    """The state after config-changed with these options (no server: none is asked)."""
    state = testing.State(leader=True, config=options, containers={container()})
    return ctx.run(ctx.on.config_changed(), state)


DATATYPES = (
    "BOOL, UINT8, UINT16, UINT32, UINT64, INT8, INT16, INT32, INT64, FP16, FP32, FP64, BYTES"
)


@pytest.mark.parametrize("datatype", ["STRING", "string", "FP8", "", None])
def test_datatypes_the_real_server_refuses_are_refused(ctx: testing.Context[Any], datatype: Any):
    models = json.dumps([repository_model("/srv/m.so", datatype=datatype)])
    shown = repr(str(datatype))
    assert _configured(ctx, models=models).unit_status == testing.BlockedStatus(
        f"invalid config: models[0]: inputs[0].datatype={shown}: one of {DATATYPES};"
        f" models[0]: outputs[0].datatype={shown}: one of {DATATYPES}"
    )


@pytest.mark.parametrize("mode", ["sidecar", "serverless"])
@pytest.mark.parametrize(
    "name", ["resnet_50", "ResNet", "resnet.50", "-resnet", "resnet-", "r" * 64, "", "résnet"]
)
def test_model_names_must_be_rfc_1123_labels_in_every_mode(
    ctx: testing.Context[Any], mode: str, name: str
):
    models = json.dumps([repository_model("gs://bucket/m.so", name=name)])
    out = _configured(ctx, models=models, **{"deployment-mode": mode})
    assert out.unit_status == testing.BlockedStatus(
        f"invalid config: models[0]: name={name!r}: {MODEL_NAME_RULE}"
    )


@pytest.mark.parametrize(
    "uri",
    [
        "https://user:hunter2@example.com/m.so",
        "http://hunter2@example.com:8080/m.so",
        "gs://user:hunter2@bucket/m.so",
        "s3://AKIA:hunter2@bucket/m.so",
        "https://user:hunter2@example.com/a b.so",
    ],
)
def test_credentials_in_a_models_uri_are_refused_as_in_model_uri_and_never_shown(
    ctx: testing.Context[Any], caplog: pytest.LogCaptureFixture, uri: str
):
    status = _configured(ctx, models=json.dumps([repository_model(uri)])).unit_status
    shown = validation.without_credentials(uri)
    assert status == testing.BlockedStatus(
        f"invalid config: models[0]: uri={shown!r}: {validation.CREDENTIALS_PROBLEM}"
    )
    assert "hunter2" not in status.message
    assert "hunter2" not in caplog.text


OTHER_PROBLEMS = (
    "vart-firmware='overlays': an absolute path in the server's container (a directory of DPU"
    " overlays, or one .xclbin); download-limit-mib=0: from 1 to 65536 (MiB per model file)"
)


@pytest.mark.parametrize(
    ("models", "problem"),
    [
        (
            "[{name: echo",
            "models is not YAML or JSON: expected ',' or '}', but got '<stream end>'"
            " (line 1, column 13)",
        ),
        (_alias_bomb(), "models uses YAML anchors or aliases (& or *): write each value out"),
        ("{}", "models must be a list of at most 64 entries"),
        (
            json.dumps([{"name": "x_y", "worker": "cplusplus"}]),
            f"models[0]: name='x_y': {MODEL_NAME_RULE}",
        ),
    ],
    ids=["not-yaml", "alias-bomb", "not-a-list", "bad-entry"],
)
def test_invalid_models_still_list_every_other_amdinfer_problem(
    ctx: testing.Context[Any], models: str, problem: str
):
    options = {"models": models, "vart-firmware": "overlays", "download-limit-mib": 0}
    assert _configured(ctx, **options).unit_status == testing.BlockedStatus(
        f"invalid config: {problem}; {OTHER_PROBLEMS}"
    )
