"""The proteus charm (AMD Inference Server): plan, models, checked requests, serverless mode.

The server is the fake of tests/unit/fake_amdinfer.py on a real socket; the
Kubernetes side is the fake cluster, which validates every object against
Kubernetes' and KServe's schemas.
"""

from __future__ import annotations

import dataclasses
import json
import shlex
from pathlib import Path
from typing import Any

import pytest
from ops import testing

from tests.charms import PROTEUS, ThinCharm
from tests.unit.fake_amdinfer import FakeAmdinfer
from tests.unit.fake_kube import FakeKube, node
from tests.unit.k8s_helpers import image_resource, require_kserve_crds
from tests.unit.proteus_states import ECHO, ECHO_PAYLOAD, after, repository_model, state

SEED_FPGA = "xilinx.com/fpga-xilinx_u250_gen3x16_xdma_shell_3_1-0"


@pytest.fixture
def charm() -> ThinCharm:
    return PROTEUS


def test_the_plan_runs_amdinfer_serve_on_the_repository(ctx: testing.Context[Any]):
    out = ctx.run(ctx.on.config_changed(), state())
    service = out.get_container("server").plan.services["proteus-server"]
    assert shlex.split(service.command) == [
        "/usr/local/bin/amdinfer-serve",
        "--model-repository=/mnt/models",
        "--repository-load-existing",
        "--http-port=8998",
        "--grpc-port=50051",
    ]
    assert service.user == "_daemon_"
    assert service.environment["XLNX_VART_FIRMWARE"] == "/opt/xilinx/overlaybins"
    assert service.environment["AMDINFER_SERVER_LOG"] == "off"
    assert service.environment["AKS_XMODEL_ROOT"] == "/opt/xilinx/amdinfer"
    checks = out.get_container("server").plan.checks
    assert checks["ready"].http == {"url": "http://localhost:8998/v2/health/ready"}


def test_invalid_models_block_with_every_problem_and_plan_nothing(ctx: testing.Context[Any]):
    models = json.dumps(
        [{"name": "Bad Name", "worker": "cplusplus"}, {"name": "x", "uri": "ftp://a"}]
    )
    out = ctx.run(ctx.on.config_changed(), state(models=models))
    assert out.unit_status.name == "blocked"
    for problem in ("models[0]: name='Bad Name'", "models[1]: uri='ftp://a'", "platform='None'"):
        assert problem in out.unit_status.message
    assert out.get_container("server").layers == {}


def test_models_are_written_fetched_once_and_loaded(
    ctx: testing.Context[Any], amdinfer: FakeAmdinfer, repository: testing.Mount
):
    amdinfer.files["adder.so"] = b"\x7fELF"
    models = json.dumps([repository_model(f"{amdinfer.base_url}/files/adder.so"), ECHO])
    out = ctx.run(ctx.on.config_changed(), state(amdinfer.port, repository, models=models))
    root = Path(repository.source)
    assert (root / "adder" / "1" / "adder.so").read_bytes() == b"\x7fELF"
    assert 'platform = "amdinfer_cpp"' in (root / "adder" / "config.toml").read_text()
    assert amdinfer.loaded == {"adder", "cplusplus"}
    assert out.unit_status == testing.ActiveStatus(
        f"models adder, echo ready on :{amdinfer.port} (v2)"
    )
    ctx.run(ctx.on.update_status(), after(out, amdinfer.port, models=models))
    fetches = [path for _, path, _ in amdinfer.requests if path.startswith("/files/")]
    assert fetches == ["/files/adder.so"]  # fetched once: the marker names its URI


def test_a_model_that_does_not_load_blocks_with_the_servers_reason(
    ctx: testing.Context[Any], amdinfer: FakeAmdinfer
):
    amdinfer.files["adder.so"] = b"lib"
    amdinfer.broken["adder"] = "Failed to load: bad ELF"
    models = json.dumps([repository_model(f"{amdinfer.base_url}/files/adder.so")])
    out = ctx.run(ctx.on.config_changed(), state(amdinfer.port, models=models))
    assert out.unit_status.name == "blocked"
    assert "model adder did not load" in out.unit_status.message
    assert "Failed to load: bad ELF" in out.unit_status.message


def test_removed_models_are_unloaded_and_their_files_go(
    ctx: testing.Context[Any], amdinfer: FakeAmdinfer, repository: testing.Mount
):
    amdinfer.files["adder.so"] = b"lib"
    models = json.dumps([repository_model(f"{amdinfer.base_url}/files/adder.so"), ECHO])
    out = ctx.run(ctx.on.config_changed(), state(amdinfer.port, repository, models=models))
    ctx.run(ctx.on.config_changed(), after(out, amdinfer.port, models="[]"))
    assert amdinfer.loaded == set()
    assert "/v2/repository/models/adder/unload" in amdinfer.posts()
    assert "/v2/workers/cplusplus/unload" in amdinfer.posts()
    assert not (Path(repository.source) / "adder").exists()


def test_smoke_test_sends_3_to_echo_and_gives_the_worker_back(
    ctx: testing.Context[Any], amdinfer: FakeAmdinfer
):
    ctx.run(ctx.on.action("smoke-test"), state(amdinfer.port))
    assert ctx.action_results is not None
    assert ctx.action_results["result"] == "passed: the example model gave the documented answer"
    assert amdinfer.posts() == [
        "/v2/workers/cplusplus/load",
        "/v2/models/cplusplus/infer",
        "/v2/workers/cplusplus/unload",
    ]


@pytest.mark.parametrize(
    ("payload", "model", "refusal"),
    [
        ({"inputs": [ECHO_PAYLOAD["inputs"][0]] * 2}, "echo", r"takes 1 input\(s\)"),
        ({"inputs": [{**ECHO_PAYLOAD["inputs"][0], "datatype": "FP32"}]}, "echo", "UINT32"),
        ({"inputs": [{**ECHO_PAYLOAD["inputs"][0], "data": [1.5]}]}, "echo", "UINT32 integer"),
        ({"inputs": [{**ECHO_PAYLOAD["inputs"][0], "shape": [2]}]}, "echo", "as many elements"),
        (ECHO_PAYLOAD, "unknown", "unknown is not a ready model"),
    ],
    ids=["two-inputs", "fp32", "float-data", "shape", "unknown-model"],
)
def test_predict_refuses_what_would_crash_the_server(
    ctx: testing.Context[Any], amdinfer: FakeAmdinfer, payload: Any, model: str, refusal: str
):
    amdinfer.loaded.add("echo")
    params = {"payload": json.dumps(payload), "model": model}
    with pytest.raises(testing.ActionFailed, match=f"not sent: .*{refusal}"):
        ctx.run(ctx.on.action("predict", params=params), state(amdinfer.port))
    assert amdinfer.posts("/v2/models") == []


def test_predict_sends_a_checked_request(ctx: testing.Context[Any], amdinfer: FakeAmdinfer):
    amdinfer.loaded.add("echo")
    params = {"payload": json.dumps(ECHO_PAYLOAD), "model": "echo"}
    ctx.run(ctx.on.action("predict", params=params), state(amdinfer.port))
    assert ctx.action_results is not None
    assert json.loads(ctx.action_results["response"])["outputs"][0]["data"] == [4]


def test_load_unload_and_list_models(ctx: testing.Context[Any], amdinfer: FakeAmdinfer):
    ctx.run(ctx.on.action("load-model", params={"name": "resnet50"}), state(amdinfer.port))
    ctx.run(ctx.on.action("list-models"), state(amdinfer.port))
    assert ctx.action_results is not None
    assert json.loads(ctx.action_results["models"]) == {"models": ["resnet50"]}
    ctx.run(ctx.on.action("unload-model", params={"name": "resnet50"}), state(amdinfer.port))
    assert amdinfer.loaded == set()
    with pytest.raises(testing.ActionFailed, match=r"name='\.\./etc'"):
        ctx.run(ctx.on.action("load-model", params={"name": "../etc"}), state(amdinfer.port))


def test_fpga_count_1_is_the_statefulsets_limit(ctx: testing.Context[Any], kube: FakeKube):
    kube.nodes.append(node("fpga-node", {SEED_FPGA: "1"}))
    ctx.run(ctx.on.config_changed(), state(**{"fpga-count": 1}))
    assert kube.server_resources("proteus-server") == {
        "limits": {SEED_FPGA: "1"},
        "requests": {SEED_FPGA: "1"},
    }


def test_serverless_is_the_seeds_multi_model_inference_service(
    ctx: testing.Context[Any], kube: FakeKube, tmp_path: Path
):
    require_kserve_crds()
    kube.nodes.append(node("fpga-node", {SEED_FPGA: "1"}))
    uri = "gs://models/xmodel-resnet50.tar.gz"
    models = json.dumps([repository_model(uri, name="xmodel-resnet50")])
    options = {"deployment-mode": "serverless", "fpga-count": 1, "autoscaling-target": 4}
    serverless = testing.State(
        leader=True,
        config={**options, "models": models},
        resources={image_resource(tmp_path)},
        containers={testing.Container("server", can_connect=True)},
    )
    ctx.run(ctx.on.config_changed(), serverless)
    isvc = kube.inference_services["proteus-server-isvc"]
    assert isvc["metadata"]["annotations"]["autoscaling.knative.dev/target"] == "4"
    [container] = isvc["spec"]["predictor"]["containers"]
    assert {e["name"]: e["value"] for e in container["env"]}["MULTI_MODEL_SERVER"] == "true"
    assert "--http-port=8080" in container["command"]
    assert container["ports"] == [{"name": "http1", "containerPort": 8080, "protocol": "TCP"}]
    assert container["resources"] == {"limits": {SEED_FPGA: "1"}, "requests": {SEED_FPGA: "1"}}
    trained = kube.trained_models["xmodel-resnet50"]
    assert trained["spec"] == {
        "inferenceService": "proteus-server-isvc",
        "model": {"framework": "amdinfer", "storageUri": uri, "memory": "1Gi"},
    }


def _trained_model(name: str, app: str) -> dict[str, Any]:
    """A TrainedModel some application made (its created-by label names it)."""
    labels = {"app.juju.is/created-by": app}
    return {"metadata": {"name": name, "labels": labels}, "spec": {}}


def test_serverless_deletes_only_its_own_trained_models(
    ctx: testing.Context[Any], kube: FakeKube, tmp_path: Path
):
    require_kserve_crds()
    kube.trained_models["stale"] = _trained_model("stale", "proteus-server")
    kube.trained_models["theirs"] = _trained_model("theirs", "other-app")
    kube.trained_models["unlabelled"] = {"metadata": {"name": "unlabelled"}, "spec": {}}
    models = json.dumps([repository_model("gs://models/adder.so")])
    serverless = testing.State(
        leader=True,
        config={"deployment-mode": "serverless", "models": models},
        resources={image_resource(tmp_path)},
        containers={testing.Container("server", can_connect=True)},
    )
    ctx.run(ctx.on.config_changed(), serverless)
    assert set(kube.trained_models) == {"adder", "theirs", "unlabelled"}
    ctx.run(ctx.on.remove(), dataclasses.replace(serverless, planned_units=0))
    assert set(kube.trained_models) == {"theirs", "unlabelled"}


def test_worker_models_are_refused_in_serverless_mode(ctx: testing.Context[Any]):
    out = ctx.run(
        ctx.on.config_changed(),
        state(**{"deployment-mode": "serverless", "models": json.dumps([ECHO])}),
    )
    assert out.unit_status.name == "blocked"
    assert "'echo' is a worker model: serverless mode loads models from storage" in (
        out.unit_status.message
    )


def test_the_server_restarted_by_pebble_gets_its_worker_models_again(
    ctx: testing.Context[Any], amdinfer: FakeAmdinfer
):
    models = json.dumps([ECHO])
    out = ctx.run(ctx.on.config_changed(), state(amdinfer.port, models=models))
    amdinfer.loaded.clear()  # the server restarted: it loads the repository, not workers
    check = out.get_container("server").get_check_info("ready")
    again = after(out, amdinfer.port, models=models)
    ctx.run(ctx.on.pebble_check_recovered(out.get_container("server"), check), again)
    assert amdinfer.loaded == {"cplusplus"}
