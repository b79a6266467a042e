"""The fake cluster does what a real kube-apiserver v1.37.2 does (tests/api_server_cases.py).

The same tests run against the real server in tests/kube_api (`tox -e kube-api`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests import api_server_cases as shared
from tests.unit.fake_kube import FakeKube
from tests.unit.k8s_helpers import require_kserve_crds


@dataclass
class FakeBackend:
    """The fake cluster, as the cases see a cluster."""

    client: FakeKube

    def application(self, app: str) -> None:
        self.client.statefulset(app)  # Juju's, as the fake makes it on first use

    def warnings(self) -> list[str]:
        return self.client.warnings

    def trained_models(self) -> set[str]:
        return set(self.client.trained_models)


@pytest.fixture
def backend(kube: FakeKube) -> FakeBackend:
    require_kserve_crds()
    return FakeBackend(kube)


# The shared tests, collected here with this side's `backend`.
test_limits_are_stored_as_the_api_server_stores_them = (
    shared.test_limits_are_stored_as_the_api_server_stores_them
)
test_inference_service_names_and_labels = shared.test_inference_service_names_and_labels
test_int32_fields = shared.test_int32_fields
test_trained_model_names = shared.test_trained_model_names
