"""The real kube-apiserver v1.37.2 does what tests/api_server_cases.py says (and the fake does).

The same tests run against the unit tests' fake in tests/unit/test_api_server_rules.py.
Every write goes through the charm's own client (`kube_client`), as the trusted
identity; the Warning headers are what the charm's client logged.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from model_server_charm import k8s_resources, kube_api
from model_server_charm.trained_models import TrainedModel
from tests import api_server_cases as shared
from tests.kube_api.cluster_setup import ClusterSetup


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class RealBackend:
    """The real API server, as the cases see a cluster."""

    cluster: ClusterSetup
    client: Any = field(default_factory=k8s_resources.kube_client)
    logged: _Records = field(default_factory=_Records)

    def application(self, app: str) -> None:
        self.cluster.juju_application(app)

    def warnings(self) -> list[str]:
        # "Kubernetes API warning on PATCH <path>: <text>": the text as the API sent it.
        return [record.getMessage().split(": ", 1)[1] for record in self.logged.records]

    def trained_models(self) -> set[str]:
        return set(self.cluster.objects(TrainedModel))


@pytest.fixture
def backend(trusted: ClusterSetup) -> Iterator[RealBackend]:
    real = RealBackend(trusted)
    logger = logging.getLogger(kube_api.__name__)
    logger.addHandler(real.logged)
    yield real
    logger.removeHandler(real.logged)


# The shared tests, collected here with this side's `backend`.
test_limits_are_stored_as_the_api_server_stores_them = (
    shared.test_limits_are_stored_as_the_api_server_stores_them
)
test_inference_service_names_and_labels = shared.test_inference_service_names_and_labels
test_int32_fields = shared.test_int32_fields
test_trained_model_names = shared.test_trained_model_names
