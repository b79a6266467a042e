"""What each identity the charm may run as gets from the real API server's RBAC.

`trusted` is cluster-admin (juju trust --scope=cluster), `namespace-only` may
do anything in the model's namespace only, `untrusted` nothing at all (see
cluster_setup.py). Every option that needs the API needs cluster scope: the
leader reads KServe's CRD (is an InferenceService left from serverless mode?),
the nodes (does any offer the device?), both cluster-scoped — which is why the
charm's status asks for `--scope=cluster`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from ops import testing

from model_server_charm.serverless import InferenceService
from tests.kube_api.cluster_setup import ClusterSetup
from tests.unit.k8s_helpers import ACCEL, ACCEL_APP, FPGA, accel_context, image_resource, state

TRUST = f"run: juju trust {ACCEL_APP} --scope=cluster"
CPU = {"cpu": "1"}
DEVICES = {"fpga-count": 1, "fpga-resource": FPGA}
SERVERLESS = {"deployment-mode": "serverless"}

# (identity, options, the unit's status (None: not blocked), the limits stored)
CASES: list[tuple[str, dict[str, Any], str | None, dict[str, Any]]] = [
    ("trusted", CPU, None, {"limits": {"cpu": "1"}}),
    # The StatefulSet is the namespace's, but KServe's CRD is not.
    ("namespace-only", CPU, TRUST, {}),
    ("untrusted", CPU, TRUST, {}),
    ("trusted", DEVICES, None, {"limits": {FPGA: "1"}, "requests": {FPGA: "1"}}),
    # Nodes are cluster-scoped: whether any offers the device cannot be read.
    ("namespace-only", DEVICES, TRUST, {}),
    ("untrusted", DEVICES, TRUST, {}),
    # No option needs the API: nothing to trust.
    ("untrusted", {}, None, {}),
]


@pytest.fixture
def accel(tmp_path: Path, clean: ClusterSetup) -> testing.Context[Any]:
    clean.juju_application(ACCEL_APP)
    clean.node("fpga-node", {FPGA: "1", "cpu": "4", "memory": "16Gi"})
    return accel_context(tmp_path)


@pytest.mark.parametrize(("identity", "options", "blocked", "stored"), CASES)
def test_sidecar_limits_by_identity(
    accel: testing.Context[Any],
    clean: ClusterSetup,
    run_as: Callable[[str], None],
    identity: str,
    options: dict[str, Any],
    blocked: str | None,
    stored: dict[str, Any],
):
    run_as(identity)
    out = accel.run(accel.on.config_changed(), state(options))
    assert (out.unit_status.message if out.unit_status.name == "blocked" else None) == blocked
    assert clean.server_resources(ACCEL_APP) == stored
    # The server is planned whatever the API said.
    assert ACCEL.service_name in out.get_container("server").plan.services


@pytest.mark.parametrize(("identity", "created"), [("trusted", True), ("namespace-only", False)])
def test_serverless_needs_cluster_scope(
    accel: testing.Context[Any],
    clean: ClusterSetup,
    run_as: Callable[[str], None],
    tmp_path: Path,
    identity: str,
    created: bool,
):
    run_as(identity)
    resources = frozenset({image_resource(tmp_path)})
    out = accel.run(accel.on.config_changed(), state(SERVERLESS, resources=resources))
    assert (f"{ACCEL_APP}-isvc" in clean.objects(InferenceService)) == created
    assert (out.unit_status == testing.BlockedStatus(TRUST)) != created
