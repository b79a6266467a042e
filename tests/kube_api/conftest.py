"""The real kube-apiserver for a session, and the identity the charm runs as in each test.

Every test skips, saying why, when the API server binary, etcd or KServe's
CRDs are missing. The charm's own client (`k8s_resources.kube_client`) is
used as it is in a unit: it reads the kubeconfig that $KUBECONFIG names, here
one holding a real ServiceAccount token; `sent` counts what it sends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx2 as httpx
import pytest
from lightkube import Client

from model_server_charm import k8s_resources
from tests.k8s_schemas import kserve_crd_problem
from tests.kube_api import api_server
from tests.kube_api.cluster_setup import ClusterSetup
from tests.unit.k8s_helpers import NAMESPACE

IN_CLUSTER_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"

# The tests shared with the other side are plain modules: have pytest explain their asserts.
pytest.register_assert_rewrite("tests.api_server_cases")


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterSetup]:
    """The API server, with KServe's CRDs, the model's namespace and the identities."""
    reason = api_server.missing() or kserve_crd_problem()
    if Path(IN_CLUSTER_TOKEN).exists():
        # lightkube prefers a pod's own service account to $KUBECONFIG.
        reason = f"running in a pod ({IN_CLUSTER_TOKEN}): the charm's client would use its cluster"
    if reason:
        pytest.skip(reason)
    with api_server.running(tmp_path_factory.mktemp("kube-api")) as server:
        setup = ClusterSetup(server, NAMESPACE)
        setup.prepare()
        yield setup


@pytest.fixture
def clean(cluster: ClusterSetup) -> Iterator[ClusterSetup]:
    """The cluster, emptied of what the test made once it ends."""
    yield cluster
    cluster.clean()


@pytest.fixture
def run_as(monkeypatch: pytest.MonkeyPatch, clean: ClusterSetup) -> Callable[[str], None]:
    """Make the charm's client authenticate as an identity (a ServiceAccount's token)."""

    def switch(identity: str) -> None:
        monkeypatch.setenv("KUBECONFIG", clean.kubeconfigs[identity])

    return switch


@pytest.fixture
def trusted(run_as: Callable[[str], None], clean: ClusterSetup) -> ClusterSetup:
    """The charm runs as the cluster-scope trusted identity."""
    run_as("trusted")
    return clean


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Every request the charm's own client sends: (method, path)."""
    requests: list[tuple[str, str]] = []
    charm_client = k8s_resources.kube_client

    def recording() -> Client:
        client = charm_client()
        http: httpx.Client = client._client._client
        hooks = http.event_hooks

        def record(request: httpx.Request) -> None:
            requests.append((request.method, request.url.path))

        hooks["request"].append(record)
        http.event_hooks = hooks
        return client

    monkeypatch.setattr(k8s_resources, "kube_client", recording)
    return requests
