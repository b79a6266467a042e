"""The proteus model repository: what the charm writes there, and what it leaves alone.

Each repository model of `models` becomes `<name>/config.toml` and `<name>/1/<file>`
in the repository the server loads; the charm removes only the directories it
wrote (they hold its marker file), never a model an operator put there.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from ops import testing

from model_server_charm.families.amdinfer.models import MAX_DIMENSION, ModelsError, parse_models
from tests.charms import PROTEUS, ThinCharm
from tests.unit.fake_amdinfer import FakeAmdinfer
from tests.unit.proteus_states import after, repository_model, state

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest brings tomli wherever Python has no tomllib
    import tomli as tomllib  # pyright: ignore[reportMissingImports]

SHAPE_RULE = "a list of 1 to 8 dimensions (integers, -1 for any)"


@pytest.fixture
def charm() -> ThinCharm:
    return PROTEUS


def _with_shape(shape: Any) -> str:
    model = repository_model("/srv/adder.so")
    model["inputs"] = [{**model["inputs"][0], "shape": shape}]
    return json.dumps([model])


@pytest.mark.parametrize(
    "shape", [[1], [1] * 8, [-1, 3], [MAX_DIMENSION]], ids=["rank-1", "rank-8", "any", "int32"]
)
def test_tensor_shapes_within_the_bounds_are_kept(shape: list[int]):
    [entry] = parse_models(_with_shape(shape))
    assert entry.inputs[0].shape == tuple(shape)


@pytest.mark.parametrize(
    "shape",
    [[], [1] * 9, [-2], [MAX_DIMENSION + 1], [True], "[1]"],
    ids=["rank-0", "rank-9", "minus-2", "int32+1", "boolean", "not-a-list"],
)
def test_tensor_shapes_beyond_the_bounds_are_refused(shape: Any):
    with pytest.raises(ModelsError) as refused:
        parse_models(_with_shape(shape))
    assert refused.value.problems == [f"models[0]: inputs[0].shape: {SHAPE_RULE}"]


def test_config_toml_is_toml_with_every_name_quoted(
    ctx: testing.Context[Any], amdinfer: FakeAmdinfer, repository: testing.Mount
):
    amdinfer.files["adder.so"] = b"lib"
    model = repository_model(f"{amdinfer.base_url}/files/adder.so")
    model["inputs"] = [{**model["inputs"][0], "name": "input.0:image-1"}]
    model["outputs"] = [{"name": "x", "datatype": "FP32", "shape": [-1, 8]}]
    ctx.run(ctx.on.config_changed(), state(amdinfer.port, repository, models=json.dumps([model])))
    config = (Path(repository.source) / "adder" / "config.toml").read_text()
    assert tomllib.loads(config) == {
        "name": "adder",
        "platform": "amdinfer_cpp",
        "inputs": [{"name": "input.0:image-1", "datatype": "UINT32", "shape": [1]}],
        "outputs": [{"name": "x", "datatype": "FP32", "shape": [-1, 8]}],
    }


def test_models_the_charm_did_not_write_are_left_alone(
    ctx: testing.Context[Any], amdinfer: FakeAmdinfer, repository: testing.Mount
):
    root = Path(repository.source)
    (root / "resnet" / "1").mkdir(parents=True)
    (root / "resnet" / "config.toml").write_text('name = "resnet"\n')
    (root / "resnet" / "1" / "resnet.xmodel").write_bytes(b"xmodel")
    amdinfer.files["adder.so"] = b"lib"
    models = json.dumps([repository_model(f"{amdinfer.base_url}/files/adder.so")])
    out = ctx.run(ctx.on.config_changed(), state(amdinfer.port, repository, models=models))
    ctx.run(ctx.on.config_changed(), after(out, amdinfer.port, models="[]"))
    assert not (root / "adder").exists()
    assert (root / "resnet" / "config.toml").read_text() == 'name = "resnet"\n'
    assert (root / "resnet" / "1" / "resnet.xmodel").read_bytes() == b"xmodel"
    assert amdinfer.posts("/v2/repository") == [
        "/v2/repository/models/adder/load",
        "/v2/repository/models/adder/unload",
    ]
