"""`juju config` hardware options reach the server container of the application's StatefulSet.

- cpu/memory on sklearn: the limits appear, and go when the options are unset;
- `juju config proteus fpga-count=1` with the charm's fpga-resource: the
  limit and request when a node offers that device, else Blocked "no node
  offers …" with nothing applied (the nodes' allocatable decides which is
  expected); set back to 0, the limit goes;
- the same with a made-up device advertised on a node by the test (the
  documented way to add an extended resource by hand), so the limit path runs
  on any cluster, and asking for more than the node has changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest
from lightkube import Client
from lightkube.resources.apps_v1 import StatefulSet
from lightkube.resources.core_v1 import Node
from lightkube.types import PatchType

from tests.integration.cluster import juju_model, poll, settle, units

if TYPE_CHECKING:
    from pytest_operator.plugin import OpsTest

pytestmark = pytest.mark.usefixtures("bundle")

PROTEUS = "proteus"
SKLEARN = "sklearn"
FAKE_FPGA = "example.com/fpga-kserve-bundle-test"
# The kubelet copies a hand-advertised capacity into allocatable on its next status update.
ALLOCATABLE_TIMEOUT_SECONDS = 2 * 60


def server_resources(kube: Client, app: str, namespace: str) -> dict[str, dict[str, str]]:
    """The limits and requests of the StatefulSet's server container (empty sections left out)."""
    statefulset = kube.get(StatefulSet, app, namespace=namespace)
    assert statefulset.spec is not None
    assert statefulset.spec.template.spec is not None
    server = next(c for c in statefulset.spec.template.spec.containers if c.name == "server")
    resources = server.resources
    if resources is None:
        return {}
    return {
        section: {key: str(value) for key, value in values.items()}
        for section, values in (("limits", resources.limits), ("requests", resources.requests))
        if values
    }


def most_offered(kube: Client, resource: str) -> int:
    """The most of `resource` any node can allocate."""
    counts = [
        int(str(((node.status.allocatable if node.status else None) or {}).get(resource, "0")))
        for node in kube.list(Node)
    ]
    return max(counts, default=0)


async def offers(kube: Client, resource: str) -> bool:
    """Whether some node can allocate one `resource`."""
    return most_offered(kube, resource) >= 1


async def test_cpu_and_memory_reach_the_statefulset(ops_test: OpsTest, kube: Client):
    application = juju_model(ops_test).applications[SKLEARN]
    await application.set_config({"cpu": "500m", "memory": "1Gi"})
    await settle(ops_test, [SKLEARN], "active")
    limits = server_resources(kube, SKLEARN, str(ops_test.model_name))
    await application.reset_config(["cpu", "memory"])
    await settle(ops_test, [SKLEARN], "active")
    assert limits == {"limits": {"cpu": "500m", "memory": "1Gi"}}
    assert server_resources(kube, SKLEARN, str(ops_test.model_name)) == {}


async def test_fpga_count_on_the_configured_device(ops_test: OpsTest, kube: Client):
    application = juju_model(ops_test).applications[PROTEUS]
    resource = str((await application.get_config())["fpga-resource"]["value"])
    offered = await offers(kube, resource)
    await application.set_config({"fpga-count": "1"})
    await settle(ops_test, [PROTEUS], "active" if offered else "blocked")
    applied = server_resources(kube, PROTEUS, str(ops_test.model_name))
    message = units(ops_test, PROTEUS)[0].workload_status_message
    await application.reset_config(["fpga-count"])
    await settle(ops_test, [PROTEUS], "active")
    if offered:
        assert applied == {"limits": {resource: "1"}, "requests": {resource: "1"}}
    else:
        assert message.startswith(f"no node offers 1 {resource}")
        assert applied == {}
    assert server_resources(kube, PROTEUS, str(ops_test.model_name)) == {}


@pytest.fixture
def fake_fpga(kube: Client) -> Iterator[str]:
    """One made-up FPGA advertised on the first node, taken back afterwards."""
    node = next(iter(kube.list(Node)))
    assert node.metadata is not None
    assert node.metadata.name is not None
    name = node.metadata.name
    patch: dict[str, Any] = {"status": {"capacity": {FAKE_FPGA: "1"}}}
    kube.patch(Node.Status, name, patch, patch_type=PatchType.MERGE)
    yield FAKE_FPGA
    gone: dict[str, Any] = {"status": {"capacity": {FAKE_FPGA: None}}}
    kube.patch(Node.Status, name, gone, patch_type=PatchType.MERGE)


async def test_fpga_limit_with_an_advertised_device(
    ops_test: OpsTest, kube: Client, fake_fpga: str
):
    namespace = str(ops_test.model_name)
    application = juju_model(ops_test).applications[PROTEUS]
    assert await poll(lambda: offers(kube, fake_fpga), bool, ALLOCATABLE_TIMEOUT_SECONDS)
    await application.set_config({"fpga-resource": fake_fpga, "fpga-count": "1"})
    await settle(ops_test, [PROTEUS], "active")
    one = server_resources(kube, PROTEUS, namespace)
    # More than any node offers: Blocked, and the StatefulSet keeps what it had.
    await application.set_config({"fpga-count": "2"})
    await settle(ops_test, [PROTEUS], "blocked")
    message = units(ops_test, PROTEUS)[0].workload_status_message
    two = server_resources(kube, PROTEUS, namespace)
    await application.reset_config(["fpga-count", "fpga-resource"])
    await settle(ops_test, [PROTEUS], "active")
    assert one == {"limits": {fake_fpga: "1"}, "requests": {fake_fpga: "1"}}
    assert message.startswith(f"no node offers 2 {fake_fpga}")
    assert two == one
    assert server_resources(kube, PROTEUS, namespace) == {}
