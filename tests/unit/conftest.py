"""Fixtures shared by the Scenario tests: every charm, a fake server, state builders."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ops import pebble, testing

from model_server_charm import k8s_resources, layer, rolling
from model_server_charm.charm import WORKLOAD_CONTAINER
from model_server_charm.families import family_for
from tests.charms import KSERVE_CHARMS, ThinCharm, charm_config
from tests.unit.examples import CHARM_EXAMPLES, MODEL_URI, CharmExample
from tests.unit.fake_amdinfer import FakeAmdinfer, serve_amdinfer
from tests.unit.fake_kube import FakeKube
from tests.unit.fake_server import FakeModelServer, serve_fake

# The tests shared with the other side are plain modules: have pytest explain their asserts.
pytest.register_assert_rewrite("tests.api_server_cases")


@pytest.fixture(params=KSERVE_CHARMS, ids=[charm.name for charm in KSERVE_CHARMS])
def charm(request: pytest.FixtureRequest) -> ThinCharm:
    return request.param


@pytest.fixture(params=KSERVE_CHARMS, ids=[charm.name for charm in KSERVE_CHARMS])
def every_charm(request: pytest.FixtureRequest) -> ThinCharm:
    """Every KServe charm, where a module's `charm` is one charm only."""
    return request.param


@pytest.fixture(params=CHARM_EXAMPLES)
def charm_example(request: pytest.FixtureRequest) -> CharmExample:
    """A charm and one of its runtime's examples."""
    return request.param


@pytest.fixture
def ctx(charm: ThinCharm) -> testing.Context[Any]:
    return testing.Context(charm.charm_type)


@pytest.fixture(autouse=True)
def kube(monkeypatch: pytest.MonkeyPatch) -> FakeKube:
    """The cluster, replacing the lightkube client for every test (none reaches a real one)."""
    cluster = FakeKube()
    monkeypatch.setattr(k8s_resources, "kube_client", lambda: cluster)
    return cluster


@pytest.fixture
def fake() -> Iterator[FakeModelServer]:
    with serve_fake() as server:
        yield server


@pytest.fixture
def amdinfer() -> Iterator[FakeAmdinfer]:
    """The AMD Inference Server's REST API, faked on a loopback port (proteus)."""
    with serve_amdinfer() as server:
        yield server


@pytest.fixture
def repository(tmp_path: Path) -> testing.Mount:
    """The proteus container's model repository, kept from one hook to the next."""
    (tmp_path / "models").mkdir()
    return testing.Mount(location="/mnt/models", source=tmp_path / "models")


@pytest.fixture
def instant_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """A rolling restart's drain and readiness waits, made instant."""
    for name in ("DRAIN_SECONDS", "READY_WAIT_SECONDS", "POLL_SECONDS"):
        monkeypatch.setattr(rolling, name, 0.0)


@pytest.fixture
def tmp_mount(tmp_path: Path) -> testing.Mount:
    """The container's /tmp, where the launcher leaves the server's failure reason."""
    return testing.Mount(location="/tmp", source=tmp_path)


def container(
    *,
    can_connect: bool = True,
    layers: dict[str, pebble.Layer] | None = None,
    service: pebble.ServiceStatus | None = None,
    service_name: str = "",
    mount: testing.Mount | None = None,
    alive: pebble.CheckStatus | None = None,
) -> testing.Container:
    """The workload container as Juju would present it."""
    check_infos = frozenset()
    if alive is not None:
        check_infos = frozenset(
            {
                testing.CheckInfo(
                    layer.ALIVE_CHECK,
                    level=pebble.CheckLevel.ALIVE,
                    startup=pebble.CheckStartup.DISABLED,
                    status=alive,
                    threshold=layer.CHECK_THRESHOLD,
                ),
                testing.CheckInfo(
                    layer.READY_CHECK,
                    level=pebble.CheckLevel.READY,
                    status=pebble.CheckStatus.UP,
                    threshold=layer.CHECK_THRESHOLD,
                ),
            }
        )
    return testing.Container(
        WORKLOAD_CONTAINER,
        can_connect=can_connect,
        layers=layers or {},
        service_statuses={service_name: service} if service else {},
        mounts={"tmp": mount} if mount else {},
        check_infos=check_infos,
    )


def planned_layer(charm: ThinCharm, **options: Any) -> pebble.Layer:
    """The layer the charm plans for these options (used to start from a running server)."""
    runtime = charm.charm_type.runtime
    return pebble.Layer(family_for(runtime).layer(charm_config(runtime, **options), {}))


def running_container(
    charm: ThinCharm, port: int, mount: testing.Mount | None = None, **options: Any
) -> testing.Container:
    """A container whose server already runs the plan for these options."""
    service = charm.charm_type.runtime.service_name
    return container(
        layers={service: planned_layer(charm, http_port=port, model_uri=MODEL_URI, **options)},
        service=pebble.ServiceStatus.ACTIVE,
        service_name=service,
        mount=mount,
        alive=pebble.CheckStatus.INACTIVE,
    )
