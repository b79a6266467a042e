"""Sidecar mode: resource limits server-side applied to the charm's own StatefulSet.

Every write goes through the fake cluster, which merges it into Juju's
StatefulSet with server-side apply's ownership rules and validates the result
against Kubernetes' strict schema.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ops import pebble, testing

from model_server_charm import k8s_resources
from model_server_charm.k8s_resources import ResourceRequirements
from tests.charms import REPRESENTATIVE, ThinCharm, charm_config
from tests.unit.conftest import MODEL_URI, container
from tests.unit.fake_kube import FakeKube, node, unschedulable_pod
from tests.unit.fake_server import FakeModelServer
from tests.unit.k8s_helpers import ACCEL, ACCEL_APP, FPGA, NAMESPACE, accel_context, state


@pytest.fixture
def charm() -> ThinCharm:
    """Limits are the shared implementation's: one charm shows it."""
    return REPRESENTATIVE


def _patches(kube: FakeKube) -> list[dict[str, Any]]:
    return [s.body for s in kube.writes() if s.verb == "patch" and s.body is not None]


@pytest.fixture
def accel(tmp_path: Path) -> testing.Context[Any]:
    return accel_context(tmp_path)


@pytest.fixture
def fpga_node(kube: FakeKube) -> FakeKube:
    kube.nodes = [node("node-1", {}), node("fpga-node", {FPGA: "2", "nvidia.com/gpu": "4"})]
    return kube


# --- the pure parts --------------------------------------------------------------------


def test_wanted_resources_requests_equal_limits_for_devices_only():
    config = charm_config(
        ACCEL,
        model_uri=MODEL_URI,
        cpu="2",
        memory="4Gi",
        gpu_count=1,
        fpga_count=2,
        fpga_resource=FPGA,
    )
    wanted = k8s_resources.wanted_resources(config)
    assert wanted.to_dict() == {
        "limits": {"cpu": "2", "memory": "4Gi", "nvidia.com/gpu": "1", FPGA: "2"},
        "requests": {"nvidia.com/gpu": "1", FPGA: "2"},
    }
    assert wanted.extended == {"nvidia.com/gpu": 1, FPGA: 2}


def test_nothing_wanted_is_empty():
    wanted = k8s_resources.wanted_resources(charm_config(ACCEL, model_uri=MODEL_URI))
    assert not wanted
    assert wanted.to_dict() == {}


@pytest.mark.parametrize(
    ("live", "wanted", "differs"),
    [
        ({"cpu": "500m"}, {"cpu": "0.5"}, False),  # the API server's canonical form
        ({"memory": "1Gi"}, {"memory": "1024Mi"}, False),
        ({"cpu": "1"}, {"cpu": "2"}, True),
        ({}, {"cpu": "1"}, True),
    ],
)
def test_needs_apply_compares_quantities_by_value(
    live: dict[str, str], wanted: dict[str, str], differs: bool
):
    owned: dict[k8s_resources.Section, set[str]] = {"limits": set(live), "requests": set()}
    assert (
        k8s_resources.needs_apply(
            ResourceRequirements(limits=wanted), ResourceRequirements(limits=live), owned
        )
        is differs
    )


def test_needs_apply_ignores_fields_of_other_managers():
    # Juju's memory limit (from constraints) is not the charm's to compare or remove.
    live = ResourceRequirements(limits={"memory": "2Gi"})
    owned: dict[k8s_resources.Section, set[str]] = {"limits": set(), "requests": set()}
    assert not k8s_resources.needs_apply(ResourceRequirements(), live, owned)
    owned["limits"].add("memory")
    assert k8s_resources.needs_apply(ResourceRequirements(), live, owned)


# --- Scenario: every shipped charm (cpu and memory) -------------------------------------


def test_cpu_and_memory_become_limits(ctx: testing.Context[Any], charm: ThinCharm, kube: FakeKube):
    app = charm.name
    out = ctx.run(
        ctx.on.config_changed(),
        state({"cpu": "500m", "memory": "1Gi"}, containers=frozenset({container()})),
    )
    [patch] = [s for s in kube.writes() if s.verb == "patch"]
    assert patch.kind == "StatefulSet"
    assert (patch.name, patch.namespace) == (app, NAMESPACE)
    assert patch.field_manager == "kserve-bundle"
    assert patch.force
    assert kube.server_resources(app) == {"limits": {"cpu": "500m", "memory": "1Gi"}}
    # Kubernetes took the change; the server is planned in the same hook.
    assert charm.charm_type.runtime.service_name in out.get_container("server").plan.services


def test_unchanged_limits_are_not_applied_again(
    ctx: testing.Context[Any], charm: ThinCharm, kube: FakeKube
):
    options = {"cpu": "500m", "memory": "1Gi"}
    ctx.run(ctx.on.config_changed(), state(options, containers=frozenset({container()})))
    kube.sent.clear()
    ctx.run(ctx.on.update_status(), state(options, containers=frozenset({container()})))
    assert kube.writes() == []
    # Written as 0.5, stored as 500m: the same value, so still nothing to apply.
    ctx.run(
        ctx.on.config_changed(),
        state({"cpu": "0.5", "memory": "1024Mi"}, containers=frozenset({container()})),
    )
    assert kube.writes() == []


def test_unset_limit_is_removed(ctx: testing.Context[Any], charm: ThinCharm, kube: FakeKube):
    ctx.run(
        ctx.on.config_changed(),
        state({"cpu": "500m", "memory": "1Gi"}, containers=frozenset({container()})),
    )
    ctx.run(ctx.on.config_changed(), state({"memory": "1Gi"}, containers=frozenset({container()})))
    assert kube.server_resources(charm.name) == {"limits": {"memory": "1Gi"}}
    ctx.run(ctx.on.config_changed(), state(containers=frozenset({container()})))
    assert kube.server_resources(charm.name) == {}
    # The last apply names the container and nothing else: the charm owns no field any more.
    assert _patches(kube)[-1]["spec"]["template"]["spec"]["containers"] == [{"name": "server"}]


def test_jujus_own_limit_is_left_alone_until_an_option_names_it(
    ctx: testing.Context[Any], charm: ThinCharm, kube: FakeKube
):
    kube.juju_limits = {"memory": "2Gi"}  # as from `juju deploy --constraints mem=2G`
    ctx.run(ctx.on.config_changed(), state(containers=frozenset({container()})))
    assert kube.writes() == []
    assert kube.server_resources(charm.name) == {"limits": {"memory": "2Gi"}}
    ctx.run(ctx.on.config_changed(), state({"memory": "4Gi"}, containers=frozenset({container()})))
    assert kube.server_resources(charm.name) == {"limits": {"memory": "4Gi"}}
    # Taken over with force, so the charm's is the only claim: unsetting removes it.
    ctx.run(ctx.on.config_changed(), state(containers=frozenset({container()})))
    assert kube.server_resources(charm.name) == {}


def test_only_the_leader_applies(ctx: testing.Context[Any], charm: ThinCharm, kube: FakeKube):
    ctx.run(
        ctx.on.config_changed(),
        state({"cpu": "1"}, leader=False, containers=frozenset({container()})),
    )
    assert kube.writes() == []
    assert [s.verb for s in kube.sent if s.kind == "StatefulSet"][:1] == ["get"]


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("cpu", "lots"),
        ("memory", "-1Gi"),
        ("min-replicas", -1),
        # The API server would store these otherwise than sent (tests/api_server_cases.py).
        ("memory", "8Ei"),
        ("memory", "0.5"),
        ("cpu", "0.0001"),
        ("max-replicas", 3_000_000_000),
    ],
)
def test_invalid_value_sends_nothing(
    ctx: testing.Context[Any], charm: ThinCharm, kube: FakeKube, option: str, value: Any
):
    out = ctx.run(
        ctx.on.config_changed(), state({option: value}, containers=frozenset({container()}))
    )
    assert out.unit_status.name == "blocked"
    assert kube.sent == []


# --- Scenario: extended resources (the test-only hardware charm) ------------------------


def test_devices_are_limits_and_requests(accel: testing.Context[Any], fpga_node: FakeKube):
    accel.run(
        accel.on.config_changed(),
        state({"fpga-count": 1, "fpga-resource": FPGA, "gpu-count": 2}),
    )
    assert fpga_node.server_resources(ACCEL_APP) == {
        "limits": {FPGA: "1", "nvidia.com/gpu": "2"},
        "requests": {FPGA: "1", "nvidia.com/gpu": "2"},
    }


def test_count_back_to_zero_removes_the_key(accel: testing.Context[Any], fpga_node: FakeKube):
    accel.run(
        accel.on.config_changed(),
        state({"fpga-count": 1, "fpga-resource": FPGA, "gpu-count": 2}),
    )
    accel.run(
        accel.on.config_changed(),
        state({"fpga-count": 0, "fpga-resource": FPGA, "gpu-count": 2}),
    )
    assert fpga_node.server_resources(ACCEL_APP) == {
        "limits": {"nvidia.com/gpu": "2"},
        "requests": {"nvidia.com/gpu": "2"},
    }
    accel.run(accel.on.config_changed(), state({"fpga-resource": FPGA}))
    assert fpga_node.server_resources(ACCEL_APP) == {}


def test_renamed_fpga_resource_moves_the_limit(accel: testing.Context[Any], fpga_node: FakeKube):
    other = "amd.com/xilinx_u55c_gen3x16_xdma_base_3-0"
    fpga_node.nodes.append(node("amd-node", {other: "1"}))
    accel.run(accel.on.config_changed(), state({"fpga-count": 1, "fpga-resource": FPGA}))
    accel.run(accel.on.config_changed(), state({"fpga-count": 1, "fpga-resource": other}))
    assert fpga_node.server_resources(ACCEL_APP) == {
        "limits": {other: "1"},
        "requests": {other: "1"},
    }


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"fpga-count": -1, "fpga-resource": FPGA}, "fpga-count=-1"),
        ({"gpu-count": -2}, "gpu-count=-2"),
        ({"fpga-count": 1}, "fpga-resource is empty"),
        ({"fpga-count": 1, "fpga-resource": "not a resource"}, "fpga-resource='not a resource'"),
    ],
)
def test_invalid_device_options_block_and_send_nothing(
    accel: testing.Context[Any], kube: FakeKube, options: dict[str, Any], expected: str
):
    out = accel.run(accel.on.config_changed(), state(options))
    assert out.unit_status.name == "blocked"
    assert expected in out.unit_status.message
    assert kube.sent == []


def test_device_no_node_offers_is_not_applied(accel: testing.Context[Any], kube: FakeKube):
    # A typo in fpga-resource would make the pod unschedulable, and a pod that never
    # starts has no charm left to take the request back.
    before = state({"fpga-count": 1, "fpga-resource": FPGA})
    out = accel.run(accel.on.config_changed(), before)
    assert kube.writes() == []
    assert out.unit_status == testing.BlockedStatus(
        f"no node offers 1 {FPGA}: check the option and the device plugin (limits not applied)"
    )
    # Nothing half-applied: the server is not touched either (its model does not answer
    # here, so only its ready check is the loading one).
    assert (
        out.get_container("server").plan.services == before.get_container("server").plan.services
    )


def test_more_devices_than_any_node_has_is_not_applied(
    accel: testing.Context[Any], fpga_node: FakeKube
):
    out = accel.run(accel.on.config_changed(), state({"fpga-count": 3, "fpga-resource": FPGA}))
    assert fpga_node.writes() == []
    assert out.unit_status.message.startswith(f"no node offers 3 {FPGA}")


@pytest.mark.parametrize(
    ("pods", "more"), [(1, ""), (2, " (and 1 more)"), (3, " (and 2 more)")], ids=["1", "2", "3"]
)
def test_unschedulable_pod_is_waiting_with_the_schedulers_message(
    accel: testing.Context[Any], fpga_node: FakeKube, fake: FakeModelServer, pods: int, more: str
):
    message = f"0/2 nodes are available: 1 Insufficient {FPGA}, 1 node(s) had untolerated taint."
    fpga_node.pods = [
        unschedulable_pod(f"{ACCEL_APP}-{n}", ACCEL_APP, message) for n in range(1, pods + 1)
    ]
    options = {"fpga-count": 1, "fpga-resource": FPGA, "http-port": fake.port}
    out = accel.run(accel.on.update_status(), state(options))
    # The server answers ready, yet the application is not fully running: Waiting.
    assert out.unit_status == testing.WaitingStatus(
        f"cannot schedule pod {ACCEL_APP}-1: {message}{more}"
    )


def test_unschedulable_pods_of_other_apps_do_not_count(
    ctx: testing.Context[Any], charm: ThinCharm, kube: FakeKube, fake: FakeModelServer
):
    kube.pods = [unschedulable_pod("other-0", "other", "0/1 nodes are available")]
    out = ctx.run(
        ctx.on.update_status(),
        state({"http-port": fake.port}, containers=frozenset({container()})),
    )
    assert "cannot schedule" not in out.unit_status.message


# --- trust ----------------------------------------------------------------------------


def test_untrusted_limits_block_and_the_server_runs_without_them(
    ctx: testing.Context[Any], charm: ThinCharm, kube: FakeKube
):
    kube.forbid()
    before = state({"cpu": "1"}, containers=frozenset({container()}))
    out = ctx.run(ctx.on.config_changed(), before)
    assert out.unit_status == testing.BlockedStatus(
        f"run: juju trust {charm.name} --scope=cluster"
    )
    assert kube.writes() == []
    assert charm.charm_type.runtime.service_name in out.get_container("server").plan.services


@pytest.mark.parametrize("leader", [True, False])
def test_untrusted_without_limits_runs_the_server(
    ctx: testing.Context[Any], charm: ThinCharm, kube: FakeKube, leader: bool
):
    # Nothing asked for needs the API, so no trust is needed either.
    kube.forbid()
    out = ctx.run(
        ctx.on.config_changed(), state(leader=leader, containers=frozenset({container()}))
    )
    assert charm.charm_type.runtime.service_name in out.get_container("server").plan.services
    assert out.unit_status.name != "blocked"


def test_forbidden_patch_alone_blocks(ctx: testing.Context[Any], charm: ThinCharm, kube: FakeKube):
    # Reads allowed, the write refused (a narrower role than juju trust gives).
    kube.forbid("patch", "StatefulSet")
    out = ctx.run(
        ctx.on.config_changed(), state({"cpu": "1"}, containers=frozenset({container()}))
    )
    assert out.unit_status == testing.BlockedStatus(
        f"run: juju trust {charm.name} --scope=cluster"
    )
    assert kube.server_resources(charm.name) == {}
    assert charm.charm_type.runtime.service_name in out.get_container("server").plan.services


def test_unexpected_api_error_is_waiting_and_retried(
    ctx: testing.Context[Any], charm: ThinCharm, kube: FakeKube
):
    from tests.unit.fake_kube import api_error

    kube.failures["patch", "StatefulSet"] = api_error(500, "etcdserver: request timed out")
    out = ctx.run(
        ctx.on.config_changed(), state({"cpu": "1"}, containers=frozenset({container()}))
    )
    assert out.unit_status == testing.WaitingStatus(
        "Kubernetes API error 500: etcdserver: request timed out; retrying on the next hook"
    )
    assert kube.server_resources(charm.name) == {}


def test_checks_restart_when_the_ready_check_was_stopped(
    accel: testing.Context[Any], kube: FakeKube
):
    # Serverless mode stops the checks; back in sidecar mode the ready check runs again.
    base = state()
    server = base.get_container("server")
    stopped = testing.Container(
        "server",
        can_connect=True,
        layers=server.layers,
        service_statuses={ACCEL.service_name: pebble.ServiceStatus.INACTIVE},
        check_infos=frozenset(
            testing.CheckInfo(
                c.name, level=c.level, startup=c.startup, status=pebble.CheckStatus.INACTIVE
            )
            for c in server.check_infos
        ),
    )
    out = accel.run(accel.on.config_changed(), state(containers=frozenset({stopped})))
    container_out = out.get_container("server")
    assert container_out.service_statuses[ACCEL.service_name] == pebble.ServiceStatus.ACTIVE
    assert container_out.get_check_info("ready").status == pebble.CheckStatus.UP
    assert kube.writes() == []
