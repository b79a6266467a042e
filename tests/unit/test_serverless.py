"""Serverless mode: the InferenceService, its status, trust, removal and the way back.

Every InferenceService the charm applies is validated by the fake cluster
against KServe's CRD (strict); these tests skip, saying why, when the CRDs
cannot be found or downloaded.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from ops import pebble, testing

from model_server_charm import serverless
from model_server_charm.deployment import KSERVE_MISSING
from model_server_charm.families import family_for
from model_server_charm.k8s_resources import Owner, wanted_resources
from model_server_charm.runtimes import RUNTIMES, Runtime
from model_server_charm.trained_models import render_trained_model
from tests.charms import REPRESENTATIVE, charm_config
from tests.k8s_schemas import validate_kserve
from tests.unit.conftest import MODEL_URI
from tests.unit.fake_kube import FakeKube, api_error, node
from tests.unit.fake_server import serve_fake
from tests.unit.k8s_helpers import (
    ACCEL,
    ACCEL_APP,
    FPGA,
    NAMESPACE,
    REGISTRY_PATH,
    accel_context,
    image_resource,
    require_kserve_crds,
    state,
)

ISVC = f"{ACCEL_APP}-isvc"
DIGEST = "sha256:" + "0123456789abcdef" * 4
READY = {
    "url": f"http://{ISVC}.{NAMESPACE}.example.com",
    "conditions": [{"type": "Ready", "status": "True"}],
}


@pytest.fixture
def accel(tmp_path: Path) -> testing.Context[Any]:
    return accel_context(tmp_path)


@pytest.fixture
def crds() -> None:
    require_kserve_crds()


def serverless_state(
    tmp_path: Path,
    options: dict[str, str | int] | None = None,
    *,
    planned_units: int = 1,
    secrets: frozenset[testing.Secret] = frozenset(),
) -> testing.State:
    return state(
        {"deployment-mode": "serverless", **(options or {})},
        resources=frozenset({image_resource(tmp_path)}),
        planned_units=planned_units,
        secrets=secrets,
    )


def _applied(kube: FakeKube) -> dict[str, Any]:
    [apply] = [s for s in kube.writes() if s.verb == "apply"]
    assert apply.body is not None
    return apply.body


def _predictor(obj: dict[str, Any]) -> dict[str, Any]:
    return obj["spec"]["predictor"]


# --- rendering -------------------------------------------------------------------------


@pytest.mark.usefixtures("crds")
@pytest.mark.parametrize("runtime", [*RUNTIMES.values(), ACCEL], ids=lambda r: r.name)
def test_rendered_inference_service_is_valid_for_every_runtime(runtime: Runtime):
    model = {"model_uri": MODEL_URI} if runtime.family == "kserve-python" else {}
    config = charm_config(
        runtime,
        **model,
        deployment_mode="serverless",
        cpu="1",
        memory="2Gi",
        autoscaling_target=10,
        autoscaling_metric="rps",
        min_replicas=0,
        max_replicas=3,
    )
    obj = serverless.render_inference_service(
        family_for(runtime).predictor(config),
        config,
        app="app",
        namespace=NAMESPACE,
        image=REGISTRY_PATH,
        resources=wanted_resources(config),
        owner=Owner(name="app", uid="uid-1"),
        image_pull_secrets=("app-server-secret",),
    )
    validate_kserve(obj)


def test_predictor_reads_the_model_where_the_storage_initializer_puts_it():
    runtime = RUNTIMES["sklearn"]
    config = charm_config(runtime, model_uri=MODEL_URI, http_port=9000, grpc_port=8080)
    predictor = family_for(runtime).predictor(config)
    assert "--model_dir=/mnt/models" in predictor.command
    assert "--http_port=8080" in predictor.command
    assert "--grpc_port=8081" in predictor.command  # moved off KServe's port
    assert predictor.environment["STORAGE_URI"] == MODEL_URI


def test_local_model_path_is_passed_through_without_storage_uri():
    runtime = RUNTIMES["sklearn"]
    predictor = family_for(runtime).predictor(charm_config(runtime, model_uri="/models/iris"))
    assert "--model_dir=/models/iris" in predictor.command
    assert "STORAGE_URI" not in predictor.environment


@pytest.mark.usefixtures("crds")
def test_trained_model_is_valid_and_names_the_inference_service():
    obj = render_trained_model(
        {
            "name": "resnet50",
            "uri": "gs://b/resnet50",
            "framework": "xmodel",
            "memory": "2Gi",
        },
        app="proteus",
        namespace=NAMESPACE,
    )
    validate_kserve(obj)
    assert obj["spec"] == {
        "inferenceService": "proteus-isvc",
        "model": {"framework": "xmodel", "storageUri": "gs://b/resnet50", "memory": "2Gi"},
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("registrypath: reg/img:1\nusername: u\npassword: p\n", "reg/img:1"),
        ('{"ImageName": "x", "registrypath": "reg/img@' + DIGEST + '"}', "reg/img@" + DIGEST),
    ],
)
def test_image_comes_from_the_resource_file(tmp_path: Path, text: str, expected: str):
    path = tmp_path / "resource"
    path.write_text(text)
    assert serverless.image_from_resource(path) == expected


@pytest.mark.parametrize("text", ["", "username: u\n", "[1, 2]", "registrypath: ''\n"])
def test_resource_file_without_registrypath_is_an_error(tmp_path: Path, text: str):
    path = tmp_path / "resource"
    path.write_text(text)
    with pytest.raises(serverless.ImageResourceError):
        serverless.image_from_resource(path)


def test_unreadable_resource_file_is_an_error(tmp_path: Path):
    with pytest.raises(serverless.ImageResourceError, match="cannot read"):
        serverless.image_from_resource(tmp_path / "missing")


def test_state_reads_the_ready_condition_and_url():
    state_ = serverless.InferenceServiceState.from_object(
        {
            "status": {
                "address": {"url": "http://isvc.ns.svc.cluster.local"},
                "conditions": [
                    {"type": "PredictorReady", "status": "True"},
                    {
                        "type": "Ready",
                        "status": "False",
                        "reason": "RevisionMissing",
                        "message": "Configuration is waiting for a Revision",
                    },
                ],
            }
        }
    )
    assert state_ == serverless.InferenceServiceState(
        ready=False,
        reason="RevisionMissing",
        message="Configuration is waiting for a Revision",
        url="http://isvc.ns.svc.cluster.local",
        address="http://isvc.ns.svc.cluster.local",
    )
    external = serverless.InferenceServiceState.from_object(
        {"status": {"url": "http://isvc.example.com", "address": {"url": "http://isvc.local"}}}
    )
    assert (external.url, external.address) == ("http://isvc.example.com", "http://isvc.local")
    assert not serverless.InferenceServiceState.from_object({}).ready


# --- Scenario: the leader creates and updates ------------------------------------------


@pytest.mark.usefixtures("crds")
def test_leader_creates_the_inference_service(
    accel: testing.Context[Any], kube: FakeKube, tmp_path: Path
):
    kube.nodes.append(node("fpga-node", {FPGA: "1"}))
    options = {
        "fpga-count": 1,
        "fpga-resource": FPGA,
        "cpu": "2",
        "memory": "4Gi",
        "autoscaling-target": 8,
        "autoscaling-metric": "rps",
        "min-replicas": 0,
        "max-replicas": 4,
        "model-name": "iris",
    }
    out = accel.run(accel.on.config_changed(), serverless_state(tmp_path, options))
    [apply] = [s for s in kube.writes() if s.verb == "apply"]
    assert (apply.kind, apply.name, apply.namespace) == ("InferenceService", ISVC, NAMESPACE)
    assert apply.field_manager == "kserve-bundle"
    obj = _applied(kube)
    metadata = obj["metadata"]
    assert metadata["annotations"] == {
        "serving.kserve.io/enable-prometheus-scraping": "true",
        "autoscaling.knative.dev/target": "8",
    }
    assert metadata["ownerReferences"] == [
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "name": ACCEL_APP,
            "uid": kube.statefulset(ACCEL_APP)["metadata"]["uid"],
        }
    ]
    predictor = _predictor(obj)
    assert {
        k: predictor[k] for k in ("minReplicas", "maxReplicas", "scaleTarget", "scaleMetric")
    } == {
        "minReplicas": 0,
        "maxReplicas": 4,
        "scaleTarget": 8,
        "scaleMetric": "rps",
    }
    assert predictor["imagePullSecrets"] == [{"name": f"{ACCEL_APP}-server-secret"}]
    [server] = predictor["containers"]
    assert server["name"] == "kserve-container"
    assert server["image"] == REGISTRY_PATH
    config = charm_config(ACCEL, model_uri=MODEL_URI, model_name="iris")
    # One source of the command: the charm's own, as the predictor must run it.
    assert server["command"] == family_for(ACCEL).predictor(config).command
    assert "--model_dir=/mnt/models" in server["command"]
    assert "--http_port=8080" in server["command"]
    env = {e["name"]: e["value"] for e in server["env"]}
    assert env["STORAGE_URI"] == MODEL_URI
    assert server["ports"] == [{"name": "http1", "containerPort": 8080, "protocol": "TCP"}]
    assert server["resources"] == {
        "limits": {"cpu": "2", "memory": "4Gi", FPGA: "1"},
        "requests": {FPGA: "1"},
    }
    # The unit's own server stops and its ports close: KServe serves now.
    container = out.get_container("server")
    assert container.service_statuses[ACCEL.service_name] == pebble.ServiceStatus.INACTIVE
    assert {c.name: c.status for c in container.check_infos} == {
        "ready": pebble.CheckStatus.INACTIVE,
        "alive": pebble.CheckStatus.INACTIVE,
    }
    assert out.opened_ports == frozenset()
    # No limits of the charm's on its own (idle) pod.
    assert kube.server_resources(ACCEL_APP) == {}
    assert out.unit_status == testing.WaitingStatus(
        f"InferenceService {ISVC} not ready: no Ready condition yet"
    )


@pytest.mark.usefixtures("crds")
def test_no_autoscaling_target_keeps_kserves_default(
    accel: testing.Context[Any], kube: FakeKube, tmp_path: Path
):
    accel.run(accel.on.config_changed(), serverless_state(tmp_path))
    obj = _applied(kube)
    assert "autoscaling.knative.dev/target" not in obj["metadata"]["annotations"]
    assert "scaleTarget" not in _predictor(obj)
    assert _predictor(obj)["containers"][0]["resources"] == {}


@pytest.mark.usefixtures("crds")
def test_image_option_wins_over_the_resource(
    accel: testing.Context[Any], kube: FakeKube, tmp_path: Path
):
    accel.run(
        accel.on.config_changed(),
        serverless_state(tmp_path, {"image": "localhost:32000/sklearnserver:dev"}),
    )
    assert _predictor(_applied(kube))["containers"][0]["image"] == (
        "localhost:32000/sklearnserver:dev"
    )


@pytest.mark.usefixtures("crds")
def test_config_change_updates_the_inference_service(
    accel: testing.Context[Any], kube: FakeKube, tmp_path: Path
):
    accel.run(accel.on.config_changed(), serverless_state(tmp_path, {"max-replicas": 2}))
    accel.run(accel.on.config_changed(), serverless_state(tmp_path, {"max-replicas": 5}))
    assert _predictor(kube.inference_services[ISVC])["maxReplicas"] == 5


@pytest.mark.usefixtures("crds")
def test_limits_leave_the_statefulset_once_the_inference_service_serves(
    accel: testing.Context[Any], kube: FakeKube, tmp_path: Path
):
    accel.run(accel.on.config_changed(), state({"cpu": "1"}))
    accel.run(accel.on.config_changed(), serverless_state(tmp_path, {"cpu": "1"}))
    # Removing them rolls the pods: not while the InferenceService cannot serve yet.
    assert kube.server_resources(ACCEL_APP) == {"limits": {"cpu": "1"}}
    kube.isvc_status = READY
    accel.run(accel.on.update_status(), serverless_state(tmp_path, {"cpu": "1"}))
    assert kube.server_resources(ACCEL_APP) == {}
    assert _predictor(kube.inference_services[ISVC])["containers"][0]["resources"] == {
        "limits": {"cpu": "1"}
    }


@pytest.mark.usefixtures("crds")
def test_devices_move_to_the_predictor_in_one_dry_run_checked_batch(
    accel: testing.Context[Any], kube: FakeKube, tmp_path: Path
):
    kube.nodes.append(node("fpga-node", {FPGA: "1"}))
    devices = {"fpga-count": 1, "fpga-resource": FPGA}
    accel.run(accel.on.config_changed(), state(devices))
    kube.sent.clear()
    accel.run(accel.on.config_changed(), serverless_state(tmp_path, devices))
    writes = [(s.verb, s.kind, s.dry_run) for s in kube.sent if s.verb in ("apply", "patch")]
    # A device cannot be held twice: both writes at once, each dry-run first.
    assert writes == [
        ("apply", "InferenceService", True),
        ("patch", "StatefulSet", True),
        ("apply", "InferenceService", False),
        ("patch", "StatefulSet", False),
    ]
    assert kube.server_resources(ACCEL_APP) == {}


@pytest.mark.usefixtures("crds")
def test_second_write_refused_leaves_the_first_undone(
    accel: testing.Context[Any], kube: FakeKube, tmp_path: Path
):
    kube.nodes.append(node("fpga-node", {FPGA: "1"}))
    devices = {"fpga-count": 1, "fpga-resource": FPGA}
    accel.run(accel.on.config_changed(), state(devices))
    kube.forbid("patch", "StatefulSet")
    out = accel.run(accel.on.config_changed(), serverless_state(tmp_path, devices))
    assert kube.inference_services == {}
    assert kube.server_resources(ACCEL_APP)["limits"] == {FPGA: "1"}
    assert out.unit_status == testing.BlockedStatus(f"run: juju trust {ACCEL_APP} --scope=cluster")
    # The sidecar server keeps serving.
    service = out.get_container("server").service_statuses[ACCEL.service_name]
    assert service == pebble.ServiceStatus.ACTIVE


@pytest.mark.usefixtures("crds")
def test_webhook_refusal_blocks_with_its_message(
    accel: testing.Context[Any], kube: FakeKube, tmp_path: Path
):
    kube.failures["apply", "InferenceService"] = api_error(
        422, 'admission webhook "inferenceservice.kserve-webhook-server.validator" denied it'
    )
    out = accel.run(accel.on.config_changed(), serverless_state(tmp_path))
    assert out.unit_status.name == "blocked"
    assert out.unit_status.message.startswith("Kubernetes refused the change: admission webhook")
    assert out.get_container("server").service_statuses[ACCEL.service_name] == (
        pebble.ServiceStatus.ACTIVE
    )


# --- Scenario: status -------------------------------------------------------------------


@pytest.mark.usefixtures("crds")
@pytest.mark.parametrize("leader", [True, False])
def test_ready_inference_service_is_active_with_its_url(
    accel: testing.Context[Any], kube: FakeKube, tmp_path: Path, leader: bool
):
    accel.run(accel.on.config_changed(), serverless_state(tmp_path, {"model-name": "iris"}))
    kube.isvc_status = READY
    out = accel.run(
        accel.on.update_status(),
        serverless_state(tmp_path, {"model-name": "iris"})
        if leader
        else state({"deployment-mode": "serverless", "model-name": "iris"}, leader=False),
    )
    assert out.unit_status == testing.ActiveStatus(f"iris ready at {READY['url']}")


@pytest.mark.usefixtures("crds")
def test_not_ready_is_waiting_with_the_conditions_reason(
    accel: testing.Context[Any], kube: FakeKube, tmp_path: Path
):
    kube.isvc_status = {
        "conditions": [
            {
                "type": "Ready",
                "status": "False",
                "reason": "RevisionFailed",
                "message": "Revision failed: 0/3 nodes are available: 3 Insufficient cpu.",
            }
        ]
    }
    out = accel.run(accel.on.config_changed(), serverless_state(tmp_path))
    assert out.unit_status == testing.WaitingStatus(
        f"InferenceService {ISVC} not ready: RevisionFailed: Revision failed: 0/3 nodes are"
        " available: 3 Insufficient cpu."
    )


def test_non_leader_waits_for_the_leader_and_keeps_serving(
    accel: testing.Context[Any], kube: FakeKube
):
    with serve_fake() as fake:
        options = {"deployment-mode": "serverless", "http-port": fake.port}
        out = accel.run(accel.on.config_changed(), state(options, leader=False))
    assert kube.writes() == []
    assert out.unit_status == testing.WaitingStatus(
        f"waiting for the leader to create {ISVC}; this unit serves until then"
    )
    assert out.get_container("server").service_statuses[ACCEL.service_name] == (
        pebble.ServiceStatus.ACTIVE
    )


def test_a_unit_not_serving_stops_at_once(accel: testing.Context[Any], kube: FakeKube):
    # Nothing answers on the unit's port: there is no serving to keep (e.g. a new unit).
    out = accel.run(
        accel.on.config_changed(), state({"deployment-mode": "serverless"}, leader=False)
    )
    assert out.get_container("server").service_statuses[ACCEL.service_name] == (
        pebble.ServiceStatus.INACTIVE
    )


@pytest.mark.usefixtures("crds")
@pytest.mark.parametrize(
    ("options", "server"),
    [
        ({"fpga-count": 1, "fpga-resource": FPGA}, pebble.ServiceStatus.INACTIVE),
        ({"cpu": "1"}, pebble.ServiceStatus.ACTIVE),
    ],
    ids=["devices", "no-devices"],
)
def test_a_serving_unit_stops_before_the_inference_service_is_ready_only_for_devices(
    accel: testing.Context[Any],
    kube: FakeKube,
    tmp_path: Path,
    options: dict[str, str | int],
    server: pebble.ServiceStatus,
):
    """Devices go to the predictor at once: it cannot get Ready while the unit holds them."""
    kube.nodes.append(node("fpga-node", {FPGA: "1"}))
    with serve_fake() as fake:
        out = accel.run(
            accel.on.config_changed(),
            serverless_state(tmp_path, {**options, "http-port": fake.port}),
        )
    assert ISVC in kube.inference_services
    assert out.get_container("server").service_statuses[ACCEL.service_name] == server


@pytest.mark.usefixtures("crds")
def test_non_leader_stops_its_server_once_the_leader_created_it(
    accel: testing.Context[Any], kube: FakeKube, tmp_path: Path
):
    accel.run(accel.on.config_changed(), serverless_state(tmp_path))
    kube.sent.clear()
    out = accel.run(
        accel.on.config_changed(), state({"deployment-mode": "serverless"}, leader=False)
    )
    assert kube.writes() == []
    assert out.get_container("server").service_statuses[ACCEL.service_name] == (
        pebble.ServiceStatus.INACTIVE
    )


@pytest.mark.parametrize("leader", [True, False])
def test_no_kserve_blocks_and_keeps_the_sidecar_server(
    accel: testing.Context[Any], kube: FakeKube, tmp_path: Path, leader: bool
):
    kube.kserve_installed = False
    out = accel.run(
        accel.on.config_changed(),
        serverless_state(tmp_path)
        if leader
        else state({"deployment-mode": "serverless"}, leader=False),
    )
    assert out.unit_status == testing.BlockedStatus(KSERVE_MISSING)
    assert kube.writes() == []
    assert out.get_container("server").service_statuses[ACCEL.service_name] == (
        pebble.ServiceStatus.ACTIVE
    )


@pytest.mark.parametrize("leader", [True, False])
def test_untrusted_serverless_blocks_and_changes_nothing(
    accel: testing.Context[Any], kube: FakeKube, tmp_path: Path, leader: bool
):
    kube.forbid()
    out = accel.run(
        accel.on.config_changed(),
        serverless_state(tmp_path)
        if leader
        else state({"deployment-mode": "serverless"}, leader=False),
    )
    assert out.unit_status == testing.BlockedStatus(f"run: juju trust {ACCEL_APP} --scope=cluster")
    assert kube.writes() == []
    assert out.get_container("server").service_statuses[ACCEL.service_name] == (
        pebble.ServiceStatus.ACTIVE
    )


def test_storage_credentials_are_refused_in_serverless_mode(
    accel: testing.Context[Any], kube: FakeKube, tmp_path: Path
):
    secret = testing.Secret({"aws-access-key-id": "AKIA"}, owner=None)
    out = accel.run(
        accel.on.config_changed(),
        serverless_state(
            tmp_path, {"storage-credentials": secret.id}, secrets=frozenset({secret})
        ),
    )
    assert out.unit_status.name == "blocked"
    assert "storage-credentials are not passed on in serverless mode" in out.unit_status.message
    assert kube.sent == []


# --- Scenario: back to sidecar, and removal ---------------------------------------------


@pytest.mark.usefixtures("crds")
def test_back_to_sidecar_serves_first_then_deletes_it(
    accel: testing.Context[Any], kube: FakeKube, tmp_path: Path
):
    out = accel.run(accel.on.config_changed(), serverless_state(tmp_path))
    stopped = out.get_container("server")
    back = accel.run(accel.on.config_changed(), state(containers=frozenset({stopped})))
    # The unit's server starts; the InferenceService serves until that one does.
    assert ISVC in kube.inference_services
    assert back.unit_status == testing.WaitingStatus(
        f"{ISVC} serves until this unit's model is ready, then the charm deletes it"
    )
    container = back.get_container("server")
    assert container.service_statuses[ACCEL.service_name] == pebble.ServiceStatus.ACTIVE
    assert container.get_check_info("ready").status == pebble.CheckStatus.UP
    assert back.opened_ports == {testing.TCPPort(8080), testing.TCPPort(8081)}
    with serve_fake() as fake:
        accel.run(
            accel.on.update_status(),
            state({"http-port": fake.port}, containers=frozenset({container})),
        )
    assert kube.inference_services == {}
    [delete] = [s for s in kube.writes() if s.verb == "delete"]
    assert (delete.name, delete.namespace) == (ISVC, NAMESPACE)


@pytest.mark.usefixtures("crds")
def test_back_to_sidecar_with_devices_frees_them_first(
    accel: testing.Context[Any], kube: FakeKube, tmp_path: Path
):
    kube.nodes.append(node("fpga-node", {FPGA: "1"}))
    devices = {"fpga-count": 1, "fpga-resource": FPGA}
    accel.run(accel.on.config_changed(), serverless_state(tmp_path, devices))
    kube.sent.clear()
    accel.run(accel.on.config_changed(), state(devices))
    writes = [(s.verb, s.kind) for s in kube.writes()]
    assert writes == [("delete", "InferenceService"), ("patch", "StatefulSet")]
    assert kube.server_resources(ACCEL_APP)["limits"] == {FPGA: "1"}


@pytest.mark.usefixtures("crds")
@pytest.mark.parametrize("event", ["remove", "stop"])
def test_application_removal_deletes_it(
    accel: testing.Context[Any], kube: FakeKube, tmp_path: Path, event: str
):
    accel.run(accel.on.config_changed(), serverless_state(tmp_path))
    accel.run(getattr(accel.on, event)(), serverless_state(tmp_path, planned_units=0))
    assert kube.inference_services == {}


@pytest.mark.usefixtures("crds")
@pytest.mark.parametrize(("leader", "planned_units"), [(True, 1), (False, 0)])
def test_unit_removal_or_restart_keeps_it(
    accel: testing.Context[Any],
    kube: FakeKube,
    tmp_path: Path,
    leader: bool,
    planned_units: int,
):
    # `stop` comes with every pod restart; a non-leader never deletes.
    accel.run(accel.on.config_changed(), serverless_state(tmp_path))
    accel.run(
        accel.on.stop(),
        state(
            {"deployment-mode": "serverless"},
            leader=leader,
            planned_units=planned_units,
            resources=frozenset({image_resource(tmp_path)}),
        ),
    )
    assert ISVC in kube.inference_services


def test_removal_without_kserve_or_trust_does_not_fail(
    accel: testing.Context[Any], kube: FakeKube
):
    kube.kserve_installed = False
    accel.run(accel.on.remove(), state(planned_units=0))
    kube.forbid()
    accel.run(accel.on.remove(), state(planned_units=0))
    assert kube.writes() == []


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "the server-image resource names no registrypath"),
        # Never the document's lines: the password is among them.
        (
            b'registrypath: r.io/a:1\nusername: u\npassword: "hunter2\n',
            "the server-image resource is not YAML or JSON: found unexpected end of stream"
            " (line 4, column 1)",
        ),
        (
            b"registrypath: r.io/a:1\npassword: hunter2: x\n",
            "the server-image resource is not YAML or JSON: mapping values are not allowed here"
            " (line 2, column 18)",
        ),
        (
            b"registrypath: \xff\n",
            "cannot read the server-image resource: 'utf-8' codec can't decode byte 0xff in"
            " position 14: invalid start byte",
        ),
        (
            b"registrypath: --privileged\n",
            "the server-image resource's registrypath '--privileged' is not an OCI image"
            " reference",
        ),
        (
            b"#" * 65537,
            "the server-image resource is 65537 bytes, over the 65536-byte limit",
        ),
    ],
    ids=["empty", "unterminated", "not-yaml", "not-utf8", "not-an-image", "64KiB+1"],
)
def test_unreadable_image_resource_blocks_and_applies_nothing(
    accel: testing.Context[Any], kube: FakeKube, tmp_path: Path, content: bytes, problem: str
):
    resource = tmp_path / "server-image.yaml"
    resource.write_bytes(content)
    out = accel.run(
        accel.on.config_changed(),
        state(
            {"deployment-mode": "serverless"},
            resources=frozenset({testing.Resource(name="server-image", path=resource)}),
        ),
    )
    assert out.unit_status == testing.BlockedStatus(problem)
    assert kube.writes() == []
    assert out.get_container("server").service_statuses[ACCEL.service_name] == (
        pebble.ServiceStatus.ACTIVE
    )


# --- actions ---------------------------------------------------------------------------


@pytest.mark.usefixtures("crds")
def test_predict_goes_to_the_inference_services_cluster_address(
    accel: testing.Context[Any], kube: FakeKube, tmp_path: Path
):
    with serve_fake() as fake:
        accel.run(accel.on.config_changed(), serverless_state(tmp_path))
        kube.isvc_status = {
            **READY,
            "address": {"url": f"http://127.0.0.1:{fake.port}/"},
        }
        fake.answer = {"predictions": [3]}
        accel.run(
            accel.on.action("predict", params={"payload": '{"instances": [[1, 2]]}'}),
            serverless_state(tmp_path),
        )
    assert fake.requests == [("/v1/models/model:predict", {"instances": [[1, 2]]})]
    assert accel.action_results is not None
    assert json.loads(accel.action_results["response"]) == {"predictions": [3]}


@pytest.mark.usefixtures("crds")
def test_actions_fail_until_the_inference_service_has_an_address(
    accel: testing.Context[Any], tmp_path: Path
):
    with pytest.raises(testing.ActionFailed, match="the InferenceService has no address yet"):
        accel.run(accel.on.action("smoke-test"), serverless_state(tmp_path))


def test_actions_in_serverless_mode_need_trust(
    accel: testing.Context[Any], kube: FakeKube, tmp_path: Path
):
    kube.forbid()
    with pytest.raises(testing.ActionFailed, match="juju trust"):
        accel.run(accel.on.action("smoke-test"), serverless_state(tmp_path))


@pytest.mark.parametrize(
    ("app", "problem"),
    [
        (
            "x" * 64,
            f"label app.juju.is/created-by={'x' * 64!r}: longer than 63 characters",
        ),
        (
            "a" * 249,
            f"InferenceService name {'a' * 100!r}… [truncated: 254 bytes in all]: longer than"
            f" 253 characters; label app.juju.is/created-by={'a' * 100!r}… [truncated: 249"
            " bytes in all]: longer than 63 characters",
        ),
    ],
    ids=["label-64", "name-254"],
)
def test_names_the_api_server_refuses_block_before_anything_is_sent(
    kube: FakeKube, tmp_path: Path, app: str, problem: str
):
    ctx: testing.Context[Any] = testing.Context(REPRESENTATIVE.charm_type, app_name=app)
    out = ctx.run(ctx.on.config_changed(), serverless_state(tmp_path))
    assert out.unit_status == testing.BlockedStatus(
        f"cannot name the application's KServe objects: {problem}"
    )
    assert kube.sent == []
