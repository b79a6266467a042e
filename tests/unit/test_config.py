"""Invalid configuration: Blocked with every problem named, and nothing applied."""

from __future__ import annotations

from typing import Any

import pytest
from ops import pebble, testing

from model_server_charm.config import ConfigError
from tests.charms import REPRESENTATIVE, ThinCharm, charm_config
from tests.unit.conftest import MODEL_URI, running_container
from tests.unit.fake_server import FakeModelServer
from tests.unit.k8s_helpers import ACCEL


@pytest.fixture
def charm() -> ThinCharm:
    """Blocking on invalid options is the shared implementation's: one charm shows it."""
    return REPRESENTATIVE


# (option, bad value, words the Blocked message must contain)
BAD_VALUES: list[tuple[str, Any, str]] = [
    ("model-name", "Bad Name!", "model-name='Bad Name!'"),
    ("model-name", "", "model-name=''"),
    ("model-uri", "", "model-uri is not set"),
    ("model-uri", "ftp://host/model", "model-uri='ftp://host/model'"),
    ("model-uri", "relative/path", "model-uri='relative/path'"),
    ("http-port", 80, "http-port=80"),
    ("http-port", 70000, "http-port=70000"),
    ("grpc-port", 0, "grpc-port=0"),
    ("http-port", 8081, "http-port and grpc-port are both 8081"),
    ("workers", -1, "workers=-1"),
    ("workers", 99, "workers=99"),
    ("cpu", "lots", "cpu='lots'"),
    ("cpu", "-1", "cpu='-1'"),
    ("memory", "4GB!", "memory='4GB!'"),
    ("memory", "0", "memory='0'"),
    ("deployment-mode", "daemonset", "deployment-mode='daemonset'"),
    ("image", "registry/sklearnserver :1", "image='registry/sklearnserver :1'"),
    ("autoscaling-target", -5, "autoscaling-target=-5"),
    ("autoscaling-metric", "latency", "autoscaling-metric='latency'"),
    ("min-replicas", -1, "min-replicas=-1"),
    ("max-replicas", 0, "max-replicas=0"),
    ("min-replicas", 5, "min-replicas=5 is above max-replicas=1"),
    ("latency-alert-threshold", 0.0, "latency-alert-threshold=0.0"),
    ("latency-alert-threshold", -0.5, "latency-alert-threshold=-0.5"),
]


def _config(**overrides: Any) -> dict[str, Any]:
    return {"model-uri": MODEL_URI, **overrides}


@pytest.mark.parametrize(("option", "value", "expected"), BAD_VALUES)
@pytest.mark.parametrize("leader", [True, False])
def test_bad_value_blocks_and_changes_nothing(
    ctx: testing.Context[Any],
    charm: ThinCharm,
    fake: FakeModelServer,
    option: str,
    value: Any,
    expected: str,
    leader: bool,
):
    # Only the options a charm declares can be set (model-uri's default is empty).
    before = running_container(charm, fake.port)
    state = testing.State(
        leader=leader,
        config={**_config(**{"http-port": fake.port}), option: value},
        containers={before},
    )
    out = ctx.run(ctx.on.config_changed(), state)
    assert out.unit_status.name == "blocked"
    assert out.unit_status.message.startswith("invalid config: ")
    assert expected in out.unit_status.message
    after = out.get_container(before.name)
    # The running server keeps its plan and keeps running.
    assert after.layers == before.layers
    assert after.service_statuses == before.service_statuses
    assert out.opened_ports == state.opened_ports


def test_every_problem_is_listed_at_once(ctx: testing.Context[Any], charm: ThinCharm):
    state = testing.State(
        config={"model-uri": "", "workers": -1, "cpu": "x", "http-port": 1, "max-replicas": 0},
        containers={running_container(charm, 8080)},
    )
    out = ctx.run(ctx.on.config_changed(), state)
    message = out.unit_status.message
    problems = ("model-uri is not set", "workers=-1", "cpu='x'", "http-port=1", "max-replicas=0")
    for words in problems:
        assert words in message
    assert message.count(";") == 4


def test_fixing_the_config_applies_it(ctx: testing.Context[Any], charm: ThinCharm):
    bad = ctx.run(
        ctx.on.config_changed(),
        testing.State(config={"model-uri": ""}, containers={running_container(charm, 8080)}),
    )
    assert bad.unit_status.name == "blocked"
    good = ctx.run(
        ctx.on.config_changed(),
        testing.State(
            config={"model-uri": "gs://bucket/other"},
            containers={running_container(charm, 8080)},
        ),
    )
    layer = good.get_container("server").plan.services[charm.charm_type.runtime.service_name]
    assert "--model_dir=gs://bucket/other" in layer.command
    assert good.unit_status.name == "waiting"


def test_hardware_options_reject_bad_values_in_their_group():
    """Hardware options exist only where the runtime declares the hardware (runtimes.yaml)."""
    with pytest.raises(ConfigError) as caught:
        charm_config(ACCEL, model_uri=MODEL_URI, gpu_count=-1, fpga_count=1, fpga_resource="")
    assert caught.value.problems == [
        "gpu-count=-1: must be 0 (none) or more",
        "fpga-count is set but fpga-resource is empty: name the device plugin's resource"
        " (for example xilinx.com/fpga-xilinx_u250_gen3x16_xdma_shell_4_1-0)",
    ]
    with pytest.raises(ConfigError, match="fpga-resource='not a name'"):
        charm_config(ACCEL, model_uri=MODEL_URI, fpga_count=1, fpga_resource="not a name")
    resource = "amd.com/xilinx_u55c_gen3x16_xdma_base_3-0"
    ok = charm_config(ACCEL, model_uri=MODEL_URI, fpga_count=2, fpga_resource=resource)
    assert ok.extended_resources() == {resource: 2}


def test_a_charm_without_the_hardware_has_no_such_option(charm: ThinCharm):
    if "gpu" in charm.charm_type.runtime.hardware:
        pytest.skip(f"{charm.name} has GPUs")
    with pytest.raises(TypeError, match="no such option: gpu_count"):
        charm_config(charm.charm_type.runtime, model_uri=MODEL_URI, gpu_count=1)


def test_service_keeps_running_status(charm: ThinCharm):
    # Guard for the test above: the running container really starts ACTIVE.
    assert running_container(charm, 8080).service_statuses == {
        charm.charm_type.runtime.service_name: pebble.ServiceStatus.ACTIVE
    }
